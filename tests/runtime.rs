//! End-to-end tests: the built `scry` binary on the real kernel, one case per
//! `tests/runtime/*.case` file (format in `tests/runtime/README.md`), run in parallel against
//! the C fixtures of `tests/fixtures/`.
//!
//! These need root (or CAP_BPF + CAP_PERFMON) and tracefs, as CI has. `SCRY_CASES=substring`
//! runs only the cases whose name contains it; `SCRY_JOBS=n` sets how many run at once;
//! `SCRY_RUN_SKIPPED=1` runs the cases marked `SKIP` too (to check a fix).

mod support;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use support::{load_cases, run_case, Env, Fixtures, Outcome};

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
    let started = Instant::now();
    let mut cases = load_cases(&root().join("tests/runtime")).expect("case files parse");
    if let Ok(filter) = std::env::var("SCRY_CASES") {
        cases.retain(|c| c.name.contains(&filter));
    }
    if std::env::var_os("SCRY_RUN_SKIPPED").is_some() {
        for c in &mut cases {
            c.skip = None;
        }
    }
    let scratch = scratch();
    let fixtures = Fixtures::build(&root().join("tests/fixtures"), &scratch.join("bin"))
        .expect("fixtures build");
    let env = Arc::new(Env {
        scry: PathBuf::from(env!("CARGO_BIN_EXE_scry")),
        root: root(),
        fixtures: Arc::new(fixtures),
        scratch: scratch.clone(),
    });
    let jobs: usize = std::env::var("SCRY_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(12);
    let cases = Arc::new(cases);
    let next = Arc::new(AtomicUsize::new(0));
    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let workers: Vec<_> = (0..jobs.max(1))
        .map(|_| {
            let (env, cases, next, outcomes) =
                (env.clone(), cases.clone(), next.clone(), outcomes.clone());
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { return };
                let o = run_case(&env, i, case);
                outcomes.lock().unwrap().push(o);
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker thread");
    }
    let mut outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    outcomes.sort_by(|a, b| a.name.cmp(&b.name));

    let mut report = String::new();
    let (mut passed, mut skipped, mut failed) = (0, 0, 0);
    for o in &outcomes {
        if let Some(why) = &o.skipped {
            skipped += 1;
            eprintln!("SKIP {} ({why})", o.name);
        } else if o.failures.is_empty() {
            passed += 1;
            eprintln!("ok   {} ({:.2}s)", o.name, o.elapsed.as_secs_f64());
        } else {
            failed += 1;
            eprintln!("FAIL {} ({:.2}s)", o.name, o.elapsed.as_secs_f64());
            report.push_str(&format!("\n===== {} =====\n", o.name));
            for f in &o.failures {
                report.push_str(f);
                report.push('\n');
            }
        }
    }
    eprintln!(
        "{passed} passed, {failed} failed, {skipped} skipped in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    assert!(failed == 0, "{failed} case(s) failed:\n{report}");
}
