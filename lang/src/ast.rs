//! The syntax tree. Every node carries the span of the text it came from; every expression
//! also carries an [`ExprId`] that the checker uses to record its type.

use crate::span::Span;
use crate::token::BinOp;

/// Index of an expression, unique within one program; the checker's types are keyed by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExprId(pub u32);

/// A whole program: the preamble and the probe blocks.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub preamble: Preamble,
    pub probes: Vec<Probe>,
    /// One more than the largest [`ExprId`] in the tree.
    pub expr_count: u32,
}

/// Everything before (and between) the probes that is not a probe.
#[derive(Clone, Debug, Default)]
pub struct Preamble {
    pub includes: Vec<Include>,
    pub defines: Vec<Define>,
    pub c_defs: Vec<CDefinition>,
    /// `plugin NAME = "PATH";` declarations.
    pub plugins: Vec<PluginDecl>,
    /// `format @MAP = PLUGIN::FORMATTER;` declarations.
    pub formats: Vec<FormatDecl>,
}

/// `plugin NAME = "PATH";`: load a WebAssembly plugin (the path is relative to the script).
#[derive(Clone, Debug)]
pub struct PluginDecl {
    pub name: String,
    pub path: String,
    pub span: Span,
}

/// `format @MAP = PLUGIN::FORMATTER;`: the plugin renders the map for `print` and at exit.
#[derive(Clone, Debug)]
pub struct FormatDecl {
    /// The map's name without `@`.
    pub map: String,
    pub plugin: String,
    pub formatter: String,
    pub span: Span,
}

/// `#include <...>` or `#include "..."`: the header's `#define` constants are read
/// ([`crate::headers`]).
#[derive(Clone, Debug)]
pub struct Include {
    pub path: String,
    pub span: Span,
}

/// `#define NAME VALUE`: the lexer substitutes VALUE for NAME.
#[derive(Clone, Debug)]
pub struct Define {
    pub name: String,
    pub value: String,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CDefKind {
    Struct,
    Union,
    Enum,
}

/// A C `struct`/`union`/`enum` definition from the preamble, as raw text.
#[derive(Clone, Debug)]
pub struct CDefinition {
    pub kind: CDefKind,
    pub name: String,
    /// The text between the braces.
    pub body: String,
    pub span: Span,
}

/// `attach, attach /predicate/ { body }`.
#[derive(Clone, Debug)]
pub struct Probe {
    pub attach_points: Vec<AttachPoint>,
    pub predicate: Option<Expr>,
    pub body: Block,
    pub span: Span,
}

/// One attach point as written; the checker parses and expands it.
#[derive(Clone, Debug)]
pub struct AttachPoint {
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum StmtKind {
    /// An expression evaluated for its effect (a call, `@x++`, a ternary of calls).
    Expr(Expr),
    /// `target = value` or `target op= value` (`op` set).
    Assign {
        target: Expr,
        op: Option<BinOp>,
        value: Expr,
    },
    If {
        cond: Expr,
        then: Block,
        otherwise: Option<Block>,
    },
    While {
        cond: Expr,
        body: Block,
    },
    Unroll {
        count: Expr,
        body: Block,
    },
    Break,
    Continue,
    Return,
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub id: ExprId,
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
    BitNot,
    Deref,
}

impl UnOp {
    pub fn as_str(self) -> &'static str {
        match self {
            UnOp::Neg => "-",
            UnOp::Not => "!",
            UnOp::BitNot => "~",
            UnOp::Deref => "*",
        }
    }
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    /// Stands where the parser recovered from a syntax error; the checker skips it.
    Error,
    Int(u64),
    Str(Vec<u8>),
    /// A bare identifier: builtin variable (`pid`), enum constant, or unknown.
    Ident(String),
    /// `@name` or `@name[k1, k2]`.
    Map {
        name: String,
        keys: Vec<Expr>,
    },
    /// `$name`.
    Var(String),
    /// `$1`.
    Param(u32),
    /// `$#`.
    ParamCount,
    Call {
        name: String,
        name_span: Span,
        args: Vec<Expr>,
    },
    /// `sizeof(struct X)`; `sizeof(expr)` is a call.
    SizeofType(TypeName),
    Unary {
        op: UnOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Ternary {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    Cast {
        ty: TypeName,
        operand: Box<Expr>,
    },
    /// `e.field` (`arrow` false) or `e->field`.
    Field {
        base: Box<Expr>,
        field: String,
        arrow: bool,
    },
    /// `e.0`.
    TupleIndex {
        base: Box<Expr>,
        index: u64,
    },
    /// `e[i]` (array or pointer indexing; map keys are in `Map`).
    Index {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    Tuple(Vec<Expr>),
    /// `x++`, `--x`, ...: `prefix` says where the operator stood.
    IncDec {
        target: Box<Expr>,
        increment: bool,
        prefix: bool,
    },
}

/// A type as written in a cast or `sizeof`: `uint8`, `struct task_struct *`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeName {
    pub base: BaseType,
    pub pointer_depth: u8,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BaseType {
    /// `int8` .. `uint64` (and C spellings mapped onto them).
    Int {
        bits: u8,
        signed: bool,
    },
    Struct(String),
    Union(String),
    Enum(String),
    /// A typedef or other named type, resolved by the checker.
    Named(String),
}

impl std::fmt::Display for TypeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.base {
            BaseType::Int { bits, signed } => {
                write!(f, "{}int{bits}", if *signed { "" } else { "u" })?
            }
            BaseType::Struct(n) => write!(f, "struct {n}")?,
            BaseType::Union(n) => write!(f, "union {n}")?,
            BaseType::Enum(n) => write!(f, "enum {n}")?,
            BaseType::Named(n) => f.write_str(n)?,
        }
        if self.pointer_depth > 0 {
            write!(f, " {}", "*".repeat(self.pointer_depth as usize))?;
        }
        Ok(())
    }
}

/// The integer type names a cast accepts, as (bits, signed).
pub fn int_type_name(name: &str) -> Option<(u8, bool)> {
    Some(match name {
        "int8" | "int8_t" | "s8" => (8, true),
        "uint8" | "uint8_t" | "u8" => (8, false),
        "char" => (8, true),
        "int16" | "int16_t" | "s16" | "short" => (16, true),
        "uint16" | "uint16_t" | "u16" => (16, false),
        "int32" | "int32_t" | "s32" | "int" => (32, true),
        "uint32" | "uint32_t" | "u32" | "unsigned" => (32, false),
        "int64" | "int64_t" | "s64" | "long" => (64, true),
        "uint64" | "uint64_t" | "u64" | "size_t" => (64, false),
        _ => return None,
    })
}

impl Expr {
    /// The direct sub-expressions, in source order.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Map { keys: es, .. }
            | ExprKind::Call { args: es, .. }
            | ExprKind::Tuple(es) => es.iter().collect(),
            ExprKind::Unary { operand: e, .. }
            | ExprKind::Cast { operand: e, .. }
            | ExprKind::Field { base: e, .. }
            | ExprKind::TupleIndex { base: e, .. }
            | ExprKind::IncDec { target: e, .. } => vec![e],
            ExprKind::Binary { lhs, rhs, .. }
            | ExprKind::Index {
                base: lhs,
                index: rhs,
            } => vec![lhs, rhs],
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => vec![cond, then, otherwise],
            _ => Vec::new(),
        }
    }

    /// The direct sub-expressions, mutably, in source order.
    pub fn children_mut(&mut self) -> Vec<&mut Expr> {
        match &mut self.kind {
            ExprKind::Map { keys: es, .. }
            | ExprKind::Call { args: es, .. }
            | ExprKind::Tuple(es) => es.iter_mut().collect(),
            ExprKind::Unary { operand: e, .. }
            | ExprKind::Cast { operand: e, .. }
            | ExprKind::Field { base: e, .. }
            | ExprKind::TupleIndex { base: e, .. }
            | ExprKind::IncDec { target: e, .. } => vec![e],
            ExprKind::Binary { lhs, rhs, .. }
            | ExprKind::Index {
                base: lhs,
                index: rhs,
            } => vec![lhs, rhs],
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => vec![cond, then, otherwise],
            _ => Vec::new(),
        }
    }

    /// Visits this expression and all sub-expressions, parents first.
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        for c in self.children() {
            c.walk(f);
        }
    }
}

impl Block {
    /// Visits every expression of the block, nested statements included, parents first.
    pub fn walk_exprs(&self, f: &mut dyn FnMut(&Expr)) {
        for s in &self.stmts {
            match &s.kind {
                StmtKind::Expr(e) => e.walk(f),
                StmtKind::Assign { target, value, .. } => {
                    target.walk(f);
                    value.walk(f);
                }
                StmtKind::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    cond.walk(f);
                    then.walk_exprs(f);
                    if let Some(o) = otherwise {
                        o.walk_exprs(f);
                    }
                }
                StmtKind::While { cond, body } | StmtKind::Unroll { count: cond, body } => {
                    cond.walk(f);
                    body.walk_exprs(f);
                }
                StmtKind::Break | StmtKind::Continue | StmtKind::Return => {}
            }
        }
    }
}

impl Probe {
    /// Visits every expression of the probe: the predicate, then the body.
    pub fn walk_exprs(&self, f: &mut dyn FnMut(&Expr)) {
        if let Some(p) = &self.predicate {
            p.walk(f);
        }
        self.body.walk_exprs(f);
    }
}
