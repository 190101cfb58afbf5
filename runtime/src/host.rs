//! The incremental host: the one API that the CLI, the REPL and the tools drive.
//!
//! A [`Host`] holds everything a session knows: the catalog of the live system, the
//! environment the checker starts from (map types and C definitions fixed by earlier sources),
//! the object compiled so far (whose map, program, action and block indexes only grow), the
//! running session and the `-c` child. Each piece of program text is a *source* (a one-shot
//! program is source 0; each REPL entry is one more):
//!
//! - [`Host::check`] parses, checks and compiles a source, appending to the object and taking
//!   the additions back out into the [`Checked`] (no copy of the object); the host is left as
//!   it was and nothing touches the kernel (`-d` stops here);
//! - [`Host::load`] loads the new maps and programs against the live ones and commits the
//!   source (the session is created at the first load);
//! - [`Host::start`] runs the source's BEGIN blocks, then attaches its probes;
//! - [`Host::apply`] does all three; [`Host::detach`] removes one probe block for good;
//!   [`Host::finish`] detaches everything, runs END, prints the maps.
//!
//! Every error about a source is a [`HostError::Source`] with diagnostics at spans of that
//! source (parse, type, code generation and verifier errors alike); anything else is one
//! sentence. After an error the host is as it was before the call.

use std::collections::BTreeMap;
use std::ops::Range;

use scry_ebpf::codegen::{self, CompileOptions};
use scry_ebpf::object::{ActionKind, Lengths, Object, Slots, Trigger};
use scry_lang::ast::Program;
use scry_lang::cdefs::CDefs;
use scry_lang::check::{CheckOptions, Environment, TypedProgram};
use scry_lang::diag::Diagnostic;
use scry_lang::plugin::PluginSignature;
use scry_lang::span::Location;
use scry_stdlib::plugin::PluginCalls;
use scry_stdlib::sink::Sink;

use crate::catalog::LiveCatalog;
use crate::load::LoadError;
use crate::session::{Session, SessionError, SessionOptions};
use crate::sys::child::Child;

/// The front end recurses over the program; this much stack makes any input that passed the
/// lexer's nesting limit safe (it is reserved, not used).
const FRONT_END_STACK: usize = 256 << 20;

/// How a host checks, compiles and runs what it is given.
#[derive(Clone, Debug)]
pub struct HostOptions {
    /// What programs mean (positional parameters, `-p`, `--unsafe`, string size).
    pub check: CheckOptions,
    /// How they are compiled (map sizes, ring buffer).
    pub compile: CompileOptions,
    /// How the session runs. The host fills in the `-c` child's pid.
    pub session: SessionOptions,
    /// `-c CMD`: started when the session is created, released once the first source's
    /// probes are attached, ended with the session.
    pub command: Option<String>,
    /// BPFTRACE_MAX_PROBES: most attachments a session may hold.
    pub max_probes: u64,
}

/// A piece of program text and the name its diagnostics give it.
#[derive(Clone, Debug)]
pub struct Source {
    /// `stdin` for `-e`, the file name, or `entry N` in the REPL.
    pub name: String,
    /// The text.
    pub text: String,
}

/// A source checked and compiled, not loaded yet.
#[derive(Debug)]
pub struct Checked {
    /// The index the source will have.
    pub entry: usize,
    /// The parsed source.
    pub program: Program,
    /// Its types.
    pub typed: TypedProgram,
    /// Warnings (there were no errors).
    pub warnings: Vec<Diagnostic>,
    /// What this source adds to the host's object (maps, programs, blocks, actions...), to
    /// be appended at `at`: its indexes continue the host's object.
    pub added: Object,
    /// The host object's lengths when the source was checked: where `added` goes.
    pub at: Lengths,
    /// The programs this source adds, as indexes of the host's object.
    pub programs: Range<usize>,
    /// The probe blocks this source adds, as indexes of the host's object.
    pub blocks: Range<usize>,
}

impl Checked {
    /// Its attach points, BEGIN and END included, as bpftrace counts them (none when every
    /// attach point was left out: a kprobe on a kernel function that does not exist).
    pub fn probes(&self) -> usize {
        probe_count(&self.added.programs)
    }

    /// The host's object as it will be once this source is loaded (`-d` shows it).
    pub fn preview(&self, object: &Object) -> Object {
        let mut whole = object.clone();
        whole.append(self.added.clone());
        whole
    }
}

/// A source loaded into the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Added {
    /// Its index among the host's sources.
    pub entry: usize,
    /// Its programs, in [`Host::object`]'s programs.
    pub programs: Range<usize>,
    /// Its probe blocks, in [`Host::object`]'s blocks.
    pub blocks: Range<usize>,
    /// Attach points, BEGIN and END included, as bpftrace counts them.
    pub probes: usize,
}

/// Why a call failed. The host is left as it was.
#[derive(Debug)]
pub enum HostError {
    /// Problems at spans of the source given (syntax, types, code generation, the verifier).
    Source {
        /// Errors and warnings, in source order.
        diagnostics: Vec<Diagnostic>,
        /// A closing sentence, when there is more to say than the diagnostics.
        summary: Option<String>,
        /// The verifier's whole log, for a rejection.
        log: Option<String>,
    },
    /// Anything else, in one sentence: attaching, permissions.
    Message(String),
    /// Writing the output or reading the ring buffer failed (a closed output pipe among
    /// others).
    Io(std::io::Error),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::Source {
                summary: Some(s), ..
            } => f.write_str(s),
            HostError::Source { diagnostics, .. } => {
                match diagnostics.iter().find(|d| d.is_error()) {
                    Some(d) => f.write_str(&d.message),
                    None => f.write_str("the program has errors"),
                }
            }
            HostError::Message(m) => f.write_str(m),
            HostError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for HostError {}

/// A host error taken apart for showing: diagnostics at the source (none for an error that is
/// not about it), the verifier's whole log, and the closing sentence.
pub struct ErrorParts {
    /// Errors and warnings at spans of the source.
    pub diagnostics: Vec<Diagnostic>,
    /// The verifier's log, for a rejection (`-v` shows it).
    pub log: Option<String>,
    /// The sentence to show after the diagnostics (`ERROR: ...`), if any.
    pub sentence: Option<String>,
}

impl HostError {
    /// The error taken apart for showing.
    pub fn into_parts(self) -> ErrorParts {
        let (diagnostics, log, sentence) = match self {
            HostError::Source {
                diagnostics,
                summary,
                log,
            } => (diagnostics, log, summary),
            HostError::Message(m) => (Vec::new(), None, Some(m)),
            HostError::Io(e) => (Vec::new(), None, Some(e.to_string())),
        };
        ErrorParts {
            diagnostics,
            log,
            sentence,
        }
    }
}

impl From<SessionError> for HostError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Io(e) => HostError::Io(e),
            other => HostError::Message(other.to_string()),
        }
    }
}

impl From<String> for HostError {
    fn from(m: String) -> Self {
        HostError::Message(m)
    }
}

/// The session's state, grown one source at a time.
pub struct Host {
    opts: HostOptions,
    catalog: LiveCatalog,
    env: Environment,
    /// The object before the session exists (then the session holds it: one copy).
    object: Object,
    /// Sources loaded so far (their text is not kept: the object has what they became).
    sources: usize,
    /// Until the session exists.
    sink: Option<Box<dyn Sink>>,
    session: Option<Session>,
    child: Option<Child>,
    /// Until the session exists: where plugin function calls are made.
    plugin_calls: Option<Box<dyn PluginCalls>>,
    /// How to take back the source loaded last, until it has started.
    last: Option<Rollback>,
}

/// What [`Host::load`] changed, to undo it when the source cannot start.
struct Rollback {
    entry: usize,
    mark: Lengths,
    /// The maps the source created, in the environment.
    maps: Vec<String>,
    /// The C definitions before the source, when it added some.
    cdefs: Option<CDefs>,
}

impl Host {
    /// A host with nothing loaded; output will go to `sink`. Touches no kernel state.
    pub fn new(opts: HostOptions, sink: Box<dyn Sink>) -> Self {
        Host {
            object: codegen::new_object(&opts.compile),
            opts,
            catalog: LiveCatalog::new(),
            env: Environment::default(),
            sources: 0,
            sink: Some(sink),
            session: None,
            child: None,
            plugin_calls: None,
            last: None,
        }
    }

    /// The plugins loaded (their signatures, for the checker) and where their functions are
    /// called; again when the REPL loads one during the session (sources checked after it
    /// see it).
    pub fn set_plugins(
        &mut self,
        signatures: BTreeMap<String, PluginSignature>,
        calls: Box<dyn PluginCalls>,
    ) {
        self.env.set_plugins(signatures);
        match &mut self.session {
            Some(session) => session.set_plugin_calls(calls),
            None => self.plugin_calls = Some(calls),
        }
    }

    /// Parses, checks and compiles `source` against everything added so far.
    pub fn check(&mut self, source: &Source) -> Result<Checked, HostError> {
        let entry = self.sources;
        let object = match &mut self.session {
            Some(session) => &mut session.object,
            None => &mut self.object,
        };
        let (catalog, env, opts) = (&mut self.catalog, &self.env, &self.opts);
        let run = move || {
            let compiled = scry_lang::compile_in(&source.text, &*catalog, &opts.check, env);
            if !compiled.ok() {
                return Err(HostError::Source {
                    diagnostics: compiled.diagnostics,
                    summary: None,
                    log: None,
                });
            }
            let at = object.lengths();
            let programs = codegen::compile_into(
                object,
                &compiled.program,
                &compiled.typed,
                &opts.compile,
                entry,
            )
            .map_err(|d| {
                let mut diagnostics = compiled.diagnostics.clone();
                diagnostics.push(d);
                HostError::Source {
                    diagnostics,
                    summary: None,
                    log: None,
                }
            })?;
            let blocks = at.blocks..object.blocks.end();
            // The host stays as it was: the additions travel in `Checked` until `load`.
            let mut added = object.split_off(&at);
            for action in added.actions.values_mut() {
                if let ActionKind::HelperError(site) = &mut action.kind {
                    site.location = Location::of(&source.name, &source.text, site.span);
                }
            }
            Ok(Checked {
                entry,
                blocks,
                program: compiled.program,
                typed: compiled.typed,
                warnings: compiled.diagnostics,
                added,
                at,
                programs,
            })
        };
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .stack_size(FRONT_END_STACK)
                .spawn_scoped(scope, run)
                .map_err(|e| HostError::Message(format!("cannot start the compiler thread: {e}")))?
                .join()
                .map_err(|_| HostError::Message("internal error in the front end".into()))?
        })
    }

    /// Loads a checked source's maps and programs (creating the session, and starting the
    /// `-c` command held, at the first load) and commits it. Nothing runs or attaches yet.
    /// The session's ring buffer is as large as [`Host::size_ring`] last said (the CLI sizes
    /// it by what the program sends), else the options' size.
    pub fn load(&mut self, checked: Checked) -> Result<Added, HostError> {
        if checked.entry != self.sources {
            return Err(HostError::Message(format!(
                "internal error: source {} was checked as entry {}",
                self.sources, checked.entry
            )));
        }
        if checked.at != self.object().lengths() {
            return Err(HostError::Message(
                "internal error: the source was checked against another state of the session"
                    .into(),
            ));
        }
        let attachments: u64 = checked
            .added
            .programs
            .values()
            .filter(|p| p.trigger.attaches_at_start())
            .map(|p| {
                if p.fan_in.is_some() {
                    1
                } else {
                    p.attaches.len() as u64
                }
            })
            .sum::<u64>()
            + self.attachments();
        if attachments > self.opts.max_probes {
            return Err(HostError::Message(format!(
                "Can't attach to {attachments} probes because it exceeds the current limit of {} probes; raise BPFTRACE_MAX_PROBES to allow more",
                self.opts.max_probes
            )));
        }
        if attachments > 0 {
            // Overlap aya's feature probing with loading the programs.
            crate::attach::warm_up();
        }
        if self.session.is_none() {
            self.start_session(self.opts.compile.ringbuf_bytes)?;
        }
        let session = self
            .session
            .as_mut()
            .expect("the session exists once started");
        let probes = checked.probes();
        let mark = session.object.lengths();
        let mut new = checked.added;
        let added = session.add(&mut new).map_err(|e| source_error(e, &new))?;
        if self.opts.session.verbose {
            let programs: Vec<_> = session.loaded.programs.range(added.clone()).collect();
            let ids = programs
                .iter()
                .map(|(_, p)| format!("Program ID: {}", p.id()));
            let logs = programs.iter().map(|(_, p)| p.log().to_string());
            let notes: Vec<String> = ids.chain(logs.filter(|l| !l.is_empty())).collect();
            for note in notes {
                session.sink.note(&note).map_err(HostError::Io)?;
            }
        }
        self.last = Some(Rollback {
            entry: checked.entry,
            mark,
            maps: (checked.typed.maps.keys())
                .filter(|m| !self.env.maps.contains_key(*m))
                .cloned()
                .collect(),
            cdefs: (!checked.typed.cdefs.records.is_empty()
                || !checked.typed.cdefs.enum_constants.is_empty())
            .then(|| self.env.cdefs.clone()),
        });
        self.env.learn(&checked.typed);
        self.sources += 1;
        Ok(Added {
            entry: checked.entry,
            probes,
            programs: added,
            blocks: checked.blocks,
        })
    }

    /// Runs the BEGIN blocks of an added source, then (unless one called `exit()`) attaches
    /// its probes and lets the `-c` command go. On error none of its probes stays attached,
    /// and the source loaded last is taken back whole: its maps, programs and blocks go, as
    /// if it had never been loaded.
    pub fn start(&mut self, added: &Added) -> Result<(), HostError> {
        let started = self.run_and_attach(added);
        let last = self.last.take();
        if let (Err(_), Some(last)) = (&started, last) {
            if last.entry == added.entry {
                self.roll_back(last)?;
            }
        }
        started
    }

    fn run_and_attach(&mut self, added: &Added) -> Result<(), HostError> {
        let session = self.session_mut()?;
        session.run_programs(added.programs.clone(), Trigger::Begin)?;
        if session.exit_requested() {
            return Ok(());
        }
        session.attach_programs(added.programs.clone())?;
        if let Some(c) = self.child.as_mut() {
            c.release();
        }
        Ok(())
    }

    /// Takes back the source loaded last.
    fn roll_back(&mut self, last: Rollback) -> Result<(), HostError> {
        self.session_mut()?.truncate(last.mark)?;
        for m in &last.maps {
            self.env.maps.remove(m);
        }
        if let Some(cdefs) = last.cdefs {
            self.env.cdefs = cdefs;
        }
        self.sources = last.entry;
        Ok(())
    }

    /// Checks, loads and starts a source: what a REPL entry or a one-shot program is.
    pub fn apply(&mut self, source: Source) -> Result<Added, HostError> {
        let checked = self.check(&source)?;
        let added = self.load(checked)?;
        self.start(&added)?;
        Ok(added)
    }

    /// Removes probe block `block` for good: its probes detach, its END does not run, and
    /// nothing of it is kept (its programs, actions and the block itself go; their indexes
    /// are not given again). The maps it wrote stay.
    pub fn detach(&mut self, block: usize) -> Result<(), HostError> {
        if !self.object().blocks.contains(block) {
            return Err(HostError::Message(format!(
                "there is no probe block {block}"
            )));
        }
        self.session_mut()?.remove_block(block)?;
        Ok(())
    }

    /// Waits for records and signals until `exit()`, SIGINT/SIGTERM, or the `-c`/`-p`
    /// process exits (a program of only BEGIN and END waits too, as bpftrace does); returns at
    /// once when `exit()` already ran (in BEGIN).
    pub fn run_until_stopped(&mut self) -> Result<(), HostError> {
        self.session_mut()?
            .run_until_stopped()
            .map_err(HostError::from)
    }

    /// Detaches everything, runs END, prints the maps and ends the `-c` command.
    pub fn finish(mut self) -> Result<(), HostError> {
        let result = match self.session.take() {
            Some(session) => session
                .finish()
                .map_err(|e| HostError::Message(e.to_string())),
            None => Ok(()),
        };
        if let Some(c) = self.child.as_mut() {
            c.finish();
        }
        result
    }

    /// Sets the size of the ring buffer the session will have; once the session exists
    /// (after the first load or [`Host::open`]) its ring buffer keeps its size.
    pub fn size_ring(&mut self, bytes: u32) {
        if self.session.is_none() {
            self.opts.compile.ringbuf_bytes = bytes;
        }
    }

    /// Creates the session now if no source did yet (the REPL waits on its ring buffer
    /// before the first entry).
    pub fn open(&mut self) -> Result<(), HostError> {
        if self.session.is_none() {
            self.start_session(self.opts.compile.ringbuf_bytes)?;
        }
        Ok(())
    }

    /// Detaches everything without running END or printing (after an error).
    pub fn abort(mut self) {
        if let Some(s) = self.session.as_mut() {
            s.detach_all();
        }
    }

    /// Everything compiled and loaded so far.
    pub fn object(&self) -> &Object {
        match &self.session {
            Some(session) => &session.object,
            None => &self.object,
        }
    }

    /// How many sources were loaded so far (the next one is entry `sources()`).
    pub fn sources(&self) -> usize {
        self.sources
    }

    /// The map types and C definitions fixed so far.
    pub fn environment(&self) -> &Environment {
        &self.env
    }

    /// The catalog of the live system.
    pub fn catalog(&self) -> &LiveCatalog {
        &self.catalog
    }

    /// The running session, once a source is loaded.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The running session, mutably.
    pub fn session_mut(&mut self) -> Result<&mut Session, HostError> {
        self.session
            .as_mut()
            .ok_or_else(|| HostError::Message("nothing is loaded yet".into()))
    }

    /// Whether `exit()` has run.
    pub fn exit_requested(&self) -> bool {
        self.session.as_ref().is_some_and(Session::exit_requested)
    }

    /// Attachments of the programs loaded and not removed.
    fn attachments(&self) -> u64 {
        let Some(session) = &self.session else {
            return 0;
        };
        session
            .object
            .programs
            .values()
            .filter(|p| p.trigger.attaches_at_start())
            .map(|p| {
                if p.fan_in.is_some() {
                    1
                } else {
                    p.attaches.len() as u64
                }
            })
            .sum()
    }

    /// Creates the session, with only the maps every session has (a ring buffer of
    /// `ringbuf_bytes`: the first source's object may size it), starting the `-c` command
    /// (held) first so that `cpid` is known.
    fn start_session(&mut self, ringbuf_bytes: u32) -> Result<(), HostError> {
        let _ = crate::sys::raise_open_file_limit();
        let mut opts = self.opts.session.clone();
        let child = match &self.opts.command {
            Some(cmd) => {
                let child = Child::spawn(cmd)?;
                let pid = child.pid();
                opts.cpid = Some(pid);
                opts.attach.cpid = Some(pid);
                opts.watch_pid = Some(pid);
                Some(child)
            }
            None => None,
        };
        let sink = self
            .sink
            .take()
            .ok_or_else(|| HostError::Message("the session could not be created".into()))?;
        let base = codegen::new_object(&CompileOptions {
            ringbuf_bytes,
            ..self.opts.compile.clone()
        });
        let mut session =
            Session::new(base, opts, sink).map_err(|e| HostError::Message(e.to_string()))?;
        if let Some(calls) = self.plugin_calls.take() {
            session.set_plugin_calls(calls);
        }
        self.session = Some(session);
        self.child = child;
        Ok(())
    }
}

/// Attach points of `programs`, BEGIN and END included, as bpftrace counts them.
fn probe_count(programs: &Slots<scry_ebpf::object::ProgramSpec>) -> usize {
    programs
        .values()
        .map(|p| match p.trigger {
            Trigger::Attached | Trigger::WatchSetup => p.attaches.len(),
            // Counted by its setup program.
            Trigger::Watched => 0,
            Trigger::Begin | Trigger::End => 1,
        })
        .sum()
}

/// A load error as the source's problem: a verifier rejection becomes a diagnostic at the
/// span of the rejected instruction (a program of `added`, the source's additions); anything
/// else one sentence.
fn source_error(e: SessionError, added: &Object) -> HostError {
    match e {
        SessionError::Load(LoadError::Verifier {
            program,
            insn,
            reason,
            log,
        }) => {
            let span = added
                .programs
                .get(program)
                .and_then(|p| {
                    insn.and_then(|i| p.spans.get(i))
                        .or(added.blocks.get(p.probe_block).map(|b| &b.span))
                        .copied()
                })
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
            HostError::Source {
                diagnostics: vec![d],
                summary: Some("the kernel refused to load the program".into()),
                log: Some(log),
            }
        }
        other => HostError::Message(other.to_string()),
    }
}
