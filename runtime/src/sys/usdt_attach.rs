//! Attaching USDT probes: a uprobe perf event opened with the kernel's uprobe PMU, carrying
//! the semaphore's file offset (`ref_ctr_offset`) so the kernel counts the tracer in the
//! probe's semaphore while the event lives (aya 0.14's uprobe attach takes no such offset).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `PERF_EVENT_IOC_ENABLE`.
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
/// `PERF_EVENT_IOC_SET_BPF`.
const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;
/// `PERF_FLAG_FD_CLOEXEC`.
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
/// `PERF_UPROBE_REF_CTR_OFFSET_SHIFT`: the ref_ctr offset's place in `config`.
const REF_CTR_OFFSET_SHIFT: u32 = 32;
/// `PERF_ATTR_SIZE_VER5`: enough for `config1`/`config2`.
const ATTR_SIZE: u32 = 112;

/// The fields of `struct perf_event_attr` a uprobe needs, in its layout (the rest zero).
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    /// `uprobe_path`.
    config1: u64,
    /// `probe_offset`.
    config2: u64,
    branch_sample_type: u64,
    sample_regs_user: u64,
    sample_stack_user: u32,
    clockid: i32,
    sample_regs_intr: u64,
    aux_watermark: u32,
    sample_max_stack: u16,
    reserved: u16,
}

/// The uprobe PMU's type number, from sysfs.
fn uprobe_pmu_type() -> io::Result<u32> {
    let text = std::fs::read_to_string("/sys/bus/event_source/devices/uprobe/type")?;
    text.trim()
        .parse()
        .map_err(|_| io::Error::other("the uprobe PMU type in sysfs is not a number"))
}

/// Opens a uprobe on `path` at `file_offset`, with the semaphore at file offset
/// `ref_ctr_offset` (0: none), for process `pid` or all processes, and runs `program` on it.
/// Dropping the returned fd detaches it and releases the semaphore.
pub(crate) fn attach_uprobe(
    program: BorrowedFd,
    path: &str,
    file_offset: u64,
    ref_ctr_offset: u64,
    pid: Option<u32>,
) -> io::Result<OwnedFd> {
    let path = CString::new(path)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path holds a NUL byte"))?;
    let attr = PerfEventAttr {
        kind: uprobe_pmu_type()?,
        size: ATTR_SIZE,
        config: ref_ctr_offset << REF_CTR_OFFSET_SHIFT,
        config1: path.as_ptr() as u64,
        config2: file_offset,
        ..PerfEventAttr::default()
    };
    let (pid, cpu) = match pid {
        Some(p) => (p as libc::c_long, -1 as libc::c_long),
        None => (-1, 0),
    };
    // SAFETY: `attr` is a zero-initialised perf_event_attr prefix of `ATTR_SIZE` bytes whose
    // path pointer outlives the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const PerfEventAttr,
            pid,
            cpu,
            -1 as libc::c_long,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: perf_event_open returned a new fd that nothing else owns.
    let event = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: ioctls on our perf event fd with an int argument.
    unsafe {
        if libc::ioctl(
            event.as_raw_fd(),
            PERF_EVENT_IOC_SET_BPF,
            program.as_raw_fd(),
        ) < 0
            || libc::ioctl(event.as_raw_fd(), PERF_EVENT_IOC_ENABLE, 0) < 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_has_the_kernel_layout() {
        assert_eq!(std::mem::size_of::<PerfEventAttr>(), ATTR_SIZE as usize);
        assert_eq!(std::mem::offset_of!(PerfEventAttr, config1), 56);
        assert_eq!(std::mem::offset_of!(PerfEventAttr, config2), 64);
    }
}
