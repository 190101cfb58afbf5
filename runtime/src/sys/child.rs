//! `-c CMD`: the traced command, started before the probes attach and held until they have.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// A child process waiting on a pipe for the go-ahead.
pub struct Child {
    pid: libc::pid_t,
    /// The write end of the gate; closing it (or writing) lets the child exec.
    gate: Option<OwnedFd>,
    reaped: bool,
}

impl Child {
    /// Forks a child for `cmd` (split on white space, as bpftrace does) that waits until
    /// [`Child::release`] before it execs. The program is looked up first, so a missing one is
    /// reported before anything is attached.
    pub fn spawn(cmd: &str) -> Result<Child, String> {
        let argv: Vec<&str> = cmd.split_whitespace().collect();
        let Some(prog) = argv.first() else {
            return Err("-c needs a command to run".into());
        };
        let path = find_program(prog)?;
        let c_path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| format!("bad program name '{prog}'"))?;
        let c_args: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(*a).map_err(|_| format!("bad argument '{a}'")))
            .collect::<Result<_, _>>()?;
        let mut c_argv: Vec<*const libc::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
        c_argv.push(std::ptr::null());
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
        // SAFETY: after fork the child only calls async-signal-safe functions (close, read,
        // sigprocmask, execv, _exit) on memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!(
                "cannot start '{prog}': {}",
                std::io::Error::last_os_error()
            ));
        }
        if pid == 0 {
            unsafe {
                libc::close(write_end.as_raw_fd());
                super::wait::unblock_signals();
                let mut byte = 0u8;
                libc::read(read_end.as_raw_fd(), (&mut byte as *mut u8).cast(), 1);
                if byte != 1 {
                    libc::_exit(127);
                }
                libc::execv(c_path.as_ptr(), c_argv.as_ptr());
                libc::_exit(127);
            }
        }
        drop(read_end);
        Ok(Child {
            pid,
            gate: Some(write_end),
            reaped: false,
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Lets the command run.
    pub fn release(&mut self) {
        if let Some(gate) = self.gate.take() {
            // SAFETY: writing one byte to our pipe.
            unsafe { libc::write(gate.as_raw_fd(), [1u8].as_ptr().cast(), 1) };
        }
    }

    /// Ends the command if it still runs (SIGTERM, as bpftrace does) and reaps it. A command
    /// never released exits without running.
    pub fn finish(&mut self) {
        if self.reaped {
            return;
        }
        if self.gate.take().is_none() {
            let mut status = 0;
            // SAFETY: our own child, by pid.
            let done = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
            if done == self.pid {
                self.reaped = true;
                return;
            }
            unsafe { libc::kill(self.pid, libc::SIGTERM) };
        }
        let mut status = 0;
        // SAFETY: as above.
        unsafe { libc::waitpid(self.pid, &mut status, 0) };
        self.reaped = true;
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The executable `prog` names: a path, or a name looked up in PATH.
pub fn find_program(prog: &str) -> Result<PathBuf, String> {
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| {
            use std::os::unix::fs::PermissionsExt;
            m.is_file() && m.permissions().mode() & 0o111 != 0
        })
    };
    if prog.contains('/') {
        let p = PathBuf::from(prog);
        if executable(&p) {
            return Ok(p);
        }
        return Err(format!("cannot run '{prog}': no such executable file"));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(prog))
        .find(|p| executable(p))
        .ok_or_else(|| format!("cannot run '{prog}': not found in PATH"))
}
