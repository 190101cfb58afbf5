//! Tokens produced by the lexer and consumed by the parser.

use std::fmt;

/// Binary operators, also used by compound assignment (`+=` carries `Add`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        use BinOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            BitAnd => "&",
            BitOr => "|",
            BitXor => "^",
            Shl => "<<",
            Shr => ">>",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            Eq => "==",
            Ne => "!=",
            And => "&&",
            Or => "||",
        }
    }

    /// Comparison operators produce 0/1 and compare their operands.
    pub fn is_comparison(self) -> bool {
        use BinOp::*;
        matches!(self, Lt | Le | Gt | Ge | Eq | Ne)
    }
}

/// One token. Attach points are lexed whole; everything else is C-like.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Tok {
    /// The raw text of one attach point, e.g. `tracepoint:syscalls:sys_enter_*`.
    AttachPoint(String),
    /// The `/` that opens a predicate.
    PredStart,
    /// The `/` that closes a predicate (a `/` followed by `{`).
    PredEnd,
    Int(u64),
    Str(Vec<u8>),
    Ident(String),
    /// `@name` (the name may be empty: `@`).
    Map(String),
    /// `$name`.
    Var(String),
    /// `$1`, `$2`, ...
    Param(u32),
    /// `$#`.
    ParamCount,
    If,
    Else,
    While,
    Unroll,
    Break,
    Continue,
    Return,
    Struct,
    Union,
    Enum,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Semi,
    Colon,
    Question,
    Dot,
    Arrow,
    Op(BinOp),
    Tilde,
    Bang,
    Inc,
    Dec,
    Assign,
    /// `+=`, `<<=`, ...
    OpAssign(BinOp),
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Tok::*;
        match self {
            AttachPoint(s) => write!(f, "attach point '{s}'"),
            PredStart | PredEnd => f.write_str("/"),
            Int(n) => write!(f, "integer {n}"),
            Str(_) => f.write_str("string"),
            Ident(s) => write!(f, "identifier '{s}'"),
            Map(s) => write!(f, "map '@{s}'"),
            Var(s) => write!(f, "variable '${s}'"),
            Param(n) => write!(f, "${n}"),
            ParamCount => f.write_str("$#"),
            If => f.write_str("if"),
            Else => f.write_str("else"),
            While => f.write_str("while"),
            Unroll => f.write_str("unroll"),
            Break => f.write_str("break"),
            Continue => f.write_str("continue"),
            Return => f.write_str("return"),
            Struct => f.write_str("struct"),
            Union => f.write_str("union"),
            Enum => f.write_str("enum"),
            LParen => f.write_str("("),
            RParen => f.write_str(")"),
            LBrace => f.write_str("{"),
            RBrace => f.write_str("}"),
            LBracket => f.write_str("["),
            RBracket => f.write_str("]"),
            Comma => f.write_str(","),
            Semi => f.write_str(";"),
            Colon => f.write_str(":"),
            Question => f.write_str("?"),
            Dot => f.write_str("."),
            Arrow => f.write_str("->"),
            Op(op) => f.write_str(op.as_str()),
            Tilde => f.write_str("~"),
            Bang => f.write_str("!"),
            Inc => f.write_str("++"),
            Dec => f.write_str("--"),
            Assign => f.write_str("="),
            OpAssign(op) => write!(f, "{}=", op.as_str()),
        }
    }
}

/// Splits the text after `#define` (leading white space trimmed) into the macro's name and
/// what follows it; `None` when the text does not start with a C identifier.
pub fn macro_name(text: &str) -> Option<(&str, &str)> {
    let len = (text.bytes())
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    let (name, rest) = text.split_at(len);
    match name.as_bytes().first() {
        Some(c) if !c.is_ascii_digit() => Some((name, rest)),
        _ => None,
    }
}
