//! The trace output's writer, shared: the session's sink writes to it, and `.format` gives
//! the session a new sink over the same writer.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

/// What the trace output is written to.
pub type Out = Box<dyn Write>;

/// A writer that clones share.
#[derive(Clone)]
pub struct SharedOut(Rc<RefCell<Out>>);

impl SharedOut {
    /// Shares `out`.
    pub fn new(out: Out) -> Self {
        SharedOut(Rc::new(RefCell::new(out)))
    }
}

impl Write for SharedOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.borrow_mut().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.borrow_mut().flush()
    }
}
