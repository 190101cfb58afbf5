//! What a funccount/stackcount pattern matches on this system, expanded as BCC does (§1.4 of
//! the tools' reference): kernel functions, tracepoints, the function symbols of a binary, its
//! USDT probes; each becomes a [`Target`] with the engine attach points that probe it.

use std::collections::{BTreeMap, HashSet};

use scry_lang::catalog::Catalog;

use super::pattern::{Kind, Pattern};
use super::place::resolve_library;

/// One thing counted (a function, `cat:event`, or USDT probe name): the attach points that
/// probe it (a USDT probe name may belong to several providers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Engine attach points.
    pub attach: Vec<String>,
}

/// Which of the symbols at one address or of one name a user pattern keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Symbols {
    /// funccount: the first symbol per address and per name.
    FirstPerAddressAndName,
    /// stackcount: the first symbol per address.
    FirstPerAddress,
}

/// The targets `pattern` matches, in the catalog's order; an error names what is missing.
pub fn expand(
    pattern: &Pattern,
    catalog: &dyn Catalog,
    pid: Option<u32>,
    symbols: Symbols,
) -> Result<Vec<Target>, String> {
    let single = |attach: String| Target {
        attach: vec![attach],
    };
    let targets: Vec<Target> = match &pattern.kind {
        Kind::Kernel => catalog
            .kernel_functions()?
            .into_iter()
            .filter(|f| probeable_kernel_function(f) && pattern.matches(f))
            .map(|f| single(format!("kprobe:{f}")))
            .collect(),
        Kind::Tracepoint => {
            let mut found = Vec::new();
            for category in catalog.tracepoint_categories()? {
                for event in catalog.tracepoint_events(&category)? {
                    let name = format!("{category}:{event}");
                    if pattern.matches(&name) {
                        found.push(single(format!("tracepoint:{name}")));
                    }
                }
            }
            found
        }
        Kind::User(lib) => {
            // As in BCC, the library is found on the system; only USDT looks in the process.
            let path = resolve_library(catalog, lib, None)?;
            let mut addresses = HashSet::new();
            let mut names = HashSet::new();
            catalog
                .user_symbols(&path)?
                .into_iter()
                .filter(|s| s.is_function && s.address != 0 && attachable_name(&s.name))
                .filter(|s| pattern.matches(&s.name))
                .filter(|s| {
                    let new_address = addresses.insert(s.address);
                    let new_name = names.insert(s.name.clone());
                    new_address && (new_name || symbols == Symbols::FirstPerAddress)
                })
                .map(|s| single(format!("uprobe:{path}:{}", s.name)))
                .collect()
        }
        Kind::Usdt(lib) => {
            let path = resolve_library(catalog, lib, pid)?;
            let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for p in catalog.usdt_probes(&path)? {
                if pattern.matches(&p.name) {
                    let attach = format!("usdt:{path}:{}:{}", p.provider, p.name);
                    let points = by_name.entry(p.name).or_default();
                    if !points.contains(&attach) {
                        points.push(attach);
                    }
                }
            }
            by_name
                .into_values()
                .map(|attach| Target { attach })
                .collect()
        }
    };
    if targets.is_empty() {
        return Err(format!(
            "No functions matched by pattern {}",
            pattern.regex_text
        ));
    }
    Ok(targets)
}

/// The name an engine `probe` value shows for a target: the function for kprobes and
/// uprobes, `cat:event` for tracepoints, the probe name for USDT.
pub fn display_name(probe: &str) -> &str {
    if let Some(rest) = probe.strip_prefix("tracepoint:") {
        return rest;
    }
    if let Some(rest) = probe.strip_prefix("kprobe:") {
        return rest;
    }
    probe.rsplit(':').next().unwrap_or(probe)
}

/// BCC's exclusions from kernel function wildcards: perf's own functions, blacklist
/// markers, static-call trampolines and cold clones.
fn probeable_kernel_function(name: &str) -> bool {
    let excluded_prefix = ["_kbl_addr_", "__perf", "perf_", "__SCT__"]
        .iter()
        .any(|p| name.starts_with(p));
    let cold = name.ends_with(".cold")
        || name
            .rsplit_once(".cold.")
            .is_some_and(|(_, n)| n.bytes().all(|b| b.is_ascii_digit()));
    !excluded_prefix && !cold
}

/// Whether a symbol can be written in an attach point (C and mangled C++ names can).
fn attachable_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'$')
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_lang::catalog::{MemoryCatalog, UserSymbol};

    const FORMAT: &str = "name: x\nID: 1\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\nprint fmt: \"\"\n";

    fn catalog() -> MemoryCatalog {
        let mut c = MemoryCatalog::new();
        c.add_tracepoint("sched", "sched_switch", FORMAT)
            .add_tracepoint("sched", "sched_fork", FORMAT)
            .add_tracepoint("block", "block_rq_issue", FORMAT);
        for f in ["vfs_read", "vfs_write", "perf_x", "vfs_x.cold", "tcp_send"] {
            c.add_kernel_function(f);
        }
        let sym = |name: &str, address| UserSymbol {
            name: name.into(),
            address,
            size: 8,
            is_function: true,
        };
        c.add_binary(
            "/lib/libc.so.6",
            vec![
                sym("malloc", 0x10),
                sym("__libc_malloc", 0x10),
                sym("read", 0x20),
                sym("read", 0x30),
                sym("write", 0x40),
            ],
            vec![],
        );
        c
    }

    fn names(pattern: &str, regex: bool, symbols: Symbols) -> Result<Vec<String>, String> {
        let p = Pattern::parse(pattern, regex)?;
        let t = expand(&p, &catalog(), None, symbols)?;
        Ok(t.iter()
            .map(|t| display_name(&t.attach[0]).to_string())
            .collect())
    }

    #[test]
    fn expands_each_kind() {
        let fc = Symbols::FirstPerAddressAndName;
        assert_eq!(
            names("vfs_*", false, fc).unwrap(),
            ["vfs_read", "vfs_write"]
        );
        assert_eq!(
            names("t:sched:*", false, fc).unwrap(),
            ["sched:sched_fork", "sched:sched_switch"]
        );
        assert_eq!(
            names("t:*:*issue", false, fc).unwrap(),
            ["block:block_rq_issue"]
        );
        assert_eq!(
            names("/lib/libc.so.6:*", false, fc).unwrap(),
            ["malloc", "read", "write"]
        );
        assert_eq!(
            names("/lib/libc.so.6:(write|read)$", true, fc).unwrap(),
            ["read", "write"]
        );
        // Aliases of an address are skipped among the matches only.
        assert_eq!(
            names("/lib/libc.so.6:__libc_*", false, fc).unwrap(),
            ["__libc_malloc"]
        );
        // stackcount keeps `read` at its second address too.
        assert_eq!(
            names("/lib/libc.so.6:read", false, Symbols::FirstPerAddress).unwrap(),
            ["read", "read"]
        );
    }

    #[test]
    fn errors_name_the_regex_or_library() {
        let fc = Symbols::FirstPerAddressAndName;
        assert_eq!(
            names("t:sched:nonexist*", false, fc).unwrap_err(),
            "No functions matched by pattern ^sched:nonexist.*$"
        );
        assert_eq!(
            names("nosuchlib_zz:foo", false, fc).unwrap_err(),
            "unable to find library nosuchlib_zz"
        );
    }

    #[test]
    fn display_names() {
        assert_eq!(
            display_name("tracepoint:sched:sched_switch"),
            "sched:sched_switch"
        );
        assert_eq!(display_name("kprobe:vfs_read"), "vfs_read");
        assert_eq!(display_name("uprobe:/usr/lib/libc.so.6:malloc"), "malloc");
        assert_eq!(display_name("usdt:/bin/x:prov:probe"), "probe");
    }
}
