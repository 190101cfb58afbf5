//! Code generation: a checked program to an [`Object`].
//!
//! Each probe block becomes one program per group of attach points that can share code (all
//! tracepoints of a wildcard share one program: `probe` reads the event id from the record).
//! Values live in registers while computed and on the BPF stack otherwise: integers in r0, with
//! operands spilled to stack slots around calls; strings, tuples, keys and records in stack
//! buffers written in place. r6 holds the context for the whole program.

mod actions;
mod builtins;
mod counts;
mod frame;
mod gen;
mod helper_errors;
mod int;
mod library;
mod maps;
mod mem;
mod place;
mod plugin;
mod usdt;
mod watch;

use std::collections::{BTreeMap, BTreeSet};

use scry_lang::ast::Program;
use scry_lang::attach::{Attach, Target};
use scry_lang::check::TypedProgram;
use scry_lang::diag::Diagnostic;
use scry_lang::probe::{Attachment, ProbeKind, ProgramType};
use scry_lang::span::Span;
use scry_lang::types::{Agg, Type};

use crate::layout;
use crate::object::*;

/// Settings that shape the generated code and maps.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// BPFTRACE_MAP_KEYS_MAX: entries of every user map.
    pub map_keys_max: u32,
    /// Ring buffer size in bytes (a power of two, at least a page).
    pub ringbuf_bytes: u32,
    /// Positional parameters, for `$1` and `str($1)`.
    pub params: Vec<String>,
    /// The runtime attaches uprobes with uprobe_multi links, whose cookies carry the probe id:
    /// uprobes reading `probe` then share one program, which reads the cookie.
    pub uprobe_multi: bool,
    /// `-k` (1) and `-kk` (2): report failed helper calls, as bpftrace 0.17 does (`-k` leaves
    /// out probe reads and map lookups, whose failure reads as zero).
    pub helper_errors: u8,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            map_keys_max: 4096,
            ringbuf_bytes: 1 << 20,
            params: Vec::new(),
            uprobe_multi: false,
            helper_errors: 0,
        }
    }
}

/// Index of the globals map's slots, written by the runtime before anything runs.
pub const GLOBAL_START_NS: u32 = 0;
/// The pid of the `-c` child.
pub const GLOBAL_CPID: u32 = 1;
/// How many global slots exist.
pub const GLOBALS: u32 = 2;

/// Compiles a checked program into a new object (the source is entry 0).
pub fn compile(
    program: &Program,
    typed: &TypedProgram,
    opts: &CompileOptions,
) -> Result<Object, Diagnostic> {
    let mut object = new_object(opts);
    compile_into(&mut object, program, typed, opts, 0)?;
    Ok(object)
}

/// An object with only the maps every session has (ring buffer, counters, globals): what a
/// session starts from before any program is added.
pub fn new_object(opts: &CompileOptions) -> Object {
    let mut obj = Object::default();
    for (name, kind, key_size, value_size, max_entries) in [
        ("ringbuf", MapKind::RingBuf, 0, 0, opts.ringbuf_bytes),
        ("counters", MapKind::PerCpuArray, 4, 8, COUNTERS),
        ("globals", MapKind::Array, 4, 8, GLOBALS),
    ] {
        obj.maps.push(MapSpec {
            name: name.into(),
            kind,
            key_size,
            value_size,
            max_entries,
        });
    }
    (obj.ringbuf, obj.counters, obj.globals) = (0, 1, 2);
    obj
}

/// Compiles a checked program (source `entry` of a session) onto `object`, appending: the
/// maps, programs, actions and probe blocks already there keep their indexes, maps the object
/// already has are shared by name (the checker gave them the same types), and new ones come
/// after. Returns the range of programs added. On error `object` is unchanged.
pub fn compile_into(
    object: &mut Object,
    program: &Program,
    typed: &TypedProgram,
    opts: &CompileOptions,
    entry: usize,
) -> Result<std::ops::Range<usize>, Diagnostic> {
    let before = object.lengths();
    let result = append(object, program, typed, opts, entry);
    if result.is_err() {
        drop(object.split_off(&before));
    }
    result.map(|()| before.programs..object.programs.end())
}

/// The work of [`compile_into`]; on error `object` may hold part of the source.
fn append(
    object: &mut Object,
    program: &Program,
    typed: &TypedProgram,
    opts: &CompileOptions,
    entry: usize,
) -> Result<(), Diagnostic> {
    let mut b = Builder::new(object, typed, opts, &maps::deleted(program, typed));
    for (i, probe) in program.probes.iter().enumerate() {
        let block = b.obj.blocks.push(Block {
            entry,
            span: probe.span,
        });
        let attaches = &typed.probes[i].attaches;
        let (fan_in, rest) = syscall_fan_in(attaches, typed);
        for group in
            fan_in
                .into_iter()
                .chain(group_attaches(probe, &rest, typed, opts.uprobe_multi))
        {
            // A function watchpoint is alone in its group (see `group_attaches`).
            let watched = group
                .attaches
                .first()
                .filter(|a| watch::watched_function(a).is_some())
                .copied();
            let first = b.obj.actions.end();
            let mut spec = gen::Gen::compile_program(&mut b, probe, (i, block), group)?;
            spec.actions = first..b.obj.actions.end();
            match watched {
                Some(a) => {
                    spec.trigger = Trigger::Watched;
                    let program = b.obj.programs.push(spec);
                    let first = b.obj.actions.end();
                    let mut setup = watch::setup_program(&mut b, probe, block, a, program)?;
                    setup.actions = first..b.obj.actions.end();
                    b.obj.programs.push(setup);
                }
                None => {
                    b.obj.programs.push(spec);
                }
            }
        }
    }
    Ok(())
}

/// State shared by the programs of one object: maps and actions.
pub(crate) struct Builder<'a> {
    pub typed: &'a TypedProgram,
    pub opts: &'a CompileOptions,
    pub obj: &'a mut Object,
    /// Index in `obj.user_maps` by map name.
    pub user_map_index: BTreeMap<String, usize>,
}

impl<'a> Builder<'a> {
    /// Goes on from `obj`: its user maps are kept, the program's other maps added;
    /// `deleted`: the maps the program calls `delete()` on.
    fn new(
        obj: &'a mut Object,
        typed: &'a TypedProgram,
        opts: &'a CompileOptions,
        deleted: &BTreeSet<String>,
    ) -> Self {
        let user_map_index = obj
            .user_maps
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.clone(), i))
            .collect();
        let mut b = Builder {
            typed,
            opts,
            obj,
            user_map_index,
        };
        for (name, m) in &typed.maps {
            if !b.user_map_index.contains_key(name) {
                b.add_user_map(name, &m.keys, &m.value, deleted.contains(name));
            }
        }
        b
    }

    fn add_user_map(&mut self, name: &str, keys: &[Type], value: &Type, deleted: bool) {
        let (key_fields, mut key_size) = layout::fields(keys, 0);
        let (kind, value_layout, value_size) = match value {
            Type::Agg(agg) => {
                let size = match agg {
                    Agg::Count | Agg::Sum { .. } | Agg::Hist | Agg::Lhist { .. } => 8,
                    _ => 16,
                };
                if matches!(agg, Agg::Hist | Agg::Lhist { .. }) {
                    key_size += 8;
                }
                (MapKind::PerCpuHash, ValueLayout::Agg(*agg), size)
            }
            t => (
                MapKind::Hash,
                ValueLayout::Plain(t.clone()),
                layout::size_of(t).max(8),
            ),
        };
        // A key-less count() is one per-CPU slot, as in bpftrace: an array lookup is cheaper
        // than a hash one, and the slot exists (prints 0) before anything counts. Unless it is
        // deleted: BPF can delete a hash entry on every CPU, not an array slot.
        let single = keys.is_empty() && matches!(value, Type::Agg(Agg::Count)) && !deleted;
        let map = self.obj.maps.len();
        self.obj.maps.push(MapSpec {
            name: if name.is_empty() {
                "@".to_string()
            } else {
                format!("@{name}")
            },
            kind: if single { MapKind::PerCpuArray } else { kind },
            key_size: if single { 4 } else { key_size.max(8) as u32 },
            value_size: value_size as u32,
            max_entries: if single { 1 } else { self.opts.map_keys_max },
        });
        self.user_map_index
            .insert(name.to_string(), self.obj.user_maps.len());
        self.obj.user_maps.push(UserMap {
            name: name.to_string(),
            map,
            keys: key_fields,
            value: value_layout,
        });
    }

    /// Registers a record kind; returns its action id.
    pub fn action(&mut self, kind: ActionKind, arg_types: &[Type]) -> (u64, Vec<Field>, usize) {
        let (args, size) = layout::fields(arg_types, 8);
        let id = self.obj.actions.push(Action {
            kind,
            args: args.clone(),
            size,
            calls: Vec::new(),
        });
        (id as u64, args, size)
    }

    /// The stack-trace map for stacks of this kind and depth, created on first use.
    pub fn stack_map(&mut self, user: bool, limit: u32) -> usize {
        if let Some(m) = self
            .obj
            .stack_maps
            .iter()
            .find(|m| m.user == user && m.limit == limit)
        {
            return m.map;
        }
        let map = self.obj.maps.len();
        self.obj.maps.push(MapSpec {
            name: format!("{}stack_{limit}", if user { "u" } else { "k" }),
            kind: MapKind::StackTrace,
            key_size: 4,
            value_size: 8 * limit,
            max_entries: self.opts.map_keys_max,
        });
        self.obj.stack_maps.push(StackMap { user, limit, map });
        map
    }

    /// The LRU map of announced pids and the action id of [`ActionKind::UserPid`] records,
    /// created on first use.
    pub fn user_pid_note(&mut self) -> (usize, u64) {
        let map = match self.obj.maps.iter().position(|m| m.name == USER_PIDS_MAP) {
            Some(m) => m,
            None => {
                self.obj.maps.push(MapSpec {
                    name: USER_PIDS_MAP.into(),
                    kind: MapKind::LruHash,
                    key_size: 8,
                    value_size: 8,
                    max_entries: USER_PIDS_MAX,
                });
                self.obj.maps.len() - 1
            }
        };
        let known = (self.obj.actions.iter())
            .find(|(_, a)| matches!(a.kind, ActionKind::UserPid))
            .map(|(a, _)| a);
        let action = match known {
            Some(a) => a as u64,
            None => self.action(ActionKind::UserPid, &[Type::U64]).0,
        };
        (map, action)
    }

    /// The id of a constant probe name.
    pub fn probe_id(&mut self, name: &str) -> u64 {
        if let Some(i) = self.obj.probe_names.iter().position(|n| n == name) {
            return i as u64;
        }
        self.obj.probe_names.push(name.to_string());
        (self.obj.probe_names.len() - 1) as u64
    }
}

/// Attach points that one program serves.
pub(crate) struct Group<'a> {
    pub kind: ProbeKind,
    pub attaches: Vec<&'a Attach>,
    /// `Some("sys_enter")`/`Some("sys_exit")`: serve them all through raw_syscalls; the
    /// (system call number, tracepoint id) pairs are parallel to `attaches`.
    pub fan_in: Option<(&'static str, Vec<(u32, u64)>)>,
}

/// Fewest `syscalls:` tracepoints worth one raw_syscalls program: that program runs for every
/// system call, so it pays only when most of them are traced anyway.
pub const FAN_IN_MIN: usize = 64;

/// Takes the `syscalls:sys_enter_*` (and `sys_exit_*`) tracepoints off into raw_syscalls
/// fan-in groups when there are enough of them; returns those groups and the other attach
/// points.
fn syscall_fan_in<'a>(
    attaches: &'a [Attach],
    typed: &TypedProgram,
) -> (Vec<Group<'a>>, Vec<&'a Attach>) {
    let mut enter = (Vec::new(), Vec::new());
    let mut exit = (Vec::new(), Vec::new());
    let mut rest = Vec::new();
    for a in attaches {
        // A call is served only when its number and its tracepoint's id are both known.
        let call = match &a.target {
            Target::Tracepoint { category, event } if category == "syscalls" => event
                .strip_prefix("sys_enter_")
                .map(|n| (true, n))
                .or_else(|| event.strip_prefix("sys_exit_").map(|n| (false, n)))
                .and_then(|(is_enter, name)| {
                    let nr = scry_lang::arch::syscalls::number(name)?;
                    let id = typed.tracepoint_ids.get(&format!("{category}:{event}"))?;
                    Some((is_enter, (nr, *id)))
                }),
            _ => None,
        };
        match call {
            Some((true, call)) => {
                enter.0.push(a);
                enter.1.push(call);
            }
            Some((false, call)) => {
                exit.0.push(a);
                exit.1.push(call);
            }
            None => rest.push(a),
        }
    }
    let mut groups = Vec::new();
    for (event, (list, nrs)) in [("sys_enter", enter), ("sys_exit", exit)] {
        if list.len() >= FAN_IN_MIN {
            groups.push(Group {
                kind: ProbeKind::Tracepoint,
                attaches: list,
                fan_in: Some((event, nrs)),
            });
        } else {
            rest.extend(list);
        }
    }
    // Keep the source order of what is left.
    rest.sort_by_key(|a| attaches.iter().position(|b| std::ptr::eq(*a, b)));
    (groups, rest)
}

/// Splits a probe's attach points into groups that can share one program.
fn group_attaches<'a>(
    probe: &scry_lang::ast::Probe,
    attaches: &[&'a Attach],
    typed: &TypedProgram,
    uprobe_multi: bool,
) -> Vec<Group<'a>> {
    let uses_probe = uses_ident(probe, "probe");
    let uses_args = uses_ident(probe, "args");
    // Tracepoints whose records differ cannot share code that reads `args`.
    let layout_of = |a: &Attach| match &a.target {
        Target::Tracepoint { category, event } if uses_args => typed
            .tracepoints
            .get(&format!("{category}:{event}"))
            .map(|f| f.fields.clone()),
        // Uprobes of functions whose arguments sit in other registers do not share either.
        Target::User {
            path,
            symbol: Some(func),
            ..
        } if uses_args => typed
            .user_functions
            .get(&(path.clone(), func.clone()))
            .map(gen::uprobe_fields),
        _ => None,
    };
    // USDT probes read their arguments from where each note says: only equal notes share.
    let usdt_args = |a: &Attach| match &a.target {
        Target::Usdt { arguments, .. } => Some(arguments.clone()),
        _ => None,
    };
    let mut groups: Vec<Group<'a>> = Vec::new();
    for &a in attaches {
        let kind = a.kind;
        // Attach points share a program only when nothing in the action depends on which of
        // them fired (a tracepoint record's event id is not set yet when BPF runs).
        // A kfunc/kretfunc program is loaded for one kernel function.
        // Uprobes on uprobe_multi links read `probe` from the link's cookie.
        let probe_from_cookie = uprobe_multi && kind.descriptor().attach == Attachment::Uprobe;
        // A function watchpoint's program attaches to addresses found at run time, alone.
        let shareable = (!uses_probe || probe_from_cookie)
            && kind.descriptor().program != Some(ProgramType::Tracing)
            && watch::watched_function(a).is_none();
        let group = groups.iter_mut().find(|g| {
            shareable
                && g.kind == kind
                && !kind.descriptor().is_special()
                && layout_of(g.attaches[0]) == layout_of(a)
                && usdt_args(g.attaches[0]) == usdt_args(a)
                && watch::watched_function(g.attaches[0]).is_none()
        });
        match group {
            Some(g) => g.attaches.push(a),
            None => groups.push(Group {
                kind,
                attaches: vec![a],
                fan_in: None,
            }),
        }
    }
    groups
}

/// Whether a program for these attach points attaches through uprobe_multi links: uprobes
/// (or uretprobes) only, all of one kind, on a kernel that has the links.
pub(crate) fn uprobe_multi<'a>(
    opts: &CompileOptions,
    attaches: impl IntoIterator<Item = &'a Attach>,
) -> bool {
    let mut kinds = attaches.into_iter().map(|a| match a.target {
        Target::User { .. } => Some(a.kind),
        _ => None,
    });
    let Some(Some(first)) = kinds.next() else {
        return false;
    };
    if first.descriptor().attach != Attachment::Uprobe {
        return false;
    }
    opts.uprobe_multi && kinds.all(|k| k == Some(first))
}

fn uses_ident(probe: &scry_lang::ast::Probe, name: &str) -> bool {
    let mut found = false;
    probe.walk_exprs(&mut |e| {
        if matches!(&e.kind, scry_lang::ast::ExprKind::Ident(n) if n == name) {
            found = true;
        }
    });
    found
}

/// The program type that runs a probe kind, or why it cannot be compiled.
pub(crate) fn prog_type(kind: ProbeKind) -> Result<ProgType, String> {
    Ok(match kind.descriptor().program {
        Some(ProgramType::RawTracepoint) => ProgType::RawTracepoint,
        Some(ProgramType::Tracepoint) => ProgType::Tracepoint,
        Some(ProgramType::Kprobe) => ProgType::Kprobe,
        Some(ProgramType::PerfEvent) => ProgType::PerfEvent,
        Some(ProgramType::Tracing) => ProgType::Tracing,
        None => return Err(format!("{} probes are not supported yet", kind.name())),
    })
}

/// A compile error at `span`.
pub(crate) fn error(span: Span, msg: impl Into<String>) -> Diagnostic {
    Diagnostic::error(span, msg)
}
