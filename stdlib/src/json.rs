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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::{hist_bucket, lhist_bucket};
    use crate::map::Entry;
    use crate::value::{Int, TextKind};
    use scry_lang::types::Type;

    fn s(out: Vec<u8>) -> String {
        String::from_utf8(out).unwrap()
    }

    fn dump(name: &str, value: ValueLayout, entries: Vec<(Vec<Value>, MapValue)>) -> MapDump {
        MapDump {
            name: name.into(),
            value,
            entries: entries
                .into_iter()
                .map(|(keys, value)| Entry { keys, value })
                .collect(),
        }
    }

    // Expected lines are bpftrace 0.17's stdout with `-f json`, unless a comment says
    // otherwise.

    #[test]
    fn values() {
        // print(123); print("abc"); print(-5); print((1,"x",(2,3))); print(comm);
        // print(ntop(pton("1.2.3.4"))); print(probe); print(username)
        let t = Value::Tuple(vec![
            Value::int(1),
            Value::str("x"),
            Value::Tuple(vec![Value::int(2), Value::int(3)]),
        ]);
        let out: Vec<u8> = [
            Value::int(123),
            Value::str("abc"),
            Value::int(-5),
            t,
            Value::str("bpftrace"),
            Value::Text(TextKind::Inet, "1.2.3.4".into()),
            Value::Text(TextKind::Probe, "BEGIN".into()),
            Value::Text(TextKind::Username, "root".into()),
        ]
        .iter()
        .flat_map(print_value)
        .collect();
        assert_eq!(
            s(out),
            "{\"type\": \"value\", \"data\": 123}\n\
             {\"type\": \"value\", \"data\": \"abc\"}\n\
             {\"type\": \"value\", \"data\": -5}\n\
             {\"type\": \"value\", \"data\": [1,\"x\",[2,3]]}\n\
             {\"type\": \"value\", \"data\": \"bpftrace\"}\n\
             {\"type\": \"value\", \"data\": \"1.2.3.4\"}\n\
             {\"type\": \"value\", \"data\": \"BEGIN\"}\n\
             {\"type\": \"value\", \"data\": \"root\"}\n"
        );
        // print(buf("ab\n\x01\xff c", 7))
        assert_eq!(
            s(print_value(&Value::Buffer(b"ab\n\x01\xff c".to_vec()))),
            "{\"type\": \"value\", \"data\": \"ab\\\\x0a\\\\x01\\\\xff c\"}\n"
        );
        // 0.17 prints the strerror text unquoted (invalid JSON); we quote it.
        let e = Value::Text(TextKind::Strerror, "No such file or directory".into());
        assert_eq!(
            s(print_value(&e)),
            "{\"type\": \"value\", \"data\": \"No such file or directory\"}\n"
        );
    }

    #[test]
    fn messages_and_escapes() {
        assert_eq!(
            s(count_message("attached_probes", "probes", 1)),
            "{\"type\": \"attached_probes\", \"data\": {\"probes\": 1}}\n"
        );
        assert_eq!(
            s(count_message("lost_events", "events", 3)),
            "{\"type\": \"lost_events\", \"data\": {\"events\": 3}}\n"
        );
        // time("%Y-\n"); cat("file containing hello"); system("echo hi")
        assert_eq!(
            s(message("time", b"2026-\n")),
            "{\"type\": \"time\", \"data\": \"2026-\\n\"}\n"
        );
        assert_eq!(
            s(message("cat", b"hello")),
            "{\"type\": \"cat\", \"data\": \"hello\"}\n"
        );
        assert_eq!(
            s(message("syscall", b"hi\n")),
            "{\"type\": \"syscall\", \"data\": \"hi\\n\"}\n"
        );
        // printf("tab\there \"q\" back\\ nl\n\x01\x1f\x7f é"): 0.17 writes the two bytes of
        // é as \uffffffc3\uffffffa9; we keep them.
        assert_eq!(
            s(message("printf", "tab\there \"q\" back\\ nl\n\x01\x1f\x7f é".as_bytes())),
            "{\"type\": \"printf\", \"data\": \"tab\\there \\\"q\\\" back\\\\ nl\\n\\u0001\\u001f\x7f é\"}\n"
        );
    }

    #[test]
    fn maps() {
        // The reference dump program with -f json.
        let i = |v| Value::int(v);
        let st = |v: &str| Value::str(v);
        let int = ValueLayout::Plain(Type::I64);
        let out: Vec<u8> = [
            dump("a", int.clone(), vec![(vec![], MapValue::Plain(i(1)))]),
            dump(
                "b",
                int.clone(),
                vec![
                    (vec![i(1)], MapValue::Plain(i(2))),
                    (vec![i(3)], MapValue::Plain(i(1))),
                    (vec![i(2)], MapValue::Plain(i(5))),
                ],
            ),
            dump(
                "c",
                int,
                vec![
                    (vec![st("x"), st("y")], MapValue::Plain(i(3))),
                    (vec![st("a"), st("b")], MapValue::Plain(i(1))),
                ],
            ),
            dump(
                "cnt",
                ValueLayout::Agg(Agg::Count),
                vec![(vec![], MapValue::Count(1))],
            ),
            dump(
                "s",
                ValueLayout::Plain(Type::Str(4)),
                vec![(vec![], MapValue::Plain(st("str")))],
            ),
            dump(
                "t",
                ValueLayout::Plain(Type::Tuple(vec![Type::I64, Type::Str(4)])),
                vec![(vec![], MapValue::Plain(Value::Tuple(vec![i(1), st("two")])))],
            ),
            dump("e", ValueLayout::Plain(Type::I64), vec![]),
        ]
        .iter()
        .flat_map(|m| map(m, 0, 0))
        .collect();
        assert_eq!(
            s(out),
            "{\"type\": \"map\", \"data\": {\"@a\": 1}}\n\
             {\"type\": \"map\", \"data\": {\"@b\": {\"3\": 1, \"1\": 2, \"2\": 5}}}\n\
             {\"type\": \"map\", \"data\": {\"@c\": {\"a,b\": 1, \"x,y\": 3}}}\n\
             {\"type\": \"map\", \"data\": {\"@cnt\": 1}}\n\
             {\"type\": \"map\", \"data\": {\"@s\": \"str\"}}\n\
             {\"type\": \"map\", \"data\": {\"@t\": [1,\"two\"]}}\n"
        );
        // @m[0] = "a"; @m[1] = "b"; @m[-1] = "c"; @s["a\"b"] = "x\ny"; @t[2, "a"] = (1, "q\t")
        let out: Vec<u8> = [
            dump(
                "m",
                ValueLayout::Plain(Type::Str(2)),
                vec![
                    (vec![i(-1)], MapValue::Plain(st("c"))),
                    (vec![i(1)], MapValue::Plain(st("b"))),
                    (vec![i(0)], MapValue::Plain(st("a"))),
                ],
            ),
            dump(
                "s",
                ValueLayout::Plain(Type::Str(4)),
                vec![(vec![st("a\"b")], MapValue::Plain(st("x\ny")))],
            ),
            dump(
                "t",
                ValueLayout::Plain(Type::Tuple(vec![Type::I64, Type::Str(3)])),
                vec![(
                    vec![i(2), st("a")],
                    MapValue::Plain(Value::Tuple(vec![i(1), st("q\t")])),
                )],
            ),
        ]
        .iter()
        .flat_map(|m| map(m, 0, 0))
        .collect();
        assert_eq!(
            s(out),
            "{\"type\": \"map\", \"data\": {\"@m\": {\"0\": \"a\", \"1\": \"b\", \"-1\": \"c\"}}}\n\
             {\"type\": \"map\", \"data\": {\"@s\": {\"a\\\"b\": \"x\\ny\"}}}\n\
             {\"type\": \"map\", \"data\": {\"@t\": {\"2,a\": [1,\"q\\t\"]}}}\n"
        );
        // print(@top, 2); print(@top, 3, 2)
        let entries: Vec<_> = (0..=10)
            .rev()
            .map(|k| (vec![i(k)], MapValue::Plain(i(k))))
            .collect();
        let m = dump("top", ValueLayout::Plain(Type::I64), entries);
        assert_eq!(
            s(map(&m, 2, 0)),
            "{\"type\": \"map\", \"data\": {\"@top\": {\"9\": 9, \"10\": 10}}}\n"
        );
        assert_eq!(
            s(map(&m, 3, 2)),
            "{\"type\": \"map\", \"data\": {\"@top\": {\"8\": 4, \"9\": 4, \"10\": 5}}}\n"
        );
        // A buffer key and value: @b[buf("k\x02", 2)] = buf("v\x00w", 3)
        let b = dump(
            "b",
            ValueLayout::Plain(Type::Buffer(3)),
            vec![(
                vec![Value::Buffer(b"k\x02".to_vec())],
                MapValue::Plain(Value::Buffer(b"v\0w".to_vec())),
            )],
        );
        assert_eq!(
            s(map(&b, 0, 0)),
            "{\"type\": \"map\", \"data\": {\"@b\": {\"k\\\\x02\": \"v\\\\x00w\"}}}\n"
        );
    }

    #[test]
    fn stats() {
        // @a = avg(5); @a = avg(9); @n = avg(-3); @n = avg(0); @s = stats(10); @s = stats(2);
        // @sk["a"] = stats(3); @sk["b"] = stats(-7); @sk["b"] = stats(-2); @ak[1] = avg(-10);
        // @ak[2] = avg(4);
        let avg = |c, t| MapValue::Avg {
            count: c,
            total: Int::signed(t),
        };
        let stats = |c, t| MapValue::Stats {
            count: c,
            total: Int::signed(t),
        };
        let a = ValueLayout::Agg(Agg::Avg);
        let st = ValueLayout::Agg(Agg::Stats);
        let out: Vec<u8> = [
            dump("a", a.clone(), vec![(vec![], avg(2, 14))]),
            dump(
                "ak",
                a.clone(),
                vec![
                    (vec![Value::int(2)], avg(1, 4)),
                    (vec![Value::int(1)], avg(1, -10)),
                ],
            ),
            dump("n", a, vec![(vec![], avg(2, -3))]),
            dump("s", st.clone(), vec![(vec![], stats(2, 12))]),
            dump(
                "sk",
                st.clone(),
                vec![
                    (vec![Value::str("a")], stats(1, 3)),
                    (vec![Value::str("b")], stats(2, -9)),
                ],
            ),
            dump("e", st, vec![]),
        ]
        .iter()
        .flat_map(|m| map(m, 0, 0))
        .collect();
        assert_eq!(
            s(out),
            "{\"type\": \"stats\", \"data\": {\"@a\": 7}}\n\
             {\"type\": \"stats\", \"data\": {\"@ak\": {\"1\": -10, \"2\": 4}}}\n\
             {\"type\": \"stats\", \"data\": {\"@n\": -1}}\n\
             {\"type\": \"stats\", \"data\": {\"@s\": {\"count\": 2, \"average\": 6, \"total\": 12}}}\n\
             {\"type\": \"stats\", \"data\": {\"@sk\": {\"b\": {\"count\": 2, \"average\": -4, \"total\": -9}, \
             \"a\": {\"count\": 1, \"average\": 3, \"total\": 3}}}}\n"
        );
    }

    fn hist_of(values: &[i64]) -> MapValue {
        let mut b = BTreeMap::new();
        for &v in values {
            *b.entry(hist_bucket(v)).or_insert(0) += 1;
        }
        MapValue::Hist(b)
    }

    fn lhist_of(values: &[i64], min: i64, max: i64, step: i64) -> MapValue {
        let mut b = BTreeMap::new();
        for &v in values {
            *b.entry(lhist_bucket(v, min, max, step)).or_insert(0) += 1;
        }
        MapValue::Lhist(b)
    }

    #[test]
    fn hists() {
        let h = ValueLayout::Agg(Agg::Hist);
        let k = |v| vec![Value::int(v)];
        // @g = hist(-1), hist(0), hist(1), hist(5); @h[1]: 5, 6; @h[2]: 100; @h[3]: 1, 1, 2
        let out: Vec<u8> = [
            dump("g", h.clone(), vec![(vec![], hist_of(&[-1, 0, 1, 5]))]),
            dump(
                "h",
                h.clone(),
                vec![
                    (k(1), hist_of(&[5, 6])),
                    (k(2), hist_of(&[100])),
                    (k(3), hist_of(&[1, 1, 2])),
                ],
            ),
        ]
        .iter()
        .flat_map(|m| map(m, 0, 0))
        .collect();
        assert_eq!(
            s(out),
            "{\"type\": \"hist\", \"data\": {\"@g\": [{\"max\": -1, \"count\": 1}, \
             {\"min\": 0, \"max\": 0, \"count\": 1}, {\"min\": 1, \"max\": 1, \"count\": 1}, \
             {\"min\": 2, \"max\": 3, \"count\": 0}, {\"min\": 4, \"max\": 7, \"count\": 1}]}}\n\
             {\"type\": \"hist\", \"data\": {\"@h\": {\"2\": [{\"min\": 64, \"max\": 127, \"count\": 1}], \
             \"1\": [{\"min\": 4, \"max\": 7, \"count\": 2}], \
             \"3\": [{\"min\": 1, \"max\": 1, \"count\": 2}, {\"min\": 2, \"max\": 3, \"count\": 1}]}}}\n"
        );
        // print(@h, 2, 2) with @h[1]: 5, 6, 6; @h[2]: 100; @h[3]: 1, 1, 2, 2, 2
        let m = dump(
            "h",
            h.clone(),
            vec![
                (k(1), hist_of(&[5, 6, 6])),
                (k(2), hist_of(&[100])),
                (k(3), hist_of(&[1, 1, 2, 2, 2])),
            ],
        );
        assert_eq!(
            s(map(&m, 2, 2)),
            "{\"type\": \"hist\", \"data\": {\"@h\": {\"1\": [{\"min\": 4, \"max\": 7, \"count\": 1}], \
             \"3\": [{\"min\": 1, \"max\": 1, \"count\": 1}, {\"min\": 2, \"max\": 3, \"count\": 1}]}}}\n"
        );
        // @z = hist(1); zero(@z)
        let z = dump(
            "z",
            h,
            vec![(vec![], MapValue::Hist(BTreeMap::from([(2, 0)])))],
        );
        assert_eq!(
            s(map(&z, 0, 0)),
            "{\"type\": \"hist\", \"data\": {\"@z\": []}}\n"
        );
    }

    #[test]
    fn lhists() {
        let lay = |min, max, step| ValueLayout::Agg(Agg::Lhist { min, max, step });
        // @k["a"] = lhist(3, 0, 10, 1); @l = lhist(v, 0, 100, 10) for 5, 55, -3, 1000;
        // @n = lhist(v, 5, 20, 3) for 7, 19, 20
        let out: Vec<u8> = [
            dump(
                "k",
                lay(0, 10, 1),
                vec![(vec![Value::str("a")], lhist_of(&[3], 0, 10, 1))],
            ),
            dump(
                "l",
                lay(0, 100, 10),
                vec![(vec![], lhist_of(&[5, 55, -3, 1000], 0, 100, 10))],
            ),
            dump(
                "n",
                lay(5, 20, 3),
                vec![(vec![], lhist_of(&[7, 19, 20], 5, 20, 3))],
            ),
        ]
        .iter()
        .flat_map(|m| map(m, 0, 0))
        .collect();
        assert_eq!(
            s(out),
            "{\"type\": \"hist\", \"data\": {\"@k\": {\"a\": [{\"min\": 3, \"max\": 3, \"count\": 1}]}}}\n\
             {\"type\": \"hist\", \"data\": {\"@l\": [{\"max\": -1, \"count\": 1}, \
             {\"min\": 0, \"max\": 9, \"count\": 1}, {\"min\": 10, \"max\": 19, \"count\": 0}, \
             {\"min\": 20, \"max\": 29, \"count\": 0}, {\"min\": 30, \"max\": 39, \"count\": 0}, \
             {\"min\": 40, \"max\": 49, \"count\": 0}, {\"min\": 50, \"max\": 59, \"count\": 1}, \
             {\"min\": 60, \"max\": 69, \"count\": 0}, {\"min\": 70, \"max\": 79, \"count\": 0}, \
             {\"min\": 80, \"max\": 89, \"count\": 0}, {\"min\": 90, \"max\": 99, \"count\": 0}, \
             {\"min\": 100, \"count\": 1}]}}\n\
             {\"type\": \"hist\", \"data\": {\"@n\": [{\"min\": 5, \"max\": 7, \"count\": 1}, \
             {\"min\": 8, \"max\": 10, \"count\": 0}, {\"min\": 11, \"max\": 13, \"count\": 0}, \
             {\"min\": 14, \"max\": 16, \"count\": 0}, {\"min\": 17, \"max\": 19, \"count\": 1}, \
             {\"min\": 20, \"count\": 1}]}}\n"
        );
    }

    #[test]
    fn stacks_are_strings() {
        // Reference §5: {"type": "map", "data": {"@k": {"\n    syscall+25\n": 1}}}
        let st = Value::Stack {
            user: false,
            perf_mode: false,
            frames: vec![crate::value::Frame {
                addr: 1,
                symbol: Some("syscall".into()),
                offset: 25,
                module: None,
            }],
        };
        let m = dump(
            "k",
            ValueLayout::Agg(Agg::Count),
            vec![(vec![st.clone()], MapValue::Count(1))],
        );
        assert_eq!(
            s(map(&m, 0, 0)),
            "{\"type\": \"map\", \"data\": {\"@k\": {\"\\n    syscall+25\\n\": 1}}}\n"
        );
        assert_eq!(
            s(print_value(&st)),
            "{\"type\": \"value\", \"data\": \"\\n        syscall+25\\n\"}\n"
        );
    }
}
