//! The checker: resolves probes, infers and checks types, and enforces the language's rules.
//!
//! It runs over the program twice. The first pass only learns the type of every map (a map's
//! first assignment fixes its type, wherever a read of it stands); the second pass checks
//! everything with those types known and reports.

mod builtins;
mod calls;
mod consts;
mod expr;
mod plugin;
mod stmt;

use std::collections::{BTreeMap, HashMap};

pub use builtins::{arg_index, builtin_type, BUILTIN_NAMES, DEFAULT_STACK_LIMIT};
pub use calls::signal_number;
pub use plugin::{PluginCall, ReducerMap};

use crate::ast::{ExprId, Program};
use crate::attach::{self, Attach, AttachContext};
use crate::catalog::{Catalog, KernelFunction, UserFunction};
use crate::cdefs::{CDefs, CRecord};
use crate::diag::Diagnostic;
use crate::format::Piece;
use crate::functions::{self, Gen, Signature};
use crate::plugin::{ItemKind, PluginSignature};
use crate::probe::{Args, ProbeKind};
use crate::span::Span;
use crate::tracepoint_format::TracepointFormat;
use crate::types::Type;

/// Settings that change what a program means.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Positional parameters (`$1` is `params[0]`).
    pub params: Vec<String>,
    /// `-p PID`.
    pub pid: Option<u32>,
    /// `-c CMD` was given (`cpid` exists).
    pub has_child: bool,
    /// `-c CMD`: the command's program file (function watchpoints find their function there).
    pub child_binary: Option<String>,
    /// `--unsafe` was given (`system`, `signal`, `override` allowed).
    pub unsafe_mode: bool,
    /// BPFTRACE_STRLEN: size of `str()` buffers, NUL included.
    pub strlen: usize,
    /// `-I DIR`: directories `#include` searches.
    pub include_dirs: Vec<String>,
    /// `--include FILE`: headers read before the program.
    pub include_files: Vec<String>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            params: Vec::new(),
            pid: None,
            has_child: false,
            child_binary: None,
            unsafe_mode: false,
            strlen: 64,
            include_dirs: Vec::new(),
            include_files: Vec::new(),
        }
    }
}

/// The type of a map: its key types (empty for `@x`) and value type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapType {
    pub keys: Vec<Type>,
    pub value: Type,
    /// Where the map was first assigned.
    pub span: Span,
}

/// A checked probe block.
#[derive(Clone, Debug)]
pub struct TypedProbe {
    /// Every concrete attach point, after wildcard expansion.
    pub attaches: Vec<Attach>,
    /// Scratch variables of the block and their types.
    pub vars: BTreeMap<String, Type>,
}

/// The checker's result: the program's types, for the code generator.
#[derive(Clone, Debug, Default)]
pub struct TypedProgram {
    /// Parallel to `Program::probes`.
    pub probes: Vec<TypedProbe>,
    pub maps: BTreeMap<String, MapType>,
    /// The type of every expression, indexed by [`ExprId`].
    pub types: Vec<Type>,
    /// Parsed format strings of printf-like calls, by the call's [`ExprId`].
    pub formats: HashMap<ExprId, Vec<Piece>>,
    /// Tracepoint formats used by `args`, by `category:event`.
    pub tracepoints: BTreeMap<String, TracepointFormat>,
    /// Event ids of the `syscalls:` tracepoints attached to, by `category:event` (many of them
    /// may be served by one raw_syscalls program, which must know them).
    pub tracepoint_ids: BTreeMap<String, u64>,
    /// Prototypes (from BTF) of the kernel functions of kfunc/kretfunc probes, by name.
    pub kernel_functions: BTreeMap<String, KernelFunction>,
    /// Parameters (from DWARF) of the functions of uprobes that read `args`, by (binary path,
    /// function).
    pub user_functions: BTreeMap<(String, String), UserFunction>,
    pub cdefs: CDefs,
    /// Values of calls computed at compile time (`kaddr`, `cgroupid`), by the call's [`ExprId`].
    pub constants: HashMap<ExprId, u64>,
    /// How each call is compiled (its signature's key), by the call's [`ExprId`].
    pub calls: HashMap<ExprId, Gen>,
    /// Plugin function calls (made in user space), by the call's [`ExprId`].
    pub plugin_calls: HashMap<ExprId, PluginCall>,
    /// Maps a plugin reducer folds (in user space), by name.
    pub reducer_maps: BTreeMap<String, ReducerMap>,
}

impl TypedProgram {
    pub fn type_of(&self, id: ExprId) -> &Type {
        &self.types[id.0 as usize]
    }
}

/// What the sources checked earlier in a session fixed; a new source is checked against it.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    /// The maps created so far. Their types are fixed: a map's layout in the kernel cannot
    /// change, so a later source may use a map only as it was first typed.
    pub maps: BTreeMap<String, MapType>,
    /// C definitions so far: the preambles' structs, unions and enums, and kernel records used.
    pub cdefs: CDefs,
    /// Functions registered from outside the language (plugins' among them, by
    /// [`Environment::set_plugins`]), checked from the same table as builtins.
    pub functions: Vec<Signature>,
    /// The plugins loaded, with what each declares (the host reads their descriptors; set by
    /// [`Environment::set_plugins`]).
    plugins: BTreeMap<String, PluginSignature>,
}

impl Environment {
    /// Takes in what a checked source added.
    pub fn learn(&mut self, typed: &TypedProgram) {
        for (name, m) in &typed.maps {
            self.maps.entry(name.clone()).or_insert_with(|| m.clone());
        }
        self.cdefs.extend(&typed.cdefs);
    }

    /// The plugins loaded (replacing those set before: the REPL loads more during a session):
    /// their reducers and formatters, and each function in the function table as
    /// `PLUGIN::NAME` ([`Signature::plugin_function`]).
    pub fn set_plugins(&mut self, plugins: BTreeMap<String, PluginSignature>) {
        self.functions.retain(|s| s.plugin.is_none());
        for (name, sig) in &plugins {
            for (index, item) in sig.items.iter().enumerate() {
                if let ItemKind::Function { params, ret } = &item.kind {
                    // `PLUGIN::NAME` is no builtin's name, and plugin names are unique.
                    self.functions.push(Signature::plugin_function(
                        name,
                        index as u32,
                        &item.name,
                        params,
                        *ret,
                    ));
                }
            }
        }
        self.plugins = plugins;
    }

    /// Registers a function from outside the language; refused when its name is taken.
    pub fn register_function(&mut self, sig: Signature) -> Result<(), String> {
        let name = &sig.name;
        if functions::builtin(name).is_some() || self.functions.iter().any(|s| s.name == *name) {
            return Err(format!("a function named {name} already exists"));
        }
        self.functions.push(sig);
        Ok(())
    }
}

/// Checks a parsed program on its own.
pub fn check(
    program: &Program,
    catalog: &dyn Catalog,
    opts: &CheckOptions,
) -> (TypedProgram, Vec<Diagnostic>) {
    check_in(program, catalog, opts, &Environment::default())
}

/// Checks a parsed program against what earlier sources of a session fixed: their maps (which
/// it may read, update and must type as they are) and their C definitions (which its own
/// preamble may override).
pub fn check_in(
    program: &Program,
    catalog: &dyn Catalog,
    opts: &CheckOptions,
    env: &Environment,
) -> (TypedProgram, Vec<Diagnostic>) {
    // The preamble may hold the kernel's structs by value (`struct foo { struct task_struct
    // t; }`): those it names are looked up in BTF first.
    let mut known = env.cdefs.clone();
    for name in CDefs::records_named(&program.preamble.c_defs) {
        if let std::collections::btree_map::Entry::Vacant(slot) = known.records.entry(name) {
            if let Ok(Some(r)) = catalog.kernel_record(slot.key()) {
                slot.insert(r);
            }
        }
    }
    let (mut cdefs, mut diags) = CDefs::from_definitions(&program.preamble.c_defs, known);
    let cx = AttachContext {
        catalog,
        params: &opts.params,
        pid: opts.pid,
        child_binary: opts.child_binary.as_deref(),
        unsafe_mode: opts.unsafe_mode,
    };
    let mut attaches = Vec::new();
    let mut tracepoints = BTreeMap::new();
    let mut tracepoint_ids = BTreeMap::new();
    let mut kernel_functions = BTreeMap::new();
    let mut user_functions = BTreeMap::new();
    // Per probe, the kinds of its attach points that were left out (with a warning).
    let mut left_out = Vec::new();
    for probe in &program.probes {
        let mut list = Vec::new();
        let mut skipped = Vec::new();
        for ap in &probe.attach_points {
            match attach::resolve(&ap.text, ap.span, &cx) {
                Ok(mut found) => {
                    // A wildcard keeps the functions BTF describes; a name must be one.
                    let wild = ap.text.contains('*');
                    found.retain(|a| {
                        match kernel_function(a, ap.span, catalog, &mut kernel_functions) {
                            Ok(()) => true,
                            Err(d) => {
                                if !wild {
                                    diags.push(d);
                                }
                                false
                            }
                        }
                    });
                    list.extend(found)
                }
                Err(d) => {
                    if !d.is_error() {
                        skipped.extend(attach::provider_kind(&ap.text));
                    }
                    diags.push(d)
                }
            }
        }
        left_out.push(skipped);
        for a in &list {
            if let attach::Target::Tracepoint { category, event } = &a.target {
                if category == "syscalls" {
                    if let Ok(Some(id)) = catalog.tracepoint_id(category, event) {
                        tracepoint_ids.insert(format!("{category}:{event}"), id);
                    }
                }
            }
        }
        if probe_uses_args(probe) {
            for a in &list {
                match &a.target {
                    attach::Target::Tracepoint { category, event } => {
                        if let Ok(Some(f)) = catalog.tracepoint_format(category, event) {
                            tracepoints.insert(format!("{category}:{event}"), f);
                        }
                    }
                    attach::Target::User {
                        path,
                        symbol: Some(func),
                        ..
                    } if a.kind.descriptor().context.args == Args::Dwarf => {
                        if let Ok(Some(f)) = catalog.user_function(path, func) {
                            user_functions.insert((path.clone(), func.clone()), f);
                        }
                    }
                    _ => {}
                }
            }
        }
        attaches.push(list);
    }

    // Learn map types: first from what is assigned; then once more with a map read before it
    // has any type taken as an integer (`@n = @n + 1` is how counters start).
    let pass = |maps, report| {
        let mut c = Checker::new(
            program,
            opts,
            catalog,
            &cdefs,
            &attaches,
            &tracepoints,
            env,
            maps,
            report,
        );
        c.plugins = &env.plugins;
        c.left_out = &left_out;
        c
    };
    let mut maps = env.maps.clone();
    let mut reducer_maps = BTreeMap::new();
    for guess in [false, true] {
        let mut learn = pass(maps, false);
        learn.guess_unknown_maps = guess;
        learn.reducer_maps = reducer_maps;
        learn.run();
        maps = learn.maps;
        reducer_maps = learn.reducer_maps;
    }
    let mut checker = pass(maps, true);
    checker.reducer_maps = reducer_maps;
    checker.plugin_declarations(&program.preamble);
    checker.run();
    diags.append(&mut checker.diags);
    let Checker {
        maps,
        types,
        formats,
        probe_vars,
        constants,
        calls,
        kernel_records,
        plugin_calls,
        reducer_maps,
        ..
    } = checker;
    // The code generator finds kernel records where it finds the preamble's.
    for (name, record) in kernel_records {
        cdefs.records.entry(name).or_insert(record);
    }
    let probes = attaches
        .into_iter()
        .zip(probe_vars)
        .map(|(attaches, vars)| TypedProbe { attaches, vars })
        .collect();
    let typed = TypedProgram {
        probes,
        maps,
        types,
        formats,
        tracepoints,
        tracepoint_ids,
        kernel_functions,
        user_functions,
        cdefs,
        constants,
        calls,
        plugin_calls,
        reducer_maps,
    };
    (typed, diags)
}

/// Reads the prototype of a kfunc/kretfunc attach point's function from BTF into `found`.
fn kernel_function(
    a: &Attach,
    span: Span,
    catalog: &dyn Catalog,
    found: &mut BTreeMap<String, KernelFunction>,
) -> Result<(), Diagnostic> {
    let (Args::Btf, attach::Target::KernelFunction { func, .. }) =
        (a.kind.descriptor().context.args, &a.target)
    else {
        return Ok(());
    };
    if found.contains_key(func) {
        return Ok(());
    }
    match catalog.kernel_function(func) {
        Ok(Some(proto)) => {
            found.insert(func.clone(), proto);
            Ok(())
        }
        Ok(None) => Err(Diagnostic::error(
            span,
            format!("{}: the kernel's BTF describes no function {func}", a.name),
        )
        .with_hint("kfunc probes need the function's type; list them with: scry -l 'kfunc:*'")),
        Err(e) => Err(Diagnostic::error(span, format!("{}: {e}", a.name))),
    }
}

fn probe_uses_args(probe: &crate::ast::Probe) -> bool {
    let mut found = false;
    probe.walk_exprs(&mut |e| {
        if matches!(&e.kind, crate::ast::ExprKind::Ident(n) if n == "args") {
            found = true;
        }
    });
    found
}

/// State of one checking pass.
struct Checker<'a> {
    program: &'a Program,
    opts: &'a CheckOptions,
    catalog: &'a dyn Catalog,
    cdefs: &'a CDefs,
    attaches: &'a [Vec<Attach>],
    /// Per probe, the kinds of attach points left out: its block is still checked as theirs.
    left_out: &'a [Vec<ProbeKind>],
    tracepoints: &'a BTreeMap<String, TracepointFormat>,
    /// What earlier sources fixed: their maps' types may not change.
    env: &'a Environment,
    /// Whether this pass reports (the learning pass does not).
    report: bool,
    /// In the second learning pass: a map read before any type is known is an integer.
    guess_unknown_maps: bool,
    diags: Vec<Diagnostic>,
    maps: BTreeMap<String, MapType>,
    types: Vec<Type>,
    formats: HashMap<ExprId, Vec<Piece>>,
    constants: HashMap<ExprId, u64>,
    calls: HashMap<ExprId, Gen>,
    /// Kernel structs and unions read from the catalog (BTF) so far, by full name.
    kernel_records: BTreeMap<String, CRecord>,
    probe_vars: Vec<BTreeMap<String, Type>>,
    /// The probe being checked: its attach points, variables and loop depth.
    current: Option<usize>,
    vars: HashMap<String, (Type, Span)>,
    loop_depth: usize,
    /// The plugins loaded (from the environment).
    plugins: &'a BTreeMap<String, PluginSignature>,
    plugin_calls: HashMap<ExprId, PluginCall>,
    reducer_maps: BTreeMap<String, ReducerMap>,
}

/// No plugins (until the environment's are set).
static NO_PLUGINS: BTreeMap<String, PluginSignature> = BTreeMap::new();

impl<'a> Checker<'a> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        program: &'a Program,
        opts: &'a CheckOptions,
        catalog: &'a dyn Catalog,
        cdefs: &'a CDefs,
        attaches: &'a [Vec<Attach>],
        tracepoints: &'a BTreeMap<String, TracepointFormat>,
        env: &'a Environment,
        maps: BTreeMap<String, MapType>,
        report: bool,
    ) -> Self {
        Checker {
            program,
            opts,
            catalog,
            cdefs,
            attaches,
            left_out: &[],
            tracepoints,
            env,
            report,
            guess_unknown_maps: false,
            diags: Vec::new(),
            maps,
            types: vec![Type::None; program.expr_count as usize],
            formats: HashMap::new(),
            constants: HashMap::new(),
            calls: HashMap::new(),
            kernel_records: BTreeMap::new(),
            probe_vars: Vec::new(),
            current: None,
            vars: HashMap::new(),
            loop_depth: 0,
            plugins: &NO_PLUGINS,
            plugin_calls: HashMap::new(),
            reducer_maps: BTreeMap::new(),
        }
    }

    fn error(&mut self, d: Diagnostic) {
        if self.report {
            self.diags.push(d);
        }
    }

    fn err(&mut self, span: Span, msg: impl Into<String>) {
        self.error(Diagnostic::error(span, msg));
    }

    fn warn(&mut self, span: Span, msg: impl Into<String>) {
        self.error(Diagnostic::warning(span, msg));
    }

    /// The kinds of the current probe's attach points (deduplicated), those left out
    /// included.
    fn kinds(&self) -> Vec<ProbeKind> {
        let mut kinds: Vec<ProbeKind> = self
            .current
            .map(|i| {
                let left_out = self.left_out.get(i).into_iter().flatten();
                self.attaches[i]
                    .iter()
                    .map(|a| a.kind)
                    .chain(left_out.copied())
                    .collect()
            })
            .unwrap_or_default();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    fn run(&mut self) {
        let program = self.program;
        for (i, probe) in program.probes.iter().enumerate() {
            self.current = Some(i);
            self.vars.clear();
            self.loop_depth = 0;
            if let Some(pred) = &probe.predicate {
                let t = self.expr(pred);
                self.condition(&t, pred.span, "predicate");
            }
            self.block(&probe.body);
            let vars = self
                .vars
                .iter()
                .map(|(k, (t, _))| (k.clone(), t.clone()))
                .collect();
            self.probe_vars.push(vars);
        }
    }

    /// A predicate or condition must be an integer or pointer.
    fn condition(&mut self, t: &Type, span: Span, what: &str) {
        if !(t.is_int() || t.is_pointer() || matches!(t, Type::None) || self.is_int_agg(t)) {
            self.error(
                Diagnostic::error(span, format!("Invalid type for {what}: {t}")).with_hint(
                    "a condition must be an integer (non-zero is true); compare strings with ==",
                ),
            );
        }
    }

    fn is_int_agg(&self, t: &Type) -> bool {
        matches!(t, Type::Agg(a) if a.reads_as_int())
    }
}

#[cfg(test)]
mod tests;
