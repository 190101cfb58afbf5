//! The integer model (`docs/integers.md`): the result type and the value of every integer
//! operator. The checker types and folds constants with it, the code generator emits what it
//! says, and tests use it as the oracle for what the kernel computes.
//!
//! A value is held as 64 bits: a value of a narrower type is kept extended by its type's
//! signedness, so `(int8)-1` is `u64::MAX` and `(uint8)255` is 255.

use crate::token::BinOp;
use crate::types::Type;

/// Why an operation has no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undefined {
    /// `/` or `%` by zero.
    DivisionByZero,
    /// `<<` or `>>` by 64 or more (as unsigned).
    ShiftTooFar,
}

/// The type of an integer binary operation's result: 64 bits, signed only when both operands
/// are (a shift takes the signedness of its left operand). Comparisons, `&&` and `||` give 0
/// or 1 of that type.
pub fn binary_type(op: BinOp, left_signed: bool, right_signed: bool) -> Type {
    let signed = match op {
        BinOp::Shl | BinOp::Shr => left_signed,
        _ => left_signed && right_signed,
    };
    Type::Int { bits: 64, signed }
}

/// `v` converted to `to`: truncated to its width and extended by its signedness. Non-integer
/// types leave `v` as it is.
pub fn convert(v: u64, to: &Type) -> u64 {
    match to {
        Type::Int { bits, signed } if *bits < 64 => {
            let shift = 64 - u32::from(*bits);
            if *signed {
                (((v << shift) as i64) >> shift) as u64
            } else {
                (v << shift) >> shift
            }
        }
        _ => v,
    }
}

/// `-v` in the type `ty` of the operand, which is the result's type.
pub fn negate(v: u64, ty: &Type) -> u64 {
    convert(v.wrapping_neg(), ty)
}

/// `~v` in the type `ty` of the operand, which is the result's type.
pub fn complement(v: u64, ty: &Type) -> u64 {
    convert(!v, ty)
}

/// `a op b` on 64-bit operands, each already extended by its own type. `signed` is whether
/// both operands are signed (it decides `<`, `<=`, `>`, `>=`). `/` and `%` divide unsigned,
/// `>>` shifts logically, as BPF does and bpftrace 0.17 compiles them.
pub fn binary(op: BinOp, a: u64, b: u64, signed: bool) -> Result<u64, Undefined> {
    use BinOp::*;
    let cmp =
        |unsigned: bool, signed_: bool| Ok(u64::from(if signed { signed_ } else { unsigned }));
    let (sa, sb) = (a as i64, b as i64);
    match op {
        Add => Ok(a.wrapping_add(b)),
        Sub => Ok(a.wrapping_sub(b)),
        Mul => Ok(a.wrapping_mul(b)),
        Div => a.checked_div(b).ok_or(Undefined::DivisionByZero),
        Mod => a.checked_rem(b).ok_or(Undefined::DivisionByZero),
        BitAnd => Ok(a & b),
        BitOr => Ok(a | b),
        BitXor => Ok(a ^ b),
        Shl | Shr if b >= 64 => Err(Undefined::ShiftTooFar),
        Shl => Ok(a << b),
        Shr => Ok(a >> b),
        Lt => cmp(a < b, sa < sb),
        Le => cmp(a <= b, sa <= sb),
        Gt => cmp(a > b, sa > sb),
        Ge => cmp(a >= b, sa >= sb),
        Eq => Ok(u64::from(a == b)),
        Ne => Ok(u64::from(a != b)),
        And => Ok(u64::from(a != 0 && b != 0)),
        Or => Ok(u64::from(a != 0 || b != 0)),
    }
}

/// What BPF computes where the model says [`Undefined`] and the operands are only known at run
/// time: `x / 0` is 0, `x % 0` is `x`, and a shift amount is taken modulo 64.
pub fn binary_at_run_time(op: BinOp, a: u64, b: u64, signed: bool) -> u64 {
    match binary(op, a, b, signed) {
        Ok(v) => v,
        Err(Undefined::DivisionByZero) if op == BinOp::Div => 0,
        Err(Undefined::DivisionByZero) => a,
        Err(Undefined::ShiftTooFar) => binary(op, a, b & 63, signed).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U8: Type = Type::Int {
        bits: 8,
        signed: false,
    };
    const I8: Type = Type::Int {
        bits: 8,
        signed: true,
    };

    #[test]
    fn conversions_truncate_and_extend_by_the_target() {
        assert_eq!(convert(1000, &U8), 232);
        assert_eq!(convert(255, &I8), u64::MAX);
        assert_eq!(convert(128, &I8), (-128i64) as u64);
        assert_eq!(convert(u64::MAX, &Type::U32), 0xffff_ffff);
    }

    #[test]
    fn unary_operators_stay_in_the_operand_type() {
        assert_eq!(negate(1, &Type::U64), u64::MAX);
        assert_eq!(negate(1, &U8), 255);
        assert_eq!(negate(1, &I8), u64::MAX);
        assert_eq!(complement(5, &Type::U32), 4294967290);
        assert_eq!(complement(0, &U8), 255);
        assert_eq!(complement(0, &I8), u64::MAX);
    }

    #[test]
    fn division_is_unsigned_and_comparisons_follow_signedness() {
        let m1 = (-1i64) as u64;
        assert_eq!(
            binary(BinOp::Div, (-7i64) as u64, 2, true),
            Ok(9223372036854775804)
        );
        assert_eq!(binary(BinOp::Gt, m1, 0, true), Ok(0));
        assert_eq!(binary(BinOp::Gt, m1, 0, false), Ok(1));
        assert_eq!(binary(BinOp::Shr, m1, 60, true), Ok(15));
        assert_eq!(
            binary(BinOp::Mod, 5, 0, false),
            Err(Undefined::DivisionByZero)
        );
        assert_eq!(
            binary(BinOp::Shl, 1, 64, false),
            Err(Undefined::ShiftTooFar)
        );
        assert_eq!(binary_at_run_time(BinOp::Mod, 5, 0, false), 5);
        assert_eq!(binary_at_run_time(BinOp::Div, 5, 0, false), 0);
        assert_eq!(binary_at_run_time(BinOp::Shl, 1, 64, false), 1);
    }

    #[test]
    fn result_types() {
        assert_eq!(binary_type(BinOp::Add, true, false), Type::U64);
        assert_eq!(binary_type(BinOp::Lt, true, true), Type::I64);
        assert_eq!(binary_type(BinOp::Shl, true, false), Type::I64);
        assert_eq!(binary_type(BinOp::Shr, false, true), Type::U64);
    }
}
