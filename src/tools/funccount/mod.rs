//! `funccount`: counts calls of kernel functions, user functions, tracepoints and USDT probes
//! matched by a pattern, printing a `FUNC COUNT` table per interval and at the end.

mod render;

use std::ffi::OsString;

use clap::Parser;
use scry_runtime::LiveCatalog;

use super::args::{self, parse};
use super::driver::{self, Run};
use super::end::End;
use super::pattern::Pattern;
use super::program;
use super::summary::SummarySink;
use super::targets::{self, Symbols};

const USAGE: &str =
    "funccount [-h] [-p PID] [-i INTERVAL] [-d DURATION] [-T] [-r] [-D] [-c CPU] pattern";

/// Count functions, tracepoints, and USDT probes.
#[derive(Parser, Debug)]
struct Args {
    /// trace this PID only
    #[arg(short, long, value_parser = args::int)]
    pid: Option<u32>,
    /// summary interval, seconds
    #[arg(short, long, value_parser = args::positive)]
    interval: Option<u64>,
    /// total duration of trace, seconds
    #[arg(short, long, value_parser = args::positive)]
    duration: Option<u64>,
    /// include timestamp on output
    #[arg(short = 'T', long)]
    timestamp: bool,
    /// use regular expressions. Default is "*" wildcards only.
    #[arg(short, long)]
    regexp: bool,
    /// print the generated program before starting
    #[arg(short = 'D', long)]
    debug: bool,
    /// trace this CPU only
    #[arg(short, long, value_parser = args::int)]
    cpu: Option<u32>,
    /// search expression for events
    pattern: String,
}

/// The command line's definition (completions, manual page).
pub fn command() -> clap::Command {
    args::command::<Args>("funccount", USAGE)
}

/// Runs funccount with its arguments.
pub fn run(argv: &[OsString]) -> Result<(), End> {
    let a: Args = parse("funccount", USAGE, argv)?;
    let pid = a.pid.filter(|&p| p != 0);
    driver::check_pid(pid)?;
    let pattern = Pattern::parse(&a.pattern, a.regexp)?;
    let catalog = LiveCatalog::new();
    let targets = targets::expand(&pattern, &catalog, pid, Symbols::FirstPerAddressAndName)?;
    let limit = program::probe_limit();
    if targets.len() as u64 > limit {
        return Err(End::Error(format!(
            "maximum of {limit} probes allowed, attempted {}",
            targets.len()
        )));
    }
    let conditions: Vec<String> = pid
        .map(|p| format!("pid == {p}"))
        .into_iter()
        .chain(a.cpu.map(|c| format!("cpu == {c}")))
        .collect();
    let block = "@counts[probe] = count();";
    let rest = program::rounds("print(@counts); clear(@counts);", a.interval, a.duration);
    let (program, fallback) = program::counting(&targets, &pattern, &conditions, block, rest);
    let sink = SummarySink::new(
        render::Table::new(a.timestamp),
        Box::new(std::io::BufWriter::new(std::io::stdout())),
    );
    let run = Run {
        tool: "funccount",
        program,
        pid,
        debug: a.debug,
        max_probes: Some(u64::MAX),
        ringbuf_pages: None,
        map_keys_max: None,
        fallback,
    };
    run.execute(Box::new(sink), |attached| {
        super::say(format_args!(
            "Tracing {} functions for \"{}\"... Hit Ctrl-C to end.",
            attached.unwrap_or(targets.len()),
            a.pattern
        ))
    })?;
    super::say("Detaching...");
    Ok(())
}
