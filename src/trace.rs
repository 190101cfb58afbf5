//! Running a program from the command line: one source applied to a host, run until it stops.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use scry_plugin::PluginSink;
use scry_runtime::host::{Host, HostError, Source};
use scry_stdlib::sink::{self, Format, Output};

use crate::cli::{Buffering, Cli, OutputFormat};
use crate::settings::Settings;
use crate::{frontend, pipe, plugins, ring};

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
    let script_dir = match (&cli.program, source.name.as_str()) {
        (None, name) if name != "-" => Some(Path::new(name).parent().unwrap_or(Path::new(""))),
        _ => None,
    };
    let plugins = plugins::load(cli, &source.text, script_dir)?;
    let sink = match &plugins {
        Some(p) => Box::new(PluginSink::new(
            sink::new(format, out),
            p.shared.clone(),
            // Formatters render text; -f json keeps scry's structured maps.
            format == Format::Text,
        )),
        None => sink::new(format, out),
    };
    let mut host = Host::new(opts, sink);
    if let Some(p) = &plugins {
        host.set_plugins(p.shared.lock().signatures(), Box::new(p.shared.clone()));
    }
    let checked = match host.check(&source) {
        Ok(c) => c,
        Err(e) => return failed(&source, e, cli),
    };
    host.size_ring(ring::size(&checked, settings));
    frontend::report(&source, &checked.warnings, cli.no_warnings);
    if cli.dry_run {
        if let Some(p) = &plugins {
            crate::pipe::print(&plugins::describe(p))?;
        }
        frontend::dump(&source, &checked, host.object())?;
        return Ok(ExitCode::SUCCESS);
    }
    if checked.probes() == 0 {
        // bpftrace's sentence, on standard output (-q leaves it out); every probe was left out.
        if !cli.quiet {
            pipe::print("No probes to attach\n")?;
        }
        return Ok(ExitCode::FAILURE);
    }
    if let Some(p) = &plugins {
        p.shared.lock().init(&checked.added);
    }
    let added = match host.load(checked) {
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
    // The session ends with its sink: the plugins' scry_finish has run after this.
    match host.finish() {
        Ok(()) if plugins.is_some_and(|p| p.shared.lock().failed()) => Ok(ExitCode::FAILURE),
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
