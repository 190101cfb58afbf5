//! scry-fuzz: a stable-Rust fuzzer for scry's parser and checker.
//!
//! The parent process generates programs (grammar-aware) and mutates a corpus, and sends each
//! input to a worker process (`scry-fuzz --worker`) that runs the front end on a thread with
//! an 8 MiB stack under `catch_unwind`. Panics, stack overflows (the worker dies), other
//! crashes and hangs (no answer within the time limit) are findings: each is minimised and
//! written to `fuzz/findings/`. See `fuzz/README.md`.

mod differential;
mod exec;
mod gen;
mod mutate;
mod target;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use exec::{Verdict, Worker};
use rng::Rng;
use scry_fuzz::{minimise, rng};

const USAGE: &str = "usage: scry-fuzz [--seed N] [--seconds N] [--iterations N] [--timeout-ms N]
                 [--findings DIR] [--corpus DIR] [--no-save-corpus]
       scry-fuzz --reproduce FILE...   run files in-process and print what happened
       scry-fuzz --sample SEED COUNT   print generated programs and their diagnostics
       scry-fuzz --differential ...    scry against bpftrace 0.17 (--differential --help)";

/// Command-line settings.
struct Args {
    seed: u64,
    seconds: Option<u64>,
    iterations: Option<u64>,
    timeout: Duration,
    findings: PathBuf,
    corpus: PathBuf,
    save_corpus: bool,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn parse_args(mut argv: Vec<String>) -> Result<Args, String> {
    let fuzz_dir = root().join("fuzz");
    let mut a = Args {
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1),
        seconds: None,
        iterations: None,
        timeout: Duration::from_secs(2),
        findings: fuzz_dir.join("findings"),
        corpus: fuzz_dir.join("corpus"),
        save_corpus: true,
    };
    argv.reverse();
    while let Some(flag) = argv.pop() {
        let mut value = |name: &str| argv.pop().ok_or_else(|| format!("{name} needs a value"));
        let num = |v: String| {
            v.parse::<u64>()
                .map_err(|e| format!("bad number '{v}': {e}"))
        };
        match flag.as_str() {
            "--seed" => a.seed = num(value("--seed")?)?,
            "--seconds" => a.seconds = Some(num(value("--seconds")?)?),
            "--iterations" => a.iterations = Some(num(value("--iterations")?)?),
            "--timeout-ms" => a.timeout = Duration::from_millis(num(value("--timeout-ms")?)?),
            "--findings" => a.findings = PathBuf::from(value("--findings")?),
            "--corpus" => a.corpus = PathBuf::from(value("--corpus")?),
            "--no-save-corpus" => a.save_corpus = false,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    Ok(a)
}

/// Reads every file under `dir` (recursively) whose name ends in one of `exts` (all files
/// when `exts` is empty), skipping files that are not UTF-8.
fn read_dir_texts(dir: &Path, exts: &[&str], out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            read_dir_texts(&p, exts, out);
        } else if exts.is_empty() || exts.iter().any(|e| p.extension().is_some_and(|x| x == *e)) {
            if let Ok(s) = std::fs::read_to_string(&p) {
                out.push(s);
            }
        }
    }
}

fn reproduce(files: &[String]) -> i32 {
    target::capture_panics();
    let mut status = 0;
    for f in files {
        let src = match std::fs::read_to_string(f) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{f}: {e}");
                status = 2;
                continue;
            }
        };
        let t = std::thread::Builder::new()
            .stack_size(target::STACK_SIZE)
            .spawn(move || target::run_caught(&src, &target::catalog()))
            .expect("thread");
        match t.join().expect("join") {
            Ok(o) => println!("{f}: ok, {} errors: {:?}", o.errors, o.signatures),
            Err(p) => {
                println!("{f}: PANIC at {}", p.replace('\x1f', ": "));
                status = 1;
            }
        }
    }
    status
}

/// Prints generated programs with their first diagnostics: `--sample SEED COUNT`.
fn sample(args: &[String]) {
    let seed = args.first().and_then(|s| s.parse().ok()).unwrap_or(1);
    let count = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let t = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let mut rng = Rng::new(seed);
            let catalog = target::catalog();
            for _ in 0..count {
                let p = gen::Gen::new(&mut rng, gen::Limits { depth: 5 }).program();
                let o = target::run(&p, &catalog);
                println!("----- {} errors: {:?}\n{p}", o.errors, o.signatures);
            }
        })
        .expect("thread");
    let _ = t.join();
}

/// The (at most) two most frequent punctuation characters of `s`, in character order.
fn common_punctuation(s: &str) -> String {
    let mut counts: BTreeMap<char, usize> = BTreeMap::new();
    for c in s.chars().filter(|c| c.is_ascii_punctuation()) {
        *counts.entry(c).or_default() += 1;
    }
    let mut v: Vec<(char, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut top: Vec<char> = v.into_iter().take(2).map(|(c, _)| c).collect();
    top.sort_unstable();
    top.into_iter().collect()
}

fn hash(s: &str) -> u64 {
    // FNV-1a: stable across runs and Rust versions.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// One kind of finding, with its first minimised input.
struct Finding {
    signature: String,
    detail: String,
    minimised: String,
    count: u64,
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("--worker") {
        target::worker_main();
    }
    if argv.first().map(String::as_str) == Some("--sample") {
        sample(&argv[1..]);
        return;
    }
    if argv.first().map(String::as_str) == Some("--differential") {
        std::process::exit(differential::main(&argv[1..]));
    }
    if argv.first().map(String::as_str) == Some("--reproduce") {
        std::process::exit(reproduce(&argv[1..]));
    }
    let args = match parse_args(argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    std::process::exit(fuzz(args));
}

fn fuzz(args: Args) -> i32 {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cannot find my own executable: {e}");
            return 2;
        }
    };
    let root = root();
    let mut corpus: Vec<String> = Vec::new();
    read_dir_texts(&root.join("tests/seed"), &["bt"], &mut corpus);
    read_dir_texts(&root.join("lang/tests/diagnostics"), &[], &mut corpus);
    read_dir_texts(
        &root.join("lang/tests/fuzz_regressions"),
        &["bt"],
        &mut corpus,
    );
    let seeds = corpus.len();
    read_dir_texts(&args.corpus, &["bt"], &mut corpus);
    let from_dir = corpus.len() - seeds;
    if corpus.is_empty() {
        corpus.push("BEGIN { printf(\"hello\\n\"); exit(); }\n".to_string());
    }
    if args.save_corpus {
        let _ = std::fs::create_dir_all(&args.corpus);
    }
    eprintln!(
        "scry-fuzz: seed {}, {} seed inputs, {} from {}",
        args.seed,
        seeds,
        from_dir,
        args.corpus.display()
    );

    let mut rng = Rng::new(args.seed);
    let mut worker = match Worker::start(&exe) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("cannot start the worker: {e}");
            return 2;
        }
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut findings: BTreeMap<String, Finding> = BTreeMap::new();
    let start = Instant::now();
    let deadline = args.seconds.map(|s| start + Duration::from_secs(s));
    let mut execs: u64 = 0;
    let mut valid: u64 = 0;
    let mut generated: u64 = 0;
    let mut bytes: u64 = 0;
    let mut minimise_time = Duration::ZERO;
    let mut last_report = Instant::now();
    loop {
        if args.iterations.is_some_and(|n| execs >= n)
            || deadline.is_some_and(|d| Instant::now() >= d)
        {
            break;
        }
        let input = if rng.one_in(2) {
            generated += 1;
            let depth = if rng.one_in(10) { 12 } else { 5 };
            gen::Gen::new(&mut rng, gen::Limits { depth }).program()
        } else {
            let a = rng.below(corpus.len());
            let b = rng.below(corpus.len());
            mutate::mutate(&mut rng, &corpus[a], &corpus[b])
        };
        execs += 1;
        bytes += input.len() as u64;
        let verdict = worker.run(&input, args.timeout);
        match &verdict {
            Verdict::Ok { errors, signatures } => {
                if *errors == 0 {
                    valid += 1;
                }
                let mut new = false;
                for s in signatures {
                    if seen.insert(s.clone()) {
                        new = true;
                    }
                }
                if *errors == 0 && seen.insert(format!("valid:{}", input.len().min(4096) / 256)) {
                    new = true;
                }
                if new && input.len() < 64 * 1024 && corpus.len() < 20_000 {
                    if args.save_corpus {
                        let p = args.corpus.join(format!("{:016x}.bt", hash(&input)));
                        let _ = std::fs::write(p, &input);
                    }
                    corpus.push(input);
                }
            }
            v => {
                let sig = v.signature().unwrap_or_default();
                // Stack overflows and hangs carry no location: tell them apart roughly by
                // the input's most frequent punctuation.
                let key = match v {
                    Verdict::StackOverflow | Verdict::Hang => {
                        format!("{sig} [{}]", common_punctuation(&input))
                    }
                    _ => sig.clone(),
                };
                let detail = match v {
                    Verdict::Panic { location, message } => format!("{location}: {message}"),
                    Verdict::Crash { detail } => detail.clone(),
                    other => other.signature().unwrap_or_default(),
                };
                if let Some(f) = findings.get_mut(&key) {
                    f.count += 1;
                    continue;
                }
                let same_kind = findings.values().filter(|f| f.signature == sig).count();
                if same_kind >= if sig == "hang" { 3 } else { 4 } {
                    continue;
                }
                eprintln!(
                    "[{:>6.0}s] FINDING {sig} ({} bytes); minimising...",
                    start.elapsed().as_secs_f64(),
                    input.len()
                );
                let t = Instant::now();
                let slow = matches!(v, Verdict::Hang);
                let budget = minimise::Budget {
                    tests: if slow { 30 } else { 3000 },
                    deadline: Instant::now() + Duration::from_secs(if slow { 60 } else { 45 }),
                };
                // Candidates of a crash that take long are not the crash: do not wait for them.
                let timeout = if slow {
                    args.timeout
                } else {
                    args.timeout.min(Duration::from_millis(500))
                };
                let small = minimise::minimise(&input, budget, &mut |cand: &str| {
                    worker.run(cand, timeout).signature().as_deref() == Some(sig.as_str())
                });
                minimise_time += t.elapsed();
                let name = format!(
                    "{}-{:08x}",
                    sig.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
                        .chars()
                        .take(60)
                        .collect::<String>(),
                    hash(&small) as u32
                );
                let _ = std::fs::create_dir_all(&args.findings);
                let _ = std::fs::write(args.findings.join(format!("{name}.bt")), &small);
                let _ = std::fs::write(
                    args.findings.join(format!("{name}.txt")),
                    format!(
                        "{sig}\n{detail}\nseed {} execution {execs}; original {} bytes, minimised {} bytes\n",
                        args.seed,
                        input.len(),
                        small.len()
                    ),
                );
                eprintln!(
                    "           {detail}\n           minimised to {} bytes -> {name}.bt",
                    small.len()
                );
                findings.insert(
                    key,
                    Finding {
                        signature: sig,
                        detail,
                        minimised: small,
                        count: 1,
                    },
                );
            }
        }
        if last_report.elapsed() >= Duration::from_secs(30) {
            last_report = Instant::now();
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "[{secs:>6.0}s] {execs} execs ({:.0}/s), {} corpus, {} diagnostic kinds, {} findings",
                execs as f64 / secs,
                corpus.len(),
                seen.len(),
                findings.len()
            );
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("seed:            {}", args.seed);
    println!(
        "time:            {secs:.1} s ({:.1} s minimising)",
        minimise_time.as_secs_f64()
    );
    println!(
        "executions:      {execs} ({:.0}/s overall, {:.0}/s fuzzing)",
        execs as f64 / secs,
        execs as f64 / (secs - minimise_time.as_secs_f64()).max(0.001)
    );
    println!(
        "generated:       {generated}, mutated: {}",
        execs - generated
    );
    println!("valid programs:  {valid}");
    println!("input bytes:     {bytes}");
    println!(
        "corpus:          {} ({} diagnostic kinds seen)",
        corpus.len(),
        seen.len()
    );
    println!("worker spawns:   {}", worker.spawns);
    println!("findings:        {}", findings.len());
    for f in findings.values() {
        println!(
            "  {} (x{}): {}\n    minimised: {:?}",
            f.signature,
            f.count,
            f.detail,
            f.minimised.chars().take(300).collect::<String>()
        );
    }
    i32::from(!findings.is_empty())
}
