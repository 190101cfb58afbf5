//! Where a sink writes: one writer, and where the exit newlines go.

use std::io::{self, Write};

/// The writer of a sink. With `-o FILE` the two newlines printed at exit still go to
/// standard output, as bpftrace 0.17 does.
pub struct Output {
    out: Box<dyn Write>,
    exit_newlines_to_stdout: bool,
}

impl Output {
    /// Everything to `out`.
    pub fn new(out: Box<dyn Write>) -> Self {
        Output {
            out,
            exit_newlines_to_stdout: false,
        }
    }

    /// Everything to `out` but the exit newlines, which go to standard output (`-o FILE`).
    pub fn with_exit_newlines_to_stdout(out: Box<dyn Write>) -> Self {
        Output {
            out,
            exit_newlines_to_stdout: true,
        }
    }

    /// The two newlines written at exit before the maps.
    pub fn exit_newlines(&mut self) -> io::Result<()> {
        if self.exit_newlines_to_stdout {
            let mut stdout = io::stdout();
            stdout.write_all(b"\n\n")?;
            stdout.flush()
        } else {
            self.out.write_all(b"\n\n")
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
