//! Completion candidates: dot-commands, providers (and aliases) and their probes from the live system (the
//! catalog: tracepoint categories and events, a binary's functions and USDT probes), the
//! session's maps, builtins and functions.

use scry_lang::catalog::Catalog;
use scry_lang::check::BUILTIN_NAMES;
use scry_lang::functions::builtin_names;
use scry_lang::probe::{ProbeKind, Resolve, PROBES, TIME_UNITS};

use crate::command::COMMANDS;

/// Where the word being completed starts, and what may replace it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// Byte offset of the word's start.
    pub start: usize,
    /// Replacements, sorted, each once.
    pub candidates: Vec<String>,
}

/// What completes the word before `pos` in `line` (the whole entry typed so far). `None`
/// for a file name after `.save`/`.load` (the caller completes paths).
pub fn complete(
    line: &str,
    pos: usize,
    catalog: &dyn Catalog,
    maps: &[String],
) -> Option<Completion> {
    let before = &line[..pos];
    let start = before
        .rfind(|c: char| c.is_whitespace() || "{}();,=!<>+-*&|^~[]\"?".contains(c))
        .map_or(0, |i| i + 1);
    let word = &before[start..];
    let trimmed = before.trim_start();
    let mut candidates: Vec<String> = if trimmed.starts_with('.') {
        if trimmed.starts_with(".save ") || trimmed.starts_with(".load ") {
            return None;
        }
        if trimmed.contains(char::is_whitespace) {
            maps.iter().map(|m| format!("@{m}")).collect()
        } else {
            COMMANDS.iter().map(|(c, _)| c.to_string()).collect()
        }
    } else if word.starts_with('@') {
        maps.iter().map(|m| format!("@{m}")).collect()
    } else if word.contains(':') {
        probes(word, catalog)
    } else if depth(&line[..start]) == 0 {
        PROBES
            .iter()
            .flat_map(|d| {
                std::iter::once(d.name)
                    .chain(d.aliases.iter().copied())
                    .map(move |n| {
                        if d.is_special() {
                            n.to_string()
                        } else {
                            format!("{n}:")
                        }
                    })
            })
            .collect()
    } else {
        BUILTIN_NAMES
            .iter()
            .map(|b| b.to_string())
            .chain(builtin_names().map(|f| format!("{f}(")))
            .collect()
    };
    candidates.retain(|c| c.starts_with(word));
    candidates.sort();
    candidates.dedup();
    Some(Completion { start, candidates })
}

/// The rest of the one candidate the word at the end of `line` can become, if there is
/// exactly one (the editor shows it as a hint).
pub fn only_completion(line: &str, catalog: &dyn Catalog, maps: &[String]) -> Option<String> {
    let c = complete(line, line.len(), catalog, maps)?;
    match c.candidates.as_slice() {
        [only] => only
            .get(line.len() - c.start..)
            .filter(|rest| !rest.is_empty())
            .map(str::to_string),
        _ => None,
    }
}

/// How deep in `{` the text ends.
fn depth(text: &str) -> i64 {
    scry_lang::lexer::lex(text)
        .tokens
        .iter()
        .map(|(t, _)| match t {
            scry_lang::token::Tok::LBrace => 1,
            scry_lang::token::Tok::RBrace => -1,
            _ => 0,
        })
        .sum()
}

/// Probe names continuing `word` (`provider:...`), one field at a time.
fn probes(word: &str, catalog: &dyn Catalog) -> Vec<String> {
    let fields: Vec<&str> = word.split(':').collect();
    let provider = fields[0];
    let Some(kind) = ProbeKind::from_provider(provider) else {
        return Vec::new();
    };
    let with = |prefix: &str, names: Vec<String>, tail: &str| -> Vec<String> {
        names
            .into_iter()
            .map(|n| format!("{prefix}{n}{tail}"))
            .collect()
    };
    let ok = |r: Result<Vec<String>, String>| r.unwrap_or_default();
    match (kind.descriptor().resolve, fields.as_slice()) {
        (Resolve::Tracepoint, [_, _]) => with(
            &format!("{provider}:"),
            ok(catalog.tracepoint_categories()),
            ":",
        ),
        (Resolve::Tracepoint, [_, category, _]) => with(
            &format!("{provider}:{category}:"),
            ok(catalog.tracepoint_events(category)),
            "",
        ),
        (Resolve::Timer, [_, _]) => with(
            &format!("{provider}:"),
            TIME_UNITS.iter().map(|u| u.to_string()).collect(),
            ":",
        ),
        (Resolve::PerfEvent, [_, _]) => {
            let names = kind
                .descriptor()
                .events
                .iter()
                .flat_map(|e| std::iter::once(e.name).chain(e.alias))
                .map(str::to_string)
                .collect();
            with(&format!("{provider}:"), names, ":")
        }
        (Resolve::User, [_, target, _]) => {
            let functions = catalog
                .resolve_binary(target, None)
                .and_then(|path| catalog.user_symbols(&path))
                .map(|symbols| {
                    symbols
                        .into_iter()
                        .filter(|s| s.is_function)
                        .map(|s| s.name)
                        .collect()
                });
            with(&format!("{provider}:{target}:"), ok(functions), "")
        }
        (Resolve::Usdt, [_, target, ..]) if fields.len() >= 3 => {
            let names = catalog
                .resolve_binary(target, None)
                .and_then(|path| catalog.usdt_probes(&path))
                .map(|probes| {
                    probes
                        .into_iter()
                        .map(|p| format!("{}:{}", p.provider, p.name))
                        .collect()
                });
            with(&format!("{provider}:{target}:"), ok(names), "")
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_lang::catalog::MemoryCatalog;

    fn catalog() -> MemoryCatalog {
        let mut c = MemoryCatalog::new();
        let format = "name: x\nID: 1\nformat:\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\nprint fmt: \"\"\n";
        c.add_tracepoint("syscalls", "sys_enter_openat", format)
            .add_tracepoint("syscalls", "sys_enter_open", format)
            .add_tracepoint("sched", "sched_switch", format);
        c
    }

    fn candidates(line: &str) -> Vec<String> {
        let maps = ["calls".to_string(), "count".to_string()];
        complete(line, line.len(), &catalog(), &maps)
            .map(|c| c.candidates)
            .unwrap_or_default()
    }

    #[test]
    fn tracepoints_one_field_at_a_time() {
        assert_eq!(candidates("tracepoint:sy"), ["tracepoint:syscalls:"]);
        assert_eq!(
            candidates("t:syscalls:sys_enter_op"),
            ["t:syscalls:sys_enter_open", "t:syscalls:sys_enter_openat"]
        );
        let c = complete("BEGIN { } t:sch", 15, &catalog(), &[]).unwrap();
        assert_eq!((c.start, c.candidates), (10, vec!["t:sched:".to_string()]));
        assert_eq!(candidates("interval:m"), ["interval:ms:"]);
    }

    #[test]
    fn providers_at_top_level_builtins_in_blocks() {
        assert_eq!(candidates("trace"), ["tracepoint:"]);
        assert_eq!(
            candidates("u"),
            ["u:", "uprobe:", "ur:", "uretprobe:", "usdt:"]
        );
        assert_eq!(candidates("BEG"), ["BEGIN"]);
        assert_eq!(candidates("BEGIN { printf(\"%d\", ti"), ["tid", "time("]);
        assert!(candidates("BEGIN { pri").contains(&"printf(".to_string()));
    }

    #[test]
    fn functions_of_a_binary_and_its_usdt_probes() {
        let mut c = catalog();
        let f = |name: &str, is_function| scry_lang::catalog::UserSymbol {
            name: name.into(),
            address: 0x1000,
            size: 8,
            is_function,
        };
        c.add_binary(
            "/usr/bin/app",
            vec![
                f("do_work", true),
                f("do_wait", true),
                f("done_flag", false),
            ],
            Vec::new(),
        );
        let got = complete("uprobe:/usr/bin/app:do_w", 24, &c, &[]).unwrap();
        assert_eq!(
            got.candidates,
            ["uprobe:/usr/bin/app:do_wait", "uprobe:/usr/bin/app:do_work"]
        );
        let got = complete("ur:app:don", 10, &c, &[]).unwrap();
        assert!(got.candidates.is_empty(), "{got:?}");
    }

    #[test]
    fn the_only_candidate_is_a_hint() {
        let maps = ["calls".to_string()];
        let c = catalog();
        assert_eq!(
            only_completion("t:syscalls:sys_enter_opena", &c, &maps).as_deref(),
            Some("t")
        );
        assert_eq!(only_completion("t:syscalls:sys_enter_op", &c, &maps), None);
        assert_eq!(
            only_completion("BEGIN { @ca", &c, &maps).as_deref(),
            Some("lls")
        );
        assert_eq!(only_completion("@calls", &c, &maps), None);
        assert_eq!(only_completion(".qu", &c, &maps).as_deref(), Some("it"));
    }

    #[test]
    fn maps_and_commands() {
        assert_eq!(candidates("@c"), ["@calls", "@count"]);
        assert_eq!(candidates("BEGIN { print(@ca"), ["@calls"]);
        assert_eq!(candidates(".det"), [".detach"]);
        assert_eq!(candidates(".print @co"), ["@count"]);
        assert_eq!(complete(".save /tm", 9, &catalog(), &[]), None);
    }
}
