//! The order programs attach in. The kernel runs the programs of one uprobe newest first, so
//! uprobe, uretprobe and USDT programs attach in reverse program order: several on one
//! function then fire in program order, as in bpftrace. Every other program attaches in order.

use std::ops::Range;

use scry_ebpf::object::{Object, ProgramSpec};

/// Indices of `object`'s programs in `programs` in the order to attach them.
pub fn order(object: &Object, programs: Range<usize>) -> Vec<usize> {
    let user = |i: &usize| object.programs.get(*i).is_some_and(on_uprobe);
    let mut out: Vec<usize> = programs.clone().filter(|i| !user(i)).collect();
    out.extend(programs.rev().filter(user));
    out
}

fn on_uprobe(p: &ProgramSpec) -> bool {
    p.attaches.first().is_some_and(|a| a.kind.is_user())
}
