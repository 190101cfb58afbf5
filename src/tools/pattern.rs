//! funccount's and stackcount's pattern (`func`, `lib:func`, `p:lib:func`, `t:cat:event`,
//! `u:lib:probe`) and BCC's translation of it into a regular expression.

use regex::Regex;

/// What a pattern probes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Kernel functions (kprobes).
    Kernel,
    /// Functions of a user binary or library (uprobes), as named in the pattern.
    User(String),
    /// Tracepoints; the name matched is `cat:event`.
    Tracepoint,
    /// USDT probes of a binary or library, matched by probe name.
    Usdt(String),
}

/// A parsed pattern.
#[derive(Clone, Debug)]
pub struct Pattern {
    /// What it probes.
    pub kind: Kind,
    /// The regex names are matched with (anchored at the start; at the end too unless `-r`).
    pub regex: Regex,
    /// The regex as text, for `No functions matched by pattern REGEX`.
    pub regex_text: String,
    /// The engine wildcard that matches the same names, when there is one (see
    /// [`Pattern::engine_wildcard`]).
    glob: Option<String>,
}

impl Pattern {
    /// Parses `text`; with `is_regex` the name part is a regular expression (`-r`), else a
    /// wildcard pattern where `*` matches anything.
    pub fn parse(text: &str, is_regex: bool) -> Result<Pattern, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let (kind, name) = match parts.as_slice() {
            [func] => (Kind::Kernel, func.to_string()),
            [lib, func] => (user(lib), func.to_string()),
            ["p", lib, func] => (user(lib), func.to_string()),
            ["t", cat, event] => (Kind::Tracepoint, format!("{cat}:{event}")),
            ["u", lib, probe] => (Kind::Usdt(lib.to_string()), probe.to_string()),
            [kind, _, _] => return Err(format!("Type must be 'p', 't', or 'u', but got {kind}")),
            _ => {
                return Err(format!(
                    "Too many ':'-separated components in pattern {text}"
                ))
            }
        };
        // BCC's `*` is the engine's `*` when nothing else in the name has a regex meaning.
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '*' | ':');
        let glob = (!is_regex && name.chars().all(plain)).then(|| name.clone());
        let regex_text = if is_regex {
            name
        } else {
            format!("^{}$", name.replace('*', ".*"))
        };
        // Python's re.match: anchored at the start only.
        let regex = Regex::new(&format!("^(?:{regex_text})")).map_err(|e| {
            format!(
                "invalid regular expression '{regex_text}': {}",
                first_line(&e)
            )
        })?;
        Ok(Pattern {
            kind,
            regex,
            regex_text,
            glob,
        })
    }

    /// One engine attach point matching exactly the tracepoints this pattern matches (so the
    /// engine expands it, faster than a list of them), when BCC's pattern means the same as
    /// an engine wildcard: tracepoints, no `-r`, only letters, digits, `_` and `*`. (Function
    /// patterns stay lists: BCC keeps one symbol per address.)
    pub fn engine_wildcard(&self) -> Option<String> {
        match self.kind {
            Kind::Tracepoint => self.glob.as_ref().map(|g| format!("tracepoint:{g}")),
            _ => None,
        }
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        self.regex.is_match(name)
    }
}

/// `lib:func` with an empty library is a kernel function (`p::func`).
fn user(lib: &str) -> Kind {
    if lib.is_empty() {
        Kind::Kernel
    } else {
        Kind::User(lib.to_string())
    }
}

/// The regex crate's message without its source excerpt (look-around and back-references
/// are reported here as unsupported).
fn first_line(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .map(|l| l.trim_start_matches("error: ").to_string())
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Kind {
        Pattern::parse(text, false).unwrap().kind
    }

    #[test]
    fn kinds() {
        assert_eq!(kind("vfs_*"), Kind::Kernel);
        assert_eq!(kind("p::vfs_read"), Kind::Kernel);
        assert_eq!(kind("c:malloc"), Kind::User("c".into()));
        assert_eq!(kind("p:/bin/x:f"), Kind::User("/bin/x".into()));
        assert_eq!(kind("t:sched:*"), Kind::Tracepoint);
        assert_eq!(kind("u:pthread:*mutex*"), Kind::Usdt("pthread".into()));
    }

    #[test]
    fn wildcards_and_regexes() {
        let p = Pattern::parse("t:sched:sched_*", false).unwrap();
        assert_eq!(p.regex_text, "^sched:sched_.*$");
        assert!(p.matches("sched:sched_switch") && !p.matches("xsched:sched_switch"));
        // `.` keeps its regex meaning: go:os.* matches "osX".
        assert!(Pattern::parse("go:os.*", false).unwrap().matches("osX"));
        // -r is anchored at the start only.
        let r = Pattern::parse("vfs_", true).unwrap();
        assert!(
            r.matches("vfs_read") && !Pattern::parse("read", true).unwrap().matches("vfs_read")
        );
        let r = Pattern::parse("c:(write|read)$", true).unwrap();
        assert!(r.matches("read") && !r.matches("readv"));
    }

    #[test]
    fn odd_input_never_panics() {
        for input in [
            "", ":", "::", "t::", "u::", "(", "[", "\\", "é*", "*:*:*", "t:*",
        ] {
            let _ = Pattern::parse(input, false);
            let _ = Pattern::parse(input, true);
        }
    }

    #[test]
    fn engine_wildcards() {
        let w = |t: &str, r| Pattern::parse(t, r).unwrap().engine_wildcard();
        assert_eq!(
            w("t:syscalls:sys_enter_*", false).as_deref(),
            Some("tracepoint:syscalls:sys_enter_*")
        );
        assert_eq!(
            w("t:*:sched_switch", false).as_deref(),
            Some("tracepoint:*:sched_switch")
        );
        assert_eq!(w("t:sched:sched_(fork|exec)", true), None);
        assert_eq!(w("t:sched:sched.x", false), None);
        assert_eq!(w("c:str*", false), None);
    }

    #[test]
    fn errors() {
        let e = |t: &str, r| Pattern::parse(t, r).unwrap_err();
        assert_eq!(
            e("x:a:b", false),
            "Type must be 'p', 't', or 'u', but got x"
        );
        assert_eq!(
            e("r:a:b", false),
            "Type must be 'p', 't', or 'u', but got r"
        );
        assert_eq!(
            e("a:b:c:d", false),
            "Too many ':'-separated components in pattern a:b:c:d"
        );
        assert!(
            e("(?=x)", true).contains("look-around"),
            "{}",
            e("(?=x)", true)
        );
    }
}
