//! The command line, as bpftrace users know it.

use clap::Parser;

/// scry: a bpftrace-compatible tracer for Linux, without LLVM.
#[derive(Parser, Debug)]
#[command(name = "scry", version, about, long_about = None)]
#[command(
    override_usage = "scry [OPTIONS] FILENAME [ARGS...]\n       scry [OPTIONS] -e 'PROGRAM' [ARGS...]"
)]
pub struct Cli {
    /// Program text to run.
    #[arg(short = 'e', value_name = "PROGRAM")]
    pub program: Option<String>,

    /// Dry run: parse and check the program, print it with its types, attach nothing.
    #[arg(short = 'd')]
    pub dry_run: bool,

    /// Trace the process with this PID (uprobe/usdt targets are its executable and libraries).
    #[arg(short = 'p', value_name = "PID")]
    pub pid: Option<u32>,

    /// Run this command and trace it (`cpid` is its pid).
    #[arg(short = 'c', value_name = "CMD")]
    pub command: Option<String>,

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
