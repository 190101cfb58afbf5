//! What crosses into a plugin about the run: maps (`scry_format`, sink records) and sink
//! records, in the layouts of docs/plugins.md (the run description is [`crate::description`]).

use scry_ebpf::object::ValueLayout;
use scry_lang::types::Agg;
use scry_stdlib::hist;
use scry_stdlib::map::{MapDump, MapValue};
use scry_stdlib::sink::Message;
use scry_stdlib::text::{lhist_params, shown_buckets};
use scry_stdlib::value::Value;

use crate::layout::Writer;

/// Map kinds: 0 scalar, 1 hist, 2 lhist, 3 stats (4, reducer maps, by their values).
pub fn map_kind(layout: &ValueLayout) -> u8 {
    match layout {
        ValueLayout::Agg(Agg::Hist) => 1,
        ValueLayout::Agg(Agg::Lhist { .. }) => 2,
        ValueLayout::Agg(Agg::Stats) => 3,
        _ => 0,
    }
}

/// The formatter kind (`scalar`, `hist`, `lhist`, `stats`, `reducer`) of a map kind.
pub fn kind_name(kind: u8) -> &'static str {
    ["scalar", "hist", "lhist", "stats", "reducer"]
        .get(kind as usize)
        .copied()
        .unwrap_or("reducer")
}

/// The kind of a map as printed: 4 when a reducer rendered its values.
pub fn dump_kind(dump: &MapDump) -> u8 {
    let reducer = dump
        .entries
        .iter()
        .any(|e| matches!(e.value, MapValue::Rendered { .. }));
    if reducer {
        4
    } else {
        map_kind(&dump.value)
    }
}

/// `map`: name, kind, entries in print order (`top` as `print(@m, top)` gives).
pub fn map(w: &mut Writer, dump: &MapDump, top: u64) {
    w.str(dump.name.as_bytes());
    w.u8(dump_kind(dump));
    let entries = dump.sorted(top);
    w.u32(entries.len() as u32);
    for e in entries {
        w.u32(e.keys.len() as u32);
        e.keys.iter().for_each(|k| w.tagged(k));
        match &e.value {
            MapValue::Plain(v) => w.tagged(v),
            MapValue::Rendered { text, .. } => w.str(text.as_bytes()),
            MapValue::Count(c) => w.tagged(&Value::uint(*c)),
            MapValue::Sum(i) | MapValue::Min(i) | MapValue::Max(i) => w.tagged(&Value::Int(*i)),
            MapValue::Avg { count, total } => {
                w.tagged(&Value::Int(MapValue::average(*count, *total)))
            }
            MapValue::Stats { count, total } => {
                w.u64(*count);
                w.u64(MapValue::average(*count, *total).bits());
                w.u64(total.bits());
            }
            MapValue::Hist(b) => buckets(w, &shown_buckets(b, None), hist::hist_range),
            MapValue::Lhist(b) => {
                let (min, max, step) = lhist_params(&dump.value);
                let last = hist::lhist_ranges(min, max, step) + 1;
                buckets(w, &shown_buckets(b, Some(last)), |i| {
                    hist::lhist_range(i, min, max, step)
                });
            }
        }
    }
}

/// `u32 buckets, (i64 low, i64 high, u64 count) * buckets`, high exclusive.
fn buckets(
    w: &mut Writer,
    rows: &[(u64, u64)],
    range: impl Fn(u64) -> (Option<i128>, Option<i128>),
) {
    w.u32(rows.len() as u32);
    for &(i, count) in rows {
        let (lo, hi) = range(i);
        let clamp = |v: i128| v.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        w.u64(lo.map_or(i64::MIN, clamp) as u64);
        w.u64(hi.map_or(i64::MAX, |h| clamp(h + 1)) as u64);
        w.u64(count);
    }
}

/// Sink record 1: a line of text output.
pub fn line(w: &mut Writer, kind: Message, text: &[u8]) {
    w.u8(1);
    w.u8(match kind {
        Message::Printf => 0,
        Message::Time => 1,
        Message::Cat => 2,
        Message::Syscall => 3,
        Message::Join => 4,
    });
    w.str(text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_stdlib::map::Entry;

    #[test]
    fn hist_map_layout() {
        let dump = MapDump {
            name: "h".into(),
            value: ValueLayout::Agg(Agg::Hist),
            entries: vec![Entry {
                keys: vec![],
                value: MapValue::Hist([(1, 2), (3, 5)].into_iter().collect()),
            }],
        };
        let mut w = Writer::default();
        map(&mut w, &dump, 0);
        let mut want = vec![1, 0, 0, 0, b'h', 1, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0];
        // [0, 1): 2; [1, 2): 0; [2, 4): 5.
        for (lo, hi, n) in [(0i64, 1i64, 2u64), (1, 2, 0), (2, 4, 5)] {
            want.extend(lo.to_le_bytes());
            want.extend(hi.to_le_bytes());
            want.extend(n.to_le_bytes());
        }
        assert_eq!(w.buf, want);
    }
}
