//! Checking expressions: literals, builtins, operators, casts, fields and maps.

use super::builtins::{builtin_type, context_error, BUILTIN_NAMES};
use super::Checker;
use crate::ast::{BaseType, Expr, ExprKind, TypeName, UnOp};
use crate::catalog::KernelFunction;
use crate::cdefs::CRecord;
use crate::diag::Diagnostic;
use crate::probe::{Args, Attachment, Retval};
use crate::span::Span;
use crate::token::BinOp;
use crate::tracepoint_format::{FieldShape, TracepointField};
use crate::types::{AddrSpace, StructField, StructType, Type};

/// Builtins that bpftrace added after 0.17, for a clearer "unknown identifier".
const NEWER_BUILTINS: &[&str] = &["jiffies", "ncpus", "ppid", "pcomm", "usermode"];

impl Checker<'_> {
    /// Types an expression, records the type and returns it.
    pub(super) fn expr(&mut self, e: &Expr) -> Type {
        let t = self.expr_inner(e);
        self.types[e.id.0 as usize] = t.clone();
        t
    }

    fn expr_inner(&mut self, e: &Expr) -> Type {
        match &e.kind {
            ExprKind::Error => Type::None,
            // Every literal is int64; one above i64::MAX wraps (bpftrace 0.17).
            ExprKind::Int(_) => Type::I64,
            ExprKind::Str(s) => {
                let size = s.len() + 1;
                if size > self.opts.strlen {
                    self.error(
                        Diagnostic::error(
                            e.span,
                            format!("String is too long (over {} bytes)", self.opts.strlen),
                        )
                        .with_label(format!("this string needs {size} bytes, its NUL included"))
                        .with_hint("raise the limit with BPFTRACE_STRLEN (at most 200)"),
                    );
                }
                Type::Str(size)
            }
            ExprKind::Ident(name) => self.ident(name, e),
            ExprKind::Var(name) => match self.vars.get(name) {
                Some((t, _)) => t.clone(),
                None => {
                    let known: Vec<String> = self.vars.keys().map(|k| format!("${k}")).collect();
                    self.error(
                        Diagnostic::error(e.span, format!("Undefined or undeclared variable: ${name}"))
                            .with_suggestion(&format!("${name}"), known.iter().map(String::as_str))
                            .with_hint("scratch variables belong to one probe block; share values between probes with @maps"),
                    );
                    Type::None
                }
            },
            ExprKind::Map { name, keys } => self.map_read(name, keys, e.span),
            ExprKind::Param(n) => {
                self.param_int(*n, e.span);
                Type::I64
            }
            ExprKind::ParamCount => Type::I64,
            ExprKind::Call { .. } => self.call(e),
            ExprKind::SizeofType(ty) => {
                self.resolve_type(ty);
                Type::U64
            }
            ExprKind::Unary { op, operand } => self.unary(*op, operand, e.span),
            ExprKind::Binary { op, lhs, rhs } => {
                let lt = self.expr(lhs);
                let rt = self.expr(rhs);
                self.binary(*op, &lt, &rt, lhs, rhs, e.span)
            }
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => {
                let ct = self.expr(cond);
                self.condition(&ct, cond.span, "ternary condition");
                let a = self.expr(then);
                let b = self.expr(otherwise);
                if a.is_int() && b.is_int() {
                    // 64 bits, of the first branch's signedness (bpftrace 0.17).
                    Type::Int {
                        bits: 64,
                        signed: a.is_signed(),
                    }
                } else if a.compatible(&b) {
                    a.widen(&b)
                } else {
                    self.err(
                        e.span,
                        format!("Ternary operator must return the same type: have '{a}' and '{b}'"),
                    );
                    Type::None
                }
            }
            ExprKind::Cast { ty, operand } => {
                let from = self.expr(operand);
                self.cast(ty, &from, e.span)
            }
            ExprKind::Field { base, field, arrow } => {
                let bt = self.expr(base);
                self.field(&bt, field, *arrow, e.span)
            }
            ExprKind::TupleIndex { base, index } => match self.expr(base) {
                Type::Tuple(ts) => match ts.get(*index as usize) {
                    Some(t) => t.clone(),
                    None => {
                        self.err(
                            e.span,
                            format!(
                                "Invalid tuple index: {index}. Found {} elements in tuple.",
                                ts.len()
                            ),
                        );
                        Type::None
                    }
                },
                Type::None => Type::None,
                t => {
                    self.err(
                        e.span,
                        format!("Can not access index '{index}' on expression of type '{t}'"),
                    );
                    Type::None
                }
            },
            ExprKind::Index { base, index } => {
                let bt = self.expr(base);
                let it = self.expr(index);
                self.index(&bt, &it, index, e.span)
            }
            ExprKind::Tuple(items) => {
                let ts: Vec<Type> = items.iter().map(|i| self.expr(i)).collect();
                for (t, i) in ts.iter().zip(items) {
                    if matches!(t, Type::Agg(_) | Type::Args | Type::None)
                        && !matches!(i.kind, ExprKind::Error)
                    {
                        self.err(
                            i.span,
                            format!("a value of type '{t}' cannot be part of a tuple"),
                        );
                    }
                }
                Type::Tuple(ts)
            }
            ExprKind::IncDec {
                target, increment, ..
            } => self.incdec(target, *increment, e.span),
        }
    }

    /// `argN` in a USDT probe whose arguments stop before N: bpftrace's "couldn't get
    /// argument N" at the use.
    fn usdt_arg_error(&self, name: &str, span: Span) -> Option<Diagnostic> {
        let n = crate::check::arg_index(name, "arg")? as usize;
        let attaches = &self.attaches[self.current?];
        attaches.iter().find_map(|a| {
            let crate::attach::Target::Usdt { arguments, .. } = &a.target else {
                return None;
            };
            let count = arguments.split_whitespace().count();
            (n >= count).then(|| {
                Diagnostic::error(span, format!("couldn't get argument {n} for {}", a.name))
                    .with_label(format!(
                        "this probe has {count} argument{}{}",
                        if count == 1 { "" } else { "s" },
                        if count == 0 {
                            String::new()
                        } else {
                            format!(": arg0..arg{}", count - 1)
                        }
                    ))
            })
        })
    }

    fn ident(&mut self, name: &str, e: &Expr) -> Type {
        let span = e.span;
        if let Some(t) = builtin_type(name) {
            if name == "cpid" && !self.opts.has_child {
                self.error(
                    Diagnostic::error(span, "cpid cannot be used without child command")
                        .with_hint("start the traced command with -c 'CMD'"),
                );
            }
            let kinds = self.kinds();
            for kind in &kinds {
                if let Some(msg) = context_error(name, *kind) {
                    let mut d = Diagnostic::error(span, msg);
                    if kinds.len() > 1 {
                        d = d.with_hint(format!(
                            "this probe block also attaches to '{}' probes, where {name} does not exist; use separate blocks",
                            kind.name()
                        ));
                    }
                    self.error(d);
                    return Type::None;
                }
            }
            if let Some(d) = self.usdt_arg_error(name, span) {
                self.error(d);
                return Type::None;
            }
            if name == "func"
                && self.kinds().iter().all(|k| k.is_user())
                && !self.kinds().is_empty()
            {
                return Type::Usym;
            }
            if name == "retval"
                && matches!(self.kinds().as_slice(), [k] if k.descriptor().context.retval == Retval::AfterArgs)
            {
                return self.kretfunc_retval();
            }
            return t;
        }
        if self.cdefs.enum_constants.contains_key(name) {
            return Type::I64;
        }
        // An enumerator of a kernel enum (BTF).
        if let Ok(Some(v)) = self.catalog.kernel_enum_value(name) {
            self.constants.insert(e.id, v as u64);
            return Type::I64;
        }
        let err = Diagnostic::error(span, format!("Unknown identifier: '{name}'"));
        let err = if NEWER_BUILTINS.contains(&name) {
            err.with_hint(format!(
                "{name} is a builtin of bpftrace versions after 0.17, whose language scry follows"
            ))
        } else if name.starts_with("arg") || name.starts_with("sarg") {
            err.with_hint("register arguments are arg0..arg5; stack arguments sarg0..")
        } else {
            let candidates = BUILTIN_NAMES
                .iter()
                .copied()
                .chain(self.cdefs.enum_constants.keys().map(String::as_str));
            err.with_suggestion(name, candidates)
        };
        self.error(err);
        Type::None
    }

    /// The integer value of `$n` (0 if missing); errors if it is not numeric.
    pub(super) fn param_int(&mut self, n: u32, span: Span) -> Option<i64> {
        let Some(v) = self.opts.params.get(n as usize - 1) else {
            return Some(0);
        };
        let parsed = match v.strip_prefix('-') {
            Some(pos) => crate::lexer::parse_int(pos)
                .ok()
                .map(|x| (x as i64).wrapping_neg()),
            None => crate::lexer::parse_int(v).ok().map(|x| x as i64),
        };
        if parsed.is_none() {
            self.err(
                span,
                format!("${n} used numerically but given \"{v}\". Try using str(${n})."),
            );
        }
        parsed
    }

    fn map_read(&mut self, name: &str, keys: &[Expr], span: Span) -> Type {
        self.map_keys(name, keys, span);
        match self.maps.get(name) {
            Some(m) => m.value.clone(),
            None if self.reducer_maps.contains_key(name) => self.reducer_map_read(name, span),
            None if self.guess_unknown_maps => Type::I64,
            None => {
                if self.report {
                    let known: Vec<String> = self.maps.keys().map(|k| format!("@{k}")).collect();
                    self.error(
                        Diagnostic::error(span, format!("Undefined map: @{name}"))
                            .with_suggestion(&format!("@{name}"), known.iter().map(String::as_str))
                            .with_hint("a map is created by assigning to it, e.g. @x = 1 or @x[key] = count()"),
                    );
                }
                Type::None
            }
        }
    }

    fn incdec(&mut self, target: &Expr, increment: bool, span: Span) -> Type {
        let op = if increment { "++" } else { "--" };
        let t = match &target.kind {
            ExprKind::Map { name, keys } => {
                let keys_t = self.map_keys(name, keys, target.span);
                match self.maps.get(name).map(|m| m.value.clone()) {
                    Some(Type::Agg(a)) => {
                        self.err(
                            span,
                            format!(
                                "The {op} operator can not be used on expressions of type '{}'",
                                a.name()
                            ),
                        );
                        Type::None
                    }
                    Some(t) if t.is_pointer() => {
                        self.element_size(&t, span);
                        t
                    }
                    Some(t) if !t.is_int() => {
                        self.err(
                            span,
                            format!(
                                "The {op} operator can not be used on expressions of type '{t}'"
                            ),
                        );
                        Type::None
                    }
                    Some(t) => t,
                    None => {
                        if let Some(k) = keys_t {
                            self.maps.insert(
                                name.clone(),
                                super::MapType {
                                    keys: k,
                                    value: Type::I64,
                                    span: target.span,
                                },
                            );
                        }
                        Type::I64
                    }
                }
            }
            ExprKind::Var(name) => match self.vars.get(name).cloned() {
                Some((t, _)) if t.is_int() => t,
                // A pointer moves by one element.
                Some((t, _)) if t.is_pointer() => {
                    self.element_size(&t, span);
                    t
                }
                Some((t, _)) => {
                    self.err(
                        span,
                        format!("The {op} operator can not be used on expressions of type '{t}'"),
                    );
                    Type::None
                }
                None => {
                    self.err(
                        target.span,
                        format!("Undefined or undeclared variable: ${name}"),
                    );
                    Type::None
                }
            },
            _ => {
                self.expr(target);
                self.err(
                    span,
                    format!("The {op} operator must be applied to a map or variable"),
                );
                return Type::None;
            }
        };
        self.types[target.id.0 as usize] = t.clone();
        t
    }

    fn unary(&mut self, op: UnOp, operand: &Expr, span: Span) -> Type {
        let t = self.expr(operand);
        match (op, &t) {
            (_, Type::None) => Type::None,
            (UnOp::Deref, Type::Pointer { to, .. }) => self.c_value(to, span),
            (UnOp::Deref, Type::Int { .. }) => {
                self.error(
                    Diagnostic::error(span, "cannot dereference an integer")
                        .with_hint("cast it to a pointer first, e.g. *(uint32 *)addr"),
                );
                Type::None
            }
            // `!` is unsigned of the operand's width; `-` and `~` keep the operand's type
            // (docs/integers.md).
            (UnOp::Not, Type::Int { bits, .. }) => Type::Int {
                bits: *bits,
                signed: false,
            },
            (UnOp::Not, t) if t.is_pointer() || self.is_int_agg(t) => Type::U64,
            (UnOp::Neg | UnOp::BitNot, t) if t.is_int() => t.clone(),
            (op, t) => {
                self.err(
                    span,
                    format!(
                        "The {} operator can not be used on expressions of type '{t}'",
                        op.as_str()
                    ),
                );
                Type::None
            }
        }
    }

    pub(super) fn binary(
        &mut self,
        op: BinOp,
        lt: &Type,
        rt: &Type,
        lhs: &Expr,
        rhs: &Expr,
        span: Span,
    ) -> Type {
        if matches!(lt, Type::None) || matches!(rt, Type::None) {
            return Type::None;
        }
        if matches!(op, BinOp::And | BinOp::Or) {
            for (t, e) in [(lt, lhs), (rt, rhs)] {
                if !(t.is_int() || t.is_pointer() || self.is_int_agg(t)) {
                    self.err(
                        e.span,
                        format!(
                            "The {} operator can not be used on expressions of type '{t}'",
                            op.as_str()
                        ),
                    );
                }
            }
            return crate::int::binary_type(op, lt.is_signed(), rt.is_signed());
        }
        if let (Type::Agg(_), _) | (_, Type::Agg(_)) = (lt, rt) {
            self.error(
                Diagnostic::error(
                    lhs.span.to(rhs.span),
                    format!(
                        "Type mismatch for '{}': comparing '{lt}' with '{rt}'",
                        op.as_str()
                    ),
                )
                .with_hint("an aggregation's value can not be used directly: read it into a variable first, e.g. $v = @x"),
            );
            return Type::None;
        }
        if lt.is_pointer() || rt.is_pointer() {
            return self.binop_ptr(op, lt, rt, span);
        }
        if lt.is_int() && rt.is_int() {
            return self.binop_int(op, lt, rt, lhs, rhs, span);
        }
        let same_kind = std::mem::discriminant(lt) == std::mem::discriminant(rt);
        if !same_kind {
            self.err(
                lhs.span.to(rhs.span),
                format!(
                    "Type mismatch for '{}': comparing '{lt}' with '{rt}'",
                    op.as_str()
                ),
            );
            return Type::None;
        }
        if !matches!(op, BinOp::Eq | BinOp::Ne) {
            self.error(
                Diagnostic::error(
                    span,
                    format!(
                        "The {} operator can not be used on expressions of types {lt}, {rt}",
                        op.as_str()
                    ),
                )
                .with_hint(if op.is_comparison() {
                    "only == and != compare strings and other non-integer values"
                } else {
                    "arithmetic and bitwise operators need integers"
                }),
            );
            return Type::None;
        }
        if let Type::Struct(st) = lt {
            self.error(
                Diagnostic::error(
                    span,
                    format!(
                        "{} values can not be compared with '{}'",
                        st.name,
                        op.as_str()
                    ),
                )
                .with_hint("compare their fields, e.g. $a.x == $b.x"),
            );
            return Type::None;
        }
        if let (Type::Array { of: a, len: la }, Type::Array { of: b, len: lb }) = (lt, rt) {
            if la != lb || a != b || !a.is_int() {
                self.err(
                    span,
                    "Only arrays of same sized integer support comparison operators.",
                );
            }
        }
        Type::U64
    }

    /// Pointer arithmetic as C does it: `p + n`, `n + p`, `p - n` move by whole elements of
    /// `*p`; `p - q` of two pointers to one type counts the elements between them.
    pub(super) fn binop_ptr(&mut self, op: BinOp, lt: &Type, rt: &Type, span: Span) -> Type {
        let both = lt.is_pointer() && rt.is_pointer();
        match op {
            _ if op.is_comparison() => Type::I64,
            BinOp::Add | BinOp::Sub
                if !both
                    && (lt.is_pointer() && rt.is_int()
                        || (op == BinOp::Add && rt.is_pointer() && lt.is_int())) =>
            {
                let ptr = if lt.is_pointer() { lt } else { rt };
                self.element_size(ptr, span);
                ptr.clone()
            }
            BinOp::Sub if pointee(lt) == pointee(rt) => {
                self.element_size(lt, span);
                Type::I64
            }
            _ => {
                self.err(
                    span,
                    format!(
                        "The {} operator can not be used on expressions of types {lt}, {rt}",
                        op.as_str()
                    ),
                );
                Type::None
            }
        }
    }

    /// The size of the elements `ptr` points to (what `p + 1` moves by); an error at `span`
    /// when it is unknown.
    pub(super) fn element_size(&mut self, ptr: &Type, span: Span) -> Option<usize> {
        let to = pointee(ptr)?;
        let size = self.c_layout(to).map(|(s, _)| s).filter(|&s| s > 0);
        if size.is_none() {
            self.error(
                Diagnostic::error(
                    span,
                    format!(
                        "arithmetic on a pointer to {to} needs the size of {to}, which is unknown"
                    ),
                )
                .with_hint("cast the pointer to a pointer to a sized type first, e.g. (uint8 *)p"),
            );
        }
        size
    }

    /// (size, alignment) of `ty` as C lays it out, structs and unions from the preamble or BTF.
    pub(super) fn c_layout(&mut self, ty: &Type) -> Option<(usize, usize)> {
        ty.c_layout(&mut |name| self.record(name).map(|r| (r.size, r.align)))
    }

    /// Integer arithmetic with bpftrace's rules: 64-bit, signed only if both sides are, and
    /// warnings where signedness makes the result surprising.
    pub(super) fn binop_int(
        &mut self,
        op: BinOp,
        lt: &Type,
        rt: &Type,
        lhs: &Expr,
        rhs: &Expr,
        span: Span,
    ) -> Type {
        let non_negative_literal = |e: &Expr| matches!(e.kind, ExprKind::Int(_));
        let mut lsign = lt.is_signed();
        let mut rsign = rt.is_signed();
        let result = crate::int::binary_type(op, lsign, rsign);
        if lsign != rsign {
            if lsign && non_negative_literal(lhs) {
                lsign = false;
            } else if rsign && non_negative_literal(rhs) {
                rsign = false;
            } else if op.is_comparison() {
                self.warn(
                    span,
                    format!("comparison of integers of different signs: '{lt}' and '{rt}' can lead to undefined behavior"),
                );
            } else if matches!(
                op,
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod
            ) {
                self.warn(
                    span,
                    format!("arithmetic on integers of different signs: '{lt}' and '{rt}' can lead to undefined behavior"),
                );
            }
        }
        if matches!(op, BinOp::Div | BinOp::Mod) {
            if lsign && non_negative_literal(lhs) {
                lsign = false;
            }
            if rsign && non_negative_literal(rhs) {
                rsign = false;
            }
            if lsign || rsign {
                self.error(
                    Diagnostic::warning(
                        span,
                        format!("signed operands for '{}' can lead to undefined behavior (cast to unsigned to silence warning)", op.as_str()),
                    )
                    .with_hint(if op == BinOp::Div {
                        "BPF divides unsigned: -7 / 2 is 9223372036854775804"
                    } else {
                        "BPF divides unsigned: -7 % 3 is 0, not -1"
                    }),
                );
            }
        }
        self.check_defined(op, rhs);
        result
    }

    fn cast(&mut self, ty: &TypeName, from: &Type, span: Span) -> Type {
        let to = self.resolve_type(ty);
        if matches!(from, Type::None) || matches!(to, Type::None) {
            return Type::None;
        }
        let from_ok = from.is_int() || from.is_pointer() || self.is_int_agg(from);
        match &to {
            Type::Int { .. } | Type::Pointer { .. } if from_ok => to,
            Type::Record(_) => {
                self.error(
                    Diagnostic::error(span, format!("Cannot cast to '{to}'"))
                        .with_hint("cast to a pointer instead: (struct name *)addr"),
                );
                Type::None
            }
            _ => {
                self.err(span, format!("Cannot cast from '{from}' to '{to}'"));
                Type::None
            }
        }
    }

    /// The type a written type name denotes.
    pub(super) fn resolve_type(&mut self, ty: &TypeName) -> Type {
        let mut t = match &ty.base {
            BaseType::Int { bits, signed } => Type::Int {
                bits: *bits,
                signed: *signed,
            },
            BaseType::Struct(n) | BaseType::Union(n) => {
                let kw = if matches!(ty.base, BaseType::Struct(_)) {
                    "struct"
                } else {
                    "union"
                };
                let full = format!("{kw} {n}");
                if ty.pointer_depth == 0 && self.record(&full).is_none() {
                    self.error(
                        Diagnostic::error(ty.span, format!("Unknown struct/union: '{full}'"))
                            .with_hint(
                                "define it before the probes: struct name { type field; ... }",
                            ),
                    );
                    return Type::None;
                }
                Type::Record(full)
            }
            BaseType::Enum(_) => Type::Int {
                bits: 32,
                signed: false,
            },
            BaseType::Named(n) => {
                self.err(ty.span, format!("Unknown type: '{n}'"));
                return Type::None;
            }
        };
        for _ in 0..ty.pointer_depth {
            t = Type::Pointer {
                to: Box::new(t),
                space: AddrSpace::Unknown,
            };
        }
        t
    }

    fn field(&mut self, base: &Type, field: &str, arrow: bool, span: Span) -> Type {
        match base {
            Type::None => Type::None,
            Type::Args if !arrow => {
                self.error(
                    Diagnostic::error(
                        span,
                        format!("Can not access field '{field}' on type 'args' with '.'. Try using '->'"),
                    )
                    .with_label(format!("write args->{field}"))
                    .with_hint("args is a pointer to the probe's arguments"),
                );
                self.args_field(field, span)
            }
            Type::Args => self.args_field(field, span),
            Type::Pointer { to, space } if arrow => match &**to {
                Type::Record(name) => self.record_field(name, field, *space, span),
                t => {
                    self.err(
                        span,
                        format!("Can not access field '{field}' on type '{t} *'"),
                    );
                    Type::None
                }
            },
            Type::Struct(st) if !arrow => match st.fields.iter().find(|f| f.name == field) {
                Some(f) => f.ty.clone(),
                None => {
                    let names: Vec<&str> = st.fields.iter().map(|f| f.name.as_str()).collect();
                    self.error(
                        Diagnostic::error(
                            span,
                            format!(
                                "Struct/union of type '{}' does not contain a field named '{field}'",
                                st.name
                            ),
                        )
                        .with_suggestion(field, names),
                    );
                    Type::None
                }
            },
            Type::Struct(st) => {
                let name = &st.name;
                self.error(
                    Diagnostic::error(
                        span,
                        format!("Can not access field '{field}' on type '{name}' with '->'"),
                    )
                    .with_hint("use '.' on a struct value, '->' on a pointer"),
                );
                Type::None
            }
            Type::Pointer { .. } => {
                self.error(
                    Diagnostic::error(span, format!("Can not access field '{field}' on type '{base}'. Try dereferencing it first, or using '->'"))
                        .with_hint("pointer fields are reached with '->'"),
                );
                Type::None
            }
            t => {
                self.err(
                    span,
                    format!("Can not access field '{field}' on expression of type '{t}'"),
                );
                Type::None
            }
        }
    }

    /// The layout of a struct or union: the preamble's definition, else the kernel's (BTF,
    /// through the catalog, kept for the code generator).
    pub(super) fn record(&mut self, name: &str) -> Option<CRecord> {
        if let Some(r) = self
            .cdefs
            .records
            .get(name)
            .or(self.kernel_records.get(name))
        {
            return Some(r.clone());
        }
        // A uprobe's binary may define it in its DWARF.
        if let Some(i) = self.current {
            for a in &self.attaches[i] {
                let crate::attach::Target::User { path, .. } = &a.target else {
                    continue;
                };
                let found = self.catalog.user_record(path, name).unwrap_or_default();
                if let Some(r) = found.get(name).cloned() {
                    for (n, record) in found {
                        self.kernel_records.entry(n).or_insert(record);
                    }
                    return Some(r);
                }
            }
        }
        let r = self.catalog.kernel_record(name).ok().flatten()?;
        self.kernel_records.insert(name.to_string(), r.clone());
        Some(r)
    }

    fn record_field(&mut self, name: &str, field: &str, space: AddrSpace, span: Span) -> Type {
        let Some(rec) = self.record(name) else {
            let uprobe = self
                .kinds()
                .iter()
                .any(|k| k.descriptor().attach == Attachment::Uprobe);
            let why = match self.catalog.kernel_record(name) {
                Err(msg) => msg,
                Ok(_) if uprobe => {
                    "neither the program, the traced binary's DWARF nor the kernel's BTF defines it"
                        .to_string()
                }
                Ok(_) => "neither the program nor the kernel's BTF defines it".to_string(),
            };
            self.error(
                Diagnostic::error(span, format!("Unknown struct/union: '{name}'")).with_hint(
                    format!(
                        "{why}; define it before the probes: struct name {{ type field; ... }}"
                    ),
                ),
            );
            return Type::None;
        };
        match rec.fields.iter().find(|f| f.name == field) {
            Some(f) => match &f.ty {
                // Fields through kernel pointers stay in the pointer's address space.
                Type::Pointer { to, .. } => Type::Pointer {
                    to: to.clone(),
                    space,
                },
                t => self.c_value(t, span),
            },
            None => {
                let names: Vec<&str> = rec.fields.iter().map(|f| f.name.as_str()).collect();
                let d = Diagnostic::error(
                    span,
                    format!(
                        "Struct/union of type '{name}' does not contain a field named '{field}'"
                    ),
                )
                .with_suggestion(field, names);
                self.error(d);
                Type::None
            }
        }
    }

    /// The prototypes of the current probe's kernel functions (kfunc/kretfunc), with their
    /// attach point names.
    fn kernel_functions(&self) -> Vec<(String, KernelFunction)> {
        let Some(i) = self.current else {
            return Vec::new();
        };
        self.attaches[i]
            .iter()
            .filter(|a| a.kind.descriptor().context.args == Args::Btf)
            .filter_map(|a| match &a.target {
                crate::attach::Target::KernelFunction { func, .. } => self
                    .catalog
                    .kernel_function(func)
                    .ok()
                    .flatten()
                    .map(|p| (a.name.clone(), p)),
                _ => None,
            })
            .collect()
    }

    /// `retval` of kretfunc probes: the function's return type from BTF (64-bit when the
    /// functions differ or scry cannot hold it).
    fn kretfunc_retval(&mut self) -> Type {
        let rets: Vec<Option<Type>> = self
            .kernel_functions()
            .into_iter()
            .map(|(_, p)| p.ret)
            .collect();
        match rets.first() {
            Some(Some(t)) if rets.iter().all(|r| r.as_ref() == Some(t)) => t.clone(),
            _ => Type::U64,
        }
    }

    /// `args->field` in a kfunc/kretfunc probe: a parameter of every attached function.
    fn kfunc_args_field(&mut self, field: &str, span: Span) -> Type {
        let mut found: Option<Type> = None;
        for (probe, proto) in self.kernel_functions() {
            let Some(p) = proto.params.iter().find(|p| p.name == field) else {
                let names: Vec<&str> = proto.params.iter().map(|p| p.name.as_str()).collect();
                let d = Diagnostic::error(
                    span,
                    format!("Can not access field '{field}' on type 'args': {probe} has no such argument"),
                )
                .with_suggestion(field, names.iter().copied())
                .with_hint(format!("its arguments: {}", names.join(", ")));
                self.error(d);
                return Type::None;
            };
            let Some(t) = &p.ty else {
                self.err(
                    span,
                    format!(
                        "args->{field} of {probe} has type '{}', which scry cannot read",
                        p.c_type
                    ),
                );
                return Type::None;
            };
            found.get_or_insert(t.clone());
        }
        found.unwrap_or(Type::None)
    }

    /// `args->field` in a uprobe: a parameter of every attached function, typed from the
    /// DWARF of its binary. The records its type reaches join the kernel's, for `->`.
    fn uprobe_args_field(&mut self, field: &str, span: Span) -> Type {
        const HINT: &str =
            "read the arguments by position: arg0..arg5, and sarg0.. for stack arguments";
        let Some(i) = self.current else {
            return Type::None;
        };
        let attaches = self.attaches;
        let mut found: Option<Type> = None;
        for a in &attaches[i] {
            let crate::attach::Target::User { path, symbol, .. } = &a.target else {
                continue;
            };
            let needs = "args in uprobes needs the function's DWARF argument types";
            let Some(func) = symbol else {
                self.error(
                    Diagnostic::error(
                        span,
                        format!("{needs}: {} names an address, not a function", a.name),
                    )
                    .with_hint(HINT),
                );
                return Type::None;
            };
            let f = match self.catalog.user_function(path, func) {
                Ok(Some(f)) => f,
                Ok(None) => {
                    self.error(
                        Diagnostic::error(
                            span,
                            format!("{needs}: the DWARF of '{path}' does not describe {func}"),
                        )
                        .with_hint(HINT),
                    );
                    return Type::None;
                }
                Err(e) => {
                    self.error(Diagnostic::error(span, format!("{needs}: {e}")).with_hint(HINT));
                    return Type::None;
                }
            };
            let Some(p) = f.params.iter().find(|p| p.name == field) else {
                let names: Vec<&str> = f.params.iter().map(|p| p.name.as_str()).collect();
                let d = Diagnostic::error(
                    span,
                    format!(
                        "Can not access field '{field}' on type 'args': {} has no such argument",
                        a.name
                    ),
                )
                .with_suggestion(field, names.iter().copied())
                .with_hint(if names.is_empty() {
                    format!("{func} takes no arguments")
                } else {
                    format!("its arguments: {}", names.join(", "))
                });
                self.error(d);
                return Type::None;
            };
            let t = match &p.access {
                Ok((_, t)) => t.clone(),
                Err(why) => {
                    self.error(
                        Diagnostic::error(
                            span,
                            format!("args->{field} of {} cannot be read: {why}", a.name),
                        )
                        .with_hint(HINT),
                    );
                    return Type::None;
                }
            };
            for (name, record) in f.records {
                self.kernel_records.entry(name).or_insert(record);
            }
            match &found {
                Some(prev) if *prev != t => {
                    self.err(
                        span,
                        format!(
                            "args->{field} has type '{prev}' in one function and '{t}' in {}: use separate probe blocks",
                            a.name
                        ),
                    );
                    return Type::None;
                }
                Some(_) => {}
                None => found = Some(t),
            }
        }
        found.unwrap_or(Type::None)
    }

    /// `args->field` in a tracepoint: the field must exist in every attached tracepoint.
    fn args_field(&mut self, field: &str, span: Span) -> Type {
        let Some(i) = self.current else {
            return Type::None;
        };
        if !self.kinds().is_empty()
            && self
                .kinds()
                .iter()
                .all(|k| k.descriptor().context.args == Args::Dwarf)
        {
            return self.uprobe_args_field(field, span);
        }
        if self
            .kinds()
            .iter()
            .any(|k| k.descriptor().context.args == Args::Btf)
        {
            return self.kfunc_args_field(field, span);
        }
        let mut found: Option<Type> = None;
        for a in &self.attaches[i] {
            let crate::attach::Target::Tracepoint { category, event } = &a.target else {
                continue;
            };
            let Some(fmt) = self.tracepoints.get(&format!("{category}:{event}")) else {
                continue;
            };
            match fmt.fields.iter().find(|f| f.name == field) {
                Some(f) => {
                    let t = field_type(f);
                    found.get_or_insert(t);
                }
                None => {
                    let names: Vec<&str> = fmt.fields.iter().map(|f| f.name.as_str()).collect();
                    let d = Diagnostic::error(span, format!("Can not access field '{field}' on type 'args': tracepoint {category}:{event} has no such field"))
                        .with_suggestion(field, names.iter().copied())
                        .with_hint(format!("its fields: {}", names.join(", ")));
                    self.error(d);
                    return Type::None;
                }
            }
        }
        found.unwrap_or(Type::None)
    }

    fn index(&mut self, base: &Type, it: &Type, index: &Expr, span: Span) -> Type {
        if matches!(base, Type::None) {
            return Type::None;
        }
        if !it.is_int() {
            self.err(
                index.span,
                format!("The array index must be an integer, not '{it}'"),
            );
            return Type::None;
        }
        let (elem, len) = match base {
            Type::Array { of, len } => ((**of).clone(), *len as u64),
            Type::Str(n) => (
                Type::Int {
                    bits: 8,
                    signed: true,
                },
                *n as u64,
            ),
            Type::Pointer { to, .. } => {
                self.element_size(base, span);
                return self.c_value(to, span);
            }
            t => {
                self.err(span, format!("The array index operator [] can only be used on arrays and pointers, found {t}."));
                return Type::None;
            }
        };
        // A constant index is checked here; any other at run time.
        if let Some(i) = self.constant_index(index) {
            if i >= len {
                self.error(
                    Diagnostic::error(
                        span,
                        format!(
                            "the index {} is out of bounds for array of size {len}",
                            i as i64
                        ),
                    )
                    .with_label(format!("valid indexes are 0 to {}", len.saturating_sub(1))),
                );
            }
        }
        elem
    }

    /// The value of an index known when compiling: a constant expression or a positional
    /// parameter.
    fn constant_index(&mut self, e: &Expr) -> Option<u64> {
        match e.kind {
            ExprKind::Param(n) => self.param_int(n, e.span).map(|v| v as u64),
            _ => self.constant(e),
        }
    }

    /// The type of a C value of type `ty` read from memory: a struct or union held by value
    /// is laid out with its fields (nested ones too); what points stays a name.
    pub(super) fn c_value(&mut self, ty: &Type, span: Span) -> Type {
        self.c_value_at(ty, span, 0)
    }

    fn c_value_at(&mut self, ty: &Type, span: Span, depth: usize) -> Type {
        const MAX_NESTING: usize = 32;
        match ty {
            Type::Record(name) if depth < MAX_NESTING => {
                let Some(r) = self.record(name) else {
                    self.error(
                        Diagnostic::error(span, format!("Unknown struct/union: '{name}'"))
                            .with_hint(
                                "define it before the probes: struct name { type field; ... }",
                            ),
                    );
                    return Type::None;
                };
                let mut fields = Vec::with_capacity(r.fields.len());
                for f in &r.fields {
                    let ty = self.c_value_at(&f.ty, span, depth + 1);
                    if ty == Type::None {
                        return Type::None;
                    }
                    fields.push(StructField {
                        name: f.name.clone(),
                        ty,
                        offset: f.offset,
                        bitfield: f.bitfield,
                    });
                }
                Type::Struct(Box::new(StructType {
                    name: name.clone(),
                    size: r.size,
                    align: r.align,
                    fields,
                }))
            }
            Type::Record(name) => {
                self.err(
                    span,
                    format!("{name} nests structs more than {MAX_NESTING} deep"),
                );
                Type::None
            }
            Type::Array { of, len } => match self.c_value_at(of, span, depth + 1) {
                Type::None => Type::None,
                of => Type::Array {
                    of: Box::new(of),
                    len: *len,
                },
            },
            t => t.clone(),
        }
    }
}

/// What a pointer type points to.
fn pointee(t: &Type) -> Option<&Type> {
    match t {
        Type::Pointer { to, .. } => Some(to),
        _ => None,
    }
}

/// The scry type of a tracepoint field.
pub fn field_type(f: &TracepointField) -> Type {
    match f.shape {
        FieldShape::Integer => match f.size {
            1 | 2 | 4 | 8 => Type::Int {
                bits: (f.size * 8) as u8,
                signed: f.signed,
            },
            _ => Type::Array {
                of: Box::new(Type::Int {
                    bits: 8,
                    signed: false,
                }),
                len: f.size,
            },
        },
        FieldShape::Pointer => {
            let pointee = f
                .c_type
                .trim_end_matches('*')
                .trim()
                .trim_start_matches("const ")
                .trim();
            let to = match pointee {
                "char" | "unsigned char" => Type::Int {
                    bits: 8,
                    signed: pointee == "char",
                },
                p if p.starts_with("struct ") => Type::Record(p.to_string()),
                _ => Type::Int {
                    bits: 8,
                    signed: false,
                },
            };
            Type::Pointer {
                to: Box::new(to),
                // Syscall records hold user pointers: the code generator decides by category.
                space: if f.c_type.contains("__user") {
                    AddrSpace::User
                } else {
                    AddrSpace::Unknown
                },
            }
        }
        FieldShape::Array { len } => {
            let elem = f.size.checked_div(len).unwrap_or(1);
            if f.c_type == "char" {
                Type::Str(len as usize)
            } else {
                Type::Array {
                    of: Box::new(Type::Int {
                        bits: (elem * 8).clamp(8, 64) as u8,
                        signed: f.signed,
                    }),
                    len,
                }
            }
        }
        FieldShape::DataLoc => Type::DataLoc,
    }
}
