//! `--svg FILE`: the flame graph of the folded stacks, drawn by the inferno crate.

use std::io::BufWriter;
use std::path::Path;

use inferno::flamegraph::{self, Options};

/// Writes the flame graph of `folded` lines (`frames COUNT`) to `path`. With no stacks the
/// file is inferno's empty graph and a warning says so.
pub fn write(path: &Path, pattern: &str, folded: &[String]) -> Result<(), String> {
    let file = std::fs::File::create(path)
        .map_err(|e| format!("cannot write to '{}': {e}", path.display()))?;
    let mut options = Options::default();
    options.title = format!("stackcount {pattern}");
    options.count_name = "events".into();
    let drawn = flamegraph::from_lines(
        &mut options,
        folded.iter().map(String::as_str),
        BufWriter::new(file),
    );
    match drawn {
        Ok(()) => Ok(()),
        Err(_) if folded.is_empty() => {
            scry_runtime::eprintln_lossy!(
                "WARNING: no stacks were counted, so {} holds an empty flame graph",
                path.display()
            );
            Ok(())
        }
        Err(e) => Err(format!(
            "cannot draw the flame graph to '{}': {e}",
            path.display()
        )),
    }
}
