//! The differential fuzzer of integer semantics: generated `BEGIN` programs (`gen`) run under
//! scry and bpftrace 0.17 (`exec`), and every difference in standard output or success is a
//! mismatch, minimised (`shrink`). The generator avoids the differences
//! listed in `tests/differential/README.md`, so every mismatch it reports is new.

mod exec;
mod gen;
mod shrink;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use exec::{normalise, Output};

use crate::minimise::Budget;
use crate::rng::Rng;

/// How long one tool may take on one program.
const TOOL_LIMIT: Duration = Duration::from_secs(30);

/// Settings of a campaign.
#[derive(Clone, Debug)]
pub struct Options {
    /// Program `i` is generated from seed `seed + i`.
    pub seed: u64,
    /// How many programs to run.
    pub programs: u64,
    /// Stop starting programs after this long, if given.
    pub time_limit: Option<Duration>,
    /// Programs run at once.
    pub jobs: usize,
    /// Statements per program.
    pub statements: usize,
    /// The scry binary.
    pub scry: PathBuf,
    /// The bpftrace 0.17 binary.
    pub bpftrace: PathBuf,
    /// Where program files are written.
    pub work_dir: PathBuf,
    /// Most mismatches minimised (each takes up to a minute).
    pub minimise: usize,
    /// Where each mismatch is written (`seed-N.txt`) as soon as it is found, and again once
    /// minimised.
    pub findings: Option<PathBuf>,
}

/// One program on which the tools disagree.
#[derive(Clone, Debug)]
pub struct Mismatch {
    /// The seed that generates the program.
    pub seed: u64,
    pub program: String,
    /// The smallest program found that still disagrees the same way (`None`: not minimised).
    pub minimised: Option<String>,
    /// What the tools did on the minimised program, or else on the program.
    pub scry: Output,
    pub bpftrace: Output,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let program = self.minimised.as_ref().unwrap_or(&self.program);
        writeln!(f, "seed {}:\n{program}", self.seed)?;
        for (name, o) in [("scry", &self.scry), ("bpftrace", &self.bpftrace)] {
            let status = if o.success { "ok" } else { "failed" };
            writeln!(f, "--- {name} ({status}):\n{}{}", o.stdout, o.stderr)?;
        }
        Ok(())
    }
}

/// What a campaign did.
#[derive(Debug, Default)]
pub struct Report {
    /// Programs run under both tools.
    pub programs: u64,
    /// Programs both tools refused (they agree, but test little: the generator should make
    /// none).
    pub both_failed: u64,
    /// Programs on which the tools disagreed once and agreed when run again.
    pub flaky: u64,
    pub mismatches: Vec<Mismatch>,
}

/// The program of seed `seed`.
pub fn program(seed: u64, statements: usize) -> String {
    let mut rng = Rng::new(seed);
    gen::ProgramGen::new(&mut rng).program(statements)
}

/// An integer expression of seed `seed` made only of constants (literals, casts, operators),
/// with defined divisions and shifts: what the tests evaluate in the kernel against the model.
pub fn constant_expression(seed: u64) -> String {
    let mut rng = Rng::new(seed);
    gen::ProgramGen::new(&mut rng).expression(4)
}

/// Runs the campaign: `opts.jobs` threads take programs in turn; each mismatch is kept, and
/// the first `opts.minimise` are minimised. `progress` hears the count of programs done.
pub fn campaign(opts: &Options, progress: &(dyn Fn(u64, usize) + Sync)) -> Report {
    let _ = std::fs::create_dir_all(&opts.work_dir);
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let both_failed = AtomicU64::new(0);
    let flaky = AtomicU64::new(0);
    let found = Mutex::new(Vec::new());
    let start = Instant::now();
    std::thread::scope(|s| {
        for job in 0..opts.jobs.max(1) {
            let (next, done, found, both_failed, flaky) =
                (&next, &done, &found, &both_failed, &flaky);
            s.spawn(move || {
                let file = opts.work_dir.join(format!("job{job}.bt"));
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let late = opts.time_limit.is_some_and(|l| start.elapsed() >= l);
                    if i >= opts.programs || late {
                        break;
                    }
                    let seed = opts.seed.wrapping_add(i);
                    let text = program(seed, opts.statements);
                    let (mut scry, mut bpftrace) = run_both(opts, &file, &text);
                    if disagree(&scry, &bpftrace) {
                        // Once more: under load bpftrace sometimes fails with no message.
                        flaky.fetch_add(1, Ordering::Relaxed);
                        (scry, bpftrace) = run_both(opts, &file, &text);
                    }
                    if !scry.success && !bpftrace.success {
                        both_failed.fetch_add(1, Ordering::Relaxed);
                    }
                    if disagree(&scry, &bpftrace) {
                        flaky.fetch_sub(1, Ordering::Relaxed);
                        let m = Mismatch {
                            seed,
                            program: text,
                            minimised: None,
                            scry,
                            bpftrace,
                        };
                        save(opts, &m);
                        let mut found = found.lock().expect("mismatch list");
                        found.push(m);
                        progress(done.load(Ordering::Relaxed), found.len());
                    }
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n % 100 == 0 {
                        progress(n, found.lock().map(|f| f.len()).unwrap_or(0));
                    }
                }
            });
        }
    });
    let mut mismatches = found.into_inner().unwrap_or_default();
    mismatches.sort_by_key(|m| m.seed);
    let file = opts.work_dir.join("minimise.bt");
    for m in mismatches.iter_mut().take(opts.minimise) {
        let small = shrink(opts, &file, m);
        (m.scry, m.bpftrace) = run_both(opts, &file, &small);
        m.minimised = Some(small);
        save(opts, m);
    }
    Report {
        programs: done.into_inner(),
        both_failed: both_failed.into_inner(),
        flaky: flaky.into_inner(),
        mismatches,
    }
}

/// Writes `m` to `opts.findings`, if given.
fn save(opts: &Options, m: &Mismatch) {
    if let Some(dir) = &opts.findings {
        let _ = std::fs::create_dir_all(dir);
        let _ = std::fs::write(dir.join(format!("seed-{}.txt", m.seed)), m.to_string());
    }
}

/// Runs `text` under both tools (written to `file`): scry's output, then bpftrace's.
pub fn run_both(opts: &Options, file: &Path, text: &str) -> (Output, Output) {
    if let Err(e) = std::fs::write(file, text) {
        let failed = Output {
            stdout: String::new(),
            stderr: format!("cannot write {}: {e}", file.display()),
            success: false,
        };
        return (failed.clone(), failed);
    }
    (
        exec::run(&opts.scry, file, TOOL_LIMIT),
        exec::run(&opts.bpftrace, file, TOOL_LIMIT),
    )
}

/// Whether the tools disagree: in success, or in what they print.
pub fn disagree(scry: &Output, bpftrace: &Output) -> bool {
    scry.success != bpftrace.success || scry.stdout != bpftrace.stdout
}

/// The smallest program found that disagrees as `m` does (the same tools succeed).
pub fn shrink(opts: &Options, file: &Path, m: &Mismatch) -> String {
    let budget = Budget {
        tests: 150,
        deadline: Instant::now() + Duration::from_secs(90),
    };
    shrink::shrink(&m.program, budget, &mut |candidate| {
        let (scry, bpftrace) = run_both(opts, file, candidate);
        scry.success == m.scry.success
            && bpftrace.success == m.bpftrace.success
            && disagree(&scry, &bpftrace)
    })
}
