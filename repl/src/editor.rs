//! The line editor (interactive mode).

use crate::Options;

/// Runs the REPL at a terminal.
pub fn run(_opts: Options) -> Result<(), String> {
    Err("not yet".into())
}
