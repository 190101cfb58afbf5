//! The session's sink in the REPL: the trace output as `-e` renders it, and the run's
//! warnings, errors and notes as the REPL's own lines ([`Console::say`]), so that at a
//! terminal they come above the prompt from the printer thread like everything else.

use std::io;

use scry_stdlib::map::MapDump;
use scry_stdlib::sink::{self, Format, Message, Output, Sink};
use scry_stdlib::value::Value;

use crate::console::Console;
use crate::shared_out::SharedOut;

/// A sink of `format` over `out`, with its warnings, errors and notes said on `console`.
pub fn new(format: Format, out: &SharedOut, console: &Console) -> Box<dyn Sink> {
    Box::new(ConsoleSink {
        inner: sink::new(format, Output::new(Box::new(out.clone()))),
        console: console.clone(),
    })
}

struct ConsoleSink {
    inner: Box<dyn Sink>,
    console: Console,
}

impl ConsoleSink {
    /// Says `line` after the output written so far.
    fn say(&mut self, line: String) -> io::Result<()> {
        self.inner.flush()?;
        self.console.say(&line);
        Ok(())
    }
}

impl Sink for ConsoleSink {
    fn attached(&mut self, probes: u64) -> io::Result<()> {
        self.inner.attached(probes)
    }

    fn message(&mut self, kind: Message, bytes: &[u8]) -> io::Result<()> {
        self.inner.message(kind, bytes)
    }

    fn value(&mut self, v: &Value) -> io::Result<()> {
        self.inner.value(v)
    }

    fn map(&mut self, dump: &MapDump, top: u64, div: u64) -> io::Result<()> {
        self.inner.map(dump, top, div)
    }

    fn lost(&mut self, events: u64) -> io::Result<()> {
        self.inner.lost(events)
    }

    fn exit_newlines(&mut self) -> io::Result<()> {
        self.inner.exit_newlines()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    fn warning(&mut self, text: &str) -> io::Result<()> {
        self.say(format!("WARNING: {text}\n"))
    }

    fn error(&mut self, text: &str) -> io::Result<()> {
        self.say(format!("ERROR: {text}\n"))
    }

    fn note(&mut self, text: &str) -> io::Result<()> {
        self.say(format!("{text}\n"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use rustyline::ExternalPrinter;

    use super::*;
    use crate::console::ScreenWriter;
    use crate::screen::Screen;

    struct Printed(mpsc::Sender<String>);

    impl ExternalPrinter for Printed {
        fn print(&mut self, msg: String) -> rustyline::Result<()> {
            let _ = self.0.send(msg);
            Ok(())
        }
    }

    #[test]
    fn warnings_come_above_the_prompt_after_the_output_before_them() {
        let (tx, printed) = mpsc::channel();
        let screen = Screen::new();
        let thread = screen.start(Printed(tx));
        let out = SharedOut::new(Box::new(ScreenWriter::new(screen.clone())));
        let mut sink = new(Format::Text, &out, &Console::Terminal(screen.clone()));
        sink.message(Message::Printf, b"traced\n").unwrap();
        sink.warning("a map was full").unwrap();
        sink.error("cannot read /nothing").unwrap();
        screen.close();
        thread.join().unwrap();
        let all: String = printed.try_iter().collect();
        assert_eq!(
            all,
            "traced\nWARNING: a map was full\nERROR: cannot read /nothing\n"
        );
    }
}
