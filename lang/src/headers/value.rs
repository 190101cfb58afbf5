//! The integer value of a constant header macro, computed exactly (in 128 bits, C's
//! precedence) only to tell whether two spellings of one macro mean the same number
//! (`S_IRWXU` is `(__S_IREAD|__S_IWRITE|__S_IEXEC)` in one header and `00700` in another).
//! Whatever cannot be computed exactly (a string, an overflow, a shift past 127 bits, a
//! division by zero, a name without a value) has no value: such definitions stay different.

use super::constant::{integer, tokens, Kind, Token};

/// Deepest nesting of parentheses and operators computed.
const MAX_DEPTH: usize = 64;

/// The value of `body`, where `name` gives the value of a macro it uses.
pub fn value(body: &str, name: &mut dyn FnMut(&str) -> Option<i128>) -> Option<i128> {
    let tokens = tokens(body)?;
    let mut e = Eval {
        tokens: &tokens,
        at: 0,
        depth: 0,
        name,
    };
    let v = e.expr()?;
    (e.at == tokens.len()).then_some(v)
}

struct Eval<'t, 'a, 'n> {
    tokens: &'t [Token<'a>],
    at: usize,
    depth: usize,
    name: &'n mut dyn FnMut(&str) -> Option<i128>,
}

/// Binary operators by C precedence, loosest first.
const LEVELS: &[&[&str]] = &[
    &["||"],
    &["&&"],
    &["|"],
    &["^"],
    &["&"],
    &["==", "!="],
    &["<", "<=", ">", ">="],
    &["<<", ">>"],
    &["+", "-"],
    &["*", "/", "%"],
];

impl Eval<'_, '_, '_> {
    fn op(&self) -> Option<&str> {
        self.tokens
            .get(self.at)
            .filter(|t| t.kind == Kind::Op)
            .map(|t| t.text)
    }

    fn eat(&mut self, op: &str) -> bool {
        let hit = self.op() == Some(op);
        self.at += usize::from(hit);
        hit
    }

    /// `binary ('?' expr ':' expr)?`
    fn expr(&mut self) -> Option<i128> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let cond = self.binary(0)?;
        let v = if self.eat("?") {
            let yes = self.expr()?;
            self.eat(":").then_some(())?;
            let no = self.expr()?;
            if cond != 0 {
                yes
            } else {
                no
            }
        } else {
            cond
        };
        self.depth -= 1;
        Some(v)
    }

    fn binary(&mut self, level: usize) -> Option<i128> {
        let Some(ops) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut v = self.binary(level + 1)?;
        while let Some(op) = self.op().filter(|op| ops.contains(op)) {
            let op = op.to_string();
            self.at += 1;
            let r = self.binary(level + 1)?;
            v = apply(&op, v, r)?;
        }
        Some(v)
    }

    fn unary(&mut self) -> Option<i128> {
        for op in ["-", "+", "~", "!"] {
            if self.eat(op) {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return None;
                }
                let v = self.unary()?;
                self.depth -= 1;
                return match op {
                    "-" => v.checked_neg(),
                    "+" => Some(v),
                    "~" => Some(!v),
                    _ => Some(i128::from(v == 0)),
                };
            }
        }
        let t = self.tokens.get(self.at)?;
        self.at += 1;
        match t.kind {
            Kind::Int => integer(t.text).map(i128::from),
            Kind::Name => (self.name)(t.text),
            Kind::Op if t.text == "(" => {
                let v = self.expr()?;
                self.eat(")").then_some(v)
            }
            Kind::Str | Kind::Op => None,
        }
    }
}

fn apply(op: &str, l: i128, r: i128) -> Option<i128> {
    let shift = u32::try_from(r).ok().filter(|s| *s < 127);
    Some(match op {
        "||" => i128::from(l != 0 || r != 0),
        "&&" => i128::from(l != 0 && r != 0),
        "|" => l | r,
        "^" => l ^ r,
        "&" => l & r,
        "==" => i128::from(l == r),
        "!=" => i128::from(l != r),
        "<" => i128::from(l < r),
        "<=" => i128::from(l <= r),
        ">" => i128::from(l > r),
        ">=" => i128::from(l >= r),
        "<<" => l.checked_mul(1i128.checked_shl(shift?)?)?,
        ">>" => l >> shift?,
        "+" => l.checked_add(r)?,
        "-" => l.checked_sub(r)?,
        "*" => l.checked_mul(r)?,
        "/" => l.checked_div(r)?,
        "%" => l.checked_rem(r)?,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(body: &str) -> Option<i128> {
        value(body, &mut |n| match n {
            "A" => Some(0o400),
            "B" => Some(0o200),
            _ => None,
        })
    }

    #[test]
    fn values() {
        assert_eq!(of("(A|B|0100)"), Some(0o700));
        assert_eq!(of("00700"), Some(448));
        assert_eq!(of("1 + 2 * 3 << 1"), Some(14));
        assert_eq!(of("(-2147483647-1)"), Some(-2147483648));
        assert_eq!(of("~0U"), Some(-1));
        assert_eq!(of("1 ? 2 : 3"), Some(2));
        assert_eq!(of("0x10UL >> 4 == 1 && !0"), Some(1));
    }

    #[test]
    fn no_values() {
        for body in [
            "C",
            "\"s\"",
            "1 / 0",
            "1 << 200",
            "(1",
            "170141183460469231731687303715884105727 + 1",
        ] {
            assert_eq!(of(body), None, "{body}");
        }
    }
}
