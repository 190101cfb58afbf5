//! Processes: who scry runs as, and signals to processes it traces.

/// Whether scry runs as root (effective uid 0).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Sends SIGCONT to `pid`: a process of the session that stopped itself (a `-c` child whose
/// memory map is being saved, a process waiting for its watchpoint).
pub fn resume(pid: u32) {
    // SAFETY: kill(2) takes no pointers; only a process that stopped itself for scry is named.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGCONT) };
}
