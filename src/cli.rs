//! The command line, as bpftrace users know it. Options may follow the program file, as
//! bpftrace's getopt permutes them (`scry prog.bt -c CMD`); `--` ends the options, so
//! `scry prog.bt -- -1 2` passes `-1`.

use clap::error::ErrorKind;
use clap::{ArgAction, Parser, ValueEnum};

/// scry: a bpftrace-compatible tracer for Linux, without LLVM.
#[derive(Parser, Debug)]
#[command(name = "scry", version, about, long_about = None)]
#[command(allow_negative_numbers = true, args_override_self = true)]
#[command(override_usage = USAGE, help_template = "{about}\n\nUSAGE:\n    {usage}\n\n{all-args}")]
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
    #[arg(short = 'p', value_name = "PID", value_parser = pid, allow_hyphen_values = true)]
    pub pid: Option<u32>,

    /// Run this command, held until the probes are attached, and stop when it exits (`cpid`
    /// is its pid).
    #[arg(short = 'c', value_name = "CMD")]
    pub command: Option<String>,

    /// Write the trace output to FILE instead of standard output.
    #[arg(short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,

    /// Output format: text or json.
    #[arg(short = 'f', value_name = "FORMAT", default_value = "text", value_parser = format)]
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

    /// Warn when a helper call fails: -k for map updates and deletes, -kk also for probe
    /// reads and map lookups (bpftrace 0.17's `-k`, `-kk`).
    #[arg(short = 'k', action = ArgAction::Count)]
    pub helper_errors: u8,

    /// Add an `#include` of FILE before the program (it must exist; scry reads no headers).
    #[arg(long = "include", value_name = "FILE")]
    pub include: Vec<String>,

    /// Add DIR to the directories `#include` searches.
    #[arg(short = 'I', value_name = "DIR")]
    pub include_dirs: Vec<String>,

    /// Print what this kernel supports (helpers, map and probe types) and exit.
    #[arg(long = "info")]
    pub info: bool,

    /// Accepted for bpftrace compatibility: USDT semaphores are always activated for every
    /// process that maps the file (the kernel counts them through the uprobe's ref_ctr_offset).
    #[arg(long = "usdt-file-activation")]
    pub usdt_file_activation: bool,

    /// Allow functions with side effects on the system (system, signal, override).
    #[arg(long = "unsafe")]
    pub unsafe_mode: bool,

    /// Do not print warnings.
    #[arg(long = "no-warnings")]
    pub no_warnings: bool,

    /// Load the WebAssembly plugin at PATH as NAME (repeatable; docs/plugins.md).
    #[arg(long = "plugin", value_name = "NAME=PATH")]
    pub plugins: Vec<String>,

    /// Grant plugin NAME a directory (NAME:fs=DIR) or running commands (NAME:exec, with
    /// --unsafe).
    #[arg(long = "plugin-allow", value_name = "GRANT")]
    pub plugin_allow: Vec<String>,

    /// Memory cap of each plugin, in MiB.
    #[arg(long = "plugin-memory", value_name = "MIB", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub plugin_memory: u64,

    /// Deadline of each plugin call during the run, in milliseconds (end-of-run calls get 1 s,
    /// or this if longer).
    #[arg(long = "plugin-timeout", value_name = "MS", default_value_t = 50,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub plugin_timeout: u64,

    /// What a plugin's trap, timeout or memory exhaustion does: end the run (stop) or drop the
    /// plugin and go on (disable).
    #[arg(long = "plugin-fail", value_name = "POLICY", default_value = "stop")]
    pub plugin_fail: PluginFail,

    /// The program file (`-` reads standard input) unless -e is given, then the positional
    /// parameters `$1`, `$2`, ... of the program (after `--` if one starts with `-`).
    #[arg(value_name = "ARGS")]
    pub args: Vec<String>,
}

/// `-f`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// `--plugin-fail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PluginFail {
    Stop,
    Disable,
}

/// `-B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Buffering {
    Line,
    Full,
    None,
}

/// The usage lines (under a `USAGE:` heading, as bpftrace prints them).
const USAGE: &str = "scry [OPTIONS] FILENAME [ARGS...]\n    scry [OPTIONS] -e 'PROGRAM' [ARGS...]";

/// The largest pid Linux can have (`PID_MAX_LIMIT`).
const PID_MAX: i64 = 4_194_304;

/// Parses the command line. A bad option value is `ERROR: ...` in bpftrace's words and status
/// 1, as bpftrace gives; other usage errors are clap's message with status 1.
pub fn parse() -> Cli {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => usage_error(e),
    };
    if cli.helper_errors > 2 {
        scry_runtime::eprintln_lossy!("ERROR: -k is given at most twice (-kk)");
        std::process::exit(1);
    }
    cli
}

fn usage_error(e: clap::Error) -> ! {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    match (e.kind(), std::error::Error::source(&e)) {
        (ErrorKind::ValueValidation, Some(reason)) => {
            scry_runtime::eprintln_lossy!("ERROR: {reason}")
        }
        // An unknown option or a missing value: what is wrong, then the usage, as bpftrace.
        _ => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            scry_runtime::eprintln_lossy!(
                "ERROR: {}\nUSAGE:\n    {USAGE}\nscry --help lists every option.",
                first.trim_start_matches("error: ")
            );
        }
    }
    std::process::exit(1)
}

/// `-p`: a decimal pid in Linux's range, of a process that exists.
fn pid(s: &str) -> Result<u32, String> {
    let n: i64 = s
        .parse()
        .map_err(|_| format!("pid '{s}' is not a valid decimal number"))?;
    if !(1..=PID_MAX).contains(&n) {
        return Err(format!("pid '{s}' out of valid pid range [1,{PID_MAX}]"));
    }
    if !scry_runtime::sys::process::exists(n as u32) {
        return Err(format!("pid '{s}': No such process"));
    }
    Ok(n as u32)
}

/// `-f`: `text` or `json`.
fn format(s: &str) -> Result<OutputFormat, String> {
    OutputFormat::from_str(s, false)
        .map_err(|_| format!("Invalid output format \"{s}\"\nValid formats: 'text', 'json'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("scry").chain(words.iter().copied())).unwrap()
    }

    #[test]
    fn options_after_the_program_file() {
        let cli = parse(&["prog.bt", "-c", "ls -l", "a", "-q", "b"]);
        assert_eq!(cli.command.as_deref(), Some("ls -l"));
        assert!(cli.quiet);
        assert_eq!(cli.args, ["prog.bt", "a", "b"]);
        let cli = parse(&["-l", "usdt:*", "-p", "1"]);
        assert_eq!((cli.list, cli.pid), (true, Some(1)));
    }

    #[test]
    fn repeated_options_as_getopt_takes_them() {
        let cli = parse(&["-dd", "-o", "a", "-o", "b", "-e", "BEGIN {}"]);
        assert!(cli.dry_run);
        assert_eq!(cli.output.as_deref(), Some(std::path::Path::new("b")));
    }

    #[test]
    fn double_dash_ends_options() {
        let cli = parse(&["prog.bt", "--", "-1", "-q", "--"]);
        assert!(!cli.quiet);
        assert_eq!(cli.args, ["prog.bt", "-1", "-q", "--"]);
    }

    #[test]
    fn bad_values_in_bpftrace_words() {
        assert_eq!(
            pid("abc"),
            Err("pid 'abc' is not a valid decimal number".into())
        );
        assert_eq!(
            pid("0"),
            Err("pid '0' out of valid pid range [1,4194304]".into())
        );
        assert_eq!(
            pid("-5"),
            Err("pid '-5' out of valid pid range [1,4194304]".into())
        );
        assert_eq!(pid("1"), Ok(1));
        assert!(format("xml")
            .unwrap_err()
            .starts_with("Invalid output format \"xml\""));
    }
}
