//! bpftrace 0.17's text output.

use std::io::{self, Write};

use scry_lang::span::Location;

use super::{Message, Output, Sink};
use crate::map::MapDump;
use crate::text;
use crate::value::Value;

/// Prints as bpftrace 0.17 prints by default.
pub struct TextSink {
    out: Output,
}

impl TextSink {
    /// A text sink writing to `out`.
    pub fn new(out: Output) -> Self {
        TextSink { out }
    }
}

impl Sink for TextSink {
    fn attached(&mut self, probes: u64) -> io::Result<()> {
        match probes {
            1 => self.out.write_all(b"Attaching 1 probe...\n"),
            n => writeln!(self.out, "Attaching {n} probes..."),
        }
    }

    fn message(&mut self, kind: Message, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        if kind == Message::Join {
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn value(&mut self, v: &Value) -> io::Result<()> {
        self.out.write_all(&text::print_value(v))
    }

    fn map(&mut self, dump: &MapDump, top: u64, div: u64) -> io::Result<()> {
        self.out.write_all(&text::map(dump, top, div))
    }

    fn lost(&mut self, events: u64) -> io::Result<()> {
        writeln!(self.out, "Lost {events} events")
    }

    fn exit_newlines(&mut self) -> io::Result<()> {
        self.out.exit_newlines()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// With the program's output, as 0.17 does.
    fn helper_error(&mut self, helper: &str, retcode: i64, at: &Location) -> io::Result<()> {
        self.out
            .write_all(&crate::helper_error::text(helper, retcode, at))
    }
}
