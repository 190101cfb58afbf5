//! Printing above the prompt without ever blocking the session thread.
//!
//! Text goes into a queue that a printer thread hands to rustyline's `ExternalPrinter` (which
//! blocks while the editor redraws). Trace output beyond [`MAX_QUEUED_LINES`] waiting lines is
//! dropped and counted, and the count is printed where the lines would have been
//! (`[... 53,012 lines not shown]`): a probe printing faster than the terminal can show never
//! freezes the prompt or stops the ring buffer from being read. The REPL's own messages are
//! never dropped.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use rustyline::ExternalPrinter;

/// Most lines of trace output waiting to be printed.
pub const MAX_QUEUED_LINES: usize = 10_000;

enum Item {
    Text(String),
    /// Lines of trace output not shown.
    Dropped(usize),
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Item>,
    /// Lines of trace output in `items`.
    lines: usize,
    /// The printer thread is printing a batch.
    printing: bool,
    closed: bool,
}

/// The sending side; clones share the queue.
#[derive(Clone, Default)]
pub struct Screen {
    shared: Arc<(Mutex<Queue>, Condvar)>,
}

impl Screen {
    /// A queue; nothing is printed until [`Screen::start`].
    pub fn new() -> Screen {
        Screen {
            shared: Arc::default(),
        }
    }

    /// Starts the printer thread over `printer`.
    pub fn start(&self, mut printer: impl ExternalPrinter + Send + 'static) -> JoinHandle<()> {
        let shared = self.shared.clone();
        std::thread::spawn(move || {
            while let Some(batch) = next_batch(&shared) {
                let _ = printer.print(batch);
                let (lock, cv) = &*shared;
                if let Ok(mut q) = lock.lock() {
                    q.printing = false;
                    cv.notify_all();
                }
            }
        })
    }

    /// Prints `text` (a message: never dropped).
    pub fn print(&self, text: String) {
        if !text.is_empty() {
            self.push(|q| q.items.push_back(Item::Text(text)));
        }
    }

    /// Prints trace output (whole lines), or as many of its lines as the queue has room for.
    pub fn print_lines(&self, text: &str) {
        self.push(|q| {
            let room = MAX_QUEUED_LINES.saturating_sub(q.lines);
            let mut lines = text.split_inclusive('\n');
            let kept: String = lines.by_ref().take(room).collect();
            let dropped = lines.count();
            if !kept.is_empty() {
                q.lines += kept.matches('\n').count();
                q.items.push_back(Item::Text(kept));
            }
            if dropped > 0 {
                match q.items.back_mut() {
                    Some(Item::Dropped(n)) => *n += dropped,
                    _ => q.items.push_back(Item::Dropped(dropped)),
                }
            }
        });
    }

    /// Waits until everything queued so far is printed (before the prompt comes back, so
    /// that an answer is never drawn over it).
    pub fn flush(&self) {
        let (lock, cv) = &*self.shared;
        let Ok(mut q) = lock.lock() else {
            return;
        };
        while !q.items.is_empty() || q.printing {
            match cv.wait(q) {
                Ok(g) => q = g,
                Err(_) => return,
            }
        }
    }

    /// No more text: the printer thread prints what is queued and ends.
    pub fn close(&self) {
        self.push(|q| q.closed = true);
    }

    fn push(&self, f: impl FnOnce(&mut Queue)) {
        let (lock, cv) = &*self.shared;
        if let Ok(mut q) = lock.lock() {
            f(&mut q);
            cv.notify_all();
        }
    }
}

/// Everything queued, as one string; `None` once closed and empty.
fn next_batch(shared: &(Mutex<Queue>, Condvar)) -> Option<String> {
    let (lock, cv) = shared;
    let mut q = lock.lock().ok()?;
    while q.items.is_empty() && !q.closed {
        q = cv.wait(q).ok()?;
    }
    if q.items.is_empty() {
        return None;
    }
    q.lines = 0;
    q.printing = true;
    let mut batch = String::new();
    for item in q.items.drain(..) {
        match item {
            Item::Text(t) => batch.push_str(&t),
            Item::Dropped(n) => {
                if !batch.is_empty() && !batch.ends_with('\n') {
                    batch.push('\n');
                }
                batch.push_str(&format!("[... {} lines not shown]\n", thousands(n)));
            }
        }
    }
    Some(batch)
}

/// `53012` as `53,012`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Prints into a channel, each print waiting for the test to allow it.
    struct Gate {
        allow: mpsc::Receiver<()>,
        out: mpsc::Sender<String>,
    }

    impl ExternalPrinter for Gate {
        fn print(&mut self, msg: String) -> rustyline::Result<()> {
            let _ = self.allow.recv();
            let _ = self.out.send(msg);
            Ok(())
        }
    }

    #[test]
    fn a_slow_terminal_drops_lines_and_says_how_many() {
        let (allow_tx, allow) = mpsc::channel();
        let (out, printed) = mpsc::channel();
        let screen = Screen::new();
        let thread = screen.start(Gate { allow, out });
        screen.print("first\n".into());
        // The printer thread holds "first" until allowed; meanwhile a flood arrives.
        std::thread::sleep(std::time::Duration::from_millis(50));
        let flood: String = (0..MAX_QUEUED_LINES + 53_012)
            .map(|i| format!("{i}\n"))
            .collect();
        screen.print_lines(&flood);
        screen.print_lines("more\n");
        screen.print("#2 attached\n".into());
        screen.close();
        allow_tx.send(()).unwrap();
        allow_tx.send(()).unwrap();
        thread.join().unwrap();
        assert_eq!(printed.recv().unwrap(), "first\n");
        let batch = printed.recv().unwrap();
        assert!(batch.starts_with("0\n1\n"));
        assert!(batch.contains(&format!(
            "\n{}\n[... 53,013 lines not shown]\n#2 attached\n",
            MAX_QUEUED_LINES - 1
        )));
        assert!(printed.try_recv().is_err());
    }

    #[test]
    fn flush_waits_until_printed() {
        let (allow_tx, allow) = mpsc::channel();
        let (out, printed) = mpsc::channel();
        let screen = Screen::new();
        let thread = screen.start(Gate { allow, out });
        screen.print("answer\n".into());
        let flushed = {
            let screen = screen.clone();
            std::thread::spawn(move || screen.flush())
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!flushed.is_finished());
        allow_tx.send(()).unwrap();
        flushed.join().unwrap();
        assert_eq!(printed.try_recv().unwrap(), "answer\n");
        screen.close();
        thread.join().unwrap();
    }

    #[test]
    fn numbers_with_separators() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(53012), "53,012");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
