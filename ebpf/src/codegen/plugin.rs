//! Plugin function calls in a record's arguments: the kernel sends the call's arguments, user
//! space makes the call (docs/plugins.md).

use scry_lang::ast::{Expr, ExprKind};

use super::gen::{Gen, R};
use crate::object::{ActionKind, PluginCallSite, ReducerMapSpec};

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

impl Gen<'_, '_> {
    /// The index of reducer map `name` in the object, created at first use.
    fn reducer_map(&mut self, name: &str) -> Option<usize> {
        let spec = self.b.typed.reducer_maps.get(name)?;
        if let Some(i) = self.b.obj.reducer_maps.iter().position(|m| m.name == name) {
            return Some(i);
        }
        let counts = self.b.kernel_counts(name, spec);
        let maps = &mut self.b.obj.reducer_maps;
        maps.push(ReducerMapSpec {
            name: name.to_string(),
            plugin: spec.plugin.clone(),
            item: spec.item,
            counts,
        });
        Some(maps.len() - 1)
    }

    /// `@m[keys] = p::r(value)` on a reducer map: a record with the keys and the value, or a
    /// count in the kernel for a weighted reducer. False for any other assignment.
    pub(crate) fn reducer_assign(&mut self, name: &str, keys: &[Expr], value: &Expr) -> R<bool> {
        let (Some(m), ExprKind::Call { args, .. }) = (self.reducer_map(name), &value.kind) else {
            return Ok(false);
        };
        let mut fields: Vec<Expr> = keys.to_vec();
        fields.extend(args.iter().cloned());
        match self.b.obj.reducer_maps[m].counts.clone() {
            Some(c) => self.count_reduce(m, &c, &fields, value)?,
            None => self.record(ActionKind::Reduce(m), &fields, value)?,
        }
        Ok(true)
    }

    /// `print`, `clear`, `zero` and `delete` of a reducer map; false for anything else.
    pub(crate) fn reducer_action(&mut self, e: &Expr, args: &[Expr]) -> R<bool> {
        let ExprKind::Call { name, .. } = &e.kind else {
            return Ok(false);
        };
        let Some(ExprKind::Map { name: map, keys }) = args.first().map(|a| &a.kind) else {
            return Ok(false);
        };
        if !matches!(name.as_str(), "print" | "clear" | "zero" | "delete") {
            return Ok(false);
        }
        let Some(m) = self.reducer_map(map) else {
            return Ok(false);
        };
        let (kind, args) = match name.as_str() {
            "print" => (ActionKind::PrintReducer(m), &args[1..]),
            "clear" => (ActionKind::ClearReducer(m), &[][..]),
            "zero" => (ActionKind::ZeroReducer(m), &[][..]),
            _ => (ActionKind::DeleteReducer(m), &keys[..]),
        };
        match self.b.obj.reducer_maps[m].counts.clone() {
            Some(c) => self.counts_record(kind, &c, args, e)?,
            None => self.record(kind, args, e)?,
        }
        Ok(true)
    }
}
