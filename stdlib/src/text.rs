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

    const HIST: ValueLayout = ValueLayout::Agg(Agg::Hist);

    // Expected texts are bpftrace 0.17's stdout for `BEGIN { ...; exit(); }` programs (the
    // part after the two exit newlines), unless a comment says otherwise.

    #[test]
    fn values() {
        // print(123); print("abc"); print(-5); print((1,"x",(2,3))); print((int8)-3);
        // print((uint8)-3); print(("a", -1, (uint32)-1))
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
            Value::int(-3),
            Value::uint(253),
            Value::Tuple(vec![
                Value::str("a"),
                Value::int(-1),
                Value::uint(4294967295),
            ]),
        ]
        .iter()
        .flat_map(print_value)
        .collect();
        assert_eq!(
            s(out),
            "123\nabc\n-5\n(1, x, (2, 3))\n-3\n253\n(a, -1, 4294967295)\n"
        );
        // print(buf("ab\n\x01\xff c", 7))
        assert_eq!(
            s(print_value(&Value::Buffer(b"ab\n\x01\xff c".to_vec()))),
            "ab\\x0a\\x01\\xff c\n"
        );
        let arr = Value::Array(vec![Value::int(3), Value::int(4), Value::int(5)]);
        assert_eq!(s(value(&arr)), "[3,4,5]");
        assert_eq!(s(key(&Value::uint(u64::MAX))), "-1");
    }

    #[test]
    fn the_reference_map_dump() {
        // @a = 1; @b[1] = 2; @b[3] = 1; @b[2]=5; @c["x","y"] = 3; @c["a","b"] = 1;
        // @s = "str"; @t = (1,"two"); @cnt = count();
        let i = |v| Value::int(v);
        let st = |v: &str| Value::str(v);
        let int = ValueLayout::Plain(Type::I64);
        let maps = [
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
        ];
        let out: Vec<u8> = maps.iter().flat_map(|m| map(m, 0, 0)).collect();
        assert_eq!(
            s(out),
            "@a: 1\n@b[3]: 1\n@b[1]: 2\n@b[2]: 5\n@c[a, b]: 1\n@c[x, y]: 3\n@cnt: 1\n@s: str\n\
             @t: (1, two)\n"
        );
    }

    #[test]
    fn key_order() {
        // @m[0] = "a"; @m[1] = "b"; @m[-1] = "c"; @m[10] = "d"; @s["b"] = "x"; @s["a"] = "y";
        // @s["ab"] = "z"; @s[""] = "e"; @t[2, "a"] = (1, 2); @t[1, "b"] = (3, 4);
        // @t[1, "a"] = (5, 6);
        let i = |v| Value::int(v);
        let st = |v: &str| Value::str(v);
        let p = |v: &str| MapValue::Plain(st(v));
        let m = dump(
            "m",
            ValueLayout::Plain(Type::Str(2)),
            vec![
                (vec![i(-1)], p("c")),
                (vec![i(10)], p("d")),
                (vec![i(0)], p("a")),
                (vec![i(1)], p("b")),
            ],
        );
        let ss = dump(
            "s",
            ValueLayout::Plain(Type::Str(2)),
            vec![
                (vec![st("b")], p("x")),
                (vec![st("ab")], p("z")),
                (vec![st("a")], p("y")),
                (vec![st("")], p("e")),
            ],
        );
        let tup = |a, b| MapValue::Plain(Value::Tuple(vec![i(a), i(b)]));
        let t = dump(
            "t",
            ValueLayout::Plain(Type::Tuple(vec![Type::I64, Type::I64])),
            vec![
                (vec![i(2), st("a")], tup(1, 2)),
                (vec![i(1), st("b")], tup(3, 4)),
                (vec![i(1), st("a")], tup(5, 6)),
            ],
        );
        let out: Vec<u8> = [m, ss, t].iter().flat_map(|m| map(m, 0, 0)).collect();
        assert_eq!(
            s(out),
            "@m[0]: a\n@m[1]: b\n@m[10]: d\n@m[-1]: c\n@s[]: e\n@s[a]: y\n@s[ab]: z\n@s[b]: x\n\
             @t[1, a]: (5, 6)\n@t[1, b]: (3, 4)\n@t[2, a]: (1, 2)\n"
        );
    }

    #[test]
    fn top_and_div() {
        // $i = 11; while ($i) { @top[$i] = --$i; } print(@top, 2); print(@top, 3, 2);
        let entries: Vec<_> = (0..=10)
            .rev()
            .map(|k| (vec![Value::int(k)], MapValue::Plain(Value::int(k))))
            .collect();
        let m = dump("top", ValueLayout::Plain(Type::I64), entries);
        assert_eq!(s(map(&m, 2, 0)), "@top[9]: 9\n@top[10]: 10\n");
        assert_eq!(s(map(&m, 3, 2)), "@top[8]: 4\n@top[9]: 4\n@top[10]: 5\n");
        // @c[1] = count() x1, @c[2] x3: print(@c, 0, 2)
        let c = dump(
            "c",
            ValueLayout::Agg(Agg::Count),
            vec![
                (vec![Value::int(2)], MapValue::Count(3)),
                (vec![Value::int(1)], MapValue::Count(1)),
            ],
        );
        assert_eq!(s(map(&c, 0, 2)), "@c[1]: 0\n@c[2]: 1\n");
        // @mx["a"] = max(5); @mx["b"] = max(7); print(@mx, 1, 2)
        let mx = dump(
            "mx",
            ValueLayout::Agg(Agg::Max),
            vec![
                (vec![Value::str("a")], MapValue::Max(Int::signed(5))),
                (vec![Value::str("b")], MapValue::Max(Int::signed(7))),
            ],
        );
        assert_eq!(s(map(&mx, 1, 2)), "@mx[b]: 3\n");
        // @st["a"] = "x"; @st["b"] = "y"; print(@st, 1)
        let st = dump(
            "st",
            ValueLayout::Plain(Type::Str(2)),
            vec![
                (vec![Value::str("a")], MapValue::Plain(Value::str("x"))),
                (vec![Value::str("b")], MapValue::Plain(Value::str("y"))),
            ],
        );
        assert_eq!(s(map(&st, 1, 0)), "@st[b]: y\n");
    }

    #[test]
    fn min_max_sum_count() {
        // @mn = min(5); @mn = min(-3); @mx2 = max(7); @sm = sum(-5); @sm = sum(2);
        // @c[1] = count(); @c[2] = count() x2; @c[-1] = count(); @smk[1] = sum(10);
        // @smk[2] = sum(-10); @mnk["a"] = min(3); @mnk["b"] = min(-2);
        let si = |v| Int::signed(v);
        let out: Vec<u8> = [
            dump(
                "c",
                ValueLayout::Agg(Agg::Count),
                vec![
                    (vec![Value::int(2)], MapValue::Count(2)),
                    (vec![Value::int(-1)], MapValue::Count(1)),
                    (vec![Value::int(1)], MapValue::Count(1)),
                ],
            ),
            dump(
                "mn",
                ValueLayout::Agg(Agg::Min),
                vec![(vec![], MapValue::Min(si(-3)))],
            ),
            dump(
                "mnk",
                ValueLayout::Agg(Agg::Min),
                vec![
                    (vec![Value::str("a")], MapValue::Min(si(3))),
                    (vec![Value::str("b")], MapValue::Min(si(-2))),
                ],
            ),
            dump(
                "mx2",
                ValueLayout::Agg(Agg::Max),
                vec![(vec![], MapValue::Max(si(7)))],
            ),
            dump(
                "sm",
                ValueLayout::Agg(Agg::Sum { signed: true }),
                vec![(vec![], MapValue::Sum(si(-3)))],
            ),
            dump(
                "smk",
                ValueLayout::Agg(Agg::Sum { signed: true }),
                vec![
                    (vec![Value::int(1)], MapValue::Sum(si(10))),
                    (vec![Value::int(2)], MapValue::Sum(si(-10))),
                ],
            ),
        ]
        .iter()
        .flat_map(|m| map(m, 0, 0))
        .collect();
        // 0.17 orders the tied @c[1] and @c[-1] by hash; we use key order (1 before -1 as
        // unsigned), which is what 0.17 printed in this run too.
        assert_eq!(
            s(out),
            "@c[1]: 1\n@c[-1]: 1\n@c[2]: 2\n@mn: -3\n@mnk[b]: -2\n@mnk[a]: 3\n@mx2: 7\n@sm: -3\n\
             @smk[2]: -10\n@smk[1]: 10\n"
        );
        // @mx = max(-5); @mx = max(-3): 0.17 prints an empty line (bug); we print the value.
        let mx = dump(
            "mx",
            ValueLayout::Agg(Agg::Max),
            vec![(vec![], MapValue::Max(si(-3)))],
        );
        assert_eq!(s(map(&mx, 0, 0)), "@mx: -3\n");
    }

    #[test]
    fn unsigned_values_and_keys() {
        // @u[1] = (uint64)-1; @u[2] = 5; @u[3] = (uint64)7; @k[(uint64)-1] = "x";
        // @k[(uint64)2] = "y"; @s[1] = sum((uint64)-1); @s[2] = sum(3); @n[1] = -2; @n[2] = 3;
        // @n[3] = -5;
        let k = |v| vec![Value::uint(v)];
        let i = |v| vec![Value::int(v)];
        let out: Vec<u8> = [
            dump(
                "k",
                ValueLayout::Plain(Type::Str(2)),
                vec![
                    (k(u64::MAX), MapValue::Plain(Value::str("x"))),
                    (k(2), MapValue::Plain(Value::str("y"))),
                ],
            ),
            dump(
                "n",
                ValueLayout::Plain(Type::I64),
                vec![
                    (i(1), MapValue::Plain(Value::int(-2))),
                    (i(2), MapValue::Plain(Value::int(3))),
                    (i(3), MapValue::Plain(Value::int(-5))),
                ],
            ),
            dump(
                "s",
                ValueLayout::Agg(Agg::Sum { signed: false }),
                vec![
                    (i(1), MapValue::Sum(Int::unsigned(u64::MAX))),
                    (i(2), MapValue::Sum(Int::unsigned(3))),
                ],
            ),
            dump(
                "u",
                ValueLayout::Plain(Type::U64),
                vec![
                    (i(1), MapValue::Plain(Value::uint(u64::MAX))),
                    (i(2), MapValue::Plain(Value::uint(5))),
                    (i(3), MapValue::Plain(Value::uint(7))),
                ],
            ),
        ]
        .iter()
        .flat_map(|m| map(m, 0, 0))
        .collect();
        assert_eq!(
            s(out),
            "@k[2]: y\n@k[-1]: x\n@n[3]: -5\n@n[1]: -2\n@n[2]: 3\n@s[2]: 3\n\
             @s[1]: 18446744073709551615\n@u[2]: 5\n@u[3]: 7\n@u[1]: 18446744073709551615\n"
        );
    }

    #[test]
    fn avg_and_stats() {
        // @a = avg(5); @a = avg(9); @n = avg(-3); @n = avg(0); @s = stats(10); @s = stats(2);
        // @sk["a"] = stats(3); @sk["b"] = stats(-7); @sk["b"] = stats(-2); @ak[1] = avg(-10);
        // @ak[2] = avg(4); @ak[3] = avg(-1);
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
        let i = |v| vec![Value::int(v)];
        let out: Vec<u8> = [
            dump("a", a.clone(), vec![(vec![], avg(2, 14))]),
            dump(
                "ak",
                a.clone(),
                vec![(i(1), avg(1, -10)), (i(2), avg(1, 4)), (i(3), avg(1, -1))],
            ),
            dump("n", a.clone(), vec![(vec![], avg(2, -3))]),
            dump("s", st.clone(), vec![(vec![], stats(2, 12))]),
            dump(
                "sk",
                st.clone(),
                vec![
                    (vec![Value::str("a")], stats(1, 3)),
                    (vec![Value::str("b")], stats(2, -9)),
                ],
            ),
        ]
        .iter()
        .flat_map(|m| map(m, 0, 0))
        .collect();
        assert_eq!(
            s(out),
            "@a: 7\n\n@ak[1]: -10\n@ak[3]: -1\n@ak[2]: 4\n\n@n: -1\n\n\
             @s: count 2, average 6, total 12\n\n\
             @sk[b]: count 2, average -4, total -9\n@sk[a]: count 1, average 3, total 3\n\n"
        );
        // @a[1] = avg(10); @a[2] = avg(20); @a[3] = avg(30); print(@a, 2, 3);
        // @s[1] = stats(10); @s[2] = stats(20); print(@s, 1, 3);
        let ak = dump(
            "a",
            a,
            vec![(i(1), avg(1, 10)), (i(2), avg(1, 20)), (i(3), avg(1, 30))],
        );
        assert_eq!(s(map(&ak, 2, 3)), "@a[2]: 6\n@a[3]: 10\n\n");
        let sk = dump("s", st, vec![(i(1), stats(1, 10)), (i(2), stats(1, 20))]);
        assert_eq!(
            s(map(&sk, 1, 3)),
            "@s[1]: count 1, average 10, total 10\n@s[2]: count 1, average 20, total 20\n\n"
        );
    }

    #[test]
    fn empty_and_zeroed_maps() {
        // clear()ed maps: an empty line each, two for avg/stats.
        let empty = |v| dump("e", v, vec![]);
        assert_eq!(s(map(&empty(ValueLayout::Plain(Type::I64)), 0, 0)), "\n");
        assert_eq!(s(map(&empty(HIST), 0, 0)), "\n");
        assert_eq!(s(map(&empty(ValueLayout::Agg(Agg::Stats)), 0, 0)), "\n\n");
        // zero()ed maps: @h = hist(1); @hk[1] = hist(4); @s = stats(1); @v = avg(2); zero(...)
        let zero_hist = MapValue::Hist(BTreeMap::from([(2, 0)]));
        assert_eq!(
            s(map(
                &dump("h", HIST, vec![(vec![], zero_hist.clone())]),
                0,
                0
            )),
            "@h: \n\n"
        );
        assert_eq!(
            s(map(
                &dump("hk", HIST, vec![(vec![Value::int(1)], zero_hist)]),
                0,
                0
            )),
            "@hk[1]: \n\n"
        );
        let stats = MapValue::Stats {
            count: 0,
            total: Int::signed(0),
        };
        let st = ValueLayout::Agg(Agg::Stats);
        assert_eq!(
            s(map(&dump("s", st, vec![(vec![], stats)]), 0, 0)),
            "@s: count 0, average 0, total 0\n\n"
        );
    }

    const H1: &str = "\
@h: 
(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[0]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[1]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[4, 8)                 0 |                                                    |
[8, 16)                0 |                                                    |
[16, 32)               0 |                                                    |
[32, 64)               0 |                                                    |
[64, 128)              0 |                                                    |
[128, 256)             0 |                                                    |
[256, 512)             0 |                                                    |
[512, 1K)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[1K, 2K)               0 |                                                    |
[2K, 4K)               0 |                                                    |
[4K, 8K)               0 |                                                    |
[8K, 16K)              0 |                                                    |
[16K, 32K)             0 |                                                    |
[32K, 64K)             0 |                                                    |
[64K, 128K)            0 |                                                    |
[128K, 256K)           0 |                                                    |
[256K, 512K)           0 |                                                    |
[512K, 1M)             0 |                                                    |
[1M, 2M)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

";

    const H2: &str = "\
@h: 
(..., 0)               3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[0]                    0 |                                                    |
[1]                    0 |                                                    |
[2, 4)                 0 |                                                    |
[4, 8)                 0 |                                                    |
[8, 16)                0 |                                                    |
[16, 32)               0 |                                                    |
[32, 64)               0 |                                                    |
[64, 128)              0 |                                                    |
[128, 256)             0 |                                                    |
[256, 512)             0 |                                                    |
[512, 1K)              0 |                                                    |
[1K, 2K)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                  |
[2K, 4K)               0 |                                                    |
[4K, 8K)               0 |                                                    |
[8K, 16K)              0 |                                                    |
[16K, 32K)             0 |                                                    |
[32K, 64K)             0 |                                                    |
[64K, 128K)            0 |                                                    |
[128K, 256K)           0 |                                                    |
[256K, 512K)           0 |                                                    |
[512K, 1M)             0 |                                                    |
[1M, 2M)               0 |                                                    |
[2M, 4M)               0 |                                                    |
[4M, 8M)               0 |                                                    |
[8M, 16M)              0 |                                                    |
[16M, 32M)             0 |                                                    |
[32M, 64M)             1 |@@@@@@@@@@@@@@@@@                                   |
[64M, 128M)            0 |                                                    |
[128M, 256M)           0 |                                                    |
[256M, 512M)           0 |                                                    |
[512M, 1G)             0 |                                                    |
[1G, 2G)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                  |
[2G, 4G)               1 |@@@@@@@@@@@@@@@@@                                   |

";

    #[test]
    fn hists() {
        // @h = hist(v) for -1, 0, 1, 2, 3, 700, 1048576, 1500000
        let h = hist_of(&[-1, 0, 1, 2, 3, 700, 1048576, 1500000]);
        assert_eq!(s(map(&dump("h", HIST, vec![(vec![], h)]), 0, 0)), H1);
        // -5 x3, 1024, 2047, 33554432, 1073741824, 2147483647, 2147483648
        let h = hist_of(&[
            -5, -5, -5, 1024, 2047, 33554432, 1073741824, 2147483647, 2147483648,
        ]);
        assert_eq!(s(map(&dump("h", HIST, vec![(vec![], h)]), 0, 0)), H2);
    }

    #[test]
    fn hists_past_4g() {
        // Not bpftrace 0.17 (which puts all of these in [2G, 4G)): our 64-bit buckets.
        let h = hist_of(&[1 << 32, 1 << 40, i64::MAX]);
        let out = s(map(&dump("h", HIST, vec![(vec![], h)]), 0, 0));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[1],
            format!("{:<16}{:>8} |{:<52}|", "[4G, 8G)", 1, "@".repeat(52))
        );
        assert_eq!(
            lines[9],
            format!("{:<16}{:>8} |{:<52}|", "[1T, 2T)", 1, "@".repeat(52))
        );
        assert!(lines[lines.len() - 2].starts_with("[4194304T, 8388608T)       1 |@"));
    }

    #[test]
    fn keyed_hists_with_top_and_div() {
        // @h[1] = hist(5); @h[1] = hist(6); @h[2] = hist(100); @h[3] = hist(1) x2;
        // @h[3] = hist(2);
        let i = |v| vec![Value::int(v)];
        let m = dump(
            "h",
            HIST,
            vec![
                (i(1), hist_of(&[5, 6])),
                (i(2), hist_of(&[100])),
                (i(3), hist_of(&[1, 1, 2])),
            ],
        );
        assert_eq!(
            s(map(&m, 0, 0)),
            "@h[2]: \n\
             [64, 128)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
             \n\
             @h[1]: \n\
             [4, 8)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
             \n\
             @h[3]: \n\
             [1]                    2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
             [2, 4)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\
             \n"
        );
        // @h[1]: 5, 6, 6; @h[2]: 100; @h[3]: 1, 1, 2, 2, 2; print(@h, 2, 2)
        let m = dump(
            "h",
            HIST,
            vec![
                (i(1), hist_of(&[5, 6, 6])),
                (i(2), hist_of(&[100])),
                (i(3), hist_of(&[1, 1, 2, 2, 2])),
            ],
        );
        assert_eq!(
            s(map(&m, 2, 2)),
            "@h[1]: \n\
             [4, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
             \n\
             @h[3]: \n\
             [1]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                  |\n\
             [2, 4)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
             \n"
        );
    }

    #[test]
    fn lhists() {
        // @l = lhist(v, 0, 100, 10) for 5, 55, -3, 1000
        let l = ValueLayout::Agg(Agg::Lhist {
            min: 0,
            max: 100,
            step: 10,
        });
        let m = dump(
            "l",
            l,
            vec![(vec![], lhist_of(&[5, 55, -3, 1000], 0, 100, 10))],
        );
        let full = "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@";
        let none = " ".repeat(52);
        let mut want = String::from("@l: \n");
        want += &format!("(..., 0)               1 |{full}|\n[0, 10)                1 |{full}|\n");
        for lo in [10, 20, 30, 40] {
            want += &format!("{:<16}       0 |{none}|\n", format!("[{lo}, {})", lo + 10));
        }
        want += &format!("[50, 60)               1 |{full}|\n");
        for lo in [60, 70, 80, 90] {
            want += &format!("{:<16}       0 |{none}|\n", format!("[{lo}, {})", lo + 10));
        }
        want += &format!("[100, ...)             1 |{full}|\n\n");
        assert_eq!(s(map(&m, 0, 0)), want);

        // @l = lhist(v, 1024, 4096, 1024) for 2048, 3500; @m = lhist(3145728, 1048576,
        // 5242880, 1048576); @n = lhist(v, 5, 20, 3) for 7, 19, 20, 10, 10
        let lay = |min, max, step| ValueLayout::Agg(Agg::Lhist { min, max, step });
        let out: Vec<u8> = [
            dump(
                "l",
                lay(1024, 4096, 1024),
                vec![(vec![], lhist_of(&[2048, 3500], 1024, 4096, 1024))],
            ),
            dump(
                "m",
                lay(1048576, 5242880, 1048576),
                vec![(vec![], lhist_of(&[3145728], 1048576, 5242880, 1048576))],
            ),
            dump(
                "n",
                lay(5, 20, 3),
                vec![(vec![], lhist_of(&[7, 19, 20, 10, 10], 5, 20, 3))],
            ),
        ]
        .iter()
        .flat_map(|m| map(m, 0, 0))
        .collect();
        assert_eq!(
            s(out),
            "@l: \n\
             [2K, 3K)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
             [3K, 4K)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
             \n\
             @m: \n\
             [3M, 4M)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
             \n\
             @n: \n\
             [5, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\
             [8, 11)                2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
             [11, 14)               0 |                                                    |\n\
             [14, 17)               0 |                                                    |\n\
             [17, 20)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\
             [20, ...)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\
             \n"
        );
        // @l[1] = lhist(5, 0, 10, 1) x3; @l[2] = lhist(7, 0, 10, 1); print(@l, 1, 2):
        // counts are not divided.
        let m = dump(
            "l",
            lay(0, 10, 1),
            vec![
                (vec![Value::int(1)], lhist_of(&[5, 5, 5], 0, 10, 1)),
                (vec![Value::int(2)], lhist_of(&[7], 0, 10, 1)),
            ],
        );
        assert_eq!(
            s(map(&m, 1, 2)),
            "@l[1]: \n\
             [5, 6)                 3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
             \n"
        );
    }

    #[test]
    fn bars_use_single_precision() {
        // 0.17 computes `count / (float)max * 52` in single precision and truncates; for large
        // counts that differs from exact integer arithmetic (which gives 11 and 51 here). The
        // expected widths come from the same expression compiled with gcc on this machine.
        let b = BTreeMap::from([(2, 1), (3, 3), (4, 7853583), (5, 55492307), (6, 55492308)]);
        let out = s(hist_lines(&b, 1, None, hist::hist_label));
        let widths: Vec<usize> = out.lines().map(|l| l.matches('@').count()).collect();
        assert_eq!(widths, [0, 0, 7, 52, 52]);
        let b = BTreeMap::from([(2, 7853583), (3, 34032194)]);
        let out = s(hist_lines(&b, 1, None, hist::hist_label));
        let widths: Vec<usize> = out.lines().map(|l| l.matches('@').count()).collect();
        assert_eq!(widths, [12, 52]);
    }

    #[test]
    fn text_values_in_maps() {
        let m = dump(
            "k",
            ValueLayout::Plain(Type::Ksym),
            vec![
                (
                    vec![Value::int(1)],
                    MapValue::Plain(Value::Text(TextKind::Ksym, "a".into())),
                ),
                (
                    vec![Value::int(2)],
                    MapValue::Plain(Value::Text(TextKind::Ksym, "b".into())),
                ),
            ],
        );
        // 0.17 prints `@k[1]: a@k[2]: b` (a bug); we keep one entry per line.
        assert_eq!(s(map(&m, 0, 0)), "@k[1]: a\n@k[2]: b\n");
        let b = dump(
            "b",
            ValueLayout::Plain(Type::Buffer(3)),
            vec![(
                vec![Value::Buffer(b"k\x02".to_vec())],
                MapValue::Plain(Value::Buffer(b"v\0w".to_vec())),
            )],
        );
        // @b[buf("k\x02", 2)] = buf("v\x00w", 3)
        assert_eq!(s(map(&b, 0, 0)), "@b[k\\x02]: v\\x00w\n");
    }

    fn stack(names: &[&str]) -> Value {
        Value::Stack {
            user: false,
            perf_mode: false,
            frames: names
                .iter()
                .enumerate()
                .map(|(i, n)| crate::value::Frame {
                    addr: 0x1000 + i as u64,
                    symbol: Some(n.to_string()),
                    offset: 10 * i as u64,
                    module: None,
                })
                .collect(),
        }
    }

    #[test]
    fn stacks_as_keys_and_values() {
        // Reference §5: `@[kstack] = count()` and `@s[1] = kstack`.
        let keys = dump(
            "",
            ValueLayout::Agg(Agg::Count),
            vec![(vec![stack(&["a", "b"])], MapValue::Count(1))],
        );
        assert_eq!(s(map(&keys, 0, 0)), "@[\n    a+0\n    b+10\n]: 1\n");
        let values = dump(
            "s",
            ValueLayout::Plain(Type::KStack {
                mode: scry_lang::types::StackMode::Bpftrace,
                limit: 127,
            }),
            vec![
                (vec![Value::int(1)], MapValue::Plain(stack(&["a"]))),
                (vec![Value::int(2)], MapValue::Plain(stack(&["b"]))),
            ],
        );
        assert_eq!(
            s(map(&values, 0, 0)),
            "@s[1]: \n        a+0\n@s[2]: \n        b+0\n\n"
        );
        assert_eq!(s(print_value(&stack(&["x"]))), "\n        x+0\n\n");
    }
}
