//! Codegen snapshots: the instructions generated for each construct.
//!
//! Every `tests/codegen/NAME.bt` holds a program, a line `==== expected ====`, then the
//! disassembly of every program it compiles to, each instruction under the source line it came
//! from. `SCRY_BLESS=1 cargo test -p scry-ebpf --test codegen` rewrites the expected sections.
//! Adding a case is adding a file.

#[path = "../../lang/tests/common/mod.rs"]
mod common;

use std::path::Path;

use scry_ebpf::codegen::{compile, CompileOptions};
use scry_lang::check::CheckOptions;

const SEPARATOR: &str = "==== expected ====";

/// The disassembly of every program of `src`.
fn generate(src: &str) -> String {
    let catalog = common::catalog();
    let compiled = scry_lang::compile(src, &catalog, &CheckOptions::default());
    let errors: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let object = compile(
        &compiled.program,
        &compiled.typed,
        &CompileOptions::default(),
    )
    .unwrap_or_else(|d| panic!("{}", d.message));
    let mut out = String::new();
    for (i, p) in object.programs.iter().enumerate() {
        let names: Vec<&str> = p.attaches.iter().map(|a| a.name.as_str()).collect();
        out.push_str(&format!(
            "== {} {:?} {}\n",
            p.name,
            p.prog_type,
            names.join(", ")
        ));
        out.push_str(&object.disassemble(i, src));
    }
    out
}

#[test]
fn codegen_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/codegen");
    let bless = std::env::var_os("SCRY_BLESS").is_some();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/codegen")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "bt"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no cases in {}", dir.display());
    let mut failed = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).expect("read case");
        let (program, expected) = match text.split_once(&format!("\n{SEPARATOR}\n")) {
            Some((p, e)) => (format!("{p}\n"), e.to_string()),
            None => (text.clone(), String::new()),
        };
        let actual = generate(&program);
        if actual == expected {
            continue;
        }
        if bless {
            std::fs::write(path, format!("{program}{SEPARATOR}\n{actual}")).expect("bless");
        } else {
            failed.push(format!("{}:\n{actual}", path.display()));
        }
    }
    assert!(
        failed.is_empty(),
        "{} codegen cases differ (SCRY_BLESS=1 rewrites them):\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// A program compiled again over a scratch map keeps nothing of its first attempt: one printf
/// action, one scratch map sized to what the frame used.
#[test]
fn scratch_frame_rewinds_the_first_attempt() {
    let src =
        "struct big { long a[80]; } BEGIN { $b = *(struct big *)0; printf(\"%d\\n\", $b.a[79]); }";
    let catalog = common::catalog();
    let compiled = scry_lang::compile(src, &catalog, &CheckOptions::default());
    let object = compile(
        &compiled.program,
        &compiled.typed,
        &CompileOptions::default(),
    )
    .unwrap_or_else(|d| panic!("{}", d.message));
    assert_eq!(object.actions.len(), 1);
    let scratch: Vec<_> = object
        .maps
        .iter()
        .filter(|m| m.name.starts_with("scratch"))
        .collect();
    assert_eq!(scratch.len(), 1);
    assert!(
        (640..1024).contains(&scratch[0].value_size),
        "{:?}",
        scratch[0]
    );
}
