//! Reducer maps on the host's side: keys interned to the ABI's dense numbers (stable for the
//! run, also after a delete), updates batched into one `scry_reduce` per map and drain, values
//! rendered by `scry_render`, `delete`/`clear`/`zero` through `scry_reset`.

use std::collections::{BTreeMap, HashMap};

use scry_lang::plugin::{Folding, ItemKind};
use scry_stdlib::plugin::ReducerRef;
use scry_stdlib::value::Value;

use crate::layout::Writer;
use crate::plugins::Plugins;

/// Most updates sent in one `scry_reduce` call.
const BATCH_MAX: u32 = 4096;

/// The keys of one reducer map.
#[derive(Default)]
pub struct KeyTable {
    keys: Vec<Vec<Value>>,
    ids: HashMap<Vec<Value>, u32>,
    /// Whether each key holds a value now (not deleted or cleared since).
    live: Vec<bool>,
}

impl KeyTable {
    fn intern(&mut self, keys: &[Value]) -> u32 {
        if let Some(&id) = self.ids.get(keys) {
            self.live[id as usize] = true;
            return id;
        }
        let id = self.keys.len() as u32;
        self.keys.push(keys.to_vec());
        self.ids.insert(keys.to_vec(), id);
        self.live.push(true);
        id
    }
}

/// Updates not sent yet, by (plugin index, item, map).
#[derive(Default)]
pub struct Pending {
    batches: BTreeMap<(usize, u32, usize), (Writer, u32)>,
}

impl Plugins {
    fn table(&mut self, map: usize) -> &mut KeyTable {
        if self.tables.len() <= map {
            self.tables.resize_with(map + 1, KeyTable::default);
        }
        &mut self.tables[map]
    }

    fn label(&self, i: usize, hook: &str, item: u32) -> String {
        match self.list[i].signature.items.get(item as usize) {
            Some(it) => format!("{hook} {}", it.name),
            None => hook.to_string(),
        }
    }

    /// Queues one update (`value` seen `weight` times); sends the batch when it is full. A
    /// weighted reducer's update carries its weight (ABI 1.1); any other reducer gets the
    /// value `weight` times.
    pub(crate) fn reduce(
        &mut self,
        r: ReducerRef<'_>,
        keys: &[Value],
        value: u64,
        weight: u64,
    ) -> bool {
        let Some(i) = self.alive(r.plugin) else {
            return false;
        };
        let weighted = matches!(
            self.list[i].signature.items.get(r.item as usize).map(|it| &it.kind),
            Some(ItemKind::Reducer(_, folding)) if *folding != Folding::PerEvent
        );
        let id = self.table(r.map).intern(keys);
        let updates = if weighted { 1 } else { weight };
        for _ in 0..updates {
            let (w, count) = self.pending.batches.entry((i, r.item, r.map)).or_default();
            w.u32(id);
            w.u64(value);
            if weighted {
                w.u64(weight);
            }
            *count += 1;
            if *count >= BATCH_MAX {
                self.send_reduces();
            }
        }
        true
    }

    /// Sends every queued update (end of a drain, and before anything reads reducer state).
    pub(crate) fn send_reduces(&mut self) {
        for ((i, item, map), (w, count)) in std::mem::take(&mut self.pending.batches) {
            if self.list[i].is_dead() {
                continue;
            }
            let label = self.label(i, "scry_reduce", item);
            let done =
                self.list[i].call_status("scry_reduce", &label, &w.buf, |s, inst, ptr, len| {
                    inst.get_typed_func::<(i32, i32, i32, i32, i32), i32>(&mut *s, "scry_reduce")?
                        .call(s, (item as i32, map as i32, ptr, len, count as i32))
                });
            self.outcome(i, done);
        }
    }

    /// Every live key of the map with the plugin's text and JSON for its value.
    pub(crate) fn entries(
        &mut self,
        r: ReducerRef<'_>,
    ) -> Option<Vec<(Vec<Value>, String, String)>> {
        self.send_reduces();
        let i = self.alive(r.plugin)?;
        let label = self.label(i, "scry_render", r.item);
        let keys: Vec<(u32, Vec<Value>)> = {
            let t = self.table(r.map);
            (0..t.keys.len())
                .filter(|&k| t.live[k])
                .map(|k| (k as u32, t.keys[k].clone()))
                .collect()
        };
        let mut out = Vec::with_capacity(keys.len());
        for (id, key) in keys {
            let mut render = |format: i32| {
                let done = self.list[i].call_slice_only(&label, |s, inst| {
                    inst.get_typed_func::<(i32, i32, i32, i32), i64>(&mut *s, "scry_render")?
                        .call(s, (r.item as i32, r.map as i32, id as i32, format))
                });
                self.outcome(i, done)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
            };
            let text = render(0)?;
            let json = render(1)?;
            out.push((key, text, json));
        }
        Some(out)
    }

    /// `delete(@m[keys])`, `clear(@m)` (`forget`, no keys), `zero(@m)`.
    pub(crate) fn reset(
        &mut self,
        r: ReducerRef<'_>,
        keys: Option<&[Value]>,
        forget: bool,
    ) -> bool {
        self.send_reduces();
        let Some(i) = self.alive(r.plugin) else {
            return false;
        };
        let key = match keys {
            Some(k) => match self.table(r.map).ids.get(k) {
                Some(&id) => id as i32,
                // A key never folded: nothing to delete.
                None => return true,
            },
            None => -1,
        };
        let label = self.label(i, "scry_reset", r.item);
        let mode = if forget { 0 } else { 1 };
        let done = self.list[i].call_status_only("scry_reset", &label, |s, inst| {
            inst.get_typed_func::<(i32, i32, i32, i32), i32>(&mut *s, "scry_reset")?
                .call(s, (r.item as i32, r.map as i32, key, mode))
        });
        if forget {
            let t = self.table(r.map);
            match key {
                -1 => t.live.iter_mut().for_each(|l| *l = false),
                k => t.live[k as usize] = false,
            }
        }
        self.outcome(i, done).is_some()
    }
}
