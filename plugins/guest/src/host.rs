//! The `scry` imports, as safe functions. A module imports only those it calls; `fs_write`
//! and `fs_rename` need `--plugin-allow NAME:fs=DIR`, `exec` needs `NAME:exec` and `--unsafe`.

mod raw {
    #[link(wasm_import_module = "scry")]
    extern "C" {
        pub fn log(ptr: *const u8, len: usize);
        pub fn error(ptr: *const u8, len: usize);
        pub fn output(ptr: *const u8, len: usize);
        pub fn fs_write(path: *const u8, path_len: usize, data: *const u8, len: usize, append: i32)
            -> i32;
        pub fn fs_rename(from: *const u8, from_len: usize, to: *const u8, to_len: usize) -> i32;
        pub fn exec(cmd: *const u8, len: usize) -> i32;
    }
}

/// A warning on scry's stderr: `WARNING: plugin NAME: TEXT`.
pub fn log(text: &str) {
    // Safety: the pointer and length describe `text`, which outlives the call.
    unsafe { raw::log(text.as_ptr(), text.len()) }
}

/// The message of the failure the current hook is about to return.
pub fn error(text: &str) {
    // Safety: as in `log`.
    unsafe { raw::error(text.as_ptr(), text.len()) }
}

/// Bytes to scry's output (stdout or `-o FILE`), in order with scry's own.
pub fn output(bytes: &[u8]) {
    // Safety: as in `log`.
    unsafe { raw::output(bytes.as_ptr(), bytes.len()) }
}

/// Writes `data` to `path` in the granted directory: creates or truncates it, or appends to
/// it. `Err` holds scry's negative status (refused or failed).
pub fn fs_write(path: &str, data: &[u8], append: bool) -> Result<(), i32> {
    // Safety: as in `log`, for both buffers.
    let status = unsafe {
        raw::fs_write(path.as_ptr(), path.len(), data.as_ptr(), data.len(), append as i32)
    };
    if status < 0 {
        Err(status)
    } else {
        Ok(())
    }
}

/// Renames `from` to `to` inside the granted directory (atomically, as rename(2)).
pub fn fs_rename(from: &str, to: &str) -> Result<(), i32> {
    // Safety: as in `log`, for both buffers.
    let status = unsafe { raw::fs_rename(from.as_ptr(), from.len(), to.as_ptr(), to.len()) };
    if status < 0 {
        Err(status)
    } else {
        Ok(())
    }
}

/// Runs `cmd` with `/bin/sh -c`; its exit status, or a negative status if refused.
pub fn exec(cmd: &str) -> i32 {
    // Safety: as in `log`.
    unsafe { raw::exec(cmd.as_ptr(), cmd.len()) }
}
