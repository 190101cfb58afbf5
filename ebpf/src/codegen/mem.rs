//! Values that live in memory: strings, tuples, and the copies and comparisons of them.

use scry_lang::ast::{Expr, ExprKind};
use scry_lang::functions::Gen as FnGen;
use scry_lang::token::BinOp;
use scry_lang::tracepoint_format::FieldShape;
use scry_lang::types::Type;

use super::error;
use super::gen::{is_scalar, Gen, R};
use super::helper_errors::Failure;
use crate::insn::*;
use crate::layout;

impl Gen<'_, '_> {
    /// Writes the value of `e` at stack offset `dst` as a value of type `dst_ty` (a string
    /// destination may be longer than the value: the rest is zeroed).
    pub fn write_mem(&mut self, e: &Expr, dst: i16, dst_ty: &Type) -> R<()> {
        let saved = (self.asm.span, self.site);
        (self.asm.span, self.site) = (e.span, Self::site_of(e));
        let r = self.write_mem_inner(e, dst, dst_ty);
        (self.asm.span, self.site) = saved;
        r
    }

    fn write_mem_inner(&mut self, e: &Expr, dst: i16, dst_ty: &Type) -> R<()> {
        let ty = self.ty(e);
        if is_scalar(&ty) {
            self.int(e)?;
            self.asm.emit(Insn::store(Size::DW, self.frame.fp, dst, R0));
            return Ok(());
        }
        let dst_size = layout::size_of(dst_ty).max(layout::size_of(&ty));
        match &e.kind {
            ExprKind::Str(bytes) => self.store_bytes(dst, bytes, dst_size),
            ExprKind::Ident(name) if name == "comm" => {
                self.zero(dst, dst_size);
                self.asm.emit(Insn::mov(R1, self.frame.fp));
                self.asm.emit(Insn::alu_imm(Alu::Add, R1, dst as i32));
                self.asm.emit(Insn::mov_imm(R2, 16));
                self.asm.emit(Insn::call(Helper::GetCurrentComm));
            }
            ExprKind::Var(name) => {
                let src = self.vars[name];
                self.copy_stack(dst, src, layout::size_of(&ty).min(dst_size));
            }
            ExprKind::Tuple(items) => {
                let fields = layout::tuple_fields(dst_ty, 0);
                let own = layout::tuple_fields(&ty, 0);
                for (i, item) in items.iter().enumerate() {
                    let f = fields.get(i).unwrap_or(&own[i]);
                    self.write_mem(item, dst + f.offset as i16, &f.ty.clone())?;
                }
            }
            ExprKind::TupleIndex { base, index } => {
                let (src, _) = self.mem_operand(base)?;
                let f = layout::tuple_fields(&self.ty(base), 0)[*index as usize].clone();
                self.copy_stack(
                    dst,
                    src + f.offset as i16,
                    layout::size_of(&f.ty).min(dst_size),
                );
            }
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => self.branch(
                cond,
                |g| g.write_mem(then, dst, dst_ty),
                |g| g.write_mem(otherwise, dst, dst_ty),
            )?,
            ExprKind::Map { name, keys } => self.map_read_mem(name, keys, dst, dst_size, e)?,
            ExprKind::Ident(name) if name == "kstack" || name == "ustack" => {
                self.stack_value(&ty, e, dst)?
            }
            ExprKind::Call { .. } if self.call_gen(e)? == FnGen::Stack => {
                self.stack_value(&ty, e, dst)?
            }
            // A user address and the pid whose address space it is in.
            ExprKind::Ident(_) | ExprKind::Call { .. } if ty == Type::Usym => {
                self.int(e)?;
                self.asm.emit(Insn::store(Size::DW, self.frame.fp, dst, R0));
                self.asm.emit(Insn::call(Helper::GetCurrentPidTgid));
                self.asm.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
                self.asm
                    .emit(Insn::store(Size::DW, self.frame.fp, dst + 8, R0));
                self.note_user_pid(dst + 8)?;
            }
            ExprKind::Call { args, .. } if self.call_gen(e)? == FnGen::Strftime => {
                let ExprKind::Str(fmt) = &args[0].kind else {
                    return Err(error(args[0].span, "strftime() takes a literal format"));
                };
                let fmt = String::from_utf8_lossy(fmt).into_owned();
                let formats = &mut self.b.obj.strftime_formats;
                let id = formats.iter().position(|f| *f == fmt).unwrap_or_else(|| {
                    formats.push(fmt);
                    formats.len() - 1
                });
                self.int(&args[1])?;
                self.asm.emit(Insn::store(Size::DW, self.frame.fp, dst, R0));
                self.asm
                    .emit(Insn::store_imm(Size::DW, self.frame.fp, dst + 8, id as i32));
            }
            ExprKind::Call { args, .. } if self.call_gen(e)? == FnGen::Str => {
                // The checker sized the result (BPFTRACE_STRLEN, the length argument): at most
                // that many bytes before the NUL.
                let text_max = match ty {
                    Type::Str(n) => n.saturating_sub(1),
                    _ => dst_size,
                };
                self.str_call(args, dst, dst_size, text_max)?
            }
            ExprKind::Field { base, field, .. } if matches!(self.ty(base), Type::Args) => {
                let f = self.tp_field(field, e)?;
                let FieldShape::Array { .. } = f.shape else {
                    return Err(error(
                        e.span,
                        format!("args->{field} cannot be used as a string here; use str()"),
                    ));
                };
                self.zero(dst, dst_size);
                self.asm.emit(Insn::mov(R1, self.frame.fp));
                self.asm.emit(Insn::alu_imm(Alu::Add, R1, dst as i32));
                self.asm
                    .emit(Insn::mov_imm(R2, (f.size as usize).min(dst_size) as i32));
                self.asm.emit(Insn::mov(R3, R6));
                self.asm.emit(Insn::alu_imm(Alu::Add, R3, f.offset as i32));
                self.asm.emit(Insn::call(Helper::ProbeReadKernel));
            }
            ExprKind::Field { base, .. } if !matches!(self.ty(base), Type::Args) => {
                self.place_mem(e, dst, dst_size)?
            }
            ExprKind::Index { .. }
            | ExprKind::Unary {
                op: scry_lang::ast::UnOp::Deref,
                ..
            } => self.place_mem(e, dst, dst_size)?,
            ExprKind::Param(n) => {
                let v = self.param(*n);
                self.store_bytes(dst, v.as_bytes(), dst_size);
            }
            _ => self.library_mem(e, dst, dst_size)?,
        }
        Ok(())
    }

    /// Stores the id of the current stack (and for user stacks the pid) at `dst`; a stack the
    /// map could not take is counted.
    fn stack_id(&mut self, user: bool, limit: u32, dst: i16) -> R<()> {
        const BPF_F_USER_STACK: i32 = 1 << 8;
        let map = self.b.stack_map(user, limit);
        self.asm.emit(Insn::mov(R1, R6));
        self.asm.emit_all(Insn::ld_map(R2, map as u32));
        self.asm
            .emit(Insn::mov_imm(R3, if user { BPF_F_USER_STACK } else { 0 }));
        self.asm.emit(Insn::call(Helper::GetStackid));
        self.asm.emit(Insn::store(Size::DW, self.frame.fp, dst, R0));
        let ok = self.asm.label();
        self.asm.jump_if_imm(Cond::Sge, R0, 0, ok);
        self.bump_counter(crate::object::COUNTER_STACK_LOST)?;
        self.asm.place(ok);
        if user {
            self.asm.emit(Insn::call(Helper::GetCurrentPidTgid));
            self.asm.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
            self.asm
                .emit(Insn::store(Size::DW, self.frame.fp, dst + 8, R0));
            self.note_user_pid(dst + 8)?;
        }
        Ok(())
    }

    /// Announces the pid at `pid_slot` to user space the first time a user address of that
    /// process is recorded (an LRU map remembers the pids announced; one lookup per event
    /// otherwise), so that user space snapshots the process's memory map while it lives and
    /// its stacks and symbols resolve after it exits.
    fn note_user_pid(&mut self, pid_slot: i16) -> R<()> {
        const BPF_NOEXIST: i32 = 1;
        const SIGSTOP: i32 = 19;
        let (map, action) = self.b.user_pid_note();
        let rec = self.alloc(16, self.asm.span)?;
        let done = self.asm.label();
        self.asm
            .emit(Insn::load(Size::DW, R1, self.frame.fp, pid_slot));
        self.asm
            .emit(Insn::store(Size::DW, self.frame.fp, rec + 8, R1));
        self.asm.emit_all(Insn::ld_map(R1, map as u32));
        self.asm.emit(Insn::mov(R2, self.frame.fp));
        self.asm.emit(Insn::alu_imm(Alu::Add, R2, (rec + 8) as i32));
        self.asm.emit(Insn::call(Helper::MapLookupElem));
        self.asm.jump_if_imm(Cond::Ne, R0, 0, done);
        // Only the CPU whose insert succeeds announces the pid.
        self.asm.emit_all(Insn::ld_map(R1, map as u32));
        self.asm.emit(Insn::mov(R2, self.frame.fp));
        self.asm.emit(Insn::alu_imm(Alu::Add, R2, (rec + 8) as i32));
        self.asm.emit(Insn::mov(R3, R2));
        self.asm.emit(Insn::mov_imm(R4, BPF_NOEXIST));
        self.asm.emit(Insn::call(Helper::MapUpdateElem));
        self.asm.jump_if_imm(Cond::Ne, R0, 0, done);
        self.load_const(action);
        self.asm.emit(Insn::store(Size::DW, self.frame.fp, rec, R0));
        self.asm
            .emit_all(Insn::ld_map(R1, self.b.obj.ringbuf as u32));
        self.asm.emit(Insn::mov(R2, self.frame.fp));
        self.asm.emit(Insn::alu_imm(Alu::Add, R2, rec as i32));
        self.asm.emit(Insn::mov_imm(R3, 16));
        self.asm.emit(Insn::mov_imm(R4, 0));
        self.asm.emit(Insn::call(Helper::RingbufOutput));
        let failed = self.asm.label();
        self.asm.jump_if_imm(Cond::Ne, R0, 0, failed);
        // The `-c` child stops until user space has read its memory map (the session sends
        // SIGCONT then): it may otherwise exit, and lose its mappings, before the record is read.
        self.global(super::GLOBAL_CPID)?;
        self.asm
            .emit(Insn::load(Size::DW, R1, self.frame.fp, rec + 8));
        self.asm.jump_if_reg(Cond::Ne, R0, R1, done);
        self.asm.emit(Insn::mov_imm(R1, SIGSTOP));
        self.asm.emit(Insn::call(Helper::SendSignal));
        self.asm.jump(done);
        self.asm.place(failed);
        // Not announced: forget the pid so that its next event tries again.
        self.asm.emit_all(Insn::ld_map(R1, map as u32));
        self.asm.emit(Insn::mov(R2, self.frame.fp));
        self.asm.emit(Insn::alu_imm(Alu::Add, R2, (rec + 8) as i32));
        self.asm.emit(Insn::call(Helper::MapDeleteElem));
        self.bump_counter(crate::object::COUNTER_LOST_EVENTS)?;
        self.asm.place(done);
        Ok(())
    }

    /// The stack offset of `e`'s value: a variable's slot, or a temporary holding it.
    pub fn mem_operand(&mut self, e: &Expr) -> R<(i16, usize)> {
        let ty = self.ty(e);
        let size = layout::size_of(&ty);
        if let ExprKind::Var(name) = &e.kind {
            return Ok((self.vars[name], size));
        }
        let off = self.alloc(size, e.span)?;
        self.write_mem(e, off, &ty)?;
        Ok((off, size))
    }

    /// Writes a NUL-terminated byte string, zero-padded to `size`.
    pub fn store_bytes(&mut self, dst: i16, bytes: &[u8], size: usize) {
        let mut buf = bytes.to_vec();
        buf.resize(size.max(bytes.len() + 1).next_multiple_of(8), 0);
        buf.truncate(size.next_multiple_of(8));
        for (i, chunk) in buf.chunks(4).enumerate() {
            let v = i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            self.asm.emit(Insn::store_imm(
                Size::W,
                self.frame.fp,
                dst + (i * 4) as i16,
                v,
            ));
        }
    }

    /// Copies `size` bytes (a multiple of 8) between stack slots.
    pub fn copy_stack(&mut self, dst: i16, src: i16, size: usize) {
        for i in (0..size).step_by(8) {
            self.asm
                .emit(Insn::load(Size::DW, R1, self.frame.fp, src + i as i16));
            self.asm
                .emit(Insn::store(Size::DW, self.frame.fp, dst + i as i16, R1));
        }
    }

    /// `str(ptr [, n])` into `dst`; a positional parameter's text is cut to `text_max` bytes.
    fn str_call(&mut self, args: &[Expr], dst: i16, dst_size: usize, text_max: usize) -> R<()> {
        let src = &args[0];
        let cut = |b: &[u8]| b[..b.len().min(text_max)].to_vec();
        if let ExprKind::Param(n) = src.kind {
            let v = cut(self.param(n).as_bytes());
            self.store_bytes(dst, &v, dst_size);
            return Ok(());
        }
        if let ExprKind::Binary {
            op: BinOp::Add,
            lhs,
            rhs,
        } = &src.kind
        {
            if let (ExprKind::Param(n), ExprKind::Int(off)) = (&lhs.kind, &rhs.kind) {
                let v = self.param(*n);
                let tail = cut(v.as_bytes().get(*off as usize..).unwrap_or(&[]));
                self.store_bytes(dst, &tail, dst_size);
                return Ok(());
            }
        }
        let limit = match args.get(1).map(|a| &a.kind) {
            Some(ExprKind::Int(n)) => (*n as usize).saturating_add(1).min(dst_size),
            _ => dst_size,
        };
        self.zero(dst, dst_size);
        let src_ty = self.ty(src);
        match (&src.kind, src_ty) {
            (ExprKind::Field { base, field, .. }, Type::DataLoc)
                if matches!(self.ty(base), Type::Args) =>
            {
                // __data_loc: the u32 holds (length << 16 | offset) of the data in the record.
                let f = self.tp_field(field, src)?;
                self.asm.emit(Insn::load(Size::W, R3, R6, f.offset as i16));
                self.asm.emit(Insn::alu_imm(Alu::And, R3, 0xffff));
                self.asm.emit(Insn::alu_reg(Alu::Add, R3, R6));
                self.probe_read_str(dst, limit, false)?;
            }
            (_, Type::Str(_)) => {
                let (off, size) = self.mem_operand(src)?;
                let copied = size.min(limit.next_multiple_of(8)).min(dst_size);
                self.copy_stack(dst, off, copied);
                // str(s, n) keeps n characters: end the string there.
                if limit <= copied {
                    self.asm.emit(Insn::store_imm(
                        Size::B,
                        self.frame.fp,
                        dst + limit as i16 - 1,
                        0,
                    ));
                }
            }
            _ => {
                let user = self.pointer_is_user(src);
                self.int(src)?;
                self.asm.emit(Insn::mov(R3, R0));
                self.probe_read_str(dst, limit, user)?;
            }
        }
        Ok(())
    }

    /// probe_read_*_str(r10 + dst, size, r3).
    fn probe_read_str(&mut self, dst: i16, size: usize, user: bool) -> R<()> {
        self.asm.emit(Insn::mov(R1, self.frame.fp));
        self.asm.emit(Insn::alu_imm(Alu::Add, R1, dst as i32));
        self.asm.emit(Insn::mov_imm(R2, size as i32));
        let helper = self.read_helper(user, true);
        self.asm.emit(Insn::call(helper));
        self.check_helper(helper, Failure::Negative, self.site)
    }

    /// `a == b` / `a != b` on strings and other memory values, into r0.
    pub fn compare_mem(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr) -> R<()> {
        if !matches!(op, BinOp::Eq | BinOp::Ne) {
            return Err(error(
                lhs.span.to(rhs.span),
                "only == and != compare these values",
            ));
        }
        let differ = self.asm.label();
        let end = self.asm.label();
        let is_str = matches!(self.ty(lhs), Type::Str(_));
        match (&lhs.kind, &rhs.kind) {
            (_, ExprKind::Str(lit)) | (ExprKind::Str(lit), _) if is_str => {
                let other = if matches!(rhs.kind, ExprKind::Str(_)) {
                    lhs
                } else {
                    rhs
                };
                let (off, size) = self.mem_operand(other)?;
                let mut want = lit.clone();
                want.push(0);
                if want.len() > size {
                    self.asm.emit(Insn::mov_imm(R0, 0));
                    self.asm.jump(differ);
                }
                for (i, b) in want.iter().enumerate().take(size) {
                    self.asm
                        .emit(Insn::load(Size::B, R1, self.frame.fp, off + i as i16));
                    self.asm.jump_if_imm(Cond::Ne, R1, *b as i32, differ);
                }
            }
            _ => {
                let (a, asz) = self.mem_operand(lhs)?;
                let (b, bsz) = self.mem_operand(rhs)?;
                let same = self.asm.label();
                let n = asz.min(bsz);
                for i in 0..n {
                    self.asm
                        .emit(Insn::load(Size::B, R1, self.frame.fp, a + i as i16));
                    self.asm
                        .emit(Insn::load(Size::B, R2, self.frame.fp, b + i as i16));
                    self.asm.jump_if_reg(Cond::Ne, R1, R2, differ);
                    if is_str {
                        self.asm.jump_if_imm(Cond::Eq, R1, 0, same);
                    }
                }
                self.asm.place(same);
            }
        }
        let (eq, ne) = if op == BinOp::Eq { (1, 0) } else { (0, 1) };
        self.asm.emit(Insn::mov_imm(R0, eq));
        self.asm.jump(end);
        self.asm.place(differ);
        self.asm.emit(Insn::mov_imm(R0, ne));
        self.asm.place(end);
        Ok(())
    }

    /// A stack's id (`kstack`, `ustack(perf, 10)`) at `dst`.
    fn stack_value(&mut self, ty: &Type, e: &Expr, dst: i16) -> R<()> {
        let (user, limit) = match ty {
            Type::UStack { limit, .. } => (true, *limit),
            Type::KStack { limit, .. } => (false, *limit),
            _ => return Err(error(e.span, "not a stack")),
        };
        self.stack_id(user, limit, dst)
    }

    /// `strncmp(a, b, n)` into r0 (0 when equal).
    pub fn strncmp(&mut self, args: &[Expr]) -> R<()> {
        let n = match args[2].kind {
            ExprKind::Int(n) => n,
            _ => self
                .b
                .typed
                .constants
                .get(&args[2].id)
                .copied()
                .ok_or_else(|| {
                    error(
                        args[2].span,
                        "strncmp() takes a length known when compiling",
                    )
                })?,
        };
        let (a, asz) = self.mem_operand(&args[0])?;
        let (b, bsz) = self.mem_operand(&args[1])?;
        let differ = self.asm.label();
        let same = self.asm.label();
        let end = self.asm.label();
        for i in 0..(n as usize).min(asz).min(bsz) {
            self.asm
                .emit(Insn::load(Size::B, R1, self.frame.fp, a + i as i16));
            self.asm
                .emit(Insn::load(Size::B, R2, self.frame.fp, b + i as i16));
            self.asm.jump_if_reg(Cond::Ne, R1, R2, differ);
            self.asm.jump_if_imm(Cond::Eq, R1, 0, same);
        }
        self.asm.place(same);
        self.asm.emit(Insn::mov_imm(R0, 0));
        self.asm.jump(end);
        self.asm.place(differ);
        self.asm.emit(Insn::mov_imm(R0, 1));
        self.asm.place(end);
        Ok(())
    }
}
