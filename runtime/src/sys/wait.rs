//! Waiting for what can happen while tracing: ring-buffer data, a signal, a traced process's
//! exit. One epoll set; signals arrive through a signalfd, so none is lost between two waits.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// What woke the tracer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// Records are ready in the ring buffer.
    Data,
    /// SIGTERM.
    Stop,
    /// SIGINT.
    Interrupt,
    /// SIGUSR1: print the maps and go on.
    PrintMaps,
    /// The watched process exited.
    ProcessExited,
    /// The fd given to [`Waiter::add_input`] is readable.
    Input,
}

const TAG_DATA: u64 = 1;
const TAG_SIGNAL: u64 = 2;
const TAG_PROCESS: u64 = 3;
const TAG_INPUT: u64 = 4;

/// Blocks SIGINT, SIGTERM and SIGUSR1 in the calling thread (and the threads it starts later),
/// so that they queue for [`Waiter`]'s signalfd. Call first thing in `main`.
pub fn block_signals() -> io::Result<()> {
    let set = signal_set();
    // SAFETY: set is a valid, initialised sigset.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// Unblocks them again (in a child before exec).
pub fn unblock_signals() {
    let set = signal_set();
    // SAFETY: as above.
    unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
}

fn signal_set() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set before use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        set
    }
}

/// The epoll set.
pub struct Waiter {
    epoll: OwnedFd,
    signals: OwnedFd,
    _process: Option<OwnedFd>,
}

impl Waiter {
    /// Watches `data` (the ring buffer's fd), the blocked signals, and `pid`'s exit if given.
    pub fn new(data: RawFd, pid: Option<u32>) -> io::Result<Waiter> {
        // SAFETY: plain syscalls; every returned fd is checked and owned.
        let epoll = unsafe { owned(libc::epoll_create1(libc::EPOLL_CLOEXEC))? };
        let set = signal_set();
        let signals = unsafe {
            owned(libc::signalfd(
                -1,
                &set,
                libc::SFD_CLOEXEC | libc::SFD_NONBLOCK,
            ))?
        };
        let process = match pid {
            Some(p) => Some(pidfd_open(p)?),
            None => None,
        };
        let w = Waiter {
            epoll,
            signals,
            _process: process,
        };
        w.add(data, TAG_DATA)?;
        w.add(w.signals.as_raw_fd(), TAG_SIGNAL)?;
        if let Some(p) = &w._process {
            w.add(p.as_raw_fd(), TAG_PROCESS)?;
        }
        Ok(w)
    }

    fn add(&self, fd: RawFd, tag: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: tag,
        };
        // SAFETY: valid epoll fd and event.
        let rc =
            unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Also wakes (as [`Wake::Input`]) when `fd` is readable: the REPL's entries.
    pub fn add_input(&self, fd: RawFd) -> io::Result<()> {
        self.add(fd, TAG_INPUT)
    }

    /// Waits until something happens (at most `timeout_ms`, -1 for ever); returns what did.
    pub fn wait(&self, timeout_ms: i32) -> io::Result<Vec<Wake>> {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 4];
        // SAFETY: the buffer holds 4 events.
        let n =
            unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), events.as_mut_ptr(), 4, timeout_ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(Vec::new());
            }
            return Err(e);
        }
        let mut out = Vec::new();
        for ev in &events[..n as usize] {
            match ev.u64 {
                TAG_DATA => out.push(Wake::Data),
                TAG_PROCESS => out.push(Wake::ProcessExited),
                TAG_INPUT => out.push(Wake::Input),
                _ => out.extend(self.read_signals()),
            }
        }
        Ok(out)
    }

    fn read_signals(&self) -> Vec<Wake> {
        let mut out = Vec::new();
        loop {
            // SAFETY: reading one signalfd_siginfo into a buffer of its size.
            let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
            let n = unsafe {
                libc::read(
                    self.signals.as_raw_fd(),
                    (&mut info as *mut libc::signalfd_siginfo).cast(),
                    size,
                )
            };
            if n != size as isize {
                return out;
            }
            out.push(match info.ssi_signo as i32 {
                libc::SIGUSR1 => Wake::PrintMaps,
                libc::SIGINT => Wake::Interrupt,
                _ => Wake::Stop,
            });
        }
    }
}

/// A pidfd for `pid`: readable once the process exits.
fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; the fd is checked.
    unsafe { owned(libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, 0) as libc::c_int) }
        .map_err(|e| io::Error::new(e.kind(), format!("cannot watch process {pid}: {e}")))
}

/// Wraps a syscall's returned fd.
///
/// # Safety
/// `fd` must be a new fd (or negative on error).
unsafe fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(OwnedFd::from_raw_fd(fd))
}
