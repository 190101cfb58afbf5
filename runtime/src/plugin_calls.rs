//! Plugin function calls in a record: the kernel sent each call's arguments; user space calls
//! the plugin and puts the result in their place (docs/plugins.md).

use std::io;

use scry_ebpf::object::{ActionKind, Object, PluginCallSite, ValueLayout};
use scry_lang::types::Type;
use scry_stdlib::map::{Entry, MapDump, MapValue};
use scry_stdlib::names::Names;
use scry_stdlib::plugin::{PluginCalls, ReducerRef};
use scry_stdlib::sink::Sink;
use scry_stdlib::value::Value;

use crate::load::Loaded;
use crate::reducer_counts::CountsSeen;

/// Records held back until their plugin calls are made: the action id and the decoded
/// arguments of each, in the order they arrived.
pub type Held = Vec<(usize, Vec<Value>)>;

/// Makes the plugin calls of every record in `held` in one batch per plugin function (one
/// `scry_call` for all the calls of a drain to that function), and replaces each call's
/// argument values with its result. Returns, by record, whether all its calls were made: a
/// record with a call that could not be made (the plugin failed or was dropped, which the
/// plugin host reported) is not printed, never printed with a value missing.
pub fn substitute_batched(
    held: &mut Held,
    object: &Object,
    plugins: &mut (dyn PluginCalls + 'static),
) -> Vec<bool> {
    // By call site of each record: its result, once the batch of its function returned.
    let mut results: Vec<Vec<Option<Value>>> = Vec::with_capacity(held.len());
    // Each function called, in the order of first use, with (record, site) of each call.
    let mut batches: Vec<(&PluginCallSite, Vec<(usize, usize)>)> = Vec::new();
    for (r, (id, _)) in held.iter().enumerate() {
        let sites = sites(object, *id);
        results.push(vec![None; sites.len()]);
        for (s, site) in sites.iter().enumerate() {
            match batches
                .iter_mut()
                .find(|(f, _)| f.plugin == site.plugin && f.item == site.item)
            {
                Some((_, calls)) => calls.push((r, s)),
                None => batches.push((site, vec![(r, s)])),
            }
        }
    }
    for (function, calls) in &batches {
        let lists: Option<Vec<&[Value]>> = calls
            .iter()
            .map(|&(r, s)| {
                let site = &sites(object, held[r].0)[s];
                held[r].1.get(site.first..site.first + site.args)
            })
            .collect();
        let Some(lists) = lists else { continue };
        let Some(values) = plugins.call(&function.plugin, function.item, &lists) else {
            continue;
        };
        if values.len() == calls.len() {
            for (&(r, s), v) in calls.iter().zip(values) {
                results[r][s] = Some(v);
            }
        }
    }
    held.iter_mut()
        .zip(results)
        .map(|((id, args), results)| {
            // Back to front, so that the indexes of earlier calls stay valid.
            for (site, result) in sites(object, *id).iter().zip(results).rev() {
                let Some(value) = result else { return false };
                args.splice(site.first..site.first + site.args, [value]);
            }
            true
        })
        .collect()
}

/// The plugin call sites of action `id`.
fn sites(object: &Object, id: usize) -> &[PluginCallSite] {
    object.actions.get(id).map_or(&[], |a| &a.calls)
}

/// Where a reducer-map record is handled: the program, its maps, what was sent of their kernel
/// counts, the plugins.
pub struct ReducerContext<'a> {
    pub object: &'a Object,
    pub loaded: &'a Loaded,
    pub names: &'a dyn Names,
    pub counts: &'a mut CountsSeen,
    pub plugins: &'a mut (dyn PluginCalls + 'static),
}

/// What a reducer-map record asks: an update, a print, a clear, a zero or a delete. A map the
/// kernel counts first gets what was counted before the record (its last field, `before`).
pub fn reducer_record(
    kind: &ActionKind,
    args: &[Value],
    mut cx: ReducerContext<'_>,
    sink: &mut dyn Sink,
) -> io::Result<()> {
    let object = cx.object;
    let spec = |m: usize| {
        object.reducer_maps.get(m).map(|s| ReducerRef {
            map: m,
            plugin: &s.plugin,
            item: s.item,
        })
    };
    let (ActionKind::Reduce(m)
    | ActionKind::PrintReducer(m)
    | ActionKind::ClearReducer(m)
    | ActionKind::ZeroReducer(m)
    | ActionKind::DeleteReducer(m)) = *kind
    else {
        return Ok(());
    };
    let counted = object
        .reducer_maps
        .get(m)
        .is_some_and(|s| s.counts.is_some());
    let (args, before) = match (counted, kind, args.split_last()) {
        (true, ActionKind::Reduce(_), _) | (false, ..) | (_, _, None) => (args, None),
        (true, _, Some((Value::Int(b), rest))) => (rest, Some(b.bits())),
        (true, _, Some(_)) => (args, None),
    };
    if let (Some(before), false) = (before, matches!(kind, ActionKind::PrintReducer(_))) {
        cx.drain(m, before)?;
    }
    match *kind {
        ActionKind::Reduce(_) => {
            if let (Some(r), Some((value, keys))) = (spec(m), args.split_last()) {
                let bits = match value {
                    Value::Int(n) => n.bits(),
                    _ => 0,
                };
                cx.plugins.reduce(r, keys, bits, 1);
            }
        }
        ActionKind::PrintReducer(_) => {
            let top = match args.first() {
                Some(Value::Int(i)) => i.bits(),
                _ => 0,
            };
            print_reducer(&mut cx, m, before.unwrap_or(u64::MAX), sink, top)?;
            if let Some(before) = before {
                cx.counts.retire(object, cx.loaded, m, before)?;
            }
        }
        _ => {
            if let Some(r) = spec(m) {
                match kind {
                    ActionKind::DeleteReducer(_) => cx.plugins.reset(r, Some(args), true),
                    _ => cx
                        .plugins
                        .reset(r, None, matches!(kind, ActionKind::ClearReducer(_))),
                };
            }
            if let Some(before) = before {
                cx.counts.retire(object, cx.loaded, m, before)?;
            }
        }
    }
    Ok(())
}

impl ReducerContext<'_> {
    /// Sends the plugin what the kernel counted for reducer map `m` in the generations below
    /// `before` (nothing for a map without kernel counts).
    pub fn drain(&mut self, m: usize, before: u64) -> io::Result<()> {
        self.counts.drain(
            self.object,
            self.loaded,
            m,
            before,
            self.plugins,
            self.names,
        )
    }
}

/// Prints reducer map `m` as a map whose values are the plugin's renderings (in key order;
/// `top` keeps the last `top` entries), after what the kernel counted for it in the
/// generations below `before` (`u64::MAX`: everything, as at exit).
pub fn print_reducer(
    cx: &mut ReducerContext<'_>,
    m: usize,
    before: u64,
    sink: &mut dyn Sink,
    top: u64,
) -> io::Result<()> {
    let object = cx.object;
    let Some(spec) = object.reducer_maps.get(m) else {
        return Ok(());
    };
    cx.drain(m, before)?;
    let r = ReducerRef {
        map: m,
        plugin: &spec.plugin,
        item: spec.item,
    };
    let Some(entries) = cx.plugins.entries(r) else {
        return Ok(());
    };
    let dump = MapDump {
        name: spec.name.clone(),
        value: ValueLayout::Plain(Type::Str(0)),
        entries: entries
            .into_iter()
            .map(|(keys, text, json)| Entry {
                keys,
                value: MapValue::Rendered { text, json },
            })
            .collect(),
    };
    sink.map(&dump, top, 0)
}
