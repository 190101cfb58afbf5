//! `scry-fuzz --differential`: the command line of the differential fuzzer (`scry_fuzz::diff`).

use std::path::PathBuf;
use std::time::Duration;

use scry_fuzz::diff::{self, Options};

const USAGE: &str = "usage: scry-fuzz --differential [--seed N] [--programs N] [--seconds N]
                 [--jobs N] [--statements N] [--minimise N] [--scry PATH] [--bpftrace PATH]
                 [--findings DIR]
       scry-fuzz --differential --print SEED   print the program of one seed
       scry-fuzz --differential --check FILE   run one program under both tools and compare";

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
        scry: root.join("target/debug/scry"),
        bpftrace: PathBuf::from("bpftrace"),
        work_dir: std::env::temp_dir().join(format!("scry-diff-fuzz-{}", std::process::id())),
        minimise: 20,
    };
    let mut findings = root.join("fuzz/findings/differential");
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            eprintln!("{flag} needs a value\n{USAGE}");
            return 2;
        };
        let num = || {
            value
                .parse::<u64>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        let parsed = match flag.as_str() {
            "--seed" => num().map(|n| opts.seed = n),
            "--programs" => num().map(|n| opts.programs = n),
            "--seconds" => num().map(|n| opts.time_limit = Some(Duration::from_secs(n))),
            "--jobs" => num().map(|n| opts.jobs = n as usize),
            "--statements" => num().map(|n| opts.statements = n as usize),
            "--minimise" => num().map(|n| opts.minimise = n as usize),
            "--scry" => Ok(opts.scry = PathBuf::from(value)),
            "--bpftrace" => Ok(opts.bpftrace = PathBuf::from(value)),
            "--findings" => Ok(findings = PathBuf::from(value)),
            "--check" => {
                let text = std::fs::read_to_string(value).unwrap_or_default();
                let file =
                    std::env::temp_dir().join(format!("scry-diff-check-{}.bt", std::process::id()));
                let (scry, bpftrace) = diff::run_both(&opts, &file, &text);
                let _ = std::fs::remove_file(&file);
                let verdict = if diff::disagree(&scry, &bpftrace) {
                    "disagree"
                } else {
                    "agree"
                };
                println!(
                    "--- scry:\n{}--- bpftrace:\n{}{verdict}",
                    scry.stdout, bpftrace.stdout
                );
                std::process::exit(i32::from(verdict == "disagree"))
            }
            "--print" => num().map(|n| {
                print!("{}", diff::program(n, opts.statements));
                std::process::exit(0)
            }),
            _ => Err(USAGE.to_string()),
        };
        if let Err(e) = parsed {
            eprintln!("{e}");
            return 2;
        }
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
        let _ = std::fs::create_dir_all(&findings);
        let path = findings.join(format!("seed-{}.txt", m.seed));
        let _ = std::fs::write(&path, m.to_string());
        println!("mismatch, written to {}:\n{m}", path.display());
    }
    println!(
        "{} programs ({} refused by both), {} mismatches (seeds {}..)",
        report.programs,
        report.both_failed,
        report.mismatches.len(),
        opts.seed
    );
    i32::from(!report.mismatches.is_empty())
}
