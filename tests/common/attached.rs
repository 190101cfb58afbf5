//! Starting scry for a test that drives it by hand: the process, once its probes are attached.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, Command, Stdio};

/// scry started with `args`, once it says its probes are attached, and the rest of its stderr
/// (kept open, so that what it writes later does not meet a closed pipe).
pub fn attached(args: &[&str], stdout: Stdio) -> (Child, BufReader<ChildStderr>) {
    let mut scry = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .env("__BPFTRACE_NOTIFY_PROBES_ATTACHED", "1")
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("scry starts");
    let mut stderr = BufReader::new(scry.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("__BPFTRACE_NOTIFY_PROBES_ATTACHED") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "scry ended early");
    }
    (scry, stderr)
}
