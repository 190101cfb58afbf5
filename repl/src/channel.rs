//! Entries from the input thread to the session thread: an mpsc channel whose sends also make
//! an eventfd readable, so the session thread's one `epoll_wait` sees them with the ring buffer
//! and the signals.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::mpsc;
use std::sync::Arc;

/// What the input thread says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// One complete entry (a probe block, statements, `@map` or a dot-command).
    Entry(String),
    /// End of input: the session ends.
    End,
}

/// The input thread's end.
#[derive(Clone)]
pub struct Sender {
    tx: mpsc::Sender<Input>,
    wake: Arc<OwnedFd>,
}

/// The session thread's end.
pub struct Receiver {
    rx: mpsc::Receiver<Input>,
    wake: Arc<OwnedFd>,
}

/// A connected pair.
pub fn channel() -> io::Result<(Sender, Receiver)> {
    // SAFETY: plain syscall; the fd is checked before it is owned.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a new, valid file descriptor.
    let wake = Arc::new(unsafe { OwnedFd::from_raw_fd(fd) });
    let (tx, rx) = mpsc::channel();
    Ok((
        Sender {
            tx,
            wake: wake.clone(),
        },
        Receiver { rx, wake },
    ))
}

impl Sender {
    /// Sends `input`; false once the session thread is gone.
    pub fn send(&self, input: Input) -> bool {
        if self.tx.send(input).is_err() {
            return false;
        }
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a valid buffer to the eventfd.
        unsafe { libc::write(self.wake.as_raw_fd(), one.as_ptr().cast(), one.len()) };
        true
    }
}

impl Receiver {
    /// The fd that is readable while inputs are waiting.
    pub fn fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    /// Makes the fd quiet until the next send; the inputs stay queued.
    pub fn quiet(&self) {
        let mut count = [0u8; 8];
        // SAFETY: reads 8 bytes into a valid buffer from the (non-blocking) eventfd.
        unsafe {
            libc::read(
                self.wake.as_raw_fd(),
                count.as_mut_ptr().cast(),
                count.len(),
            )
        };
    }

    /// The next queued input, if any.
    pub fn next(&self) -> Option<Input> {
        self.rx.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(fd: RawFd) -> bool {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    #[test]
    fn sends_wake_the_fd_and_queue_in_order() {
        let (tx, rx) = channel().unwrap();
        assert!(!readable(rx.fd()));
        assert!(tx.send(Input::Entry("a".into())));
        assert!(tx.send(Input::End));
        assert!(readable(rx.fd()));
        rx.quiet();
        assert!(!readable(rx.fd()));
        assert_eq!(rx.next(), Some(Input::Entry("a".into())));
        assert_eq!(rx.next(), Some(Input::End));
        assert_eq!(rx.next(), None);
        drop(rx);
        assert!(!tx.send(Input::End));
    }
}
