//! The data-driven diagnostics suite.
//!
//! Every `tests/diagnostics/NNN_name.bt` holds one case: the program, a line
//! `==== expected ====`, then exactly what scry prints for it (no colour, Unicode box drawing,
//! the case file's name as the file name). An empty expected section means the program must
//! compile without any diagnostic. The program may begin with comment lines that set options:
//!
//! ```text
//! // args: /fixture/bin/app 10      positional parameters
//! // opts: unsafe child pid=123 strlen=32 include=/opt/app/include include_file=app.h
//! ```
//!
//! The runner is `scry_cases` (`SCRY_BLESS=1 cargo test -p scry-lang --test diagnostics`
//! rewrites the expected sections from the actual output). Adding a case is adding a file.

mod common;

use std::path::Path;

use scry_lang::check::CheckOptions;
use scry_lang::report::{render_all, RenderOptions};

/// Options from the `// args:` and `// opts:` header lines.
fn options(name: &str, program: &str) -> Result<CheckOptions, String> {
    let mut opts = CheckOptions::default();
    for line in program.lines() {
        if let Some(args) = line.strip_prefix("// args:") {
            opts.params = args.split_whitespace().map(String::from).collect();
        } else if let Some(list) = line.strip_prefix("// opts:") {
            for o in list.split_whitespace() {
                let number = |v: &str| {
                    v.parse()
                        .map_err(|_| format!("{name}: '{o}' needs a number"))
                };
                match o.split_once('=') {
                    None if o == "unsafe" => opts.unsafe_mode = true,
                    None if o == "child" => opts.has_child = true,
                    Some(("pid", v)) => opts.pid = Some(number(v)? as u32),
                    Some(("strlen", v)) => opts.strlen = number(v)?,
                    Some(("include", dir)) => opts.include_dirs.push(dir.to_string()),
                    Some(("include_file", f)) => opts.include_files.push(f.to_string()),
                    _ => return Err(format!("{name}: unknown option '{o}'")),
                }
            }
        } else if !line.starts_with("//") {
            break;
        }
    }
    Ok(opts)
}

#[test]
fn diagnostics() {
    let catalog = common::catalog();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics");
    scry_cases::golden::suite("diagnostics", &dir, "bt", |file, program| {
        let opts = options(&file.name, program)?;
        let compiled = scry_lang::compile(program, &catalog, &opts);
        Ok(render_all(
            &compiled.diagnostics,
            &file.name,
            program,
            RenderOptions {
                color: false,
                ascii: false,
            },
        ))
    });
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
