//! Entries read from standard input when it is not a terminal (or `TERM=dumb`): lines are
//! gathered until they make a whole entry, with no prompt and no line editing.

use std::io::BufRead;

use crate::balance::is_complete;
use crate::channel::{Input, Sender};
use crate::engine::Engine;
use crate::serve::Front;

/// Reads entries from `input` and sends them, then [`Input::End`] at end of input.
pub fn read_entries(mut input: impl BufRead, tx: &Sender) {
    let mut entry = String::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => entry.push_str(&String::from_utf8_lossy(&line)),
        }
        if is_complete(&entry) {
            let whole = std::mem::take(&mut entry);
            if !whole.trim().is_empty() && !tx.send(Input::Entry(whole)) {
                return;
            }
        }
    }
    if !entry.trim().is_empty() {
        tx.send(Input::Entry(entry));
    }
    tx.send(Input::End);
}

/// Standard input as the front: nothing to wait for, SIGINT ends the session as in `-e`.
pub struct Stdin;

impl Front for Stdin {
    fn done(&mut self, _: &Engine) {}

    fn interactive(&self) -> bool {
        false
    }

    fn stop(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::channel;

    #[test]
    fn lines_gather_into_entries() {
        let (tx, rx) = channel().unwrap();
        let script =
            "@x = 1;\nBEGIN {\n  printf(\"}\\n\");\n}\n\n.maps\ninterval:s:1\n{ exit(); }\nEND {";
        read_entries(script.as_bytes(), &tx);
        let mut got = Vec::new();
        while let Some(i) = rx.next() {
            got.push(i);
        }
        assert_eq!(
            got,
            [
                Input::Entry("@x = 1;\n".into()),
                Input::Entry("BEGIN {\n  printf(\"}\\n\");\n}\n".into()),
                Input::Entry(".maps\n".into()),
                Input::Entry("interval:s:1\n{ exit(); }\n".into()),
                Input::Entry("END {".into()),
                Input::End,
            ]
        );
    }
}
