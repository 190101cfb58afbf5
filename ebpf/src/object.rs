//! A compiled program: what the code generator hands to the runtime. It holds the BPF programs
//! and maps, and the layouts that user space needs to read maps and ring-buffer records.

use scry_lang::attach::Attach;
use scry_lang::format::Piece;
use scry_lang::span::{Location, Span};
use scry_lang::types::{Agg, Type};

use crate::insn::Insn;
pub use crate::slots::Slots;

/// Kinds of BPF maps scry creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    Hash = 1,
    Array = 2,
    PerCpuHash = 5,
    PerCpuArray = 6,
    StackTrace = 7,
    LruHash = 9,
    RingBuf = 27,
}

/// A map to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapSpec {
    /// Name for people and for the kernel (`bpftool map` shows it, cut to 15 bytes).
    pub name: String,
    pub kind: MapKind,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

/// The kernel program type a program is loaded as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgType {
    Kprobe = 2,
    Tracepoint = 5,
    PerfEvent = 7,
    RawTracepoint = 17,
    /// fentry/fexit (kfunc/kretfunc): loaded for one kernel function, whose name and entry or
    /// exit side come from the program's single attach point.
    Tracing = 26,
}

/// When a program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Run once, before any probe attaches.
    Begin,
    /// Run once, after every probe has detached.
    End,
    /// Attached to the program's attach points.
    Attached,
    /// The uprobe of a function watchpoint (`fn+argN`): attached at start like
    /// [`Trigger::Attached`], but scoped to the `-c` child too (it reports the address to
    /// watch in that process).
    WatchSetup,
    /// A function watchpoint's program: attached by the runtime, when its setup program
    /// reports an address ([`ActionKind::Watch`]), to that address of that process.
    Watched,
}

impl Trigger {
    /// Whether programs of this trigger attach when the session starts.
    pub fn attaches_at_start(self) -> bool {
        matches!(self, Trigger::Attached | Trigger::WatchSetup)
    }
}

/// One BPF program.
#[derive(Clone, Debug)]
pub struct ProgramSpec {
    /// Unique within the object, e.g. `p0_tracepoint`.
    pub name: String,
    pub prog_type: ProgType,
    pub trigger: Trigger,
    pub insns: Vec<Insn>,
    /// The source span each instruction came from (parallel to `insns`).
    pub spans: Vec<Span>,
    /// Where it attaches (empty for BEGIN/END).
    pub attaches: Vec<Attach>,
    /// Index of its probe block in [`Object::blocks`].
    pub probe_block: usize,
    /// The actions (record kinds) its code sends, as indexes of [`Object::actions`]: they go
    /// when it is removed (except a [`ActionKind::UserPid`], which every program shares).
    pub actions: std::ops::Range<usize>,
    /// Set when the program serves many `syscalls:` tracepoints through one raw_syscalls
    /// tracepoint (attaching and detaching hundreds of tracepoints is slow).
    pub fan_in: Option<SyscallFanIn>,
    /// For a fentry/fexit (kfunc/kretfunc) program: the BTF id of the kernel function it is
    /// loaded for (the checker read it with the prototype).
    pub attach_btf_id: Option<u32>,
    /// The per-CPU array map holding its frame when the BPF stack is too small (an index of
    /// [`Object::maps`]): no other program uses it, so it closes when the program is removed.
    pub scratch_map: Option<usize>,
    /// Its uprobes attach through one uprobe_multi link per file, whose cookies carry the
    /// probe ids (the program is loaded for that attach type).
    pub uprobe_multi: bool,
}

/// One raw_syscalls tracepoint standing for many `syscalls:sys_enter_*`/`sys_exit_*` ones.
/// The record layouts agree: `id` where `__syscall_nr` is, the arguments (or `ret`) after it.
#[derive(Clone, Debug)]
pub struct SyscallFanIn {
    /// The raw_syscalls tracepoint actually attached (`sys_enter` or `sys_exit`).
    pub raw: Attach,
    /// An array map indexed by system call number: the probe id of the tracepoint it stands
    /// for, 0 for calls not traced. User space fills it from `calls` before attaching.
    pub filter_map: usize,
    /// The calls served.
    pub calls: Vec<FanInCall>,
}

/// One system call a [`SyscallFanIn`] program serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FanInCall {
    /// The system call number.
    pub nr: u32,
    /// Index of its tracepoint in the program's `attaches`.
    pub attach: usize,
    /// That tracepoint's event id (the checker read it): [`TRACEPOINT_PROBE_ID`] plus it is
    /// the probe id the program records.
    pub tracepoint_id: u64,
}

/// Where a value sits in a key, value or record: `ty` at byte `offset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub ty: Type,
    pub offset: usize,
}

/// How a map's value is laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueLayout {
    /// A plain value (`@x = expr`), in a hash map.
    Plain(Type),
    /// An aggregation kept per CPU: count/sum are one u64; avg/stats are (count, total);
    /// min/max are (value, set); hist/lhist keys end with a u64 bucket index and the value is
    /// the bucket's count.
    Agg(Agg),
}

/// One `@map` of the program.
#[derive(Clone, Debug)]
pub struct UserMap {
    /// Without the `@`.
    pub name: String,
    /// Index into [`Object::maps`].
    pub map: usize,
    /// The key fields (empty for `@x`, whose BPF key is one zero u64).
    pub keys: Vec<Field>,
    pub value: ValueLayout,
}

/// What user space does with a ring-buffer record.
#[derive(Clone, Debug)]
pub enum ActionKind {
    /// `printf`: format and write.
    Printf(Vec<Piece>),
    /// `system` (with --unsafe): format, then run through the shell.
    System(Vec<Piece>),
    /// `cat`: format a file name, then copy the file out.
    Cat(Vec<Piece>),
    /// `print(value)`.
    PrintValue,
    /// `print(@map, top, div)`: the map's index in [`Object::user_maps`]; top and div are
    /// the record's two arguments.
    PrintMap(usize),
    /// `clear(@map)`.
    Clear(usize),
    /// `zero(@map)`.
    Zero(usize),
    /// `time(fmt)`.
    Time(String),
    /// `exit()`.
    Exit,
    /// A process whose user addresses (`ustack`, `usym`, `func`) were recorded for the first
    /// time: user space keeps its memory map so that they resolve after it exits. The record
    /// holds the pid.
    UserPid,
    /// `join(argv, sep)`: the record holds [`JOIN_ARGS`] strings of [`JOIN_ARG_SIZE`] bytes,
    /// up to the first empty one; user space joins them with the separator.
    Join(String),
    /// A function watchpoint's function ran: watch the address in the record (u64) in the
    /// process of the record's pid (u64) with program [`Object::programs`]`[.0]`; for a
    /// `watchpoint` (not `asyncwatchpoint`) the process stopped itself and waits for SIGCONT.
    Watch(usize),
    /// `@m[keys] = p::r(value)`: the record holds the keys, then the value; the index is in
    /// [`Object::reducer_maps`].
    Reduce(usize),
    /// `print(@m, top, div)` of a reducer map (with kernel counts, a last field `before`: see
    /// [`KernelCounts`]; also for the three below).
    PrintReducer(usize),
    /// `clear(@m)` of a reducer map.
    ClearReducer(usize),
    /// `zero(@m)` of a reducer map.
    ZeroReducer(usize),
    /// `delete(@m[keys])` of a reducer map: the record holds the keys.
    DeleteReducer(usize),
    /// `unwatch(addr)`: remove the watchpoints on the address in the record (u64).
    Unwatch,
    /// A helper failed (`-k`/`-kk`): the record holds its return code (i64).
    HelperError(HelperSite),
}

/// A helper call whose failure is reported (`-k`, `-kk`), as bpftrace 0.17 reports it.
#[derive(Clone, Debug)]
pub struct HelperSite {
    /// bpftrace's name of the helper (`probe_read`, `map_lookup_elem`).
    pub helper: &'static str,
    /// The expression that called it.
    pub span: Span,
    /// Where that is in its source: filled in by whoever holds the text (the host).
    pub location: Location,
}

/// A map whose values a plugin reducer folds (`@m[k] = p::r(v)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReducerMapSpec {
    /// The map's name without `@`.
    pub name: String,
    /// The plugin's name.
    pub plugin: String,
    /// The reducer's item index.
    pub item: u32,
    /// Where the kernel counts the map's values, for a weighted reducer (ABI 1.1); `None`:
    /// every value is a record.
    pub counts: Option<KernelCounts>,
}

/// A weighted reducer's values counted in the kernel (docs/plugins.md, "Weighted reducers").
///
/// The counts map is a per-CPU hash whose key is the record's keys, then the value (rounded,
/// for [`KernelCounts::rounded`]) as a u64, then the map's generation as a u64; its value is
/// a u64 count, followed for a rounded reducer by the smallest and largest exact value seen
/// (an entry's count is written after them). The kernel keeps counting (user space sends the
/// difference with what it last saw). `print`, `clear`, `zero` and `delete` of the map move it
/// to a new generation, and their records end with it as a u64 `before`: the entries of
/// generations below it were counted before the record was sent, the others after. When an
/// entry cannot be added (the map is full) the event is sent as a record instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelCounts {
    /// Index into [`Object::maps`] of the counts.
    pub map: usize,
    /// Index into [`Object::maps`] of the one-slot array holding the generation.
    pub generation: usize,
    /// The key fields, at their offsets in the counts key.
    pub keys: Vec<Field>,
    /// Offset of the value in the counts key (the generation follows it).
    pub value: usize,
    /// Whether values are signed (an `i64` reducer).
    pub signed: bool,
    /// Values are rounded to this many significant bits (`weighted rounded BITS`).
    pub rounded: Option<u8>,
}

impl KernelCounts {
    /// Bytes of a counts entry's value (per CPU).
    pub fn value_size(&self) -> usize {
        if self.rounded.is_some() {
            24
        } else {
            8
        }
    }
}

/// A plugin function call in a record: fields `first..first + args` are its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginCallSite {
    /// Its first argument's index in [`Action::args`].
    pub first: usize,
    /// How many fields its arguments take.
    pub args: usize,
    /// The plugin's name.
    pub plugin: String,
    /// The function's item index in the plugin's descriptor.
    pub item: u32,
}

/// Strings a `join()` record holds (bpftrace 0.17's `join_argnum`).
pub const JOIN_ARGS: usize = 16;
/// Bytes of each string of a `join()` record (bpftrace 0.17's `join_argsize`).
pub const JOIN_ARG_SIZE: usize = 1024;

/// A kind of record with its argument layout. A record is a u64 action id (the index in
/// [`Object::actions`]) followed by the arguments at their offsets.
#[derive(Clone, Debug)]
pub struct Action {
    pub kind: ActionKind,
    pub args: Vec<Field>,
    /// Bytes of the whole record, id included.
    pub size: usize,
    /// Plugin function calls among the arguments: each takes its arguments' fields, and user
    /// space puts the call's result in their place. In field order.
    pub calls: Vec<PluginCallSite>,
}

/// Probe ids of the `probe` builtin: a small number is an index into [`Object::probe_names`];
/// [`TRACEPOINT_PROBE_ID`] plus a tracepoint's event id names that tracepoint (raw_syscalls
/// fan-in programs record those).
pub const TRACEPOINT_PROBE_ID: u64 = 1 << 32;

/// A probe block as written: the unit a session adds and removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// The source it was written in (0 for a one-shot program; each REPL entry is one).
    pub entry: usize,
    /// Its span in that source.
    pub span: Span,
}

/// Everything the runtime needs. Every index, once given, names the same map, program, action
/// or block for the object's whole life (a session adds to it). Programs, blocks and actions
/// are [`Slots`]: a session removes those of a probe block it detaches (their indexes are
/// not given again); the other lists only grow (maps stay when the programs that wrote them
/// go, and the names, formats and filters are interned: map values refer to them).
#[derive(Clone, Debug, Default)]
pub struct Object {
    pub maps: Vec<MapSpec>,
    /// The probe blocks compiled so far and not removed, in order.
    pub blocks: Slots<Block>,
    pub programs: Slots<ProgramSpec>,
    pub user_maps: Vec<UserMap>,
    /// Maps a plugin reducer folds in user space: records carry their updates, or (a weighted
    /// reducer) the kernel counts them in [`ReducerMapSpec::counts`].
    pub reducer_maps: Vec<ReducerMapSpec>,
    pub actions: Slots<Action>,
    /// Names of probe ids below [`TRACEPOINT_PROBE_ID`].
    pub probe_names: Vec<String>,
    /// The formats of `strftime()` calls, by the number stored with each timestamp.
    pub strftime_formats: Vec<String>,
    /// The filters of `cgroup_path(id, filter)` calls: a `cgroup_path` value is the id, then
    /// 0 (no filter) or 1 + an index into this list.
    pub cgroup_path_filters: Vec<String>,
    /// Stack-trace maps; a stored stack is its id in the map of its kind and limit.
    pub stack_maps: Vec<StackMap>,
    /// The ring buffer all records go through.
    pub ringbuf: usize,
    /// Per-CPU u64 counters: index 0 counts lost records, 1 dropped map updates (map full).
    pub counters: usize,
    /// Values user space writes before anything runs (see `codegen::GLOBAL_*`).
    pub globals: usize,
}

/// Slots of [`Object::counters`].
pub const COUNTER_LOST_EVENTS: u32 = 0;
pub const COUNTER_MAP_FULL: u32 = 1;
/// Stacks not recorded: the stack map was full or two stacks collided.
pub const COUNTER_STACK_LOST: u32 = 2;
/// Array reads whose index (known only at run time) was out of bounds: they read 0.
pub const COUNTER_INDEX_OUT_OF_BOUNDS: u32 = 3;
/// How many counter slots exist.
pub const COUNTERS: u32 = 4;

/// Name of the LRU hash map of pids already announced by an [`ActionKind::UserPid`] record.
pub const USER_PIDS_MAP: &str = "user_pids";
/// Entries of [`USER_PIDS_MAP`]: the processes remembered before the oldest is announced again.
pub const USER_PIDS_MAX: u32 = 8192;

/// A stack-trace map: where the stacks of one kind and depth are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackMap {
    /// User (`ustack`) or kernel (`kstack`) stacks.
    pub user: bool,
    /// Frames kept per stack.
    pub limit: u32,
    /// Index into [`Object::maps`].
    pub map: usize,
}

/// How long each of an object's lists is (for [`Slots`], the next index): where what a source
/// adds begins. Since indexes only grow, taking back what a source added is cutting the lists
/// to these lengths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lengths {
    pub maps: usize,
    pub blocks: usize,
    pub programs: usize,
    pub user_maps: usize,
    pub actions: usize,
    pub probe_names: usize,
    pub strftime_formats: usize,
    pub cgroup_path_filters: usize,
    pub stack_maps: usize,
    pub reducer_maps: usize,
}

impl Object {
    /// The length of every list now.
    pub fn lengths(&self) -> Lengths {
        Lengths {
            maps: self.maps.len(),
            blocks: self.blocks.end(),
            programs: self.programs.end(),
            user_maps: self.user_maps.len(),
            actions: self.actions.end(),
            probe_names: self.probe_names.len(),
            strftime_formats: self.strftime_formats.len(),
            cgroup_path_filters: self.cgroup_path_filters.len(),
            stack_maps: self.stack_maps.len(),
            reducer_maps: self.reducer_maps.len(),
        }
    }

    /// Drops everything appended after `at`.
    pub fn truncate(&mut self, at: &Lengths) {
        drop(self.split_off(at));
    }

    /// Takes out everything appended after `at`, as an object of its own (its entries keep
    /// their indexes' meaning: they continue this object's); this object is as it was at `at`.
    pub fn split_off(&mut self, at: &Lengths) -> Object {
        Object {
            maps: self.maps.split_off(at.maps),
            blocks: self.blocks.split_off(at.blocks),
            programs: self.programs.split_off(at.programs),
            user_maps: self.user_maps.split_off(at.user_maps),
            actions: self.actions.split_off(at.actions),
            probe_names: self.probe_names.split_off(at.probe_names),
            strftime_formats: self.strftime_formats.split_off(at.strftime_formats),
            cgroup_path_filters: self.cgroup_path_filters.split_off(at.cgroup_path_filters),
            stack_maps: self.stack_maps.split_off(at.stack_maps),
            reducer_maps: self.reducer_maps.split_off(at.reducer_maps),
            ringbuf: self.ringbuf,
            counters: self.counters,
            globals: self.globals,
        }
    }

    /// Puts back what [`Object::split_off`] took out at this object's current lengths.
    pub fn append(&mut self, mut tail: Object) {
        self.maps.append(&mut tail.maps);
        self.blocks.append(tail.blocks);
        self.programs.append(tail.programs);
        self.user_maps.append(&mut tail.user_maps);
        self.actions.append(tail.actions);
        self.probe_names.append(&mut tail.probe_names);
        self.strftime_formats.append(&mut tail.strftime_formats);
        self.cgroup_path_filters
            .append(&mut tail.cgroup_path_filters);
        self.stack_maps.append(&mut tail.stack_maps);
        self.reducer_maps.append(&mut tail.reducer_maps);
    }

    /// Removes program `index` for good with the actions only it sends (the [`ActionKind::UserPid`]
    /// action, shared by every program, stays); its index is not given again. Its probe block
    /// stays until [`Object::remove_block`].
    pub fn remove_program(&mut self, index: usize) -> Option<ProgramSpec> {
        let spec = self.programs.remove(index)?;
        for a in spec.actions.clone() {
            if self
                .actions
                .get(a)
                .is_some_and(|a| !matches!(a.kind, ActionKind::UserPid))
            {
                self.actions.remove(a);
            }
        }
        Some(spec)
    }

    /// Removes probe block `index` and its programs for good.
    pub fn remove_block(&mut self, index: usize) {
        let programs: Vec<usize> = self
            .programs
            .iter()
            .filter(|(_, p)| p.probe_block == index)
            .map(|(i, _)| i)
            .collect();
        for i in programs {
            self.remove_program(i);
        }
        self.blocks.remove(index);
    }

    /// The program's instructions as text, one per line, each with the source line it came
    /// from when that changes (like `ply -S`).
    pub fn disassemble(&self, index: usize, src: &str) -> String {
        let p = &self.programs[index];
        let name = |m: u32| {
            self.maps
                .get(m as usize)
                .map_or(format!("#{m}"), |m| m.name.clone())
        };
        let lines = crate::insn::disassemble(&p.insns, &name);
        let mut out = String::new();
        let mut last_line = usize::MAX;
        let mut slot = 0;
        for text in lines {
            let at: usize = text
                .split(':')
                .next()
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(slot);
            slot = at;
            let span = p.spans.get(at).copied().unwrap_or_default();
            let line = src[..span.start.min(src.len())].matches('\n').count();
            if line != last_line {
                let code = src.lines().nth(line).unwrap_or("").trim();
                out.push_str(&format!("; {code}\n"));
                last_line = line;
            }
            out.push_str(&text);
            out.push('\n');
        }
        out
    }
}
