//! eBPF instructions: encoding, the helper functions scry calls, and a disassembler.

use std::fmt;

/// A register, r0..r10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reg(pub u8);

/// Return value and scratch.
pub const R0: Reg = Reg(0);
/// Argument registers (clobbered by calls).
pub const R1: Reg = Reg(1);
pub const R2: Reg = Reg(2);
pub const R3: Reg = Reg(3);
pub const R4: Reg = Reg(4);
pub const R5: Reg = Reg(5);
/// Callee-saved registers.
pub const R6: Reg = Reg(6);
pub const R7: Reg = Reg(7);
pub const R8: Reg = Reg(8);
pub const R9: Reg = Reg(9);
/// The read-only frame pointer.
pub const R10: Reg = Reg(10);

/// One 8-byte instruction as the kernel reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

// Instruction classes.
const LD: u8 = 0x00;
const LDX: u8 = 0x01;
const ST: u8 = 0x02;
const STX: u8 = 0x03;
const ALU: u8 = 0x04;
const JMP: u8 = 0x05;
const ALU64: u8 = 0x07;
// Modes and sources.
const IMM: u8 = 0x00;
const MEM: u8 = 0x60;
const ATOMIC: u8 = 0xc0;
/// `imm` of an atomic add that also returns the old value (BPF_ADD | BPF_FETCH).
const ATOMIC_FETCH: i32 = 0x01;
const K: u8 = 0x00;
const X: u8 = 0x08;

/// `src` of a 64-bit immediate load that the loader patches with a map fd.
pub const PSEUDO_MAP_FD: u8 = 1;

/// Access sizes of loads and stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    B = 0x10,
    H = 0x08,
    W = 0x00,
    DW = 0x18,
}

impl Size {
    /// The access size for a value of `bytes` bytes (1, 2, 4 or 8).
    pub fn of_bytes(bytes: usize) -> Size {
        match bytes {
            1 => Size::B,
            2 => Size::H,
            4 => Size::W,
            _ => Size::DW,
        }
    }

    pub fn bytes(self) -> usize {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Size::B => "u8",
            Size::H => "u16",
            Size::W => "u32",
            Size::DW => "u64",
        }
    }

    fn from_code(code: u8) -> Size {
        match code & 0x18 {
            0x10 => Size::B,
            0x08 => Size::H,
            0x00 => Size::W,
            _ => Size::DW,
        }
    }
}

/// ALU operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alu {
    Add = 0x00,
    Sub = 0x10,
    Mul = 0x20,
    Div = 0x30,
    Or = 0x40,
    And = 0x50,
    Lsh = 0x60,
    Rsh = 0x70,
    Neg = 0x80,
    Mod = 0x90,
    Xor = 0xa0,
    Mov = 0xb0,
    Arsh = 0xc0,
}

impl Alu {
    fn from_code(code: u8) -> Option<Alu> {
        use Alu::*;
        [
            Add, Sub, Mul, Div, Or, And, Lsh, Rsh, Neg, Mod, Xor, Mov, Arsh,
        ]
        .into_iter()
        .find(|a| *a as u8 == code & 0xf0)
    }

    fn symbol(self) -> &'static str {
        use Alu::*;
        match self {
            Add => "+=",
            Sub => "-=",
            Mul => "*=",
            Div => "/=",
            Or => "|=",
            And => "&=",
            Lsh => "<<=",
            Rsh => ">>=",
            Neg => "= -",
            Mod => "%=",
            Xor => "^=",
            Mov => "=",
            Arsh => "s>>=",
        }
    }
}

/// Jump conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    Eq = 0x10,
    Gt = 0x20,
    Ge = 0x30,
    Set = 0x40,
    Ne = 0x50,
    Sgt = 0x60,
    Sge = 0x70,
    Lt = 0xa0,
    Le = 0xb0,
    Slt = 0xc0,
    Sle = 0xd0,
}

impl Cond {
    fn from_code(code: u8) -> Option<Cond> {
        use Cond::*;
        [Eq, Gt, Ge, Set, Ne, Sgt, Sge, Lt, Le, Slt, Sle]
            .into_iter()
            .find(|c| *c as u8 == code & 0xf0)
    }

    fn symbol(self) -> &'static str {
        use Cond::*;
        match self {
            Eq => "==",
            Gt => ">",
            Ge => ">=",
            Set => "&",
            Ne => "!=",
            Sgt => "s>",
            Sge => "s>=",
            Lt => "<",
            Le => "<=",
            Slt => "s<",
            Sle => "s<=",
        }
    }

    /// The condition that holds exactly when this one does not.
    pub fn negate(self) -> Cond {
        use Cond::*;
        match self {
            Eq => Ne,
            Ne => Eq,
            Gt => Le,
            Le => Gt,
            Ge => Lt,
            Lt => Ge,
            Sgt => Sle,
            Sle => Sgt,
            Sge => Slt,
            Slt => Sge,
            Set => Set,
        }
    }
}

/// Kernel helper functions scry calls, with their ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Helper {
    MapLookupElem = 1,
    MapUpdateElem = 2,
    MapDeleteElem = 3,
    ProbeRead = 4,
    KtimeGetNs = 5,
    TracePrintk = 6,
    GetPrandomU32 = 7,
    GetSmpProcessorId = 8,
    GetCurrentPidTgid = 14,
    GetCurrentUidGid = 15,
    GetCurrentComm = 16,
    GetStackid = 27,
    GetCurrentTask = 35,
    GetNumaNodeId = 42,
    ProbeReadStr = 45,
    OverrideReturn = 58,
    GetCurrentCgroupId = 80,
    SendSignal = 109,
    ProbeReadUser = 112,
    ProbeReadKernel = 113,
    ProbeReadUserStr = 114,
    ProbeReadKernelStr = 115,
    KtimeGetBootNs = 125,
    DPath = 147,
    RingbufOutput = 130,
    RingbufReserve = 131,
    RingbufSubmit = 132,
    GetFuncIp = 173,
    GetAttachCookie = 174,
}

impl Helper {
    const ALL: &'static [Helper] = &[
        Helper::MapLookupElem,
        Helper::MapUpdateElem,
        Helper::MapDeleteElem,
        Helper::ProbeRead,
        Helper::KtimeGetNs,
        Helper::TracePrintk,
        Helper::GetPrandomU32,
        Helper::GetSmpProcessorId,
        Helper::GetCurrentPidTgid,
        Helper::GetCurrentUidGid,
        Helper::GetCurrentComm,
        Helper::GetStackid,
        Helper::GetCurrentTask,
        Helper::GetNumaNodeId,
        Helper::ProbeReadStr,
        Helper::OverrideReturn,
        Helper::GetCurrentCgroupId,
        Helper::SendSignal,
        Helper::ProbeReadUser,
        Helper::ProbeReadKernel,
        Helper::ProbeReadUserStr,
        Helper::ProbeReadKernelStr,
        Helper::KtimeGetBootNs,
        Helper::DPath,
        Helper::RingbufOutput,
        Helper::RingbufReserve,
        Helper::RingbufSubmit,
        Helper::GetFuncIp,
        Helper::GetAttachCookie,
    ];

    /// The helper's name as the kernel spells it (without `bpf_`).
    pub fn name(self) -> &'static str {
        match self {
            Helper::MapLookupElem => "map_lookup_elem",
            Helper::MapUpdateElem => "map_update_elem",
            Helper::MapDeleteElem => "map_delete_elem",
            Helper::ProbeRead => "probe_read",
            Helper::KtimeGetNs => "ktime_get_ns",
            Helper::TracePrintk => "trace_printk",
            Helper::GetPrandomU32 => "get_prandom_u32",
            Helper::GetSmpProcessorId => "get_smp_processor_id",
            Helper::GetCurrentPidTgid => "get_current_pid_tgid",
            Helper::GetCurrentUidGid => "get_current_uid_gid",
            Helper::GetCurrentComm => "get_current_comm",
            Helper::GetStackid => "get_stackid",
            Helper::GetCurrentTask => "get_current_task",
            Helper::GetNumaNodeId => "get_numa_node_id",
            Helper::ProbeReadStr => "probe_read_str",
            Helper::OverrideReturn => "override_return",
            Helper::GetCurrentCgroupId => "get_current_cgroup_id",
            Helper::SendSignal => "send_signal",
            Helper::ProbeReadUser => "probe_read_user",
            Helper::ProbeReadKernel => "probe_read_kernel",
            Helper::ProbeReadUserStr => "probe_read_user_str",
            Helper::ProbeReadKernelStr => "probe_read_kernel_str",
            Helper::KtimeGetBootNs => "ktime_get_boot_ns",
            Helper::DPath => "d_path",
            Helper::RingbufOutput => "ringbuf_output",
            Helper::RingbufReserve => "ringbuf_reserve",
            Helper::RingbufSubmit => "ringbuf_submit",
            Helper::GetFuncIp => "get_func_ip",
            Helper::GetAttachCookie => "get_attach_cookie",
        }
    }

    fn from_id(id: i32) -> Option<Helper> {
        Helper::ALL.iter().copied().find(|h| *h as i32 == id)
    }
}

impl Insn {
    const fn new(code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            dst: dst.0,
            src: src.0,
            off,
            imm,
        }
    }

    /// `dst op= src` (64-bit).
    pub const fn alu_reg(op: Alu, dst: Reg, src: Reg) -> Insn {
        Insn::new(ALU64 | X | op as u8, dst, src, 0, 0)
    }

    /// `dst op= imm` (64-bit; imm sign-extended).
    pub const fn alu_imm(op: Alu, dst: Reg, imm: i32) -> Insn {
        Insn::new(ALU64 | K | op as u8, dst, Reg(0), 0, imm)
    }

    /// `dst = (u32)dst op imm`: 32-bit ALU, zero-extending the result.
    pub const fn alu32_imm(op: Alu, dst: Reg, imm: i32) -> Insn {
        Insn::new(ALU | K | op as u8, dst, Reg(0), 0, imm)
    }

    /// `dst = src`.
    pub const fn mov(dst: Reg, src: Reg) -> Insn {
        Insn::alu_reg(Alu::Mov, dst, src)
    }

    /// `dst = imm` (sign-extended 32-bit immediate).
    pub const fn mov_imm(dst: Reg, imm: i32) -> Insn {
        Insn::alu_imm(Alu::Mov, dst, imm)
    }

    /// Byte swap to big endian of `bits` (16, 32, 64).
    pub const fn bswap(dst: Reg, bits: i32) -> Insn {
        Insn::new(ALU | 0xd0 | X, dst, Reg(0), 0, bits)
    }

    /// The two halves of `dst = imm64`.
    pub const fn ld_imm64(dst: Reg, imm: u64) -> [Insn; 2] {
        [
            Insn::new(LD | IMM | Size::DW as u8, dst, Reg(0), 0, imm as u32 as i32),
            Insn::new(0, Reg(0), Reg(0), 0, (imm >> 32) as u32 as i32),
        ]
    }

    /// The two halves of `dst = &map` (the loader writes the map fd into `imm`).
    pub const fn ld_map(dst: Reg, map_index: u32) -> [Insn; 2] {
        [
            Insn::new(
                LD | IMM | Size::DW as u8,
                dst,
                Reg(PSEUDO_MAP_FD),
                0,
                map_index as i32,
            ),
            Insn::new(0, Reg(0), Reg(0), 0, 0),
        ]
    }

    /// `dst = *(size *)(src + off)`.
    pub const fn load(size: Size, dst: Reg, src: Reg, off: i16) -> Insn {
        Insn::new(LDX | MEM | size as u8, dst, src, off, 0)
    }

    /// `*(size *)(dst + off) = src`.
    pub const fn store(size: Size, dst: Reg, off: i16, src: Reg) -> Insn {
        Insn::new(STX | MEM | size as u8, dst, src, off, 0)
    }

    /// `*(size *)(dst + off) = imm`.
    pub const fn store_imm(size: Size, dst: Reg, off: i16, imm: i32) -> Insn {
        Insn::new(ST | MEM | size as u8, dst, Reg(0), off, imm)
    }

    /// `lock *(u64 *)(dst + off) += src`.
    pub const fn atomic_add(dst: Reg, off: i16, src: Reg) -> Insn {
        Insn::new(STX | ATOMIC | Size::DW as u8, dst, src, off, 0)
    }

    /// `src = lock fetch_add((u64 *)(dst + off), src)`: adds and returns the old value.
    pub const fn atomic_fetch_add(dst: Reg, off: i16, src: Reg) -> Insn {
        Insn::new(STX | ATOMIC | Size::DW as u8, dst, src, off, ATOMIC_FETCH)
    }

    /// `if dst cond src goto +off`.
    pub const fn jmp_reg(cond: Cond, dst: Reg, src: Reg, off: i16) -> Insn {
        Insn::new(JMP | X | cond as u8, dst, src, off, 0)
    }

    /// `if dst cond imm goto +off`.
    pub const fn jmp_imm(cond: Cond, dst: Reg, imm: i32, off: i16) -> Insn {
        Insn::new(JMP | K | cond as u8, dst, Reg(0), off, imm)
    }

    /// `goto +off`.
    pub const fn ja(off: i16) -> Insn {
        Insn::new(JMP, Reg(0), Reg(0), off, 0)
    }

    /// `call helper`.
    pub const fn call(helper: Helper) -> Insn {
        Insn::new(JMP | 0x80, Reg(0), Reg(0), 0, helper as i32)
    }

    /// `exit`.
    pub const fn exit() -> Insn {
        Insn::new(JMP | 0x90, Reg(0), Reg(0), 0, 0)
    }

    /// Whether this is a jump with an offset to patch (not call or exit).
    pub fn is_jump(&self) -> bool {
        let class = self.code & 0x07;
        let op = self.code & 0xf0;
        (class == JMP || class == 0x06) && op != 0x80 && op != 0x90
    }

    /// The 8 bytes the kernel reads.
    pub fn to_bytes(self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.code,
            (self.src << 4) | (self.dst & 0x0f),
            off[0],
            off[1],
            imm[0],
            imm[1],
            imm[2],
            imm[3],
        ]
    }
}

/// A program's instructions as the bytes `BPF_PROG_LOAD` takes.
pub fn encode(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.to_bytes()).collect()
}

/// Disassembles a program, one instruction a line: `  12: r1 = r10`. `map_name` names the map
/// of a map load.
pub fn disassemble(insns: &[Insn], map_name: &dyn Fn(u32) -> String) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < insns.len() {
        let text = insn_text(insns, i, map_name);
        out.push(format!("{i:4}: {text}"));
        i += if insns[i].code == (LD | IMM | Size::DW as u8) {
            2
        } else {
            1
        };
    }
    out
}

fn insn_text(insns: &[Insn], i: usize, map_name: &dyn Fn(u32) -> String) -> String {
    let ins = insns[i];
    let (d, s) = (Reg(ins.dst), Reg(ins.src));
    let class = ins.code & 0x07;
    match class {
        LD if ins.code == (LD | IMM | Size::DW as u8) => {
            if ins.src == PSEUDO_MAP_FD {
                format!("{d} = map[{}] ll", map_name(ins.imm as u32))
            } else {
                let hi = insns.get(i + 1).map_or(0, |n| n.imm as u32 as u64);
                format!("{d} = {:#x} ll", (hi << 32) | ins.imm as u32 as u64)
            }
        }
        LDX => format!(
            "{d} = *({} *)({s} {})",
            Size::from_code(ins.code).name(),
            signed(ins.off as i64)
        ),
        ST => format!(
            "*({} *)({d} {}) = {}",
            Size::from_code(ins.code).name(),
            signed(ins.off as i64),
            ins.imm
        ),
        STX if ins.code & 0xe0 == ATOMIC && ins.imm == ATOMIC_FETCH => format!(
            "{s} = lock fetch_add((u64 *)({d} {}), {s})",
            signed(ins.off as i64)
        ),
        STX if ins.code & 0xe0 == ATOMIC => {
            format!("lock *(u64 *)({d} {}) += {s}", signed(ins.off as i64))
        }
        STX => format!(
            "*({} *)({d} {}) = {s}",
            Size::from_code(ins.code).name(),
            signed(ins.off as i64)
        ),
        ALU | ALU64 => {
            let w = if class == ALU { "w" } else { "r" };
            let dn = format!("{w}{}", ins.dst);
            if ins.code & 0xf0 == 0xd0 {
                return format!("{dn} = be{} {dn}", ins.imm);
            }
            let Some(op) = Alu::from_code(ins.code) else {
                return format!("unknown alu {:#04x}", ins.code);
            };
            if op == Alu::Neg {
                return format!("{dn} = -{dn}");
            }
            let rhs = if ins.code & X != 0 {
                format!("{w}{}", ins.src)
            } else {
                ins.imm.to_string()
            };
            format!("{dn} {} {rhs}", op.symbol())
        }
        JMP | 0x06 => match ins.code & 0xf0 {
            0x00 => format!("goto {}", target(i, ins.off)),
            0x80 => match Helper::from_id(ins.imm) {
                Some(h) => format!("call {}", h.name()),
                None => format!("call #{}", ins.imm),
            },
            0x90 => "exit".to_string(),
            _ => {
                let Some(c) = Cond::from_code(ins.code) else {
                    return format!("unknown jump {:#04x}", ins.code);
                };
                let rhs = if ins.code & X != 0 {
                    s.to_string()
                } else {
                    ins.imm.to_string()
                };
                format!("if {d} {} {rhs} goto {}", c.symbol(), target(i, ins.off))
            }
        },
        _ => format!("unknown {:#04x}", ins.code),
    }
}

fn signed(n: i64) -> String {
    if n < 0 {
        format!("- {}", -n)
    } else {
        format!("+ {n}")
    }
}

fn target(i: usize, off: i16) -> usize {
    (i as i64 + 1 + off as i64) as usize
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_kernel() {
        assert_eq!(Insn::mov_imm(R0, 0).to_bytes(), [0xb7, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Insn::exit().to_bytes(), [0x95, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Insn::mov(R6, R1).to_bytes(), [0xbf, 0x16, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            Insn::store(Size::DW, R10, -8, R1).to_bytes(),
            [0x7b, 0x1a, 0xf8, 0xff, 0, 0, 0, 0]
        );
        assert_eq!(
            Insn::call(Helper::MapLookupElem).to_bytes(),
            [0x85, 0, 0, 0, 1, 0, 0, 0]
        );
        assert_eq!(
            Insn::ld_map(R1, 3)[0].to_bytes(),
            [0x18, 0x11, 0, 0, 3, 0, 0, 0]
        );
        assert_eq!(Insn::atomic_add(R0, 0, R1).to_bytes()[0], 0xdb);
    }

    #[test]
    fn disassembles() {
        let mut p = vec![Insn::mov(R6, R1), Insn::store(Size::DW, R10, -8, R1)];
        p.extend(Insn::ld_map(R1, 0));
        p.push(Insn::jmp_imm(Cond::Eq, R0, 0, 1));
        p.push(Insn::call(Helper::GetCurrentPidTgid));
        p.push(Insn::exit());
        let text = disassemble(&p, &|_| "@x".to_string());
        assert_eq!(
            text,
            [
                "   0: r6 = r1",
                "   1: *(u64 *)(r10 - 8) = r1",
                "   2: r1 = map[@x] ll",
                "   4: if r0 == 0 goto 6",
                "   5: call get_current_pid_tgid",
                "   6: exit",
            ]
        );
    }
}
