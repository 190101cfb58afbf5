//! Running a program from the command line: one source applied to a host, run until it stops.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use scry_runtime::host::{Host, HostError, Source};
use scry_stdlib::sink::{self, Format, Output};

use crate::cli::{Buffering, Cli, OutputFormat};
use crate::settings::Settings;
use crate::{frontend, pipe, ring};

/// Where the trace output goes, buffered as `-B` says.
pub type Out = Box<dyn Write>;

/// Checks the program (printing it with `-d`), then loads, attaches and runs it until it
/// stops, and prints the maps.
pub fn run(
    source: Source,
    cli: &Cli,
    settings: &Settings,
    params: Vec<String>,
) -> Result<ExitCode, String> {
    let opts = frontend::host_options(cli, settings, params);
    let format = match cli.format {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
    };
    let out: Out = if cli.dry_run {
        Box::new(std::io::sink())
    } else {
        output(cli)?
    };
    let out = match cli.output {
        Some(_) => Output::with_exit_newlines_to_stdout(out),
        None => Output::new(out),
    };
    let mut host = Host::new(opts, sink::new(format, out));
    let mut checked = match host.check(&source) {
        Ok(c) => c,
        Err(e) => return failed(&source, e, cli),
    };
    ring::size(&mut checked, settings);
    frontend::report(&source, &checked.warnings, cli.no_warnings);
    if cli.dry_run {
        frontend::dump(&source, &checked)?;
        return Ok(ExitCode::SUCCESS);
    }
    let added = match host.load(source.clone(), checked) {
        Ok(a) => a,
        Err(e) => return failed(&source, e, cli),
    };
    let announced = if cli.quiet {
        Ok(())
    } else {
        host.session_mut().and_then(|s| {
            s.sink
                .attached(added.probes as u64)
                .and_then(|()| s.sink.flush())
                .map_err(HostError::Io)
        })
    };
    let ran = announced
        .and_then(|()| host.start(&added))
        .and_then(|()| host.run_until_stopped());
    if let Err(e) = ran {
        host.abort();
        return failed(&source, e, cli);
    }
    match host.finish() {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => failed(&source, e, cli),
    }
}

/// Reports a host error; the exit code is failure (or quietly [`pipe`]'s status when the
/// output pipe was closed).
fn failed(source: &Source, e: HostError, cli: &Cli) -> Result<ExitCode, String> {
    if let Some(code) = pipe::closed_status(&e) {
        return Ok(code);
    }
    match frontend::show_error(source, e, cli) {
        Some(sentence) => Err(sentence),
        None => Ok(ExitCode::FAILURE),
    }
}

/// Where the trace output goes: `-o FILE` or stdout, buffered as `-B` says.
pub fn output(cli: &Cli) -> Result<Out, String> {
    let base: Box<dyn Write> = match &cli.output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| format!("cannot write to '{}': {e}", path.display()))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    Ok(match cli.buffering {
        Buffering::None => base,
        Buffering::Line | Buffering::Full => Box::new(BufWriter::with_capacity(1 << 16, base)),
    })
}
