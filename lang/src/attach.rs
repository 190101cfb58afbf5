//! Attach points: parsing their text and expanding wildcards through the [`Catalog`].

use crate::catalog::Catalog;
use crate::diag::Diagnostic;
use crate::glob::glob_match;
use crate::probe::{find_event, ProbeKind, Resolve, ITER_KINDS, TIME_UNITS};
use crate::span::Span;

/// One concrete attach point after expansion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attach {
    pub kind: ProbeKind,
    /// The expanded name, as the `probe` builtin gives it: `tracepoint:syscalls:sys_enter_read`.
    pub name: String,
    pub target: Target,
}

/// Where an attach point attaches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// BEGIN and END.
    Special,
    Tracepoint {
        category: String,
        event: String,
    },
    RawTracepoint {
        event: String,
    },
    /// kprobe/kretprobe/kfunc/kretfunc.
    KernelFunction {
        module: Option<String>,
        func: String,
        offset: u64,
    },
    /// uprobe/uretprobe: a symbol (with offset) or a raw ELF address in `path`.
    User {
        path: String,
        symbol: Option<String>,
        address: u64,
        offset: u64,
        /// Where `address + offset` lies in the file (what the kernel's uprobes take).
        file_offset: u64,
    },
    Usdt {
        path: String,
        provider: String,
        name: String,
        /// The argument specification (`-4@%eax 8@-16(%rbp)`).
        arguments: String,
        /// ELF virtual address of the probe instruction.
        pc: u64,
        /// ELF virtual address of the probe's semaphore, 0 when it has none.
        semaphore: u64,
        /// Where `pc` lies in the file.
        pc_offset: u64,
        /// Where `semaphore` lies in the file, 0 when there is none.
        semaphore_offset: u64,
    },
    /// profile/interval: `unit` is one of [`TIME_UNITS`].
    Timer {
        unit: String,
        value: u64,
    },
    /// software/hardware: the event's canonical name, perf config and sample period.
    PerfEvent {
        event: String,
        config: u64,
        period: u64,
    },
    /// watchpoint/asyncwatchpoint: a fixed `address`, or (`fn+argN`) the address a function
    /// of the traced process receives, known only when that function runs.
    Watchpoint {
        address: Option<u64>,
        func_arg: Option<FuncArg>,
        len: u8,
        mode: String,
    },
    Iter {
        kind: String,
        pin: Option<String>,
    },
}

/// The function of a `fn+argN` watchpoint: a uprobe on it reads argument `arg`, and the
/// watchpoint is set on that address of the process then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncArg {
    /// The function's name.
    pub func: String,
    /// The argument holding the address (0..5).
    pub arg: u8,
    /// The traced program's file (`/proc/PID/exe` with `-p`, the command with `-c`).
    pub path: String,
    /// The function's ELF virtual address in `path`.
    pub address: u64,
    /// Where that address lies in the file.
    pub file_offset: u64,
}

/// What attach-point resolution needs besides the catalog.
pub struct AttachContext<'a> {
    pub catalog: &'a dyn Catalog,
    pub params: &'a [String],
    pub pid: Option<u32>,
    /// `-c CMD`: the command's program file, where `fn+argN` watchpoints find `fn`.
    pub child_binary: Option<&'a str>,
    /// `--unsafe`: a uprobe address outside every function is allowed.
    pub unsafe_mode: bool,
}

/// Functions a kretprobe may not trace (as bpftrace 0.17 refuses them): a return probe on a
/// lock the kprobe machinery itself takes can lock up the system.
const BANNED_KRETPROBES: &[&str] = &[
    "_raw_spin_lock",
    "_raw_spin_lock_irqsave",
    "_raw_spin_unlock_irqrestore",
    "queued_spin_lock_slowpath",
];

/// Parses and expands one attach point. A problem is returned as a diagnostic at `span`: an
/// error, or a warning when the attach point is left out and the program goes on (a kprobe on a
/// kernel function that does not exist, a kprobe wildcard that matches none).
pub fn resolve(text: &str, span: Span, cx: &AttachContext) -> Result<Vec<Attach>, Diagnostic> {
    let raw_spans = field_spans(text, span);
    let text = substitute_params(text, span, cx.params)?;
    let fields = split_fields(&text);
    // The source span of every field, when the text maps onto the source field by field
    // (a positional parameter's field is then the `$N` it was written as).
    let spans = if raw_spans.len() == fields.len() {
        raw_spans
    } else {
        vec![span; fields.len()]
    };
    let provider = fields[0].as_str();
    let Some(kind) = ProbeKind::from_provider(provider) else {
        let err = Diagnostic::error(spans[0], format!("Invalid probe type: {provider}"));
        return Err(if provider.contains('*') {
            err.with_hint("wildcards are accepted inside a probe's fields, not in its provider")
        } else {
            match crate::suggest::closest(provider, ProbeKind::all_names()) {
                Some(best) => err.with_label(format!("did you mean '{best}'?")),
                None => err.with_hint(format!(
                    "providers: {}",
                    crate::probe::PROBES
                        .iter()
                        .map(|d| d.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        });
    };
    let args = &fields[1..];
    let r = Resolver {
        kind,
        span,
        fields: &spans[1..],
        cx,
    };
    match kind.descriptor().resolve {
        Resolve::Special => {
            r.arity(args, 0, 0)?;
            Ok(vec![r.one(kind.name().to_string(), Target::Special)])
        }
        Resolve::Tracepoint => r.tracepoint(args),
        Resolve::RawTracepoint => r.raw_tracepoint(args),
        Resolve::KernelFunction => r.kernel_function(args),
        Resolve::User => r.uprobe(args),
        Resolve::Usdt => r.usdt(args),
        Resolve::Timer => r.timer(args),
        Resolve::PerfEvent => r.perf_event(args),
        Resolve::Watchpoint => r.watchpoint(args),
        Resolve::Iter => r.iter(args),
    }
}

/// The kind of probe attach-point text names, when its provider is one (and no parameter).
pub fn provider_kind(text: &str) -> Option<ProbeKind> {
    ProbeKind::from_provider(&split_fields(text)[0])
}

/// Replaces `$N` in attach-point text with positional parameter N.
fn substitute_params(text: &str, span: Span, params: &[String]) -> Result<String, Diagnostic> {
    if !text.contains('$') {
        return Ok(text.to_string());
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let digits: String = rest[i + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        // The source span of this `$N`, when the text is the source slice at `span`.
        let at = if span.end.checked_sub(span.start) == Some(text.len()) {
            let s = span.start + (text.len() - rest.len()) + i;
            Span::new(s, s + 1 + digits.len())
        } else {
            span
        };
        let n: usize = digits.parse().map_err(|_| {
            Diagnostic::error(
                at,
                "'$' in an attach point must be a positional parameter like $1",
            )
        })?;
        let value = n
            .checked_sub(1)
            .and_then(|k| params.get(k))
            .ok_or_else(|| {
                Diagnostic::error(
                    at,
                    format!("attach point uses ${n} but no positional parameter {n} was given"),
                )
                .with_hint("pass parameters after the program: scry -e 'PROGRAM' ARG1 ARG2")
            })?;
        out.push_str(value);
        rest = &rest[i + 1 + digits.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Splits on `:` outside double quotes; the quotes are removed, and inside them a backslash
/// keeps the character after it (`"\"probe1\""` is `"probe1"`).
fn split_fields(text: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => fields.last_mut().unwrap().extend(chars.next()),
            '"' => quoted = !quoted,
            ':' if !quoted => fields.push(String::new()),
            _ => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// The source spans of the `:`-separated fields of attach-point text found at `span`.
fn field_spans(text: &str, span: Span) -> Vec<Span> {
    let exact = span.end.checked_sub(span.start) == Some(text.len());
    let mut spans = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if std::mem::take(&mut escaped) {
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ':' if !quoted => {
                spans.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
    }
    spans.push((start, text.len()));
    spans
        .into_iter()
        .map(|(s, e)| {
            if exact {
                Span::new(span.start + s, span.start + e)
            } else {
                span
            }
        })
        .collect()
}

/// The names of functions in `syms` defined at more than one address (local symbols of
/// several compilation units, such as `str_to_mpn.part.0.constprop.0` in libc).
pub fn ambiguous_functions(syms: &[crate::catalog::UserSymbol]) -> std::collections::HashSet<&str> {
    let mut first: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    let mut ambiguous = std::collections::HashSet::new();
    for s in syms.iter().filter(|s| s.is_function) {
        if *first.entry(s.name.as_str()).or_insert(s.address) != s.address {
            ambiguous.insert(s.name.as_str());
        }
    }
    ambiguous
}

fn is_wild(s: &str) -> bool {
    s.contains('*')
}

struct Resolver<'a, 'c> {
    kind: ProbeKind,
    /// The whole attach point.
    span: Span,
    /// The span of each field after the provider.
    fields: &'a [Span],
    cx: &'a AttachContext<'c>,
}

impl Resolver<'_, '_> {
    fn err(&self, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(self.span, msg)
    }

    /// An error at field `i` (after the provider); the whole attach point if there is none.
    fn err_at(&self, i: usize, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(self.fields.get(i).copied().unwrap_or(self.span), msg)
    }

    /// The index of the last field.
    fn last(&self) -> usize {
        self.fields.len().saturating_sub(1)
    }

    fn one(&self, name: String, target: Target) -> Attach {
        Attach {
            kind: self.kind,
            name,
            target,
        }
    }

    fn arity(&self, args: &[String], min: usize, max: usize) -> Result<(), Diagnostic> {
        if args.len() < min || args.len() > max {
            let want = if min == max {
                format!("{min}")
            } else {
                format!("{min} or {max}")
            };
            let noun = if max == 1 { "argument" } else { "arguments" };
            return Err(self
                .err(format!(
                    "{} probe type requires {want} {noun}",
                    self.kind.name()
                ))
                .with_hint(self.kind.descriptor().usage));
        }
        Ok(())
    }

    fn catalog<T>(&self, r: Result<T, String>) -> Result<T, Diagnostic> {
        r.map_err(|e| self.err(e))
    }

    fn tracepoint(&self, args: &[String]) -> Result<Vec<Attach>, Diagnostic> {
        self.arity(args, 2, 2)?;
        let (cat, ev) = (&args[0], &args[1]);
        let cx = self.cx.catalog;
        if !is_wild(cat) && !is_wild(ev) {
            if self.catalog(cx.tracepoint_format(cat, ev))?.is_some() {
                return Ok(vec![self.tracepoint_attach(cat, ev)]);
            }
            return Err(self.tracepoint_not_found(cat, ev));
        }
        let mut out = Vec::new();
        for c in self.catalog(cx.tracepoint_categories())? {
            if !glob_match(cat, &c) {
                continue;
            }
            for e in self.catalog(cx.tracepoint_events(&c))? {
                if glob_match(ev, &e) {
                    out.push(self.tracepoint_attach(&c, &e));
                }
            }
        }
        if out.is_empty() {
            let span = self.fields[0].to(self.fields[1]);
            return Err(
                Diagnostic::error(span, format!("no tracepoints match '{cat}:{ev}'"))
                    .with_hint(format!("list them with: scry -l 'tracepoint:{cat}:*'")),
            );
        }
        Ok(out)
    }

    fn tracepoint_attach(&self, cat: &str, ev: &str) -> Attach {
        self.one(
            format!("tracepoint:{cat}:{ev}"),
            Target::Tracepoint {
                category: cat.to_string(),
                event: ev.to_string(),
            },
        )
    }

    fn tracepoint_not_found(&self, cat: &str, ev: &str) -> Diagnostic {
        let cx = self.cx.catalog;
        let msg = format!("tracepoint not found: {cat}:{ev}");
        let cats = cx.tracepoint_categories().unwrap_or_default();
        if cats.iter().any(|c| c == cat) {
            let events = cx.tracepoint_events(cat).unwrap_or_default();
            return self
                .err_at(1, msg)
                .with_suggestion(ev, events.iter().map(String::as_str))
                .with_hint(format!(
                    "list the events with: scry -l 'tracepoint:{cat}:*'"
                ));
        }
        let err = self.err_at(0, msg);
        match crate::suggest::closest(cat, cats.iter().map(String::as_str)) {
            Some(c) => err.with_label(format!("there is no category '{cat}'; did you mean '{c}'?")),
            None => err
                .with_label(format!("there is no category '{cat}'"))
                .with_hint("list the categories with: scry -l 'tracepoint:*'"),
        }
    }

    fn raw_tracepoint(&self, args: &[String]) -> Result<Vec<Attach>, Diagnostic> {
        self.arity(args, 1, 2)?;
        let ev = args.last().unwrap();
        let cx = self.cx.catalog;
        let mut out = Vec::new();
        let mut all = Vec::new();
        for c in self.catalog(cx.tracepoint_categories())? {
            for e in self.catalog(cx.tracepoint_events(&c))? {
                if glob_match(ev, &e)
                    && !out
                        .iter()
                        .any(|a: &Attach| a.name.ends_with(&format!(":{e}")))
                {
                    out.push(self.one(
                        format!("rawtracepoint:{e}"),
                        Target::RawTracepoint { event: e.clone() },
                    ));
                }
                all.push(e);
            }
        }
        if out.is_empty() {
            return Err(self
                .err_at(self.last(), format!("raw tracepoint not found: {ev}"))
                .with_suggestion(ev, all.iter().map(String::as_str)));
        }
        Ok(out)
    }

    fn kernel_function(&self, args: &[String]) -> Result<Vec<Attach>, Diagnostic> {
        let desc = self.kind.descriptor();
        self.arity(args, 1, if desc.module { 2 } else { 1 })?;
        let module = (args.len() == 2).then(|| args[0].clone());
        let spec = args.last().unwrap();
        let (func, offset) = match spec.split_once('+') {
            Some((f, off)) => {
                if !desc.offset {
                    return Err(self
                        .err_at(
                            self.last(),
                            format!("{} probes do not take an offset", self.kind.name()),
                        )
                        .with_hint("offsets (fn+0x10) are allowed in kprobe probes only"));
                }
                (f.to_string(), self.number(off, "offset", self.last())?)
            }
            None => (spec.clone(), 0),
        };
        if self.kind == ProbeKind::Kretprobe && BANNED_KRETPROBES.contains(&func.as_str()) {
            return Err(self.banned_kretprobe(&func));
        }
        let prefix = match &module {
            Some(m) => format!("{}:{m}:", self.kind.name()),
            None => format!("{}:", self.kind.name()),
        };
        let make = |f: &str| {
            let suffix = if offset > 0 {
                format!("+{offset}")
            } else {
                String::new()
            };
            self.one(
                format!("{prefix}{f}{suffix}"),
                Target::KernelFunction {
                    module: module.clone(),
                    func: f.to_string(),
                    offset,
                },
            )
        };
        let known = self.cx.catalog.kernel_functions();
        let Ok(known) = known else {
            if is_wild(&func) {
                return Err(self.err(known.unwrap_err()));
            }
            return Ok(vec![make(&func)]);
        };
        if is_wild(&func) {
            let out: Vec<_> = known
                .iter()
                .filter(|k| glob_match(&func, k))
                .map(|k| make(k))
                .collect();
            // As bpftrace 0.17 (without kprobe_multi) expands a wildcard and refuses the first
            // banned function it would attach a kretprobe to.
            let banned = out.iter().find_map(|a| match &a.target {
                Target::KernelFunction { func, .. }
                    if self.kind == ProbeKind::Kretprobe
                        && BANNED_KRETPROBES.contains(&func.as_str()) =>
                {
                    Some(func)
                }
                _ => None,
            });
            if let Some(banned) = banned {
                return Err(self
                    .banned_kretprobe(banned)
                    .with_label(format!("'{func}' matches {banned}")));
            }
            if out.is_empty() {
                return Err(self
                    .skipped(format!("no kernel functions match '{func}'"))
                    .with_hint(format!(
                        "{prefix}{func} is left out; list kernel functions with: scry -l 'kprobe:*'"
                    )));
            }
            return Ok(out);
        }
        if !known.contains(&func) {
            return Err(self
                .skipped(format!(
                    "{func} is not traceable (either non-existing, inlined, or marked as \"notrace\")"
                ))
                .with_suggestion(&func, known.iter().map(String::as_str))
                .with_hint(format!(
                    "{prefix}{func} is left out; list kernel functions with: scry -l 'kprobe:*'"
                )));
        }
        Ok(vec![make(&func)])
    }

    /// bpftrace's refusal of a kretprobe on `func`, at the function's field.
    fn banned_kretprobe(&self, func: &str) -> Diagnostic {
        self.err_at(
            self.last(),
            // bpftrace's sentence, its own `error: ` included (it prints `ERROR: error: ...`).
            format!("error: kretprobe:{func} can't be used as it might lock up your system."),
        )
        .with_hint("a kprobe on the same function is allowed")
    }

    /// A warning at the function's field: the attach point names no kernel function, and is
    /// left out of its probe (as bpftrace 0.17 leaves it out, or fails to attach it).
    fn skipped(&self, msg: String) -> Diagnostic {
        Diagnostic::warning(
            self.fields.get(self.last()).copied().unwrap_or(self.span),
            msg,
        )
    }

    /// Field `i`, text `s`, as a number.
    fn number(&self, s: &str, what: &str, i: usize) -> Result<u64, Diagnostic> {
        crate::lexer::parse_int(s)
            .map_err(|_| self.err_at(i, format!("invalid {what} '{s}': expected a number")))
    }

    /// Where ELF virtual address `vaddr` of the file at `path` lies in the file.
    fn file_offset(&self, path: &str, vaddr: u64) -> Result<u64, Diagnostic> {
        self.catalog(self.cx.catalog.file_offset(path, vaddr))
    }

    /// A `fn+offset` uprobe's offset must start an instruction: an error at the function's
    /// field otherwise.
    fn instruction_start(
        &self,
        path: &str,
        address: u64,
        offset: u64,
        name: &str,
    ) -> Result<(), Diagnostic> {
        self.cx
            .catalog
            .instruction_start(path, address, offset, name)
            .map_err(|why| self.err_at(self.last(), why))
    }

    /// The uprobe/usdt target path, honouring `-p` for the 2-field form.
    fn binary(&self, target: &str) -> Result<String, Diagnostic> {
        let kind = self.kind.name();
        if target.is_empty() && self.cx.pid.is_none() {
            return Err(self
                .err(format!(
                    "{kind} probe needs a binary or library before the function"
                ))
                .with_hint(format!("{kind}:/path/to/binary:function, or give -p PID")));
        }
        self.cx
            .catalog
            .resolve_binary(target, self.cx.pid)
            .map_err(|e| self.err_at(0, e))
    }

    /// Runs `f` on each file a uprobe/USDT target names, with the name probes show for it and
    /// its resolved path: one file for a path or library, every matching file for a path with
    /// wildcards (`./bin/app*`), where a file `f` finds nothing in is passed over.
    fn each_file(
        &self,
        target: &str,
        f: impl Fn(&str, &str) -> Result<Vec<Attach>, Diagnostic>,
    ) -> Result<Vec<Attach>, Diagnostic> {
        // A wildcard without `/` names libraries or mapped files (`-p`): the catalog resolves it.
        if !(is_wild(target) && target.contains('/')) {
            let path = self.binary(target)?;
            return f(shown_target(target, &path), &path);
        }
        let files = self.catalog(self.cx.catalog.glob_files(target))?;
        let mut out = Vec::new();
        let mut first_error = None;
        for file in &files {
            match self.binary(file).and_then(|path| f(file, &path)) {
                Ok(found) => out.extend(found),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) if out.is_empty() => Err(e),
            _ if files.is_empty() => Err(self.err_at(0, format!("no file matches '{target}'"))),
            _ => Ok(out),
        }
    }

    fn uprobe(&self, args: &[String]) -> Result<Vec<Attach>, Diagnostic> {
        let (target, spec) = match args {
            [f] if self.cx.pid.is_some() => ("", f),
            [t, f] => (t.as_str(), f),
            _ => return Err(self.arity(args, 2, 2).unwrap_err()),
        };
        self.each_file(target, |shown, path| self.uprobe_in(shown, path, spec))
    }

    /// The uprobes `spec` (a function, a wildcard, `fn+offset` or an address) names in the
    /// file at `path`, shown as `shown`.
    fn uprobe_in(&self, shown: &str, path: &str, spec: &str) -> Result<Vec<Attach>, Diagnostic> {
        let path = path.to_string();
        let kind = self.kind.name();
        if let Ok(address) = crate::lexer::parse_int(spec) {
            return Ok(vec![self.one(
                format!("{kind}:{shown}:{address}"),
                self.user_address(shown, path, address)?,
            )]);
        }
        let (func, offset) = match spec.split_once('+') {
            Some((f, off)) => {
                if !self.kind.descriptor().offset {
                    return Err(self
                        .err_at(self.last(), "uretprobe probes do not take an offset")
                        .with_hint("offsets (fn+0x10) are allowed in uprobe probes only"));
                }
                (f, self.number(off, "offset", self.last())?)
            }
            None => (spec, 0),
        };
        let syms = self.catalog(self.cx.catalog.user_symbols(&path))?;
        let funcs = syms.iter().filter(|s| s.is_function);
        // A wildcard passes over local names defined at several addresses (as bpftrace does):
        // `name` alone cannot say which.
        let ambiguous = if is_wild(func) {
            ambiguous_functions(&syms)
        } else {
            Default::default()
        };
        let matching: Vec<_> = funcs
            .clone()
            .filter(|s| glob_match(func, &s.name) && !ambiguous.contains(s.name.as_str()))
            .collect();
        if matching.is_empty() {
            let err = self
                .err_at(
                    self.last(),
                    format!("function '{func}' not found in {path}"),
                )
                .with_hint(format!("list them with: scry -l 'uprobe:{path}:*'"));
            return Err(if is_wild(func) {
                err
            } else {
                err.with_suggestion(func, funcs.map(|s| s.name.as_str()))
            });
        }
        let mut out: Vec<Attach> = Vec::new();
        for s in matching {
            if out
                .iter()
                .any(|a| a.name.ends_with(&format!(":{}", s.name)))
            {
                continue;
            }
            if offset > 0 && s.size > 0 && offset >= s.size {
                return Err(self.err_at(
                    self.last(),
                    format!(
                        "Offset outside the function bounds ('{}' size is {}): +{offset}",
                        s.name, s.size
                    ),
                ));
            }
            if offset > 0 {
                self.instruction_start(&path, s.address, offset, &s.name)?;
            }
            let suffix = if offset > 0 {
                format!("+{offset}")
            } else {
                String::new()
            };
            out.push(self.one(
                format!("{kind}:{shown}:{}{suffix}", s.name),
                Target::User {
                    path: path.clone(),
                    symbol: Some(s.name.clone()),
                    address: s.address,
                    offset,
                    file_offset: self.file_offset(&path, s.address + offset)?,
                },
            ));
        }
        Ok(out)
    }

    /// A uprobe at `address` of the file at `path`: inside a function it is that function plus
    /// an offset (which must start an instruction); outside
    /// every function it is refused, as bpftrace refuses it, unless `--unsafe` (the message
    /// names the file as written, `shown`).
    fn user_address(&self, shown: &str, path: String, address: u64) -> Result<Target, Diagnostic> {
        let syms = self.catalog(self.cx.catalog.user_symbols(&path))?;
        let inside = syms
            .iter()
            .find(|s| s.is_function && address >= s.address && address - s.address < s.size);
        match inside {
            Some(s) => {
                if address > s.address {
                    self.instruction_start(&path, s.address, address - s.address, &s.name)?;
                }
                Ok(Target::User {
                symbol: Some(s.name.clone()),
                address: s.address,
                    offset: address - s.address,
                    file_offset: self.file_offset(&path, address)?,
                    path,
                })
            }
            None if self.cx.unsafe_mode => Ok(Target::User {
                file_offset: self.file_offset(&path, address)?,
                path,
                symbol: None,
                address,
                offset: 0,
            }),
            None => Err(self
                .err_at(
                    self.last(),
                    format!("Could not resolve address: {shown}:{address:#x}"),
                )
                .with_hint("the address is inside no function of the file's symbol table; --unsafe attaches there anyway")),
        }
    }

    fn usdt(&self, args: &[String]) -> Result<Vec<Attach>, Diagnostic> {
        let (target, provider, name) = match args {
            [n] if self.cx.pid.is_some() => ("", "*", n.as_str()),
            [t, n] => (t.as_str(), "*", n.as_str()),
            // An empty provider is any provider, as in bpftrace (`usdt:./app::probe2`).
            [t, p, n] => (
                t.as_str(),
                if p.is_empty() { "*" } else { p.as_str() },
                n.as_str(),
            ),
            _ => return Err(self.arity(args, 2, 3).unwrap_err()),
        };
        self.each_file(target, |shown, path| {
            self.usdt_in(shown, path, provider, name, args.len() == 2)
        })
    }

    /// The USDT probes `provider:name` (wildcards allowed) names in the file at `path`,
    /// shown as `shown`; `no_provider`: the attach point named no provider.
    fn usdt_in(
        &self,
        shown: &str,
        path: &str,
        provider: &str,
        name: &str,
        no_provider: bool,
    ) -> Result<Vec<Attach>, Diagnostic> {
        let path = path.to_string();
        let probes = self.catalog(self.cx.catalog.usdt_probes(&path))?;
        let matching: Vec<_> = probes
            .iter()
            .filter(|p| glob_match(provider, &p.provider) && glob_match(name, &p.name))
            .collect();
        if matching.is_empty() {
            return Err(self
                .err_at(self.last(), format!("no USDT probe '{name}' in {path}"))
                .with_suggestion(name, probes.iter().map(|p| p.name.as_str()))
                .with_hint(format!("list them with: scry -l 'usdt:{path}:*'")));
        }
        let providers: std::collections::BTreeSet<_> =
            matching.iter().map(|p| &p.provider).collect();
        if no_provider && providers.len() > 1 && !is_wild(name) {
            let list: Vec<_> = providers
                .iter()
                .map(|p| format!("usdt:{path}:{p}:{name}"))
                .collect();
            return Err(self
                .err_at(
                    self.last(),
                    format!(
                        "namespace for usdt:{path}:{name} not specified, matched {} probes",
                        matching.len()
                    ),
                )
                .with_hint(format!(
                    "name one of: {}, or use '*' to attach to all",
                    list.join(", ")
                )));
        }
        // Every site of a probe (inlined, unrolled) is an attachment of its own, as in bpftrace.
        let mut out: Vec<Attach> = Vec::new();
        for p in matching {
            out.push(self.one(
                format!("usdt:{shown}:{}:{}", p.provider, p.name),
                Target::Usdt {
                    path: path.clone(),
                    provider: p.provider.clone(),
                    name: p.name.clone(),
                    arguments: p.arguments.clone(),
                    pc: p.pc,
                    semaphore: p.semaphore,
                    pc_offset: self.file_offset(&path, p.pc)?,
                    semaphore_offset: match p.semaphore {
                        0 => 0,
                        at => self.file_offset(&path, at)?,
                    },
                },
            ));
        }
        Ok(out)
    }

    fn timer(&self, args: &[String]) -> Result<Vec<Attach>, Diagnostic> {
        self.arity(args, 2, 2)?;
        let (unit, value) = (&args[0], &args[1]);
        if !TIME_UNITS.contains(&unit.as_str()) {
            return Err(self
                .err_at(0, format!("{unit} is not an accepted unit of time"))
                .with_suggestion(unit, TIME_UNITS.iter().copied())
                .with_hint("units: hz (per second), s, ms, us"));
        }
        let n = self.number(value, "rate", 1)?;
        if n == 0 {
            return Err(self.err_at(
                1,
                format!("{} rate must be greater than zero", self.kind.name()),
            ));
        }
        Ok(vec![self.one(
            format!("{}:{unit}:{n}", self.kind.name()),
            Target::Timer {
                unit: unit.clone(),
                value: n,
            },
        )])
    }

    fn perf_event(&self, args: &[String]) -> Result<Vec<Attach>, Diagnostic> {
        self.arity(args, 1, 2)?;
        let (table, what) = (self.kind.descriptor().events, self.kind.name());
        let name = &args[0];
        if is_wild(name) {
            return Err(self
                .err_at(0, format!("wildcards are not allowed in {what} probes"))
                .with_hint(format!("list the events with: scry -l '{what}:*'")));
        }
        let Some(event) = find_event(table, name) else {
            return Err(self
                .err_at(0, format!("{name} is not a {what} probe"))
                .with_suggestion(
                    name,
                    table
                        .iter()
                        .flat_map(|e| std::iter::once(e.name).chain(e.alias)),
                ));
        };
        let period = match args.get(1).map(String::as_str) {
            None | Some("") => event.default_count,
            Some(c) => self.number(c, "count", 1)?,
        };
        if period == 0 {
            return Err(self.err_at(1, format!("{what} probe count must be greater than zero")));
        }
        Ok(vec![self.one(
            format!("{what}:{name}:{period}"),
            Target::PerfEvent {
                event: event.name.to_string(),
                config: event.config,
                period,
            },
        )])
    }

    fn watchpoint(&self, args: &[String]) -> Result<Vec<Attach>, Diagnostic> {
        self.arity(args, 3, 3)?;
        let (what, len, mode) = (&args[0], &args[1], &args[2]);
        let len_n = self.number(len, "length", 1)?;
        if ![1, 2, 4, 8].contains(&len_n) {
            return Err(self.err_at(
                1,
                format!("watchpoint length must be 1, 2, 4 or 8 bytes (got {len_n})"),
            ));
        }
        let mut sorted: Vec<char> = mode.chars().collect();
        sorted.sort();
        sorted.dedup();
        if sorted.is_empty()
            || sorted.len() != mode.len()
            || sorted.iter().any(|c| !"rwx".contains(*c))
        {
            return Err(self
                .err_at(2, format!("invalid watchpoint mode '{mode}'"))
                .with_hint("a mode is a combination of r, w and x, e.g. w or rw"));
        }
        if mode.contains('x') && mode.len() > 1 {
            return Err(self.err_at(2, "watchpoint mode x cannot be combined with r or w"));
        }
        let name = |what: &str| format!("{}:{what}:{len_n}:{mode}", self.kind.name());
        let target = |address, func_arg| Target::Watchpoint {
            address,
            func_arg,
            len: len_n as u8,
            mode: mode.clone(),
        };
        let Some((f, n)) = what.split_once("+arg") else {
            let address = self.number(what, "address", 0)?;
            return Ok(vec![self.one(name(what), target(Some(address), None))]);
        };
        let n: u8 = n.parse().ok().filter(|n| *n < 6).ok_or_else(|| {
            self.err_at(
                0,
                format!("invalid argument in '{what}': expected fn+argN with N in 0..5"),
            )
        })?;
        // `fn*+argN`: one watchpoint per matching function, by name. bpftrace 0.17 names it
        // `KIND:BINARY:FN[:N]:LEN:MODE` (BINARY as -c gave it, or /proc/PID/exe; N left out
        // when 0), which `probe` prints.
        let binary = match self.cx.pid {
            Some(pid) => format!("/proc/{pid}/exe"),
            None => self.cx.child_binary.unwrap_or_default().to_string(),
        };
        Ok(self
            .watched_functions(f, n)?
            .into_iter()
            .map(|fa| {
                let arg = if n == 0 {
                    String::new()
                } else {
                    format!(":{n}")
                };
                self.one(
                    name(&format!("{binary}:{}{arg}", fa.func)),
                    target(None, Some(fa)),
                )
            })
            .collect())
    }

    /// The functions `func` (a name, or a pattern with `*`) of a `fn+argN` watchpoint, in the
    /// program of `-p PID` or `-c CMD`, sorted by name.
    fn watched_functions(&self, func: &str, arg: u8) -> Result<Vec<FuncArg>, Diagnostic> {
        let path = match (self.cx.pid, self.cx.child_binary) {
            (Some(pid), _) => self
                .cx
                .catalog
                .resolve_binary("", Some(pid))
                .map_err(|e| self.err_at(0, e))?,
            (None, Some(child)) => child.to_string(),
            (None, None) => {
                return Err(self
                    .err_at(0, "a function watchpoint (fn+argN) needs -p PID or -c CMD")
                    .with_hint(
                        "the watched address comes from a function argument of that process",
                    ))
            }
        };
        let syms = self.catalog(self.cx.catalog.user_symbols(&path))?;
        let funcs = syms.iter().filter(|s| s.is_function);
        let mut found: Vec<_> = funcs
            .clone()
            .filter(|s| glob_match(func, &s.name))
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found.dedup_by(|a, b| a.name == b.name);
        if found.is_empty() {
            return Err(self
                .err_at(0, format!("function '{func}' not found in {path}"))
                .with_suggestion(func, funcs.map(|s| s.name.as_str())));
        }
        found
            .into_iter()
            .map(|s| {
                Ok(FuncArg {
                    func: s.name.clone(),
                    arg,
                    file_offset: self.file_offset(&path, s.address)?,
                    path: path.clone(),
                    address: s.address,
                })
            })
            .collect()
    }

    fn iter(&self, args: &[String]) -> Result<Vec<Attach>, Diagnostic> {
        self.arity(args, 1, 2)?;
        let kind = &args[0];
        if !ITER_KINDS.contains(&kind.as_str()) {
            return Err(self
                .err_at(0, format!("iter {kind} is not a known iterator"))
                .with_suggestion(kind, ITER_KINDS.iter().copied()));
        }
        Ok(vec![self.one(
            format!("iter:{kind}"),
            Target::Iter {
                kind: kind.clone(),
                pin: args.get(1).cloned(),
            },
        )])
    }
}

/// The target of a uprobe or USDT probe as probe names show it (the `probe` builtin,
/// listings): a path as the user wrote it (`./bin/app`), a library name resolved (`libc` is
/// `/lib/x86_64-linux-gnu/libc.so.6`), as bpftrace shows them.
pub fn shown_target<'a>(written: &'a str, resolved: &'a str) -> &'a str {
    if written.contains('/') {
        written
    } else {
        resolved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_respect_quotes() {
        assert_eq!(
            split_fields("uprobe:/bin/x:\"a:b\""),
            ["uprobe", "/bin/x", "a:b"]
        );
        assert_eq!(split_fields("BEGIN"), ["BEGIN"]);
        // A backslash in quotes keeps the next character: a USDT probe named `"probe1"`.
        let quoted = r#"usdt:./p:test:"\"probe1\"""#;
        assert_eq!(split_fields(quoted), ["usdt", "./p", "test", "\"probe1\""]);
        let spans = field_spans(quoted, Span::new(0, quoted.len()));
        assert_eq!(spans.last(), Some(&Span::new(14, quoted.len())));
    }

    #[test]
    fn params_substitute() {
        let p = vec!["/bin/ls".to_string(), "10".to_string()];
        assert_eq!(
            substitute_params("i:ms:$2", Span::default(), &p).unwrap(),
            "i:ms:10"
        );
        assert!(substitute_params("i:ms:$3", Span::default(), &p).is_err());
    }
}
