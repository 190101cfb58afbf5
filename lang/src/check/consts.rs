//! Constant integer expressions, folded with the integer model (`crate::int`) so that a
//! division by zero or a shift by 64 or more that is known when the program is compiled is
//! reported at its span instead of computing an undefined value.

use super::Checker;
use crate::ast::{Expr, ExprKind, UnOp};
use crate::diag::Diagnostic;
use crate::int::{self, Undefined};
use crate::token::BinOp;

impl Checker<'_> {
    /// The value of `e` when it is a constant integer expression whose type is already
    /// recorded: literals, and casts, unary and binary operators and ternaries over constants.
    pub(super) fn constant(&self, e: &Expr) -> Option<u64> {
        match &e.kind {
            ExprKind::Int(n) => Some(*n),
            ExprKind::Cast { operand, .. } => {
                Some(int::convert(self.constant(operand)?, self.type_of(e)))
            }
            ExprKind::Unary { op, operand } => {
                let v = self.constant(operand)?;
                let ty = self.type_of(operand);
                match op {
                    UnOp::Neg => Some(int::negate(v, ty)),
                    UnOp::BitNot => Some(int::complement(v, ty)),
                    UnOp::Not => Some(u64::from(v == 0)),
                    UnOp::Deref => None,
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let (a, b) = (self.constant(lhs)?, self.constant(rhs)?);
                if !(self.type_of(lhs).is_int() && self.type_of(rhs).is_int()) {
                    return None;
                }
                let signed = self.type_of(lhs).is_signed() && self.type_of(rhs).is_signed();
                int::binary(*op, a, b, signed).ok()
            }
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => {
                let branch = if self.constant(cond)? != 0 {
                    then
                } else {
                    otherwise
                };
                Some(int::convert(self.constant(branch)?, self.type_of(e)))
            }
            _ => None,
        }
    }

    /// Reports `_ op rhs` when the operation is undefined for a constant right operand:
    /// division by zero, or a shift by 64 or more.
    pub(super) fn check_defined(&mut self, op: BinOp, rhs: &Expr) {
        let Some(b) = self.constant(rhs) else {
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

    fn type_of(&self, e: &Expr) -> &crate::types::Type {
        &self.types[e.id.0 as usize]
    }
}
