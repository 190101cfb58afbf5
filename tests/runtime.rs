//! End-to-end tests: the built `scry` binary on the real kernel, one case per
//! `tests/runtime/*.case` file (format in `tests/runtime/README.md`), run in parallel against
//! the C fixtures of `tests/fixtures/`.
//!
//! These need root (or CAP_BPF + CAP_PERFMON) and tracefs, as CI has. The runner is
//! `scry_cases`: `SCRY_CASES=substring` runs only the cases whose name contains it;
//! `SCRY_JOBS=n` sets how many run at once (12); `SCRY_RUN_SKIPPED=1` runs the cases marked
//! `SKIP` too (to check a fix). The scratch directory stays when a case fails.

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use support::{load_cases, run_case, Case, Env, Fixtures};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory of this test process, removed when the suite passes.
fn scratch() -> PathBuf {
    std::env::temp_dir().join(format!("scry-e2e-{}", std::process::id()))
}

#[test]
fn case_files_parse() {
    let cases = load_cases(&root().join("tests/runtime")).expect("case files parse");
    assert!(cases.len() >= 50, "only {} cases", cases.len());
    for c in &cases {
        assert!(
            c.prog.is_some() || c.prog_file.is_some() || !c.args.is_empty() || c.stdin.is_some(),
            "{}: no program, no arguments and no REPL entries",
            c.name
        );
    }
}

#[test]
fn comm_names_are_unique_and_short() {
    let a = support::comm_for(7, "a_very_long_case_name_indeed");
    let b = support::comm_for(8, "a_very_long_case_name_indeed");
    assert!(a.len() <= 15 && b.len() <= 15);
    assert_ne!(a, b);
    assert_eq!(
        support::split_words(r#"a 'b c' "d \"e\"" f"#).unwrap(),
        ["a", "b c", "d \"e\"", "f"]
    );
}

#[test]
fn runtime_cases() {
    let mut cases = load_cases(&root().join("tests/runtime")).expect("case files parse");
    cases.retain(|c| scry_cases::selected(&c.name));
    if scry_cases::run_skipped() {
        for c in &mut cases {
            c.skip = None;
        }
    }
    let scratch = scratch();
    let fixtures = Fixtures::build(&root().join("tests/fixtures"), &scratch.join("bin"))
        .expect("fixtures build");
    let env = Env {
        scry: PathBuf::from(env!("CARGO_BIN_EXE_scry")),
        root: root(),
        fixtures: Arc::new(fixtures),
        scratch: scratch.clone(),
    };
    let indexed: Vec<(usize, Case)> = cases.into_iter().enumerate().collect();
    // Most of a case's time is waiting: many run at once.
    scry_cases::run(
        "runtime",
        &indexed,
        scry_cases::jobs(12),
        |(_, c)| &c.name,
        |(i, c)| run_case(&env, *i, c),
    );
    let _ = std::fs::remove_dir_all(&scratch);
}
