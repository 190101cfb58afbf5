//! The typed program as text, for `scry -d`: one node a line, children indented, types after `::`.

use std::fmt::Write;

use crate::ast::{Block, Expr, ExprKind, Program, StmtKind};
use crate::check::TypedProgram;
use crate::types::Type;

/// Prints the program with the type of every expression.
pub fn dump(program: &Program, typed: &TypedProgram) -> String {
    let mut d = Dumper {
        typed,
        out: String::new(),
    };
    d.line(0, "Program");
    for (i, probe) in program.probes.iter().enumerate() {
        let names: Vec<&str> = match typed.probes.get(i) {
            Some(tp) => tp.attaches.iter().map(|a| a.name.as_str()).collect(),
            None => probe
                .attach_points
                .iter()
                .map(|a| a.text.as_str())
                .collect(),
        };
        let shown = if names.len() > 8 {
            format!(
                "{} ... ({} attach points)",
                names[..3].join(", "),
                names.len()
            )
        } else {
            names.join(", ")
        };
        d.line(1, &shown);
        if let Some(p) = &probe.predicate {
            d.line(2, "predicate");
            d.expr(3, p);
        }
        d.block(2, &probe.body);
    }
    if !typed.maps.is_empty() {
        d.line(0, "Maps");
        for (name, m) in &typed.maps {
            let keys: Vec<String> = m.keys.iter().map(ToString::to_string).collect();
            let key = if keys.is_empty() {
                String::new()
            } else {
                format!("[{}]", keys.join(", "))
            };
            d.line(1, &format!("@{name}{key} :: {}", m.value));
        }
    }
    d.out
}

/// Prints a parsed, unchecked program: the tree without types.
pub fn dump_ast(program: &Program) -> String {
    dump(program, &TypedProgram::default())
}

struct Dumper<'a> {
    typed: &'a TypedProgram,
    out: String,
}

impl Dumper<'_> {
    fn line(&mut self, depth: usize, text: &str) {
        let _ = writeln!(self.out, "{}{text}", " ".repeat(depth));
    }

    fn block(&mut self, depth: usize, block: &Block) {
        for s in &block.stmts {
            match &s.kind {
                StmtKind::Expr(e) => self.expr(depth, e),
                StmtKind::Assign { target, op, value } => {
                    let op = op.map_or("=".to_string(), |o| format!("{}=", o.as_str()));
                    self.line(depth, &op);
                    self.expr(depth + 1, target);
                    self.expr(depth + 1, value);
                }
                StmtKind::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    self.line(depth, "if");
                    self.expr(depth + 1, cond);
                    self.line(depth + 1, "then");
                    self.block(depth + 2, then);
                    if let Some(o) = otherwise {
                        self.line(depth + 1, "else");
                        self.block(depth + 2, o);
                    }
                }
                StmtKind::While { cond, body } => {
                    self.line(depth, "while");
                    self.expr(depth + 1, cond);
                    self.block(depth + 1, body);
                }
                StmtKind::Unroll { count, body } => {
                    self.line(depth, "unroll");
                    self.expr(depth + 1, count);
                    self.block(depth + 1, body);
                }
                StmtKind::Break => self.line(depth, "break"),
                StmtKind::Continue => self.line(depth, "continue"),
                StmtKind::Return => self.line(depth, "return"),
            }
        }
    }

    fn expr(&mut self, depth: usize, e: &Expr) {
        let ty = self.typed.types.get(e.id.0 as usize).unwrap_or(&Type::None);
        let head = match &e.kind {
            ExprKind::Error => "error".to_string(),
            ExprKind::Int(n) => format!("int: {n}"),
            ExprKind::Str(s) => format!("string: {:?}", String::from_utf8_lossy(s)),
            ExprKind::Ident(n) => format!("builtin: {n}"),
            ExprKind::Map { name, .. } => format!("map: @{name}"),
            ExprKind::Var(n) => format!("variable: ${n}"),
            ExprKind::Param(n) => format!("param: ${n}"),
            ExprKind::ParamCount => "param: $#".to_string(),
            ExprKind::Call { name, .. } => format!("call: {name}"),
            ExprKind::SizeofType(t) => format!("sizeof: {t}"),
            ExprKind::Unary { op, .. } => format!("unop: {}", op.as_str()),
            ExprKind::Binary { op, .. } => format!("binop: {}", op.as_str()),
            ExprKind::Ternary { .. } => "?:".to_string(),
            ExprKind::Cast { ty, .. } => format!("cast: {ty}"),
            ExprKind::Field { field, arrow, .. } => {
                format!("{}{field}", if *arrow { "->" } else { "." })
            }
            ExprKind::TupleIndex { index, .. } => format!(".{index}"),
            ExprKind::Index { .. } => "[]".to_string(),
            ExprKind::Tuple(_) => "tuple".to_string(),
            ExprKind::IncDec {
                increment, prefix, ..
            } => {
                let op = if *increment { "++" } else { "--" };
                format!("{} {op}", if *prefix { "pre" } else { "post" })
            }
        };
        let line = match ty {
            Type::None => head,
            t => format!("{head} :: {t}"),
        };
        self.line(depth, &line);
        for c in e.children() {
            self.expr(depth + 1, c);
        }
    }
}
