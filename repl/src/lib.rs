//! scry's REPL: `scry` with no program opens a live session where probes attach as they are
//! typed.
//!
//! Two threads (three at a terminal). The session thread owns the [`Host`] and waits, in one
//! `epoll_wait`, on the ring buffer (output is drained as it arrives), the signals and the
//! entries ([`channel`]); it applies entries in order ([`engine`]). The input thread reads
//! entries: the line editor at a terminal ([`editor`]), or standard input otherwise
//! ([`stdin`]), and sends each whole one (the [`balance`] of its braces, by scry's lexer, says
//! when) over the channel. At a terminal a printer thread puts output above the prompt
//! ([`screen`]). Output routing is described in [`console`].

#![warn(missing_docs)]

pub mod actions;
pub mod balance;
pub mod channel;
pub mod command;
pub mod complete;
pub mod console;
pub mod console_sink;
pub mod editor;
pub mod engine;
pub mod entry;
pub mod helper;
pub mod plugins;
pub mod report;
pub mod save;
pub mod screen;
pub mod serve;
pub mod shared_out;
pub mod stdin;
pub mod watch;

use std::io::{BufWriter, IsTerminal};

use scry_runtime::host::{Host, HostOptions};
use scry_stdlib::sink::Format;

use crate::console::Console;
use crate::engine::{Engine, Lister};
use crate::plugins::SessionPlugins;
use crate::report::Reporter;
use crate::shared_out::Out;
use crate::shared_out::SharedOut;

/// How the REPL runs.
pub struct Options {
    /// The host's options (from the command line and the environment).
    pub host: HostOptions,
    /// `-f`.
    pub format: Format,
    /// `-o FILE`: the trace output's writer; stdout (or the terminal) without it.
    pub output: Option<Out>,
    /// `--no-warnings`.
    pub no_warnings: bool,
    /// `-v`.
    pub verbose: bool,
    /// `.list` and `.listv`.
    pub list: Lister,
    /// `-p`.
    pub pid: Option<u32>,
    /// The session's plugins (`--plugin`, and `plugin` entries).
    pub plugins: Option<Box<dyn SessionPlugins>>,
}

/// Whether the line editor can run: standard input and output are terminals and `TERM` is
/// not `dumb`.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal() && !dumb_terminal()
}

fn dumb_terminal() -> bool {
    std::env::var("TERM").is_ok_and(|t| t == "dumb")
}

/// Whether colour is wanted on a terminal.
fn color_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none() && !dumb_terminal()
}

/// Runs the session until it ends; at a terminal with the line editor, otherwise reading
/// entries from standard input.
pub fn run(opts: Options) -> Result<(), String> {
    if interactive() {
        editor::run(opts)
    } else {
        run_stdin(opts)
    }
}

fn run_stdin(opts: Options) -> Result<(), String> {
    let out = opts
        .output
        .unwrap_or_else(|| Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout())));
    let reporter = Reporter {
        no_warnings: opts.no_warnings,
        verbose: opts.verbose,
        color: std::io::stderr().is_terminal() && color_wanted(),
    };
    let engine = open(
        opts.host,
        out,
        opts.format,
        Console::Stdio,
        reporter,
        opts.list,
        opts.pid,
    )?;
    let engine = match opts.plugins {
        Some(p) => engine.with_plugins(p, opts.format),
        None => engine,
    };
    let (tx, rx) = channel::channel().map_err(|e| format!("cannot read entries: {e}"))?;
    // Not joined: at the end of the session it may still be blocked reading.
    std::thread::spawn(move || stdin::read_entries(std::io::stdin().lock(), &tx));
    serve::serve(engine, rx, &mut stdin::Stdin)
}

/// A host with its session open, writing `format` to `out`, and the engine over it.
fn open(
    host: HostOptions,
    out: Out,
    format: Format,
    console: Console,
    reporter: Reporter,
    list: Lister,
    pid: Option<u32>,
) -> Result<Engine, String> {
    let out = SharedOut::new(out);
    let mut host = Host::new(host, console_sink::new(format, &out, &console));
    host.open().map_err(|e| e.to_string())?;
    Ok(Engine::new(host, out, console, reporter, list, pid))
}
