//! prometheus: a sink exporting the maps scry prints as a node_exporter textfile-collector
//! file, `scry.prom` in the directory granted with `--plugin-allow NAME:fs=DIR`. Point
//! node_exporter's `--collector.textfile.directory` at that directory and every host's
//! Prometheus scrape picks the values up; scry stays one binary, with no port open.
//!
//! The file is rewritten atomically (written to `scry.prom.tmp`, then renamed over
//! `scry.prom`) after each batch of records that printed a map (`print(@m)` in an
//! `interval` probe, the maps at exit) and at the end of the run. Each map keeps the values
//! it had when last printed:
//!
//! - a map `@name` becomes the metric `scry_name` (characters outside `[a-zA-Z0-9_]` become
//!   `_`); a one-part key is the label `key`, a key of n parts the labels `key0` .. `keyN-1`;
//! - count, sum, min, max and integer values: a gauge;
//! - hist and lhist: a histogram, cumulative, `le` the largest integer of each bucket (the
//!   `_sum` line is left out: the buckets do not give the sum);
//! - stats: the gauges `scry_name_count`, `scry_name_average`, `scry_name_sum`;
//! - maps of strings and reducer maps (text) are not exported (a warning, once per map);
//! - `scry_lost_events_total`: a counter of the events the kernel could not deliver.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use scry_guest::{host, Entry, Map, Plugin, Record, Result, Tagged, Value};

const FILE: &str = "scry.prom";
const TEMP: &str = "scry.prom.tmp";

#[derive(Default)]
struct Prometheus {
    /// Each map's metric lines, by metric name.
    metrics: BTreeMap<String, String>,
    lost: u64,
    warned: BTreeSet<String>,
}

fn metric_name(map: &str) -> String {
    let name: String = map
        .trim_start_matches('@')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    format!("scry_{}", if name.is_empty() { "map" } else { &name })
}

/// `{key="..."}` (plus `extra`, e.g. `le="7"`), or nothing for a map without keys.
fn labels(key: &[Tagged], extra: Option<(&str, &str)>) -> String {
    let mut pairs = Vec::new();
    for (i, part) in key.iter().enumerate() {
        let mut text = scry_guest::Writer::default();
        text.tagged_text(part);
        let value = String::from_utf8_lossy(&text.bytes).into_owned();
        let name = if key.len() == 1 { "key".to_string() } else { format!("key{}", i) };
        pairs.push((name, value));
    }
    if let Some((name, value)) = extra {
        pairs.push((name.to_string(), value.to_string()));
    }
    if pairs.is_empty() {
        return String::new();
    }
    let escaped: Vec<String> = pairs
        .iter()
        .map(|(n, v)| {
            let v = v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            format!("{}=\"{}\"", n, v)
        })
        .collect();
    format!("{{{}}}", escaped.join(","))
}

fn number(t: &Tagged) -> Option<String> {
    match t {
        Tagged::I64(v) => Some(v.to_string()),
        Tagged::U64(v) => Some(v.to_string()),
        _ => None,
    }
}

impl Prometheus {
    /// The metric lines of `map`; `None` when its values are not numbers.
    fn lines(map: &Map) -> Result<Option<String>> {
        let name = metric_name(&map.name);
        let mut out = String::new();
        let gauge = |out: &mut String, suffix: &str, entries: &[Entry], f: &dyn Fn(&Value) -> String| {
            let _ = writeln!(out, "# TYPE {}{} gauge", name, suffix);
            for e in entries {
                let _ = writeln!(out, "{}{}{} {}", name, suffix, labels(&e.key, None), f(&e.value));
            }
        };
        match map.entries.first().map(|e| &e.value) {
            None => {}
            Some(Value::Scalar(_)) => {
                let mut values = Vec::new();
                for e in &map.entries {
                    match &e.value {
                        Value::Scalar(t) => match number(t) {
                            Some(v) => values.push(v),
                            None => return Ok(None),
                        },
                        _ => return Err("a map mixes kinds of values".into()),
                    }
                }
                let _ = writeln!(out, "# TYPE {} gauge", name);
                for (e, v) in map.entries.iter().zip(values) {
                    let _ = writeln!(out, "{}{} {}", name, labels(&e.key, None), v);
                }
            }
            Some(Value::Buckets(_)) => {
                let _ = writeln!(out, "# TYPE {} histogram", name);
                for e in &map.entries {
                    let buckets = match &e.value {
                        Value::Buckets(b) => b,
                        _ => return Err("a map mixes kinds of values".into()),
                    };
                    let mut total = 0u64;
                    for b in buckets {
                        total += b.count;
                        let le = (b.high - 1).to_string();
                        let _ = writeln!(out, "{}_bucket{} {}", name, labels(&e.key, Some(("le", &le))), total);
                    }
                    let _ = writeln!(out, "{}_bucket{} {}", name, labels(&e.key, Some(("le", "+Inf"))), total);
                    let _ = writeln!(out, "{}_count{} {}", name, labels(&e.key, None), total);
                }
            }
            Some(Value::Stats { .. }) => {
                let field = |i: usize| {
                    move |v: &Value| match v {
                        Value::Stats { count, avg, total } => [count.to_string(), avg.to_string(), total.to_string()][i].clone(),
                        _ => String::new(),
                    }
                };
                gauge(&mut out, "_count", &map.entries, &field(0));
                gauge(&mut out, "_average", &map.entries, &field(1));
                gauge(&mut out, "_sum", &map.entries, &field(2));
            }
            Some(Value::Reducer(_)) => return Ok(None),
        }
        Ok(Some(out))
    }

    /// Writes the file: the temporary one, then renamed over the real one.
    fn write(&self) -> Result {
        let mut text = String::new();
        for lines in self.metrics.values() {
            text.push_str(lines);
        }
        let _ = writeln!(text, "# TYPE scry_lost_events_total counter\nscry_lost_events_total {}", self.lost);
        host::fs_write(TEMP, text.as_bytes(), false)
            .map_err(|_| format!("cannot write {} in the granted directory", TEMP))?;
        host::fs_rename(TEMP, FILE)
            .map_err(|_| format!("cannot rename {} to {} in the granted directory", TEMP, FILE))?;
        Ok(())
    }
}

impl Plugin for Prometheus {
    const DESCRIPTOR: &'static str = "sink lines\n";

    fn sink(&mut self, records: &[Record]) -> Result {
        let mut changed = false;
        for record in records {
            match record {
                Record::Map { map, .. } => {
                    changed = true;
                    match Self::lines(map)? {
                        Some(lines) => {
                            self.metrics.insert(metric_name(&map.name), lines);
                        }
                        None => {
                            if self.warned.insert(map.name.to_string()) {
                                host::log(&format!("{} holds text, not numbers: not exported", map.shown_name()));
                            }
                        }
                    }
                }
                Record::Lost(n) => {
                    self.lost += n;
                    changed = true;
                }
                _ => {}
            }
        }
        if changed {
            self.write()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result {
        self.write()
    }
}

scry_guest::plugin!(Prometheus: sink, finish);
