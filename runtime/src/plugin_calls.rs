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
    fn drain(&mut self, m: usize, before: u64) -> io::Result<()> {
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
