//! `trace`.

use std::ffi::OsString;

use super::end::End;

/// Runs trace.
pub fn run(_argv: &[OsString]) -> Result<(), End> {
    Err(End::Error("not yet".into()))
}
