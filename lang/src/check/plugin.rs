//! Plugin items in programs: function calls (`NAME::fn(args)`, allowed only where user space
//! consumes the value), and the preamble's `plugin`/`format` declarations. Signatures come from
//! the [`super::Environment`]'s plugins (read from each plugin's descriptor by the host).

use crate::ast::{Expr, ExprId, ExprKind, Preamble};
use crate::diag::Diagnostic;
use crate::plugin::{ItemKind, PluginSignature, PluginType};
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

/// Where user space consumes values: the functions whose arguments may be plugin calls.
const USER_SPACE: &str = "printf(), print(), system() or cat()";

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
        let Some((_, item)) = self.plugin_item(name, *name_span) else {
            return Type::None;
        };
        let d = match item {
            ItemKind::Reducer(_) => Diagnostic::error(
                e.span,
                format!("{name}() is a plugin reducer: reducer maps are not supported yet by this scry"),
            )
            .with_hint("aggregate in the kernel (count, hist, stats) and post-process with a plugin function in printf()"),
            _ => Diagnostic::error(
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
        let Some((index, kind)) = self.plugin_item(name, name_span) else {
            return Type::None;
        };
        let ItemKind::Function { params, ret } = kind else {
            self.err(
                name_span,
                format!("{name} is not a function of its plugin ({kind_name}), so it cannot be called here", kind_name = kind_name(&kind)),
            );
            return Type::None;
        };
        let signature = signature(name, &params, ret);
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
        for (n, ((a, t), p)) in args.iter().zip(&types).zip(&params).enumerate() {
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
        if let Some((plugin, _)) = name.split_once("::") {
            self.plugin_calls.insert(
                id,
                PluginCall {
                    plugin: plugin.to_string(),
                    item: index,
                },
            );
        }
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

    /// `plugin` and `format` declarations: names and kinds known.
    pub(super) fn plugin_declarations(&mut self, preamble: &Preamble) {
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
        ItemKind::Reducer(_) => "it is a reducer",
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
