//! The data-driven diagnostics suite.
//!
//! Every `tests/diagnostics/NNN_name.bt` holds one case: the program, a line
//! `==== expected ====`, then exactly what scry prints for it (no colour, Unicode box drawing,
//! the case file's name as the file name). An empty expected section means the program must
//! compile without any diagnostic. The program may begin with comment lines that set options:
//!
//! ```text
//! // args: /fixture/bin/app 10      positional parameters
//! // opts: unsafe child pid=123 strlen=32 include=/opt/app/include
//! ```
//!
//! `SCRY_BLESS=1 cargo test -p scry-lang --test diagnostics` rewrites the expected sections
//! from the actual output. Adding a case is adding a file.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use scry_lang::check::CheckOptions;
use scry_lang::report::{render_all, RenderOptions};

const SEPARATOR: &str = "==== expected ====";

/// One case file, split.
struct Case {
    path: PathBuf,
    name: String,
    program: String,
    expected: String,
}

fn load(path: &Path) -> Case {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let (program, expected) = match text.find(&format!("\n{SEPARATOR}\n")) {
        Some(i) => (
            text[..i + 1].to_string(),
            text[i + SEPARATOR.len() + 2..].to_string(),
        ),
        None => match text.strip_suffix(&format!("\n{SEPARATOR}")) {
            Some(p) => (format!("{p}\n"), String::new()),
            None => panic!("{name}: no line '{SEPARATOR}'"),
        },
    };
    Case {
        path: path.to_path_buf(),
        name,
        program,
        expected,
    }
}

/// Options from the `// args:` and `// opts:` header lines.
fn options(case: &Case) -> CheckOptions {
    let mut opts = CheckOptions::default();
    for line in case.program.lines() {
        if let Some(args) = line.strip_prefix("// args:") {
            opts.params = args.split_whitespace().map(String::from).collect();
        } else if let Some(list) = line.strip_prefix("// opts:") {
            for o in list.split_whitespace() {
                match o.split_once('=') {
                    None if o == "unsafe" => opts.unsafe_mode = true,
                    None if o == "child" => opts.has_child = true,
                    Some(("pid", v)) => opts.pid = Some(v.parse().expect("pid=N")),
                    Some(("strlen", v)) => opts.strlen = v.parse().expect("strlen=N"),
                    Some(("include", dir)) => opts.include_dirs.push(dir.to_string()),
                    _ => panic!("{}: unknown option '{o}'", case.name),
                }
            }
        } else if !line.starts_with("//") {
            break;
        }
    }
    opts
}

fn run(case: &Case, catalog: &scry_lang::catalog::MemoryCatalog) -> Result<String, String> {
    let opts = options(case);
    let program = case.program.clone();
    let name = case.name.clone();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let compiled = scry_lang::compile(&program, catalog, &opts);
        render_all(
            &compiled.diagnostics,
            &name,
            &program,
            RenderOptions {
                color: false,
                ascii: false,
            },
        )
    }))
    .map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!("the front end panicked: {msg}")
    })
}

/// A line diff (longest common subsequence), `-` expected, `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            let _ = writeln!(out, "  {}", a[i]);
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "+ {}", b[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "- {}", a[i]);
            i += 1;
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        out.push_str("(the final newline differs)\n");
    }
    out
}

#[test]
fn diagnostics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/diagnostics")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "bt"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no cases in {}", dir.display());
    let bless = std::env::var_os("SCRY_BLESS").is_some_and(|v| v != "0");
    let catalog = common::catalog();
    let mut failures = Vec::new();
    for path in &paths {
        let case = load(path);
        match run(&case, &catalog) {
            Err(panic) => failures.push(format!("{}: {panic}", case.name)),
            Ok(actual) if actual == case.expected => {}
            Ok(actual) if bless => {
                let text = format!("{}{SEPARATOR}\n{actual}", case.program);
                std::fs::write(&case.path, text).expect("write case");
                eprintln!("blessed {}", case.name);
            }
            Ok(actual) => failures.push(format!(
                "{}: output differs (- expected, + actual):\n{}",
                case.path.display(),
                diff(&case.expected, &actual)
            )),
        }
    }
    if !failures.is_empty() {
        panic!(
            "{} of {} diagnostics cases failed (SCRY_BLESS=1 rewrites the expected output):\n\n{}",
            failures.len(),
            paths.len(),
            failures.join("\n")
        );
    }
}

#[test]
fn fixture_catalog_is_complete() {
    use scry_lang::catalog::Catalog;
    let c = common::catalog();
    let cats = c.tracepoint_categories().unwrap();
    assert_eq!(cats, ["block", "raw_syscalls", "sched", "syscalls"]);
    let f = c
        .tracepoint_format("syscalls", "sys_enter_openat")
        .unwrap()
        .expect("sys_enter_openat");
    assert!(f.fields.iter().any(|f| f.name == "filename"));
    assert!(c
        .kernel_functions()
        .unwrap()
        .contains(&"vfs_read".to_string()));
    assert_eq!(c.usdt_probes(common::APP).unwrap().len(), 4);
}
