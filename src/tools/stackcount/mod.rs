//! `stackcount`: counts the kernel and user stacks that led to the events a pattern matches,
//! printed as stack listings, folded lines (`-f`) or a flame graph (`--svg FILE`).

mod render;
mod svg;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;
use scry_runtime::LiveCatalog;

use super::args::{self, parse};
use super::driver::{self, Run};
use super::end::End;
use super::pattern::{Kind, Pattern};
use super::program;
use super::summary::SummarySink;
use super::targets::{self, Symbols};
use render::{Keys, Stacks, Style};

const USAGE: &str = "stackcount [-h] [-p PID] [-c CPU] [-i INTERVAL] [-D DURATION] [-T] [-r] [-s] [-P] [-K] [-U] [-v] [-d] [-f] [--debug] [--svg FILE] pattern";

/// Stacks (and counted keys) kept per run unless BPFTRACE_MAP_KEYS_MAX says otherwise.
const STACKS_MAX: u32 = 16384;

/// Count events and their stack traces.
#[derive(Parser, Debug)]
#[command(about = "Count events and their stack traces")]
struct Args {
    /// trace this PID only
    #[arg(short, long, value_parser = args::int)]
    pid: Option<u32>,
    /// trace this CPU only
    #[arg(short, long, value_parser = args::int)]
    cpu: Option<u32>,
    /// summary interval, seconds
    #[arg(short, long, value_parser = args::positive)]
    interval: Option<u64>,
    /// total duration of trace, seconds
    #[arg(short = 'D', long, value_parser = args::positive)]
    duration: Option<u64>,
    /// include timestamp on output
    #[arg(short = 'T', long)]
    timestamp: bool,
    /// use regular expressions. Default is "*" wildcards only.
    #[arg(short, long)]
    regexp: bool,
    /// show address offsets
    #[arg(short = 's', long)]
    offset: bool,
    /// display stacks separately for each process
    #[arg(short = 'P', long)]
    perpid: bool,
    /// kernel stack only
    #[arg(short = 'K', long = "kernel-stacks-only")]
    kernel_stacks_only: bool,
    /// user stack only
    #[arg(short = 'U', long = "user-stacks-only")]
    user_stacks_only: bool,
    /// show raw addresses
    #[arg(short, long)]
    verbose: bool,
    /// insert delimiter between kernel/user stacks
    #[arg(short, long)]
    delimited: bool,
    /// output folded format
    #[arg(short, long)]
    folded: bool,
    /// print the generated program before starting
    #[arg(long)]
    debug: bool,
    /// also write the flame graph of all the stacks counted to FILE (SVG)
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// search expression for events
    pattern: String,
}

/// The command line's definition (completions, manual page).
pub fn command() -> clap::Command {
    args::command::<Args>("stackcount", USAGE)
}

/// Runs stackcount with its arguments.
pub fn run(argv: &[OsString]) -> Result<(), End> {
    let a: Args = parse("stackcount", USAGE, argv)?;
    if a.kernel_stacks_only && a.user_stacks_only {
        return Err(End::Error(
            "ERROR: -K and -U are mutually exclusive. If you want both stacks, that is the default."
                .into(),
        ));
    }
    let pid = a.pid.filter(|&p| p != 0);
    driver::check_pid(pid)?;
    let pattern = Pattern::parse(&a.pattern, a.regexp)?;
    let catalog = LiveCatalog::new();
    let targets = targets::expand(&pattern, &catalog, pid, Symbols::FirstPerAddress)?;
    if targets.len() as u64 > program::probe_limit() {
        return Err(End::Error(
            "Number of open probes would exceed global quota".into(),
        ));
    }
    let kernel_probe = matches!(pattern.kind, Kind::Kernel | Kind::Tracepoint);
    // A uprobe's kernel stack is always empty: not collected (BCC collects it and prints
    // nothing for it).
    let keys = Keys {
        kernel: !a.user_stacks_only && kernel_probe,
        user: !a.kernel_stacks_only,
        per_process: a.perpid || pid.is_some(),
    };
    let conditions: Vec<String> = pid
        .map(|p| format!("pid == {p}"))
        .into_iter()
        .chain(
            a.cpu
                .filter(|_| kernel_probe)
                .map(|c| format!("cpu == {c}")),
        )
        .collect();
    let action = format!("@stacks[{}] = count();", keys.expressions().join(", "));
    let rest = program::rounds("print(@stacks); clear(@stacks);", a.interval, a.duration);
    let (program, fallback) = program::counting(&targets, &pattern, &conditions, &action, rest);
    let style = if a.folded {
        Style::Folded
    } else {
        Style::Listing {
            offsets: a.offset,
            addresses: a.verbose,
            show_comm: a.perpid && pid.is_none(),
        }
    };
    let delimited = a.delimited && !a.kernel_stacks_only && !a.user_stacks_only;
    let stacks = Stacks::new(keys, style, delimited, a.timestamp, a.svg.is_some());
    let folded = stacks.folded_lines();
    let sink = SummarySink::new(stacks, Box::new(std::io::BufWriter::new(std::io::stdout())));
    let run = Run {
        tool: "stackcount",
        program,
        pid,
        debug: a.debug,
        max_probes: Some(u64::MAX),
        // Distinct stacks of a busy system outgrow bpftrace's 4096 quickly.
        ringbuf_pages: None,
        map_keys_max: Some(STACKS_MAX),
        fallback,
    };
    run.execute(Box::new(sink), |attached| {
        if !a.folded {
            super::say(format_args!(
                "Tracing {} functions for \"{}\"... Hit Ctrl-C to end.",
                attached.unwrap_or(targets.len()),
                a.pattern
            ));
        }
    })?;
    if !a.folded {
        super::say("Detaching...");
    }
    if let Some(path) = &a.svg {
        svg::write(path, &a.pattern, &folded.borrow())?;
    }
    Ok(())
}
