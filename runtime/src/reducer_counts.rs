//! A weighted reducer's kernel counts turned into weighted updates (docs/plugins.md, "Weighted
//! reducers"). The kernel only ever adds to a count; user space keeps what it last sent of
//! each entry and sends the difference, so nothing races with a delete. It does so before
//! anything reads or resets the map, for the generations counted before that record.

use std::collections::HashMap;
use std::io;

use scry_ebpf::object::{KernelCounts, Object};
use scry_stdlib::decode::decode;
use scry_stdlib::names::Names;
use scry_stdlib::plugin::{PluginCalls, ReducerRef};
use scry_stdlib::value::Value;

use crate::load::{Loaded, Map};

/// What user space has sent of one counts entry: its count, and (rounded) the smallest and
/// largest exact value among them.
#[derive(Clone, Copy, Default)]
struct Seen {
    count: u64,
    min: u64,
    max: u64,
}

/// What was sent of one reducer map's counts.
#[derive(Default)]
struct MapSeen {
    entries: HashMap<Vec<u8>, Seen>,
    /// `before` of the last record that moved the map to a new generation (a print or a
    /// reset): the entries of older generations are final.
    closed: u64,
}

/// What was sent of every reducer map's kernel counts, by reducer map.
#[derive(Default)]
pub struct CountsSeen {
    maps: Vec<MapSeen>,
}

/// One entry's sum over the CPUs: (count, smallest, largest).
fn total(map: &Map, value: &[u8], c: &KernelCounts) -> Seen {
    let word = |b: &[u8], i: usize| {
        b.get(i * 8..i * 8 + 8)
            .and_then(|w| w.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    };
    let mut out = Seen::default();
    for cpu in map.per_cpu(value) {
        let n = word(cpu, 0);
        if n == 0 {
            continue;
        }
        let (lo, hi) = (word(cpu, 1), word(cpu, 2));
        if out.count == 0 {
            (out.min, out.max) = (lo, hi);
        } else {
            out.min = extreme(c.signed, out.min, lo, true);
            out.max = extreme(c.signed, out.max, hi, false);
        }
        out.count += n;
    }
    out
}

/// The smaller (`min`) or larger of two values' bits, compared as `signed` says.
fn extreme(signed: bool, a: u64, b: u64, min: bool) -> u64 {
    let less = if signed {
        (b as i64) < (a as i64)
    } else {
        b < a
    };
    if less == min {
        b
    } else {
        a
    }
}

impl CountsSeen {
    /// Forgets the reducer maps from index `len` on (a source taken back).
    pub fn truncate(&mut self, len: usize) {
        self.maps.truncate(len);
    }

    fn map(&mut self, m: usize) -> &mut MapSeen {
        if self.maps.len() <= m {
            self.maps.resize_with(m + 1, MapSeen::default);
        }
        &mut self.maps[m]
    }

    /// Sends the plugin what the kernel counted in reducer map `m`, in the generations below
    /// `before`, since the last time. Nothing for a map without kernel counts.
    pub fn drain(
        &mut self,
        object: &Object,
        loaded: &Loaded,
        m: usize,
        before: u64,
        plugins: &mut dyn PluginCalls,
        names: &dyn Names,
    ) -> io::Result<()> {
        let Some(spec) = object.reducer_maps.get(m) else {
            return Ok(());
        };
        let Some(c) = &spec.counts else {
            return Ok(());
        };
        let r = ReducerRef {
            map: m,
            plugin: &spec.plugin,
            item: spec.item,
        };
        let map = &loaded.maps[c.map];
        let seen = self.map(m);
        for (key, value) in map.entries()? {
            let word = |at: usize| {
                key.get(at..at + 8)
                    .and_then(|w| w.try_into().ok())
                    .map_or(0, u64::from_le_bytes)
            };
            let (rounded, generation) = (word(c.value), word(c.value + 8));
            if generation >= before {
                continue;
            }
            let now = total(map, &value, c);
            let was = seen.entries.get(&key).copied().unwrap_or_default();
            let delta = now.count.saturating_sub(was.count);
            if delta == 0 {
                continue;
            }
            let keys: Vec<Value> = c
                .keys
                .iter()
                .map(|f| decode(&f.ty, key.get(f.offset..).unwrap_or(&[]), names))
                .collect();
            if c.rounded.is_none() {
                plugins.reduce(r, &keys, rounded, delta);
            } else {
                for (v, w) in rounded_updates(c.signed, was, now, rounded, delta) {
                    plugins.reduce(r, &keys, v, w);
                }
            }
            seen.entries.insert(key, now);
        }
        Ok(())
    }

    /// After a print or reset record of reducer map `m` ending with `before` was handled: the
    /// entries of generations below the previous such record's are final (drained twice
    /// since), so they go, from the kernel too.
    pub fn retire(
        &mut self,
        object: &Object,
        loaded: &Loaded,
        m: usize,
        before: u64,
    ) -> io::Result<()> {
        let Some(c) = object.reducer_maps.get(m).and_then(|s| s.counts.as_ref()) else {
            return Ok(());
        };
        let map = &loaded.maps[c.map];
        let seen = self.map(m);
        let closed = std::mem::replace(&mut seen.closed, before);
        for key in map.keys()? {
            let generation = key
                .get(c.value + 8..c.value + 16)
                .and_then(|w| w.try_into().ok())
                .map_or(0, u64::from_le_bytes);
            if generation < closed {
                map.delete(&key)?;
                seen.entries.remove(&key);
            }
        }
        Ok(())
    }
}

/// The updates standing for `delta` more values of a rounded entry (`rounded`, their bucket):
/// a new smallest or largest value goes exact, with weight 1, the rest as the bucket.
fn rounded_updates(
    signed: bool,
    was: Seen,
    now: Seen,
    rounded: u64,
    delta: u64,
) -> Vec<(u64, u64)> {
    if was.count == 0 && now.min == now.max {
        return vec![(now.min, delta)];
    }
    let mut out = Vec::with_capacity(3);
    let new_min = was.count == 0 || extreme(signed, was.min, now.min, true) != was.min;
    let new_max = was.count == 0 || extreme(signed, was.max, now.max, false) != was.max;
    if new_min {
        out.push((now.min, 1));
    }
    if new_max && delta > out.len() as u64 {
        out.push((now.max, 1));
    }
    let rest = delta - out.len() as u64;
    if rest > 0 {
        out.push((rounded, rest));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(count: u64, min: i64, max: i64) -> Seen {
        Seen {
            count,
            min: min as u64,
            max: max as u64,
        }
    }

    #[test]
    fn extremes_go_exact_and_the_rest_as_the_bucket() {
        // First drain: 5 values in bucket 128 from 129 to 131.
        let u = rounded_updates(true, Seen::default(), seen(5, 129, 131), 128, 5);
        assert_eq!(u, [(129, 1), (131, 1), (128, 3)]);
        // All equal: one exact update.
        let u = rounded_updates(true, Seen::default(), seen(4, 7, 7), 7, 4);
        assert_eq!(u, [(7, 4)]);
        // Later: a new smallest (negative), the largest unchanged.
        let u = rounded_updates(true, seen(5, -3, 131), seen(8, -5, 131), -4i64 as u64, 3);
        assert_eq!(u, [(-5i64 as u64, 1), (-4i64 as u64, 2)]);
        // Unsigned: 2^63 is the largest, not the smallest.
        let big = 1u64 << 63;
        let u = rounded_updates(
            false,
            seen(1, 1, 1),
            Seen {
                count: 2,
                min: 1,
                max: big,
            },
            big,
            1,
        );
        assert_eq!(u, [(big, 1)]);
    }
}
