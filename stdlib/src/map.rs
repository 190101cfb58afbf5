//! The model of a map about to be printed: decoded keys, merged per-CPU values, grouped
//! histogram buckets, and the order bpftrace prints entries in.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use scry_ebpf::object::{UserMap, ValueLayout};
use scry_lang::types::Agg;

use crate::decode::{decode, u64_at};
use crate::names::Names;
use crate::value::{cmp_keys, Int, Value};

/// A map to print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDump {
    /// The map's name without the `@` (empty for the bare `@`).
    pub name: String,
    /// How the map's values are kept (plain value or which aggregation, with lhist's range).
    pub value: ValueLayout,
    /// The entries, in any order (printing sorts them, see [`MapDump::sorted`]).
    pub entries: Vec<Entry>,
}

/// One entry: the user's keys (empty for a map without keys) and the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// One value per key expression, in order.
    pub keys: Vec<Value>,
    /// The value, merged over CPUs.
    pub value: MapValue,
}

/// The value of an entry, merged over CPUs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapValue {
    /// `@m = expr`.
    Plain(Value),
    /// `count()`.
    Count(u64),
    /// `sum()`, signed as its argument.
    Sum(Int),
    /// `min()` (0 if no CPU has set it).
    Min(Int),
    /// `max()` (0 if no CPU has set it).
    Max(Int),
    /// `avg()`: printed as `total / count`.
    Avg {
        /// How many values were aggregated.
        count: u64,
        /// Their sum.
        total: Int,
    },
    /// `stats()`: printed as count, average and total.
    Stats {
        /// How many values were aggregated.
        count: u64,
        /// Their sum.
        total: Int,
    },
    /// Log2 buckets: bucket index to count.
    Hist(BTreeMap<u64, u64>),
    /// Linear buckets: bucket index to count (the range is in the map's [`Agg::Lhist`]).
    Lhist(BTreeMap<u64, u64>),
    /// A plugin reducer's value, as the plugin rendered it: text, and one JSON value.
    Rendered {
        /// For text output.
        text: String,
        /// For `-f json` (written as it is).
        json: String,
    },
}

impl MapValue {
    /// The integer average of avg/stats values (`total / count`, truncated toward zero; 0 when
    /// empty), signed as the total is.
    pub fn average(count: u64, total: Int) -> Int {
        if count == 0 {
            return Int { value: 0, ..total };
        }
        let value = if total.signed {
            total.value.wrapping_div(count.min(i64::MAX as u64) as i64)
        } else {
            (total.bits() / count) as i64
        };
        Int { value, ..total }
    }

    /// Compares two values by what bpftrace 0.17 sorts them by: the number for
    /// count/sum/min/max and integer values, the average for avg/stats, the total count for
    /// histograms. `None` when this kind of value is sorted by key instead.
    fn cmp_value(&self, other: &MapValue) -> Option<Ordering> {
        use MapValue::*;
        Some(match (self, other) {
            (Plain(Value::Int(a)), Plain(Value::Int(b)))
            | (Sum(a), Sum(b))
            | (Min(a), Min(b))
            | (Max(a), Max(b)) => a.cmp_value(*b),
            (Count(a), Count(b)) => a.cmp(b),
            (Avg { count, total } | Stats { count, total }, Avg { count: c, total: t })
            | (Avg { count, total } | Stats { count, total }, Stats { count: c, total: t }) => {
                Self::average(*count, *total).cmp_value(Self::average(*c, *t))
            }
            (Hist(a) | Lhist(a), Hist(b) | Lhist(b)) => total(a).cmp(&total(b)),
            _ => return None,
        })
    }
}

/// The sum of a histogram's counts.
fn total(buckets: &BTreeMap<u64, u64>) -> u64 {
    buckets.values().fold(0, |a, &b| a.wrapping_add(b))
}

impl MapDump {
    /// The entries in the order bpftrace prints them: by value ascending for
    /// count/sum/min/max/integer maps (signed when the value is), by average for avg/stats, by
    /// total count for hist/lhist, and by key for everything else (see [`Value::cmp_key`]).
    /// Ties keep key order. With `top > 0`, only the last `top` entries (the largest) remain;
    /// `stats` maps ignore `top`, as in bpftrace.
    pub fn sorted(&self, top: u64) -> Vec<&Entry> {
        let mut entries: Vec<&Entry> = self.entries.iter().collect();
        entries.sort_by(|a, b| cmp_keys(&a.keys, &b.keys));
        entries.sort_by(|a, b| a.value.cmp_value(&b.value).unwrap_or(Ordering::Equal));
        let ignores_top = matches!(self.value, ValueLayout::Agg(Agg::Stats));
        let top = usize::try_from(top).unwrap_or(usize::MAX);
        if top > 0 && !ignores_top && entries.len() > top {
            entries.drain(..entries.len() - top);
        }
        entries
    }
}

/// Merges an aggregation's per-CPU values (one slice per CPU, in the layout of
/// [`ValueLayout::Agg`]): count and sum add up; avg and stats add counts and totals; min and
/// max reduce over the CPUs whose `set` word is non-zero (0 when none is). For hist and lhist
/// the value is one bucket's count, returned as [`MapValue::Count`]; [`dump`] groups buckets.
pub fn merge_percpu(agg: Agg, per_cpu: &[&[u8]]) -> MapValue {
    let sum_at = |off: usize| {
        per_cpu
            .iter()
            .fold(0u64, |a, v| a.wrapping_add(u64_at(v, off)))
    };
    let int = |bits: u64, signed: bool| Int {
        value: bits as i64,
        signed,
    };
    match agg {
        Agg::Count | Agg::Hist | Agg::Lhist { .. } => MapValue::Count(sum_at(0)),
        Agg::Sum { signed } => MapValue::Sum(int(sum_at(0), signed)),
        Agg::Avg => MapValue::Avg {
            count: sum_at(0),
            total: int(sum_at(8), true),
        },
        Agg::Stats => MapValue::Stats {
            count: sum_at(0),
            total: int(sum_at(8), true),
        },
        Agg::Min | Agg::Max => {
            let signed = agg.signed();
            let set = per_cpu
                .iter()
                .filter(|v| u64_at(v, 8) != 0)
                .map(|v| int(u64_at(v, 0), signed));
            let pick = if matches!(agg, Agg::Min) {
                set.min_by(|a, b| a.cmp_value(*b))
            } else {
                set.max_by(|a, b| a.cmp_value(*b))
            };
            let v = pick.unwrap_or(int(0, signed));
            if matches!(agg, Agg::Min) {
                MapValue::Min(v)
            } else {
                MapValue::Max(v)
            }
        }
    }
}

/// Bytes of one CPU's value of an aggregation.
fn agg_value_size(agg: Agg) -> usize {
    match agg {
        Agg::Count | Agg::Sum { .. } | Agg::Hist | Agg::Lhist { .. } => 8,
        Agg::Avg | Agg::Stats | Agg::Min | Agg::Max => 16,
    }
}

/// Builds the dump of `map` from its BPF entries: each is the key bytes and the value bytes
/// (for an aggregation, every CPU's value one after the other, as a per-CPU lookup returns
/// them). Keys are decoded with the map's key fields; a hist/lhist key ends with the u64
/// bucket index, and the buckets of equal user keys are grouped into one entry.
pub fn dump<K, V>(
    map: &UserMap,
    raw: impl IntoIterator<Item = (K, V)>,
    names: &dyn Names,
) -> MapDump
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let keys_of = |key: &[u8]| -> Vec<Value> {
        map.keys
            .iter()
            .map(|f| decode(&f.ty, key.get(f.offset..).unwrap_or(&[]), names))
            .collect()
    };
    let mut entries = Vec::new();
    let mut groups: HashMap<Vec<u8>, usize> = HashMap::new();
    for (key, value) in raw {
        let (key, value) = (key.as_ref(), value.as_ref());
        let agg = match &map.value {
            ValueLayout::Plain(ty) => {
                entries.push(Entry {
                    keys: keys_of(key),
                    value: MapValue::Plain(decode(ty, value, names)),
                });
                continue;
            }
            ValueLayout::Agg(agg) => *agg,
        };
        let per_cpu: Vec<&[u8]> = value.chunks(agg_value_size(agg)).collect();
        let merged = merge_percpu(agg, &per_cpu);
        if !matches!(agg, Agg::Hist | Agg::Lhist { .. }) {
            entries.push(Entry {
                keys: keys_of(key),
                value: merged,
            });
            continue;
        }
        let MapValue::Count(count) = merged else {
            continue;
        };
        let split = key.len().saturating_sub(8);
        let (user_key, bucket) = (&key[..split], u64_at(key, split));
        let i = *groups.entry(user_key.to_vec()).or_insert_with(|| {
            let empty = BTreeMap::new();
            entries.push(Entry {
                keys: keys_of(user_key),
                value: if agg == Agg::Hist {
                    MapValue::Hist(empty)
                } else {
                    MapValue::Lhist(empty)
                },
            });
            entries.len() - 1
        });
        if let MapValue::Hist(b) | MapValue::Lhist(b) = &mut entries[i].value {
            b.insert(bucket, count);
        }
    }
    // 0.17 keeps a key-less count() in an array, whose one value always exists: never written,
    // cleared or deleted, it prints `@c: 0`.
    if entries.is_empty() && map.keys.is_empty() && map.value == ValueLayout::Agg(Agg::Count) {
        entries.push(Entry {
            keys: Vec::new(),
            value: MapValue::Count(0),
        });
    }
    MapDump {
        name: map.name.clone(),
        value: map.value.clone(),
        entries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::RawNames;
    use scry_ebpf::object::Field;
    use scry_lang::types::Type;

    fn words(w: &[i64]) -> Vec<u8> {
        w.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn merges_counts_sums_and_averages() {
        let (a, b) = (words(&[3]), words(&[4]));
        assert_eq!(merge_percpu(Agg::Count, &[&a, &b]), MapValue::Count(7));
        let (a, b) = (words(&[-3]), words(&[1]));
        assert_eq!(
            merge_percpu(Agg::Sum { signed: true }, &[&a, &b]),
            MapValue::Sum(Int::signed(-2))
        );
        let (a, b) = (words(&[1, -7]), words(&[1, -2]));
        assert_eq!(
            merge_percpu(Agg::Stats, &[&a, &b]),
            MapValue::Stats {
                count: 2,
                total: Int::signed(-9)
            }
        );
        assert_eq!(MapValue::average(2, Int::signed(-9)), Int::signed(-4));
        assert_eq!(MapValue::average(0, Int::signed(5)), Int::signed(0));
    }

    #[test]
    fn min_max_skip_unset_cpus() {
        let (a, b, c) = (words(&[-5, 1]), words(&[0, 0]), words(&[-3, 1]));
        let all: [&[u8]; 3] = [&a, &b, &c];
        assert_eq!(merge_percpu(Agg::Max, &all), MapValue::Max(Int::signed(-3)));
        assert_eq!(merge_percpu(Agg::Min, &all), MapValue::Min(Int::signed(-5)));
        assert_eq!(merge_percpu(Agg::Max, &[&b]), MapValue::Max(Int::signed(0)));
    }

    #[test]
    fn groups_hist_buckets_by_key() {
        let map = UserMap {
            name: "h".into(),
            map: 0,
            keys: vec![Field {
                ty: Type::I64,
                offset: 0,
            }],
            value: ValueLayout::Agg(Agg::Hist),
        };
        let raw = vec![
            (words(&[1, 4]), words(&[1, 1])),
            (words(&[2, 8]), words(&[1, 0])),
            (words(&[1, 5]), words(&[0, 3])),
        ];
        let d = dump(&map, raw, &RawNames);
        assert_eq!(d.entries.len(), 2);
        assert_eq!(d.entries[0].keys, [Value::int(1)]);
        assert_eq!(
            d.entries[0].value,
            MapValue::Hist(BTreeMap::from([(4, 2), (5, 3)]))
        );
        assert_eq!(d.entries[1].value, MapValue::Hist(BTreeMap::from([(8, 1)])));
    }

    #[test]
    fn plain_and_keyless_maps() {
        let map = UserMap {
            name: "s".into(),
            map: 0,
            keys: vec![],
            value: ValueLayout::Plain(Type::Str(4)),
        };
        let d = dump(&map, [(words(&[0]), b"str\0".to_vec())], &RawNames);
        assert_eq!(
            d.entries,
            [Entry {
                keys: vec![],
                value: MapValue::Plain(Value::str("str"))
            }]
        );
        let map = UserMap {
            name: "c".into(),
            map: 0,
            keys: vec![],
            value: ValueLayout::Agg(Agg::Count),
        };
        let d = dump(&map, [(words(&[0]), words(&[2, 3, 0]))], &RawNames);
        assert_eq!(d.entries[0].value, MapValue::Count(5));
    }

    #[test]
    fn keyless_count_is_never_empty() {
        // bpftrace 0.17: `BEGIN { @c = count(); clear(@c); exit(); }` prints `@c: 0`, as does
        // a count() never written or deleted.
        let map = UserMap {
            name: "c".into(),
            map: 0,
            keys: vec![],
            value: ValueLayout::Agg(Agg::Count),
        };
        let none: [(Vec<u8>, Vec<u8>); 0] = [];
        let d = dump(&map, none.clone(), &RawNames);
        assert_eq!(
            d.entries,
            [Entry {
                keys: vec![],
                value: MapValue::Count(0)
            }]
        );
        // Other key-less aggregations and keyed counts stay empty.
        let map = UserMap {
            value: ValueLayout::Agg(Agg::Sum { signed: true }),
            ..map
        };
        assert!(dump(&map, none.clone(), &RawNames).entries.is_empty());
        let map = UserMap {
            keys: vec![Field {
                ty: Type::I64,
                offset: 0,
            }],
            value: ValueLayout::Agg(Agg::Count),
            ..map
        };
        assert!(dump(&map, none, &RawNames).entries.is_empty());
    }

    fn entry(k: i64, v: MapValue) -> Entry {
        Entry {
            keys: vec![Value::int(k)],
            value: v,
        }
    }

    fn order(d: &MapDump, top: u64) -> Vec<i64> {
        d.sorted(top)
            .iter()
            .map(|e| match e.keys[0] {
                Value::Int(i) => i.value,
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn sort_orders() {
        let sum = |v| MapValue::Sum(Int::signed(v));
        let d = MapDump {
            name: "s".into(),
            value: ValueLayout::Agg(Agg::Sum { signed: true }),
            entries: vec![entry(1, sum(10)), entry(2, sum(-10)), entry(3, sum(0))],
        };
        assert_eq!(order(&d, 0), [2, 3, 1]);
        assert_eq!(order(&d, 2), [3, 1]);
        assert_eq!(order(&d, 5), [2, 3, 1]);
        let s = |v: &str| MapValue::Plain(Value::str(v));
        let d = MapDump {
            name: "m".into(),
            value: ValueLayout::Plain(Type::Str(2)),
            entries: vec![entry(-1, s("c")), entry(10, s("d")), entry(0, s("a"))],
        };
        assert_eq!(order(&d, 0), [0, 10, -1]);
        let stats = |c, t| MapValue::Stats {
            count: c,
            total: Int::signed(t),
        };
        let d = MapDump {
            name: "s".into(),
            value: ValueLayout::Agg(Agg::Stats),
            entries: vec![entry(1, stats(1, 3)), entry(2, stats(2, -9))],
        };
        assert_eq!(order(&d, 0), [2, 1]);
        assert_eq!(order(&d, 1), [2, 1], "stats ignore top");
        // Ties keep key order.
        let d = MapDump {
            name: "c".into(),
            value: ValueLayout::Agg(Agg::Count),
            entries: vec![
                entry(3, MapValue::Count(1)),
                entry(1, MapValue::Count(1)),
                entry(2, MapValue::Count(0)),
            ],
        };
        assert_eq!(order(&d, 0), [2, 1, 3]);
    }
}
