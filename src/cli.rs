//! The command line, as bpftrace users know it.

use clap::{Parser, ValueEnum};

/// scry: a bpftrace-compatible tracer for Linux, without LLVM.
#[derive(Parser, Debug)]
#[command(name = "scry", version, about, long_about = None)]
#[command(
    override_usage = "scry [OPTIONS] FILENAME [ARGS...]\n       scry [OPTIONS] -e 'PROGRAM' [ARGS...]"
)]
#[command(
    after_help = "BCC tools: scry funccount|stackcount|trace|argdist ARGS (scry --install-tools DIR \
                  links them under their own names); scry completions SHELL; scry manpages DIR"
)]
pub struct Cli {
    /// Program text to run.
    #[arg(short = 'e', value_name = "PROGRAM")]
    pub program: Option<String>,

    /// List the probes matching the search (a probe pattern like 'tracepoint:sched:*'), or all
    /// of them.
    #[arg(short = 'l')]
    pub list: bool,

    /// Dry run: check the program, print it with its types and its BPF instructions, attach
    /// nothing.
    #[arg(short = 'd')]
    pub dry_run: bool,

    /// Trace the process with this PID (uprobe/usdt targets are its executable and libraries);
    /// stop when it exits.
    #[arg(short = 'p', value_name = "PID")]
    pub pid: Option<u32>,

    /// Run this command, held until the probes are attached, and stop when it exits (`cpid`
    /// is its pid).
    #[arg(short = 'c', value_name = "CMD")]
    pub command: Option<String>,

    /// Write the trace output to FILE instead of standard output.
    #[arg(short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,

    /// Output format.
    #[arg(short = 'f', value_name = "FORMAT", default_value = "text")]
    pub format: OutputFormat,

    /// Buffering of the output: line, full or none.
    #[arg(short = 'B', value_name = "MODE", default_value = "line")]
    pub buffering: Buffering,

    /// Quiet: do not print the "Attaching N probes..." line.
    #[arg(short = 'q')]
    pub quiet: bool,

    /// Verbose: print program ids and the verifier's log.
    #[arg(short = 'v')]
    pub verbose: bool,

    /// Allow functions with side effects on the system (system, signal, override).
    #[arg(long = "unsafe")]
    pub unsafe_mode: bool,

    /// Do not print warnings.
    #[arg(long = "no-warnings")]
    pub no_warnings: bool,

    /// The program file (`-` reads standard input) unless -e is given, then the positional
    /// parameters `$1`, `$2`, ... of the program.
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

/// `-f`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// `-B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Buffering {
    Line,
    Full,
    None,
}
