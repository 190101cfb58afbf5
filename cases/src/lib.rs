//! The one runner of scry's data-driven test suites: diagnostics, codegen snapshots, stdlib
//! rendering, fuzz regressions, the runtime cases and the differential cases. A case is a
//! file; a suite lists its files ([`files`]), runs each case ([`run`], in parallel when the
//! suite asks), prints one line per case and fails the test once, with every failure.
//!
//! Cases with an expected output ([`golden`]) hold their input, a line `==== expected ====`,
//! then the output; a suite gives the function from input to output.
//!
//! The environment means the same in every suite:
//!
//! - `SCRY_CASES=text`: only the cases whose name contains `text`;
//! - `SCRY_BLESS=1`: expected outputs are rewritten from the actual ones;
//! - `SCRY_RUN_SKIPPED=1`: cases marked as skipped run too;
//! - `SCRY_JOBS=n`: how many cases run at once, in suites that run in parallel.

#![forbid(unsafe_code)]

pub mod golden;

use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use golden::diff;

/// One case file.
#[derive(Clone, Debug)]
pub struct File {
    /// The file name (`012_printf.bt`).
    pub name: String,
    pub path: PathBuf,
    pub text: String,
}

/// How one case went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// Why, with what is needed to see it.
    Fail(String),
    /// Not run, and why.
    Skip(String),
}

/// `SCRY_BLESS` is set (and not `0`).
pub fn bless() -> bool {
    std::env::var_os("SCRY_BLESS").is_some_and(|v| v != "0")
}

/// `SCRY_RUN_SKIPPED` is set.
pub fn run_skipped() -> bool {
    std::env::var_os("SCRY_RUN_SKIPPED").is_some()
}

/// `SCRY_CASES`: whether the case named `name` runs.
pub fn selected(name: &str) -> bool {
    std::env::var("SCRY_CASES").map_or(true, |f| name.contains(&f))
}

/// `SCRY_JOBS`, else `default`.
pub fn jobs(default: usize) -> usize {
    std::env::var("SCRY_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(default)
        .max(1)
}

/// The files of `dir` whose names end in `.ext`, by name, those `SCRY_CASES` selects. A suite
/// without any file fails: its directory moved.
pub fn files(dir: &Path, ext: &str) -> Vec<File> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    assert!(!paths.is_empty(), "no .{ext} cases in {}", dir.display());
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            File { name, path, text }
        })
        .filter(|f| selected(&f.name))
        .collect()
}

/// Runs `check` over `cases` on `jobs` threads, prints a line per case (`ok`, `FAIL`, `SKIP`)
/// and a summary to standard error, and panics with every failure. A case whose check panics
/// fails with the panic's message.
pub fn run<T: Sync>(
    suite: &str,
    cases: &[T],
    jobs: usize,
    name: impl Fn(&T) -> &str + Sync,
    check: impl Fn(&T) -> Outcome + Sync,
) {
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(cases.len()));
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, cases.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { return };
                let t = Instant::now();
                let outcome = catch_unwind(AssertUnwindSafe(|| check(case)))
                    .unwrap_or_else(|p| Outcome::Fail(format!("panicked: {}", panic_text(&*p))));
                results.lock().unwrap().push((i, outcome, t.elapsed()));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.0);
    let names: Vec<&str> = cases.iter().map(&name).collect();
    report(suite, &results, &names, started.elapsed());
}

/// Prints the outcomes and panics when any failed.
fn report(suite: &str, results: &[(usize, Outcome, Duration)], names: &[&str], total: Duration) {
    // Written to the real stderr so that the lines show even when the test passes (libtest
    // captures only the print macros).
    let mut err = std::io::stderr().lock();
    let (mut passed, mut skipped) = (0, 0);
    let mut failures = Vec::new();
    for (i, outcome, took) in results {
        let (name, secs) = (names[*i], took.as_secs_f64());
        match outcome {
            Outcome::Pass => {
                passed += 1;
                let _ = writeln!(err, "ok   {name} ({secs:.2}s)");
            }
            Outcome::Skip(why) => {
                skipped += 1;
                let _ = writeln!(err, "SKIP {name} ({why})");
            }
            Outcome::Fail(why) => {
                let _ = writeln!(err, "FAIL {name} ({secs:.2}s)");
                failures.push(format!("===== {name} =====\n{why}"));
            }
        }
    }
    let _ = writeln!(
        err,
        "{suite}: {passed} passed, {} failed, {skipped} skipped in {:.1}s",
        failures.len(),
        total.as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{suite}: {} of {} cases failed (SCRY_BLESS=1 rewrites expected outputs):\n\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}

/// The message of a panic payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
