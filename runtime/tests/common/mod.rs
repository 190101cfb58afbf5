//! Hand-written BPF programs and objects for the loader and attach tests.

#![allow(dead_code)]

use scry_ebpf::insn::{Alu, Cond, Helper, Insn, Size, R0, R1, R10, R2, R3, R4};
use scry_ebpf::object::{MapKind, MapSpec, Object, ProgType, ProgramSpec, Slots, Trigger};
use scry_lang::attach::{Attach, Target};
use scry_lang::probe::ProbeKind;
use scry_lang::span::Span;

/// A map spec.
pub fn map(name: &str, kind: MapKind, key_size: u32, value_size: u32, max: u32) -> MapSpec {
    MapSpec {
        name: name.to_string(),
        kind,
        key_size,
        value_size,
        max_entries: max,
    }
}

/// A program spec with one span per instruction.
pub fn program(
    name: &str,
    prog_type: ProgType,
    trigger: Trigger,
    insns: Vec<Insn>,
    attaches: Vec<Attach>,
) -> ProgramSpec {
    ProgramSpec {
        name: name.to_string(),
        prog_type,
        trigger,
        spans: vec![Span::default(); insns.len()],
        insns,
        attaches,
        probe_block: 0,
        actions: 0..0,
        scratch_map: None,
        fan_in: None,
        uprobe_multi: false,
        attach_btf_id: None,
    }
}

/// An object with these maps and programs.
pub fn object(maps: Vec<MapSpec>, programs: Vec<ProgramSpec>) -> Object {
    Object {
        maps,
        programs: programs.into_iter().collect(),
        ..Object::default()
    }
}

/// Programs that continue a list of `first` programs (their indexes start at `first`).
pub fn programs_after(first: usize, programs: Vec<ProgramSpec>) -> Slots<ProgramSpec> {
    let mut slots = Slots::default();
    for (i, p) in programs.into_iter().enumerate() {
        slots.insert(first + i, p);
    }
    slots
}

/// `tracepoint:CATEGORY:EVENT`.
pub fn tracepoint(category: &str, event: &str) -> Attach {
    Attach {
        kind: ProbeKind::Tracepoint,
        name: format!("tracepoint:{category}:{event}"),
        target: Target::Tracepoint {
            category: category.to_string(),
            event: event.to_string(),
        },
    }
}

/// `r0 = 0; exit`.
pub fn trivial() -> Vec<Insn> {
    vec![Insn::mov_imm(R0, 0), Insn::exit()]
}

/// `@[tgid] += 1` in hash map `map` (u64 key and value).
pub fn count_by_tgid(map: u32) -> Vec<Insn> {
    let mut v = vec![
        Insn::call(Helper::GetCurrentPidTgid),
        Insn::alu_imm(Alu::Rsh, R0, 32),
        Insn::store(Size::DW, R10, -8, R0),
    ];
    v.extend(Insn::ld_map(R1, map));
    v.extend([
        Insn::mov(R2, R10),
        Insn::alu_imm(Alu::Add, R2, -8),
        Insn::call(Helper::MapLookupElem),
        Insn::jmp_imm(Cond::Eq, R0, 0, 4),
        Insn::mov_imm(R1, 1),
        Insn::atomic_add(R0, 0, R1),
        Insn::mov_imm(R0, 0),
        Insn::exit(),
        Insn::mov_imm(R1, 1),
        Insn::store(Size::DW, R10, -16, R1),
    ]);
    v.extend(Insn::ld_map(R1, map));
    v.extend([
        Insn::mov(R2, R10),
        Insn::alu_imm(Alu::Add, R2, -8),
        Insn::mov(R3, R10),
        Insn::alu_imm(Alu::Add, R3, -16),
        Insn::mov_imm(R4, 0),
        Insn::call(Helper::MapUpdateElem),
        Insn::mov_imm(R0, 0),
        Insn::exit(),
    ]);
    v
}

/// `array[0] += add` in an array or per-CPU array `map` (u32 key, u64 value).
pub fn add_to_slot0(map: u32, add: i32) -> Vec<Insn> {
    let mut v = vec![Insn::mov_imm(R1, 0), Insn::store(Size::W, R10, -4, R1)];
    v.extend(Insn::ld_map(R1, map));
    v.extend([
        Insn::mov(R2, R10),
        Insn::alu_imm(Alu::Add, R2, -4),
        Insn::call(Helper::MapLookupElem),
        Insn::jmp_imm(Cond::Eq, R0, 0, 2),
        Insn::mov_imm(R1, add),
        Insn::atomic_add(R0, 0, R1),
        Insn::mov_imm(R0, 0),
        Insn::exit(),
    ]);
    v
}

/// The u64 in slot 0 of an array map, summed over CPUs for a per-CPU map.
pub fn slot0(map: &scry_runtime::load::Map) -> u64 {
    let value = map.lookup(&0u32.to_ne_bytes()).unwrap().unwrap();
    map.per_cpu(&value)
        .map(|v| u64::from_ne_bytes(v[..8].try_into().unwrap()))
        .sum()
}

/// How many bpf_link file descriptors this process holds.
pub fn bpf_link_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|t| t.to_string_lossy() == "anon_inode:bpf_link")
        .count()
}
