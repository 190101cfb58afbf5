//! Running a tool with a time limit and collecting what it printed: the differential fuzzer
//! and the differential suite (`tests/differential/runner.rs`) run scry and bpftrace with it.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What one tool did.
#[derive(Debug)]
pub struct Run {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Exit code; `None` when killed by a signal or by the time limit.
    pub code: Option<i32>,
    pub timed_out: bool,
}

/// Runs `tool argv` with standard input closed, killing it after `limit`.
pub fn run(tool: &Path, argv: &[String], limit: Duration) -> Run {
    let child = Command::new(tool)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            return Run {
                stdout: Vec::new(),
                stderr: format!("cannot run {}: {e}", tool.display()).into_bytes(),
                code: None,
                timed_out: false,
            }
        }
    };
    let mut stdout_pipe = child.stdout.take().expect("piped stdout");
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    thread::scope(|s| {
        let stdout = s.spawn(move || {
            let mut b = Vec::new();
            let _ = stdout_pipe.read_to_end(&mut b);
            b
        });
        let stderr = s.spawn(move || {
            let mut b = Vec::new();
            let _ = stderr_pipe.read_to_end(&mut b);
            b
        });
        let start = Instant::now();
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if start.elapsed() > limit => {
                    timed_out = true;
                    let _ = child.kill();
                    break child.wait().ok();
                }
                Ok(None) => thread::sleep(Duration::from_millis(5)),
                Err(_) => break None,
            }
        };
        Run {
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
            code: status.and_then(|s| s.code()),
            timed_out,
        }
    })
}
