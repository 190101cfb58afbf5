//! Processes and the machine: who scry runs as, whether a process exists, signals to
//! processes it traces, what uname(2) says.

/// Whether scry runs as root (effective uid 0).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// How long [`resume`] waits for the process to stop itself.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// Sends SIGCONT to `pid`: a process of the session that stopped itself (a `-c` child whose
/// memory map is being saved, a process waiting for its watchpoint).
///
/// The process sends itself SIGSTOP just after the record that asks for this; SIGCONT sent
/// before that stop takes effect would be lost and leave it stopped for good, so this waits
/// (at most [`STOP_WAIT`]) until the process shows as stopped, or is gone.
pub fn resume(pid: u32) {
    let stat = format!("/proc/{pid}/stat");
    let start = std::time::Instant::now();
    while start.elapsed() < STOP_WAIT {
        let Ok(text) = std::fs::read_to_string(&stat) else {
            return;
        };
        // The state follows the command name's closing parenthesis.
        let state = text
            .rfind(')')
            .and_then(|i| text[i + 1..].trim_start().chars().next());
        if matches!(state, Some('T') | Some('Z') | Some('X')) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_micros(20));
    }
    // SAFETY: kill(2) takes no pointers; only a process that stopped itself for scry is named.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGCONT) };
}

/// Whether process `pid` exists (signal 0: existence only; a process scry may not signal
/// exists too).
pub fn exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 sends nothing; kill(2) takes no pointers.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// uname(2): (`sysname release version`, machine), or `unknown` when it fails.
pub fn uname() -> (String, String) {
    // SAFETY: uname fills the zeroed struct; its fields are NUL-terminated strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return ("unknown".into(), "unknown".into());
        }
        let s = |f: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(f.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        (
            format!("{} {} {}", s(&u.sysname), s(&u.release), s(&u.version)),
            s(&u.machine),
        )
    }
}

/// Sends SIGTERM to scry itself: the session reads it from its signalfd and ends as on
/// Ctrl-C (a tool's own end, such as trace's `-M`).
pub fn terminate_self() {
    // SAFETY: kill(2) of this process takes no pointers.
    unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
}
