//! What user space knows about the live system when it turns opaque values into text: probe
//! names, user names, kernel and user symbols, the clock. The runtime implements [`Names`]; this
//! crate only asks.

use crate::value::Frame;

/// Resolves the ids that BPF programs record into the text bpftrace prints.
pub trait Names {
    /// The full name of the probe with this id (`tracepoint:syscalls:sys_enter_openat`).
    fn probe_name(&self, id: u64) -> String;

    /// The user name of this uid (`root`), as `/etc/passwd` says.
    fn username(&self, uid: u64) -> String;

    /// The kernel symbol containing `addr`, without offset. Default: the address as bpftrace
    /// prints an unresolved one (`0x` and hex; `0` for 0).
    fn ksym(&self, addr: u64) -> String {
        hex_address(addr)
    }

    /// The symbol containing `addr` in process `pid`. Default: the address in hex.
    fn usym(&self, addr: u64, pid: u64) -> String {
        let _ = pid;
        hex_address(addr)
    }

    /// The frames of stack `id` in the stack map of user (`ustack`) or kernel stacks with
    /// `limit` frames; `pid` is the process of a user stack. Default: no frames.
    fn stack(&self, user: bool, limit: u32, id: i64, pid: u64) -> Vec<Frame> {
        let _ = (user, limit, id, pid);
        Vec::new()
    }

    /// The text of a `strftime()` timestamp: `nsecs` since boot, formatted with the program's
    /// format number `format`. Default: the number.
    fn timestamp(&self, nsecs: u64, format: u64) -> String {
        let _ = format;
        nsecs.to_string()
    }

    /// The cgroup paths of a cgroup id (`unified:/user.slice,...`), in the hierarchies that
    /// the program's filter number `filter` allows (0: all). Default: the number.
    fn cgroup_path(&self, id: u64, filter: u64) -> String {
        let _ = filter;
        id.to_string()
    }

    /// The C library's message for an errno (`No such file or directory`; `Success` for 0,
    /// `Unknown error 999`).
    fn strerror(&self, errno: u64) -> String {
        strerror(errno)
    }
}

/// Names that are only the numbers: probe ids and uids as decimal text. For tests and for
/// output where nothing live can be asked.
pub struct RawNames;

impl Names for RawNames {
    fn probe_name(&self, id: u64) -> String {
        id.to_string()
    }

    fn username(&self, uid: u64) -> String {
        uid.to_string()
    }
}

/// An address as C++ prints a `void *`: `0x` and lower-case hex, but `0` for null.
pub fn hex_address(addr: u64) -> String {
    if addr == 0 {
        "0".to_string()
    } else {
        format!("{addr:#x}")
    }
}

/// `strerror(3)` of an errno (numbers that do not fit an `int` are unknown errors).
pub fn strerror(errno: u64) -> String {
    let Ok(code) = i32::try_from(errno) else {
        return format!("Unknown error {}", errno as i64);
    };
    let text = std::io::Error::from_raw_os_error(code).to_string();
    // std appends " (os error N)" to the C library's text.
    match text.rfind(" (os error ") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_texts() {
        // bpftrace 0.17: print(strerror(2)); print(strerror(0)); print(strerror(999))
        assert_eq!(strerror(2), "No such file or directory");
        assert_eq!(strerror(0), "Success");
        assert_eq!(strerror(999), "Unknown error 999");
    }

    #[test]
    fn addresses() {
        // bpftrace 0.17: print(ksym(0)) prints `0`, print(ksym(1)) prints `0x1`.
        assert_eq!(hex_address(0), "0");
        assert_eq!(hex_address(1), "0x1");
        assert_eq!(hex_address(0xffff_ffff_8100_0000), "0xffffffff81000000");
    }
}
