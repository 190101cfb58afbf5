//! Running one program under one tool, with a time limit.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let child = Command::new(tool)
        .arg(program_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            return Output {
                stdout: String::new(),
                stderr: format!("cannot run {}: {e}", tool.display()),
                success: false,
            }
        }
    };
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = read(Box::new(child.stdout.take().expect("piped stdout")));
    let err = read(Box::new(child.stderr.take().expect("piped stderr")));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Output {
        stdout: normalise(&stdout),
        stderr: match status {
            Some(_) => stderr.lines().take(12).collect::<Vec<_>>().join("\n"),
            None => format!("killed after {} s", limit.as_secs()),
        },
        success: status.is_some_and(|s| s.success()),
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
