//! `system()`: a shell command run to completion. Its standard output is kept for printing,
//! at most [`OUTPUT_MAX`] bytes (bpftrace keeps all of it: `system("cat /dev/zero")` would
//! take all memory); its standard error is scry's, as in bpftrace.

use std::io::{self, Read};
use std::process::{Command, Stdio};

/// The most bytes of a command's output kept.
pub const OUTPUT_MAX: u64 = 64 << 20;

/// Runs `cmd` with `/bin/sh -c`; returns its standard output and whether it was cut at
/// [`OUTPUT_MAX`] bytes (then the command is killed).
pub fn run(cmd: &str) -> io::Result<(Vec<u8>, bool)> {
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut out = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        stdout.take(OUTPUT_MAX + 1).read_to_end(&mut out)?;
    }
    let cut = out.len() as u64 > OUTPUT_MAX;
    if cut {
        out.truncate(OUTPUT_MAX as usize);
        let _ = child.kill();
    }
    child.wait()?;
    Ok((out, cut))
}
