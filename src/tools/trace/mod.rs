//! `trace`: prints a line for each event of the probes given (kernel and user functions,
//! their returns, tracepoints, USDT probes), with a message formatted from their arguments.

mod events;
mod format;
mod probe;

use std::cell::Cell;
use std::ffi::OsString;
use std::rc::Rc;

use clap::Parser;
use scry_runtime::LiveCatalog;

use super::args::{self, parse, usage_error};
use super::cexpr::{self, Names};
use super::driver::{self, Run};
use super::end::End;
use super::place;
use events::{Events, Layout, Time};
use probe::Probe;

const USAGE: &str = "trace [-h] [-b BUFFER_PAGES] [-p PID] [-L TID] [--uid UID] [-v] [-Z STRING_SIZE] [-S] [-M MAX_EVENTS] [-t] [-u] [-T] [-C] [-c CGROUP_PATH] [-n NAME] [-f MSG_FILTER] [-B] [-s SYM_FILE_LIST] [-K] [-U] [-a] [-I header] [-A] probe [probe ...]";

/// Attach to functions and print trace messages.
#[derive(Parser, Debug)]
#[command(about = "Attach to functions and print trace messages")]
struct Args {
    /// number of pages to use for the ring buffer of each CPU (a power of two)
    #[arg(short = 'b', long = "buffer-pages", value_parser = args::int)]
    buffer_pages: Option<u32>,
    /// id of the process to trace (optional)
    #[arg(short, long, value_parser = args::int)]
    pid: Option<u32>,
    /// id of the thread to trace (optional)
    #[arg(short = 'L', long, value_parser = args::int)]
    tid: Option<u32>,
    /// id of the user to trace (optional)
    #[arg(long, value_parser = args::int)]
    uid: Option<u32>,
    /// print the generated program and more
    #[arg(short, long)]
    verbose: bool,
    /// maximum size to read from strings
    #[arg(short = 'Z', long = "string-size", value_parser = args::int, default_value = "80")]
    string_size: u32,
    /// do not filter trace's own pid from the trace
    #[arg(short = 'S', long = "include-self")]
    include_self: bool,
    /// number of events to print before quitting
    #[arg(short = 'M', long = "max-events", value_parser = args::positive)]
    max_events: Option<u64>,
    /// print timestamp column (offset from trace start)
    #[arg(short = 't', long)]
    timestamp: bool,
    /// print UNIX timestamp instead of offset from trace start, requires -t
    #[arg(short = 'u', long = "unix-timestamp")]
    unix_timestamp: bool,
    /// print time column
    #[arg(short = 'T', long)]
    time: bool,
    /// print CPU id
    #[arg(short = 'C', long = "print_cpu")]
    print_cpu: bool,
    /// trace this cgroup only
    #[arg(short = 'c', long = "cgroup-path")]
    cgroup_path: Option<String>,
    /// only print events whose process name contains NAME
    #[arg(short = 'n', long)]
    name: Option<String>,
    /// only print messages containing MSG_FILTER
    #[arg(short = 'f', long = "msg-filter")]
    msg_filter: Option<String>,
    /// comma separated list of symbol files to use for symbol resolution (user frames in them
    /// resolve as in any file the process maps, also after it exits)
    #[arg(short = 's', long = "sym_file_list", value_name = "SYM_FILE_LIST")]
    sym_file_list: Option<String>,
    /// output kernel stack trace
    #[arg(short = 'K', long = "kernel-stack")]
    kernel_stack: bool,
    /// output user stack trace
    #[arg(short = 'U', long = "user-stack")]
    user_stack: bool,
    /// print virtual address in stacks
    #[arg(short = 'a', long)]
    address: bool,
    /// STRCMP literals are C arrays of bytes ("{0x6C, 0x00}"), compared but the last byte
    #[arg(short = 'B', long = "bin_cmp")]
    bin_cmp: bool,
    /// additional header files (system headers: types come from BTF; local ones, ./x.h or
    /// /path/x.h: their struct definitions are used)
    #[arg(short = 'I', long = "include", action = clap::ArgAction::Append)]
    include: Vec<String>,
    /// aggregate identical events, print them when -M events were counted
    #[arg(short = 'A', long)]
    aggregate: bool,
    /// print the generated program and exit
    #[arg(long, hide = true)]
    ebpf: bool,
    /// probe specifier
    #[arg(required = true, value_name = "probe")]
    probes: Vec<String>,
}

/// The command line's definition (completions, manual page).
pub fn command() -> clap::Command {
    args::command::<Args>("trace", USAGE)
}

/// Runs trace with its arguments.
pub fn run(argv: &[OsString]) -> Result<(), End> {
    let a: Args = parse("trace", USAGE, argv)?;
    if a.pid.is_some() && a.tid.is_some() {
        return Err(usage_error(
            "trace",
            USAGE,
            "only one of -p and -L may be specified",
        ));
    }
    if a.aggregate && a.max_events.is_none() {
        return Err(End::Error(
            "-M/--max-events should be specified with -A/--aggregate".into(),
        ));
    }
    let probes = a
        .probes
        .iter()
        .map(|p| Probe::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    let (pid, catalog, mut program) = driver::prologue(a.pid, &a.include)?;
    // BCC symbolizes stacks by build id in these files; scry's symbolizer already reads every
    // file a process maps: each must exist, and the note is printed as BCC prints it.
    for file in a.sym_file_list.iter().flat_map(|l| l.split(',')) {
        place::resolve_library(&catalog, file, pid)?;
    }
    let mut layout_probes = Vec::new();
    for (i, p) in probes.iter().enumerate() {
        let (block, pieces) = probe_block(i, p, &a, pid, &catalog)
            .map_err(|e| format!("error in probe '{}': {e}", p.raw))?;
        program.push_str(&block);
        layout_probes.push((p.place.name().to_string(), pieces));
    }
    if a.ebpf {
        super::say(&program);
        return Ok(());
    }
    let time = match (a.timestamp, a.time) {
        (true, _) => Time::Elapsed {
            unix: a.unix_timestamp,
        },
        (false, true) => Time::Clock {
            wide: a.unix_timestamp,
        },
        (false, false) => Time::Off,
    };
    let layout = Layout {
        probes: layout_probes,
        time,
        cpu: a.print_cpu,
        kernel_stack: a.kernel_stack,
        user_stack: a.user_stack,
        addresses: a.address,
        name: a.name.clone(),
        message: a.msg_filter.clone(),
        max_events: a.max_events,
        aggregate: a.aggregate,
    };
    let header = layout.header();
    let done = Rc::new(Cell::new(false));
    let sink = Events::new(layout, Box::new(std::io::stdout()), done.clone());
    let run = Run {
        tool: "trace",
        program,
        pid,
        debug: a.verbose,
        max_probes: None,
        map_keys_max: None,
        fallback: None,
        ringbuf_pages: a.buffer_pages,
    };
    run.execute(Box::new(sink), |_| {
        if a.sym_file_list.is_some() {
            super::say("Note: Kernel bpf will report stack map with ip/build_id");
        }
        super::say(&header)
    })?;
    if !done.get() {
        // Ctrl-C: BCC prints the interrupt as an empty line.
        super::say("");
    }
    Ok(())
}

/// The program block of probe `index` and its format pieces.
fn probe_block(
    index: usize,
    p: &Probe,
    a: &Args,
    pid: Option<u32>,
    catalog: &LiveCatalog,
) -> Result<(String, Vec<format::Piece>), String> {
    let attach = p.place.attach_point(catalog, pid)?;
    let names = Names {
        params: p.params.clone(),
        argdist: None,
        binary_strcmp: a.bin_cmp,
    };
    let pieces = p.format.as_deref().map(format::parse).unwrap_or_default();
    let convs = format::conversions(&pieces);
    if convs.len() != p.args.len() {
        return Err(format!(
            "the format has {} conversions but {} arguments were given",
            convs.len(),
            p.args.len()
        ));
    }
    let mut fields: Vec<String> = ["nsecs", "cpu", "pid", "tid", "comm"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    fields.insert(0, index.to_string());
    if a.kernel_stack {
        fields.push("kstack".into());
    }
    if a.user_stack {
        fields.push("ustack".into());
    }
    for (conv, arg) in convs.iter().zip(&p.args) {
        let expr = cexpr::translate(arg, &names)?;
        fields.push(format::capture(*conv, &expr, a.string_size));
    }
    let mut conditions = Vec::new();
    match (pid, a.tid) {
        (Some(p), _) => conditions.push(format!("pid == {p}")),
        (None, Some(t)) if t != 0 => conditions.push(format!("tid == {t}")),
        _ if !a.include_self => conditions.push(format!("pid != {}", std::process::id())),
        _ => {}
    }
    if let Some(uid) = a.uid {
        conditions.push(format!("uid == {uid}"));
    }
    if let Some(path) = &a.cgroup_path {
        conditions.push(format!("cgroup == cgroupid(\"{path}\")"));
    }
    if let Some(pred) = &p.predicate {
        conditions.push(cexpr::translate(pred, &names)?);
    }
    let predicate = if conditions.is_empty() {
        String::new()
    } else {
        format!(" /{}/", conditions.join(" && "))
    };
    Ok((
        format!(
            "{attach}{predicate} {{ print(({})); }}\n",
            fields.join(", ")
        ),
        pieces,
    ))
}
