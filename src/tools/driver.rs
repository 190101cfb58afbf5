//! Running a tool's generated program on the incremental host: check (printing the program
//! with `-D`), load, attach, announce, run until Ctrl-C/SIGTERM, `exit()` or the `-p` process
//! ends, then finish (detach; the sink prints the last summary).

use scry_ebpf::codegen::CompileOptions;
use scry_lang::check::CheckOptions;
use scry_runtime::attach::AttachOptions;
use scry_runtime::host::{Host, HostError, HostOptions, Source};
use scry_runtime::records::ActionOptions;
use scry_runtime::session::SessionOptions;
use scry_runtime::LiveCatalog;
use scry_stdlib::Sink;

use super::end::End;
use crate::settings::Settings;

/// A generated program and how to run it.
pub struct Run {
    /// The tool's name (names the program in diagnostics).
    pub tool: &'static str,
    /// The scry program.
    pub program: String,
    /// `-p PID`: uprobes attach for this process only, and the run ends when it exits.
    pub pid: Option<u32>,
    /// Print the program on stdout before running it (`-D`, `--debug`, `-v`).
    pub debug: bool,
    /// The most attachments allowed.
    pub max_probes: Option<u64>,
    /// Entries of each map (and stack map) unless BPFTRACE_MAP_KEYS_MAX says otherwise.
    pub map_keys_max: Option<u32>,
    /// Ring-buffer pages per CPU unless BPFTRACE_PERF_RB_PAGES says otherwise (trace `-b`).
    pub ringbuf_pages: Option<u32>,
    /// When the program cannot attach as a whole, its targets one by one.
    pub fallback: Option<Fallback>,
}

/// The pieces of a program whose targets are tried one at a time when the whole program
/// cannot attach (a function that is not traceable is a warning, not the end of the run).
pub struct Fallback {
    /// Each target's own probe block.
    pub targets: Vec<String>,
    /// The rest of the program (the interval block), applied after them.
    pub rest: String,
}

/// Where a tool that writes probe blocks over places (trace, argdist) starts: the traced pid
/// (`-p`; 0 is none; it must exist), the live catalog, and the program's preamble (`-I`).
pub fn prologue(
    pid: Option<u32>,
    include: &[String],
) -> Result<(Option<u32>, LiveCatalog, String), End> {
    let pid = pid.filter(|&p| p != 0);
    check_pid(pid)?;
    let preamble = super::headers::preamble(include)?;
    Ok((pid, LiveCatalog::new(), preamble))
}

/// `-p PID` names a live process (else every later step would fail in its own words).
pub fn check_pid(pid: Option<u32>) -> Result<(), End> {
    match pid {
        Some(p) if !std::path::Path::new(&format!("/proc/{p}")).exists() => Err(End::Error(
            format!("cannot trace process {p}: there is no such process"),
        )),
        _ => Ok(()),
    }
}

impl Run {
    /// Runs the program with output to `sink`; `started` is called once everything is
    /// attached (the tool's banner), with the number of targets attached when the program
    /// fell back to attaching them one by one.
    pub fn execute(
        self,
        sink: Box<dyn Sink>,
        started: impl FnOnce(Option<usize>),
    ) -> Result<(), End> {
        let mut settings = Settings::from_env()?;
        if let (Some(pages), None) = (
            self.ringbuf_pages,
            std::env::var_os("BPFTRACE_PERF_RB_PAGES"),
        ) {
            if pages == 0 || !pages.is_power_of_two() {
                return Err(End::Error(format!(
                    "-b must be a power of two, not {pages}"
                )));
            }
            settings.rb_pages = pages;
        }
        if self.debug {
            crate::tools::say(&self.program);
        }
        let source = Source {
            name: self.tool.to_string(),
            text: self.program.clone(),
        };
        let mut host = Host::new(self.options(&settings), sink);
        let checked = host.check(&source).map_err(|e| shown(&source, e))?;
        crate::frontend::report(&source, &checked.warnings, false);
        if checked.probes() == 0 {
            // Every function named was left out (the warnings say why).
            return Err(End::Error("No probes to attach".into()));
        }
        let added = host.load(checked).map_err(|e| shown(&source, e))?;
        let attached = match (host.start(&added), &self.fallback) {
            (Ok(()), _) => Ok(None),
            (Err(e), Some(fallback)) if fallback.targets.len() > 1 => {
                fallback.apply(&mut host, self.tool, e).map(Some)
            }
            (Err(e), _) => Err(e),
        };
        let ran = attached.and_then(|attached| {
            started(attached);
            host.run_until_stopped()
        });
        if let Err(e) = ran {
            host.abort();
            return Err(shown(&source, e));
        }
        host.finish().map_err(|e| End::Error(e.to_string()))
    }

    fn options(&self, settings: &Settings) -> HostOptions {
        HostOptions {
            check: CheckOptions {
                pid: self.pid,
                strlen: settings.strlen,
                ..CheckOptions::default()
            },
            compile: CompileOptions {
                map_keys_max: match (self.map_keys_max, std::env::var_os("BPFTRACE_MAP_KEYS_MAX")) {
                    (Some(n), None) => n,
                    _ => settings.map_keys_max,
                },
                ringbuf_bytes: settings.ringbuf_bytes(),
                params: Vec::new(),
                uprobe_multi: scry_runtime::uprobe_multi::supported(),
                helper_errors: 0,
            },
            session: SessionOptions {
                attach: AttachOptions {
                    pid: self.pid,
                    cpid: None,
                },
                actions: ActionOptions {
                    cat_bytes_max: settings.cat_bytes_max,
                    // The tool's map is the only holder of stack ids (stackcount -i).
                    clear_stacks: true,
                },
                watch_pid: self.pid,
                quiet: true,
                notify_attached: settings.notify_attached,
                print_while_detaching: true,
                // exit() is the tool's timer (-d): counting stops there.
                settle_after_exit: false,
                ..SessionOptions::default()
            },
            command: None,
            max_probes: self.max_probes.unwrap_or(settings.max_probes),
        }
    }
}

impl Fallback {
    /// Applies each target's block (warning about those that cannot attach), then the rest;
    /// the number attached, or `first` when none could be.
    fn apply(&self, host: &mut Host, tool: &str, first: HostError) -> Result<usize, HostError> {
        let source = |text: &str| Source {
            name: tool.to_string(),
            text: text.to_string(),
        };
        let mut failed = Vec::new();
        let mut attached = 0;
        for block in &self.targets {
            match host.apply(source(block)) {
                Ok(_) => attached += 1,
                Err(e) => failed.push(e.to_string()),
            }
        }
        if attached == 0 {
            return Err(first);
        }
        for warning in failed {
            scry_runtime::eprintln_lossy!("WARNING: {warning}");
        }
        if !self.rest.is_empty() {
            host.apply(source(&self.rest))?;
        }
        Ok(attached)
    }
}

/// A host error shown: diagnostics at the generated program, or the engine's sentence.
fn shown(source: &Source, e: HostError) -> End {
    let parts = e.into_parts();
    crate::frontend::report(source, &parts.diagnostics, false);
    match parts.sentence {
        Some(s) => End::Error(s),
        None => End::Shown,
    }
}
