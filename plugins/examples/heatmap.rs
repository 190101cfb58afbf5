//! heatmap: two formatters of hist maps, chosen per map with `format @m = NAME::sparkline;`
//! or `format @m = NAME::heatmap;`.
//!
//! `sparkline`: one line per key, each bucket bpftrace would print as one bar of eight
//! heights (the key's largest bucket is a full bar, an empty bucket a space), then the range
//! and the number of values:
//!
//! ```text
//! @lat[bash]: ▁▃█▅▂ [4, 128) n=120
//! ```
//!
//! `heatmap`: one row per key, one column per bucket (the same columns for every key, from
//! the lowest bucket of any key to the highest), each cell one of ` ░▒▓█` by its count
//! against the largest count of the whole map (a cell is █ from 3/4 of it, a space only when
//! empty):
//!
//! ```text
//! @lat: heatmap of 5 buckets [4, 128), █ = 64
//! bash |▓█▒░ |
//! sshd | ░▒█▓|
//! ```
//!
//! Bounds are written as bpftrace writes hist bounds: a multiple of 1024 with K, M, G, T, P
//! or E. Every map ends with an empty line, as bpftrace ends each map it prints.

use std::fmt::Write;

use scry_guest::{Bucket, Map, Plugin, Result, Value, Writer};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const SHADES: [char; 4] = ['░', '▒', '▓', '█'];

/// `v` as bpftrace labels hist buckets: 1024 -> 1K, 3 << 20 -> 3M.
fn short(v: i64) -> String {
    let mut v = v;
    let mut unit = 0;
    while v != 0 && v % 1024 == 0 && unit < 6 {
        v /= 1024;
        unit += 1;
    }
    format!("{}{}", v, ["", "K", "M", "G", "T", "P", "E"][unit])
}

/// `ceil(count * levels / max)`: 0 for an empty bucket, else 1 ..= levels.
fn level(count: u64, max: u64, levels: u64) -> usize {
    if count == 0 || max == 0 {
        return 0;
    }
    ((count as u128 * levels as u128 + max as u128 - 1) / max as u128) as usize
}

fn buckets<'a>(value: &'a Value) -> Result<&'a [Bucket]> {
    match value {
        Value::Buckets(b) => Ok(b),
        _ => Err("heatmap and sparkline format hist and lhist maps".into()),
    }
}

#[derive(Default)]
struct Heatmap;

impl Heatmap {
    fn sparkline(map: &Map, out: &mut Writer) -> Result {
        for e in &map.entries {
            let b = buckets(&e.value)?;
            out.text(&map.shown_name());
            if !e.key.is_empty() {
                out.text("[");
                out.key_text(&e.key);
                out.text("]");
            }
            out.text(": ");
            let max = b.iter().map(|b| b.count).max().unwrap_or(0);
            for bucket in b {
                match level(bucket.count, max, 8) {
                    0 => out.text(" "),
                    l => write!(out, "{}", BARS[l - 1])?,
                }
            }
            let n: u64 = b.iter().map(|b| b.count).sum();
            match (b.first(), b.last()) {
                (Some(first), Some(last)) => {
                    writeln!(out, " [{}, {}) n={}", short(first.low), short(last.high), n)?
                }
                _ => writeln!(out, "n=0")?,
            }
        }
        out.text("\n");
        Ok(())
    }

    fn heatmap(map: &Map, out: &mut Writer) -> Result {
        let mut columns: Vec<(i64, i64)> = Vec::new();
        let mut max = 0;
        for e in &map.entries {
            for b in buckets(&e.value)? {
                columns.push((b.low, b.high));
                max = max.max(b.count);
            }
        }
        columns.sort_unstable();
        columns.dedup();
        let rows: Vec<String> = map
            .entries
            .iter()
            .map(|e| {
                let mut w = Writer::default();
                w.key_text(&e.key);
                String::from_utf8_lossy(&w.bytes).into_owned()
            })
            .collect();
        let width = rows.iter().map(|r| r.chars().count()).max().unwrap_or(0);
        match (columns.first(), columns.last()) {
            (Some(first), Some(last)) => writeln!(
                out,
                "{}: heatmap of {} buckets [{}, {}), {} = {}",
                map.shown_name(),
                columns.len(),
                short(first.0),
                short(last.1),
                SHADES[3],
                max
            )?,
            _ => writeln!(out, "{}: heatmap of no buckets", map.shown_name())?,
        }
        for (e, row) in map.entries.iter().zip(&rows) {
            write!(out, "{:<width$} |", row, width = width)?;
            let b = buckets(&e.value)?;
            for col in &columns {
                let count = b.iter().find(|b| (b.low, b.high) == *col).map_or(0, |b| b.count);
                match level(count, max, 4) {
                    0 => out.text(" "),
                    l => write!(out, "{}", SHADES[l - 1])?,
                }
            }
            out.text("|\n");
        }
        out.text("\n");
        Ok(())
    }
}

impl Plugin for Heatmap {
    const DESCRIPTOR: &'static str = "formatter sparkline(hist)\nformatter heatmap(hist)\n";

    fn format(&mut self, item: u32, map: &Map, out: &mut Writer) -> Result {
        match item {
            0 => Self::sparkline(map, out),
            _ => Self::heatmap(map, out),
        }
    }
}

scry_guest::plugin!(Heatmap: format);
