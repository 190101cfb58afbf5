//! A closed output pipe (`scry -l | head`, `scry -e '...' | head`) ends scry quietly, with the
//! status a shell gives a process SIGPIPE ended (bpftrace 0.17 is killed by SIGPIPE).

use std::io::{self, Write};
use std::process::ExitCode;

use scry_runtime::host::HostError;

/// 128 + SIGPIPE: what `$?` shows for a tool SIGPIPE ended.
const CLOSED_STATUS: u8 = 128 + libc::SIGPIPE as u8;

/// Whether `e` says the reader of our output has gone away.
fn is_closed(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Writes `text` to standard output. A closed pipe ends the process quietly (use it only where
/// nothing is attached yet: `-l`, `-d`); another error is one sentence.
pub fn print(text: &str) -> Result<(), String> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if is_closed(&e) => std::process::exit(CLOSED_STATUS.into()),
        Err(e) => Err(format!("cannot write to standard output: {e}")),
    }
}

/// The quiet exit status of a run whose output pipe was closed, if that is why it failed.
pub fn closed_status(e: &HostError) -> Option<ExitCode> {
    match e {
        HostError::Io(io) if is_closed(io) => Some(ExitCode::from(CLOSED_STATUS)),
        _ => None,
    }
}
