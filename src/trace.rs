//! Running a compiled program: the session from load to the maps printed at exit.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use scry_ebpf::object::{Object, Trigger};
use scry_lang::diag::Diagnostic;
use scry_runtime::attach::AttachOptions;
use scry_runtime::load::{LoadError, LoadOptions};
use scry_runtime::records::ActionOptions;
use scry_runtime::session::{Session, SessionError, SessionOptions};
use scry_stdlib::printer::{Format, Printer};

use crate::child::Child;
use crate::cli::{Buffering, Cli, OutputFormat};
use crate::frontend::Source;
use crate::pipe;
use crate::settings::Settings;

/// Where the trace output goes, buffered as `-B` says.
type Out = Box<dyn Write>;

/// Loads, attaches and runs `object` until it stops; prints the maps.
pub fn run(
    object: Object,
    source: &Source,
    cli: &Cli,
    settings: &Settings,
) -> Result<ExitCode, String> {
    let attachments: u64 = object
        .programs
        .iter()
        .filter(|p| p.trigger.attaches_at_start())
        .map(|p| {
            if p.fan_in.is_some() {
                1
            } else {
                p.attaches.len() as u64
            }
        })
        .sum();
    if attachments > settings.max_probes {
        return Err(format!(
            "Can't attach to {attachments} probes because it exceeds the current limit of {} probes; raise BPFTRACE_MAX_PROBES to allow more",
            settings.max_probes
        ));
    }
    if attachments > 0 {
        // Overlap aya's feature probing with loading the program.
        scry_runtime::attach::warm_up();
    }
    let _ = scry_runtime::sys::raise_open_file_limit();
    let mut child = match &cli.command {
        Some(cmd) => Some(Child::spawn(cmd)?),
        None => None,
    };
    let opts = SessionOptions {
        load: LoadOptions {
            log_level: if cli.verbose { 1 } else { 0 },
            log_size: settings.log_size,
        },
        attach: AttachOptions {
            pid: cli.pid,
            cpid: child.as_ref().map(Child::pid),
        },
        actions: ActionOptions {
            cat_bytes_max: settings.cat_bytes_max,
        },
        cpid: child.as_ref().map(Child::pid),
        watch_pid: child.as_ref().map(Child::pid).or(cli.pid),
        quiet: cli.quiet,
        notify_attached: settings.notify_attached,
        verbose: cli.verbose,
        exit_newlines_to_stdout: cli.output.is_some(),
    };
    let format = match cli.format {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
    };
    let printer = Printer::new(output(cli)?, format);
    let mut session = match Session::new(object.clone(), opts, printer) {
        Ok(s) => s,
        Err(e) => return Err(session_error(e, &object, source, cli.verbose)),
    };
    if cli.verbose {
        for p in &session.loaded.programs {
            if !p.log().is_empty() {
                scry_runtime::eprintln_lossy!("{}", p.log());
            }
        }
    }
    if !cli.quiet {
        let n = session.probe_count() as u64;
        if let Err(e) = session
            .printer
            .attached(n)
            .and_then(|()| session.printer.flush())
        {
            return pipe::session_failed(e.into(), |e| e.to_string());
        }
    }
    let result = drive(&mut session, child.as_mut());
    if let Err(e) = result {
        session.detach_all();
        return pipe::session_failed(e, |e| session_error(e, &object, source, cli.verbose));
    }
    if let Err(e) = session.finish() {
        return pipe::session_failed(e, |e| session_error(e, &object, source, cli.verbose));
    }
    if let Some(c) = child.as_mut() {
        c.finish();
    }
    Ok(ExitCode::SUCCESS)
}

/// BEGIN, attach, release the child, wait.
fn drive(session: &mut Session<Out>, child: Option<&mut Child>) -> Result<(), SessionError> {
    session.run_special(Trigger::Begin)?;
    if session.exit_requested() {
        return Ok(());
    }
    session.attach_all()?;
    if let Some(c) = child {
        c.release();
    }
    session.run_until_stopped()
}

fn output(cli: &Cli) -> Result<Out, String> {
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

/// One sentence for a session error; a verifier rejection becomes a diagnostic at the source
/// span of the rejected instruction.
fn session_error(e: SessionError, object: &Object, source: &Source, verbose: bool) -> String {
    match e {
        SessionError::Load(LoadError::Verifier {
            program,
            insn,
            reason,
            log,
        }) => {
            if verbose {
                scry_runtime::eprintln_lossy!("{log}");
            }
            let spec = &object.programs[program.min(object.programs.len().saturating_sub(1))];
            let span = insn
                .and_then(|i| spec.spans.get(i).copied())
                .unwrap_or_default();
            let d = if reason.contains("cannot use helper bpf_override_return") {
                Diagnostic::error(
                    span,
                    "override() needs a kernel built with CONFIG_BPF_KPROBE_OVERRIDE, and this one was not",
                )
            } else {
                Diagnostic::error(span, format!("the BPF verifier rejected this: {reason}"))
                    .with_hint("run with -v to see the whole verifier log")
            };
            source.report(&[d]);
            "the kernel refused to load the program".to_string()
        }
        other => other.to_string(),
    }
}
