//! funccount's summary: an empty line, `HH:MM:SS` with `-T`, the `FUNC COUNT` header, and one
//! row per target hit, by count ascending (ties by name).

use std::collections::BTreeMap;
use std::io::{self, Write};

use scry_stdlib::{MapDump, MapValue};

use crate::tools::clock;
use crate::tools::summary::{key_text, Render};
use crate::tools::targets::display_name;

/// Renders `@counts[probe]`.
pub struct Table {
    timestamp: bool,
}

impl Table {
    /// A renderer; `timestamp` prints the local time above each table (`-T`).
    pub fn new(timestamp: bool) -> Self {
        Table { timestamp }
    }
}

impl Render for Table {
    fn render(&mut self, dump: &MapDump, out: &mut dyn Write) -> io::Result<()> {
        if dump.name != "counts" {
            return Ok(());
        }
        writeln!(out)?;
        if self.timestamp {
            writeln!(out, "{:<8}", clock::hms())?;
        }
        out.write_all(&table(dump))
    }
}

/// The header and rows (without the leading empty line and time).
fn table(dump: &MapDump) -> Vec<u8> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for e in &dump.entries {
        let (Some(key), MapValue::Count(n)) = (e.keys.first(), &e.value) else {
            continue;
        };
        let count = counts
            .entry(display_name(&key_text(key)).to_string())
            .or_default();
        *count = count.saturating_add(*n);
    }
    let mut rows: Vec<(String, u64)> = counts.into_iter().filter(|(_, n)| *n > 0).collect();
    rows.sort_by_key(|(_, n)| *n);
    let mut text = format!("{:<36} {:>8}\n", "FUNC", "COUNT");
    for (name, n) in rows {
        text.push_str(&format!("{name:<36} {n:>8}\n"));
    }
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_ebpf::object::ValueLayout;
    use scry_lang::types::Agg;
    use scry_stdlib::{Entry, TextKind, Value};

    fn entry(probe: &str, n: u64) -> Entry {
        Entry {
            keys: vec![Value::Text(TextKind::Probe, probe.into())],
            value: MapValue::Count(n),
        }
    }

    #[test]
    fn byte_exact_table() {
        let dump = MapDump {
            name: "counts".into(),
            value: ValueLayout::Agg(Agg::Count),
            entries: vec![
                entry("tracepoint:block:block_rq_issue", 7),
                entry("tracepoint:block:block_rq_complete", 7),
                entry("tracepoint:block:block_bio_queue", 0),
                entry("uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:a_function_name_longer_than_thirty_six", 123456),
                entry("usdt:/bin/x:p1:mutex_entry", 2),
                entry("usdt:/bin/x:p2:mutex_entry", 3),
            ],
        };
        assert_eq!(
            String::from_utf8(table(&dump)).unwrap(),
            "FUNC                                    COUNT\n\
             mutex_entry                                 5\n\
             block:block_rq_complete                     7\n\
             block:block_rq_issue                        7\n\
             a_function_name_longer_than_thirty_six   123456\n"
        );
        let mut out = Vec::new();
        Table::new(false).render(&dump, &mut out).unwrap();
        assert!(out.starts_with(b"\nFUNC "));
        let empty = MapDump {
            entries: vec![],
            ..dump
        };
        assert_eq!(
            table(&empty),
            b"FUNC                                    COUNT\n"
        );
        let mut out = Vec::new();
        let other = MapDump {
            name: "rounds".into(),
            ..empty
        };
        Table::new(true).render(&other, &mut out).unwrap();
        assert!(out.is_empty());
    }
}
