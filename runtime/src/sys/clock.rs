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

/// The longest text a `time()`/`strftime()` format may give (`%_100000Y` pads that far).
pub const STRFTIME_MAX: usize = 1 << 16;

/// `secs` since the epoch formatted by strftime(3) in local time; `None` when the text is
/// longer than [`STRFTIME_MAX`] (or the format gives none).
pub fn strftime_at(fmt: &str, secs: libc::time_t) -> Option<String> {
    let Ok(cfmt) = std::ffi::CString::new(fmt) else {
        return Some(String::new());
    };
    // SAFETY: localtime_r writes into the local tm.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        tm
    };
    // strftime returns 0 when the text does not fit (or is empty): retry with more room.
    let mut size = 256 + fmt.len() * 4;
    loop {
        let mut buf = vec![0u8; size];
        // SAFETY: strftime writes at most buf.len() bytes into buf and returns how many.
        let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), &tm) };
        if n > 0 || fmt.is_empty() {
            return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        if size >= STRFTIME_MAX {
            return None;
        }
        size = (size * 4).min(STRFTIME_MAX);
    }
}
