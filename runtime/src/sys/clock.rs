//! Clocks and local time.

/// The time of `clock` (`libc::CLOCK_*`) in ns.
pub fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec the call writes.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

/// Seconds since the epoch, now.
pub fn now_secs() -> libc::time_t {
    // SAFETY: time(NULL) only returns the time.
    unsafe { libc::time(std::ptr::null_mut()) }
}

/// `secs` since the epoch formatted by strftime(3) in local time; empty when `fmt` holds a
/// NUL.
pub fn strftime_at(fmt: &str, secs: libc::time_t) -> String {
    let Ok(cfmt) = std::ffi::CString::new(fmt) else {
        return String::new();
    };
    // SAFETY: localtime_r writes into the local tm; strftime writes at most `buf.len()` bytes
    // into `buf` and returns how many.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        let mut buf = vec![0u8; 256 + fmt.len() * 4];
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}
