//! Builtin variables and value-returning functions.

use scry_lang::arch::{pt_regs_offset, ARG_REGS};
use scry_lang::ast::{Expr, ExprKind};
use scry_lang::check::arg_index;
use scry_lang::functions::Gen as FnGen;
use scry_lang::probe::{ArgN, Func, Retval};
use scry_lang::types::Type;

use super::gen::{Gen, R};
use super::{error, GLOBAL_CPID, GLOBAL_START_NS};
use crate::insn::*;
use crate::layout;

impl Gen<'_, '_> {
    /// A builtin variable with an integer value, into r0.
    pub fn builtin_int(&mut self, name: &str, e: &Expr) -> R<()> {
        match name {
            "pid" | "tid" => {
                self.asm.emit(Insn::call(Helper::GetCurrentPidTgid));
                if name == "pid" {
                    self.asm.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
                } else {
                    self.low32();
                }
            }
            "uid" | "gid" | "username" => {
                self.asm.emit(Insn::call(Helper::GetCurrentUidGid));
                if name == "gid" {
                    self.asm.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
                } else {
                    self.low32();
                }
            }
            "nsecs" => self.asm.emit(Insn::call(Helper::KtimeGetBootNs)),
            "elapsed" => {
                self.global(GLOBAL_START_NS)?;
                let slot = self.alloc(8, e.span)?;
                self.asm
                    .emit(Insn::store(Size::DW, self.frame.fp, slot, R0));
                self.asm.emit(Insn::call(Helper::KtimeGetBootNs));
                self.asm.emit(Insn::load(Size::DW, R1, self.frame.fp, slot));
                self.asm.emit(Insn::alu_reg(Alu::Sub, R0, R1));
            }
            "cpid" => self.global(GLOBAL_CPID)?,
            "cpu" => self.asm.emit(Insn::call(Helper::GetSmpProcessorId)),
            "numaid" => self.asm.emit(Insn::call(Helper::GetNumaNodeId)),
            "cgroup" => self.asm.emit(Insn::call(Helper::GetCurrentCgroupId)),
            "rand" => self.asm.emit(Insn::call(Helper::GetPrandomU32)),
            "curtask" => self.asm.emit(Insn::call(Helper::GetCurrentTask)),
            // The program's context pointer (pt_regs, perf event data, ...), kept in r6.
            "ctx" => self.asm.emit(Insn::mov(R0, R6)),
            "probe" => match (self.probe_slot, self.probe_id) {
                (Some(slot), _) => self.asm.emit(Insn::load(Size::DW, R0, self.frame.fp, slot)),
                (None, Some(id)) => self.load_const(id),
                (None, None) => {
                    return Err(error(
                        e.span,
                        "internal error: no probe id for this program",
                    ))
                }
            },
            // fexit's context is the function's arguments, then its return value, 8 bytes each.
            "retval" if self.kind.descriptor().context.retval == Retval::AfterArgs => {
                let nargs = self.tp_fields.as_ref().map_or(0, Vec::len);
                self.asm
                    .emit(Insn::load(Size::DW, R0, R6, (8 * nargs) as i16));
                let ty = self.ty(e).clone();
                self.narrow(&ty);
            }
            "retval" => self.asm.emit(Insn::load(
                Size::DW,
                R0,
                R6,
                pt_regs_offset("ax").unwrap_or(80),
            )),
            // The probed address: in return probes too (the kernel keeps the function's
            // address for uretprobes, where `ip` is already the caller's).
            "func" if self.kind.descriptor().context.func == Func::Traced => {
                self.asm.emit(Insn::mov(R1, R6));
                self.asm.emit(Insn::call(Helper::GetFuncIp));
            }
            "func" => self.asm.emit(Insn::load(
                Size::DW,
                R0,
                R6,
                pt_regs_offset("ip").unwrap_or(128),
            )),
            _ => {
                if let (Some(n), ArgN::Usdt) =
                    (arg_index(name, "arg"), self.kind.descriptor().context.arg_n)
                {
                    self.usdt_arg(n, e)?;
                } else if let Some(n) = arg_index(name, "arg") {
                    let reg = ARG_REGS
                        .get(n as usize)
                        .ok_or_else(|| error(e.span, format!("x86_64 doesn't support {name}")))?;
                    self.asm.emit(Insn::load(
                        Size::DW,
                        R0,
                        R6,
                        pt_regs_offset(reg).unwrap_or(0),
                    ));
                } else if let Some(n) = arg_index(name, "sarg") {
                    self.asm.emit(Insn::load(
                        Size::DW,
                        R0,
                        R6,
                        pt_regs_offset("sp").unwrap_or(152),
                    ));
                    self.asm.emit(Insn::alu_imm(Alu::Add, R0, 8 + 8 * n as i32));
                    self.read_pointer(R0, 8, self.kind.is_user())?;
                } else if let Some(v) = self.b.typed.cdefs.enum_constants.get(name) {
                    self.load_const(*v as u64);
                } else if let Some(v) = self.b.typed.constants.get(&e.id) {
                    // An enumerator of a kernel enum, found by the checker.
                    self.load_const(*v);
                } else {
                    return Err(error(
                        e.span,
                        format!("{name} is not supported in this probe yet"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// r0 = (u32)r0.
    fn low32(&mut self) {
        self.asm.emit(Insn::alu_imm(Alu::Lsh, R0, 32));
        self.asm.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
    }

    /// r0 = globals[slot].
    pub(super) fn global(&mut self, slot: u32) -> R<()> {
        let key = self.alloc(8, self.asm.span)?;
        self.asm
            .emit(Insn::store_imm(Size::W, self.frame.fp, key, slot as i32));
        self.asm
            .emit_all(Insn::ld_map(R1, self.b.obj.globals as u32));
        self.asm.emit(Insn::mov(R2, self.frame.fp));
        self.asm.emit(Insn::alu_imm(Alu::Add, R2, key as i32));
        self.asm.emit(Insn::call(Helper::MapLookupElem));
        let end = self.asm.label();
        self.asm.jump_if_imm(Cond::Eq, R0, 0, end);
        self.asm.emit(Insn::load(Size::DW, R0, R0, 0));
        self.asm.place(end);
        Ok(())
    }

    /// A function call with an integer result, into r0.
    pub fn call_int(&mut self, name: &str, args: &[Expr], e: &Expr) -> R<()> {
        match self.call_gen(e)? {
            FnGen::Sizeof => {
                let t = self.ty(&args[0]);
                // C sizes (a tuple laid out as a struct of its elements, as bpftrace does);
                // what C cannot hold, as scry stores it.
                let size = match &args[0].kind {
                    ExprKind::Str(s) => s.len() + 1,
                    _ => match self.b.typed.cdefs.layout(&t) {
                        Ok((size, _)) => size,
                        Err(_) => layout::size_of(&t),
                    },
                };
                self.load_const(size as u64);
            }
            FnGen::Bswap => {
                self.int(&args[0])?;
                let bits = match self.ty(&args[0]) {
                    Type::Int { bits, .. } => bits as i32,
                    _ => 64,
                };
                if bits > 8 {
                    self.asm.emit(Insn::bswap(R0, bits));
                }
            }
            FnGen::Reg => {
                let ExprKind::Str(r) = &args[0].kind else {
                    return Err(error(e.span, "reg() takes a register name"));
                };
                let r = String::from_utf8_lossy(r);
                let off = pt_regs_offset(&r)
                    .ok_or_else(|| error(e.span, format!("'{r}' is not a register")))?;
                self.asm.emit(Insn::load(Size::DW, R0, R6, off));
            }
            FnGen::Strncmp => return self.strncmp(args),
            FnGen::Strcontains => return self.strcontains(&args[0], &args[1]),
            // The value is the pointer, address, errno; user space gives it meaning.
            FnGen::Value | FnGen::Strerror => self.int(&args[0])?,
            FnGen::Constant => {
                let addr = self.b.typed.constants.get(&e.id).copied().ok_or_else(|| {
                    error(e.span, format!("{name}() was not resolved by the checker"))
                })?;
                self.load_const(addr);
            }
            FnGen::Aggregation => {
                return Err(error(e.span, format!("{name}() must be assigned to a map")))
            }
            _ => return Err(error(e.span, format!("{name}() is not supported here yet"))),
        }
        Ok(())
    }
}
