//! The BCC tools (`funccount`, `stackcount`, `trace`, `argdist`) as front ends of the engine.
//!
//! Each tool parses its BCC command line ([`args`]), resolves its targets ([`pattern`],
//! [`targets`]), writes a scry program and runs it on the incremental host ([`driver`]),
//! printing through its own [`scry_stdlib::Sink`] in BCC's layout. `-D`/`--debug` prints the
//! program. A tool runs as `scry TOOL ARGS` or under the tool's own name (a link to scry, made
//! by `scry --install-tools DIR`).

mod argdist;
mod args;
mod cexpr;
mod clock;
mod driver;
mod end;
mod funccount;
mod headers;
mod install;
mod pattern;
mod place;
mod program;
mod shell;
mod stackcount;
mod summary;
mod targets;
mod trace;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

/// The tools, by the name they are run as.
pub const TOOLS: [&str; 4] = ["funccount", "stackcount", "trace", "argdist"];

/// Runs a tool when the command line names one (argv\[0\]'s file name, or the first
/// argument), or `--install-tools DIR`, `completions SHELL`, `manpages DIR`; `None` leaves
/// the command line to scry's own CLI.
pub fn dispatch(argv: &[OsString]) -> Option<ExitCode> {
    let own_name = argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .map(|n| n.trim_end_matches("-bpfcc"));
    if let Some(tool) = own_name.filter(|n| TOOLS.contains(n)) {
        return Some(run(tool, &argv[1..]));
    }
    let first = argv.get(1).and_then(|a| a.to_str())?;
    if TOOLS.contains(&first) {
        return Some(run(first, &argv[2..]));
    }
    match first {
        "--install-tools" => return Some(install::run(&argv[2..])),
        "completions" => return Some(shell::completions(&argv[2..])),
        "manpages" => return Some(shell::manpages(&argv[2..])),
        _ => {}
    }
    None
}

/// Prints a line on stdout. A failed write (a closed pipe) is not reported here: the
/// session's next write fails and ends the run.
fn say(line: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Runs tool `name` with its arguments and reports how it ended.
fn run(name: &str, args: &[OsString]) -> ExitCode {
    let result = match name {
        "funccount" => funccount::run(args),
        "stackcount" => stackcount::run(args),
        "trace" => trace::run(args),
        _ => argdist::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(end) => end.report(),
    }
}
