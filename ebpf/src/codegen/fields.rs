//! Fields of C structs and unions, the program's own and the kernel's (from BTF): `p->f` and
//! `s.f` compile to the field's address (a chain of `probe_read`s of the pointers on the way),
//! then one `probe_read` of the field's bytes.

use scry_lang::ast::{Expr, ExprKind, UnOp};
use scry_lang::types::{AddrSpace, Type};

use super::error;
use super::gen::{Gen, R};
use crate::insn::*;

impl Gen<'_, '_> {
    /// r0 = the address of the field expression `e`; returns whether it is user memory.
    fn field_address(&mut self, e: &Expr) -> R<bool> {
        let ExprKind::Field { base, field, arrow } = &e.kind else {
            return Err(error(e.span, "not a struct field"));
        };
        let (record, user) = match (self.ty(base), arrow) {
            (Type::Pointer { to, space }, true) => {
                let Type::Record(name) = *to else {
                    return Err(error(e.span, format!("'{field}' is not a struct field")));
                };
                self.int(base)?;
                (name, self.is_user_space(space))
            }
            (Type::Record(name), false) => {
                let user = self.record_address(base)?;
                (name, user)
            }
            _ => return Err(error(e.span, format!("'{field}' is not a struct field"))),
        };
        let offset = self
            .b
            .typed
            .cdefs
            .records
            .get(&record)
            .and_then(|r| r.fields.iter().find(|f| f.name == *field))
            .map(|f| f.offset)
            .ok_or_else(|| error(e.span, format!("{record} has no field '{field}'")))?;
        let offset = i32::try_from(offset)
            .map_err(|_| error(e.span, format!("field '{field}' is too far into {record}")))?;
        if offset != 0 {
            self.asm.emit(Insn::alu_imm(Alu::Add, R0, offset));
        }
        Ok(user)
    }

    /// r0 = the address of a struct-valued expression (a field that is a struct, or `*p`);
    /// returns whether it is user memory.
    fn record_address(&mut self, e: &Expr) -> R<bool> {
        match &e.kind {
            ExprKind::Field { .. } => self.field_address(e),
            ExprKind::Unary {
                op: UnOp::Deref,
                operand,
            } => {
                let space = match self.ty(operand) {
                    Type::Pointer { space, .. } => space,
                    _ => AddrSpace::Unknown,
                };
                self.int(operand)?;
                Ok(self.is_user_space(space))
            }
            _ => Err(error(
                e.span,
                "this struct has no address to read it from: reach it through a pointer (p->field)",
            )),
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

    /// An integer or pointer field (`curtask->real_parent->tgid`) into r0.
    pub fn record_field_int(&mut self, e: &Expr) -> R<()> {
        let ty = self.ty(e);
        let size = match &ty {
            Type::Int { bits, .. } => *bits as usize / 8,
            Type::Pointer { .. } => 8,
            other => {
                return Err(error(
                    e.span,
                    format!("a field of type {other} is not an integer"),
                ))
            }
        };
        let user = self.field_address(e)?;
        self.read_pointer(R0, size, user)?;
        self.narrow(&ty);
        Ok(())
    }

    /// Copies the bytes of field `e` (a string, an array) to the stack at `dst`, zero-filled
    /// to `dst_size`.
    pub fn record_field_mem(&mut self, e: &Expr, dst: i16, dst_size: usize) -> R<()> {
        let size = match self.ty(e) {
            Type::Str(n) => n,
            Type::Array { of, len } => of.size() * len as usize,
            other => {
                return Err(error(
                    e.span,
                    format!("a field of type {other} cannot be copied here yet"),
                ))
            }
        }
        .min(dst_size);
        let user = self.field_address(e)?;
        self.zero(dst, dst_size);
        self.asm.emit(Insn::mov(R3, R0));
        self.asm.emit(Insn::mov(R1, R10));
        self.asm.emit(Insn::alu_imm(Alu::Add, R1, dst as i32));
        self.asm.emit(Insn::mov_imm(R2, size as i32));
        self.asm.emit(Insn::call(if user {
            Helper::ProbeReadUser
        } else {
            Helper::ProbeReadKernel
        }));
        Ok(())
    }
}
