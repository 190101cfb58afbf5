//! Checking calls against the function table ([`crate::functions`]), aggregations included.

use super::{Checker, Environment};
use crate::ast::{Expr, ExprKind};
use crate::diag::Diagnostic;
use crate::format;
use crate::functions::{self, Arg, Probes, Returns, Rule, Signature, VARIADIC};
use crate::probe::ProbeKind;
use crate::span::Span;
use crate::types::{AddrSpace, Agg, StackMode, Type};

const STACK_LIMIT_MAX: u64 = 1024;

impl<'a> Checker<'a> {
    /// The signature of function `name`: a builtin, or one registered in the environment.
    pub(super) fn signature(&self, name: &str) -> Option<&'a Signature> {
        let env: &'a Environment = self.env;
        functions::builtin(name).or_else(|| env.functions.iter().find(|s| s.name == name))
    }
}

impl Checker<'_> {
    /// Checks a call against its signature: unsafe, arity, the kind of each argument, the
    /// function's rule, the probe kinds; gives its result type and records its [`Gen`] key.
    pub(super) fn call(&mut self, e: &Expr) -> Type {
        let ExprKind::Call {
            name,
            name_span,
            args,
        } = &e.kind
        else {
            return Type::None;
        };
        let c = Call {
            name,
            span: e.span,
            name_span: *name_span,
            args,
        };
        // A plugin's function runs in user space: in a kernel context it is refused here
        // (where user space consumes values, `user_value` takes it first).
        if name.contains("::") {
            return self.plugin_call_in_kernel(e);
        }
        if matches!(name.as_str(), "print" | "clear" | "zero" | "delete")
            && self.on_reducer_map(args)
        {
            return self.reducer_map_op(name, e, args);
        }
        let Some(sig) = self.signature(name) else {
            for a in args {
                self.expr(a);
            }
            let names = (functions::BUILTINS.iter())
                .chain(&self.env.functions)
                .map(|s| s.name.as_ref());
            let d = Diagnostic::error(c.name_span, format!("Unknown function: {name}"))
                .with_suggestion(name, names);
            self.error(d);
            return Type::None;
        };
        self.calls.insert(e.id, sig.gen);
        match sig.rule {
            Rule::Aggregation => return self.misplaced_aggregation(&c),
            Rule::Unsupported => {
                self.err(c.name_span, format!("{name}() is not supported by scry"));
                return Type::None;
            }
            _ => {}
        }
        if sig.needs_unsafe {
            self.need_unsafe(&c);
        }
        let ok = self.arity(&c, sig.min_args, sig.max_args);
        let mut literals = vec![None; args.len()];
        if ok {
            for (i, a) in args.iter().enumerate() {
                match sig.arg(i) {
                    Arg::Int => self.int_arg(&c, i),
                    Arg::IntOrPointer => self.int_or_pointer_arg(&c, i),
                    Arg::Str => self.string_arg(&c, i),
                    Arg::Literal(what) => literals[i] = self.literal_string(a, name, what),
                    Arg::Symbol => literals[i] = self.symbol_name(a, name),
                    Arg::Any => {
                        self.expr(a);
                    }
                    Arg::Rule => {}
                }
            }
        }
        let ruled = self.rule(sig.rule, &c, e, ok, &literals);
        match &sig.probes {
            Probes::Any => {}
            Probes::Only(kinds) => self.only_in(&c, kinds),
            Probes::NotBeginEnd => self.not_in_special(&c),
        }
        match (&sig.returns, ruled) {
            (_, Some(t)) => t,
            (Returns::Type(t), None) => t.clone(),
            (Returns::Rule, None) => Type::None,
        }
    }

    /// What the function's rule checks beyond its signature; the result type when the rule
    /// decides it. `ok`: the arity was right (the arguments may be looked at); `literals`: the
    /// values of its `Literal` and `Symbol` arguments.
    fn rule(
        &mut self,
        rule: Rule,
        c: &Call,
        e: &Expr,
        ok: bool,
        literals: &[Option<String>],
    ) -> Option<Type> {
        let args = c.args;
        let literal = literals.first().cloned().flatten();
        match rule {
            Rule::None | Rule::Aggregation | Rule::Unsupported => None,
            Rule::Str => Some(self.str_call(c, ok)),
            Rule::Stack => Some(self.stack_call(c, ok)),
            Rule::Uaddr => {
                let size = match literal {
                    Some(sym) => self.uaddr(e.id, &sym, args[0].span).unwrap_or(8),
                    None => 8,
                };
                // A pointer into the process, to an integer of the symbol's size, as bpftrace
                // types it: `*uaddr("GLOBAL")` reads the variable.
                let bits = match size {
                    1 => 8,
                    2 => 16,
                    4 => 32,
                    _ => 64,
                };
                Some(Type::Pointer {
                    to: Box::new(Type::Int {
                        bits,
                        signed: false,
                    }),
                    space: AddrSpace::User,
                })
            }
            // Path's string is as long as any: BPFTRACE_STRLEN.
            Rule::Path => {
                if ok {
                    let t = self.expr(&args[0]);
                    if !t.is_pointer() && t != Type::None {
                        self.err(
                            args[0].span,
                            format!("path() expects a pointer to a struct path, got '{t}'"),
                        );
                    }
                }
                Some(Type::Str(self.opts.strlen))
            }
            _ if !ok => None,
            Rule::Format => {
                self.printf_like(c, e);
                None
            }
            Rule::Print => {
                self.print(c);
                None
            }
            Rule::Buf => Some(self.buf_call(c)),
            Rule::Kaddr => {
                if let Some(sym) = literal {
                    match self.catalog.kernel_symbol_address(&sym) {
                        Ok(Some(addr)) => {
                            self.constants.insert(e.id, addr);
                        }
                        Ok(None) => self.err(
                            args[0].span,
                            format!("Failed to resolve kernel symbol: {sym}"),
                        ),
                        Err(msg) => self.err(args[0].span, msg),
                    }
                }
                None
            }
            Rule::Reg => {
                if let Some(r) = literal {
                    self.register(&r, args[0].span);
                }
                None
            }
            Rule::Ntop => {
                for a in args {
                    let t = self.expr(a);
                    let ok = t.is_int() || matches!(&t, Type::Array { len: 4 | 16, .. });
                    if !ok && t != Type::None {
                        self.err(
                            a.span,
                            format!(
                                "ntop() expects an integer or an array of 4 or 16 bytes, got '{t}'"
                            ),
                        );
                    }
                }
                None
            }
            Rule::Pton => {
                let a = literal?;
                let len = if a.parse::<std::net::Ipv4Addr>().is_ok() {
                    4
                } else if a.parse::<std::net::Ipv6Addr>().is_ok() {
                    16
                } else {
                    self.err(
                        args[0].span,
                        format!("pton() expects an IPv4 or IPv6 address, got \"{a}\""),
                    );
                    4
                };
                Some(Type::Array {
                    of: Box::new(Type::Int {
                        bits: 8,
                        signed: false,
                    }),
                    len,
                })
            }
            Rule::Macaddr => {
                let t = self.expr(&args[0]);
                let ok = matches!(&t, Type::Array { len: 6, .. } | Type::Str(6))
                    || matches!(&t, Type::Pointer { .. })
                    || t.is_int();
                if !ok && t != Type::None {
                    self.err(args[0].span, "macaddr() argument must be 6 bytes in size");
                }
                None
            }
            Rule::Bswap => {
                let t = self.expr(&args[0]);
                if let Type::Int { bits, .. } = t {
                    return Some(Type::Int {
                        bits,
                        signed: false,
                    });
                }
                if t != Type::None {
                    self.err(
                        args[0].span,
                        format!("bswap() expects an integer, got '{t}'"),
                    );
                }
                None
            }
            Rule::Cgroupid => {
                if let Some(path) = literal {
                    match self.catalog.cgroup_id(&path) {
                        Ok(id) => {
                            self.constants.insert(e.id, id);
                        }
                        Err(msg) => self.err(args[0].span, msg),
                    }
                }
                None
            }
            Rule::Strncmp => {
                self.expr(&args[2]);
                // The length is known when the program is compiled: a literal, or a
                // positional parameter (its value travels in `constants`).
                match args[2].kind {
                    ExprKind::Int(_) => {}
                    ExprKind::Param(p) => {
                        if let Some(n) = self.param_int(p, args[2].span) {
                            self.constants.insert(args[2].id, n.max(0) as u64);
                        }
                    }
                    _ => self.err(
                        args[2].span,
                        "strncmp() expects an integer literal or a positional parameter as its third argument",
                    ),
                }
                None
            }
            Rule::Signal => {
                self.signal_arg(&args[0]);
                None
            }
            Rule::Pointer(space) => {
                let t = self.expr(&args[0]);
                Some(match t {
                    Type::Pointer { to, .. } => Type::Pointer { to, space },
                    t => t,
                })
            }
            Rule::Delete => {
                self.map_op(c, true);
                None
            }
            Rule::WholeMap => {
                self.map_op(c, false);
                None
            }
        }
    }

    /// `reg("name")`: a pt_regs register of this architecture.
    fn register(&mut self, r: &str, span: Span) {
        if crate::arch::PT_REGS.contains(&r) {
            return;
        }
        let d = Diagnostic::error(
            span,
            format!("'{r}' is not a valid register on this architecture (x86_64)"),
        );
        // `rax`, `eax`, `rdi`: pt_regs names drop the size prefix.
        let bare = r
            .strip_prefix('r')
            .or_else(|| r.strip_prefix('e'))
            .filter(|b| crate::arch::PT_REGS.contains(b));
        let d = match bare {
            Some(b) => d.with_label(format!("did you mean '{b}'?")),
            None => d.with_suggestion(r, crate::arch::PT_REGS.iter().copied()),
        };
        self.error(d.with_hint(format!("registers: {}", crate::arch::PT_REGS.join(", "))));
    }

    /// An aggregation anywhere but as the value assigned to a map.
    fn misplaced_aggregation(&mut self, c: &Call) -> Type {
        for a in c.args {
            self.expr(a);
        }
        let agg = c.name;
        self.error(
            Diagnostic::error(c.span, format!("{agg}() should be assigned to a map")).with_hint(
                format!("aggregations live in maps, e.g. @x = {agg}(...) or @x[key] = {agg}(...)"),
            ),
        );
        Type::None
    }

    fn need_unsafe(&mut self, c: &Call) {
        if !self.opts.unsafe_mode {
            self.error(
                Diagnostic::error(
                    c.name_span,
                    format!("{}() is an unsafe function being used in safe mode", c.name),
                )
                .with_hint("run with --unsafe to allow it"),
            );
        }
    }

    /// Checks the argument count; `false` means the arguments were not checked.
    fn arity(&mut self, c: &Call, min: usize, max: usize) -> bool {
        let n = c.args.len();
        if n >= min && n <= max {
            return true;
        }
        for a in c.args {
            self.expr(a);
        }
        let want = match (min, max) {
            (0, 0) => "no arguments".to_string(),
            (a, VARIADIC) => format!("at least {a} argument{}", if a == 1 { "" } else { "s" }),
            (a, b) if a == b => format!("{a} argument{}", if a == 1 { "" } else { "s" }),
            (a, b) if b == a + 1 => format!("{a} or {b} arguments"),
            (a, b) => format!("{a} to {b} arguments"),
        };
        self.err(
            c.span,
            format!("{}() requires {want} ({n} provided)", c.name),
        );
        false
    }

    /// Reports use outside the given probe kinds.
    fn only_in(&mut self, c: &Call, allowed: &[ProbeKind]) {
        for k in self.kinds() {
            if !allowed.contains(&k) {
                let names: Vec<&str> = allowed.iter().map(|k| k.name()).collect();
                let list = match names.as_slice() {
                    [one] => one.to_string(),
                    [init @ .., last] => format!("{} and {last}", init.join(", ")),
                    [] => String::new(),
                };
                self.error(
                    Diagnostic::error(
                        c.name_span,
                        format!("{}() can not be used with '{}' probes", c.name, k.name()),
                    )
                    .with_hint(format!("{}() works only in {list} probes", c.name)),
                );
                return;
            }
        }
    }

    fn not_in_special(&mut self, c: &Call) {
        for k in self.kinds() {
            if k.descriptor().is_special() {
                self.err(
                    c.name_span,
                    format!("{} can not be used with \"{}\" probes", c.name, k.name()),
                );
                return;
            }
        }
    }

    fn int_arg(&mut self, c: &Call, i: usize) {
        self.arg_of_kind(c, i, "an integer", |this, t| {
            t.is_int() || this.is_int_agg(t)
        });
    }

    fn int_or_pointer_arg(&mut self, c: &Call, i: usize) {
        self.arg_of_kind(c, i, "an integer or pointer", |_, t| {
            t.is_int() || t.is_pointer()
        });
    }

    fn string_arg(&mut self, c: &Call, i: usize) {
        self.arg_of_kind(c, i, "a string", |_, t| t.is_str());
    }

    /// Types argument `i` and reports it unless `fits` accepts its type.
    fn arg_of_kind(&mut self, c: &Call, i: usize, what: &str, fits: impl Fn(&Self, &Type) -> bool) {
        let t = self.expr(&c.args[i]);
        if t != Type::None && !fits(self, &t) {
            self.err(
                c.args[i].span,
                format!(
                    "{}() expects {what} as argument {}, got '{t}'",
                    c.name,
                    i + 1
                ),
            );
        }
    }

    /// The value of an argument that must be a string literal.
    /// The symbol `kaddr`/`uaddr` looks up when the program is compiled: a string literal,
    /// or `str($N)` of a positional parameter, as bpftrace takes them.
    fn symbol_name(&mut self, e: &Expr, func: &str) -> Option<String> {
        if let ExprKind::Call { name, args, .. } = &e.kind {
            if let (
                "str",
                [Expr {
                    kind: ExprKind::Param(n),
                    ..
                }],
            ) = (name.as_str(), &args[..])
            {
                self.expr(e);
                return Some(
                    self.opts
                        .params
                        .get(*n as usize - 1)
                        .cloned()
                        .unwrap_or_default(),
                );
            }
        }
        self.literal_string(e, func, "symbol")
    }

    fn literal_string(&mut self, e: &Expr, func: &str, what: &str) -> Option<String> {
        match &e.kind {
            ExprKind::Str(s) => {
                self.types[e.id.0 as usize] = Type::Str(s.len() + 1);
                Some(String::from_utf8_lossy(s).into_owned())
            }
            _ => {
                self.expr(e);
                self.err(
                    e.span,
                    format!("{func}() expects a string literal as its {what}"),
                );
                None
            }
        }
    }

    /// A printf format literal and the values it formats.
    fn printf_like(&mut self, c: &Call, e: &Expr) {
        let first = &c.args[0];
        let Some(fmt) = self.literal_string(first, c.name, "format") else {
            return;
        };
        let rest = &c.args[1..];
        let types: Vec<Type> = rest.iter().map(|a| self.user_value(c.name, a)).collect();
        if c.name == "debugf" {
            self.warn(
                c.name_span,
                "debugf() writes to the kernel's trace_pipe and is for debugging only",
            );
            if rest.len() > 3 {
                self.err(
                    c.span,
                    "debugf() takes at most 3 arguments after the format",
                );
            }
        }
        if rest.len() > 128 {
            self.err(
                c.span,
                format!("{}() takes at most 128 arguments after the format", c.name),
            );
        }
        let pieces = match format::parse(&fmt) {
            Ok(p) => p,
            Err(fe) => {
                let span = format_span(first, fe.start, fe.end);
                self.error(Diagnostic::error(span, fe.message).with_hint(fe.hint));
                return;
            }
        };
        let specs: Vec<_> = format::specs(&pieces).collect();
        if specs.len() > rest.len() {
            let missing = &specs[rest.len()];
            self.error(
                Diagnostic::error(
                    c.span,
                    format!(
                        "{}: Not enough arguments for format string ({} supplied, {} expected)",
                        c.name,
                        rest.len(),
                        specs.len()
                    ),
                )
                .with_note(
                    format_span(first, missing.start, missing.end),
                    "no argument for this specifier",
                ),
            );
        } else if specs.len() < rest.len() {
            self.err(
                rest[specs.len()].span.to(rest[rest.len() - 1].span),
                format!(
                    "{}: Too many arguments for format string ({} supplied, {} expected)",
                    c.name,
                    rest.len(),
                    specs.len()
                ),
            );
        }
        for ((spec, t), arg) in specs.iter().zip(&types).zip(rest) {
            if *t == Type::None {
                continue;
            }
            let ok = if spec.wants_int() {
                t.is_int() || t.is_pointer() || self.is_int_agg(t)
            } else if matches!(spec.conv, format::Conv::Str) {
                t.prints_as_string() || matches!(t, Type::Tuple(_) | Type::Array { .. })
            } else {
                matches!(t, Type::Buffer(_) | Type::Str(_))
            };
            if !ok {
                let want = if spec.wants_int() {
                    "integer"
                } else if matches!(spec.conv, format::Conv::Str) {
                    "string"
                } else {
                    "buffer"
                };
                let supplied = if t.is_int() {
                    "integer".to_string()
                } else {
                    t.to_string()
                };
                let text = &fmt.get(spec.start..spec.end).unwrap_or("%");
                self.error(
                    Diagnostic::error(arg.span, format!("{}: {text} specifier expects a value of type {want} ({supplied} supplied)", c.name))
                        .with_note(format_span(first, spec.start, spec.end), "specifier here"),
                );
            }
        }
        self.formats.insert(e.id, pieces);
    }

    /// `print(@map, top, div)` or `print(value)`.
    fn print(&mut self, c: &Call) {
        let first = &c.args[0];
        if let ExprKind::Map { name, keys } = &first.kind {
            if !keys.is_empty() {
                self.map_keys(name, keys, first.span);
                if c.args.len() > 1 {
                    self.err(
                        first.span,
                        "The map passed to print() should not be indexed by a key",
                    );
                    return;
                }
                let t = self.map_value(name, first);
                self.types[first.id.0 as usize] = t;
                return;
            }
            let t = self.map_value(name, first);
            self.types[first.id.0 as usize] = t.clone();
            for i in 1..c.args.len() {
                self.int_arg(c, i);
            }
            if c.args.len() > 1 && matches!(t, Type::Agg(Agg::Stats)) {
                self.warn(
                    c.span,
                    "print() top and div arguments are ignored for stats maps",
                );
            }
            return;
        }
        if c.args.len() > 1 {
            self.err(
                c.span,
                "print() takes top and div arguments only with a map",
            );
        }
        let t = self.user_value(c.name, first);
        if matches!(t, Type::Args | Type::Record(_) | Type::DataLoc) {
            self.err(
                first.span,
                format!("print() can not print a value of type '{t}'"),
            );
        }
        if self.loop_depth > 0 {
            self.warn(
                c.span,
                "print() in a loop: each call sends a record to user space",
            );
        }
    }

    fn map_value(&mut self, name: &str, e: &Expr) -> Type {
        match self.maps.get(name) {
            Some(m) => m.value.clone(),
            None => {
                if self.report {
                    let known: Vec<String> = self.maps.keys().map(|k| format!("@{k}")).collect();
                    let d = Diagnostic::error(e.span, format!("Undefined map: @{name}"))
                        .with_suggestion(&format!("@{name}"), known.iter().map(String::as_str));
                    self.error(d);
                }
                Type::None
            }
        }
    }

    /// `delete(@m[k])` (`delete`), `clear(@m)`, `zero(@m)`.
    fn map_op(&mut self, c: &Call, delete: bool) {
        let arg = &c.args[0];
        let ExprKind::Map { name, keys } = &arg.kind else {
            self.expr(arg);
            self.err(arg.span, format!("{}() expects a map argument", c.name));
            return;
        };
        if delete {
            let keyed = self.maps.get(name).map_or(0, |m| m.keys.len());
            if keys.is_empty() && keyed > 0 {
                let what = if keyed == 1 {
                    "1 key".to_string()
                } else {
                    format!("{keyed} keys")
                };
                self.error(
                    Diagnostic::error(arg.span, format!("delete() needs a key: @{name} is indexed by {what}"))
                        .with_hint(format!("delete one entry with delete(@{name}[key]), all of them with clear(@{name})")),
                );
                return;
            }
            self.expr(arg);
        } else {
            if !keys.is_empty() {
                self.map_keys(name, keys, arg.span);
                self.err(
                    arg.span,
                    format!(
                        "The map passed to {}() should not be indexed by a key",
                        c.name
                    ),
                );
            }
            let t = self.map_value(name, arg);
            self.types[arg.id.0 as usize] = t;
        }
    }

    fn str_call(&mut self, c: &Call, ok: bool) -> Type {
        let strlen = self.opts.strlen;
        if !ok {
            return Type::Str(strlen);
        }
        let a = &c.args[0];
        // A positional parameter is a string known now: its length, then the limits below
        // (BPFTRACE_STRLEN, the length argument) as for any string.
        let t = match &a.kind {
            ExprKind::Param(n) => {
                let v = self
                    .opts
                    .params
                    .get(*n as usize - 1)
                    .cloned()
                    .unwrap_or_default();
                self.types[a.id.0 as usize] = Type::Str(v.len() + 1);
                Type::Str(v.len() + 1)
            }
            ExprKind::Binary { lhs, rhs, .. } if matches!(lhs.kind, ExprKind::Param(_)) => {
                if let (ExprKind::Param(n), ExprKind::Int(off)) = (&lhs.kind, &rhs.kind) {
                    let v = self
                        .opts
                        .params
                        .get(*n as usize - 1)
                        .cloned()
                        .unwrap_or_default();
                    if *off as usize > v.len() {
                        self.err(a.span, format!("only addition of a single constant less or equal to the length of ${n} (which is {}) is allowed inside str()", v.len()));
                    }
                    self.types[a.id.0 as usize] = Type::Str(v.len() + 1);
                    Type::Str(v.len() + 1 - (*off as usize).min(v.len()))
                } else {
                    self.expr(a)
                }
            }
            _ => self.expr(a),
        };
        let ok = t.is_int()
            || t.is_pointer()
            || t.is_str()
            || matches!(t, Type::DataLoc | Type::None | Type::Array { .. });
        if !ok {
            self.err(
                a.span,
                format!("str() expects an integer or a pointer, got '{t}'"),
            );
        }
        let mut size = strlen;
        if let Some(n) = c.args.get(1) {
            let nt = self.expr(n);
            if !nt.is_int() && nt != Type::None {
                self.err(
                    n.span,
                    format!("str() length must be an integer, got '{nt}'"),
                );
            }
            if let ExprKind::Int(len) = n.kind {
                size = (len as usize).saturating_add(1).min(strlen);
            }
        }
        if let Type::Str(n) = t {
            size = size.min(n);
        }
        Type::Str(size)
    }

    fn buf_call(&mut self, c: &Call) -> Type {
        let t = self.expr(&c.args[0]);
        let mut size = match &t {
            Type::Array { of, len } => of.size() * *len as usize,
            _ => 0,
        };
        if let Some(n) = c.args.get(1) {
            self.expr(n);
            match n.kind {
                ExprKind::Int(len) => size = len as usize,
                _ => size = self.opts.strlen,
            }
        } else if size == 0 && t != Type::None {
            self.err(
                c.span,
                "buf() needs a length argument unless its first argument is an array",
            );
        }
        if size > self.opts.strlen {
            self.warn(
                c.span,
                format!(
                    "buf() length {size} exceeds BPFTRACE_STRLEN ({}); truncated",
                    self.opts.strlen
                ),
            );
            size = self.opts.strlen;
        }
        Type::Buffer(size)
    }

    fn stack_call(&mut self, c: &Call, ok: bool) -> Type {
        let kernel = c.name == "kstack";
        let mut mode = StackMode::Bpftrace;
        let mut limit = super::DEFAULT_STACK_LIMIT;
        if ok {
            for (i, a) in c.args.iter().enumerate() {
                match &a.kind {
                    ExprKind::Ident(m) if i == 0 && (m == "bpftrace" || m == "perf") => {
                        mode = if m == "perf" {
                            StackMode::Perf
                        } else {
                            StackMode::Bpftrace
                        };
                    }
                    ExprKind::Int(_) | ExprKind::Param(_) if i + 1 == c.args.len() => {
                        let n = match a.kind {
                            ExprKind::Param(p) => self.param_int(p, a.span).unwrap_or(0).max(0),
                            ExprKind::Int(n) => n as i64,
                            _ => 0,
                        } as u64;
                        if n > STACK_LIMIT_MAX {
                            self.err(
                                a.span,
                                format!("limit shouldn't exceed {STACK_LIMIT_MAX}, {n} given"),
                            );
                        }
                        limit = n.min(STACK_LIMIT_MAX) as u32;
                    }
                    ExprKind::Ident(m) => {
                        let d = Diagnostic::error(a.span, format!("{m} is not a valid stack mode"))
                            .with_suggestion(m, ["bpftrace", "perf"])
                            .with_hint("modes: bpftrace, perf");
                        self.error(d);
                    }
                    _ => {
                        self.expr(a);
                        self.err(a.span, format!("{}() expects a mode (bpftrace or perf) and/or an integer literal or positional parameter limit", c.name));
                    }
                }
            }
        }
        if kernel {
            Type::KStack { mode, limit }
        } else {
            Type::UStack { mode, limit }
        }
    }

    fn signal_arg(&mut self, a: &Expr) {
        match &a.kind {
            ExprKind::Str(s) => {
                let name = String::from_utf8_lossy(s).to_string();
                self.types[a.id.0 as usize] = Type::Str(s.len() + 1);
                if signal_number(&name).is_none() {
                    self.err(a.span, format!("Invalid string for signal: {name}"));
                }
            }
            ExprKind::Int(n) => {
                self.types[a.id.0 as usize] = Type::I64;
                if !(1..=64).contains(n) {
                    self.err(
                        a.span,
                        format!("Invalid signal number: {n}; signals are 1 to 64"),
                    );
                }
            }
            _ => {
                let t = self.expr(a);
                if !t.is_int() && t != Type::None {
                    self.err(a.span, "signal() expects a signal name or number");
                }
            }
        }
    }

    /// Checks an aggregation's arguments and gives its kind.
    pub(super) fn aggregation(&mut self, name: &str, args: &[Expr], call: &Expr) -> Agg {
        self.calls.insert(call.id, functions::Gen::Aggregation);
        let c = Call {
            name,
            span: call.span,
            name_span: call.span,
            args,
        };
        let int_arg = |this: &mut Self| -> bool {
            let t = this.expr(&args[0]);
            if !t.is_int() && t != Type::None && !this.is_int_agg(&t) {
                this.err(
                    args[0].span,
                    format!("{name}() expects an integer argument, got '{t}'"),
                );
            }
            t.is_signed()
        };
        match name {
            "count" => {
                if !args.is_empty() {
                    self.err(
                        call.span,
                        format!("count() should take no arguments ({} provided)", args.len()),
                    );
                    for a in args {
                        self.expr(a);
                    }
                }
                Agg::Count
            }
            "hist" => {
                if args.len() != 1 {
                    self.err(
                        call.span,
                        format!("hist() requires one argument ({} provided)", args.len()),
                    );
                    for a in args {
                        self.expr(a);
                    }
                } else {
                    int_arg(self);
                }
                Agg::Hist
            }
            "lhist" => self.lhist(&c),
            _ => {
                if args.len() != 1 {
                    self.err(
                        call.span,
                        format!("{name}() requires one argument ({} provided)", args.len()),
                    );
                    for a in args {
                        self.expr(a);
                    }
                    return Agg::Sum { signed: true };
                }
                let signed = int_arg(self);
                // Only a sum takes its argument's signedness (docs/integers.md).
                match name {
                    "sum" => Agg::Sum { signed },
                    "avg" => Agg::Avg,
                    "min" => Agg::Min,
                    "max" => Agg::Max,
                    _ => Agg::Stats,
                }
            }
        }
    }

    fn lhist(&mut self, c: &Call) -> Agg {
        let fallback = Agg::Lhist {
            min: 0,
            max: 1,
            step: 1,
        };
        if c.args.len() != 4 {
            self.err(
                c.span,
                format!("lhist() requires 4 arguments ({} provided)", c.args.len()),
            );
            for a in c.args {
                self.expr(a);
            }
            return fallback;
        }
        let t = self.expr(&c.args[0]);
        if !t.is_int() && t != Type::None {
            self.err(
                c.args[0].span,
                format!("lhist() expects an integer value, got '{t}'"),
            );
        }
        let mut nums = [0i64; 3];
        for (i, a) in c.args[1..].iter().enumerate() {
            self.expr(a);
            nums[i] = match &a.kind {
                ExprKind::Int(n) => *n as i64,
                ExprKind::Unary {
                    op: crate::ast::UnOp::Neg,
                    operand,
                } if matches!(operand.kind, ExprKind::Int(_)) => match operand.kind {
                    ExprKind::Int(n) => (n as i64).wrapping_neg(),
                    _ => 0,
                },
                ExprKind::Param(p) => self.param_int(*p, a.span).unwrap_or(0),
                _ => {
                    let what = ["min", "max", "step"][i];
                    self.error(
                        Diagnostic::error(
                            a.span,
                            format!("lhist() expects an integer literal as its {what}"),
                        )
                        .with_hint("min, max and step size the histogram when the program is compiled: write integer literals or positional parameters"),
                    );
                    return fallback;
                }
            };
        }
        let [min, max, step] = nums;
        let (min_s, max_s, step_s) = (c.args[1].span, c.args[2].span, c.args[3].span);
        let problem = if min < 0 {
            Some((min_s, "lhist() min must be non-negative".to_string()))
        } else if min >= max {
            Some((
                min_s.to(max_s),
                format!("lhist() min must be less than max (provided min {min} and max {max})"),
            ))
        } else if step < 1 {
            Some((step_s, "lhist() step must be >= 1".to_string()))
        } else if step > max - min {
            Some((
                step_s,
                format!(
                    "lhist() step is too large for the given range (provided step {step}, range {})",
                    max - min
                ),
            ))
        } else if (max - min) / step > 1000 {
            Some((
                min_s.to(step_s),
                format!(
                    "lhist() too many buckets, must be <= 1000 (would need {})",
                    (max - min) / step
                ),
            ))
        } else {
            None
        };
        if let Some((span, p)) = problem {
            self.err(span, p);
            return fallback;
        }
        Agg::Lhist { min, max, step }
    }
}

/// A signal name (`SIGKILL`, `KILL`) or number as text to its number.
pub fn signal_number(name: &str) -> Option<u8> {
    const NAMES: &[&str] = &[
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
        "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
        "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];
    if let Ok(n) = name.parse::<u8>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let bare = name.strip_prefix("SIG").unwrap_or(name);
    NAMES.iter().position(|n| *n == bare).map(|i| i as u8 + 1)
}

/// The source span of bytes `start..end` of a format string literal (approximate when the
/// literal holds escapes before that point).
fn format_span(lit: &Expr, start: usize, end: usize) -> Span {
    let base = lit.span.start + 1;
    let s = (base + start).min(lit.span.end);
    let e = (base + end).min(lit.span.end);
    if s < e {
        Span::new(s, e)
    } else {
        lit.span
    }
}

struct Call<'a> {
    name: &'a str,
    span: Span,
    name_span: Span,
    args: &'a [Expr],
}

impl Checker<'_> {
    /// `uaddr("symbol")`: the symbol's ELF virtual address in the binary the current probe
    /// is in (a compile-time constant, as in bpftrace: the address before any relocation, so
    /// useful in non-PIE binaries).
    /// Resolves `uaddr(sym)` into `constants`; the symbol's size, when found.
    fn uaddr(&mut self, id: crate::ast::ExprId, sym: &str, span: crate::span::Span) -> Option<u64> {
        let mut paths: Vec<&str> = self
            .current
            .map(|i| {
                self.attaches[i]
                    .iter()
                    .filter_map(|a| match &a.target {
                        crate::attach::Target::User { path, .. }
                        | crate::attach::Target::Usdt { path, .. } => Some(path.as_str()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        paths.sort_unstable();
        paths.dedup();
        let path = match paths.as_slice() {
            [path] => *path,
            // Not a user probe: only_in reports it.
            [] => return None,
            _ => {
                self.err(
                    span,
                    "uaddr() in a probe of several binaries: the symbol's binary is ambiguous",
                );
                return None;
            }
        };
        let found = match self.catalog.user_symbols(path) {
            Ok(syms) => syms
                .iter()
                .find(|s| s.name == sym)
                .map(|s| (s.address, s.size)),
            Err(msg) => {
                self.err(span, msg);
                return None;
            }
        };
        match found {
            Some((addr, size)) => {
                self.constants.insert(id, addr);
                Some(size)
            }
            None => {
                self.err(span, format!("Could not resolve symbol: {path}:{sym}"));
                None
            }
        }
    }
}
