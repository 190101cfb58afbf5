//! The rest of bpftrace's function library (reference §4): values built in place (`ntop`,
//! `pton`, `buf`, `macaddr`, `cgroup_path`), integers (`strerror`, `cgroupid`) and actions
//! done in the kernel (`signal`, `override`).

use scry_lang::ast::{Expr, ExprKind};
use scry_lang::check::signal_number;
use scry_lang::functions::Gen as FnGen;
use scry_lang::types::Type;

use super::error;
use super::gen::{Gen, R};
use super::helper_errors::Failure;
use crate::insn::*;
use crate::layout;
use crate::object::{ActionKind, COUNTER_LOST_EVENTS, JOIN_ARGS, JOIN_ARG_SIZE};

/// Address family numbers of `ntop` values.
const AF_INET: i32 = 2;
const AF_INET6: i32 = 10;

impl Gen<'_, '_> {
    /// Writes the value of library call `e` at `dst` (`dst_size` bytes); any other expression
    /// is an error.
    pub fn library_mem(&mut self, e: &Expr, dst: i16, dst_size: usize) -> R<()> {
        let ExprKind::Call { args, .. } = &e.kind else {
            return Err(self.unsupported(e));
        };
        match self.call_gen(e)? {
            FnGen::Pton => {
                let ExprKind::Str(text) = &args[0].kind else {
                    return Err(error(args[0].span, "pton() takes a literal address"));
                };
                let text = String::from_utf8_lossy(text);
                let bytes = match text.parse::<std::net::IpAddr>() {
                    Ok(std::net::IpAddr::V4(a)) => a.octets().to_vec(),
                    Ok(std::net::IpAddr::V6(a)) => a.octets().to_vec(),
                    Err(_) => return Err(error(args[0].span, "not an IPv4 or IPv6 address")),
                };
                self.store_bytes(dst, &bytes, dst_size);
            }
            FnGen::Ntop => self.ntop(args, dst)?,
            // The id, then which filter (user space renders the paths).
            FnGen::CgroupPath => {
                let filter = match args.get(1) {
                    Some(Expr {
                        kind: ExprKind::Str(f),
                        ..
                    }) => {
                        let f = String::from_utf8_lossy(f).into_owned();
                        let filters = &mut self.b.obj.cgroup_path_filters;
                        1 + filters.iter().position(|x| *x == f).unwrap_or_else(|| {
                            filters.push(f);
                            filters.len() - 1
                        })
                    }
                    Some(a) => return Err(error(a.span, "cgroup_path() takes a literal filter")),
                    None => 0,
                };
                self.int(&args[0])?;
                self.asm.emit(Insn::store(Size::DW, self.frame.fp, dst, R0));
                self.asm.emit(Insn::store_imm(
                    Size::DW,
                    self.frame.fp,
                    dst + 8,
                    filter as i32,
                ));
            }
            FnGen::Buf => self.buf(args, e, dst)?,
            FnGen::Macaddr => {
                self.zero(dst, dst_size);
                self.bytes_of(&args[0], dst, 6, false)?;
            }
            // bpf_d_path: the kernel allows it in fentry/fexit programs of some functions.
            FnGen::Path => {
                self.zero(dst, dst_size);
                self.int(&args[0])?;
                self.asm.emit(Insn::mov(R1, R0));
                self.asm.emit(Insn::mov(R2, self.frame.fp));
                self.asm.emit(Insn::alu_imm(Alu::Add, R2, dst as i32));
                self.asm.emit(Insn::mov_imm(R3, dst_size as i32));
                self.asm.emit(Insn::call(Helper::DPath));
            }
            _ => return Err(self.unsupported(e)),
        }
        Ok(())
    }

    /// `debugf(fmt, a, b, c)`: `bpf_trace_printk` with the format (NUL-terminated, on the
    /// stack) and up to three arguments, integers by value and strings (`%s`) by their address
    /// on the stack; the line goes to the kernel's trace_pipe.
    fn debugf(&mut self, args: &[Expr]) -> R<()> {
        let ExprKind::Str(fmt) = &args[0].kind else {
            return Err(error(args[0].span, "debugf() takes a literal format"));
        };
        let mut text = fmt.clone();
        text.push(0);
        let size = text.len().next_multiple_of(8);
        let fmt_slot = self.alloc(size, args[0].span)?;
        self.store_bytes(fmt_slot, &text, size);
        let rest = &args[1..];
        // Each argument's stack slot, and whether the helper takes its address (a string).
        let mut slots = Vec::with_capacity(rest.len());
        for a in rest {
            let ty = self.ty(a);
            if ty.is_str() {
                let slot = self.alloc(layout::size_of(&ty).next_multiple_of(8), a.span)?;
                self.write_mem(a, slot, &ty)?;
                slots.push((slot, true));
            } else if ty.is_int() || ty.is_pointer() {
                self.int(a)?;
                let slot = self.alloc(8, a.span)?;
                self.asm
                    .emit(Insn::store(Size::DW, self.frame.fp, slot, R0));
                slots.push((slot, false));
            } else {
                return Err(error(a.span, "debugf() prints integers and strings only"));
            }
        }
        for (reg, &(slot, by_address)) in [R3, R4, R5].into_iter().zip(&slots) {
            if by_address {
                self.asm.emit(Insn::mov(reg, self.frame.fp));
                self.asm.emit(Insn::alu_imm(Alu::Add, reg, slot as i32));
            } else {
                self.asm
                    .emit(Insn::load(Size::DW, reg, self.frame.fp, slot));
            }
        }
        self.asm.emit(Insn::mov(R1, self.frame.fp));
        self.asm.emit(Insn::alu_imm(Alu::Add, R1, fmt_slot as i32));
        self.asm.emit(Insn::mov_imm(R2, text.len() as i32));
        self.asm.emit(Insn::call(Helper::TracePrintk));
        Ok(())
    }

    fn unsupported(&self, e: &Expr) -> scry_lang::diag::Diagnostic {
        error(
            e.span,
            format!("a value of type {} is not supported here yet", self.ty(e)),
        )
    }

    /// `ntop([af,] addr)`: the family (from `af`, else by the address's size), then 16
    /// address bytes.
    fn ntop(&mut self, args: &[Expr], dst: i16) -> R<()> {
        let addr = args
            .last()
            .ok_or_else(|| error(Default::default(), "ntop() needs an address"))?;
        let len = match self.ty(addr) {
            Type::Array { of, len } => of.size() * len as usize,
            _ => 4,
        };
        self.zero(dst, 24);
        if args.len() == 2 {
            self.int(&args[0])?;
            self.asm.emit(Insn::store(Size::DW, self.frame.fp, dst, R0));
        } else {
            let family = if len == 16 { AF_INET6 } else { AF_INET };
            self.asm
                .emit(Insn::store_imm(Size::DW, self.frame.fp, dst, family));
        }
        self.bytes_of(addr, dst + 8, len.min(16), true)
    }

    /// `buf(data [, n])`: the length, then the bytes: copied from a value in memory (a
    /// string, an array) or read from a pointer.
    fn buf(&mut self, args: &[Expr], e: &Expr, dst: i16) -> R<()> {
        let Type::Buffer(cap) = self.ty(e) else {
            return Err(self.unsupported(e));
        };
        let len = match args.get(1).map(|n| &n.kind) {
            Some(ExprKind::Int(n)) => (*n as usize).min(cap),
            _ => cap,
        };
        self.zero(dst, 8 + cap);
        self.asm
            .emit(Insn::store_imm(Size::DW, self.frame.fp, dst, len as i32));
        self.bytes_of(&args[0], dst + 8, len, false)
    }

    /// Writes `len` bytes of `e` at `dst`: a value in memory (string, array, struct field),
    /// an integer's low 4 bytes when `int_is_value` (an IPv4 address), else what the pointer
    /// or integer points to (read with `probe_read`).
    fn bytes_of(&mut self, e: &Expr, dst: i16, len: usize, int_is_value: bool) -> R<()> {
        match self.ty(e) {
            Type::Int { .. } if int_is_value => {
                self.int(e)?;
                self.asm.emit(Insn::store(Size::W, self.frame.fp, dst, R0));
            }
            Type::Pointer { .. } | Type::Int { .. } => {
                let user = self.pointer_is_user(e);
                self.int(e)?;
                self.asm.emit(Insn::mov(R3, R0));
                self.asm.emit(Insn::mov(R1, self.frame.fp));
                self.asm.emit(Insn::alu_imm(Alu::Add, R1, dst as i32));
                self.asm.emit(Insn::mov_imm(R2, len as i32));
                let helper = self.read_helper(user, false);
                self.asm.emit(Insn::call(helper));
                self.check_helper(helper, Failure::Negative, self.site)?;
            }
            _ => {
                let (src, size) = self.mem_operand(e)?;
                // Whole 8-byte words, as far as both the value and the destination reach.
                self.copy_stack(dst, src, size.min(len.next_multiple_of(8)));
            }
        }
        Ok(())
    }

    /// `join(argv [, sep])`: reserves a record in the ring buffer (it is too big for the
    /// stack), reads up to [`JOIN_ARGS`] strings the NULL-terminated array `argv` points to
    /// into it, marks the first unused slot empty, and submits it.
    fn join(&mut self, e: &Expr, args: &[Expr]) -> R<()> {
        let sep = match args.get(1).map(|a| &a.kind) {
            Some(ExprKind::Str(s)) => String::from_utf8_lossy(s).into_owned(),
            _ => " ".to_string(),
        };
        let types = vec![Type::Str(JOIN_ARG_SIZE); JOIN_ARGS];
        let (id, fields, size) = self.b.action(ActionKind::Join(sep), &types);
        let user = self.pointer_is_user(&args[0]);
        let (read, read_str) = (self.read_helper(user, false), self.read_helper(user, true));
        let argv = self.alloc(8, e.span)?;
        let rec = self.alloc(8, e.span)?;
        let ptr = self.alloc(8, e.span)?;
        self.int(&args[0])?;
        self.asm
            .emit(Insn::store(Size::DW, self.frame.fp, argv, R0));
        self.asm
            .emit_all(Insn::ld_map(R1, self.b.obj.ringbuf as u32));
        self.asm.emit(Insn::mov_imm(R2, size as i32));
        self.asm.emit(Insn::mov_imm(R3, 0));
        self.asm.emit(Insn::call(Helper::RingbufReserve));
        let reserved = self.asm.label();
        let end = self.asm.label();
        self.asm.jump_if_imm(Cond::Ne, R0, 0, reserved);
        self.bump_counter(COUNTER_LOST_EVENTS)?;
        self.asm.jump(end);
        self.asm.place(reserved);
        self.asm.emit(Insn::store(Size::DW, self.frame.fp, rec, R0));
        self.load_const(id);
        self.asm.emit(Insn::load(Size::DW, R1, self.frame.fp, rec));
        self.asm.emit(Insn::store(Size::DW, R1, 0, R0));
        // Slot i is left empty from label `empty[i]` on: the chain marks i..JOIN_ARGS.
        let empty: Vec<_> = (0..JOIN_ARGS).map(|_| self.asm.label()).collect();
        let submit = self.asm.label();
        for (i, f) in fields.iter().enumerate() {
            self.asm.emit(Insn::mov(R1, self.frame.fp));
            self.asm.emit(Insn::alu_imm(Alu::Add, R1, ptr as i32));
            self.asm.emit(Insn::mov_imm(R2, 8));
            self.asm.emit(Insn::load(Size::DW, R3, self.frame.fp, argv));
            self.asm.emit(Insn::alu_imm(Alu::Add, R3, 8 * i as i32));
            self.asm.emit(Insn::call(read));
            self.asm.emit(Insn::load(Size::DW, R3, self.frame.fp, ptr));
            self.asm.jump_if_imm(Cond::Eq, R3, 0, empty[i]);
            self.asm.emit(Insn::load(Size::DW, R1, self.frame.fp, rec));
            self.asm.emit(Insn::alu_imm(Alu::Add, R1, f.offset as i32));
            self.asm.emit(Insn::mov_imm(R2, JOIN_ARG_SIZE as i32));
            self.asm.emit(Insn::call(read_str));
        }
        self.asm.jump(submit);
        for (label, f) in empty.into_iter().zip(&fields) {
            self.asm.place(label);
            self.asm.emit(Insn::load(Size::DW, R1, self.frame.fp, rec));
            self.asm
                .emit(Insn::store_imm(Size::B, R1, f.offset as i16, 0));
        }
        self.asm.place(submit);
        self.asm.emit(Insn::load(Size::DW, R1, self.frame.fp, rec));
        self.asm.emit(Insn::mov_imm(R2, 0));
        self.asm.emit(Insn::call(Helper::RingbufSubmit));
        self.asm.place(end);
        Ok(())
    }

    /// `strcontains(haystack, needle)` into r0: 1 when `needle` occurs in `haystack` (an
    /// empty needle always does), else 0. Unrolled over every start position; a literal
    /// needle is compared with immediates.
    pub fn strcontains(&mut self, hay: &Expr, needle: &Expr) -> R<()> {
        let (h, hsize) = self.mem_operand(hay)?;
        let found = self.asm.label();
        let missing = self.asm.label();
        let end = self.asm.label();
        match &needle.kind {
            ExprKind::Str(lit) => {
                for i in 0..hsize.saturating_sub(lit.len()) + 1 {
                    let next = self.asm.label();
                    if lit.is_empty() {
                        self.asm.jump(found);
                        break;
                    }
                    for (j, b) in lit.iter().enumerate() {
                        self.asm
                            .emit(Insn::load(Size::B, R1, self.frame.fp, h + (i + j) as i16));
                        if j == 0 {
                            self.asm.jump_if_imm(Cond::Eq, R1, 0, missing);
                        }
                        self.asm.jump_if_imm(Cond::Ne, R1, *b as i32, next);
                    }
                    self.asm.jump(found);
                    self.asm.place(next);
                }
            }
            _ => {
                let (n, nsize) = self.mem_operand(needle)?;
                for i in 0..hsize {
                    let next = self.asm.label();
                    for j in 0..nsize.min(hsize - i) {
                        self.asm
                            .emit(Insn::load(Size::B, R2, self.frame.fp, n + j as i16));
                        self.asm.jump_if_imm(Cond::Eq, R2, 0, found);
                        self.asm
                            .emit(Insn::load(Size::B, R1, self.frame.fp, h + (i + j) as i16));
                        self.asm.jump_if_imm(Cond::Eq, R1, 0, missing);
                        self.asm.jump_if_reg(Cond::Ne, R1, R2, next);
                    }
                    // The needle filled its whole buffer without a NUL: it matched.
                    if nsize <= hsize - i {
                        self.asm.jump(found);
                    }
                    self.asm.place(next);
                }
            }
        }
        self.asm.place(missing);
        self.asm.emit(Insn::mov_imm(R0, 0));
        self.asm.jump(end);
        self.asm.place(found);
        self.asm.emit(Insn::mov_imm(R0, 1));
        self.asm.place(end);
        Ok(())
    }

    /// `signal(sig)` (sends a signal to the current process), `override(rc)` (changes a
    /// kprobed function's return value), `join`, `debugf` and `unwatch(addr)` (a record).
    pub fn library_action(&mut self, e: &Expr, gen: FnGen, args: &[Expr]) -> R<bool> {
        match gen {
            FnGen::Signal => {
                match &args[0].kind {
                    ExprKind::Str(s) => {
                        let n = signal_number(&String::from_utf8_lossy(s))
                            .ok_or_else(|| error(args[0].span, "not a signal name"))?;
                        self.asm.emit(Insn::mov_imm(R1, n as i32));
                    }
                    _ => {
                        self.int(&args[0])?;
                        self.asm.emit(Insn::mov(R1, R0));
                    }
                }
                self.asm.emit(Insn::call(Helper::SendSignal));
            }
            FnGen::Join => self.join(e, args)?,
            FnGen::Debugf => self.debugf(args)?,
            // User space closes the watchpoints on the address.
            FnGen::Unwatch => self.record(ActionKind::Unwatch, args, e)?,
            FnGen::Override => {
                self.int(&args[0])?;
                self.asm.emit(Insn::mov(R2, R0));
                self.asm.emit(Insn::mov(R1, R6));
                self.asm.emit(Insn::call(Helper::OverrideReturn));
            }
            _ => return Err(self.unsupported(e)),
        }
        Ok(true)
    }
}
