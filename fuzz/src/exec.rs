//! The parent's side of the worker process: send one input, wait for its answer with a time
//! limit, and classify crashes, stack overflows and hangs.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How one input ended.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// The front end returned; `errors` error diagnostics, normalised messages.
    Ok {
        /// Number of error diagnostics.
        errors: usize,
        /// Normalised diagnostic messages.
        signatures: Vec<String>,
    },
    /// A panic, caught: where and what.
    Panic {
        /// `file:line:col` of the panic.
        location: String,
        /// The panic message.
        message: String,
    },
    /// The worker thread overflowed its stack (the process aborted).
    StackOverflow,
    /// The worker died another way (abort, signal).
    Crash {
        /// Exit status and the end of stderr.
        detail: String,
    },
    /// No answer within the time limit.
    Hang,
}

impl Verdict {
    /// A short key that tells findings apart (`None` for inputs that went fine).
    pub fn signature(&self) -> Option<String> {
        match self {
            Verdict::Ok { .. } => None,
            Verdict::Panic { location, .. } => Some(format!("panic at {location}")),
            Verdict::StackOverflow => Some("stack overflow".to_string()),
            Verdict::Crash { .. } => Some("crash".to_string()),
            Verdict::Hang => Some("hang".to_string()),
        }
    }
}

/// A running worker process.
pub struct Worker {
    exe: std::path::PathBuf,
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    /// Worker processes started so far (restarts after crashes and hangs included).
    pub spawns: usize,
}

impl Worker {
    /// Starts `exe --worker`.
    pub fn start(exe: &std::path::Path) -> std::io::Result<Worker> {
        let (child, stdin, lines, stderr) = spawn(exe)?;
        Ok(Worker {
            exe: exe.to_path_buf(),
            child,
            stdin,
            lines,
            stderr: Some(stderr),
            spawns: 1,
        })
    }

    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, stdin, lines, stderr) =
            spawn(&self.exe).expect("cannot restart the worker process");
        self.child = child;
        self.stdin = stdin;
        self.lines = lines;
        self.stderr = Some(stderr);
        self.spawns += 1;
    }

    /// Runs one input with a time limit.
    pub fn run(&mut self, input: &str, limit: Duration) -> Verdict {
        let mut msg = Vec::with_capacity(input.len() + 4);
        msg.extend_from_slice(&(input.len() as u32).to_le_bytes());
        msg.extend_from_slice(input.as_bytes());
        let sent = self
            .stdin
            .write_all(&msg)
            .and_then(|_| self.stdin.flush())
            .is_ok();
        let answer = if sent {
            self.lines.recv_timeout(limit)
        } else {
            Err(RecvTimeoutError::Disconnected)
        };
        match answer {
            Ok(line) => parse_line(&line),
            Err(RecvTimeoutError::Timeout) => {
                self.restart();
                Verdict::Hang
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.wait();
                let stderr = self
                    .stderr
                    .take()
                    .and_then(|h| h.join().ok())
                    .unwrap_or_default();
                self.restart();
                if stderr.contains("overflowed its stack") {
                    Verdict::StackOverflow
                } else {
                    let tail: String = stderr
                        .chars()
                        .rev()
                        .take(400)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    Verdict::Crash {
                        detail: format!("{status:?}: {tail}"),
                    }
                }
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Spawned = (Child, ChildStdin, Receiver<String>, JoinHandle<String>);

fn spawn(exe: &std::path::Path) -> std::io::Result<Spawned> {
    let mut child = Command::new(exe)
        .arg("--worker")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(l) => {
                    if tx.send(l).is_err() {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    Ok((child, stdin, rx, err))
}

fn parse_line(line: &str) -> Verdict {
    if let Some(rest) = line.strip_prefix("P ") {
        let (location, message) = rest.split_once('\x1f').unwrap_or((rest, ""));
        return Verdict::Panic {
            location: location.to_string(),
            message: message.replace("\\n", "\n"),
        };
    }
    let rest = line.strip_prefix("O ").unwrap_or(line);
    let (n, sigs) = rest.split_once(' ').unwrap_or((rest, ""));
    Verdict::Ok {
        errors: n.parse().unwrap_or(0),
        signatures: if sigs.is_empty() {
            Vec::new()
        } else {
            sigs.split('\x1f').map(str::to_string).collect()
        },
    }
}
