//! File-system calls the standard library lacks: mounting tracefs, file handles.

use std::ffi::CStr;
use std::io;

/// Mounts tracefs at `target` (the caller checked it is root).
pub fn mount_tracefs(target: &CStr) -> io::Result<()> {
    // SAFETY: every pointer is a NUL-terminated string that outlives the call; tracefs takes
    // no data argument, so null is allowed there.
    let rc = unsafe {
        libc::mount(
            c"nodev".as_ptr(),
            target.as_ptr(),
            c"tracefs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The 8-byte file handle of `path` (for a cgroup directory, its cgroup id).
pub fn file_handle_u64(path: &CStr) -> io::Result<u64> {
    #[repr(C)]
    struct FileHandle {
        bytes: u32,
        kind: i32,
        handle: [u8; 8],
    }
    let mut handle = FileHandle {
        bytes: 8,
        kind: 0,
        handle: [0; 8],
    };
    let mut mount_id = 0;
    // SAFETY: `handle` has room for the 8 bytes it announces; `path` is NUL-terminated.
    let r = unsafe {
        libc::name_to_handle_at(
            libc::AT_FDCWD,
            path.as_ptr(),
            (&mut handle as *mut FileHandle).cast(),
            &mut mount_id,
            0,
        )
    };
    if r == 0 {
        Ok(u64::from_le_bytes(handle.handle))
    } else {
        Err(io::Error::last_os_error())
    }
}
