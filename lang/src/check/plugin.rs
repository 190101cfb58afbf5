//! Plugin items in programs: function calls (`NAME::fn(args)`, allowed only where user space
//! consumes the value), and the preamble's `plugin`/`format` declarations. Signatures come from
//! the [`super::Environment`]: a function's from the function table (where its plugin
//! registered it), a reducer's or formatter's from the plugin's declarations.

use crate::ast::{Expr, ExprId, ExprKind, Preamble};
use crate::diag::Diagnostic;
use crate::functions::PluginFunction;
use crate::plugin::{Folding, ItemKind, PluginSignature, PluginType};
use crate::span::Span;
use crate::types::Type;

use super::Checker;

/// A plugin function call the code generator sends the arguments of, and user space makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginCall {
    /// The plugin's name.
    pub plugin: String,
    /// The function's item index in the plugin's descriptor.
    pub item: u32,
}

/// A map whose values a plugin reducer folds in user space (`@m[k] = p::r(v)`): the kernel
/// sends each key and value, or (a weighted reducer) counts them and user space sends the
/// counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReducerMap {
    /// Key types (empty for a map without keys).
    pub keys: Vec<Type>,
    /// The plugin's name.
    pub plugin: String,
    /// The reducer's item index.
    pub item: u32,
    /// The reducer's value type.
    pub value: PluginType,
    /// How the reducer takes its values.
    pub folding: Folding,
    /// Where it was first assigned.
    pub span: Span,
}

/// Where user space consumes values: the functions whose arguments may be plugin calls.
const USER_SPACE: &str = "printf(), print(), system() or cat()";

impl<'a> Checker<'a> {
    /// Plugin function `name` (`plugin::fn`), from the function table.
    fn function(&self, name: &str) -> Option<&'a PluginFunction> {
        self.signature(name)?.plugin.as_ref()
    }
}

impl Checker<'_> {
    /// An argument of `consumer`: where user space consumes it (printf, print, system, cat;
    /// not debugf, which the kernel formats) a plugin function call is allowed; anything else
    /// is checked as usual.
    pub(super) fn user_value(&mut self, consumer: &str, e: &Expr) -> Type {
        match &e.kind {
            _ if consumer == "debugf" => self.expr(e),
            ExprKind::Call {
                name,
                name_span,
                args,
            } if name.contains("::") => self.plugin_call(e.id, e.span, name, *name_span, args),
            _ => self.expr(e),
        }
    }

    /// A plugin call where the kernel consumes the value: refused, saying why.
    pub(super) fn plugin_call_in_kernel(&mut self, e: &Expr) -> Type {
        let ExprKind::Call {
            name, name_span, ..
        } = &e.kind
        else {
            return Type::None;
        };
        let reducer = match self.function(name) {
            Some(_) => false,
            None => match self.plugin_item(name, *name_span) {
                Some((_, kind)) => matches!(kind, ItemKind::Reducer(..)),
                None => return Type::None,
            },
        };
        let d = match reducer {
            true => Diagnostic::error(
                e.span,
                format!("{name}() is a plugin reducer: it folds values into a map, and has no value here"),
            )
            .with_hint(format!("assign it to a map: @m[key] = {name}(value)")),
            false => Diagnostic::error(
                e.span,
                format!(
                    "{name}() runs in user space, after the kernel has sent the event: its value cannot be used here, where the kernel consumes it"
                ),
            )
            .with_hint(format!(
                "predicates, map keys, arithmetic and aggregation arguments run in the kernel; call plugin functions in the arguments of {USER_SPACE}"
            )),
        };
        self.error(d);
        Type::None
    }

    /// `plugin::fn(args)` in user space: the item must be a function; arity and argument types
    /// are checked against its signature.
    fn plugin_call(
        &mut self,
        id: ExprId,
        span: Span,
        name: &str,
        name_span: Span,
        args: &[Expr],
    ) -> Type {
        let types: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
        let Some(f) = self.function(name) else {
            // Not in the function table: no such plugin or item, or not a function.
            if let Some((_, kind)) = self.plugin_item(name, name_span) {
                self.err(
                    name_span,
                    format!("{name} is not a function of its plugin ({kind_name}), so it cannot be called here", kind_name = kind_name(&kind)),
                );
            }
            return Type::None;
        };
        let (params, ret) = (&f.params, f.ret);
        let signature = signature(name, params, ret);
        if args.len() != params.len() {
            self.error(
                Diagnostic::error(
                    span,
                    format!(
                        "{name}() takes {} argument{} ({} provided)",
                        params.len(),
                        if params.len() == 1 { "" } else { "s" },
                        args.len()
                    ),
                )
                .with_hint(format!("the plugin declares {signature}")),
            );
            return Type::None;
        }
        for (n, ((a, t), p)) in args.iter().zip(&types).zip(params).enumerate() {
            let fits = match p {
                PluginType::I64 | PluginType::U64 => t.is_int(),
                PluginType::Str => t.prints_as_string(),
            };
            if !fits && *t != Type::None {
                let want = if *p == PluginType::Str {
                    "a string"
                } else {
                    "an integer"
                };
                self.error(
                    Diagnostic::error(
                        a.span,
                        format!(
                            "{name}(): argument {} must be {want} ({p}); '{t}' supplied",
                            n + 1
                        ),
                    )
                    .with_hint(format!("the plugin declares {signature}")),
                );
            }
        }
        self.plugin_calls.insert(
            id,
            PluginCall {
                plugin: f.plugin.clone(),
                item: f.item,
            },
        );
        match ret {
            PluginType::I64 => Type::Int {
                bits: 64,
                signed: true,
            },
            PluginType::U64 => Type::Int {
                bits: 64,
                signed: false,
            },
            PluginType::Str => Type::Str(self.opts.strlen),
        }
    }

    /// The item `name` (`plugin::item`) names, or an error at its span.
    fn plugin_item(&mut self, name: &str, span: Span) -> Option<(u32, ItemKind)> {
        let (plugin, item) = name.split_once("::")?;
        let Some(sig) = self.plugins.get(plugin) else {
            self.error(
                Diagnostic::error(span, format!("no plugin named '{plugin}' is loaded"))
                    .with_hint(format!(
                        "load it with --plugin {plugin}=PATH, or declare it before the probes: plugin {plugin} = \"PATH\";"
                    )),
            );
            return None;
        };
        match sig.item(item) {
            Some((i, it)) => Some((i, it.kind.clone())),
            None => {
                let d = Diagnostic::error(span, format!("plugin {plugin} has no item '{item}'"))
                    .with_hint(declared(sig));
                self.error(d);
                None
            }
        }
    }

    /// `@name[keys] = plugin::reducer(value)`: a reducer map.
    pub(super) fn reducer_assign(
        &mut self,
        name: &str,
        keys: &[Expr],
        target: &Expr,
        value: &Expr,
    ) {
        let ExprKind::Call {
            name: f,
            name_span,
            args,
        } = &value.kind
        else {
            return;
        };
        let key_types = self.map_keys(name, keys, target.span);
        let arg_types: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
        let Some((item, kind)) = self.plugin_item(f, *name_span) else {
            return;
        };
        let ItemKind::Reducer(t, folding) = kind else {
            self.error(
                Diagnostic::error(
                    value.span,
                    format!("{f} is not a reducer of its plugin ({}): a map can only be assigned a reducer's values", kind_name(&kind)),
                )
                .with_hint(format!("plugin functions run in user space: call them in the arguments of {USER_SPACE}")),
            );
            return;
        };
        if args.len() != 1 {
            self.err(
                value.span,
                format!(
                    "{f}() takes 1 argument, the value to fold ({} provided)",
                    args.len()
                ),
            );
            return;
        }
        if !arg_types[0].is_int() && arg_types[0] != Type::None {
            self.err(
                args[0].span,
                format!(
                    "{f}(): the value must be an integer ({t}); '{}' supplied",
                    arg_types[0]
                ),
            );
            return;
        }
        if self.maps.contains_key(name) {
            self.err(
                target.span,
                format!("@{name} is also assigned in the kernel: a reducer's map holds only the reducer's values"),
            );
            return;
        }
        let Some(keys) = key_types else {
            return;
        };
        let plugin = f.split_once("::").map_or("", |(p, _)| p).to_string();
        match self.reducer_maps.get(name) {
            Some(r) if r.plugin != plugin || r.item != item || r.keys.len() != keys.len() => {
                let first = r.span;
                self.error(
                    Diagnostic::error(
                        value.span,
                        format!(
                            "@{name} already folds its values with another reducer or other keys"
                        ),
                    )
                    .with_note(first, "first assigned here"),
                );
            }
            Some(_) => {}
            None => {
                self.reducer_maps.insert(
                    name.to_string(),
                    ReducerMap {
                        keys,
                        plugin,
                        item,
                        value: t,
                        folding,
                        span: target.span,
                    },
                );
            }
        }
    }

    /// A read of a reducer map's value: refused (the value lives in the plugin).
    pub(super) fn reducer_map_read(&mut self, name: &str, span: Span) -> Type {
        self.error(
            Diagnostic::error(
                span,
                format!("@{name} is folded by a plugin reducer in user space: the kernel cannot read its values"),
            )
            .with_hint(format!("print it with print(@{name}), or keep a kernel map beside it")),
        );
        Type::None
    }

    /// Whether `print`, `clear`, `zero` or `delete` is called on a reducer map.
    pub(super) fn on_reducer_map(&self, args: &[Expr]) -> bool {
        matches!(args.first().map(|a| &a.kind), Some(ExprKind::Map { name, .. }) if self.reducer_maps.contains_key(name))
    }

    /// `print(@m[, top])`, `clear(@m)`, `zero(@m)`, `delete(@m[k])` on a reducer map.
    pub(super) fn reducer_map_op(&mut self, func: &str, e: &Expr, args: &[Expr]) -> Type {
        let Some(ExprKind::Map { name, keys }) = args.first().map(|a| &a.kind) else {
            return Type::None;
        };
        let arg = &args[0];
        let max = if func == "print" { 3 } else { 1 };
        if args.len() > max {
            self.err(
                e.span,
                format!(
                    "{func}() takes at most {max} argument{} here",
                    if max == 1 { "" } else { "s" }
                ),
            );
        }
        for a in &args[1..] {
            if !self.expr(a).is_int() {
                self.err(a.span, format!("{func}(): top and div are integers"));
            }
        }
        let want = self.reducer_maps.get(name).map_or(0, |r| r.keys.len());
        match (func, keys.is_empty()) {
            ("delete", true) if want > 0 => self.error(
                Diagnostic::error(
                    arg.span,
                    format!("delete() needs a key: @{name} is indexed by {want} key(s)"),
                )
                .with_hint(format!(
                    "delete one entry with delete(@{name}[key]), all of them with clear(@{name})"
                )),
            ),
            ("delete", _) => {
                if let Some(k) = self.map_keys(name, keys, arg.span) {
                    if k.len() != want {
                        self.err(
                            arg.span,
                            format!("@{name} is indexed by {want} key(s), not {}", k.len()),
                        );
                    }
                }
            }
            (_, false) => self.err(
                arg.span,
                format!("The map passed to {func}() should not be indexed by a key"),
            ),
            _ => {}
        }
        Type::None
    }

    /// `plugin` and `format` declarations: names and kinds known.
    pub(super) fn plugin_declarations(&mut self, preamble: &Preamble) {
        // The command line loads declared plugins before checking; a host that did not (the
        // REPL) must not ignore them in silence.
        for p in &preamble.plugins {
            if !self.plugins.contains_key(&p.name) {
                self.error(
                    Diagnostic::error(p.span, format!("plugin {} is declared but was not loaded", p.name))
                        .with_hint("plugins are loaded when a script starts (scry FILE, scry -e); give them with --plugin NAME=PATH"),
                );
            }
        }
        for f in &preamble.formats {
            let name = format!("{}::{}", f.plugin, f.formatter);
            match self.plugin_item(&name, f.span) {
                Some((_, ItemKind::Formatter(_))) => {}
                Some((_, kind)) => self.err(
                    f.span,
                    format!(
                        "{name} is not a formatter of its plugin ({})",
                        kind_name(&kind)
                    ),
                ),
                None => {}
            }
        }
    }
}

fn kind_name(kind: &ItemKind) -> &'static str {
    match kind {
        ItemKind::Function { .. } => "it is a function",
        ItemKind::Reducer(..) => "it is a reducer",
        ItemKind::Formatter(_) => "it is a formatter",
    }
}

fn signature(name: &str, params: &[PluginType], ret: PluginType) -> String {
    let params: Vec<&str> = params.iter().map(|p| p.as_str()).collect();
    format!("{name}({}) -> {ret}", params.join(", "))
}

/// The items a plugin declares, for a hint.
fn declared(sig: &PluginSignature) -> String {
    if sig.items.is_empty() {
        return "it declares no functions, reducers or formatters".into();
    }
    let items: Vec<String> = sig.items.iter().map(|i| i.to_string()).collect();
    format!("it declares: {}", items.join("; "))
}
