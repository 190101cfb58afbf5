//! `scry-fuzz --differential`: the command line of the differential fuzzer (`scry_fuzz::diff`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use scry_fuzz::diff::{self, Options};

const USAGE: &str = "usage: scry-fuzz --differential [--seed N] [--programs N] [--seconds N]
                 [--jobs N] [--statements N] [--minimise N] [--scry PATH] [--bpftrace PATH]
                 [--findings DIR]
       scry-fuzz --differential --print SEED   print the program of one seed
       scry-fuzz --differential --check FILE   run one program under both tools and compare
                                               (and minimise it if they disagree)";

/// Runs the mode; the exit status is 1 when there were mismatches.
pub fn main(args: &[String]) -> i32 {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut opts = Options {
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1),
        programs: u64::MAX,
        time_limit: None,
        jobs: 2,
        statements: 30,
        // The scry built with this fuzzer, in the same target directory.
        scry: std::env::current_exe()
            .ok()
            .and_then(|e| Some(e.parent()?.join("scry")))
            .unwrap_or_else(|| PathBuf::from("scry")),
        bpftrace: PathBuf::from("bpftrace"),
        work_dir: std::env::temp_dir().join(format!("scry-diff-fuzz-{}", std::process::id())),
        minimise: 20,
        findings: Some(root.join("fuzz/findings/differential")),
    };
    let mut action = None;
    if let Err(e) = parse(args, &mut opts, &mut action) {
        eprintln!("{e}\n{USAGE}");
        return 2;
    }
    match action {
        Some(Action::Print(seed)) => {
            print!("{}", diff::program(seed, opts.statements));
            return 0;
        }
        Some(Action::Check(file)) => return check(&opts, &file),
        None => {}
    }
    if opts.programs == u64::MAX && opts.time_limit.is_none() {
        opts.programs = 1000;
    }
    eprintln!(
        "differential fuzzing: seed {}, {} jobs, scry {}",
        opts.seed,
        opts.jobs,
        opts.scry.display()
    );
    let report = diff::campaign(&opts, &|done, mismatches| {
        eprintln!("{done} programs, {mismatches} mismatches");
    });
    let _ = std::fs::remove_dir_all(&opts.work_dir);
    for m in &report.mismatches {
        println!("mismatch:\n{m}");
    }
    println!(
        "{} programs ({} refused by both, {} disagreeing once only), {} mismatches (seeds {}..)",
        report.programs,
        report.both_failed,
        report.flaky,
        report.mismatches.len(),
        opts.seed
    );
    i32::from(!report.mismatches.is_empty())
}

/// What to do instead of a campaign.
enum Action {
    /// `--print SEED`.
    Print(u64),
    /// `--check FILE`.
    Check(PathBuf),
}

fn parse(args: &[String], opts: &mut Options, action: &mut Option<Action>) -> Result<(), String> {
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = || {
            value
                .parse::<u64>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag.as_str() {
            "--seed" => opts.seed = num()?,
            "--programs" => opts.programs = num()?,
            "--seconds" => opts.time_limit = Some(Duration::from_secs(num()?)),
            "--jobs" => opts.jobs = num()? as usize,
            "--statements" => opts.statements = num()? as usize,
            "--minimise" => opts.minimise = num()? as usize,
            "--scry" => opts.scry = PathBuf::from(value),
            "--bpftrace" => opts.bpftrace = PathBuf::from(value),
            "--findings" => opts.findings = Some(PathBuf::from(value)),
            "--print" => *action = Some(Action::Print(num()?)),
            "--check" => *action = Some(Action::Check(PathBuf::from(value))),
            _ => return Err(format!("unknown argument '{flag}'")),
        }
    }
    Ok(())
}

/// `--check FILE`: runs one program under both tools; the status is 1 when they disagree.
fn check(opts: &Options, file: &Path) -> i32 {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            return 2;
        }
    };
    let copy = std::env::temp_dir().join(format!("scry-diff-check-{}.bt", std::process::id()));
    let (scry, bpftrace) = diff::run_both(opts, &copy, &text);
    let disagree = diff::disagree(&scry, &bpftrace);
    println!(
        "--- scry:\n{}--- bpftrace:\n{}{}",
        scry.stdout,
        bpftrace.stdout,
        if disagree { "disagree" } else { "agree" }
    );
    if disagree && opts.minimise > 0 {
        let m = diff::Mismatch {
            seed: 0,
            program: text,
            minimised: None,
            scry,
            bpftrace,
        };
        println!("minimised:\n{}", diff::shrink(opts, &copy, &m));
    }
    let _ = std::fs::remove_file(&copy);
    i32::from(disagree)
}
