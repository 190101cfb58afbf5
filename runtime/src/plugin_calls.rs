//! Plugin function calls in a record: the kernel sent each call's arguments; user space calls
//! the plugin and puts the result in their place (docs/plugins.md).

use std::io;

use scry_ebpf::object::{ActionKind, Object, PluginCallSite, ValueLayout};
use scry_lang::types::Type;
use scry_stdlib::map::{Entry, MapDump, MapValue};
use scry_stdlib::plugin::{PluginCalls, ReducerRef};
use scry_stdlib::sink::Sink;
use scry_stdlib::value::Value;

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

/// What a reducer-map record asks: an update, a print, a clear, a zero or a delete.
pub fn reducer_record(
    kind: &ActionKind,
    args: &[Value],
    object: &Object,
    plugins: Option<&mut (dyn PluginCalls + 'static)>,
    sink: &mut dyn Sink,
) -> io::Result<()> {
    let Some(plugins) = plugins else {
        return Ok(());
    };
    let spec = |m: usize| {
        object.reducer_maps.get(m).map(|s| ReducerRef {
            map: m,
            plugin: &s.plugin,
            item: s.item,
        })
    };
    match *kind {
        ActionKind::Reduce(m) => {
            if let (Some(r), Some((value, keys))) = (spec(m), args.split_last()) {
                plugins.reduce(r, keys, value);
            }
        }
        ActionKind::PrintReducer(m) => {
            let top = match args.first() {
                Some(Value::Int(i)) => i.bits(),
                _ => 0,
            };
            print_reducer(object, m, plugins, sink, top)?;
        }
        ActionKind::ClearReducer(m) | ActionKind::ZeroReducer(m) => {
            if let Some(r) = spec(m) {
                plugins.reset(r, None, matches!(kind, ActionKind::ClearReducer(_)));
            }
        }
        ActionKind::DeleteReducer(m) => {
            if let Some(r) = spec(m) {
                plugins.reset(r, Some(args), true);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Prints reducer map `m` as a map whose values are the plugin's renderings (in key order;
/// `top` keeps the last `top` entries).
pub fn print_reducer(
    object: &Object,
    m: usize,
    plugins: &mut (dyn PluginCalls + 'static),
    sink: &mut dyn Sink,
    top: u64,
) -> io::Result<()> {
    let Some(spec) = object.reducer_maps.get(m) else {
        return Ok(());
    };
    let r = ReducerRef {
        map: m,
        plugin: &spec.plugin,
        item: spec.item,
    };
    let Some(entries) = plugins.entries(r) else {
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
