//! The probe table: one [`ProbeDescriptor`] per probe kind (names, fields, program type,
//! context, attach mechanism), and the events of `software`/`hardware` probes.
//!
//! What differs between kinds as data is here; what differs as code (resolving a kind's
//! fields, attaching it) is keyed by the descriptor's [`Resolve`] and [`Attachment`].

/// The kind of a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProbeKind {
    Begin,
    End,
    Tracepoint,
    RawTracepoint,
    Kprobe,
    Kretprobe,
    Uprobe,
    Uretprobe,
    Usdt,
    Profile,
    Interval,
    Software,
    Hardware,
    Watchpoint,
    AsyncWatchpoint,
    Kfunc,
    Kretfunc,
    Iter,
}

/// What is per-kind data about a probe kind. `PROBES` holds one per kind, in [`ProbeKind`]
/// order.
#[derive(Debug)]
pub struct ProbeDescriptor {
    pub kind: ProbeKind,
    /// The provider's full name, as `probe` prints it.
    pub name: &'static str,
    /// Short names accepted in attach points (`t`, `kr`, ...).
    pub aliases: &'static [&'static str],
    /// The accepted forms of an attach point, for hints.
    pub usage: &'static str,
    /// How the attach point's fields are resolved (a key the resolver dispatches on).
    pub resolve: Resolve,
    /// `FUNCTION+OFFSET` is accepted.
    pub offset: bool,
    /// `MODULE:FUNCTION` is accepted.
    pub module: bool,
    /// The BPF program type it runs as; `None`: not compiled yet.
    pub program: Option<ProgramType>,
    /// How the runtime attaches it (a key the runtime dispatches on).
    pub attach: Attachment,
    /// On a function's return: `retval` exists, the kernel's `ret` side is attached.
    pub ret: bool,
    /// In user space: `ustack`, `usym` and `uaddr` make sense of the current task.
    pub user: bool,
    /// The builtins that read the probe's context.
    pub context: Context,
    /// A watchpoint that stops the process while its breakpoint is set.
    pub stops_process: bool,
    /// The perf events it names (`software`, `hardware`).
    pub events: &'static [PerfEvent],
}

/// How attach points of a kind are resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolve {
    /// BEGIN/END: no fields.
    Special,
    Tracepoint,
    RawTracepoint,
    /// A kernel function, by name (kprobe, kfunc and their return sides).
    KernelFunction,
    /// A function or address in a binary.
    User,
    Usdt,
    /// `UNIT:N`.
    Timer,
    /// A perf event of [`SOFTWARE_EVENTS`] or [`HARDWARE_EVENTS`].
    PerfEvent,
    Watchpoint,
    Iter,
}

/// A BPF program type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramType {
    RawTracepoint,
    Tracepoint,
    Kprobe,
    PerfEvent,
    /// fentry/fexit.
    Tracing,
}

/// How the runtime attaches a probe kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attachment {
    /// Run once with `BPF_PROG_TEST_RUN` before anything attaches.
    RunAtStart,
    /// Run once with `BPF_PROG_TEST_RUN` after everything is detached.
    RunAtEnd,
    Tracepoint,
    RawTracepoint,
    Kprobe,
    /// A uprobe (or uprobe_multi link) on a file offset.
    Uprobe,
    /// A uprobe perf event with the semaphore's offset.
    Usdt,
    /// A cpu-clock perf event on every CPU (`per_cpu`) or on one.
    Timer {
        per_cpu: bool,
    },
    SoftwareEvent,
    HardwareEvent,
    /// A breakpoint perf event.
    Breakpoint,
    /// fentry/fexit through `BPF_RAW_TRACEPOINT_OPEN`.
    Tracing,
    /// Not attached yet.
    Unsupported,
}

/// The builtins that read a probe's context, and where they read it from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    /// `args`.
    pub args: Args,
    /// `arg0`, `arg1`, ...
    pub arg_n: ArgN,
    /// `sarg0`, `sarg1`, ...: stack arguments.
    pub sarg: bool,
    /// `retval`.
    pub retval: Retval,
    /// `func`.
    pub func: Func,
}

/// Where `args` comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Args {
    None,
    /// The tracepoint's record format.
    Tracepoint,
    /// The kernel function's BTF prototype: the fentry/fexit context.
    Btf,
    /// The function's DWARF parameters, in registers.
    Dwarf,
}

/// Where `arg0`.. come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgN {
    None,
    /// The x86-64 argument registers (arg0..arg5).
    Registers,
    /// Where the USDT note's argument specification says.
    Usdt,
}

/// Where `retval` comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retval {
    None,
    /// `ax` of pt_regs.
    Register,
    /// The u64 after the arguments of the fexit context.
    AfterArgs,
}

/// What `func` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    None,
    /// The traced function's address (`get_func_ip`).
    Traced,
    /// The instruction pointer (USDT: the probe's site).
    Ip,
}

const NO_CONTEXT: Context = Context {
    args: Args::None,
    arg_n: ArgN::None,
    sarg: false,
    retval: Retval::None,
    func: Func::None,
};

/// A function's entry seen through its registers (kprobe, uprobe).
const ENTRY_CONTEXT: Context = Context {
    arg_n: ArgN::Registers,
    sarg: true,
    func: Func::Traced,
    ..NO_CONTEXT
};

/// A function's return seen through its registers (kretprobe, uretprobe).
const RETURN_CONTEXT: Context = Context {
    retval: Retval::Register,
    func: Func::Traced,
    ..NO_CONTEXT
};

/// A kind with no offset, module, return side, user space or watchpoint stop.
const BASE: ProbeDescriptor = ProbeDescriptor {
    kind: ProbeKind::Begin,
    name: "",
    aliases: &[],
    usage: "",
    resolve: Resolve::Special,
    offset: false,
    module: false,
    program: None,
    attach: Attachment::Unsupported,
    ret: false,
    user: false,
    context: NO_CONTEXT,
    stops_process: false,
    events: &[],
};

/// Every probe kind, in [`ProbeKind`] order.
pub const PROBES: &[ProbeDescriptor] = &[
    ProbeDescriptor {
        kind: ProbeKind::Begin,
        name: "BEGIN",
        usage: "BEGIN and END take no fields",
        program: Some(ProgramType::RawTracepoint),
        attach: Attachment::RunAtStart,
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::End,
        name: "END",
        usage: "BEGIN and END take no fields",
        program: Some(ProgramType::RawTracepoint),
        attach: Attachment::RunAtEnd,
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::Tracepoint,
        name: "tracepoint",
        aliases: &["t"],
        usage: "tracepoint:CATEGORY:EVENT, e.g. tracepoint:syscalls:sys_enter_openat",
        resolve: Resolve::Tracepoint,
        program: Some(ProgramType::Tracepoint),
        attach: Attachment::Tracepoint,
        context: Context {
            args: Args::Tracepoint,
            ..NO_CONTEXT
        },
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::RawTracepoint,
        name: "rawtracepoint",
        aliases: &["rt"],
        usage: "rawtracepoint:EVENT, e.g. rawtracepoint:sched_switch",
        resolve: Resolve::RawTracepoint,
        program: Some(ProgramType::RawTracepoint),
        attach: Attachment::RawTracepoint,
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::Kprobe,
        name: "kprobe",
        aliases: &["k"],
        usage: "kprobe:FUNCTION or kprobe:FUNCTION+OFFSET",
        resolve: Resolve::KernelFunction,
        offset: true,
        program: Some(ProgramType::Kprobe),
        attach: Attachment::Kprobe,
        context: ENTRY_CONTEXT,
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::Kretprobe,
        name: "kretprobe",
        aliases: &["kr"],
        usage: "kretprobe:FUNCTION",
        resolve: Resolve::KernelFunction,
        program: Some(ProgramType::Kprobe),
        attach: Attachment::Kprobe,
        ret: true,
        context: RETURN_CONTEXT,
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::Uprobe,
        name: "uprobe",
        aliases: &["u"],
        usage: "uprobe:BINARY:FUNCTION, uprobe:BINARY:FUNCTION+OFFSET or uprobe:BINARY:ADDRESS",
        resolve: Resolve::User,
        offset: true,
        program: Some(ProgramType::Kprobe),
        attach: Attachment::Uprobe,
        user: true,
        context: Context {
            args: Args::Dwarf,
            ..ENTRY_CONTEXT
        },
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::Uretprobe,
        name: "uretprobe",
        aliases: &["ur"],
        usage: "uretprobe:BINARY:FUNCTION",
        resolve: Resolve::User,
        program: Some(ProgramType::Kprobe),
        attach: Attachment::Uprobe,
        ret: true,
        user: true,
        context: RETURN_CONTEXT,
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::Usdt,
        name: "usdt",
        aliases: &["U"],
        usage: "usdt:BINARY:NAME or usdt:BINARY:PROVIDER:NAME",
        resolve: Resolve::Usdt,
        program: Some(ProgramType::Kprobe),
        attach: Attachment::Usdt,
        user: true,
        context: Context {
            arg_n: ArgN::Usdt,
            func: Func::Ip,
            ..NO_CONTEXT
        },
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::Profile,
        name: "profile",
        aliases: &["p"],
        usage: "profile:UNIT:N with UNIT one of hz, s, ms, us, e.g. profile:hz:99",
        resolve: Resolve::Timer,
        program: Some(ProgramType::PerfEvent),
        attach: Attachment::Timer { per_cpu: true },
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::Interval,
        name: "interval",
        aliases: &["i"],
        usage: "interval:UNIT:N with UNIT one of hz, s, ms, us, e.g. interval:s:1",
        resolve: Resolve::Timer,
        program: Some(ProgramType::PerfEvent),
        attach: Attachment::Timer { per_cpu: false },
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::Software,
        name: "software",
        aliases: &["s"],
        usage: "software:EVENT or software:EVENT:COUNT",
        resolve: Resolve::PerfEvent,
        program: Some(ProgramType::PerfEvent),
        attach: Attachment::SoftwareEvent,
        events: SOFTWARE_EVENTS,
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::Hardware,
        name: "hardware",
        aliases: &["h"],
        usage: "hardware:EVENT or hardware:EVENT:COUNT",
        resolve: Resolve::PerfEvent,
        program: Some(ProgramType::PerfEvent),
        attach: Attachment::HardwareEvent,
        events: HARDWARE_EVENTS,
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::Watchpoint,
        name: "watchpoint",
        aliases: &["w"],
        usage: WATCHPOINT_USAGE,
        resolve: Resolve::Watchpoint,
        program: Some(ProgramType::PerfEvent),
        attach: Attachment::Breakpoint,
        stops_process: true,
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::AsyncWatchpoint,
        name: "asyncwatchpoint",
        aliases: &["aw"],
        usage: WATCHPOINT_USAGE,
        resolve: Resolve::Watchpoint,
        program: Some(ProgramType::PerfEvent),
        attach: Attachment::Breakpoint,
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::Kfunc,
        name: "kfunc",
        aliases: &["f", "fentry"],
        usage: KFUNC_USAGE,
        resolve: Resolve::KernelFunction,
        module: true,
        program: Some(ProgramType::Tracing),
        attach: Attachment::Tracing,
        context: Context {
            args: Args::Btf,
            func: Func::Traced,
            ..NO_CONTEXT
        },
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::Kretfunc,
        name: "kretfunc",
        aliases: &["fr", "fexit"],
        usage: KFUNC_USAGE,
        resolve: Resolve::KernelFunction,
        module: true,
        program: Some(ProgramType::Tracing),
        attach: Attachment::Tracing,
        ret: true,
        context: Context {
            args: Args::Btf,
            retval: Retval::AfterArgs,
            func: Func::Traced,
            ..NO_CONTEXT
        },
        ..BASE
    },
    ProbeDescriptor {
        kind: ProbeKind::Iter,
        name: "iter",
        aliases: &["it"],
        usage: "iter:task, iter:task_file or iter:task_vma",
        resolve: Resolve::Iter,
        ..BASE
    },
];

const WATCHPOINT_USAGE: &str =
    "watchpoint:ADDRESS:LENGTH:MODE or watchpoint:FUNCTION+argN:LENGTH:MODE";
const KFUNC_USAGE: &str = "kfunc:FUNCTION or kfunc:MODULE:FUNCTION";

impl ProbeDescriptor {
    /// BEGIN and END: no attach point, run once.
    pub fn is_special(&self) -> bool {
        self.resolve == Resolve::Special
    }

    /// Attach points of this kind can share one program (BEGIN/END are one each; an fentry
    /// program is loaded for one kernel function).
    pub fn shares_programs(&self) -> bool {
        !self.is_special() && self.program != Some(ProgramType::Tracing)
    }

    /// Its probes read kernel or user memory by nature (kprobes, tracepoints, uprobes, USDT):
    /// bpftrace 0.17 reads with the old `probe_read` helpers in the others (BEGIN/END, timers,
    /// perf events, watchpoints), and names them so in `-k` warnings.
    pub fn has_address_space(&self) -> bool {
        matches!(
            self.attach,
            Attachment::Tracepoint
                | Attachment::RawTracepoint
                | Attachment::Kprobe
                | Attachment::Uprobe
                | Attachment::Usdt
                | Attachment::Tracing
        )
    }
}

impl ProbeKind {
    /// What the table says of this kind.
    pub fn descriptor(self) -> &'static ProbeDescriptor {
        &PROBES[self as usize]
    }

    /// The provider name or alias to a kind.
    pub fn from_provider(name: &str) -> Option<ProbeKind> {
        PROBES
            .iter()
            .find(|d| d.name == name || d.aliases.contains(&name))
            .map(|d| d.kind)
    }

    /// The provider's full name, as `probe` prints it.
    pub fn name(self) -> &'static str {
        self.descriptor().name
    }

    /// Every provider name and alias, for suggestions.
    pub fn all_names() -> impl Iterator<Item = &'static str> {
        PROBES
            .iter()
            .flat_map(|d| std::iter::once(d.name).chain(d.aliases.iter().copied()))
    }

    /// Probes on function return, where `retval` exists.
    pub fn is_return(self) -> bool {
        self.descriptor().ret
    }

    /// Probes in user space (`ustack`, `usym` and `uaddr` make sense of the current task).
    pub fn is_user(self) -> bool {
        self.descriptor().user
    }
}

/// A perf software or hardware event: name, alias, default sample period, perf config id.
#[derive(Debug)]
pub struct PerfEvent {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub default_count: u64,
    pub config: u64,
}

const fn ev(
    name: &'static str,
    alias: Option<&'static str>,
    default_count: u64,
    config: u64,
) -> PerfEvent {
    PerfEvent {
        name,
        alias,
        default_count,
        config,
    }
}

/// `software:` events (PERF_TYPE_SOFTWARE).
pub const SOFTWARE_EVENTS: &[PerfEvent] = &[
    ev("alignment-faults", None, 1, 7),
    ev("bpf-output", None, 1, 10),
    ev("context-switches", Some("cs"), 1000, 3),
    ev("cpu-clock", Some("cpu"), 1_000_000, 0),
    ev("cpu-migrations", None, 1, 4),
    ev("dummy", None, 1, 9),
    ev("emulation-faults", None, 1, 8),
    ev("major-faults", None, 1, 6),
    ev("minor-faults", None, 100, 5),
    ev("page-faults", Some("faults"), 100, 2),
    ev("task-clock", None, 1, 1),
];

/// `hardware:` events (PERF_TYPE_HARDWARE).
pub const HARDWARE_EVENTS: &[PerfEvent] = &[
    ev("backend-stalls", None, 1_000_000, 8),
    ev("branch-instructions", Some("branches"), 100_000, 4),
    ev("branch-misses", None, 100_000, 5),
    ev("bus-cycles", None, 100_000, 6),
    ev("cache-misses", None, 1_000_000, 3),
    ev("cache-references", None, 1_000_000, 2),
    ev("cpu-cycles", Some("cycles"), 1_000_000, 0),
    ev("frontend-stalls", None, 1_000_000, 7),
    ev("instructions", None, 1_000_000, 1),
    ev("ref-cycles", None, 1_000_000, 9),
];

/// Finds an event by name or alias.
pub fn find_event<'a>(table: &'a [PerfEvent], name: &str) -> Option<&'a PerfEvent> {
    table
        .iter()
        .find(|e| e.name == name || e.alias == Some(name))
}

/// Units of `profile:`/`interval:` probes and their period in nanoseconds (`hz` is a rate).
pub const TIME_UNITS: &[&str] = &["hz", "s", "ms", "us"];

/// Iterator kinds of `iter:` probes.
pub const ITER_KINDS: &[&str] = &["task", "task_file", "task_vma"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_kind_order() {
        for (i, d) in PROBES.iter().enumerate() {
            assert_eq!(d.kind as usize, i, "{} is out of place", d.name);
        }
        assert_eq!(PROBES.len(), ProbeKind::Iter as usize + 1);
    }
}
