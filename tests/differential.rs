//! The differential suite: every `tests/differential/NNN_name.bt` runs under `scry` and under
//! bpftrace 0.17 with the same argv, and their standard outputs must be equal byte for byte.
//!
//! A case file starts with header comments (see `tests/differential/README.md`):
//!
//! - `// args: OPTS [-- PARAMS]`: options put before the program file (`-f json -q`) and
//!   positional parameters put after it.
//! - `// differs: REASON`: an intended difference (a bpftrace 0.17 bug we do not copy); scry's
//!   output is compared with `NNN_name.expected` instead, and bpftrace must still print
//!   something else (else the header is stale).
//! - `// skip: REASON`: a known scry bug outside the printing code; the case is listed as
//!   skipped and not run.
//!
//! The runner is `scry_cases`: `SCRY_CASES=text` runs only the cases whose name contains
//! `text`; `SCRY_RUN_SKIPPED=1` runs skipped cases too (and reports those that pass now);
//! `SCRY_BLESS=1` rewrites the `.expected` files of `differs` cases from scry's output;
//! `SCRY_JOBS=n` runs `n` cases at once (one per core).
//!
//! The suite needs root and bpftrace; without them it fails, saying how to get them.
//!
//! A second test runs the differential fuzzer of integer semantics (`scry-fuzz
//! --differential`, fuzz/README.md) over a bounded number of generated programs:
//! `SCRY_DIFF_FUZZ_PROGRAMS` (default 200) programs from seed `SCRY_DIFF_FUZZ_SEED` (default 1).

#[path = "differential/runner.rs"]
mod runner;

use std::io::Write;
use std::path::Path;

use runner::Case;

#[test]
fn scry_prints_what_bpftrace_prints() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential");
    let scry = Path::new(env!("CARGO_BIN_EXE_scry"));
    if let Err(why) = runner::check_environment() {
        panic!("{why}");
    }
    let cases: Vec<Case> = runner::load_cases(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .into_iter()
        .filter(|c| scry_cases::selected(&c.name))
        .collect();
    assert!(!cases.is_empty(), "no case is selected");
    // Two tools per case, each case's two in parallel: one case per core at a time.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    scry_cases::run(
        "differential",
        &cases,
        scry_cases::jobs(cores),
        |c| &c.name,
        |c| runner::run_case(scry, c),
    );
}

#[test]
fn generated_integer_programs_print_what_bpftrace_prints() {
    if let Err(why) = runner::check_environment() {
        panic!("{why}");
    }
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let work_dir = std::env::temp_dir().join(format!("scry-diff-fuzz-test-{}", std::process::id()));
    let opts = scry_fuzz::diff::Options {
        seed: number("SCRY_DIFF_FUZZ_SEED", 1),
        programs: number("SCRY_DIFF_FUZZ_PROGRAMS", 200),
        time_limit: None,
        jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
        statements: 30,
        scry: Path::new(env!("CARGO_BIN_EXE_scry")).to_path_buf(),
        bpftrace: "bpftrace".into(),
        work_dir: work_dir.clone(),
        minimise: 3,
        findings: None,
    };
    let report = scry_fuzz::diff::campaign(&opts, &|_, _| {});
    let _ = std::fs::remove_dir_all(&work_dir);
    let _ = writeln!(
        std::io::stderr(),
        "differential fuzzing: {} programs from seed {}, {} mismatches",
        report.programs,
        opts.seed,
        report.mismatches.len()
    );
    assert_eq!(
        report.both_failed, 0,
        "generated programs that both tools refuse: the generator must make valid programs"
    );
    let shown: Vec<String> = report.mismatches.iter().map(ToString::to_string).collect();
    assert!(
        shown.is_empty(),
        "{} generated program(s) print differently (reproduce one with \
         `scry-fuzz --differential --seed SEED --programs 1`):\n{}",
        shown.len(),
        shown.join("\n")
    );
}
