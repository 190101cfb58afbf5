//! Where the REPL's output goes.
//!
//! Three streams: the trace output (what the probes print, and the maps), what a command
//! shows (`.probes`, `.maps`, `.help`), and the REPL's own answers and errors (`#3 attached:
//! ...`, diagnostics). Reading standard input, they go to stdout, stdout and stderr, so that
//! stdout holds exactly what `scry -q -e` prints. At a terminal all three go through the
//! [`Screen`], which writes above the prompt while the user types.

use std::io::{self, Write};

use crate::screen::Screen;

/// The REPL's answers and the output of its commands.
#[derive(Clone)]
pub enum Console {
    /// Commands' output to stdout, answers and errors to stderr.
    Stdio,
    /// Everything above the line editor's prompt.
    Terminal(Screen),
}

impl Console {
    /// What a command shows.
    pub fn show(&self, text: &str) {
        match self {
            Console::Stdio => {
                let mut out = io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
            Console::Terminal(screen) => screen.print(text.to_string()),
        }
    }

    /// An answer or an error.
    pub fn say(&self, text: &str) {
        match self {
            Console::Stdio => {
                let mut err = io::stderr().lock();
                let _ = err.write_all(text.as_bytes());
                let _ = err.flush();
            }
            Console::Terminal(screen) => screen.print(text.to_string()),
        }
    }
}

/// The trace output at a terminal: whole lines, batched per flush (the session flushes after
/// each drain of the ring buffer), printed above the prompt. A line not finished yet waits
/// for its end, or for the writer to be dropped.
pub struct ScreenWriter {
    screen: Screen,
    pending: Vec<u8>,
}

impl ScreenWriter {
    /// Writes to `screen`.
    pub fn new(screen: Screen) -> Self {
        ScreenWriter {
            screen,
            pending: Vec::new(),
        }
    }

    fn send(&mut self, upto: usize) {
        let rest = self.pending.split_off(upto);
        let lines = std::mem::replace(&mut self.pending, rest);
        if !lines.is_empty() {
            self.screen.print_lines(&String::from_utf8_lossy(&lines));
        }
    }
}

impl Write for ScreenWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(last) = self.pending.iter().rposition(|&b| b == b'\n') {
            self.send(last + 1);
        }
        Ok(())
    }
}

impl Drop for ScreenWriter {
    fn drop(&mut self) {
        let len = self.pending.len();
        self.send(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Records what was printed.
    struct Recorder(mpsc::Sender<String>);

    impl rustyline::ExternalPrinter for Recorder {
        fn print(&mut self, msg: String) -> rustyline::Result<()> {
            let _ = self.0.send(msg);
            Ok(())
        }
    }

    #[test]
    fn the_screen_gets_whole_lines_per_flush() {
        let (tx, rx) = mpsc::channel();
        let screen = Screen::new();
        let thread = screen.start(Recorder(tx));
        let mut w = ScreenWriter::new(screen.clone());
        w.write_all(b"a\nb").unwrap();
        w.write_all(b"c\nd").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(rx.try_recv().is_err());
        w.flush().unwrap();
        assert_eq!(rx.recv().unwrap(), "a\nbc\n");
        w.flush().unwrap();
        drop(w);
        assert_eq!(rx.recv().unwrap(), "d");
        Console::Terminal(screen.clone()).say("#1 attached\n");
        assert_eq!(rx.recv().unwrap(), "#1 attached\n");
        screen.close();
        thread.join().unwrap();
    }
}
