//! Attaching loaded programs to their attach points with aya, and detaching them fast.
//!
//! A [`Program`] that scry loaded itself ([`crate::load`]) is handed to aya as
//! `aya::programs::X::from_program_info`, then attached with aya's `attach`. Every attach
//! point gives one or more [`Link`]s (profile and software/hardware events give one per online
//! CPU); dropping a link detaches it. Closing a perf-event link costs the kernel tens of
//! milliseconds (an RCU grace period per tracepoint), so [`detach_all`] drops many links from
//! concurrent threads, whose waits overlap.
//!
//! Attach errors are one sentence each, naming the probe and what the kernel lacks.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use aya::programs::kprobe::KProbeLink;
use aya::programs::perf_event::{PerfEventConfig, PerfEventLink, PerfEventScope, SamplePolicy};
use aya::programs::raw_trace_point::RawTracePointLink;
use aya::programs::trace_point::TracePointLink;
use aya::programs::uprobe::{UProbeAttachLocation, UProbeLink, UProbeScope};
use aya::programs::{
    loaded_programs, KProbe, PerfEvent, ProbeKind as AyaProbeKind, ProgramError, ProgramInfo,
    RawTracePoint, TracePoint, UProbe,
};
use scry_ebpf::object::ProgType;
use scry_lang::attach::{Attach, Target};
use scry_lang::probe::Attachment;

use crate::load::Program;
use crate::sys;

/// `PERF_TYPE_HARDWARE`.
const PERF_TYPE_HARDWARE: u32 = 0;
/// `PERF_TYPE_SOFTWARE`.
const PERF_TYPE_SOFTWARE: u32 = 1;
/// `PERF_COUNT_SW_CPU_CLOCK`: the event behind profile and interval probes.
const PERF_COUNT_SW_CPU_CLOCK: u64 = 0;
/// At most this many threads detach links at once in [`detach_all`].
pub const DETACH_THREADS: usize = 64;

/// How programs are attached.
#[derive(Clone, Debug, Default)]
pub struct AttachOptions {
    /// `-p PID`: uprobes, USDT probes and watchpoints fire in this process only.
    pub pid: Option<u32>,
    /// `-c CMD`: the child's pid. Watchpoints, and the uprobes of function watchpoints, fire
    /// in it only; other uprobes stay system-wide, as in bpftrace 0.17.
    pub cpid: Option<u32>,
}

/// Most watchpoints a session sets at run time (x86-64 has four debug registers).
pub const MAX_WATCHPOINTS: usize = 4;

/// One attachment of a program. Dropping it detaches it; see [`detach_all`] to detach many.
#[derive(Debug)]
pub struct Link {
    /// The attach point's name (`tracepoint:syscalls:sys_enter_read`); several links share it
    /// when the probe attaches once per CPU.
    pub probe: String,
    _inner: LinkInner,
}

/// aya's owned link types; their `Drop` detaches.
#[derive(Debug)]
#[expect(
    dead_code,
    reason = "each link is held only for its Drop, which detaches"
)]
enum LinkInner {
    TracePoint(TracePointLink),
    RawTracePoint(RawTracePointLink),
    KProbe(KProbeLink),
    UProbe(UProbeLink),
    PerfEvent(PerfEventLink),
    /// A perf event (USDT probes with a semaphore) or a uprobe_multi link scry opened itself;
    /// closing it detaches.
    Event(std::os::fd::OwnedFd),
    /// An fentry/fexit link (kfunc/kretfunc); closing it detaches.
    Tracing(std::os::fd::OwnedFd),
}

/// Why a probe could not attach: one sentence naming the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachError {
    /// The attach point's name.
    pub probe: String,
    /// The whole sentence, starting with the probe's name.
    pub message: String,
}

impl std::fmt::Display for AttachError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AttachError {}

impl AttachError {
    fn new(probe: &str, why: impl std::fmt::Display) -> AttachError {
        AttachError {
            probe: probe.to_string(),
            message: format!("{probe} cannot attach: {why}"),
        }
    }
}

/// Probes the kernel's BPF features now, on a thread of its own: aya does it on first attach,
/// and doing it while the program loads takes it off the time to attached.
pub fn warm_up() {
    let _ = std::thread::Builder::new()
        .name("scry-probe-features".into())
        .spawn(|| {
            aya::features();
        });
}

/// Attaches `program` to each of `attaches` (usually its spec's attaches, or some of them
/// to re-attach one probe). On error, the links made so far are detached and the error names
/// the probe that failed.
pub fn attach(
    program: &Program,
    attaches: &[Attach],
    options: &AttachOptions,
) -> Result<Vec<Link>, AttachError> {
    let mut attacher = Attacher {
        program,
        options,
        handles: HashMap::new(),
        cpus: None,
    };
    let mut links = Vec::new();
    for a in crate::attach_order::points(attaches) {
        if let Err(e) = attacher.attach(a, &mut links) {
            detach_all(links);
            return Err(e);
        }
    }
    Ok(links)
}

/// Attaches a program loaded for uprobe_multi (`ProgramSpec::uprobe_multi`) to
/// `attaches`: one link per file, each offset with its attach point's probe id (its index in
/// `probe_names`) as the cookie. The link is named after the file's attach point attached first.
pub fn attach_uprobe_multi(
    program: &Program,
    attaches: &[Attach],
    options: &AttachOptions,
    probe_names: &[String],
) -> Result<Vec<Link>, AttachError> {
    // (path, offsets, cookies, first probe name), in attach order.
    let mut files: Vec<(&str, Vec<u64>, Vec<u64>, &str)> = Vec::new();
    for a in crate::attach_order::points(attaches) {
        let Target::User {
            path, file_offset, ..
        } = &a.target
        else {
            return Err(AttachError::new(&a.name, "not a uprobe on a file"));
        };
        let at = *file_offset;
        let id = probe_names.iter().position(|n| *n == a.name).unwrap_or(0) as u64;
        match files.iter_mut().find(|f| f.0 == path.as_str()) {
            Some(f) => {
                f.1.push(at);
                f.2.push(id);
            }
            None => files.push((path, vec![at], vec![id], &a.name)),
        }
    }
    let ret = attaches.first().is_some_and(|a| a.kind.descriptor().ret);
    let pid = options.pid.unwrap_or(0);
    let mut links = Vec::new();
    for (path, offsets, cookies, first) in files {
        match sys::uprobe_multi::attach(program.fd(), path, &offsets, &cookies, ret, pid) {
            Ok(fd) => links.push(Link {
                probe: first.to_string(),
                _inner: LinkInner::Event(fd),
            }),
            Err(e) => {
                detach_all(links);
                let why = e
                    .raw_os_error()
                    .map_or_else(|| e.to_string(), sys::errno_text)
                    .to_lowercase();
                return Err(AttachError::new(
                    first,
                    format!("the kernel refused the uprobe_multi link for {path} ({why})"),
                ));
            }
        }
    }
    Ok(links)
}

/// Attaches the program of function watchpoint `watch` (`fn+argN`) to `address` in process
/// `pid`, which its function reported.
pub fn attach_watchpoint(
    program: &Program,
    watch: &Attach,
    address: u64,
    pid: u32,
) -> Result<Vec<Link>, AttachError> {
    let mut at = watch.clone();
    if let Target::Watchpoint { address: a, .. } = &mut at.target {
        *a = Some(address);
    }
    let options = AttachOptions {
        pid: Some(pid),
        cpid: None,
    };
    attach(program, &[at], &options)
}

/// Detaches every link, dropping them from up to [`DETACH_THREADS`] threads at once so that
/// the kernel's per-link waits overlap. Returns when all are detached.
pub fn detach_all(links: Vec<Link>) {
    let threads = links.len().min(DETACH_THREADS);
    if threads <= 1 {
        drop(links);
        return;
    }
    let queue = Mutex::new(links);
    let next = || queue.lock().ok().and_then(|mut q| q.pop());
    std::thread::scope(|s| {
        for _ in 1..threads {
            let worker = std::thread::Builder::new().stack_size(64 * 1024);
            // A thread that cannot start leaves its share to the others and this one.
            let _ = worker.spawn_scoped(s, || {
                while let Some(link) = next() {
                    drop(link);
                }
            });
        }
        while let Some(link) = next() {
            drop(link);
        }
    });
    // Nothing is left unless the lock was poisoned, which dropping cannot do.
    if let Ok(rest) = queue.into_inner() {
        drop(rest);
    }
}

/// aya's view of one program, one per aya program type (and probe kind) it is attached as.
enum Handle {
    TracePoint(TracePoint),
    RawTracePoint(RawTracePoint),
    KProbe(KProbe),
    UProbe(UProbe),
    PerfEvent(PerfEvent),
}

/// Which [`Handle`] an attach point needs.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum HandleKind {
    TracePoint,
    RawTracePoint,
    KProbe(bool),
    UProbe(bool),
    PerfEvent,
}

struct Attacher<'a> {
    program: &'a Program,
    options: &'a AttachOptions,
    handles: HashMap<HandleKind, Handle>,
    cpus: Option<Vec<u32>>,
}

impl Attacher<'_> {
    fn attach(&mut self, a: &Attach, links: &mut Vec<Link>) -> Result<(), AttachError> {
        let probe = a.name.as_str();
        let link = |inner| Link {
            probe: a.name.clone(),
            _inner: inner,
        };
        let aya_err = |e: ProgramError| classify(a, &e);
        match (a.kind.descriptor().attach, &a.target) {
            (Attachment::Tracepoint, Target::Tracepoint { category, event }) => {
                ensure_tracefs(probe)?;
                let Handle::TracePoint(p) = self.handle(a, HandleKind::TracePoint)? else {
                    return Err(lost_handle(a));
                };
                let id = p.attach(category, event).map_err(aya_err)?;
                let l = p.take_link(id).map_err(aya_err)?;
                links.push(link(LinkInner::TracePoint(l)));
            }
            (Attachment::RawTracepoint, Target::RawTracepoint { event }) => {
                let Handle::RawTracePoint(p) = self.handle(a, HandleKind::RawTracePoint)? else {
                    return Err(lost_handle(a));
                };
                let id = p.attach(event).map_err(aya_err)?;
                let l = p.take_link(id).map_err(aya_err)?;
                links.push(link(LinkInner::RawTracePoint(l)));
            }
            (
                Attachment::Kprobe,
                Target::KernelFunction {
                    module,
                    func,
                    offset,
                },
            ) => {
                if !kprobes_available() {
                    let ret = a.kind.descriptor().ret;
                    return Err(AttachError::new(probe, kprobes_missing(func, ret)));
                }
                let ret = a.kind.descriptor().ret;
                let Handle::KProbe(p) = self.handle(a, HandleKind::KProbe(ret))? else {
                    return Err(lost_handle(a));
                };
                let symbol = match module {
                    Some(m) => format!("{m}:{func}"),
                    None => func.clone(),
                };
                let id = p.attach(&symbol, *offset).map_err(aya_err)?;
                let l = p.take_link(id).map_err(aya_err)?;
                links.push(link(LinkInner::KProbe(l)));
            }
            (
                Attachment::Uprobe,
                Target::User {
                    path, file_offset, ..
                },
            ) => {
                let scope = match self.options.pid.and_then(NonZeroU32::new) {
                    Some(pid) => UProbeScope::OneProcess(pid),
                    None => UProbeScope::AllProcesses,
                };
                let ret = a.kind.descriptor().ret;
                let Handle::UProbe(p) = self.handle(a, HandleKind::UProbe(ret))? else {
                    return Err(lost_handle(a));
                };
                let location = UProbeAttachLocation::AbsoluteOffset(*file_offset);
                let id = p.attach(location, path, scope).map_err(aya_err)?;
                let l = p.take_link(id).map_err(aya_err)?;
                links.push(link(LinkInner::UProbe(l)));
            }
            (
                Attachment::Usdt,
                Target::Usdt {
                    path,
                    pc_offset,
                    semaphore_offset,
                    ..
                },
            ) => {
                let fd = sys::usdt_attach::attach_uprobe(
                    self.program.fd(),
                    path,
                    *pc_offset,
                    *semaphore_offset,
                    self.options.pid,
                )
                .map_err(|e| classify(a, &ProgramError::IOError(e)))?;
                links.push(link(LinkInner::Event(fd)));
            }
            (Attachment::Timer { per_cpu }, Target::Timer { unit, value }) => {
                let interval = !per_cpu;
                let policy = timer_policy(unit, *value, interval)
                    .ok_or_else(|| AttachError::new(probe, format!("unknown time unit {unit}")))?;
                let config = PerfEventConfig::Pmu {
                    pmu_type: PERF_TYPE_SOFTWARE,
                    config: PERF_COUNT_SW_CPU_CLOCK,
                };
                let cpus = if interval {
                    vec![0]
                } else {
                    self.online_cpus(probe)?
                };
                self.perf_events(a, config, policy, &cpus, links)?;
            }
            (
                pmu @ (Attachment::SoftwareEvent | Attachment::HardwareEvent),
                Target::PerfEvent { config, period, .. },
            ) => {
                let pmu_type = if pmu == Attachment::HardwareEvent {
                    PERF_TYPE_HARDWARE
                } else {
                    PERF_TYPE_SOFTWARE
                };
                let config = PerfEventConfig::Pmu {
                    pmu_type,
                    config: *config,
                };
                let cpus = self.online_cpus(probe)?;
                self.perf_events(a, config, SamplePolicy::Period(*period), &cpus, links)?;
            }
            (
                Attachment::Breakpoint,
                Target::Watchpoint {
                    address, len, mode, ..
                },
            ) => {
                let Some(address) = address else {
                    return Err(AttachError::new(
                        probe,
                        "a function watchpoint (fn+argN) attaches when its function runs, \
                         not at start (a code generator bug)",
                    ));
                };
                let config = breakpoint(*address, *len, mode)
                    .ok_or_else(|| AttachError::new(probe, "invalid watchpoint length or mode"))?;
                let scopes: Vec<PerfEventScope> = match self.options.pid.or(self.options.cpid) {
                    Some(pid) => vec![PerfEventScope::OneProcess { pid, cpu: None }],
                    None => self
                        .online_cpus(probe)?
                        .into_iter()
                        .map(|cpu| PerfEventScope::AllProcessesOneCpu { cpu })
                        .collect(),
                };
                let Handle::PerfEvent(p) = self.handle(a, HandleKind::PerfEvent)? else {
                    return Err(lost_handle(a));
                };
                for scope in scopes {
                    let id = p
                        .attach(config, scope, SamplePolicy::Period(1), false)
                        .map_err(|e| classify(a, &e))?;
                    let l = p.take_link(id).map_err(|e| classify(a, &e))?;
                    links.push(link(LinkInner::PerfEvent(l)));
                }
            }
            (Attachment::Tracing, _) => {
                let fd = sys::tracing_attach(self.program.fd())
                    .map_err(|e| AttachError::new(probe, fentry_error(&e)))?;
                links.push(link(LinkInner::Tracing(fd)));
            }
            _ => {
                return Err(AttachError::new(
                    probe,
                    format!("scry cannot attach {} probes yet", a.kind.name()),
                ));
            }
        }
        Ok(())
    }

    fn perf_events(
        &mut self,
        a: &Attach,
        config: PerfEventConfig,
        policy: SamplePolicy,
        cpus: &[u32],
        links: &mut Vec<Link>,
    ) -> Result<(), AttachError> {
        let Handle::PerfEvent(p) = self.handle(a, HandleKind::PerfEvent)? else {
            return Err(lost_handle(a));
        };
        for &cpu in cpus {
            let scope = PerfEventScope::AllProcessesOneCpu { cpu };
            let id = p
                .attach(config, scope, policy, false)
                .map_err(|e| classify(a, &e))?;
            let l = p.take_link(id).map_err(|e| classify(a, &e))?;
            links.push(Link {
                probe: a.name.clone(),
                _inner: LinkInner::PerfEvent(l),
            });
        }
        Ok(())
    }

    fn online_cpus(&mut self, probe: &str) -> Result<Vec<u32>, AttachError> {
        if self.cpus.is_none() {
            let cpus = sys::online_cpus().map_err(|e| {
                AttachError::new(
                    probe,
                    format!(
                        "the online CPUs cannot be read from /sys/devices/system/cpu/online ({e})"
                    ),
                )
            })?;
            self.cpus = Some(cpus);
        }
        Ok(self.cpus.clone().unwrap_or_default())
    }

    /// aya's handle of the program as `kind`, made on first use.
    fn handle(&mut self, a: &Attach, kind: HandleKind) -> Result<&mut Handle, AttachError> {
        let want = match kind {
            HandleKind::TracePoint => ProgType::Tracepoint,
            HandleKind::RawTracePoint => ProgType::RawTracepoint,
            HandleKind::KProbe(_) | HandleKind::UProbe(_) => ProgType::Kprobe,
            HandleKind::PerfEvent => ProgType::PerfEvent,
        };
        let program = self.program;
        if program.prog_type != want {
            return Err(AttachError::new(
                &a.name,
                format!(
                    "program {} was loaded as a {:?} program but this probe needs a {want:?} \
                     program (a code generator bug)",
                    program.name, program.prog_type
                ),
            ));
        }
        if !self.handles.contains_key(&kind) {
            let handle = make_handle(self.program, kind).map_err(|e| classify(a, &e))?;
            self.handles.insert(kind, handle);
        }
        self.handles
            .get_mut(&kind)
            .ok_or_else(|| AttachError::new(&a.name, "internal error: lost the program handle"))
    }
}

/// The error for a handle of the wrong kind, which `Attacher::handle` never returns.
fn lost_handle(a: &Attach) -> AttachError {
    AttachError::new(
        &a.name,
        "internal error: scry lost aya's handle of the program",
    )
}

/// aya's program object for our loaded program, found by id among the loaded programs (aya 0.14
/// has no public way to build a `ProgramInfo` from an fd).
fn make_handle(program: &Program, kind: HandleKind) -> Result<Handle, ProgramError> {
    let info = program_info(program.id())?;
    let name: Cow<'static, str> = Cow::Owned(program.name.clone());
    let probe_kind = |ret| {
        if ret {
            AyaProbeKind::Return
        } else {
            AyaProbeKind::Entry
        }
    };
    Ok(match kind {
        HandleKind::TracePoint => Handle::TracePoint(TracePoint::from_program_info(info, name)?),
        HandleKind::RawTracePoint => {
            Handle::RawTracePoint(RawTracePoint::from_program_info(info, name)?)
        }
        HandleKind::KProbe(ret) => {
            Handle::KProbe(sys::aya_handles::kprobe(info, name, probe_kind(ret))?)
        }
        HandleKind::UProbe(ret) => {
            Handle::UProbe(sys::aya_handles::uprobe(info, name, probe_kind(ret))?)
        }
        HandleKind::PerfEvent => Handle::PerfEvent(PerfEvent::from_program_info(info, name)?),
    })
}

fn program_info(id: u32) -> Result<ProgramInfo, ProgramError> {
    let mut first_error = None;
    for info in loaded_programs() {
        match info {
            Ok(info) if info.id() == id => return Ok(info),
            Ok(_) => {}
            // A program unloaded while we look, or no permission to list programs.
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(ProgramError::NotLoaded))
}

/// The sample policy of profile/interval probes: `hz:N` samples N times a second (profile by
/// frequency, interval by the equivalent period), `s/ms/us:N` every N units.
fn timer_policy(unit: &str, value: u64, interval: bool) -> Option<SamplePolicy> {
    let ns_per_unit = match unit {
        "hz" if interval => return Some(SamplePolicy::Period((1_000_000_000 / value).max(1))),
        "hz" => return Some(SamplePolicy::Frequency(value)),
        "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "us" => 1_000,
        _ => return None,
    };
    Some(SamplePolicy::Period(value.saturating_mul(ns_per_unit)))
}

/// Mounts tracefs if needed before aya looks for it (aya remembers the first answer).
fn ensure_tracefs(probe: &str) -> Result<(), AttachError> {
    static TRACEFS: OnceLock<Result<(), String>> = OnceLock::new();
    TRACEFS
        .get_or_init(|| crate::catalog::find_or_mount_tracefs().map(drop))
        .clone()
        .map_err(|e| AttachError::new(probe, e))
}

/// The breakpoint PMU event of a watchpoint: `len` bytes at `address`, triggered by mode
/// `r`/`w`/`rw` (x86 has no read-only breakpoints: `r` watches reads and writes, as in
/// bpftrace) or `x` (execution).
fn breakpoint(address: u64, len: u8, mode: &str) -> Option<PerfEventConfig> {
    use aya::programs::perf_event::{BreakpointConfig, PerfBreakpointLength, PerfBreakpointType};
    if mode == "x" {
        return Some(PerfEventConfig::Breakpoint(BreakpointConfig::Instruction {
            address,
        }));
    }
    let length = match len {
        1 => PerfBreakpointLength::Len1,
        2 => PerfBreakpointLength::Len2,
        4 => PerfBreakpointLength::Len4,
        8 => PerfBreakpointLength::Len8,
        _ => return None,
    };
    let r#type = if mode.contains('r') {
        PerfBreakpointType::ReadWrite
    } else {
        PerfBreakpointType::Write
    };
    Some(PerfEventConfig::Breakpoint(BreakpointConfig::Data {
        r#type,
        address,
        length,
    }))
}

/// Why a kprobe on `func` cannot attach on a kernel without kprobes, and what to use instead:
/// the syscall tracepoint of a syscall's entry function when one exists (`do_sys_openat2` ->
/// `tracepoint:syscalls:sys_enter_openat2`, `sys_exit_` for a kretprobe), else tracepoints.
fn kprobes_missing(func: &str, ret: bool) -> String {
    let base = "this kernel was built without CONFIG_KPROBES (no kprobe_events in tracefs), so \
                kprobe and kretprobe probes are unavailable";
    match crate::syscall_hint::syscall_tracepoint(func, ret) {
        Some(tp) => format!("{base}; use {tp} instead"),
        None => format!("{base}; use tracepoints (scry -l 'tracepoint:*')"),
    }
}

/// Why an fentry/fexit link could not be made (the program loaded, so the kernel knows the
/// function).
fn fentry_error(e: &std::io::Error) -> String {
    /// The kernel's internal ENOTSUPP, which bpf(2) passes through.
    const ENOTSUPP: i32 = 524;
    match e.raw_os_error() {
        Some(ENOTSUPP | libc::EOPNOTSUPP) => "the kernel cannot build an fentry/fexit trampoline \
             for it (that needs CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS and a function ftrace \
             can patch)"
            .to_string(),
        Some(libc::EBUSY) => {
            "the function already has as many fentry/fexit programs as the kernel allows".into()
        }
        Some(errno) => format!(
            "the kernel refused the fentry/fexit link ({})",
            sys::errno_text(errno).to_lowercase()
        ),
        None => format!("the kernel refused the fentry/fexit link ({e})"),
    }
}

/// Whether kprobes can attach: the kprobe PMU or tracefs's `kprobe_events` exists.
pub fn kprobes_available() -> bool {
    Path::new("/sys/bus/event_source/devices/kprobe").exists()
        || crate::catalog::find_tracefs().is_some_and(|t| t.join("kprobe_events").exists())
}

/// The errno behind an aya error, if any.
fn errno_of(e: &ProgramError) -> Option<i32> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(n) = err
            .downcast_ref::<io::Error>()
            .and_then(io::Error::raw_os_error)
        {
            return Some(n);
        }
        cur = err.source();
    }
    None
}

/// One sentence for an aya attach error.
fn classify(a: &Attach, e: &ProgramError) -> AttachError {
    let probe = a.name.as_str();
    let errno = errno_of(e);
    let why = match (errno, a.kind.descriptor().attach, &a.target) {
        (Some(libc::EPERM | libc::EACCES), _, _) => {
            "permission denied; scry must run as root (or with CAP_BPF and CAP_PERFMON)".to_string()
        }
        (Some(libc::EMFILE | libc::ENFILE), _, _) => "too many open files; every attached \
            probe holds one, so raise the limit with ulimit -n or attach fewer probes"
            .to_string(),
        (
            Some(n @ (libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV)),
            Attachment::HardwareEvent,
            _,
        ) => {
            format!(
                "this machine has no hardware PMU (perf_event_open returned {}), so hardware \
                 probes are unavailable",
                errno_name(n)
            )
        }
        (Some(libc::ENOENT), Attachment::Tracepoint, Target::Tracepoint { category, event }) => {
            format!(
                "this kernel has no tracepoint {category}:{event} (no events/{category}/{event} \
                 in tracefs); list them with scry -l 'tracepoint:{category}:*'"
            )
        }
        (Some(libc::ENOENT), Attachment::RawTracepoint, Target::RawTracepoint { event }) => {
            format!("this kernel has no raw tracepoint {event}")
        }
        (Some(libc::ENOENT | libc::EINVAL), Attachment::Kprobe, _) => {
            "the kernel cannot probe this function (it does not exist, is inlined or is on the \
             kprobe blacklist)"
                .to_string()
        }
        (Some(n), _, _) => format!(
            "the kernel refused it ({})",
            sys::errno_text(n).to_lowercase()
        ),
        (None, _, _) => format!("{e}"),
    };
    AttachError::new(probe, why)
}

/// The symbolic name of the errnos attach errors mention.
fn errno_name(n: i32) -> String {
    match n {
        libc::ENOENT => "ENOENT".to_string(),
        libc::EOPNOTSUPP => "EOPNOTSUPP".to_string(),
        libc::ENODEV => "ENODEV".to_string(),
        _ => sys::errno_text(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_policies() {
        assert!(matches!(
            timer_policy("hz", 99, false),
            Some(SamplePolicy::Frequency(99))
        ));
        assert!(matches!(
            timer_policy("hz", 4, true),
            Some(SamplePolicy::Period(250_000_000))
        ));
        assert!(matches!(
            timer_policy("ms", 10, false),
            Some(SamplePolicy::Period(10_000_000))
        ));
        assert!(timer_policy("ns", 1, false).is_none());
    }
}
