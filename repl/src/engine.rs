//! The session thread's side of the REPL: entries applied to the host, in the order typed.
//!
//! Each entry that is program text gets a number (`entry N` in its diagnostics, `#N` in the
//! answer), whether it worked or not. A probe block is checked against the session so far,
//! loaded against the live maps and attached; statements run once inside a BEGIN block that
//! is removed once it ran; `@map` prints a map. After an error nothing of the entry stays
//! attached and the session goes on.

use std::ops::Range;
use std::os::fd::OwnedFd;

use scry_ebpf::object::Trigger;
use scry_runtime::host::{Added, Host, HostError, Source};
use scry_runtime::wait::Waiter;
use scry_stdlib::sink::Format;

use crate::console::Console;
use crate::entry::{self, Kind};
use crate::plugins::SessionPlugins;
use crate::report::Reporter;
use crate::shared_out::SharedOut;
use crate::watch::Watch;

/// Lists probes as `-l`/`-lv` do: (pattern, verbose, `-p` pid) to the listing.
pub type Lister = fn(Option<&str>, bool, Option<u32>) -> Result<String, String>;

/// Whether the session goes on after an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Read the next entry.
    Continue,
    /// End the session (`.quit`).
    End,
}

/// One numbered entry that was applied and still counts: a program entry until it is
/// detached, a statements entry that changed maps (`.save` replays it).
#[derive(Clone, Debug)]
pub struct Entry {
    /// `#N`.
    pub number: usize,
    /// What the user typed.
    pub text: Box<str>,
    /// Probe blocks (`Some`) or statements (`None`).
    pub probes: Option<Box<Probes>>,
}

/// What a program entry added.
#[derive(Clone, Debug)]
pub struct Probes {
    /// Its probe blocks, in the host's object.
    pub blocks: Range<usize>,
    /// Its programs, in the host's object.
    pub programs: Range<usize>,
    /// Its attach points (BEGIN and END included), as they attached.
    pub names: Vec<String>,
    /// How many, as bpftrace counts them.
    pub count: usize,
}

/// The REPL's state on the session thread.
pub struct Engine {
    pub(crate) host: Host,
    /// The trace output's writer (`.format` makes a new sink over it).
    pub(crate) out: SharedOut,
    pub(crate) console: Console,
    pub(crate) reporter: Reporter,
    /// The entries attached, and the statements that changed maps, in order.
    pub(crate) entries: Vec<Entry>,
    /// Numbers given so far.
    numbered: usize,
    pub(crate) watch: Option<Watch>,
    pub(crate) list: Lister,
    pub(crate) pid: Option<u32>,
    /// Keeps the kernel counting program runs (`.probes` shows hits); `None` when it may not.
    pub(crate) run_stats: Option<OwnedFd>,
    /// The session's plugins; `None` when this REPL cannot load any.
    pub(crate) plugins: Option<Box<dyn SessionPlugins>>,
}

impl Engine {
    /// An engine over a host whose session is open; `pid` is `-p`'s, for `.list`.
    pub fn new(
        host: Host,
        out: SharedOut,
        console: Console,
        reporter: Reporter,
        list: Lister,
        pid: Option<u32>,
    ) -> Self {
        Engine {
            pid,
            host,
            out,
            console,
            reporter,
            entries: Vec::new(),
            numbered: 0,
            watch: None,
            list,
            run_stats: scry_runtime::sys::enable_run_stats().ok(),
            plugins: None,
        }
    }

    /// The session can load plugins through `plugins` (those loaded already are known to the
    /// checker from now on).
    /// The session's output in `format` goes through them (their sinks and formatters).
    pub fn with_plugins(mut self, plugins: Box<dyn SessionPlugins>, format: Format) -> Self {
        let sink = plugins.sink(
            crate::console_sink::new(format, &self.out, &self.console),
            format,
        );
        if let Err(e) = self.session(|s| {
            s.sink = sink;
            Ok(())
        }) {
            self.console.say(&format!("ERROR: {e}\n"));
        }
        self.plugins = Some(plugins);
        self.plugins_changed();
        self
    }

    /// Loads the plugins and formatters `text` declares (before its program, which may use
    /// them); false when one could not be (said).
    fn declare(&mut self, text: &str) -> bool {
        let preamble = scry_lang::lexer::lex(text).preamble;
        if preamble.plugins.is_empty() && preamble.formats.is_empty() {
            return true;
        }
        let Some(plugins) = self.plugins.as_mut() else {
            self.console
                .say("ERROR: plugins cannot be loaded in this session\n");
            return false;
        };
        let mut done = Ok(());
        for d in &preamble.plugins {
            done = done.and_then(|()| plugins.load(&d.name, std::path::Path::new(&d.path)));
        }
        for f in &preamble.formats {
            done = done.and_then(|()| plugins.set_formatter(&f.map, &f.plugin, &f.formatter));
        }
        self.plugins_changed();
        match done {
            Ok(()) => true,
            Err(e) => {
                self.console.say(&format!("ERROR: {e}\n"));
                false
            }
        }
    }

    /// Tells the host and the plugins what changed: the plugins' signatures (for the
    /// checker), the object (`scry_init` of new plugins, printf formats), the sink modes.
    fn plugins_changed(&mut self) {
        let Some(p) = self.plugins.as_mut() else {
            return;
        };
        self.host.set_plugins(p.signatures(), p.calls());
        p.init(self.host.object());
        if let Err(e) = self.session(|s| Ok(s.sink.flush()?)) {
            self.console.say(&format!("ERROR: {e}\n"));
        }
    }

    /// Applies one entry.
    pub fn handle(&mut self, text: &str) -> Next {
        let text = text.trim_end_matches('\n');
        if !matches!(entry::classify(text), Kind::Command(_)) && !self.declare(text) {
            return Next::Continue;
        }
        match entry::classify(text) {
            Kind::Blank => Next::Continue,
            Kind::Command(c) => self.command(c),
            Kind::Maps(name) => {
                self.print_maps(name);
                Next::Continue
            }
            Kind::Statements => {
                self.statements(text);
                Next::Continue
            }
            Kind::Program => {
                let number = self.next_number();
                self.program(number, format!("entry {number}"), text);
                Next::Continue
            }
        }
    }

    pub(crate) fn next_number(&mut self) -> usize {
        self.numbered += 1;
        self.numbered
    }

    /// Attaches a program entry; `name` names it in diagnostics.
    pub(crate) fn program(&mut self, number: usize, name: String, text: &str) {
        let source = Source {
            name,
            text: text.to_string(),
        };
        let Some(added) = self.apply(&source, None) else {
            return;
        };
        let names = self.attach_names(&added);
        let shown = match names.len() {
            0..=3 => names.join(", "),
            _ => format!("{}, ...", names[..3].join(", ")),
        };
        let plural = if added.probes == 1 { "" } else { "s" };
        self.console.say(&format!(
            "#{number} attached: {} probe{plural} ({shown})\n",
            added.probes
        ));
        self.entries.push(Entry {
            number,
            text: text.into(),
            probes: Some(Box::new(Probes {
                programs: added.programs,
                blocks: added.blocks,
                names,
                count: added.probes,
            })),
        });
    }

    /// Runs statements once.
    fn statements(&mut self, text: &str) {
        let number = self.next_number();
        let source = Source {
            name: format!("entry {number}"),
            text: entry::wrap(text),
        };
        if let Some(added) = self.apply(&source, Some(text)) {
            self.remove(added.blocks);
            // Statements that only print are done with; those that changed maps are part of
            // the session's state, which `.save` writes out.
            if entry::changes_maps(text) {
                self.entries.push(Entry {
                    number,
                    text: text.into(),
                    probes: None,
                });
            }
        }
    }

    /// Checks, loads and starts `source`, reporting what goes wrong against `shown` (the
    /// text the user typed, when `source` wraps it). On error nothing of it stays attached.
    fn apply(&mut self, source: &Source, shown: Option<&str>) -> Option<Added> {
        let checked = match self.host.check(source) {
            Ok(c) => c,
            Err(e) => {
                self.reporter.error(&self.console, source, shown, e);
                return None;
            }
        };
        self.reporter
            .warnings(&self.console, source, shown, &checked.warnings);
        if checked.probes() == 0 {
            // Every attach point was left out (the warnings say why): nothing to load.
            self.console.say("No probes to attach\n");
            return None;
        }
        let added = match self.host.load(checked) {
            Ok(a) => a,
            Err(e) => {
                self.reporter.error(&self.console, source, shown, e);
                return None;
            }
        };
        // Plugins learn the entry's printf formats before its BEGIN runs.
        if let Some(p) = self.plugins.as_mut() {
            p.init(self.host.object());
        }
        // On error the host takes the entry back whole (its maps too).
        if let Err(e) = self.host.start(&added) {
            self.reporter.error(&self.console, source, shown, e);
            return None;
        }
        Some(added)
    }

    /// Detaches probe blocks for good.
    pub(crate) fn remove(&mut self, blocks: Range<usize>) {
        for b in blocks {
            if let Err(e) = self.host.detach(b) {
                self.console.say(&format!("ERROR: {e}\n"));
            }
        }
    }

    /// The attach points of an added source, each once, in order.
    fn attach_names(&self, added: &Added) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (_, p) in self.host.object().programs.range(added.programs.clone()) {
            let own = match p.trigger {
                Trigger::Begin => vec!["BEGIN".to_string()],
                Trigger::End => vec!["END".to_string()],
                Trigger::Watched => Vec::new(),
                Trigger::Attached | Trigger::WatchSetup => {
                    p.attaches.iter().map(|a| a.name.clone()).collect()
                }
            };
            for n in own {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        names
    }

    /// `@name` (`Some`) or `@` (`None`): prints the map, or every map, as at exit.
    pub(crate) fn print_maps(&mut self, name: Option<&str>) {
        let printed = match name {
            None => self.session(|s| s.print_maps()),
            Some(name) => match (self.map_index(name), self.reducer_index(name)) {
                (Some(i), _) => self.session(|s| {
                    s.print_map(i)?;
                    s.sink.flush()?;
                    Ok(())
                }),
                (None, Some(r)) => self.session(|s| {
                    s.print_reducer(r)?;
                    s.sink.flush()?;
                    Ok(())
                }),
                (None, None) => Err(format!("there is no map @{name}")),
            },
        };
        if let Err(e) = printed {
            self.console.say(&format!("ERROR: {e}\n"));
        }
    }

    /// The names of the session's maps, without `@`.
    pub fn map_names(&self) -> Vec<String> {
        let maps = &self.host.object().user_maps;
        maps.iter().map(|m| m.name.clone()).collect()
    }

    /// The index (into the object's user maps) of map `@name`.
    pub(crate) fn map_index(&self, name: &str) -> Option<usize> {
        self.host
            .object()
            .user_maps
            .iter()
            .position(|m| m.name == name)
    }

    /// The index (into the object's reducer maps) of reducer map `@name`.
    pub(crate) fn reducer_index(&self, name: &str) -> Option<usize> {
        self.host
            .object()
            .reducer_maps
            .iter()
            .position(|m| m.name == name)
    }

    /// Runs `f` on the session; errors as one sentence.
    pub(crate) fn session<T>(
        &mut self,
        f: impl FnOnce(
            &mut scry_runtime::session::Session,
        ) -> Result<T, scry_runtime::session::SessionError>,
    ) -> Result<T, String> {
        let s = self.host.session_mut().map_err(|e| e.to_string())?;
        f(s).map_err(|e| e.to_string())
    }

    /// A waiter on the session's ring buffer and the signals.
    pub fn waiter(&mut self) -> Result<Waiter, String> {
        self.session(|s| Ok(s.waiter()?))
    }

    /// Handles what the probes wrote, a batch at a time (the session thread goes back to its
    /// signals and entries between batches; more data wakes it again).
    pub fn drain(&mut self) -> Result<(), String> {
        self.session(|s| s.drain_batch().map(drop))
    }

    /// Whether a probe called `exit()`.
    pub fn exit_requested(&self) -> bool {
        self.host.exit_requested()
    }

    /// Ends the session: detaches everything, runs END, prints every map.
    pub fn finish(self) -> Result<(), String> {
        self.host.finish().map_err(|e: HostError| e.to_string())
    }
}
