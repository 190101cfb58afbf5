//! Checking statements: assignments, control flow, and map typing.

use super::{Checker, MapType};
use crate::ast::{Block, Expr, ExprKind, Stmt, StmtKind};
use crate::diag::Diagnostic;
use crate::functions::is_aggregation;
use crate::span::Span;
use crate::token::BinOp;
use crate::types::Type;

/// A value's type as a map key: integers are stored as 64 bits.
fn key_type(t: &Type) -> Type {
    match t {
        Type::Int { signed, .. } => Type::Int {
            bits: 64,
            signed: *signed,
        },
        Type::Tuple(ts) => Type::Tuple(ts.iter().map(key_type).collect()),
        t => t.clone(),
    }
}

impl Checker<'_> {
    pub(super) fn block(&mut self, block: &Block) {
        for s in &block.stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Expr(e) => {
                self.expr(e);
            }
            StmtKind::Assign { target, op, value } => self.assign(target, *op, value, s.span),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                let t = self.expr(cond);
                self.condition(&t, cond.span, "if condition");
                self.block(then);
                if let Some(o) = otherwise {
                    self.block(o);
                }
            }
            StmtKind::While { cond, body } => {
                let t = self.expr(cond);
                self.condition(&t, cond.span, "while condition");
                self.loop_depth += 1;
                self.block(body);
                self.loop_depth -= 1;
            }
            StmtKind::Unroll { count, body } => {
                self.unroll_count(count);
                self.block(body);
            }
            StmtKind::Break | StmtKind::Continue => {
                if self.loop_depth == 0 {
                    let word = if matches!(s.kind, StmtKind::Break) {
                        "break"
                    } else {
                        "continue"
                    };
                    self.err(s.span, format!("{word} used outside of a while loop"));
                }
            }
            StmtKind::Return => {}
        }
    }

    fn unroll_count(&mut self, count: &Expr) {
        let n = match &count.kind {
            ExprKind::Int(n) => Some(*n as i64),
            ExprKind::Param(p) => self.param_int(*p, count.span),
            _ => {
                self.error(
                    Diagnostic::error(count.span, "unroll count must be an integer literal or a positional parameter")
                        .with_hint("the loop is unrolled when the program is compiled, so its count must be known then"),
                );
                None
            }
        };
        self.types[count.id.0 as usize] = Type::I64;
        let problem = match n {
            Some(n) if n > 100 => Some("unroll maximum value is 100"),
            Some(n) if n < 1 => Some("unroll minimum value is 1"),
            _ => None,
        };
        if let (Some(msg), Some(n)) = (problem, n) {
            let mut d = Diagnostic::error(count.span, msg);
            if let ExprKind::Param(p) = count.kind {
                d = d.with_label(format!("${p} is {n}"));
            }
            if n > 100 {
                d = d.with_hint("for more iterations, use a while loop");
            }
            self.error(d);
        }
    }

    fn assign(&mut self, target: &Expr, op: Option<BinOp>, value: &Expr, span: Span) {
        match &target.kind {
            ExprKind::Map { name, keys } => {
                if let (None, ExprKind::Call { name: f, args, .. }) = (op, &value.kind) {
                    if f.contains("::") {
                        return self.reducer_assign(name, keys, target, value);
                    }
                    if is_aggregation(f) {
                        let key_types = self.map_keys(name, keys, target.span);
                        let agg = self.aggregation(f, args, value);
                        self.types[value.id.0 as usize] = Type::Agg(agg);
                        self.define_map(name, key_types, Type::Agg(agg), target.span, value.span);
                        self.types[target.id.0 as usize] = Type::Agg(agg);
                        return;
                    }
                }
                let key_types = self.map_keys(name, keys, target.span);
                let before = self.diags.len();
                let mut vt = self.expr(value);
                if let Some(op) = op {
                    let current = self.maps.get(name).map(|m| m.value.clone());
                    if let Some(Type::Agg(a)) = &current {
                        self.err(
                            span,
                            format!(
                                "The {}= operator can not be used on a map holding '{}'",
                                op.as_str(),
                                a.name()
                            ),
                        );
                        return;
                    }
                    // A map first written by `op=` is unsigned (bpftrace 0.17).
                    vt = self.arith_result(
                        &current.unwrap_or(Type::U64),
                        &vt,
                        op,
                        target,
                        value,
                        span,
                    );
                }
                let vt = match self.storable(vt, value, self.diags.len() > before) {
                    // Integer map values are 64-bit; the first store fixes the signedness.
                    Type::Int { signed, .. } => Type::Int { bits: 64, signed },
                    t => t,
                };
                self.define_map(name, key_types, vt.clone(), target.span, value.span);
                self.types[target.id.0 as usize] = vt;
            }
            ExprKind::Var(name) => {
                if let ExprKind::Call { name: f, .. } = &value.kind {
                    if is_aggregation(f) {
                        self.error(
                            Diagnostic::error(
                                value.span,
                                format!("{f}() should be assigned to a map, not to a variable"),
                            )
                            .with_hint(format!(
                                "aggregations live in maps: write @{name} = {f}(...)"
                            )),
                        );
                        return;
                    }
                }
                let before = self.diags.len();
                let mut vt = self.expr(value);
                if let Some(op) = op {
                    let Some((current, _)) = self.vars.get(name).cloned() else {
                        self.error(
                            Diagnostic::error(
                                target.span,
                                format!("Undefined or undeclared variable: ${name}"),
                            )
                            .with_hint(format!(
                                "'{}=' updates a variable: give ${name} a value first, e.g. ${name} = 0",
                                op.as_str()
                            )),
                        );
                        return;
                    };
                    vt = self.arith_result(&current, &vt, op, target, value, span);
                }
                let vt = self.storable(vt, value, self.diags.len() > before);
                let kept = self.define_var(name, vt, target.span, value.span);
                self.types[target.id.0 as usize] = kept;
            }
            ExprKind::TupleIndex { .. } => {
                self.expr(target);
                self.error(
                    Diagnostic::error(target.span, "Tuples are immutable once created")
                        .with_hint("create a new tuple and assign it instead"),
                );
            }
            ExprKind::Error => {}
            _ => {
                self.expr(target);
                self.expr(value);
                self.error(
                    Diagnostic::error(
                        target.span,
                        "only maps (@name) and variables ($name) can be assigned to",
                    )
                    .with_label("cannot assign to this"),
                );
            }
        }
    }

    /// `x op= v` is `x = x op v`: checks the operation and gives its type.
    fn arith_result(
        &mut self,
        current: &Type,
        vt: &Type,
        op: BinOp,
        target: &Expr,
        value: &Expr,
        span: Span,
    ) -> Type {
        if current.is_pointer() && vt.is_int() && matches!(op, BinOp::Add | BinOp::Sub) {
            return self.binop_ptr(op, current, vt, span);
        }
        if !(current.is_int() && vt.is_int()) {
            self.err(
                span,
                format!(
                    "The {}= operator can not be used on expressions of types {current}, {vt}",
                    op.as_str()
                ),
            );
            return current.clone();
        }
        self.binop_int(op, current, vt, target, value, span)
    }

    /// The type a value has once stored: counts read as integers; non-storable values error.
    /// `reported` says whether checking the value already reported an error (its `None` type
    /// then means "unknown", not "no value", and is not reported again).
    fn storable(&mut self, t: Type, value: &Expr, reported: bool) -> Type {
        match t {
            Type::Agg(a) if a.reads_as_int() => Type::Int {
                bits: 64,
                signed: a.signed(),
            },
            Type::Agg(a) => {
                self.err(
                    value.span,
                    format!("a value of type '{}' cannot be assigned", a.name()),
                );
                Type::None
            }
            Type::None if !reported && !matches!(value.kind, ExprKind::Error) => {
                self.error(no_value(value, "assigned"));
                Type::None
            }
            Type::Args | Type::Record(_) => {
                self.err(
                    value.span,
                    format!("a value of type '{t}' cannot be stored; store one of its fields"),
                );
                Type::None
            }
            t => t,
        }
    }

    /// Records (first assignment) or checks a variable's type, and returns the type the
    /// variable holds: an integer variable keeps the type of its first value, later integers
    /// are converted to it; strings and buffers grow to the longest.
    fn define_var(&mut self, name: &str, t: Type, span: Span, value_span: Span) -> Type {
        if t == Type::None {
            return t;
        }
        match self.vars.get(name).cloned() {
            Some((old, first)) if !old.compatible(&t) => {
                self.error(
                    Diagnostic::error(
                        value_span,
                        format!(
                            "Type mismatch for ${name}: trying to assign value of type '{t}' when variable already contains a value of type '{old}'"
                        ),
                    )
                    .with_note(first, format!("${name} was first assigned here")),
                );
                old
            }
            Some((old, _)) if old.is_int() => old,
            Some((old, first)) => {
                let widened = old.widen(&t);
                self.vars.insert(name.to_string(), (widened.clone(), first));
                widened
            }
            None => {
                self.vars.insert(name.to_string(), (t.clone(), span));
                t
            }
        }
    }

    /// Records (first use) or checks a map's value type.
    fn define_map(
        &mut self,
        name: &str,
        keys: Option<Vec<Type>>,
        value: Type,
        span: Span,
        value_span: Span,
    ) {
        if value == Type::None {
            return;
        }
        let Some(keys) = keys else { return };
        match self.maps.get(name).cloned() {
            None => {
                self.maps.insert(name.to_string(), MapType { keys, value, span });
            }
            Some(m) if m.value.compatible(&value) => {
                let widened = m.value.widen(&value);
                let keys: Vec<Type> = m.keys.iter().zip(&keys).map(|(a, b)| a.widen(b)).collect();
                if let Some(fixed) = self.env.maps.get(name) {
                    if fixed.value != widened || fixed.keys != keys {
                        self.error(Diagnostic::error(
                            value_span,
                            format!(
                                "@{name} was created by an earlier entry with type '{}'{}, and a map's type cannot change once it exists: this would make it '{widened}'",
                                fixed.value,
                                key_list(&fixed.keys),
                            ),
                        ).with_hint("convert the value to the map's type, or use another map name"));
                        return;
                    }
                }
                self.maps.insert(name.to_string(), MapType { keys, value: widened, span: m.span });
            }
            Some(m) if self.env.maps.contains_key(name) => self.error(Diagnostic::error(
                value_span,
                format!(
                    "Type mismatch for @{name}: trying to assign value of type '{value}' when map already contains a value of type '{}'",
                    m.value
                ),
            ).with_hint(format!("@{name} was created by an earlier entry"))),
            Some(m) => self.error(
                Diagnostic::error(
                    value_span,
                    format!(
                        "Type mismatch for @{name}: trying to assign value of type '{value}' when map already contains a value of type '{}'",
                        m.value
                    ),
                )
                .with_note(m.span, format!("@{name} was first assigned here")),
            ),
        }
    }

    /// Types a map's keys and checks them against the map's key types. `None` on error.
    pub(super) fn map_keys(&mut self, name: &str, keys: &[Expr], span: Span) -> Option<Vec<Type>> {
        let mut types = Vec::new();
        let mut ok = true;
        for k in keys {
            let before = self.diags.len();
            let t = self.expr(k);
            let t = match t {
                Type::Int { .. } => Type::Int {
                    bits: 64,
                    signed: t.is_signed(),
                },
                Type::Agg(a) if a.reads_as_int() => Type::I64,
                // A tuple key is one key holding a tuple (bpftrace 0.17 refuses it; newer
                // bpftrace and scry accept it).
                Type::Tuple(ts) => Type::Tuple(ts.iter().map(key_type).collect()),
                Type::None => {
                    if self.diags.len() == before && !matches!(k.kind, ExprKind::Error) {
                        self.error(no_value(k, "used as a map key"));
                    }
                    ok = false;
                    continue;
                }
                Type::Args | Type::Record(_) | Type::Agg(_) | Type::DataLoc => {
                    let hint = match t {
                        Type::DataLoc => "read the string with str(), e.g. str(args->name)",
                        Type::Args => "use one of its fields, e.g. args->name",
                        _ => "use an integer, a string or one of its fields instead",
                    };
                    self.error(
                        Diagnostic::error(
                            k.span,
                            format!("a value of type '{t}' cannot be used as a map key"),
                        )
                        .with_hint(hint),
                    );
                    ok = false;
                    continue;
                }
                t => t,
            };
            types.push(t);
        }
        if !ok {
            return None;
        }
        if let Some(m) = self.maps.get(name) {
            let same = m.keys.len() == types.len()
                && m.keys.iter().zip(&types).all(|(a, b)| a.compatible(b));
            if !same {
                let show = |ts: &[Type]| {
                    format!(
                        "[{}]",
                        ts.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                let msg = format!(
                    "Argument mismatch for @{name}: trying to access with arguments: {} when map expects arguments: {}",
                    show(&types),
                    show(&m.keys)
                );
                let first = m.span;
                let hint = match m.keys.len() {
                    n if n == types.len() => format!("@{name}'s key types were fixed here"),
                    0 => format!("@{name} was first used without keys"),
                    1 => format!("@{name} was first used with 1 key"),
                    n => format!("@{name} was first used with {n} keys"),
                };
                self.error(Diagnostic::error(span, msg).with_note(first, hint));
                return None;
            }
        }
        Some(types)
    }
}

/// "This expression has no value": the error for using a call like `printf()` as a value.
pub(super) fn no_value(e: &Expr, used: &str) -> Diagnostic {
    match &e.kind {
        ExprKind::Call { name, .. } => Diagnostic::error(
            e.span,
            format!("{name}() returns no value, so it cannot be {used}"),
        ),
        _ => Diagnostic::error(e.span, format!("this expression has no value to be {used}"))
            .with_hint("functions like printf() and exit() return nothing"),
    }
}

/// ` keyed by (a, b)` for a map's key types; empty for a map without keys.
fn key_list(keys: &[Type]) -> String {
    if keys.is_empty() {
        return String::new();
    }
    let names: Vec<String> = keys.iter().map(Type::to_string).collect();
    format!(" keyed by ({})", names.join(", "))
}
