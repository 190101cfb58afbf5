//! The one seam everything a session prints goes through: a [`Sink`] receives each kind of
//! output (the attach line, printf lines, values, maps, lost events, warnings) and renders it.
//! One implementation per format: [`TextSink`] prints as bpftrace 0.17 does, [`JsonSink`]
//! as its `-f json` does. The REPL's printer, plugin formatters and plugin sinks implement the
//! same trait.

mod capture;
mod json_sink;
mod output;
mod text_sink;

use std::io::{self, Write};

use scry_lang::span::Location;

use crate::map::MapDump;
use crate::value::Value;

pub use capture::Capture;
pub use json_sink::JsonSink;
pub use output::Output;
pub use text_sink::TextSink;

/// Output format (`-f text|json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// bpftrace's text output.
    Text,
    /// One JSON object per line.
    Json,
}

/// Which action produced a [`Sink::message`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// One `printf` (formatted by [`crate::printf::format`]).
    Printf,
    /// `time()` (formatted with strftime).
    Time,
    /// The contents `cat()` read.
    Cat,
    /// The output of a command `system()` ran.
    Syscall,
    /// The line `join()` built (text output ends it with a newline).
    Join,
}

impl Message {
    /// The record type of the message in bpftrace's JSON output.
    pub fn json_type(self) -> &'static str {
        match self {
            Message::Printf => "printf",
            Message::Time => "time",
            Message::Cat => "cat",
            Message::Syscall => "syscall",
            Message::Join => "join",
        }
    }
}

/// Receives everything a session prints. Buffering and flushing are the writer's business
/// (`-B`). Warnings, errors and notes about the run go to stderr unless a sink says otherwise.
pub trait Sink {
    /// `Attaching N probes...`: the probes are about to attach.
    fn attached(&mut self, probes: u64) -> io::Result<()>;
    /// Text a program's action produced (`printf`, `time`, `cat`, `system`, `join`), already
    /// formatted.
    fn message(&mut self, kind: Message, bytes: &[u8]) -> io::Result<()>;
    /// `print(value)`.
    fn value(&mut self, v: &Value) -> io::Result<()>;
    /// `print(@map, top, div)`, and each map at exit (with `top` and `div` 0); hists too.
    fn map(&mut self, dump: &MapDump, top: u64, div: u64) -> io::Result<()>;
    /// `Lost N events`: the ring buffer refused records.
    fn lost(&mut self, events: u64) -> io::Result<()>;
    /// The two newlines written at exit before the maps.
    fn exit_newlines(&mut self) -> io::Result<()>;
    /// Flushes what was written.
    fn flush(&mut self) -> io::Result<()>;

    /// A warning about the run (a full map, lost stacks): `WARNING: text` on stderr (a line
    /// stderr refuses, a closed pipe, is dropped: it must not end the session).
    fn warning(&mut self, text: &str) -> io::Result<()> {
        let _ = writeln!(io::stderr(), "WARNING: {text}");
        Ok(())
    }

    /// An error the run goes on after (a file `cat()` cannot open): `ERROR: text` on stderr.
    fn error(&mut self, text: &str) -> io::Result<()> {
        let _ = writeln!(io::stderr(), "ERROR: {text}");
        Ok(())
    }

    /// The arguments of a `printf` (record action `action`), before its text arrives through
    /// [`Sink::message`]: for plugin sinks that format printf themselves (`sink args`).
    fn printf_args(&mut self, action: usize, args: &[Value]) -> io::Result<()> {
        let _ = (action, args);
        Ok(())
    }

    /// A helper call failed (`-k`, `-kk`): `helper` returned `retcode` at `at`. bpftrace's
    /// warning with the source line and a marker, on stderr unless a sink says otherwise.
    fn helper_error(&mut self, helper: &str, retcode: i64, at: &Location) -> io::Result<()> {
        let _ = io::stderr().write_all(&crate::helper_error::text(helper, retcode, at));
        Ok(())
    }

    /// A note for people watching the run (`-v` program ids and verifier logs): on stderr.
    fn note(&mut self, text: &str) -> io::Result<()> {
        let _ = writeln!(io::stderr(), "{text}");
        Ok(())
    }
}

/// A sink for `format`, writing to `out`.
pub fn new(format: Format, out: Output) -> Box<dyn Sink> {
    match format {
        Format::Text => Box::new(TextSink::new(out)),
        Format::Json => Box::new(JsonSink::new(out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::{Entry, MapValue};
    use scry_ebpf::object::ValueLayout;
    use scry_lang::types::Agg;

    fn run(format: Format) -> String {
        let capture = Capture::new();
        let mut s = new(format, Output::new(Box::new(capture.clone())));
        s.attached(1).unwrap();
        s.message(Message::Printf, b"hi 5\n").unwrap();
        s.message(Message::Time, b"12:00:00\n").unwrap();
        s.value(&Value::int(123)).unwrap();
        s.message(Message::Join, b"/usr/bin/true a").unwrap();
        s.lost(3).unwrap();
        s.exit_newlines().unwrap();
        let cnt = MapDump {
            name: "cnt".into(),
            value: ValueLayout::Agg(Agg::Count),
            entries: vec![Entry {
                keys: vec![],
                value: MapValue::Count(1),
            }],
        };
        s.map(&cnt, 0, 0).unwrap();
        s.flush().unwrap();
        capture.take_string()
    }

    #[test]
    fn text() {
        assert_eq!(
            run(Format::Text),
            "Attaching 1 probe...\nhi 5\n12:00:00\n123\n/usr/bin/true a\nLost 3 events\n\n\n\
             @cnt: 1\n"
        );
        let capture = Capture::new();
        let mut s = TextSink::new(Output::new(Box::new(capture.clone())));
        s.attached(3).unwrap();
        s.message(Message::Cat, b"hello").unwrap();
        s.message(Message::Syscall, b"hi\n").unwrap();
        assert_eq!(capture.take(), b"Attaching 3 probes...\nhellohi\n");
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
