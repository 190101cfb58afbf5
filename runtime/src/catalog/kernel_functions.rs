//! Kernel functions that kprobes could attach to.

use std::fs;
use std::path::Path;

/// Kernel function names, sorted and deduplicated: from tracefs's
/// `available_filter_functions` when tracefs is mounted and that file is readable, else the
/// text symbols (`t`/`T`) of `/proc/kallsyms`.
pub(crate) fn list(tracefs: Option<&Path>) -> Result<Vec<String>, String> {
    let from_ftrace = tracefs
        .and_then(|dir| fs::read_to_string(dir.join("available_filter_functions")).ok())
        .map(|text| parse_filter_functions(&text))
        .filter(|names| !names.is_empty());
    let mut names = match from_ftrace {
        Some(names) => names,
        None => {
            let text = fs::read_to_string("/proc/kallsyms")
                .map_err(|e| format!("cannot read /proc/kallsyms to list kernel functions: {e}"))?;
            parse_kallsyms(&text)
        }
    };
    names.sort_unstable();
    names.dedup();
    Ok(names)
}

/// `available_filter_functions` lines: `name` or `name [module]`.
fn parse_filter_functions(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// `/proc/kallsyms` lines: `address type name [module]`; keeps function symbols only, without
/// the `__pfx_` padding symbols that precede functions since Linux 6.2.
fn parse_kallsyms(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _address = fields.next()?;
            let kind = fields.next()?;
            let name = fields.next()?;
            let is_function = kind == "t" || kind == "T";
            (is_function && !name.starts_with("__pfx_")).then(|| name.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kallsyms() {
        let text = "ffffffff81000000 T _stext\nffffffff816bab60 t __pfx_vfs_read\n\
                    ffffffff816bab70 T vfs_read\nffffffff82000000 D some_data\n\
                    ffffffffc0201000 t ftrace_trampoline\t[__builtin__ftrace]\nbroken\n";
        assert_eq!(
            parse_kallsyms(text),
            ["_stext", "vfs_read", "ftrace_trampoline"]
        );
    }

    #[test]
    fn parses_filter_functions() {
        let text = "vfs_read\nkvm_foo [kvm]\n\n";
        assert_eq!(parse_filter_functions(text), ["vfs_read", "kvm_foo"]);
    }
}
