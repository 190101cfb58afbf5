//! `--include FILE`: bpftrace includes each file before the program; scry reads no headers,
//! but a file that is not found is the same error.

use scry_lang::catalog::Catalog;

/// Checks that every `--include` file is found (as a quoted `#include`, with the `-I`
/// directories `dirs`).
pub fn check(files: &[String], dirs: &[String]) -> Result<(), String> {
    let catalog = scry_runtime::LiveCatalog::new();
    match files.iter().find(|f| !catalog.header_exists(f, true, dirs)) {
        Some(f) => Err(format!("'{f}' file not found (--include)")),
        None => Ok(()),
    }
}
