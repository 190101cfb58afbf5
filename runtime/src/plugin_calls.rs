//! Plugin function calls in a record: the kernel sent each call's arguments; user space calls
//! the plugin and puts the result in their place (docs/plugins.md).

use std::io;

use scry_ebpf::object::{ActionKind, Object, PluginCallSite, ValueLayout};
use scry_lang::types::Type;
use scry_stdlib::map::{Entry, MapDump, MapValue};
use scry_stdlib::plugin::{PluginCalls, ReducerRef};
use scry_stdlib::sink::Sink;
use scry_stdlib::value::Value;

/// Replaces the argument values of every call in `calls` with the call's result. False when a
/// call could not be made (the plugin failed or was dropped, which the plugin host reported):
/// the record is then not printed, never printed with a value missing.
pub fn substitute(
    args: &mut Vec<Value>,
    calls: &[PluginCallSite],
    plugins: Option<&mut (dyn PluginCalls + 'static)>,
) -> bool {
    let Some(plugins) = plugins else {
        return calls.is_empty();
    };
    // Back to front, so that the indexes of earlier calls stay valid.
    for site in calls.iter().rev() {
        let end = site.first + site.args;
        let Some(call_args) = args.get(site.first..end) else {
            return false;
        };
        let Some(mut result) = plugins.call(&site.plugin, site.item, &[call_args]) else {
            return false;
        };
        let Some(value) = result.pop() else {
            return false;
        };
        args.splice(site.first..end, [value]);
    }
    true
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
