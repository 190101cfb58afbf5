//! Running a program from the command line: one source applied to a host, run until it stops.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use scry_runtime::host::{Host, Source};
use scry_stdlib::printer::{Format, Printer};

use crate::cli::{Buffering, Cli, OutputFormat};
use crate::frontend;
use crate::settings::Settings;

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
    let mut host = Host::new(opts, Printer::new(out, format));
    let checked = match host.check(&source) {
        Ok(c) => c,
        Err(e) => return failed(&source, e, cli),
    };
    frontend::report(&source, &checked.warnings, cli.no_warnings);
    if cli.dry_run {
        frontend::dump(&source, &checked);
        return Ok(ExitCode::SUCCESS);
    }
    let added = match host.load(source.clone(), checked) {
        Ok(a) => a,
        Err(e) => return failed(&source, e, cli),
    };
    if !cli.quiet {
        let printer = &mut host.session_mut().map_err(|e| e.to_string())?.printer;
        printer
            .attached(added.probes as u64)
            .map_err(|e| e.to_string())?;
        printer.flush().map_err(|e| e.to_string())?;
    }
    let ran = host.start(&added).and_then(|()| {
        if host.exit_requested() {
            Ok(())
        } else {
            host.run_until_stopped()
        }
    });
    if let Err(e) = ran {
        host.abort();
        return failed(&source, e, cli);
    }
    host.finish().map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// Reports a host error; the exit code is failure.
fn failed(
    source: &Source,
    e: scry_runtime::host::HostError,
    cli: &Cli,
) -> Result<ExitCode, String> {
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
