//! The writer the runtime prints through: text or JSON, chosen once, to any [`Write`].

use std::io::{self, Write};

use crate::json;
use crate::map::MapDump;
use crate::text;
use crate::value::Value;

/// Output format (`-f text|json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// bpftrace's text output.
    Text,
    /// One JSON object per line.
    Json,
}

/// Writes everything a program prints, in one format. Buffering and flushing are the writer's
/// business (`-B`): wrap it in a `LineWriter` or `BufWriter` as needed.
pub struct Printer<W: Write> {
    out: W,
    format: Format,
}

impl<W: Write> Printer<W> {
    /// A printer writing `format` to `out`.
    pub fn new(out: W, format: Format) -> Self {
        Printer { out, format }
    }

    /// The format printed in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Prints in `format` from now on.
    pub fn set_format(&mut self, format: Format) {
        self.format = format;
    }

    /// The writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Gives the writer back.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Flushes the writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// `Attaching 1 probe...` / `Attaching N probes...`, or the `attached_probes` record.
    pub fn attached(&mut self, probes: u64) -> io::Result<()> {
        match self.format {
            Format::Text if probes == 1 => self.out.write_all(b"Attaching 1 probe...\n"),
            Format::Text => writeln!(self.out, "Attaching {probes} probes..."),
            Format::Json => {
                self.out
                    .write_all(&json::count_message("attached_probes", "probes", probes))
            }
        }
    }

    /// The output of one `printf` (already formatted by [`crate::printf::format`]).
    pub fn printf(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.message("printf", bytes)
    }

    /// The output of `time()` (already formatted with strftime).
    pub fn time(&mut self, text: &[u8]) -> io::Result<()> {
        self.message("time", text)
    }

    /// The contents `cat()` read.
    pub fn cat(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.message("cat", bytes)
    }

    /// The output of a command run by `system()`.
    pub fn syscall(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.message("syscall", bytes)
    }

    /// The line `join()` built (text output adds the newline).
    pub fn join(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.format {
            Format::Text => {
                self.out.write_all(bytes)?;
                self.out.write_all(b"\n")
            }
            Format::Json => self.out.write_all(&json::message("join", bytes)),
        }
    }

    /// `print(value)`.
    pub fn value(&mut self, v: &Value) -> io::Result<()> {
        match self.format {
            Format::Text => self.out.write_all(&text::print_value(v)),
            Format::Json => self.out.write_all(&json::print_value(v)),
        }
    }

    /// `print(@map, top, div)`, and each map at exit (with `top` and `div` 0).
    pub fn map(&mut self, dump: &MapDump, top: u64, div: u64) -> io::Result<()> {
        match self.format {
            Format::Text => self.out.write_all(&text::map(dump, top, div)),
            Format::Json => self.out.write_all(&json::map(dump, top, div)),
        }
    }

    /// `Lost N events`, or the `lost_events` record.
    pub fn lost(&mut self, events: u64) -> io::Result<()> {
        match self.format {
            Format::Text => writeln!(self.out, "Lost {events} events"),
            Format::Json => {
                self.out
                    .write_all(&json::count_message("lost_events", "events", events))
            }
        }
    }

    /// The two newlines written at exit before the maps (in JSON output too, as 0.17 does).
    pub fn exit_newlines(&mut self) -> io::Result<()> {
        self.out.write_all(b"\n\n")
    }

    /// Raw bytes in text output, a `{"type": kind, "data": "..."}` line in JSON.
    fn message(&mut self, kind: &str, bytes: &[u8]) -> io::Result<()> {
        match self.format {
            Format::Text => self.out.write_all(bytes),
            Format::Json => self.out.write_all(&json::message(kind, bytes)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::{Entry, MapValue};
    use scry_ebpf::object::ValueLayout;
    use scry_lang::types::Agg;

    fn run(format: Format) -> String {
        let mut p = Printer::new(Vec::new(), format);
        assert_eq!(p.format(), format);
        p.attached(1).unwrap();
        p.printf(b"hi 5\n").unwrap();
        p.time(b"12:00:00\n").unwrap();
        p.value(&Value::int(123)).unwrap();
        p.join(b"/usr/bin/true a").unwrap();
        p.lost(3).unwrap();
        p.exit_newlines().unwrap();
        let cnt = MapDump {
            name: "cnt".into(),
            value: ValueLayout::Agg(Agg::Count),
            entries: vec![Entry {
                keys: vec![],
                value: MapValue::Count(1),
            }],
        };
        p.map(&cnt, 0, 0).unwrap();
        p.flush().unwrap();
        String::from_utf8(p.into_inner()).unwrap()
    }

    #[test]
    fn text() {
        assert_eq!(
            run(Format::Text),
            "Attaching 1 probe...\nhi 5\n12:00:00\n123\n/usr/bin/true a\nLost 3 events\n\n\n\
             @cnt: 1\n"
        );
        let mut p = Printer::new(Vec::new(), Format::Text);
        p.attached(3).unwrap();
        p.cat(b"hello").unwrap();
        p.syscall(b"hi\n").unwrap();
        p.get_mut().push(b'!');
        assert_eq!(p.into_inner(), b"Attaching 3 probes...\nhellohi\n!");
    }

    #[test]
    fn json() {
        assert_eq!(
            run(Format::Json),
            "{\"type\": \"attached_probes\", \"data\": {\"probes\": 1}}\n\
             {\"type\": \"printf\", \"data\": \"hi 5\\n\"}\n\
             {\"type\": \"time\", \"data\": \"12:00:00\\n\"}\n\
             {\"type\": \"value\", \"data\": 123}\n\
             {\"type\": \"join\", \"data\": \"/usr/bin/true a\"}\n\
             {\"type\": \"lost_events\", \"data\": {\"events\": 3}}\n\
             \n\n\
             {\"type\": \"map\", \"data\": {\"@cnt\": 1}}\n"
        );
    }
}
