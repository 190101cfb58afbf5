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

use scry_guest::{host, Map, Plugin, Record, Result, Tagged, Value, Writer};

// Text is written with `Writer` (`text`, `udec`), not `write!` or `format!`: without
// `core::fmt` the plugin is a third smaller and scry compiles it faster when it loads it.

const FILE: &str = "scry.prom";
const TEMP: &str = "scry.prom.tmp";
const MIXED: &str = "a map mixes kinds of values";

#[derive(Default)]
struct Prometheus {
    /// Each map's metric lines, by metric name (in name order).
    metrics: Vec<(Vec<u8>, Vec<u8>)>,
    lost: u64,
    /// The maps warned about.
    warned: Vec<String>,
}

fn metric_name(map: &str) -> Vec<u8> {
    let bare = map.trim_start_matches('@');
    let mut name = b"scry_".to_vec();
    if bare.is_empty() {
        name.extend_from_slice(b"map");
    }
    for c in bare.chars() {
        name.push(if c.is_ascii_alphanumeric() || c == '_' { c as u8 } else { b'_' });
    }
    name
}

/// A label value, escaped.
fn escaped(out: &mut Writer, value: &[u8]) {
    for &c in value {
        match c {
            b'\\' => out.text("\\\\"),
            b'"' => out.text("\\\""),
            b'\n' => out.text("\\n"),
            _ => out.bytes.push(c),
        }
    }
}

/// The start of a sample line up to its value: `NAME{key="..."} ` (plus `extra`, e.g.
/// `le="7"`, among the labels; no braces for a map without keys).
fn series(out: &mut Writer, name: &[u8], suffix: &str, key: &[Tagged], extra: Option<(&str, &[u8])>) {
    out.bytes(name);
    out.text(suffix);
    if !key.is_empty() || extra.is_some() {
        out.text("{");
        for (i, part) in key.iter().enumerate() {
            if i > 0 {
                out.text(",");
            }
            out.text("key");
            if key.len() > 1 {
                out.udec(i as u64);
            }
            out.text("=\"");
            let mut text = Writer::default();
            text.tagged_text(part);
            escaped(out, &text.bytes);
            out.text("\"");
        }
        if let Some((label, value)) = extra {
            if !key.is_empty() {
                out.text(",");
            }
            out.text(label);
            out.text("=\"");
            escaped(out, value);
            out.text("\"");
        }
        out.text("}");
    }
    out.text(" ");
}

/// `# TYPE NAME TYPE`.
fn type_line(out: &mut Writer, name: &[u8], suffix: &str, kind: &str) {
    out.text("# TYPE ");
    out.bytes(name);
    out.text(suffix);
    out.text(" ");
    out.text(kind);
    out.text("\n");
}

impl Prometheus {
    /// The metric lines of `map`; `None` when its values are not numbers.
    fn lines(map: &Map) -> Result<Option<Vec<u8>>> {
        let name = metric_name(&map.name);
        let mut out = Writer::default();
        match map.entries.first().map(|e| &e.value) {
            None => {}
            Some(Value::Scalar(_)) => {
                for e in &map.entries {
                    match &e.value {
                        Value::Scalar(Tagged::I64(_) | Tagged::U64(_)) => {}
                        Value::Scalar(_) => return Ok(None),
                        _ => return Err(MIXED.into()),
                    }
                }
                type_line(&mut out, &name, "", "gauge");
                for e in &map.entries {
                    if let Value::Scalar(t) = &e.value {
                        series(&mut out, &name, "", &e.key, None);
                        out.tagged_text(t);
                        out.text("\n");
                    }
                }
            }
            Some(Value::Buckets(_)) => {
                type_line(&mut out, &name, "", "histogram");
                for e in &map.entries {
                    let buckets = match &e.value {
                        Value::Buckets(b) => b,
                        _ => return Err(MIXED.into()),
                    };
                    let mut total = 0u64;
                    let sample = |out: &mut Writer, suffix, le: Option<&[u8]>, total| {
                        series(out, &name, suffix, &e.key, le.map(|le| ("le", le)));
                        out.udec(total);
                        out.text("\n");
                    };
                    for b in buckets {
                        total += b.count;
                        let mut le = Writer::default();
                        le.dec(b.high - 1);
                        sample(&mut out, "_bucket", Some(&le.bytes), total);
                    }
                    sample(&mut out, "_bucket", Some(b"+Inf"), total);
                    sample(&mut out, "_count", None, total);
                }
            }
            Some(Value::Stats { .. }) => {
                for (i, suffix) in ["_count", "_average", "_sum"].iter().enumerate() {
                    type_line(&mut out, &name, suffix, "gauge");
                    for e in &map.entries {
                        series(&mut out, &name, suffix, &e.key, None);
                        if let Value::Stats { count, avg, total } = e.value {
                            match i {
                                0 => out.udec(count),
                                1 => out.dec(avg),
                                _ => out.dec(total),
                            }
                        }
                        out.text("\n");
                    }
                }
            }
            Some(Value::Reducer(_)) => return Ok(None),
        }
        Ok(Some(out.bytes))
    }

    /// Writes the file: the temporary one, then renamed over the real one.
    fn write(&self) -> Result {
        let mut text = Writer::default();
        for (_, lines) in &self.metrics {
            text.bytes(lines);
        }
        text.text("# TYPE scry_lost_events_total counter\nscry_lost_events_total ");
        text.udec(self.lost);
        text.text("\n");
        host::fs_write(TEMP, &text.bytes, false)
            .map_err(|_| "cannot write scry.prom.tmp in the granted directory")?;
        host::fs_rename(TEMP, FILE)
            .map_err(|_| "cannot rename scry.prom.tmp to scry.prom in the granted directory")?;
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
                            let name = metric_name(&map.name);
                            match self.metrics.binary_search_by(|(n, _)| n.cmp(&name)) {
                                Ok(i) => self.metrics[i].1 = lines,
                                Err(i) => self.metrics.insert(i, (name, lines)),
                            }
                        }
                        None => {
                            if !self.warned.iter().any(|w| *w == map.name) {
                                self.warned.push(map.name.to_string());
                                host::log(&(map.shown_name() + " holds text, not numbers: not exported"));
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
