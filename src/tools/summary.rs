//! A sink for the tools that print summaries of a map (funccount, stackcount, argdist): each
//! `print()` of a map, and the maps printed at the end of the run, go to the tool's renderer;
//! the rest of what a session prints passes through.

use std::io::{self, Write};

use scry_stdlib::sink::Message;
use scry_stdlib::{MapDump, Sink, Value};

/// Renders a tool's maps in its layout.
pub trait Render {
    /// Writes the summary of `dump` (a map the renderer does not know writes nothing).
    fn render(&mut self, dump: &MapDump, out: &mut dyn Write) -> io::Result<()>;

    /// The run ended; the engine's end-of-run dump of every map follows.
    fn ended(&mut self) {}
}

/// A [`Sink`] rendering maps with `R`, writing to `out`.
pub struct SummarySink<R> {
    render: R,
    out: Box<dyn Write>,
}

impl<R: Render> SummarySink<R> {
    /// A sink rendering with `render` to `out`.
    pub fn new(render: R, out: Box<dyn Write>) -> Self {
        SummarySink { render, out }
    }
}

impl<R: Render> Sink for SummarySink<R> {
    fn attached(&mut self, _probes: u64) -> io::Result<()> {
        Ok(())
    }

    fn message(&mut self, _kind: Message, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    fn value(&mut self, _v: &Value) -> io::Result<()> {
        Ok(())
    }

    fn map(&mut self, dump: &MapDump, _top: u64, _div: u64) -> io::Result<()> {
        self.render.render(dump, &mut self.out)?;
        self.out.flush()
    }

    fn lost(&mut self, events: u64) -> io::Result<()> {
        writeln!(io::stderr(), "Possibly lost {events} samples")
    }

    fn exit_newlines(&mut self) -> io::Result<()> {
        self.render.ended();
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The text of a `probe`, string or symbol key.
pub fn key_text(v: &Value) -> String {
    match v {
        Value::Text(_, s) => s.clone(),
        Value::Str(b) => String::from_utf8_lossy(b).into_owned(),
        other => format!("{other:?}"),
    }
}
