//! aya's unsafe constructors of probe programs from programs scry loaded itself.

use std::borrow::Cow;

use aya::programs::{KProbe, ProbeKind, ProgramError, ProgramInfo, UProbe};

/// aya's kprobe handle for a program scry loaded as `BPF_PROG_TYPE_KPROBE` for a kprobe.
pub fn kprobe(
    info: ProgramInfo,
    name: Cow<'static, str>,
    kind: ProbeKind,
) -> Result<KProbe, ProgramError> {
    // SAFETY: the caller passes only programs scry loaded as BPF_PROG_TYPE_KPROBE from code
    // generated for a kprobe of this kind (the attacher checks the program's type).
    unsafe { KProbe::from_program_info(info, name, kind) }
}

/// aya's uprobe handle for a program scry loaded as `BPF_PROG_TYPE_KPROBE` for a uprobe.
pub fn uprobe(
    info: ProgramInfo,
    name: Cow<'static, str>,
    kind: ProbeKind,
) -> Result<UProbe, ProgramError> {
    // SAFETY: as for kprobes; uprobes are BPF_PROG_TYPE_KPROBE programs too.
    unsafe { UProbe::from_program_info(info, name, kind) }
}
