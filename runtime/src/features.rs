//! What this kernel lets scry do, asked by loading tiny programs and creating tiny maps: the
//! answers `--info` reports.

use std::os::fd::AsFd;
use std::path::Path;
use std::sync::OnceLock;

use scry_ebpf::insn::{encode, Alu, Cond, Helper, Insn, Reg};
use scry_ebpf::object::{MapKind, MapSpec, ProgType};

use crate::catalog::btf::KernelBtf;
use crate::sys;

/// The verifier log of a refused probe program: enough for its first lines.
const LOG_SIZE: usize = 4096;

/// Loads `insns` as a program of `prog_type` (for `btf`, if a tracing program); the log of a
/// refusal, or `None` when the kernel accepted it.
fn load(prog_type: ProgType, btf: Option<sys::BtfAttach>, insns: &[Insn]) -> Option<String> {
    match sys::prog_load(prog_type, btf, &encode(insns), "scry_feature", 1, LOG_SIZE) {
        Ok(_) => None,
        Err(failure) => Some(failure.log),
    }
}

const RETURN_0: [Insn; 2] = [Insn::mov_imm(Reg(0), 0), Insn::exit()];

/// Whether a kprobe program may call `helper`.
pub fn helper(helper: Helper) -> bool {
    helper_in(ProgType::Kprobe, None, helper)
}

/// Whether a program of `prog_type` may call `helper`. The verifier looks the helper up
/// before it checks the arguments, so a refusal for any other reason still means the helper
/// exists.
fn helper_in(prog_type: ProgType, btf: Option<sys::BtfAttach>, helper: Helper) -> bool {
    let insns = [Insn::call(helper), RETURN_0[0], RETURN_0[1]];
    load(prog_type, btf, &insns).is_none_or(|log| {
        !log.contains("invalid func")
            && !log.contains("unknown func")
            && !log.contains("not allowed")
            && !log.trim().is_empty()
    })
}

/// Whether `path()` can work: `d_path` in an fentry program on a function the kernel allows
/// it in (`dentry_open`).
pub fn dpath() -> bool {
    fentry("dentry_open").is_some_and(|at| helper_in(ProgType::Tracing, Some(at), Helper::DPath))
}

/// Whether programs of `prog_type` load.
pub fn program_type(prog_type: ProgType) -> bool {
    load(prog_type, None, &RETURN_0).is_none()
}

/// Whether the verifier accepts a bounded loop (kernel 5.3 and later).
pub fn loops() -> bool {
    let insns = [
        Insn::mov_imm(Reg(0), 0),
        Insn::alu_imm(Alu::Add, Reg(0), 1),
        Insn::jmp_imm(Cond::Lt, Reg(0), 4, -2),
        Insn::exit(),
    ];
    load(ProgType::Kprobe, None, &insns).is_none()
}

/// The most instructions a program may have: one million from kernel 5.2 (the same kernels
/// that allow bounded loops, give or take one release), 4096 before.
pub fn instruction_limit() -> u32 {
    if loops() {
        1_000_000
    } else {
        4096
    }
}

/// The kernel's BTF, read once (parsing it is the slowest probe).
fn kernel_btf() -> Option<&'static KernelBtf> {
    static BTF: OnceLock<Option<KernelBtf>> = OnceLock::new();
    BTF.get_or_init(|| KernelBtf::open().ok()).as_ref()
}

/// Whether the kernel's BTF is readable (`/sys/kernel/btf/vmlinux`).
pub fn btf() -> bool {
    kernel_btf().is_some()
}

/// Whether maps can be read in batches (`BPF_MAP_LOOKUP_BATCH` on an empty hash map).
pub fn map_batch() -> bool {
    let spec = MapSpec {
        name: "scry_feature".into(),
        kind: MapKind::Hash,
        key_size: 8,
        value_size: 8,
        max_entries: 1,
    };
    let Ok(map) = sys::map_create(&spec) else {
        return false;
    };
    let (mut token, mut key, mut value) = ([0u8; 8], [0u8; 8], [0u8; 8]);
    sys::map_lookup_batch(map.as_fd(), None, &mut token, &mut key, &mut value, 1).is_ok()
}

/// Whether USDT semaphores can be set by the kernel (the uprobe PMU's `ref_ctr_offset`).
pub fn uprobe_refcount() -> bool {
    Path::new("/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset").exists()
}

/// Whether fentry programs (kfunc) load: one for `vfs_read`.
pub fn kfunc() -> bool {
    fentry("vfs_read").is_some_and(|at| load(ProgType::Tracing, Some(at), &RETURN_0).is_none())
}

/// An fentry program's attachment to `func`, if the kernel's BTF describes it.
fn fentry(func: &str) -> Option<sys::BtfAttach> {
    let btf_id = kernel_btf()?.function_id(func)?;
    Some(sys::BtfAttach {
        attach_type: sys::BPF_TRACE_FENTRY,
        btf_id,
    })
}

/// Whether BEGIN/END can run: a raw tracepoint program runs with `BPF_PROG_TEST_RUN`.
pub fn raw_tp_special() -> bool {
    match sys::prog_load(
        ProgType::RawTracepoint,
        None,
        &encode(&RETURN_0),
        "scry_feature",
        0,
        0,
    ) {
        Ok(p) => sys::prog_test_run(p.fd.as_fd()).is_ok(),
        Err(_) => false,
    }
}

/// The map types scry and bpftrace use, by bpftrace's names, and whether the kernel creates
/// each.
pub fn map_types() -> Vec<(&'static str, bool)> {
    // Name, BPF_MAP_TYPE_* number, a key size and a value size the type accepts.
    const TYPES: [(&str, u32, u32, u32); 6] = [
        ("hash", 1, 8, 8),
        ("percpu hash", 5, 8, 8),
        ("array", 2, 4, 8),
        ("percpu array", 6, 4, 8),
        ("stack_trace", 7, 4, 8),
        ("perf_event_array", 4, 4, 4),
    ];
    TYPES
        .iter()
        .map(|&(name, ty, key, value)| (name, sys::map_type_supported(ty, key, value)))
        .collect()
}
