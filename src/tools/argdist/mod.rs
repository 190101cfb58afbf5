//! `argdist`: frequency counts (`-C`) and log2 histograms (`-H`) of function arguments,
//! return values, latencies and tracepoint fields, printed every interval.

mod render;
mod spec;

use std::ffi::OsString;

use clap::Parser;
use scry_runtime::LiveCatalog;

use super::args::{self, parse};
use super::cexpr::{self, Names};
use super::driver::{self, Run};
use super::end::End;
use super::place::Place;
use super::summary::SummarySink;
use spec::{Mode, Spec};

const USAGE: &str = "argdist [-h] [-p PID] [-t TID] [-z STRING_SIZE] [-i INTERVAL] [-d DURATION] [-n COUNT] [-v] [-c] [-T TOP] [-H specifier] [-C specifier] [-I header]";

/// Trace a function and display a summary of its parameter values.
#[derive(Parser, Debug)]
#[command(about = "Trace a function and display a summary of its parameter values")]
struct Args {
    /// id of the process to trace (optional)
    #[arg(short, long, value_parser = args::int)]
    pid: Option<u32>,
    /// id of the thread to trace (optional; kernel probes only)
    #[arg(short, long, value_parser = args::int)]
    tid: Option<u32>,
    /// maximum string size to read from char* arguments
    #[arg(short = 'z', long = "string-size", value_parser = args::int, default_value = "80")]
    string_size: u32,
    /// output interval, in seconds
    #[arg(short, long, value_parser = args::positive, default_value = "1")]
    interval: u64,
    /// total duration of trace, in seconds
    #[arg(short, long, value_parser = args::positive)]
    duration: Option<u64>,
    /// number of outputs
    #[arg(short, long, value_parser = args::positive)]
    number: Option<u64>,
    /// print the generated program
    #[arg(short, long)]
    verbose: bool,
    /// do not clear histograms and freq counts at each interval
    #[arg(short, long)]
    cumulative: bool,
    /// number of top results to show (not applicable to histograms)
    #[arg(short = 'T', long, value_parser = args::positive)]
    top: Option<u64>,
    /// probe specifier to capture histogram of
    #[arg(short = 'H', long = "histogram", value_name = "specifier", action = clap::ArgAction::Append)]
    histogram: Vec<String>,
    /// probe specifier to capture count of
    #[arg(short = 'C', long = "count", value_name = "specifier", action = clap::ArgAction::Append)]
    count: Vec<String>,
    /// print the generated program and exit
    #[arg(long, hide = true)]
    ebpf: bool,
    /// additional header files (system headers: types come from BTF; local ones, ./x.h or
    /// /path/x.h: their struct definitions are used)
    #[arg(short = 'I', long = "include", value_name = "header", action = clap::ArgAction::Append)]
    include: Vec<String>,
}

/// The command line's definition (completions, manual page).
pub fn command() -> clap::Command {
    args::command::<Args>("argdist", USAGE)
}

/// Runs argdist with its arguments.
pub fn run(argv: &[OsString]) -> Result<(), End> {
    let a: Args = parse("argdist", USAGE, argv)?;
    // Counts first, then histograms, each in command-line order.
    let specs = a
        .count
        .iter()
        .map(|s| Spec::parse(s, Mode::Count))
        .chain(a.histogram.iter().map(|s| Spec::parse(s, Mode::Histogram)))
        .collect::<Result<Vec<_>, _>>()?;
    if specs.is_empty() {
        return Err(End::Error("at least one specifier is required".into()));
    }
    let (pid, catalog, mut program) = driver::prologue(a.pid, &a.include)?;
    let mut attached = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let (block, points) = probe_blocks(i, s, &a, pid, &catalog)
            .map_err(|e| format!("error parsing probe '{}': {e}", s.raw))?;
        program.push_str(&block);
        attached.extend(points);
    }
    program.push_str(&interval_block(specs.len(), &a));
    if a.ebpf {
        super::say(&program);
        return Ok(());
    }
    let sink = SummarySink::new(
        render::Blocks::new(specs, a.top),
        Box::new(std::io::BufWriter::new(std::io::stdout())),
    );
    let run = Run {
        tool: "argdist",
        program,
        pid,
        debug: a.verbose,
        max_probes: None,
        map_keys_max: None,
        fallback: None,
        ringbuf_pages: None,
    };
    run.execute(Box::new(sink), |_| {
        if a.verbose {
            let (kernel, user): (Vec<String>, Vec<String>) = attached
                .into_iter()
                .partition(|p| p.starts_with("kprobe:") || p.starts_with("kretprobe:"));
            super::say(format_args!("open uprobes: [{}]", user.join(", ")));
            super::say(format_args!("open kprobes: [{}]", kernel.join(", ")));
        }
    })
}

/// The interval block: the time, every map printed (cleared unless `-c`), the end after `-n`
/// outputs or once `-d` seconds have passed.
fn interval_block(maps: usize, a: &Args) -> String {
    let mut body = String::from("time(\"[%H:%M:%S]\\n\"); ");
    for i in 0..maps {
        body.push_str(&format!("print(@p{i}); "));
    }
    if !a.cumulative {
        for i in 0..maps {
            body.push_str(&format!("clear(@p{i}); "));
        }
    }
    let rounds = match (a.number, a.duration.map(|d| d.div_ceil(a.interval))) {
        (Some(n), Some(d)) => Some(n.min(d)),
        (n, d) => n.or(d),
    };
    if let Some(last) = rounds {
        body.push_str(&format!(
            "@rounds = @rounds + 1; if (@rounds >= {last}) {{ exit(); }} "
        ));
    }
    format!("interval:s:{} {{ {body}}}\n", a.interval)
}

/// The blocks of specifier `i`: the probe collecting into `@pI` and, for a return probe using
/// `$latency` or `$entry()`, the entry probe saving what it needs per thread; and the attach
/// points of the function probes (uprobes, kprobes and USDT, for `-v`).
fn probe_blocks(
    i: usize,
    s: &Spec,
    a: &Args,
    pid: Option<u32>,
    catalog: &LiveCatalog,
) -> Result<(String, Vec<String>), String> {
    let prefix = format!("p{i}_");
    let names = Names {
        params: s.params.clone(),
        argdist: Some(prefix.clone()),
        binary_strcmp: false,
    };
    let exprs = s
        .exprs
        .iter()
        .map(|e| cexpr::translate(e, &names))
        .collect::<Result<Vec<_>, _>>()?;
    let filter = s
        .filter
        .as_deref()
        .map(|f| cexpr::translate(f, &names))
        .transpose()?;
    let kernel = s.place.in_kernel();
    let mut conditions: Vec<String> = pid.map(|p| format!("pid == {p}")).into_iter().collect();
    if let (Some(t), true) = (a.tid, kernel) {
        conditions.push(format!("tid == {t}"));
    }
    let attach = s.place.attach_point(catalog, pid)?;
    let mut points = Vec::new();
    let mut out = String::new();
    let uses_entry = s.is_return()
        && s.exprs
            .iter()
            .chain(&s.filter)
            .any(|e| e.contains("$latency") || e.contains("$entry("));
    if uses_entry {
        let mut saves = format!("@{prefix}start[tid] = nsecs; ");
        for k in 0..s.params.len() {
            saves.push_str(&format!("@{prefix}entry{k}[tid] = arg{k}; "));
        }
        let entry = s
            .place
            .entry()
            .ok_or("$latency and $entry() need a return probe")?
            .attach_point(catalog, pid)?;
        out.push_str(&format!("{entry}{} {{ {saves}}}\n", predicate(&conditions)));
        conditions.push(format!("@{prefix}start[tid]"));
        points.push(entry);
    }
    let values: Vec<String> = s
        .types
        .iter()
        .zip(&exprs)
        .map(|(ty, e)| typed(ty, e, a.string_size))
        .collect();
    let collect = match s.mode {
        Mode::Count => format!("@p{i}[{}] = count();", values.join(", ")),
        Mode::Histogram => format!("@p{i} = hist({});", values[0]),
    };
    // The filter is tested in the action, so that saved entry values are deleted either way.
    let mut action = match (&filter, uses_entry) {
        (Some(f), true) => format!("if ({f}) {{ {collect} }} "),
        (Some(f), false) => {
            conditions.push(format!("({f})"));
            format!("{collect} ")
        }
        (None, _) => format!("{collect} "),
    };
    if uses_entry {
        action.push_str(&format!("delete(@{prefix}start[tid]); "));
        for k in 0..s.params.len() {
            action.push_str(&format!("delete(@{prefix}entry{k}[tid]); "));
        }
    }
    out.push_str(&format!(
        "{attach}{} {{ {action}}}\n",
        predicate(&conditions)
    ));
    if !matches!(s.place, Place::Tracepoint { .. }) {
        points.push(attach);
    }
    Ok((out, points))
}

fn predicate(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" /{}/", conditions.join(" && "))
    }
}

/// `expr` as a value of C type `ty`: a `-z`-byte string for `char*`, else an integer cast.
fn typed(ty: &str, expr: &str, string_size: u32) -> String {
    let compact: String = ty.split_whitespace().collect();
    if compact.ends_with("char*") {
        return format!("str({expr}, {string_size})");
    }
    let cast = cexpr::scry_type(ty);
    let cast = if cast.starts_with("int") || cast.starts_with("uint") {
        cast
    } else {
        "uint64".to_string()
    };
    format!("({cast})({expr})")
}
