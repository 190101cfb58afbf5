//! Whether a header macro's body is a constant the lexer can substitute: integers (C suffixes
//! allowed), a string, names of other macros, and the C operators between them, in
//! parentheses or not. Anything else (a call, a cast, a dereference, a float, a character
//! constant, a keyword such as `sizeof`) is not.

/// A constant body: its tokens, one space apart (so two spellings of one body compare equal),
/// and the names it uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constant {
    pub text: String,
    pub names: Vec<String>,
}

/// The constant `body` spells, or `None`.
pub fn constant(body: &str) -> Option<Constant> {
    let tokens = tokens(body)?;
    let mut p = Parser {
        tokens: &tokens,
        at: 0,
        depth: 0,
    };
    p.expr()?;
    if p.at != tokens.len() {
        return None;
    }
    let names = tokens
        .iter()
        .filter(|t| t.kind == Kind::Name)
        .map(|t| t.text.to_string())
        .collect();
    let text = tokens.iter().map(|t| t.text).collect::<Vec<_>>().join(" ");
    Some(Constant { text, names })
}

/// `body` with its tokens one space apart, for comparing bodies that are not constants.
pub fn normalized(body: &str) -> String {
    body.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Int,
    Str,
    Name,
    Op,
}

pub(super) struct Token<'a> {
    pub(super) kind: Kind,
    pub(super) text: &'a str,
}

/// Operators of two characters, then of one.
const OPS2: &[&str] = &["<<", ">>", "<=", ">=", "==", "!=", "&&", "||"];
const OPS1: &str = "+-*/%<>&|^~!?:()";

/// The tokens of `body`; `None` at anything a constant cannot hold.
pub(super) fn tokens(body: &str) -> Option<Vec<Token<'_>>> {
    let b = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            integer(&body[start..i])?;
            Kind::Int
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            Kind::Name
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            if i >= b.len() {
                return None;
            }
            i += 1;
            Kind::Str
        } else if OPS2.iter().any(|op| body[i..].starts_with(op)) {
            i += 2;
            Kind::Op
        } else if OPS1.as_bytes().contains(&c) {
            i += 1;
            Kind::Op
        } else {
            return None;
        };
        out.push(Token {
            kind,
            text: &body[start..i],
        });
    }
    Some(out)
}

/// The value of `text` when it is a C integer constant that fits in 64 bits: decimal, octal
/// or hex, with a `u`/`l`/`ll` suffix, ignored as the lexer ignores it (no float, no
/// exponent, no digit separator).
pub(super) fn integer(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let digits = lower.trim_end_matches(['u', 'l']);
    let suffix = &lower[digits.len()..];
    if !matches!(suffix, "" | "u" | "l" | "ul" | "lu" | "ll" | "ull" | "llu") {
        return None;
    }
    let (digits, radix) = match digits.strip_prefix("0x") {
        Some(hex) => (hex, 16),
        None if digits.len() > 1 && digits.starts_with('0') => (&digits[1..], 8),
        None => (digits, 10),
    };
    // from_str_radix takes a sign; C digits have none.
    if digits.starts_with('+') {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Deepest nesting of parentheses and unary operators a constant may have.
const MAX_DEPTH: usize = 64;

/// A recognizer of C constant expressions over the tokens.
struct Parser<'t, 'a> {
    tokens: &'t [Token<'a>],
    at: usize,
    depth: usize,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Token<'_>> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, op: &str) -> bool {
        let hit = self
            .peek()
            .is_some_and(|t| t.kind == Kind::Op && t.text == op);
        self.at += usize::from(hit);
        hit
    }

    /// `binary ('?' expr ':' expr)?`
    fn expr(&mut self) -> Option<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.binary()?;
        if self.eat("?") {
            self.expr()?;
            self.eat(":").then_some(())?;
            self.expr()?;
        }
        self.depth -= 1;
        Some(())
    }

    /// `unary (OP unary)*` (precedence does not matter to recognize it).
    fn binary(&mut self) -> Option<()> {
        self.unary()?;
        while let Some(t) = self.peek() {
            let binary = t.kind == Kind::Op && !matches!(t.text, "~" | "!" | "?" | ":" | "(" | ")");
            if !binary {
                break;
            }
            self.at += 1;
            self.unary()?;
        }
        Some(())
    }

    /// `('-' | '+' | '~' | '!')* primary`
    fn unary(&mut self) -> Option<()> {
        while ["-", "+", "~", "!"].iter().any(|op| self.eat(op)) {}
        let t = self.peek()?;
        match t.kind {
            Kind::Int | Kind::Str => self.at += 1,
            // A name followed by `(` is a call (or a function-like macro): not a constant.
            Kind::Name => {
                self.at += 1;
                if self.peek().is_some_and(|t| t.text == "(") {
                    return None;
                }
            }
            Kind::Op if t.text == "(" => {
                self.at += 1;
                self.expr()?;
                self.eat(")").then_some(())?;
            }
            Kind::Op => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants() {
        for (body, text, names) in [
            ("1", "1", &[][..]),
            ("0x7fffffffL", "0x7fffffffL", &[]),
            ("(-2147483647-1)", "( - 2147483647 - 1 )", &[]),
            ("(1UL << 31)", "( 1UL << 31 )", &[]),
            ("EAGAIN", "EAGAIN", &["EAGAIN"]),
            ("(A|B)  &  ~C", "( A | B ) & ~ C", &["A", "B", "C"]),
            ("\"/dev/null\"", "\"/dev/null\"", &[]),
            ("X ? 1 : 2", "X ? 1 : 2", &["X"]),
            ("0755", "0755", &[]),
        ] {
            let c = constant(body).unwrap_or_else(|| panic!("{body}"));
            assert_eq!(c.text, text);
            assert_eq!(c.names, names);
        }
    }

    #[test]
    fn not_constants() {
        for body in [
            "",
            "(*__errno_location ())",
            "f(1)",
            "((int)1)",
            "(__u32)~0U",
            "1.5",
            "1e3",
            "1_000",
            "089",
            "'a'",
            "sizeof x + 1",
            "{ 1 }",
            "a = 1",
            "1 2",
            "\"a\" \"b\"",
            "(1",
            "x->y",
            "a, b",
            "#x",
        ] {
            assert_eq!(constant(body), None, "{body}");
        }
    }
}
