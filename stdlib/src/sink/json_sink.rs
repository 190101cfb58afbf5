//! bpftrace 0.17's `-f json` output: one JSON object per line.

use std::io::{self, Write};

use scry_lang::span::Location;

use super::{Message, Output, Sink};
use crate::json;
use crate::map::MapDump;
use crate::value::Value;

/// Prints as bpftrace 0.17 prints with `-f json`.
pub struct JsonSink {
    out: Output,
}

impl JsonSink {
    /// A JSON sink writing to `out`.
    pub fn new(out: Output) -> Self {
        JsonSink { out }
    }
}

impl Sink for JsonSink {
    fn attached(&mut self, probes: u64) -> io::Result<()> {
        self.out
            .write_all(&json::count_message("attached_probes", "probes", probes))
    }

    fn message(&mut self, kind: Message, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(&json::message(kind.json_type(), bytes))
    }

    fn value(&mut self, v: &Value) -> io::Result<()> {
        self.out.write_all(&json::print_value(v))
    }

    fn map(&mut self, dump: &MapDump, top: u64, div: u64) -> io::Result<()> {
        self.out.write_all(&json::map(dump, top, div))
    }

    fn lost(&mut self, events: u64) -> io::Result<()> {
        self.out
            .write_all(&json::count_message("lost_events", "events", events))
    }

    /// In JSON output too, as 0.17 does.
    fn exit_newlines(&mut self) -> io::Result<()> {
        self.out.exit_newlines()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn helper_error(&mut self, helper: &str, retcode: i64, at: &Location) -> io::Result<()> {
        self.out
            .write_all(&crate::helper_error::json(helper, retcode, at))
    }
}
