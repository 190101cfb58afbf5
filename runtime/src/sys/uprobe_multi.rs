//! uprobe_multi links (kernel 6.6+): every uprobe of a program in one file attached, and
//! detached, by one `BPF_LINK_CREATE`. One perf event per uprobe (what aya does) costs the
//! kernel a grace period per probe when it closes: a libc wildcard took seconds to detach.
//! Each offset carries a cookie, the probe id of its attach point, which `probe` reads with
//! `bpf_get_attach_cookie` (so a wildcard that reads `probe` still shares one program).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

/// `BPF_TRACE_UPROBE_MULTI`: the program's `expected_attach_type` and the link's attach type.
pub const BPF_TRACE_UPROBE_MULTI: u32 = 48;
/// `BPF_F_UPROBE_MULTI_RETURN`: uretprobes.
const BPF_F_UPROBE_MULTI_RETURN: u32 = 1;
/// `BPF_LINK_CREATE`.
const BPF_LINK_CREATE: libc::c_long = 28;

/// The `link_create` member of `union bpf_attr` with its `uprobe_multi` part.
#[repr(C)]
#[derive(Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    path: u64,
    offsets: u64,
    ref_ctr_offsets: u64,
    cookies: u64,
    cnt: u32,
    multi_flags: u32,
    pid: u32,
    _pad: u32,
}

/// Whether this kernel has uprobe_multi links (6.6 or newer), asked once.
pub fn supported() -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| kernel_at_least(6, 6))
}

fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    have >= (major, minor)
}

/// Attaches `program` to `offsets` (file offsets) of the file at `path`, each with its cookie;
/// `ret` for uretprobes, `pid` (0: every process) to scope them. Closing the link detaches
/// every probe at once.
pub fn attach(
    program: BorrowedFd,
    path: &str,
    offsets: &[u64],
    cookies: &[u64],
    ret: bool,
    pid: u32,
) -> io::Result<OwnedFd> {
    if offsets.len() != cookies.len() || offsets.is_empty() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let path = CString::new(path).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let cnt =
        u32::try_from(offsets.len()).map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?;
    let attr = LinkCreateAttr {
        prog_fd: program.as_raw_fd() as u32,
        attach_type: BPF_TRACE_UPROBE_MULTI,
        path: path.as_ptr() as u64,
        offsets: offsets.as_ptr() as u64,
        cookies: cookies.as_ptr() as u64,
        cnt,
        multi_flags: if ret { BPF_F_UPROBE_MULTI_RETURN } else { 0 },
        pid,
        ..Default::default()
    };
    // SAFETY: attr is a valid link_create attribute whose pointers (path, offsets, cookies)
    // outlive the call; the kernel reads only `size` bytes of it.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_LINK_CREATE,
            &attr as *const LinkCreateAttr,
            std::mem::size_of::<LinkCreateAttr>() as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success BPF_LINK_CREATE returns a new file descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_layout_matches_the_kernel() {
        // link_create: 16 bytes of fds, type and flags, then path, offsets, ref_ctr_offsets,
        // cookies (8 each), cnt, flags, pid (4 each).
        assert_eq!(std::mem::size_of::<LinkCreateAttr>(), 64);
        assert_eq!(std::mem::offset_of!(LinkCreateAttr, path), 16);
        assert_eq!(std::mem::offset_of!(LinkCreateAttr, cnt), 48);
        assert_eq!(std::mem::offset_of!(LinkCreateAttr, pid), 56);
    }

    #[test]
    fn version_compare() {
        assert!(kernel_at_least(0, 0));
        assert!(!kernel_at_least(999, 0));
    }
}
