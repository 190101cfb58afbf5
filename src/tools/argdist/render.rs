//! argdist's output: each interval's `[HH:MM:SS]` (printed by the program), then a block per
//! specifier: a frequency table (title, `COUNT EVENT` rows ascending) or BCC's log2
//! histogram. Maps printed after the run ends (Ctrl-C) are not shown, as in BCC.

use std::io::{self, Write};

use scry_stdlib::{MapDump, MapValue, Value};

use super::spec::{Mode, Spec};
use crate::tools::summary::{key_text, Render};

/// Renders the maps `@p0`, `@p1`, ... of the specifiers.
pub struct Blocks {
    specs: Vec<Spec>,
    top: Option<u64>,
    ended: bool,
}

impl Blocks {
    /// A renderer for `specs` (map `@pN` is `specs[N]`); `top` keeps the N largest counts.
    pub fn new(specs: Vec<Spec>, top: Option<u64>) -> Self {
        Blocks {
            specs,
            top,
            ended: false,
        }
    }
}

impl Render for Blocks {
    fn render(&mut self, dump: &MapDump, out: &mut dyn Write) -> io::Result<()> {
        let index = dump
            .name
            .strip_prefix('p')
            .and_then(|n| n.parse::<usize>().ok());
        let Some(spec) = index
            .and_then(|i| self.specs.get(i))
            .filter(|_| !self.ended)
        else {
            return Ok(());
        };
        let text = match spec.mode {
            Mode::Count => counts(spec, dump, self.top),
            Mode::Histogram => histogram(spec, dump),
        };
        out.write_all(text.as_bytes())
    }

    fn ended(&mut self) {
        self.ended = true;
    }
}

/// A frequency block: the title, the header, rows by count ascending.
fn counts(spec: &Spec, dump: &MapDump, top: Option<u64>) -> String {
    let mut rows: Vec<(u64, String)> = dump
        .entries
        .iter()
        .filter_map(|e| match e.value {
            MapValue::Count(n) if n > 0 => Some((n, key(spec, &e.keys))),
            _ => None,
        })
        .collect();
    rows.sort();
    if let Some(top) = top.and_then(|t| usize::try_from(t).ok()) {
        rows.drain(..rows.len().saturating_sub(top));
    }
    let mut text = format!(
        "{}\n\t{:<10} {}\n",
        spec.label.as_deref().unwrap_or(&spec.raw),
        "COUNT",
        "EVENT"
    );
    for (n, k) in rows {
        text.push_str(&format!("\t{n:<10} {k}\n"));
    }
    text
}

/// `total calls`, `retval = V`, or `EXPR = V, EXPR = V`.
fn key(spec: &Spec, keys: &[Value]) -> String {
    if spec.default_expr && !spec.is_return() {
        return "total calls".into();
    }
    let value = |v: &Value| match v {
        Value::Int(i) if !i.signed => (i.value as u64).to_string(),
        Value::Int(i) => i.value.to_string(),
        other => key_text(other),
    };
    spec.exprs
        .iter()
        .zip(keys)
        .map(|(e, v)| {
            let shown = if spec.default_expr {
                "retval".to_string()
            } else {
                Spec::display(e)
            };
            format!("{shown} = {}", value(v))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// BCC's log2 histogram of the one entry of a `hist()` map (nothing when it is empty).
fn histogram(spec: &Spec, dump: &MapDump) -> String {
    let Some(MapValue::Hist(buckets)) = dump.entries.first().map(|e| &e.value) else {
        return String::new();
    };
    // scry's buckets: 0 negative, 1 for 0, 2 for 1, 2 + k for [2^k, 2^(k+1)). BCC's: 1 for
    // 0 and 1, k + 1 for [2^k, 2^(k+1) - 1], 64 for values of 2^63 and more as unsigned.
    let mut bcc = [0u64; 65];
    for (&i, &n) in buckets {
        let b = match i {
            0 => 64,
            1 | 2 => 1,
            i => (i - 1).min(64) as usize,
        };
        bcc[b] = bcc[b].saturating_add(n);
    }
    let label = match (&spec.label, spec.default_expr) {
        (Some(l), _) => l.clone(),
        (None, true) => "retval".into(),
        (None, false) => Spec::display(&spec.exprs[0]),
    };
    log2_hist(&bcc, &label)
}

/// BCC's `print_log2_hist`: rows 1..=the highest non-zero index, stars scaled to the largest.
pub fn log2_hist(counts: &[u64; 65], label: &str) -> String {
    let Some(imax) = (1..65).rev().find(|&i| counts[i] > 0) else {
        return String::new();
    };
    let vmax = counts.iter().copied().max().unwrap_or(1).max(1);
    let wide = imax > 32;
    let width: u64 = if wide { 20 } else { 40 };
    let mut text = if wide {
        format!("               {label:<29} : count     distribution\n")
    } else {
        format!("     {label:<19} : count     distribution\n")
    };
    for (i, &n) in counts.iter().enumerate().take(imax + 1).skip(1) {
        let low: u128 = if i == 1 { 0 } else { 1 << (i - 1) };
        let high: u128 = (1 << i) - 1;
        let stars =
            "*".repeat((width as u128 * n as u128 / vmax as u128).min(width as u128) as usize);
        if wide {
            text.push_str(&format!("{low:>20} -> {high:<20} : {n:<8} |{stars:<20}|\n"));
        } else {
            text.push_str(&format!("{low:>10} -> {high:<10} : {n:<8} |{stars:<40}|\n"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_ebpf::object::ValueLayout;
    use scry_lang::types::Agg;
    use scry_stdlib::{Entry, Int};
    use std::collections::BTreeMap;

    #[test]
    fn count_block() {
        let spec = Spec::parse("p:c:malloc(size_t size):size_t:size", Mode::Count).unwrap();
        let entry = |k: u64, n| Entry {
            keys: vec![Value::Int(Int::unsigned(k))],
            value: MapValue::Count(n),
        };
        let dump = MapDump {
            name: "p0".into(),
            value: ValueLayout::Agg(Agg::Count),
            entries: vec![entry(16, 3), entry(32, 1), entry(8, 0)],
        };
        assert_eq!(
            counts(&spec, &dump, None),
            "p:c:malloc(size_t size):size_t:size\n\tCOUNT      EVENT\n\t1          size = 32\n\t3          size = 16\n"
        );
        assert_eq!(
            counts(&spec, &dump, Some(1)),
            "p:c:malloc(size_t size):size_t:size\n\tCOUNT      EVENT\n\t3          size = 16\n"
        );
        let fork = Spec::parse("p:c:fork()#fork calls", Mode::Count).unwrap();
        assert_eq!(
            counts(
                &fork,
                &MapDump {
                    entries: vec![entry(1, 2)],
                    ..dump.clone()
                },
                None
            ),
            "fork calls\n\tCOUNT      EVENT\n\t2          total calls\n"
        );
        let two = Spec::parse(
            "p::__kmalloc(size_t size, gfp_t flags):gfp_t,size_t:flags,size",
            Mode::Count,
        )
        .unwrap();
        let keys = vec![
            Value::Int(Int::unsigned(16)),
            Value::Int(Int::unsigned(152)),
        ];
        assert_eq!(key(&two, &keys), "flags = 16, size = 152");
    }

    #[test]
    fn bcc_log2_histogram() {
        let spec = Spec::parse("p:c:f(int len):int:len", Mode::Histogram).unwrap();
        // scry buckets: [1] x0, [2,4) x2, [32,64) x6.
        let dump = MapDump {
            name: "p0".into(),
            value: ValueLayout::Agg(Agg::Hist),
            entries: vec![Entry {
                keys: vec![],
                value: MapValue::Hist(BTreeMap::from([(3, 2), (7, 6)])),
            }],
        };
        assert_eq!(
            histogram(&spec, &dump),
            "     len                 : count     distribution\n\
             \x20        0 -> 1          : 0        |                                        |\n\
             \x20        2 -> 3          : 2        |*************                           |\n\
             \x20        4 -> 7          : 0        |                                        |\n\
             \x20        8 -> 15         : 0        |                                        |\n\
             \x20       16 -> 31         : 0        |                                        |\n\
             \x20       32 -> 63         : 6        |****************************************|\n"
        );
        let mut counts = [0u64; 65];
        counts[64] = 1;
        let wide = log2_hist(&counts, "retval");
        assert!(wide.starts_with(
            "               retval                        : count     distribution\n"
        ));
        assert!(wide.ends_with(
            " 9223372036854775808 -> 18446744073709551615 : 1        |********************|\n"
        ));
        assert_eq!(log2_hist(&[0; 65], "x"), "");
    }
}
