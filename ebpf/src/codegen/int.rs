//! Integer expressions, evaluated into r0.

use scry_lang::ast::{BaseType, Expr, ExprKind, UnOp};
use scry_lang::token::BinOp;
use scry_lang::tracepoint_format::FieldShape;
use scry_lang::types::Type;

use super::error;
use super::gen::{is_scalar, Gen, R};
use super::helper_errors::Failure;
use crate::insn::*;
use crate::layout;

impl Gen<'_, '_> {
    /// Evaluates an integer-valued expression into r0.
    pub fn int(&mut self, e: &Expr) -> R<()> {
        let saved = (self.asm.span, self.site);
        (self.asm.span, self.site) = (e.span, Self::site_of(e));
        let r = self.int_inner(e);
        (self.asm.span, self.site) = saved;
        r
    }

    fn int_inner(&mut self, e: &Expr) -> R<()> {
        match &e.kind {
            ExprKind::Int(n) => self.load_const(*n),
            ExprKind::Param(n) => {
                let v = parse_param(&self.param(*n));
                self.load_const(v as u64);
            }
            ExprKind::ParamCount => self.load_const(self.b.opts.params.len() as u64),
            ExprKind::Ident(name) => return self.builtin_int(name, e),
            ExprKind::Var(name) => {
                let slot = self.vars[name];
                self.asm.emit(Insn::load(Size::DW, R0, self.frame.fp, slot));
            }
            ExprKind::Map { name, keys } => return self.map_read_int(name, keys, e),
            ExprKind::Call { name, args, .. } => return self.call_int(name, args, e),
            ExprKind::SizeofType(t) => {
                let size = match &t.base {
                    _ if t.pointer_depth > 0 => 8,
                    BaseType::Int { bits, .. } => *bits as u64 / 8,
                    BaseType::Struct(n) => self.record_size(&format!("struct {n}")),
                    BaseType::Union(n) => self.record_size(&format!("union {n}")),
                    BaseType::Enum(_) => 4,
                    BaseType::Named(_) => 8,
                };
                self.load_const(size);
            }
            ExprKind::Unary { op, operand } => self.unary(*op, operand, e)?,
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs)?,
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => self.branch(cond, |g| g.int(then), |g| g.int(otherwise))?,
            ExprKind::Cast { operand, .. } => {
                self.int(operand)?;
                self.narrow(&self.ty(e));
            }
            ExprKind::Field { base, field, .. } => return self.field_int(base, field, e),
            ExprKind::Index { base, index } => return self.index_int(base, index, e),
            ExprKind::TupleIndex { base, index } => {
                let (off, _) = self.mem_operand(base)?;
                let fields = layout::tuple_fields(&self.ty(base), 0);
                let f = &fields[*index as usize];
                self.asm.emit(Insn::load(
                    Size::DW,
                    R0,
                    self.frame.fp,
                    off + f.offset as i16,
                ));
            }
            ExprKind::IncDec {
                target,
                increment,
                prefix,
            } => return self.incdec(target, *increment, *prefix),
            ExprKind::Error | ExprKind::Str(_) | ExprKind::Tuple(_) => {
                return Err(error(e.span, "this expression has no integer value"))
            }
        }
        Ok(())
    }

    /// Jumps to `target` when `e` is false (zero), falling through when it is true. Comparisons
    /// and `&&` become conditional jumps instead of 0/1 values.
    pub fn jump_if_false(&mut self, e: &Expr, target: crate::asm::Label) -> R<()> {
        if let ExprKind::Binary { op, lhs, rhs } = &e.kind {
            let (lt, rt) = (self.ty(lhs), self.ty(rhs));
            if *op == BinOp::And {
                self.jump_if_false(lhs, target)?;
                return self.jump_if_false(rhs, target);
            }
            if let (true, true, Some(cond)) = (
                is_scalar(&lt),
                is_scalar(&rt),
                cond_of(*op, lt.is_signed() && rt.is_signed()),
            ) {
                let saved = self.asm.span;
                self.asm.span = e.span;
                if let Some(imm) = small_const(rhs) {
                    self.int(lhs)?;
                    self.asm.jump_if_imm(cond.negate(), R0, imm, target);
                } else {
                    self.operands(lhs, rhs)?;
                    self.asm.jump_if_reg(cond.negate(), R0, R1, target);
                }
                self.asm.span = saved;
                return Ok(());
            }
        }
        self.int(e)?;
        self.asm.jump_if_imm(Cond::Eq, R0, 0, target);
        Ok(())
    }

    /// r0 = n.
    pub fn load_const(&mut self, n: u64) {
        if let Ok(small) = i32::try_from(n as i64) {
            self.asm.emit(Insn::mov_imm(R0, small));
        } else {
            self.asm.emit_all(Insn::ld_imm64(R0, n));
        }
    }

    fn record_size(&self, name: &str) -> u64 {
        self.b
            .typed
            .cdefs
            .records
            .get(name)
            .map_or(0, |r| r.size as u64)
    }

    /// Truncates or sign-extends r0 to the width of `ty`.
    pub fn narrow(&mut self, ty: &Type) {
        if let Type::Int { bits, signed } = ty {
            if *bits < 64 {
                let shift = 64 - *bits as i32;
                self.asm.emit(Insn::alu_imm(Alu::Lsh, R0, shift));
                let op = if *signed { Alu::Arsh } else { Alu::Rsh };
                self.asm.emit(Insn::alu_imm(op, R0, shift));
            }
        }
    }

    fn unary(&mut self, op: UnOp, operand: &Expr, e: &Expr) -> R<()> {
        match op {
            // Both keep the operand's type.
            UnOp::Neg => {
                self.int(operand)?;
                self.asm.emit(Insn::alu_imm(Alu::Neg, R0, 0));
                self.narrow(&self.ty(e));
            }
            UnOp::BitNot => {
                self.int(operand)?;
                self.asm.emit(Insn::alu_imm(Alu::Xor, R0, -1));
                self.narrow(&self.ty(e));
            }
            UnOp::Not => {
                self.int(operand)?;
                self.bool_from(Cond::Eq, None);
            }
            UnOp::Deref => {
                self.int(operand)?;
                let ty = self.ty(e);
                let size = match ty {
                    Type::Int { bits, .. } => bits as usize / 8,
                    _ => 8,
                };
                self.read_pointer(R0, size, self.pointer_is_user(operand))?;
                self.narrow(&ty);
            }
        }
        Ok(())
    }

    /// r0 = (r0 cond imm_or_r1) ? 1 : 0. With `rhs` None compares with 0.
    fn bool_from(&mut self, cond: Cond, rhs: Option<Reg>) {
        let yes = self.asm.label();
        let end = self.asm.label();
        match rhs {
            Some(r) => self.asm.jump_if_reg(cond, R0, r, yes),
            None => self.asm.jump_if_imm(cond, R0, 0, yes),
        }
        self.asm.emit(Insn::mov_imm(R0, 0));
        self.asm.jump(end);
        self.asm.place(yes);
        self.asm.emit(Insn::mov_imm(R0, 1));
        self.asm.place(end);
    }

    fn binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr) -> R<()> {
        let (lt, rt) = (self.ty(lhs), self.ty(rhs));
        if matches!(op, BinOp::And | BinOp::Or) {
            let short = self.asm.label();
            let end = self.asm.label();
            let skip_on = if op == BinOp::And { Cond::Eq } else { Cond::Ne };
            self.int(lhs)?;
            self.asm.jump_if_imm(skip_on, R0, 0, short);
            self.int(rhs)?;
            self.bool_from(Cond::Ne, None);
            self.asm.jump(end);
            self.asm.place(short);
            self.asm
                .emit(Insn::mov_imm(R0, if op == BinOp::And { 0 } else { 1 }));
            self.asm.place(end);
            return Ok(());
        }
        if !is_scalar(&lt) || !is_scalar(&rt) {
            return self.compare_mem(op, lhs, rhs);
        }
        if matches!(op, BinOp::Add | BinOp::Sub) && lt.is_pointer() != rt.is_pointer() {
            return self.pointer_offset(op, lhs, rhs);
        }
        if op == BinOp::Sub && lt.is_pointer() && rt.is_pointer() {
            return self.pointer_difference(lhs, rhs);
        }
        let signed = lt.is_signed() && rt.is_signed();
        // A small constant right operand needs no spill.
        if let Some(imm) = small_const(rhs) {
            self.int(lhs)?;
            self.op_imm(op, imm, signed);
            return Ok(());
        }
        self.operands(lhs, rhs)?;
        self.op_reg(op, signed);
        Ok(())
    }

    /// `p + n`, `n + p`, `p - n`: the address `n` elements of `*p` away, as in C.
    fn pointer_offset(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr) -> R<()> {
        let (ptr, count_in_r1) = match self.ty(lhs) {
            t @ Type::Pointer { .. } => (t, true),
            _ => (self.ty(rhs), false),
        };
        let scale = self.element_size(&ptr, lhs.span.to(rhs.span))?;
        self.operands(lhs, rhs)?;
        self.scale(if count_in_r1 { R1 } else { R0 }, scale);
        self.op_reg(op, false);
        Ok(())
    }

    /// `p - q`: the number of elements of `*p` between two pointers of one type (the byte
    /// difference divided as a signed number).
    fn pointer_difference(&mut self, lhs: &Expr, rhs: &Expr) -> R<()> {
        let size = self.element_size(&self.ty(lhs), lhs.span.to(rhs.span))?;
        self.operands(lhs, rhs)?;
        self.asm.emit(Insn::alu_reg(Alu::Sub, R0, R1));
        if size > 1 {
            let positive = self.asm.label();
            let end = self.asm.label();
            self.asm.jump_if_imm(Cond::Sge, R0, 0, positive);
            self.asm.emit(Insn::alu_imm(Alu::Neg, R0, 0));
            self.asm.emit(Insn::alu_imm(Alu::Div, R0, size as i32));
            self.asm.emit(Insn::alu_imm(Alu::Neg, R0, 0));
            self.asm.jump(end);
            self.asm.place(positive);
            self.asm.emit(Insn::alu_imm(Alu::Div, R0, size as i32));
            self.asm.place(end);
        }
        Ok(())
    }

    /// The size of the elements a pointer of type `ptr` points to (the checker made sure it is
    /// known).
    pub fn element_size(&self, ptr: &Type, span: scry_lang::span::Span) -> R<usize> {
        let Type::Pointer { to, .. } = ptr else {
            return Err(error(
                span,
                "internal error: pointer arithmetic without a pointer",
            ));
        };
        self.b
            .typed
            .cdefs
            .layout(to)
            .ok()
            .map(|(size, _)| size)
            .filter(|&n| n > 0)
            .ok_or_else(|| error(span, format!("the size of {to} is unknown")))
    }

    /// reg *= scale (no instruction for 1).
    pub fn scale(&mut self, reg: Reg, scale: usize) {
        if scale > 1 {
            self.asm.emit(Insn::alu_imm(Alu::Mul, reg, scale as i32));
        }
    }

    /// Evaluates both operands: `lhs` into r0 and `rhs` into r1 (`lhs` waits in a stack slot
    /// while `rhs`, which may call helpers, is computed).
    fn operands(&mut self, lhs: &Expr, rhs: &Expr) -> R<()> {
        self.int(lhs)?;
        let slot = self.alloc(8, lhs.span)?;
        self.asm
            .emit(Insn::store(Size::DW, self.frame.fp, slot, R0));
        self.int(rhs)?;
        self.asm.emit(Insn::mov(R1, R0));
        self.asm.emit(Insn::load(Size::DW, R0, self.frame.fp, slot));
        Ok(())
    }

    /// r0 = r0 op r1. A shift amount is taken modulo 64, as the CPU does (the verifier refuses
    /// a shift by an amount it knows to be 64 or more; the checker refuses constant ones).
    pub fn op_reg(&mut self, op: BinOp, signed: bool) {
        if matches!(op, BinOp::Shl | BinOp::Shr) {
            self.asm.emit(Insn::alu_imm(Alu::And, R1, 63));
        }
        if let Some(alu) = alu_of(op) {
            self.asm.emit(Insn::alu_reg(alu, R0, R1));
        } else if let Some(c) = cond_of(op, signed) {
            self.bool_from(c, Some(R1));
        }
    }

    fn op_imm(&mut self, op: BinOp, imm: i32, signed: bool) {
        if let Some(alu) = alu_of(op) {
            self.asm.emit(Insn::alu_imm(alu, R0, imm));
        } else if let Some(c) = cond_of(op, signed) {
            let yes = self.asm.label();
            let end = self.asm.label();
            self.asm.jump_if_imm(c, R0, imm, yes);
            self.asm.emit(Insn::mov_imm(R0, 0));
            self.asm.jump(end);
            self.asm.place(yes);
            self.asm.emit(Insn::mov_imm(R0, 1));
            self.asm.place(end);
        }
    }

    /// `$x op= value`: r0 = slot op value, converted to `ty`, the variable's type.
    pub fn load_var_then(&mut self, slot: i16, value: &Expr, op: BinOp, ty: &Type) -> R<()> {
        self.int(value)?;
        self.asm.emit(Insn::mov(R1, R0));
        if ty.is_pointer() {
            // A pointer moves by whole elements.
            let size = self.element_size(ty, value.span)?;
            self.scale(R1, size);
        }
        self.asm.emit(Insn::load(Size::DW, R0, self.frame.fp, slot));
        self.op_reg(op, false);
        self.narrow(ty);
        Ok(())
    }

    fn incdec(&mut self, target: &Expr, increment: bool, prefix: bool) -> R<()> {
        let ty = self.ty(target);
        // A pointer moves by one element.
        let step = match ty {
            Type::Pointer { .. } => self.element_size(&ty, target.span)?,
            _ => 1,
        };
        let delta = i32::try_from(step)
            .map_err(|_| error(target.span, "this element is too large to step over"))?;
        let delta = if increment { delta } else { -delta };
        match &target.kind {
            ExprKind::Var(name) => {
                let slot = self.vars[name];
                self.asm.emit(Insn::load(Size::DW, R0, self.frame.fp, slot));
                self.asm.emit(Insn::mov(R1, R0));
                self.asm.emit(Insn::alu_imm(Alu::Add, R0, delta));
                self.narrow(&self.ty(target));
                self.asm
                    .emit(Insn::store(Size::DW, self.frame.fp, slot, R0));
                if !prefix {
                    self.asm.emit(Insn::mov(R0, R1));
                }
                Ok(())
            }
            ExprKind::Map { name, keys } => self.map_incdec(name, keys, delta, prefix, target),
            _ => Err(error(target.span, "++ and -- apply to maps and variables")),
        }
    }

    /// `args->field` and struct fields.
    fn field_int(&mut self, base: &Expr, field: &str, e: &Expr) -> R<()> {
        if matches!(self.ty(base), Type::Args) {
            let f = self.tp_field(field, e)?;
            let size = f.size as usize;
            if !matches!(
                f.shape,
                FieldShape::Integer | FieldShape::Pointer | FieldShape::DataLoc
            ) || size > 8
            {
                return Err(error(e.span, format!("args->{field} is not an integer")));
            }
            self.asm
                .emit(Insn::load(Size::of_bytes(size), R0, R6, f.offset as i16));
            if f.signed && size < 8 {
                self.narrow(&Type::Int {
                    bits: (size * 8) as u8,
                    signed: true,
                });
            }
            return Ok(());
        }
        self.place_int(e)
    }

    fn index_int(&mut self, base: &Expr, index: &Expr, e: &Expr) -> R<()> {
        if let ExprKind::Field {
            base: inner, field, ..
        } = &base.kind
        {
            if let (Type::Args, Some(i)) = (self.ty(inner), self.constant_index(index)) {
                let f = self.tp_field(field, e)?;
                let FieldShape::Array { len } = &f.shape else {
                    return Err(error(e.span, format!("args->{field} is not an array")));
                };
                if i >= u64::from(*len) {
                    return Err(error(
                        index.span,
                        format!("the index {i} is out of bounds for array of size {len}"),
                    ));
                }
                let elem = (f.size / (*len).max(1)) as usize;
                let off = f.offset as usize + elem * i as usize;
                self.asm
                    .emit(Insn::load(Size::of_bytes(elem), R0, R6, off as i16));
                if f.signed {
                    self.narrow(&Type::Int {
                        bits: (elem * 8) as u8,
                        signed: true,
                    });
                }
                return Ok(());
            }
        }
        self.place_int(e)
    }

    /// The tracepoint field `name` of this program's record.
    pub fn tp_field(
        &self,
        name: &str,
        e: &Expr,
    ) -> R<scry_lang::tracepoint_format::TracepointField> {
        self.tp_fields
            .as_ref()
            .and_then(|fs| fs.iter().find(|f| f.name == name))
            .cloned()
            .ok_or_else(|| {
                error(
                    e.span,
                    format!("no field '{name}' in this tracepoint's record"),
                )
            })
    }

    /// Whether a pointer-valued expression points into user memory.
    pub fn pointer_is_user(&self, e: &Expr) -> bool {
        match self.ty(e) {
            Type::Pointer { space, .. } => match space {
                scry_lang::types::AddrSpace::User => true,
                scry_lang::types::AddrSpace::Kernel => false,
                scry_lang::types::AddrSpace::Unknown => self.default_user_space(),
            },
            _ => self.default_user_space(),
        }
    }

    /// Where addresses of unknown space point: user memory in user probes and syscall
    /// tracepoints, kernel memory elsewhere.
    fn default_user_space(&self) -> bool {
        self.kind.is_user() || self.tp_category.as_deref() == Some("syscalls")
    }

    /// r0 = *(size *)addr, addr in `reg`, read with probe_read (0 on a fault).
    pub fn read_pointer(&mut self, reg: Reg, size: usize, user: bool) -> R<()> {
        let slot = self.alloc(8, self.asm.span)?;
        self.asm
            .emit(Insn::store_imm(Size::DW, self.frame.fp, slot, 0));
        self.asm.emit(Insn::mov(R3, reg));
        self.asm.emit(Insn::mov(R1, self.frame.fp));
        self.asm.emit(Insn::alu_imm(Alu::Add, R1, slot as i32));
        self.asm.emit(Insn::mov_imm(R2, size as i32));
        let helper = self.read_helper(user, false);
        self.asm.emit(Insn::call(helper));
        self.check_helper(helper, Failure::Negative, self.site)?;
        self.asm
            .emit(Insn::load(Size::of_bytes(size), R0, self.frame.fp, slot));
        Ok(())
    }
}

fn alu_of(op: BinOp) -> Option<Alu> {
    Some(match op {
        BinOp::Add => Alu::Add,
        BinOp::Sub => Alu::Sub,
        BinOp::Mul => Alu::Mul,
        BinOp::Div => Alu::Div,
        BinOp::Mod => Alu::Mod,
        BinOp::BitAnd => Alu::And,
        BinOp::BitOr => Alu::Or,
        BinOp::BitXor => Alu::Xor,
        BinOp::Shl => Alu::Lsh,
        BinOp::Shr => Alu::Rsh,
        _ => return None,
    })
}

fn cond_of(op: BinOp, signed: bool) -> Option<Cond> {
    Some(match (op, signed) {
        (BinOp::Eq, _) => Cond::Eq,
        (BinOp::Ne, _) => Cond::Ne,
        (BinOp::Lt, false) => Cond::Lt,
        (BinOp::Le, false) => Cond::Le,
        (BinOp::Gt, false) => Cond::Gt,
        (BinOp::Ge, false) => Cond::Ge,
        (BinOp::Lt, true) => Cond::Slt,
        (BinOp::Le, true) => Cond::Sle,
        (BinOp::Gt, true) => Cond::Sgt,
        (BinOp::Ge, true) => Cond::Sge,
        _ => return None,
    })
}

/// A literal that fits an instruction's 32-bit immediate.
fn small_const(e: &Expr) -> Option<i32> {
    match e.kind {
        ExprKind::Int(n) => i32::try_from(n).ok(),
        _ => None,
    }
}

/// A positional parameter as a number (hex and negative allowed; 0 when not a number).
pub fn parse_param(s: &str) -> i64 {
    match s.strip_prefix('-') {
        Some(pos) => scry_lang::lexer::parse_int(pos).map_or(0, |n| (n as i64).wrapping_neg()),
        None => scry_lang::lexer::parse_int(s).map_or(0, |n| n as i64),
    }
}
