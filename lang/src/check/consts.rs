//! Constant integer expressions, folded with the integer model (`crate::int`) so that a
//! division by zero or a shift by 64 or more that is known when the program is compiled is
//! reported at its span instead of computing an undefined value.

use super::{Checker, TypedProgram};
use crate::ast::{BaseType, Expr, ExprKind, UnOp};
use crate::diag::Diagnostic;
use crate::int::{self, Undefined};
use crate::token::BinOp;
use crate::types::Type;

impl TypedProgram {
    /// The value of `e` when it is a constant integer expression: literals (string literals
    /// compared with `==` and `!=` too), `sizeof` of integer types, and casts, unary and binary operators and ternaries
    /// over constants.
    pub fn constant(&self, e: &Expr) -> Option<u64> {
        fold(&self.types, e)
    }
}

/// [`TypedProgram::constant`], given the types of the expressions by [`crate::ast::ExprId`].
fn fold(types: &[Type], e: &Expr) -> Option<u64> {
    let type_of = |e: &Expr| &types[e.id.0 as usize];
    match &e.kind {
        ExprKind::Int(n) => Some(*n),
        ExprKind::SizeofType(t) => match t.base {
            _ if t.pointer_depth > 0 => Some(8),
            BaseType::Int { bits, .. } => Some(u64::from(bits / 8)),
            _ => None,
        },
        ExprKind::Cast { operand, .. } => Some(int::convert(fold(types, operand)?, type_of(e))),
        ExprKind::Unary { op, operand } => {
            let v = fold(types, operand)?;
            let ty = type_of(operand);
            match op {
                UnOp::Neg => Some(int::negate(v, ty)),
                UnOp::BitNot => Some(int::complement(v, ty)),
                UnOp::Not => Some(u64::from(v == 0)),
                UnOp::Deref => None,
            }
        }
        ExprKind::Binary { op, lhs, rhs } => {
            if let (ExprKind::Str(a), ExprKind::Str(b), BinOp::Eq | BinOp::Ne) =
                (&lhs.kind, &rhs.kind, op)
            {
                return Some(u64::from((a == b) == (*op == BinOp::Eq)));
            }
            let (lt, rt) = (type_of(lhs), type_of(rhs));
            if !(lt.is_int() && rt.is_int()) {
                return None;
            }
            let (a, b) = (fold(types, lhs)?, fold(types, rhs)?);
            int::binary(*op, a, b, lt.is_signed() && rt.is_signed()).ok()
        }
        ExprKind::Ternary {
            cond,
            then,
            otherwise,
        } => {
            let branch = if fold(types, cond)? != 0 {
                then
            } else {
                otherwise
            };
            Some(int::convert(fold(types, branch)?, type_of(e)))
        }
        _ => None,
    }
}

impl Checker<'_> {
    /// Reports `_ op rhs` when the operation is undefined for a constant right operand:
    /// division by zero, or a shift by 64 or more.
    /// The value of `e` when it is a constant integer expression (see
    /// [`TypedProgram::constant`]), given the types checked so far.
    pub(super) fn constant(&self, e: &Expr) -> Option<u64> {
        fold(&self.types, e)
    }

    pub(super) fn check_defined(&mut self, op: BinOp, rhs: &Expr) {
        let Some(b) = fold(&self.types, rhs) else {
            return;
        };
        let d = match int::binary(op, 1, b, false) {
            Err(Undefined::DivisionByZero) => {
                let at_run_time = if op == BinOp::Div { "0" } else { "the dividend" };
                Diagnostic::error(rhs.span, format!("division by zero in '{}'", op.as_str()))
                    .with_hint(format!(
                        "a divisor that is zero only at run time gives {at_run_time}, as BPF does"
                    ))
            }
            Err(Undefined::ShiftTooFar) => Diagnostic::error(
                rhs.span,
                format!("shift by {} in '{}' is undefined", b as i64, op.as_str()),
            )
            .with_hint("a 64-bit value shifts by 0 to 63; an amount known only at run time is taken modulo 64"),
            Ok(_) => return,
        };
        self.error(d);
    }
}
