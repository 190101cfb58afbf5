//! Text output exactly as bpftrace 0.17 prints it (reference §5): values, map entries, hist and
//! lhist bars, avg/stats lines, and the blank lines between and after them.
//!
//! Differences from 0.17, on purpose:
//! - `max()` of negative values prints the value (0.17 prints an empty line).
//! - Entries of maps whose values are `ksym`, `usym` or `inet` are separated by newlines (0.17
//!   runs them together on one line).
//! - Log2 histograms go past `[2G, 4G)` (see [`crate::hist`]).
//! - Entries with equal sort values are printed in key order (0.17 leaves them in the kernel's
//!   hash order).

use std::collections::BTreeMap;

use scry_ebpf::object::ValueLayout;
use scry_lang::types::Agg;

use crate::hist;
use crate::map::{MapDump, MapValue};
use crate::value::{format_buffer, stack_text, BufStyle, Value};

/// Width of a histogram bar.
const BAR_WIDTH: usize = 52;

/// A value as `print(value)` and map values show it (without a newline): integers in decimal
/// (signed or not as the value is), strings raw, buffers escaped, tuples `(1, x, (2, 3))`,
/// arrays `[3,4,5]`, opaque values as their text.
pub fn value(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, v, false);
    out
}

/// A value as map keys show it: like [`value`], but integers always signed (as 0.17 does).
pub fn key(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, v, true);
    out
}

fn write_value(out: &mut Vec<u8>, v: &Value, as_key: bool) {
    match v {
        Value::Int(i) if as_key => out.extend_from_slice(i.value.to_string().as_bytes()),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Str(s) => out.extend_from_slice(s),
        Value::Buffer(b) => out.extend(format_buffer(b, BufStyle::Escaped)),
        Value::Text(_, t) => out.extend_from_slice(t.as_bytes()),
        Value::Stack {
            user,
            perf_mode,
            frames,
        } => {
            let indent = if as_key { 4 } else { 8 };
            out.extend_from_slice(stack_text(*user, *perf_mode, frames, indent).as_bytes())
        }
        Value::Tuple(items) | Value::Array(items) => {
            let (open, sep, close): (&[u8], &[u8], &[u8]) = match v {
                Value::Tuple(_) => (b"(", b", ", b")"),
                _ => (b"[", b",", b"]"),
            };
            out.extend_from_slice(open);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(sep);
                }
                write_value(out, item, as_key);
            }
            out.extend_from_slice(close);
        }
        // `{ .a = 1, .b = 2 }`; as a map key `{.a=1,.b=2}` (bpftrace 0.17).
        Value::Struct(fields) => {
            let (open, eq, sep, close): (&[u8], &[u8], &[u8], &[u8]) = if as_key {
                (b"{", b"=", b",", b"}")
            } else {
                (b"{ ", b" = ", b", ", b" }")
            };
            out.extend_from_slice(open);
            for (i, (name, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(sep);
                }
                out.push(b'.');
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(eq);
                write_value(out, item, as_key);
            }
            out.extend_from_slice(close);
        }
    }
}

/// `print(value)`: the value and a newline.
pub fn print_value(v: &Value) -> Vec<u8> {
    let mut out = value(v);
    out.push(b'\n');
    out
}

/// A whole map as `print(@m, top, div)` and the exit dump show it. `top` 0 shows every entry,
/// `div` 0 divides by 1. Plain and count/sum/min/max maps end with one newline, avg/stats maps
/// with an extra blank line, hist/lhist entries with a blank line each; an empty map prints an
/// empty line (two for avg/stats).
pub fn map(dump: &MapDump, top: u64, div: u64) -> Vec<u8> {
    let div = div.max(1);
    let mut out = Vec::new();
    let entries = dump.sorted(top);
    for (i, entry) in entries.iter().enumerate() {
        // A stack value ends in a newline already: 0.17 adds no separator after it.
        let after_stack =
            i > 0 && matches!(entries[i - 1].value, MapValue::Plain(Value::Stack { .. }));
        if i > 0 && !after_stack {
            out.push(b'\n');
        }
        out.push(b'@');
        out.extend_from_slice(dump.name.as_bytes());
        if !entry.keys.is_empty() {
            out.push(b'[');
            for (j, k) in entry.keys.iter().enumerate() {
                if j > 0 {
                    out.extend_from_slice(b", ");
                }
                out.extend(key(k));
            }
            out.push(b']');
        }
        out.extend_from_slice(b": ");
        match &entry.value {
            MapValue::Plain(Value::Int(i)) => out.extend(i.div_by(div).to_string().bytes()),
            MapValue::Plain(v) => out.extend(value(v)),
            MapValue::Count(c) => out.extend((c / div).to_string().bytes()),
            MapValue::Sum(i) | MapValue::Min(i) | MapValue::Max(i) => {
                out.extend(i.div_by(div).to_string().bytes())
            }
            MapValue::Avg { count, total } => {
                let avg = MapValue::average(*count, *total).div_by(div);
                out.extend(avg.to_string().bytes())
            }
            MapValue::Stats { count, total } => out.extend(
                format!(
                    "count {count}, average {}, total {total}",
                    MapValue::average(*count, *total)
                )
                .bytes(),
            ),
            MapValue::Hist(buckets) => {
                out.push(b'\n');
                out.extend(hist_lines(buckets, div, None, hist::hist_label));
            }
            MapValue::Rendered { text, .. } => out.extend_from_slice(text.as_bytes()),
            MapValue::Lhist(buckets) => {
                let (min, max, step) = lhist_params(&dump.value);
                let last = hist::lhist_ranges(min, max, step) + 1;
                out.push(b'\n');
                out.extend(hist_lines(buckets, 1, Some(last), |i| {
                    hist::lhist_label(i, min, max, step)
                }));
            }
        }
    }
    out.push(b'\n');
    if matches!(dump.value, ValueLayout::Agg(Agg::Avg | Agg::Stats)) {
        out.push(b'\n');
    }
    out
}

/// The range of an lhist map (a zero-width default if the layout is not one).
pub fn lhist_params(layout: &ValueLayout) -> (i64, i64, i64) {
    match layout {
        ValueLayout::Agg(Agg::Lhist { min, max, step }) => (*min, *max, *step),
        _ => (0, 0, 1),
    }
}

/// The buckets worth showing (also what plugins receive): from the first to the last non-zero one (zeros between kept;
/// none if all are zero), up to bucket `last` if given.
pub fn shown_buckets(buckets: &BTreeMap<u64, u64>, last: Option<u64>) -> Vec<(u64, u64)> {
    let nonzero = || {
        buckets
            .iter()
            .filter(|&(&i, &c)| c > 0 && last.is_none_or(|l| i <= l))
            .map(|(&i, _)| i)
    };
    let (Some(lo), Some(hi)) = (nonzero().next(), nonzero().next_back()) else {
        return Vec::new();
    };
    (lo..=hi)
        .map(|i| (i, buckets.get(&i).copied().unwrap_or(0)))
        .collect()
}

/// Bar lines: label left-justified in 16 columns, count (divided by `div`) right-justified in
/// 8, ` |`, the bar left-justified in 52, `|`. The bar is `count / max * 52` computed in
/// single-precision floating point, as 0.17 does, then truncated.
fn hist_lines(
    buckets: &BTreeMap<u64, u64>,
    div: u64,
    last: Option<u64>,
    label: impl Fn(u64) -> String,
) -> Vec<u8> {
    let rows = shown_buckets(buckets, last);
    let max = rows.iter().map(|&(_, c)| c).max().unwrap_or(0);
    let mut out = String::new();
    for (i, count) in rows {
        let bar = (count as f32 / max as f32 * BAR_WIDTH as f32) as usize;
        out.push_str(&format!(
            "{:<16}{:>8} |{:<BAR_WIDTH$}|\n",
            label(i),
            count / div,
            "@".repeat(bar.min(BAR_WIDTH))
        ));
    }
    out.into_bytes()
}
