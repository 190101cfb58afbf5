//! A tracing session: the object loaded, BEGIN run, probes attached, records drained and
//! dispatched, and at the end probes detached, END run and maps printed.
//!
//! The session can grow while it runs: [`Session::add`] loads another object's programs
//! against the maps already there (the REPL), and [`Session::remove_block`] removes a probe
//! block for good.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd};

use aya::maps::{Map as AyaMap, MapData, RingBuf};
use scry_ebpf::codegen::{GLOBAL_CPID, GLOBAL_START_NS};
use scry_ebpf::object::{
    Lengths, Object, SyscallFanIn, Trigger, COUNTER_INDEX_OUT_OF_BOUNDS, COUNTER_LOST_EVENTS,
    COUNTER_MAP_FULL, COUNTER_STACK_LOST, TRACEPOINT_PROBE_ID,
};
use scry_lang::attach::Target;
use scry_stdlib::plugin::PluginCalls;
use scry_stdlib::sink::Sink;

use crate::after_exit;
use crate::attach::{self, AttachError, AttachOptions, Link};
use crate::load::{self, LoadError, LoadOptions, Loaded};
use crate::names::LiveNames;
use crate::records::{ActionOptions, Dispatcher, Effect};
use crate::snapshot;
use crate::sys::wait::{Waiter, Wake};

/// How a session runs.
#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    /// How programs are loaded (verifier log level and size).
    pub load: LoadOptions,
    /// How probes attach (`-p`).
    pub attach: AttachOptions,
    /// Settings of user-space actions (`cat` size).
    pub actions: ActionOptions,
    /// `-c`: the child's pid, for `cpid`.
    pub cpid: Option<u32>,
    /// Stop when this process exits (`-c` child or `-p` target).
    pub watch_pid: Option<u32>,
    /// `-q`: no "Attaching N probes..." line.
    pub quiet: bool,
    /// `__BPFTRACE_NOTIFY_PROBES_ATTACHED`: say so on stderr once attached.
    pub notify_attached: bool,
    /// `-v`: print program ids.
    pub verbose: bool,
    /// At the end, print the maps while the probes detach (BCC's tools read their maps
    /// before detaching), so that the kernel's grace periods of detaching overlap the
    /// printing; otherwise detach first, as bpftrace does.
    pub print_while_detaching: bool,
    /// After `exit()`, probes that can change a map stay attached until the ring buffer is
    /// quiet (`crate::after_exit`), as in bpftrace 0.17; otherwise (the BCC tools, whose
    /// `exit()` is a timer) they detach at once.
    pub settle_after_exit: bool,
}

/// Records handled between two looks at the signals.
const DRAIN_BATCH: usize = 4096;
/// Time spent handling records between two looks at the signals, in ns of the coarse
/// monotonic clock (a few ms of resolution, but read in a few ns: the precise clock cost as
/// much as handling a short printf record).
const DRAIN_TIME_NS: i128 = 20_000_000;

/// Why a session stopped early.
#[derive(Debug)]
pub enum SessionError {
    /// Loading failed; `program` indexes the object's programs.
    Load(LoadError),
    /// A probe could not attach (nothing stays attached).
    Attach(AttachError),
    /// Reading the ring buffer, a map, or writing the output failed.
    Io(io::Error),
}

impl From<io::Error> for SessionError {
    fn from(e: io::Error) -> Self {
        SessionError::Io(e)
    }
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::Load(e) => write!(f, "{e}"),
            SessionError::Attach(e) => write!(f, "{e}"),
            SessionError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// A running session.
pub struct Session {
    /// The compiled object (grows with [`Session::add`]).
    pub object: Object,
    /// Its maps and programs in the kernel.
    pub loaded: Loaded,
    /// The links of the programs attached, by program index.
    links: BTreeMap<usize, Vec<Link>>,
    ring: RingBuf<MapData>,
    names: LiveNames,
    /// Where the output goes.
    pub sink: Box<dyn Sink>,
    dispatcher: Dispatcher,
    opts: SessionOptions,
    exit_requested: bool,
    /// SIGINT or SIGTERM stopped [`Session::run_until_stopped`].
    signalled: bool,
    /// The watchpoints of function watchpoints set so far.
    watched: Vec<Watched>,
    /// The [`attach::MAX_WATCHPOINTS`] warning was given.
    watch_limit_warned: bool,
    /// `__BPFTRACE_NOTIFY_PROBES_ATTACHED` was said.
    notified: bool,
}

/// A watchpoint set at run time: `address` watched by program `program`.
struct Watched {
    program: usize,
    address: u64,
    links: Vec<Link>,
}

impl Session {
    /// Creates the maps and loads the programs; nothing runs yet.
    pub fn new(
        object: Object,
        opts: SessionOptions,
        sink: Box<dyn Sink>,
    ) -> Result<Self, SessionError> {
        let loaded = load::load(&object, opts.load.clone()).map_err(SessionError::Load)?;
        let ring_fd = loaded.maps[object.ringbuf].fd().try_clone_to_owned()?;
        let data = MapData::from_fd(ring_fd)
            .map_err(|e| io::Error::other(format!("cannot open the ring buffer: {e}")))?;
        let ring = RingBuf::try_from(AyaMap::RingBuf(data))
            .map_err(|e| io::Error::other(format!("cannot map the ring buffer: {e}")))?;
        let names = LiveNames::new(&object, &loaded);
        let s = Session {
            links: BTreeMap::new(),
            object,
            loaded,
            ring,
            names,
            sink,
            dispatcher: Dispatcher::new(opts.actions.clone()),
            opts,
            exit_requested: false,
            signalled: false,
            watched: Vec::new(),
            watch_limit_warned: false,
            notified: false,
        };
        s.set_global(
            GLOBAL_START_NS,
            crate::sys::clock::clock_ns(libc::CLOCK_BOOTTIME) as u64,
        )?;
        if let Some(cpid) = s.opts.cpid {
            s.set_global(GLOBAL_CPID, cpid as u64)?;
        }
        Ok(s)
    }

    fn set_global(&self, slot: u32, value: u64) -> io::Result<()> {
        let globals = &self.loaded.maps[self.object.globals];
        globals.update(&slot.to_le_bytes(), &value.to_le_bytes())
    }

    /// Runs the programs of `trigger` (BEGIN or END) once each and handles what they wrote.
    pub fn run_special(&mut self, trigger: Trigger) -> Result<(), SessionError> {
        self.run_programs(0..self.loaded.programs.end(), trigger)
    }

    /// Runs the programs of `trigger` among `programs` once each, in order, and handles what
    /// they wrote.
    pub fn run_programs(
        &mut self,
        programs: std::ops::Range<usize>,
        trigger: Trigger,
    ) -> Result<(), SessionError> {
        let run: Vec<usize> = (self.object.programs.range(programs))
            .filter(|(_, p)| p.trigger == trigger)
            .map(|(i, _)| i)
            .collect();
        for i in run {
            if let Some(p) = self.loaded.programs.get(i) {
                p.test_run()?;
                self.drain()?;
            }
        }
        Ok(())
    }

    /// Attaches every program that is not BEGIN/END; on error nothing stays attached.
    pub fn attach_all(&mut self) -> Result<(), SessionError> {
        self.attach_programs(0..self.loaded.programs.end())
    }

    /// Attaches the programs of `programs` that attach at start; on error none of them stays
    /// attached (programs attached before stay).
    pub fn attach_programs(
        &mut self,
        programs: std::ops::Range<usize>,
    ) -> Result<(), SessionError> {
        for i in crate::attach_order::order(&self.object, programs.clone()) {
            if let Err(e) = self.attach_program(i) {
                for j in programs {
                    self.detach_program(j);
                }
                return Err(e);
            }
        }
        if self.opts.notify_attached && !self.notified {
            self.sink.note("__BPFTRACE_NOTIFY_PROBES_ATTACHED")?;
            self.notified = true;
        }
        Ok(())
    }

    /// Removes probe block `block` and its programs for good: they are not attached or run
    /// again (END included), their fds close, and the session keeps nothing of them (their
    /// indexes are not given again). What they sent before detaching is handled first; a record
    /// of theirs that arrives later finds no action and is dropped.
    pub fn remove_block(&mut self, block: usize) -> Result<(), SessionError> {
        let programs: Vec<usize> = (self.object.programs.iter())
            .filter(|(_, p)| p.probe_block == block)
            .map(|(i, _)| i)
            .collect();
        for &i in &programs {
            self.detach_program(i);
        }
        let (gone, kept): (Vec<Watched>, Vec<Watched>) = std::mem::take(&mut self.watched)
            .into_iter()
            .partition(|w| programs.contains(&w.program));
        self.watched = kept;
        attach::detach_all(gone.into_iter().flat_map(|w| w.links).collect());
        self.drain()?;
        for &i in &programs {
            self.loaded.unload_program(i);
            self.links.remove(&i);
            // The maps only this program used close with it (their specs stay: a few bytes).
            let spec = &self.object.programs[i];
            let own = spec.fan_in.as_ref().map(|f| f.filter_map);
            for m in spec.scratch_map.into_iter().chain(own) {
                self.loaded.close_map(m);
            }
        }
        self.object.remove_block(block);
        Ok(())
    }

    /// Whether program `i` was removed.
    pub fn is_removed(&self, i: usize) -> bool {
        i < self.object.programs.end() && !self.object.programs.contains(i)
    }

    /// Whether program `i` has attach points attached now.
    pub fn is_attached(&self, i: usize) -> bool {
        self.links.get(&i).is_some_and(|l| !l.is_empty())
    }

    /// Attaches program `i` to its attach points.
    pub fn attach_program(&mut self, i: usize) -> Result<(), SessionError> {
        let (Some(p), Some(spec)) = (self.loaded.programs.get(i), self.object.programs.get(i))
        else {
            return Ok(());
        };
        if !spec.trigger.attaches_at_start() {
            return Ok(());
        }
        // A function watchpoint's uprobe watches the `-c` child too.
        let options = match spec.trigger {
            Trigger::WatchSetup => AttachOptions {
                pid: self.opts.attach.pid.or(self.opts.attach.cpid),
                ..self.opts.attach.clone()
            },
            _ => self.opts.attach.clone(),
        };
        let links = match &spec.fan_in {
            Some(fan_in) => {
                self.fill_fan_in_filter(fan_in)?;
                attach::attach(p, std::slice::from_ref(&fan_in.raw), &options)
            }
            None if spec.uprobe_multi => {
                attach::attach_uprobe_multi(p, &spec.attaches, &options, &self.object.probe_names)
            }
            None => attach::attach(p, &spec.attaches, &options),
        }
        .map_err(SessionError::Attach)?;
        self.links.insert(i, links);
        Ok(())
    }

    /// Writes the probe id of every traced system call into a fan-in program's filter map.
    fn fill_fan_in_filter(&self, fan_in: &SyscallFanIn) -> Result<(), SessionError> {
        let map = &self.loaded.maps[fan_in.filter_map];
        for call in &fan_in.calls {
            let id = TRACEPOINT_PROBE_ID | call.tracepoint_id;
            map.update(&call.nr.to_le_bytes(), &id.to_le_bytes())?;
        }
        Ok(())
    }

    /// Detaches program `i` while the others go on.
    pub fn detach_program(&mut self, i: usize) {
        if let Some(l) = self.links.remove(&i) {
            attach::detach_all(l);
        }
    }

    /// Detaches everything, in parallel.
    pub fn detach_all(&mut self) {
        attach::detach_all(self.take_links());
    }

    /// Every link of the session, taken out of it.
    fn take_links(&mut self) -> Vec<Link> {
        let mut all: Vec<Link> = std::mem::take(&mut self.links)
            .into_values()
            .flatten()
            .collect();
        all.extend(self.watched.drain(..).flat_map(|w| w.links));
        all
    }

    /// A function watchpoint's function ran in process `pid` with `address`: watch it with
    /// `program` (once per address and program, at most [`attach::MAX_WATCHPOINTS`]), then
    /// let the process go on if it stopped itself for this (`watchpoint`, not
    /// `asyncwatchpoint`). A watchpoint that cannot be set is a warning: the others go on.
    fn watch(&mut self, program: usize, address: u64, pid: u32) -> io::Result<()> {
        let (Some(p), Some(spec)) = (
            self.loaded.programs.get(program),
            self.object.programs.get(program),
        ) else {
            return Ok(());
        };
        let Some(at) = spec.attaches.first() else {
            return Ok(());
        };
        let mut warning = None;
        let known = self
            .watched
            .iter()
            .any(|w| w.program == program && w.address == address);
        // After `exit()` no watchpoint is set; the process is only let go.
        if !known && !self.dispatcher.exited {
            if self.watched.len() >= attach::MAX_WATCHPOINTS {
                if !self.watch_limit_warned {
                    warning = Some(format!(
                        "Failed to attach watchpoint probe. You are out of watchpoint registers: \
                         {} cannot watch {address:#x} (at most {} watchpoints can be set at once)",
                        at.name,
                        attach::MAX_WATCHPOINTS
                    ));
                    self.watch_limit_warned = true;
                }
            } else {
                match attach::attach_watchpoint(p, at, address, pid) {
                    Ok(links) => self.watched.push(Watched {
                        program,
                        address,
                        links,
                    }),
                    Err(e) => warning = Some(format!("{e} (address {address:#x}, pid {pid})")),
                }
            }
        }
        if at.kind.descriptor().stops_process {
            crate::sys::process::resume(pid);
        }
        match warning {
            Some(w) => self.sink.warning(&w),
            None => Ok(()),
        }
    }

    /// `unwatch(address)`: detaches every watchpoint on `address`, those set at run time and
    /// those of `watchpoint:ADDRESS:...` probes.
    fn unwatch(&mut self, address: u64) {
        let (gone, kept): (Vec<Watched>, Vec<Watched>) = std::mem::take(&mut self.watched)
            .into_iter()
            .partition(|w| w.address == address);
        self.watched = kept;
        let mut links: Vec<Link> = gone.into_iter().flat_map(|w| w.links).collect();
        for (i, p) in self.object.programs.iter() {
            let on_address = p.attaches.iter().any(|a| {
                matches!(a.target, Target::Watchpoint { address: Some(at), .. } if at == address)
            });
            if on_address {
                if let Some(mut l) = self.links.remove(&i) {
                    links.append(&mut l);
                }
            }
        }
        attach::detach_all(links);
    }

    /// Loads the maps and programs of `added` against this session's (the REPL): `added` is
    /// what a source appends to this session's object (split off it at its current lengths,
    /// as `scry_runtime::host::Host::check` does), so its indexes continue the object's. On
    /// success it is appended to the object (and left empty); returns the range of programs
    /// added. On error nothing of it stays loaded, it is left as it was, and the session goes
    /// on as before.
    pub fn add(&mut self, added: &mut Object) -> Result<std::ops::Range<usize>, SessionError> {
        let old_maps = self.object.maps.len();
        self.loaded
            .add_maps(&added.maps)
            .map_err(SessionError::Load)?;
        let range = match self.loaded.load_more(&added.programs) {
            Ok(range) => range,
            Err(e) => {
                self.loaded.truncate_maps(old_maps);
                return Err(SessionError::Load(e));
            }
        };
        self.object.append(std::mem::take(added));
        self.names
            .extend(LiveNames::new(&self.object, &self.loaded));
        Ok(range)
    }

    /// Plugin function calls in records are made through `plugins`.
    pub fn set_plugin_calls(&mut self, plugins: Box<dyn PluginCalls>) {
        self.dispatcher.plugins = Some(plugins);
    }

    /// Removes everything added after `mark` (a source whose probes could not attach): its
    /// programs detach, what they wrote is handled, then its programs and maps close and the
    /// object goes back to `mark`, as if the source had never been added.
    pub fn truncate(&mut self, mark: Lengths) -> Result<(), SessionError> {
        let programs = mark.programs;
        for i in programs..self.object.programs.end() {
            self.detach_program(i);
        }
        let (gone, kept): (Vec<Watched>, Vec<Watched>) = std::mem::take(&mut self.watched)
            .into_iter()
            .partition(|w| w.program >= programs);
        self.watched = kept;
        attach::detach_all(gone.into_iter().flat_map(|w| w.links).collect());
        // Records already queued name the source's actions: handled before they go.
        self.drain()?;
        self.links.retain(|&i, _| i < programs);
        self.loaded.truncate_programs(programs);
        self.loaded.truncate_maps(mark.maps);
        self.object.truncate(&mark);
        self.dispatcher.counts.truncate(mark.reducer_maps);
        self.names.truncate(&self.object);
        Ok(())
    }

    /// Handles every record in the ring buffer.
    pub fn drain(&mut self) -> Result<(), SessionError> {
        self.drain_at_most(usize::MAX).map(drop)
    }

    /// Handles the records in the ring buffer for at most [`DRAIN_TIME_NS`] (at most
    /// [`DRAIN_BATCH`] of them), so that a caller waiting on signals too stays responsive
    /// however busy the probes are; returns whether more may be waiting.
    pub fn drain_batch(&mut self) -> Result<bool, SessionError> {
        self.drain_at_most(DRAIN_BATCH)
    }

    /// Handles at most `limit` records, for at most [`DRAIN_TIME_NS`] (a `system()` record runs
    /// a command); returns whether the ring buffer may hold more.
    fn drain_at_most(&mut self, limit: usize) -> Result<bool, SessionError> {
        let mut handled = 0;
        let started = coarse_ns();
        let more = loop {
            if handled == limit || (limit != usize::MAX && coarse_ns() - started > DRAIN_TIME_NS) {
                break true;
            }
            let Some(item) = self.ring.next() else {
                break false;
            };
            handled += 1;
            let effect = self.dispatcher.handle(
                &item,
                &self.object,
                &self.loaded,
                &self.names,
                self.sink.as_mut(),
            )?;
            // The record is done with; the ring buffer may be borrowed again.
            drop(item);
            self.report_name_errors()?;
            match effect {
                Effect::Exit => self.exit_requested = true,
                Effect::UserProcess(pid) => {
                    self.names.user_symbols().remember(pid);
                    // The `-c` child stopped itself for this (see `note_user_pid` in scry-ebpf).
                    if self.opts.cpid == Some(pid) {
                        crate::sys::process::resume(pid);
                    }
                }
                Effect::Watch {
                    program,
                    address,
                    pid,
                } => self.watch(program, address, pid)?,
                Effect::Unwatch(address) => self.unwatch(address),
                Effect::None => {}
            }
        };
        // The records held back for their plugin calls: one batch per plugin function.
        self.dispatcher
            .flush(&self.object, &self.loaded, &self.names, self.sink.as_mut())?;
        self.sink.flush()?;
        Ok(more)
    }

    /// Waits for records and signals until `exit()`, SIGINT/SIGTERM, or the watched process
    /// exits.
    pub fn run_until_stopped(&mut self) -> Result<(), SessionError> {
        if self.exit_requested {
            return Ok(());
        }
        let waiter = self.waiter()?;
        // Records are handled in batches, and the signals looked at between them: a program
        // whose own output makes its probes fire again (printing from a malloc probe) would
        // otherwise keep the drain busy for ever. A stop does not drain: `finish` detaches
        // first, then drains what is left.
        let mut more = false;
        loop {
            let timeout = if more { 0 } else { -1 };
            more = false;
            for wake in waiter.wait(timeout)? {
                match wake {
                    Wake::Data => more = self.drain_batch()?,
                    Wake::PrintMaps => self.print_maps()?,
                    Wake::Input => {}
                    Wake::Stop | Wake::Interrupt => {
                        // Told to stop: what is still queued prints, but commands queued by
                        // system() are not started any more (each may take milliseconds).
                        self.dispatcher.commands_skipped = Some(0);
                        self.signalled = true;
                        return Ok(());
                    }
                    Wake::ProcessExited => return Ok(()),
                }
            }
            if more && !self.exit_requested {
                more = self.drain_batch()?;
            }
            if self.exit_requested {
                return Ok(());
            }
        }
    }

    /// A waiter on this session's ring buffer, the signals and the watched process.
    pub fn waiter(&self) -> io::Result<Waiter> {
        Waiter::new(self.ring.as_fd().as_raw_fd(), self.opts.watch_pid)
    }

    /// Whether `exit()` has run.
    pub fn exit_requested(&self) -> bool {
        self.exit_requested
    }

    /// Prints every map, as at exit and on SIGUSR1.
    pub fn print_maps(&mut self) -> Result<(), SessionError> {
        // Kernel maps and reducer maps (folded by plugins), all by name.
        let mut names: Vec<(&str, Result<usize, usize>)> =
            snapshot::all_in_print_order(&self.object)
                .into_iter()
                .map(|i| (self.object.user_maps[i].name.as_str(), Ok(i)))
                .chain(
                    self.object
                        .reducer_maps
                        .iter()
                        .enumerate()
                        .map(|(i, r)| (r.name.as_str(), Err(i))),
                )
                .collect();
        names.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let order: Vec<Result<usize, usize>> = names.into_iter().map(|(_, i)| i).collect();
        for i in order {
            match i {
                Ok(i) => self.print_map(i)?,
                Err(r) => self.print_reducer(r)?,
            }
        }
        self.sink.flush()?;
        Ok(())
    }

    /// Prints user map `index` (into [`Object::user_maps`]) as at exit.
    pub fn print_map(&mut self, index: usize) -> Result<(), SessionError> {
        let dump = snapshot::dump(&self.object, &self.loaded, index, &self.names)?;
        self.report_name_errors()?;
        self.sink.map(&dump, 0, 0)?;
        Ok(())
    }

    /// Prints reducer map `index` (into [`Object::reducer_maps`]) as at exit.
    pub fn print_reducer(&mut self, index: usize) -> Result<(), SessionError> {
        if let Some(mut cx) = reducer_context(
            &self.object,
            &self.loaded,
            &self.names,
            &mut self.dispatcher,
        ) {
            crate::plugin_calls::print_reducer(&mut cx, index, u64::MAX, self.sink.as_mut(), 0)?;
        }
        Ok(())
    }

    /// Clears reducer map `index` (into [`Object::reducer_maps`]), as `clear()` does.
    pub fn clear_reducer(&mut self, index: usize) -> Result<(), SessionError> {
        let Some(mut cx) = reducer_context(
            &self.object,
            &self.loaded,
            &self.names,
            &mut self.dispatcher,
        ) else {
            return Ok(());
        };
        let Some(spec) = cx.object.reducer_maps.get(index) else {
            return Ok(());
        };
        // What the kernel counted so far is sent first, so the clear drops it with the rest
        // and later prints send only what is counted after it.
        cx.drain(index, u64::MAX)?;
        let r = scry_stdlib::plugin::ReducerRef {
            map: index,
            plugin: &spec.plugin,
            item: spec.item,
        };
        cx.plugins.reset(r, None, true);
        Ok(())
    }

    /// Reports through the sink what naming the values of a record or map could not do.
    fn report_name_errors(&mut self) -> io::Result<()> {
        for e in self.names.take_errors() {
            self.sink.error(&e)?;
        }
        Ok(())
    }

    /// Detaches, runs END, prints the maps and the lost-event count (with
    /// [`SessionOptions::print_while_detaching`], the links close on another thread meanwhile).
    /// After `exit()`, the probes that can change a map first stay attached until the ring
    /// buffer is quiet ([`SessionOptions::settle_after_exit`]).
    pub fn finish(mut self) -> Result<(), SessionError> {
        if self.exit_requested && !self.signalled && self.opts.settle_after_exit {
            self.settle()?;
        }
        if !self.opts.print_while_detaching {
            self.detach_all();
            return self.end();
        }
        let links = self.take_links();
        std::thread::scope(|s| {
            // A thread that cannot start drops its closure: the links close before printing.
            let _ = std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn_scoped(s, || attach::detach_all(links));
            self.end()
        })
    }

    /// Drains, runs END, prints the maps and the counters of what was lost.
    fn end(&mut self) -> Result<(), SessionError> {
        self.drain()?;
        // END's own records print.
        self.dispatcher.exited = false;
        self.run_special(Trigger::End)?;
        let lost = self.counter(COUNTER_LOST_EVENTS);
        self.sink.exit_newlines()?;
        self.print_maps()?;
        if lost > 0 {
            self.sink.lost(lost)?;
        }
        let stacks_lost = self.counter(COUNTER_STACK_LOST);
        if stacks_lost > 0 {
            self.sink.warning(&format!(
                "{stacks_lost} stacks were not recorded because a stack map was full or two stacks collided; raise BPFTRACE_MAP_KEYS_MAX (now {})",
                self.object.stack_maps.first().map_or(0, |s| self.object.maps[s.map].max_entries)
            ))?;
        }
        if let Some(n @ 1..) = self.dispatcher.commands_skipped {
            self.sink.warning(&format!(
                "{n} system() commands were not run: the session was stopping"
            ))?;
        }
        let outside = self.counter(COUNTER_INDEX_OUT_OF_BOUNDS);
        if outside > 0 {
            self.sink.warning(&format!(
                "{outside} array read{} had an index out of bounds and gave 0",
                if outside == 1 { "" } else { "s" }
            ))?;
        }
        let full = self.counter(COUNTER_MAP_FULL);
        if full > 0 {
            self.sink.warning(&format!(
                "{full} map updates were dropped because a map was full; raise BPFTRACE_MAP_KEYS_MAX (now {})",
                self.object.user_maps.first().map_or(0, |u| self.object.maps[u.map].max_entries)
            ))?;
        }
        self.sink.flush()?;
        Ok(())
    }

    /// After `exit()`: detaches at once the probes that need not stay
    /// ([`after_exit::stays_attached`]), and keeps the others until no record has come for [`after_exit::QUIET_NS`] (what comes is dropped),
    /// for at most [`after_exit::SETTLE_MAX_NS`]; SIGINT/SIGTERM or the end of the watched
    /// process end the wait at once, SIGUSR1 prints the maps.
    fn settle(&mut self) -> Result<(), SessionError> {
        let idle: Vec<usize> = (self.links.keys().copied())
            .filter(|&i| {
                (self.object.programs.get(i))
                    .is_none_or(|p| !after_exit::stays_attached(&self.object, p))
            })
            .collect();
        let idle: Vec<Link> = (idle.into_iter())
            .filter_map(|i| self.links.remove(&i))
            .flatten()
            .collect();
        let changing = self.links.values().any(|l| !l.is_empty())
            || (self.watched.iter()).any(|w| {
                (self.object.programs.get(w.program))
                    .is_some_and(|p| after_exit::stays_attached(&self.object, p))
            });
        // A watched process already gone (its pidfd cannot be opened) ends the wait too.
        let waiter = match self.waiter() {
            Ok(waiter) if changing => waiter,
            _ => {
                attach::detach_all(idle);
                return Ok(());
            }
        };
        std::thread::scope(|s| {
            // Closing a probe may wait for the kernel's grace periods: not on the wait's time.
            // A thread that cannot start drops its closure: the links close at once.
            let _ = std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn_scoped(s, || attach::detach_all(idle));
            let started = monotonic_ns();
            let mut heard = started;
            loop {
                let left = (heard + after_exit::QUIET_NS).min(started + after_exit::SETTLE_MAX_NS)
                    - monotonic_ns();
                if left <= 0 {
                    return Ok(());
                }
                let timeout_ms = i32::try_from((left + 999_999) / 1_000_000).unwrap_or(i32::MAX);
                for wake in waiter.wait(timeout_ms)? {
                    match wake {
                        Wake::Data => {
                            // Dropped in batches: a signal is seen between two.
                            self.drain_batch()?;
                            heard = monotonic_ns();
                        }
                        Wake::PrintMaps => self.print_maps()?,
                        Wake::Input => {}
                        Wake::Stop | Wake::Interrupt => {
                            self.signalled = true;
                            return Ok(());
                        }
                        Wake::ProcessExited => return Ok(()),
                    }
                }
            }
        })
    }

    /// The sum over CPUs of counter `slot`.
    fn counter(&self, slot: u32) -> u64 {
        let map = &self.loaded.maps[self.object.counters];
        match map.lookup(&slot.to_le_bytes()) {
            Ok(Some(v)) => map
                .per_cpu(&v)
                .map(|c| {
                    u64::from_le_bytes(
                        c.get(..8)
                            .and_then(|b| b.try_into().ok())
                            .unwrap_or_default(),
                    )
                })
                .sum(),
            _ => 0,
        }
    }
}

/// The monotonic clock, in ns.
fn monotonic_ns() -> i128 {
    crate::sys::clock::clock_ns(libc::CLOCK_MONOTONIC)
}

/// The coarse monotonic clock, in ns.
fn coarse_ns() -> i128 {
    crate::sys::clock::clock_ns(libc::CLOCK_MONOTONIC_COARSE)
}

/// Where reducer maps are printed and reset, when a plugin is loaded (the session's fields
/// apart, so that its sink stays free).
fn reducer_context<'a>(
    object: &'a Object,
    loaded: &'a Loaded,
    names: &'a LiveNames,
    dispatcher: &'a mut Dispatcher,
) -> Option<crate::plugin_calls::ReducerContext<'a>> {
    Some(crate::plugin_calls::ReducerContext {
        object,
        loaded,
        names,
        counts: &mut dispatcher.counts,
        plugins: dispatcher.plugins.as_deref_mut()?,
    })
}
