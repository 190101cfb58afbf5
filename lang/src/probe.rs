//! Probe providers, their aliases, and the events of `software`/`hardware` probes.

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

/// Every provider: its full name, its aliases, and its kind.
pub const PROVIDERS: &[(&str, &[&str], ProbeKind)] = &[
    ("BEGIN", &[], ProbeKind::Begin),
    ("END", &[], ProbeKind::End),
    ("tracepoint", &["t"], ProbeKind::Tracepoint),
    ("rawtracepoint", &["rt"], ProbeKind::RawTracepoint),
    ("kprobe", &["k"], ProbeKind::Kprobe),
    ("kretprobe", &["kr"], ProbeKind::Kretprobe),
    ("uprobe", &["u"], ProbeKind::Uprobe),
    ("uretprobe", &["ur"], ProbeKind::Uretprobe),
    ("usdt", &["U"], ProbeKind::Usdt),
    ("profile", &["p"], ProbeKind::Profile),
    ("interval", &["i"], ProbeKind::Interval),
    ("software", &["s"], ProbeKind::Software),
    ("hardware", &["h"], ProbeKind::Hardware),
    ("watchpoint", &["w"], ProbeKind::Watchpoint),
    ("asyncwatchpoint", &["aw"], ProbeKind::AsyncWatchpoint),
    ("kfunc", &["f", "fentry"], ProbeKind::Kfunc),
    ("kretfunc", &["fr", "fexit"], ProbeKind::Kretfunc),
    ("iter", &["it"], ProbeKind::Iter),
];

impl ProbeKind {
    /// The provider name or alias to a kind.
    pub fn from_provider(name: &str) -> Option<ProbeKind> {
        PROVIDERS
            .iter()
            .find(|(full, aliases, _)| *full == name || aliases.contains(&name))
            .map(|(_, _, k)| *k)
    }

    /// The provider's full name, as `probe` prints it.
    pub fn name(self) -> &'static str {
        PROVIDERS
            .iter()
            .find(|(_, _, k)| *k == self)
            .map(|(n, _, _)| *n)
            .unwrap_or("?")
    }

    /// Every provider name and alias, for suggestions.
    pub fn all_names() -> impl Iterator<Item = &'static str> {
        PROVIDERS
            .iter()
            .flat_map(|(full, aliases, _)| std::iter::once(*full).chain(aliases.iter().copied()))
    }

    /// Probes on function return, where `retval` exists.
    pub fn is_return(self) -> bool {
        matches!(
            self,
            ProbeKind::Kretprobe | ProbeKind::Uretprobe | ProbeKind::Kretfunc
        )
    }

    /// Probes with register arguments (`arg0`..`arg5`, `sargN`, `reg()`).
    pub fn has_register_args(self) -> bool {
        matches!(
            self,
            ProbeKind::Kprobe | ProbeKind::Uprobe | ProbeKind::Usdt
        )
    }

    /// Probes in user space (`ustack`, `usym` and `uaddr` make sense of the current task).
    pub fn is_user(self) -> bool {
        matches!(
            self,
            ProbeKind::Uprobe | ProbeKind::Uretprobe | ProbeKind::Usdt
        )
    }

    /// Probes on a traced function (`func` exists).
    pub fn has_func(self) -> bool {
        matches!(
            self,
            ProbeKind::Kprobe
                | ProbeKind::Kretprobe
                | ProbeKind::Uprobe
                | ProbeKind::Uretprobe
                | ProbeKind::Kfunc
                | ProbeKind::Kretfunc
        )
    }
}

/// A perf software or hardware event: name, alias, default sample period, perf config id.
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
