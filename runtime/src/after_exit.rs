//! What a session does between `exit()` and its end, as bpftrace 0.17 does it.
//!
//! In 0.17 `exit()` is a record that user space acts on: from it until END runs, every record
//! is dropped (printf, print, time, clear, zero, another exit, ...), the probes are closed one
//! after another (a perf-event probe takes 70-120 ms to close: the kernel waits for grace
//! periods), and the event loop goes on until one 100 ms wait sees no event. Probes still
//! attached keep updating maps meanwhile, so a workload that ends within that time is counted
//! whole (bpftrace's own test `intcast."Sum casted retval"`: 221 calls of a function whose
//! uretprobe calls `exit()`, all counted).
//!
//! scry keeps what is deterministic in that: after `exit()` the probes that can change a map
//! on a workload's events ([`stays_attached`]) stay attached until the ring buffer has been
//! quiet for [`QUIET_NS`] (every record sent meanwhile is dropped), for at most
//! [`SETTLE_MAX_NS`]; then they detach, END runs and the maps print. The other probes (no map
//! written, or a timer) detach at once, and a session with none of the first kind attached
//! does not wait at all (`BEGIN { exit(); }`, printf one-liners, `interval` probes).
//! SIGINT/SIGTERM and the end of the `-c`/`-p` process end the wait at once.

use scry_ebpf::insn::PSEUDO_MAP_FD;
use scry_ebpf::object::{ActionKind, Object, ProgramSpec};
use scry_lang::probe::Attachment;

/// After `exit()`, probes that can change a map stay attached until no record has arrived for
/// this long (100 ms, 0.17's event-loop timeout, which is also about the time 0.17 takes to
/// close one perf-event probe). A workload that keeps sending records (the `exit()` of each of
/// its events) is counted until it stops.
pub const QUIET_NS: i128 = 100_000_000;

/// The longest the session waits for that quiet after `exit()` (1 s): a stream of records that
/// never pauses (a busy system-wide probe calling `exit()` on every event) must not keep scry
/// alive. Then the probes detach anyway, and the maps hold what came until then. 0.17 has no
/// bound, but its answer for a workload running that long after `exit()` depends on how fast
/// it happens to close its probes (about ten perf-event probes' closes fit in a second), so no
/// deterministic answer is cut short.
pub const SETTLE_MAX_NS: i128 = 1_000_000_000;

/// Whether program `spec` stays attached after `exit()`: it fires on a workload's events (not
/// on a timer: what `interval` and `profile` add after `exit()` depends only on when the probes
/// close, in 0.17 too, and an `interval:ms:100 { ...; exit(); }` would never let the ring go
/// quiet), and it can change what the session prints at its end: it refers to a user map or a
/// weighted reducer's kernel counts (a program that only reads one counts too), or sends
/// reducer updates.
pub fn stays_attached(object: &Object, spec: &ProgramSpec) -> bool {
    let timer = (spec.attaches.iter())
        .any(|a| matches!(a.kind.descriptor().attach, Attachment::Timer { .. }));
    !timer && changes_maps(object, spec)
}

fn changes_maps(object: &Object, spec: &ProgramSpec) -> bool {
    let printed = |m: usize| {
        object.user_maps.iter().any(|u| u.map == m)
            || (object.reducer_maps.iter())
                .filter_map(|r| r.counts.as_ref())
                .any(|c| c.map == m || c.generation == m)
    };
    let refers = (spec.insns.iter())
        .any(|i| i.code == 0x18 && i.src == PSEUDO_MAP_FD && printed(i.imm as u32 as usize));
    refers
        || spec.actions.clone().any(|a| {
            object
                .actions
                .get(a)
                .is_some_and(|a| updates_reducer(&a.kind))
        })
}

/// Whether a record of `kind` is still acted on after `exit()`: reducer updates (they are map
/// updates, as the kernel's keep being made), and the session's own records (a process's memory
/// map kept for its stacks, a watchpoint's process let go). Everything else is dropped.
pub fn acted_on(kind: &ActionKind) -> bool {
    updates_reducer(kind) || matches!(kind, ActionKind::UserPid | ActionKind::Watch(_))
}

fn updates_reducer(kind: &ActionKind) -> bool {
    matches!(kind, ActionKind::Reduce(_) | ActionKind::DeleteReducer(_))
}
