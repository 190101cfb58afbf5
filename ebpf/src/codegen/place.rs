//! Places of C data: where a struct, an array, or a field or element of one is, so that it is
//! read as an integer or copied as a value. `p->f`, `s.f`, `*p`, `a[i]` and `p[i]` become an
//! address (a chain of `probe_read`s of the pointers on the way) or, for a value the program
//! holds (a variable, a map value it read), a stack offset; then one `probe_read` or stack
//! load of the bytes. Structs and unions are the program's own and the kernel's (from BTF).

use scry_lang::ast::{Expr, ExprKind, UnOp};
use scry_lang::types::{AddrSpace, Bitfield, Type};

use super::error;
use super::gen::{Gen, R};
use super::helper_errors::Failure;
use crate::insn::*;
use crate::object::COUNTER_INDEX_OUT_OF_BOUNDS;

/// Where a C value is.
#[derive(Clone, Copy, Debug)]
pub enum Place {
    /// At the address in r0, in user or kernel memory.
    Memory { user: bool },
    /// On the stack, at this r10-relative offset.
    Stack(i16),
}

impl Gen<'_, '_> {
    /// The place of the C value `e` (a field, an element, a dereference, or a value the
    /// program holds).
    pub fn place(&mut self, e: &Expr) -> R<Place> {
        match &e.kind {
            ExprKind::Field { base, field, arrow } if !matches!(self.ty(base), Type::Args) => {
                let (offset, place) = match (self.ty(base), arrow) {
                    (Type::Pointer { to, space }, true) => {
                        let Type::Record(name) = *to else {
                            return Err(error(e.span, format!("'{field}' is not a struct field")));
                        };
                        let offset = self
                            .b
                            .typed
                            .cdefs
                            .records
                            .get(&name)
                            .and_then(|r| r.fields.iter().find(|f| f.name == *field))
                            .map(|f| f.offset)
                            .ok_or_else(|| {
                                error(e.span, format!("{name} has no field '{field}'"))
                            })?;
                        self.int(base)?;
                        let user = self.is_user_space(space);
                        (offset, Place::Memory { user })
                    }
                    (Type::Struct(st), false) => {
                        let offset = st
                            .fields
                            .iter()
                            .find(|f| f.name == *field)
                            .map(|f| f.offset)
                            .ok_or_else(|| {
                                error(e.span, format!("{} has no field '{field}'", st.name))
                            })?;
                        (offset, self.place(base)?)
                    }
                    _ => return Err(error(e.span, format!("'{field}' is not a struct field"))),
                };
                self.offset_place(place, offset, e)
            }
            ExprKind::Unary {
                op: UnOp::Deref,
                operand,
            } => {
                let user = self.pointer_is_user(operand);
                self.int(operand)?;
                Ok(Place::Memory { user })
            }
            ExprKind::Index { base, index } => self.element_place(base, index, e),
            ExprKind::Var(name) => Ok(Place::Stack(self.vars[name])),
            ExprKind::Map { name, keys } => {
                self.map_value_address(name, keys, e)?;
                Ok(Place::Memory { user: false })
            }
            _ => Ok(Place::Stack(self.mem_operand(e)?.0)),
        }
    }

    /// The place `offset` bytes into `place`.
    fn offset_place(&mut self, place: Place, offset: usize, e: &Expr) -> R<Place> {
        let far = || error(e.span, "this field or element is too far into its value");
        match place {
            Place::Memory { .. } => {
                let offset = i32::try_from(offset).map_err(|_| far())?;
                if offset != 0 {
                    self.asm.emit(Insn::alu_imm(Alu::Add, R0, offset));
                }
                Ok(place)
            }
            Place::Stack(at) => i16::try_from(offset)
                .ok()
                .and_then(|o| at.checked_add(o))
                .map(Place::Stack)
                .ok_or_else(far),
        }
    }

    /// `p[i]` (the element `i` elements after `p`) and `a[i]` (an element of an array or
    /// string). A constant index into an array was checked by the checker; any other is
    /// checked here: out of bounds, the element's address is 0, whose read fails and gives
    /// 0, and the run counts it (a warning at exit).
    fn element_place(&mut self, base: &Expr, index: &Expr, e: &Expr) -> R<Place> {
        let bt = self.ty(base);
        let (size, len) = match &bt {
            Type::Pointer { .. } => (self.element_size(&bt, e.span)?, None),
            Type::Array { of, len } => (of.size(), Some(u64::from(*len))),
            Type::Str(n) => (1, Some(*n as u64)),
            other => {
                return Err(error(
                    e.span,
                    format!("a value of type {other} cannot be indexed"),
                ))
            }
        };
        if let Some(i) = self.constant_index(index) {
            if let Type::Pointer { .. } = bt {
                // Any index, negative ones too: the address wraps as C's does.
                let user = self.pointer_is_user(base);
                self.int(base)?;
                let offset = (i as i64).wrapping_mul(size as i64);
                match i32::try_from(offset) {
                    Ok(0) => {}
                    Ok(o) => self.asm.emit(Insn::alu_imm(Alu::Add, R0, o)),
                    Err(_) => {
                        self.asm.emit_all(Insn::ld_imm64(R1, offset as u64));
                        self.asm.emit(Insn::alu_reg(Alu::Add, R0, R1));
                    }
                }
                return Ok(Place::Memory { user });
            }
            // The checker made sure it is inside the array.
            let place = self.place(base)?;
            let offset = usize::try_from(i)
                .ok()
                .and_then(|i| i.checked_mul(size))
                .ok_or_else(|| error(index.span, "this index is too large"))?;
            return self.offset_place(place, offset, e);
        }
        let slot = self.alloc(8, index.span)?;
        self.int(index)?;
        self.asm
            .emit(Insn::store(Size::DW, self.frame.fp, slot, R0));
        let user = match bt {
            Type::Pointer { .. } => {
                let user = self.pointer_is_user(base);
                self.int(base)?;
                user
            }
            _ => match self.place(base)? {
                Place::Memory { user } => user,
                Place::Stack(at) => {
                    self.asm.emit(Insn::mov(R0, self.frame.fp));
                    self.asm.emit(Insn::alu_imm(Alu::Add, R0, i32::from(at)));
                    false
                }
            },
        };
        self.asm.emit(Insn::load(Size::DW, R1, self.frame.fp, slot));
        if let Some(len) = len {
            let inside = self.asm.label();
            let done = self.asm.label();
            self.asm.jump_if_imm(Cond::Lt, R1, len as i32, inside);
            self.bump_counter(COUNTER_INDEX_OUT_OF_BOUNDS)?;
            self.asm.emit(Insn::mov_imm(R0, 0));
            self.asm.jump(done);
            self.asm.place(inside);
            self.scale(R1, size);
            self.asm.emit(Insn::alu_reg(Alu::Add, R0, R1));
            self.asm.place(done);
        } else {
            self.scale(R1, size);
            self.asm.emit(Insn::alu_reg(Alu::Add, R0, R1));
        }
        Ok(Place::Memory { user })
    }

    /// The value of an index known when compiling: a constant expression or a positional
    /// parameter.
    pub fn constant_index(&self, e: &Expr) -> Option<u64> {
        match e.kind {
            ExprKind::Param(n) => Some(super::int::parse_param(&self.param(n)) as u64),
            _ => self.b.typed.constant(e),
        }
    }

    /// Where a struct pointer of `space` points: pointers of unknown space (casts) point to
    /// user memory in user probes, kernel memory elsewhere.
    fn is_user_space(&self, space: AddrSpace) -> bool {
        match space {
            AddrSpace::User => true,
            AddrSpace::Kernel => false,
            AddrSpace::Unknown => self.kind.is_user(),
        }
    }

    /// An integer or pointer held in C data (`curtask->real_parent->tgid`, `$a[2]`, `$s.m`)
    /// into r0.
    pub fn place_int(&mut self, e: &Expr) -> R<()> {
        let ty = self.ty(e);
        let size = match &ty {
            Type::Int { bits, .. } => *bits as usize / 8,
            Type::Pointer { .. } => 8,
            other => {
                return Err(error(
                    e.span,
                    format!("a value of type {other} is not an integer"),
                ))
            }
        };
        match self.place(e)? {
            Place::Memory { user } => self.read_pointer(R0, size, user)?,
            Place::Stack(at) => {
                self.asm
                    .emit(Insn::load(Size::of_bytes(size), R0, self.frame.fp, at))
            }
        }
        match self.bitfield_of(e) {
            // Its bits, moved to the top and back down, sign-extended when signed.
            Some(b) => {
                let up = 64 - i32::from(b.shift) - i32::from(b.width);
                if up > 0 {
                    self.asm.emit(Insn::alu_imm(Alu::Lsh, R0, up));
                }
                let down = if ty.is_signed() { Alu::Arsh } else { Alu::Rsh };
                self.asm
                    .emit(Insn::alu_imm(down, R0, 64 - i32::from(b.width)));
            }
            None => self.narrow(&ty),
        }
        Ok(())
    }

    /// The bits of field expression `e` when it is a bitfield.
    fn bitfield_of(&self, e: &Expr) -> Option<Bitfield> {
        let ExprKind::Field { base, field, .. } = &e.kind else {
            return None;
        };
        match self.ty(base) {
            Type::Pointer { to, .. } => match *to {
                Type::Record(name) => {
                    self.b
                        .typed
                        .cdefs
                        .records
                        .get(&name)?
                        .fields
                        .iter()
                        .find(|f| f.name == *field)?
                        .bitfield
                }
                _ => None,
            },
            Type::Struct(st) => st.fields.iter().find(|f| f.name == *field)?.bitfield,
            _ => None,
        }
    }

    /// Copies the C value `e` (a string, an array, a struct) to the stack at `dst`,
    /// zero-filled to `dst_size`.
    pub fn place_mem(&mut self, e: &Expr, dst: i16, dst_size: usize) -> R<()> {
        let size = self.ty(e).size().min(dst_size);
        self.zero(dst, dst_size);
        match self.place(e)? {
            Place::Memory { user } => {
                self.asm.emit(Insn::mov(R3, R0));
                self.asm.emit(Insn::mov(R1, self.frame.fp));
                self.asm.emit(Insn::alu_imm(Alu::Add, R1, dst as i32));
                self.asm.emit(Insn::mov_imm(R2, size as i32));
                let helper = self.read_helper(user, false);
                self.asm.emit(Insn::call(helper));
                self.check_helper(helper, Failure::Negative, Self::site_of(e))?;
            }
            Place::Stack(src) => self.copy_bytes(dst, src, size),
        }
        Ok(())
    }

    /// Copies exactly `size` bytes between stack offsets (8, 4, 2 and 1 at a time).
    fn copy_bytes(&mut self, dst: i16, src: i16, size: usize) {
        let mut done = 0;
        for width in [8, 4, 2, 1] {
            while size - done >= width {
                let at = done as i16;
                self.asm.emit(Insn::load(
                    Size::of_bytes(width),
                    R1,
                    self.frame.fp,
                    src + at,
                ));
                self.asm.emit(Insn::store(
                    Size::of_bytes(width),
                    self.frame.fp,
                    dst + at,
                    R1,
                ));
                done += width;
            }
        }
    }
}
