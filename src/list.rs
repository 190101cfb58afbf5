//! `-l [PATTERN]` and `-lv`: the probes this machine offers.

use scry_lang::attach::glob_match;
use scry_lang::catalog::Catalog;
use scry_lang::probe::{ProbeKind, HARDWARE_EVENTS, SOFTWARE_EVENTS, TIME_UNITS};
use scry_runtime::LiveCatalog;

/// Prints every probe matching `pattern` (all of them without one), one a line; with
/// `verbose`, a tracepoint's fields follow it.
pub fn list(pattern: Option<&str>, verbose: bool) -> Result<(), String> {
    if let Some(name) = pattern.filter(|p| p.starts_with("struct ") || p.starts_with("union ")) {
        return list_record(name);
    }
    let pattern = pattern.map(normalise);
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
            eprintln!(
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
    print!("{out}");
    Ok(())
}

/// `-lv 'struct task_struct'`: the kernel's layout of a struct or union, from BTF, one field a
/// line with its type and byte offset.
fn list_record(name: &str) -> Result<(), String> {
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
    print!("{out}");
    Ok(())
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
