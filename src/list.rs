//! `-l [PATTERN]` and `-lv`: the probes this machine offers.

use scry_lang::attach::shown_target;
use scry_lang::catalog::Catalog;
use scry_lang::glob::glob_match;
use scry_lang::probe::{ProbeKind, HARDWARE_EVENTS, SOFTWARE_EVENTS, TIME_UNITS};
use scry_runtime::LiveCatalog;

/// Prints every probe matching `pattern` (all of them without one), one a line; with
/// `verbose`, a tracepoint's fields or a USDT probe's arguments follow it. `pid` (`-p`) names
/// the process whose executable and libraries `uprobe:`/`usdt:` patterns search.
pub fn list(pattern: Option<&str>, verbose: bool, pid: Option<u32>) -> Result<(), String> {
    crate::pipe::print(&listing(pattern, verbose, pid)?)
}

/// What [`list`] prints (the REPL's `.list` shows it).
pub fn listing(pattern: Option<&str>, verbose: bool, pid: Option<u32>) -> Result<String, String> {
    if let Some(name) = pattern.filter(|p| p.starts_with("struct ") || p.starts_with("union ")) {
        return list_record(name);
    }
    if let Some(c) = pattern.and_then(|p| p.chars().find(|c| !search_char(*c))) {
        return Err(format!("invalid character '{c}' in search expression"));
    }
    let pattern = pattern.map(normalise);
    // `-l -p PID` alone: the functions and USDT probes of the process's executable.
    if let (None, Some(pid)) = (pattern.as_deref(), pid) {
        let exe = process_exe(pid)?;
        let catalog = LiveCatalog::new();
        let mut out = list_user(&format!("uprobe:{exe}:*"), verbose, Some(pid), &catalog)?;
        out += &list_user(&format!("usdt:{exe}:*"), verbose, Some(pid), &catalog)?;
        return Ok(out);
    }
    if let Some(p) = pattern.as_deref() {
        // `*:FILE:*`: the file's probes under each provider the wildcard matches, as bpftrace
        // lists them (uprobe, then usdt).
        if let Some((provider, rest)) = p.split_once(':').filter(|(prov, rest)| {
            prov.contains('*') && rest.split(':').next().is_some_and(|f| f.contains('/'))
        }) {
            let catalog = LiveCatalog::new();
            let mut out = String::new();
            for kind in ["uprobe", "usdt"]
                .into_iter()
                .filter(|k| glob_match(provider, k))
            {
                out += &list_user(&format!("{kind}:{rest}"), verbose, pid, &catalog)?;
            }
            return Ok(out);
        }
        if p.starts_with("uprobe:") || p.starts_with("uretprobe:") || p.starts_with("usdt:") {
            return list_user(p, verbose, pid, &LiveCatalog::new());
        }
    }
    let matches = |name: &str| match &pattern {
        None => true,
        Some(p) if p.contains(':') => glob_match(p, name),
        Some(p) => name.rsplit(':').any(|field| glob_match(p, field)),
    };
    let wants = |provider: &str| match &pattern {
        Some(p) if p.contains(':') => glob_match(p.split(':').next().unwrap_or("*"), provider),
        _ => true,
    };
    let catalog = LiveCatalog::new();
    let mut out = String::new();
    if wants("tracepoint") {
        for cat in catalog.tracepoint_categories()? {
            for ev in catalog.tracepoint_events(&cat)? {
                let name = format!("tracepoint:{cat}:{ev}");
                if !matches(&name) {
                    continue;
                }
                out.push_str(&name);
                out.push('\n');
                if verbose {
                    if let Ok(Some(format)) = catalog.tracepoint_format(&cat, &ev) {
                        for f in &format.fields {
                            out.push_str(&format!("    {}\n", f.declaration()));
                        }
                    }
                }
            }
        }
    }
    for (provider, table) in [("software", SOFTWARE_EVENTS), ("hardware", HARDWARE_EVENTS)] {
        if !wants(provider) {
            continue;
        }
        for ev in table {
            for n in std::iter::once(ev.name).chain(ev.alias) {
                let name = format!("{provider}:{n}:");
                if matches(name.trim_end_matches(':')) {
                    out.push_str(&name);
                    out.push('\n');
                }
            }
        }
    }
    for provider in ["profile", "interval"] {
        if !wants(provider) {
            continue;
        }
        for unit in TIME_UNITS {
            let name = format!("{provider}:{unit}:");
            if matches(name.trim_end_matches(':')) {
                out.push_str(&name);
                out.push('\n');
            }
        }
    }
    let kprobe_wanted = pattern
        .as_deref()
        .is_some_and(|p| p.starts_with("kprobe:") || p.starts_with("kretprobe:"));
    if kprobe_wanted {
        if !scry_runtime::attach::kprobes_available() {
            scry_runtime::eprintln_lossy!(
                "NOTE: this kernel was built without CONFIG_KPROBES, so these functions are listed but kprobe and kretprobe probes cannot attach to them"
            );
        }
        for f in catalog.kernel_functions()? {
            let name = format!("kprobe:{f}");
            if matches(&name) {
                out.push_str(&name);
                out.push('\n');
            }
        }
    }
    let kfunc_provider = pattern
        .as_deref()
        .and_then(|p| p.split_once(':'))
        .map(|(provider, _)| provider)
        .filter(|p| matches!(*p, "kfunc" | "kretfunc"));
    if let Some(provider) = kfunc_provider {
        list_kfuncs(provider, verbose, &catalog, &matches, &mut out)?;
    }
    Ok(out)
}

/// `-l 'kfunc:PATTERN'`: the kernel functions BTF describes that ftrace can trace, with
/// `verbose` their arguments and return value (`    struct file * file`, `    ssize_t retval`).
fn list_kfuncs(
    provider: &str,
    verbose: bool,
    catalog: &LiveCatalog,
    matches: &dyn Fn(&str) -> bool,
    out: &mut String,
) -> Result<(), String> {
    let traceable: std::collections::HashSet<String> =
        catalog.kernel_functions()?.into_iter().collect();
    for f in catalog.btf_functions()? {
        let name = format!("{provider}:{f}");
        if !traceable.contains(&f) || !matches(&name) {
            continue;
        }
        out.push_str(&name);
        out.push('\n');
        if verbose {
            if let Ok(Some(proto)) = catalog.kernel_function(&f) {
                for p in &proto.params {
                    out.push_str(&format!("    {} {}\n", p.c_type, p.name));
                }
                if proto.ret_c_type != "void" {
                    out.push_str(&format!("    {} retval\n", proto.ret_c_type));
                }
            }
        }
    }
    Ok(())
}

/// `-l 'uprobe:TARGET:FUNC'` and `-l 'usdt:TARGET:[PROVIDER:]NAME'`: the functions or USDT
/// probes of one binary, or with `pid` and a target of `*` (or none, `usdt:*`), of every file
/// the process maps (a uprobe's `*` target with `pid` is the executable). Functions are listed
/// by name, sorted, with `verbose` their arguments from DWARF (`    const char* s`); USDT probes
/// in note order, with `verbose` their arguments (`    int32 arg0`).
fn list_user(
    pattern: &str,
    verbose: bool,
    pid: Option<u32>,
    catalog: &dyn Catalog,
) -> Result<String, String> {
    let fields: Vec<&str> = pattern.splitn(4, ':').collect();
    let provider = fields[0];
    let target = fields.get(1).copied().unwrap_or("*");
    let rest: Vec<&str> = fields.iter().skip(2).copied().collect();
    // Each file searched: the name listings show for it, and its path.
    let targets: Vec<(String, String)> = match (pid, target) {
        (Some(pid), "*" | "") if provider == "usdt" => mapped_binaries(pid)?
            .into_iter()
            .map(|p| (p.clone(), p))
            .collect(),
        (Some(pid), "*" | "") => {
            let path = catalog.resolve_binary("", Some(pid))?;
            vec![(process_exe(pid)?, path)]
        }
        (None, "*" | "") => {
            return Err(format!(
                "listing {provider} probes needs a binary ('{provider}:/path/to/binary:*') or a process (-p PID)"
            ))
        }
        (_, t) if t.contains('*') && t.contains('/') => catalog
            .glob_files(t)?
            .into_iter()
            .filter_map(|f| catalog.resolve_binary(&f, pid).ok().map(|p| (f, p)))
            .collect(),
        (_, t) => {
            let path = catalog.resolve_binary(t, pid)?;
            vec![(shown_target(t, &path).to_string(), path)]
        }
    };
    let mut out = String::new();
    for (shown, path) in targets {
        if provider == "usdt" {
            // `usdt:*` with -p, `usdt:T:NAME` and `usdt:T:PROV:NAME`.
            let (want_provider, want_name) = match rest.as_slice() {
                [] => ("*", "*"),
                [name] => ("*", *name),
                [prov, name, ..] => (*prov, *name),
            };
            let Ok(mut probes) = catalog.usdt_probes(&path) else {
                continue;
            };
            // Sorted by provider and name, each probe once however many sites it has, as
            // bpftrace lists them.
            probes.sort_by(|a, b| (&a.provider, &a.name).cmp(&(&b.provider, &b.name)));
            probes.dedup_by(|a, b| (&a.provider, &a.name) == (&b.provider, &b.name));
            for p in probes {
                if !glob_match(want_provider, &p.provider) || !glob_match(want_name, &p.name) {
                    continue;
                }
                out.push_str(&format!("usdt:{shown}:{}:{}\n", p.provider, p.name));
                if verbose {
                    match scry_lang::usdt::parse_args(&p.arguments) {
                        Ok(args) => {
                            for (i, a) in args.iter().enumerate() {
                                let sign = if a.signed { "int" } else { "uint" };
                                out.push_str(&format!("    {sign}{} arg{i}\n", a.size * 8));
                            }
                        }
                        Err(e) => {
                            out.push_str(&format!("    (arguments '{}': {e})\n", p.arguments))
                        }
                    }
                }
            }
        } else {
            let want = rest.first().copied().unwrap_or("*");
            let Ok(symbols) = catalog.user_symbols(&path) else {
                continue;
            };
            let ambiguous = scry_lang::attach::ambiguous_functions(&symbols);
            let mut names: Vec<&str> = symbols
                .iter()
                .filter(|s| {
                    s.is_function
                        && glob_match(want, &s.name)
                        && !ambiguous.contains(s.name.as_str())
                })
                .map(|s| s.name.as_str())
                .collect();
            names.sort_unstable();
            names.dedup();
            for n in names {
                out.push_str(&format!("{provider}:{shown}:{n}\n"));
                // Arguments as the DWARF spells them (`    const char* s`); none without DWARF.
                if verbose {
                    if let Ok(Some(f)) = catalog.user_function(&path, n) {
                        for p in &f.params {
                            out.push_str(&format!("    {} {}\n", p.c_type, p.name));
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The ELF files process `pid` maps executable, as `/proc/PID/root/<path>` (container paths
/// resolve), each once, in address order.
/// The executable of process `pid` as listings name it: through the process's root
/// (`/proc/PID/root/usr/bin/app`), as bpftrace names it.
fn process_exe(pid: u32) -> Result<String, String> {
    let link = format!("/proc/{pid}/exe");
    let exe = std::fs::read_link(&link).map_err(|e| format!("cannot read {link}: {e}"))?;
    Ok(format!("/proc/{pid}/root{}", exe.display()))
}

fn mapped_binaries(pid: u32) -> Result<Vec<String>, String> {
    let maps_path = format!("/proc/{pid}/maps");
    let maps =
        std::fs::read_to_string(&maps_path).map_err(|e| format!("cannot read {maps_path}: {e}"))?;
    let mut files: Vec<String> = Vec::new();
    for line in maps.lines() {
        let mut f = line.splitn(6, char::is_whitespace);
        let perms = f.nth(1).unwrap_or("");
        let Some(path) = f.nth(3).map(str::trim_start) else {
            continue;
        };
        if perms.contains('x') && path.starts_with('/') && !path.ends_with(" (deleted)") {
            let full = format!("/proc/{pid}/root{path}");
            if !files.contains(&full) {
                files.push(full);
            }
        }
    }
    Ok(files)
}

/// `-lv 'struct task_struct'`: the kernel's layout of a struct or union, from BTF, one field a
/// line with its type and byte offset.
fn list_record(name: &str) -> Result<String, String> {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let record = LiveCatalog::new()
        .kernel_record(&name)?
        .ok_or_else(|| format!("the kernel's BTF has no {name}"))?;
    let mut out = format!("{name} {{\n");
    for f in &record.fields {
        out.push_str(&format!(
            "    {} {};  // offset {}\n",
            f.ty, f.name, f.offset
        ));
    }
    out.push_str(&format!("}};  // size {}\n", record.size));
    Ok(out)
}

/// Whether `c` may appear in a probe search: the characters of attach points (names, paths,
/// wildcards, quotes), as bpftrace's lexer takes them.
fn search_char(c: char) -> bool {
    c.is_alphanumeric() || "_-./*:+?[]!,\"'@=%~".contains(c)
}

/// Provider aliases to full names: `t:sched:*` searches `tracepoint:sched:*`.
fn normalise(pattern: &str) -> String {
    match pattern.split_once(':') {
        Some((provider, rest)) => match ProbeKind::from_provider(provider) {
            Some(kind) => format!("{}:{rest}", kind.name()),
            None => pattern.to_string(),
        },
        None => pattern.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::search_char;

    #[test]
    fn search_characters() {
        let ok = "uprobe:/usr/lib/libfoo-1.0.so:fn_*?[ab]";
        assert!(ok.chars().all(search_char));
        for bad in ['#', '\\', '`', '$', ';', '{', '(', ' ', '\n'] {
            assert!(!search_char(bad), "{bad:?}");
        }
    }
}
