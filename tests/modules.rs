//! No two modules import each other: within every crate of the workspace, the paths a module
//! names (`crate::a::b`, `super::c`, `self::d`, `use` lists included) make a graph between
//! sibling modules, and that graph has no cycle. Comments and `#[cfg(test)] mod tests` are
//! not looked at.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every crate's source directory.
const CRATES: &[&str] = &[
    "lang/src",
    "ebpf/src",
    "stdlib/src",
    "runtime/src",
    "repl/src",
    "src",
    "fuzz/src",
    "cases/src",
];

type Module = Vec<String>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file is (`check/mod.rs` is `check`, `lib.rs` the root).
fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Module = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without comments and without its test module.
fn code(text: &str) -> String {
    let text = text
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths named in `code` from `crate`, `super` or `self`, resolved against module `m`:
/// each as the list of names it goes through (`use a::{b, c::d}` names `a::b` and `a::c::d`).
fn named_paths(code: &str, m: &Module) -> Vec<Module> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(k) = code[i..].find(['c', 's']) {
        let at = i + k;
        i = at + 1;
        if code[..at].chars().next_back().is_some_and(ident) {
            continue;
        }
        let Some(start) = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|p| code[at..].starts_with(p))
        else {
            continue;
        };
        // The path text: names, `::`, and balanced `{...}` lists.
        let mut depth = 0;
        let mut end = at;
        for (j, c) in code[at..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' | ' ' | '\n' | '*' if depth > 0 => {}
                c if ident(c) || c == ':' => {}
                _ => break,
            }
            end = at + j + c.len_utf8();
        }
        let base: Module = match start {
            "crate::" => Vec::new(),
            "super::" => m[..m.len().saturating_sub(1)].to_vec(),
            _ => m.clone(),
        };
        expand(&code[at + start.len()..end], base, &mut out);
        i = end.max(i);
    }
    out
}

/// Adds the paths of `text` (`a::b`, `a::{b, c::d}`) under `base` to `out`.
fn expand(text: &str, mut base: Module, out: &mut Vec<Module>) {
    let text = text.trim();
    if let Some(list) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        let mut depth = 0;
        let mut from = 0;
        for (j, c) in list.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&list[from..j], base.clone(), out);
                    from = j + 1;
                }
                _ => {}
            }
        }
        expand(&list[from..], base, out);
        return;
    }
    match text.split_once("::") {
        Some((seg, rest)) => {
            if seg == "super" {
                base.pop();
            } else {
                base.push(seg.to_string());
            }
            expand(rest, base, out);
        }
        None => {
            if !text.is_empty() && text != "*" && text != "self" {
                base.push(text.to_string());
            }
            out.push(base);
        }
    }
}

/// Sibling module pairs `(a, b)` of `parent` such that `a` names something in `b`.
fn sibling_edges(src: &Path) -> BTreeMap<Module, BTreeSet<(String, String)>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeMap<Module, PathBuf> = files
        .iter()
        .map(|f| (module_of(src, f), f.clone()))
        .collect();
    let mut edges: BTreeMap<Module, BTreeSet<(String, String)>> = BTreeMap::new();
    for (m, file) in &modules {
        let text = std::fs::read_to_string(file).expect("source file");
        for path in named_paths(&code(&text), m) {
            // The longest prefix that is a module of the crate.
            let Some(target) = (0..=path.len())
                .rev()
                .map(|k| path[..k].to_vec())
                .find(|p| modules.contains_key(p))
            else {
                continue;
            };
            let common = m.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common < m.len() && common < target.len() {
                edges
                    .entry(m[..common].to_vec())
                    .or_default()
                    .insert((m[common].clone(), target[common].clone()));
            }
        }
    }
    edges
}

/// The cycles among `edges` (strongly connected sets of more than one module).
fn cycles(edges: &BTreeSet<(String, String)>) -> Vec<BTreeSet<String>> {
    let nodes: BTreeSet<&String> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for (a, b) in edges {
                if *a == n && seen.insert(b.clone()) {
                    todo.push(b.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut found: Vec<BTreeSet<String>> = Vec::new();
    for n in &nodes {
        let set: BTreeSet<String> = nodes
            .iter()
            .filter(|m| reached[*n].contains(**m) && reached[**m].contains(*n))
            .map(|m| (*m).clone())
            .collect();
        if set.len() > 1 && !found.contains(&set) {
            found.push(set);
        }
    }
    found
}

#[test]
fn no_two_modules_import_each_other() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for krate in CRATES {
        for (parent, edges) in sibling_edges(&root.join(krate)) {
            for cycle in cycles(&edges) {
                let named: Vec<String> = edges
                    .iter()
                    .filter(|(a, b)| cycle.contains(a) && cycle.contains(b))
                    .map(|(a, b)| format!("{a} -> {b}"))
                    .collect();
                problems.push(format!(
                    "{krate} {}: {}",
                    if parent.is_empty() {
                        "(root)".to_string()
                    } else {
                        parent.join("::")
                    },
                    named.join(", ")
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "modules that import each other:\n{}",
        problems.join("\n")
    );
}

#[test]
fn paths_are_resolved() {
    let m: Module = vec!["codegen".into(), "gen".into()];
    let found = named_paths(
        "use super::{frame::Frame, error};\nuse crate::insn::*;\nlet x = self::inner::f();\nuse super::super::x;",
        &m,
    );
    let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Module>();
    assert_eq!(
        found,
        [
            path(&["codegen", "frame", "Frame"]),
            path(&["codegen", "error"]),
            path(&["insn"]),
            path(&["codegen", "gen", "inner", "f"]),
            path(&["x"]),
        ]
    );
}
