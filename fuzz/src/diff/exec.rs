//! Running one program under one tool, with a time limit.

use std::path::Path;
use std::time::Duration;

/// What a tool printed and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// Standard output, normalised ([`normalise`]).
    pub stdout: String,
    /// The first lines of standard error (for the report; never compared).
    pub stderr: String,
    /// Whether it exited with status 0.
    pub success: bool,
}

/// Runs `tool program_file` and waits at most `limit`.
pub fn run(tool: &Path, program_file: &Path, limit: Duration) -> Output {
    let r = crate::process::run(tool, &[program_file.display().to_string()], limit);
    let stderr = if r.timed_out {
        format!("killed after {} s", limit.as_secs())
    } else {
        let text = String::from_utf8_lossy(&r.stderr);
        text.lines().take(12).collect::<Vec<_>>().join("\n")
    };
    Output {
        stdout: normalise(&String::from_utf8_lossy(&r.stdout)),
        stderr,
        success: r.code == Some(0),
    }
}

/// Removes the noise that is not part of a program's output: the `Attaching N probes...` line
/// (both tools print it; its count and wording are not what is compared).
pub fn normalise(stdout: &str) -> String {
    stdout
        .lines()
        .filter(|l| !(l.starts_with("Attaching ") && l.ends_with("...")))
        .map(|l| format!("{l}\n"))
        .collect()
}
