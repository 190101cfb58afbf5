//! `--include FILE`: bpftrace includes each file before the program; one that is not found is
//! an error before anything else (the front end reads the files' `#define` constants).

use scry_lang::catalog::Catalog;

/// Checks that every `--include` file is found (as a quoted `#include`, with the `-I`
/// directories `dirs`).
pub fn check(files: &[String], dirs: &[String]) -> Result<(), String> {
    let catalog = scry_runtime::LiveCatalog::new();
    match files
        .iter()
        .find(|f| catalog.find_header(f, true, Some("."), dirs).is_none())
    {
        Some(f) => Err(format!("'{f}' file not found (--include)")),
        None => Ok(()),
    }
}
