//! argdist's specifier: `{p,r,t,u}:{[lib],cat}:func(sig)[:type[,type...]:expr[,expr...][:filter]][#label]`
//! (reference §5.2).

use crate::tools::cexpr::{parse_signature, split_args};
use crate::tools::place::Place;

/// Histogram (`-H`) or frequency count (`-C`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `-H`.
    Histogram,
    /// `-C`.
    Count,
}

/// A parsed specifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The specifier as given (the title of a count block).
    pub raw: String,
    /// `-H` or `-C`.
    pub mode: Mode,
    /// `p`, `r`, `t` or `u`.
    pub kind: char,
    /// Where it attaches.
    pub place: Place,
    /// Signature parameters: (name, C type).
    pub params: Vec<(String, String)>,
    /// Each expression's C type.
    pub types: Vec<String>,
    /// The expressions, as C.
    pub exprs: Vec<String>,
    /// The filter, as C.
    pub filter: Option<String>,
    /// The `#label`.
    pub label: Option<String>,
    /// The default expression is used (`total calls`, `retval = V`).
    pub default_expr: bool,
}

impl Spec {
    /// Parses a specifier; errors read `error parsing probe 'SPEC': ...`.
    pub fn parse(raw: &str, mode: Mode) -> Result<Spec, String> {
        parse(raw, mode).map_err(|e| format!("error parsing probe '{raw}': {e}"))
    }

    /// Whether it is a return probe.
    pub fn is_return(&self) -> bool {
        self.kind == 'r'
    }

    /// An expression as shown in output: `$entry(name)` shows as `name`.
    pub fn display(expr: &str) -> String {
        let mut out = String::new();
        let mut rest = expr;
        while let Some(i) = rest.find("$entry(") {
            out.push_str(&rest[..i]);
            let after = &rest[i + "$entry(".len()..];
            match after.find(')') {
                Some(j) => {
                    out.push_str(after[..j].trim());
                    rest = &after[j + 1..];
                }
                None => {
                    out.push_str(&rest[i..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }
}

fn parse(raw: &str, mode: Mode) -> Result<Spec, String> {
    let (text, label) = match raw.matches('#').count() {
        1 => {
            let (t, l) = raw.split_once('#').unwrap_or((raw, ""));
            (t, Some(l.to_string()))
        }
        _ => (raw, None),
    };
    let fields: Vec<&str> = text.trim().split(':').collect();
    if fields.len() < 3 {
        return Err(
            "at least the probe type, library, and function signature must be specified".into(),
        );
    }
    if fields.len() > 6 {
        return Err("extraneous ':'-separated parts detected".into());
    }
    let kind = match fields[0] {
        k @ ("p" | "r" | "t" | "u") => k.chars().next().unwrap_or('p'),
        other => {
            return Err(format!(
                "probe type must be 'p', 'r', 't', or 'u' but got '{other}'"
            ))
        }
    };
    let sig = fields[2];
    let (func, params) = match (sig.find('('), sig.trim_end().strip_suffix(')')) {
        (Some(open), Some(body)) => (sig[..open].trim(), &body[open + 1..]),
        _ => return Err(format!("function signature '{sig}' has an invalid format")),
    };
    let params = if matches!(kind, 't' | 'u') {
        Vec::new()
    } else {
        parse_signature(params)
    };
    let (types, exprs, default_expr) = if fields.len() >= 5 {
        let types = split_list(fields[3]);
        let exprs = split_list(fields[4]);
        if types.is_empty() {
            return Err("no expr types specified".into());
        }
        if exprs.is_empty() {
            return Err("no exprs specified".into());
        }
        if types.len() != exprs.len() {
            return Err("mismatched # of exprs and types".into());
        }
        (types, exprs, false)
    } else if kind == 'r' {
        (vec!["int".to_string()], vec!["$retval".to_string()], true)
    } else {
        (vec!["u64".to_string()], vec!["1".to_string()], true)
    };
    if mode == Mode::Histogram {
        if exprs.len() > 1 {
            return Err("histograms can only have 1 expr".into());
        }
        if default_expr && kind != 'r' {
            return Err("histograms must have expr".into());
        }
    }
    let (lib, func) = (fields[1].to_string(), func.to_string());
    let place = match kind {
        't' => Place::Tracepoint {
            category: lib,
            event: func,
        },
        'u' => Place::Usdt { lib, probe: func },
        _ if lib.is_empty() => Place::Kernel {
            func,
            offset: 0,
            ret: kind == 'r',
        },
        _ => Place::User {
            lib,
            func,
            offset: 0,
            ret: kind == 'r',
        },
    };
    Ok(Spec {
        raw: raw.to_string(),
        mode,
        kind,
        place,
        params,
        types,
        exprs,
        filter: fields
            .get(5)
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty()),
        label,
        default_expr,
    })
}

/// A comma-separated field (types or expressions), trimmed, empty items dropped.
fn split_list(s: &str) -> Vec<String> {
    split_args(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let s = Spec::parse("p:c:malloc(size_t size):size_t:size:size==16", Mode::Count).unwrap();
        assert_eq!(
            s.place,
            Place::User {
                lib: "c".into(),
                func: "malloc".into(),
                offset: 0,
                ret: false
            }
        );
        assert_eq!(s.params, [("size".to_string(), "size_t".to_string())]);
        assert_eq!(s.filter.as_deref(), Some("size==16"));
        let s = Spec::parse("r::__vfs_read()", Mode::Histogram).unwrap();
        assert_eq!((s.exprs[0].as_str(), s.default_expr), ("$retval", true));
        let s = Spec::parse("p:c:fork()#fork calls", Mode::Count).unwrap();
        assert_eq!(
            (s.label.as_deref(), s.exprs[0].as_str()),
            (Some("fork calls"), "1")
        );
        let s = Spec::parse(
            "p::__kmalloc(size_t size, gfp_t flags):gfp_t,size_t:flags,size",
            Mode::Count,
        )
        .unwrap();
        assert_eq!(s.exprs, ["flags", "size"]);
        assert_eq!(Spec::display("$latency/$entry(size)"), "$latency/size");
    }

    #[test]
    fn odd_input_never_panics() {
        for input in [
            "",
            "#",
            "##",
            "p::f(",
            "p::f)",
            "p::)(",
            "p:::::",
            "r::f():",
            "r::f()::",
            "t:a:b()#é",
            "p:c:f(int a:int:a",
            "u::()",
            "p::(():int:a",
        ] {
            let _ = Spec::parse(input, Mode::Count);
            let _ = Spec::parse(input, Mode::Histogram);
        }
        assert_eq!(Spec::display("$entry(a"), "$entry(a");
    }

    #[test]
    fn observed_errors() {
        let e = |s: &str, m| Spec::parse(s, m).unwrap_err();
        assert_eq!(
            e("p::foo", Mode::Count),
            "error parsing probe 'p::foo': function signature 'foo' has an invalid format"
        );
        assert_eq!(
            e("p:a:b:c:d:e:f", Mode::Count),
            "error parsing probe 'p:a:b:c:d:e:f': extraneous ':'-separated parts detected"
        );
        assert_eq!(
            e("q::foo()", Mode::Count),
            "error parsing probe 'q::foo()': probe type must be 'p', 'r', 't', or 'u' but got 'q'"
        );
        assert!(e("p:c:f():int,int:a", Mode::Count).ends_with("mismatched # of exprs and types"));
        assert!(
            e("p:c:f():int,int:a,b", Mode::Histogram).ends_with("histograms can only have 1 expr")
        );
        assert!(e("p:c:f()", Mode::Histogram).ends_with("histograms must have expr"));
        assert!(e("p:c", Mode::Count).ends_with(
            "at least the probe type, library, and function signature must be specified"
        ));
    }
}
