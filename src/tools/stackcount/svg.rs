//! `--svg FILE`: the flame graph of the folded stacks, drawn by the inferno crate.

use std::io::BufWriter;
use std::path::Path;

use inferno::flamegraph::{self, Options};

/// Writes the flame graph of `folded` lines (`frames COUNT`) to `path`.
pub fn write(path: &Path, pattern: &str, folded: &[String]) -> Result<(), String> {
    let file = std::fs::File::create(path)
        .map_err(|e| format!("cannot write to '{}': {e}", path.display()))?;
    let mut options = Options::default();
    options.title = format!("stackcount {pattern}");
    options.count_name = "events".into();
    if folded.is_empty() {
        // inferno refuses an empty input; an empty graph still says what was traced.
        options.subtitle = Some("no stacks were counted".into());
    }
    flamegraph::from_lines(
        &mut options,
        folded.iter().map(String::as_str),
        BufWriter::new(file),
    )
    .map_err(|e| format!("cannot draw the flame graph to '{}': {e}", path.display()))
}
