//! The order programs and their attach points attach in, as bpftrace 0.17 attaches them. The
//! kernel runs the programs of one uprobe, and those of one software event, newest first, so
//! uprobe, uretprobe, USDT and software programs attach in reverse program order: several on
//! one function or event then fire in program order, as in bpftrace; the programs one probe
//! block expands to (one per site of a USDT wildcard) keep their order among themselves, so in
//! a process already running the block's first match fires first, as with 0.17 (with records
//! after `exit()` dropped, `usdt:BIN:* { ...; exit(); }` prints the first site that fired).
//! Every other program attaches in order. The attach points of a user probe attach last to first too, as 0.17
//! attaches each match of a wildcard (one probe each), so that in a process already running,
//! the site that fires first is the one 0.17 would see first.

use std::cmp::Reverse;
use std::ops::Range;

use scry_ebpf::object::{Object, ProgramSpec};
use scry_lang::attach::Attach;
use scry_lang::probe::Attachment;

/// Indices of `object`'s programs in `programs` in the order to attach them.
pub fn order(object: &Object, programs: Range<usize>) -> Vec<usize> {
    let reversed = |i: &usize| object.programs.get(*i).is_some_and(newest_first);
    let mut out: Vec<usize> = programs.clone().filter(|i| !reversed(i)).collect();
    // Newest probe block first; the programs of one block (one per site of a USDT wildcard)
    // keep their order (a stable sort), so its first match attaches first as in 0.17.
    let mut newest: Vec<usize> = programs.filter(reversed).collect();
    newest.sort_by_key(|&i| Reverse(object.programs.get(i).map_or(0, |p| p.probe_block)));
    out.extend(newest);
    out
}

/// A program's attach points in the order to attach them.
pub fn points(attaches: &[Attach]) -> Vec<&Attach> {
    if attaches.first().is_some_and(|a| a.kind.is_user()) {
        attaches.iter().rev().collect()
    } else {
        attaches.iter().collect()
    }
}

fn newest_first(p: &ProgramSpec) -> bool {
    p.attaches.first().is_some_and(|a| {
        a.kind.is_user() || a.kind.descriptor().attach == Attachment::SoftwareEvent
    })
}
