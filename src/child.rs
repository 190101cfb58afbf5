//! `-c CMD`: the traced command, started before the probes attach and held until they have.

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// A child process waiting on a pipe for the go-ahead.
pub struct Child {
    child: std::process::Child,
    gate: Option<std::fs::File>,
}

impl Child {
    /// Starts `cmd` (split on white space, as bpftrace does); it runs nothing of its own until
    /// [`Child::release`].
    pub fn spawn(cmd: &str) -> Result<Child, String> {
        let argv: Vec<&str> = cmd.split_whitespace().collect();
        let Some((prog, args)) = argv.split_first() else {
            return Err("-c needs a command to run".into());
        };
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills two fds, checked below.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(format!(
                "cannot create a pipe for -c: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: both fds are new and owned here.
        let (read_end, write_end) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let gate_fd = read_end.as_raw_fd();
        let mut command = Command::new(prog);
        command.args(args);
        // SAFETY: between fork and exec only async-signal-safe calls: sigprocmask and read.
        unsafe {
            command.pre_exec(move || {
                scry_runtime::wait::unblock_signals();
                let mut byte = 0u8;
                libc::read(gate_fd, (&mut byte as *mut u8).cast(), 1);
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot run '{prog}': {}", reason(&e)))?;
        drop(read_end);
        Ok(Child {
            child,
            gate: Some(std::fs::File::from(write_end)),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lets the command run.
    pub fn release(&mut self) {
        if let Some(mut gate) = self.gate.take() {
            let _ = gate.write_all(&[1]);
        }
    }

    /// Ends the command if it still runs (SIGTERM, as bpftrace does) and reaps it.
    pub fn finish(&mut self) {
        if self.gate.is_some() {
            let _ = self.child.kill();
        } else if let Ok(None) = self.child.try_wait() {
            // SAFETY: signalling our own child by pid.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        }
        let _ = self.child.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.finish();
    }
}

fn reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    s.split(" (os error").next().unwrap_or(&s).to_string()
}
