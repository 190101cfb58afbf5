//! `-f json` output: one object per line, with bpftrace 0.17's `": "` and `", "` separators
//! (and `,` without a space inside tuples and arrays).
//!
//! Differences from 0.17, on purpose, so that every line is valid JSON:
//! - `timestamp`, `macaddr`, `cgroup_path` and `strerror` values are quoted strings (0.17
//!   prints them bare: `{"type": "value", "data": No such file or directory}`).
//! - Bytes from 0x80 up are written as they are (0.17 writes `\uffffffc3` for 0xc3), so UTF-8
//!   text stays UTF-8.

use std::collections::BTreeMap;

use scry_ebpf::object::ValueLayout;
use scry_lang::types::Agg;

use crate::hist;
use crate::map::{MapDump, MapValue};
use crate::text;
use crate::value::{format_buffer, BufStyle, Value};

/// `s` as a JSON string body: `"` `\` newline, carriage return and tab escaped with a
/// backslash, other bytes below 0x20 as `\u00XX`.
pub fn escape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..0x20 => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out
}

/// `s` as a quoted JSON string.
fn quoted(s: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    out.extend(escape(s));
    out.push(b'"');
    out
}

/// A value as JSON: integers as numbers, strings, buffers and opaque values as strings, tuples
/// and arrays as `[1,"x"]`.
pub fn value(v: &Value) -> Vec<u8> {
    match v {
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Str(s) => quoted(s),
        Value::Buffer(b) => quoted(&format_buffer(b, BufStyle::Escaped)),
        Value::Text(_, t) => quoted(t.as_bytes()),
        Value::Stack { .. } => quoted(&text::value(v)),
        Value::Tuple(items) | Value::Array(items) => {
            let mut out = vec![b'['];
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend(value(item));
            }
            out.push(b']');
            out
        }
        // `{ "a": 1, "b": 2 }` (bpftrace 0.17).
        Value::Struct(fields) => {
            let mut out = b"{ ".to_vec();
            for (i, (name, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                out.extend(quoted(name.as_bytes()));
                out.extend_from_slice(b": ");
                out.extend(value(item));
            }
            out.extend_from_slice(b" }");
            out
        }
    }
}

/// A message whose data is a string: `{"type": "printf", "data": "hi\n"}` and a newline.
pub fn message(kind: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("{{\"type\": \"{kind}\", \"data\": ").into_bytes();
    out.extend(quoted(data));
    out.extend_from_slice(b"}\n");
    out
}

/// A message whose data is one named number: `{"type": "lost_events", "data": {"events": 3}}`
/// and a newline.
pub fn count_message(kind: &str, field: &str, n: u64) -> Vec<u8> {
    format!("{{\"type\": \"{kind}\", \"data\": {{\"{field}\": {n}}}}}\n").into_bytes()
}

/// `print(value)`: `{"type": "value", "data": 123}` and a newline.
pub fn print_value(v: &Value) -> Vec<u8> {
    let mut out = b"{\"type\": \"value\", \"data\": ".to_vec();
    out.extend(value(v));
    out.extend_from_slice(b"}\n");
    out
}

/// A whole map: `{"type": "map", "data": {"@x": 5}}`, keyed maps as `{"@m": {"k1,k2": v, ...}}`;
/// type `stats` for avg and stats maps, `hist` for hist and lhist. An empty map writes nothing.
/// `top` and `div` work as in text output.
pub fn map(dump: &MapDump, top: u64, div: u64) -> Vec<u8> {
    let entries = dump.sorted(top);
    if entries.is_empty() {
        return Vec::new();
    }
    let div = div.max(1);
    let kind = match dump.value {
        ValueLayout::Agg(Agg::Avg | Agg::Stats) => "stats",
        ValueLayout::Agg(Agg::Hist | Agg::Lhist { .. }) => "hist",
        _ => "map",
    };
    let keyed = entries.iter().any(|e| !e.keys.is_empty());
    let mut out = format!("{{\"type\": \"{kind}\", \"data\": ").into_bytes();
    out.push(b'{');
    out.extend(quoted(format!("@{}", dump.name).as_bytes()));
    out.extend_from_slice(b": ");
    if keyed {
        out.push(b'{');
    }
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        if keyed {
            let mut key = Vec::new();
            for (j, k) in entry.keys.iter().enumerate() {
                if j > 0 {
                    key.push(b',');
                }
                key.extend(text::key(k));
            }
            out.extend(quoted(&key));
            out.extend_from_slice(b": ");
        }
        out.extend(map_value(&entry.value, &dump.value, div));
    }
    if keyed {
        out.push(b'}');
    }
    out.extend_from_slice(b"}}\n");
    out
}

fn map_value(v: &MapValue, layout: &ValueLayout, div: u64) -> Vec<u8> {
    match v {
        MapValue::Plain(Value::Int(i)) => i.div_by(div).to_string().into_bytes(),
        MapValue::Plain(v) => value(v),
        MapValue::Count(c) => (c / div).to_string().into_bytes(),
        MapValue::Sum(i) | MapValue::Min(i) | MapValue::Max(i) => {
            i.div_by(div).to_string().into_bytes()
        }
        MapValue::Avg { count, total } => MapValue::average(*count, *total)
            .div_by(div)
            .to_string()
            .into_bytes(),
        MapValue::Stats { count, total } => format!(
            "{{\"count\": {count}, \"average\": {}, \"total\": {total}}}",
            MapValue::average(*count, *total)
        )
        .into_bytes(),
        MapValue::Rendered { json, .. } => json.clone().into_bytes(),
        MapValue::Hist(b) => buckets(b, div, None, hist::hist_range),
        MapValue::Lhist(b) => {
            let (min, max, step) = text::lhist_params(layout);
            let last = hist::lhist_ranges(min, max, step) + 1;
            buckets(b, 1, Some(last), |i| hist::lhist_range(i, min, max, step))
        }
    }
}

/// `[{"min": 2, "max": 3, "count": 1}, ...]` over the buckets text output shows.
fn buckets(
    b: &BTreeMap<u64, u64>,
    div: u64,
    last: Option<u64>,
    range: impl Fn(u64) -> (Option<i128>, Option<i128>),
) -> Vec<u8> {
    let mut out = String::from("[");
    for (n, (i, count)) in text::shown_buckets(b, last).into_iter().enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        out.push('{');
        let (lo, hi) = range(i);
        if let Some(lo) = lo {
            out.push_str(&format!("\"min\": {lo}, "));
        }
        if let Some(hi) = hi {
            out.push_str(&format!("\"max\": {hi}, "));
        }
        out.push_str(&format!("\"count\": {}}}", count / div));
    }
    out.push(']');
    out.into_bytes()
}
