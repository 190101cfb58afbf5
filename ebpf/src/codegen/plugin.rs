//! Plugin function calls in a record's arguments: the kernel sends the call's arguments, user
//! space makes the call (docs/plugins.md).

use scry_lang::ast::{Expr, ExprKind};

use super::gen::Gen;
use crate::object::PluginCallSite;

impl Gen<'_, '_> {
    /// A record's arguments with each plugin call replaced by its own arguments, and where the
    /// calls stand among them.
    pub(crate) fn plugin_call_args<'e>(
        &self,
        args: &'e [Expr],
    ) -> (Vec<&'e Expr>, Vec<PluginCallSite>) {
        let mut flat = Vec::with_capacity(args.len());
        let mut calls = Vec::new();
        for a in args {
            match (&a.kind, self.b.typed.plugin_calls.get(&a.id)) {
                (
                    ExprKind::Call {
                        args: call_args, ..
                    },
                    Some(call),
                ) => {
                    calls.push(PluginCallSite {
                        first: flat.len(),
                        args: call_args.len(),
                        plugin: call.plugin.clone(),
                        item: call.item,
                    });
                    flat.extend(call_args);
                }
                _ => flat.push(a),
            }
        }
        (flat, calls)
    }
}
