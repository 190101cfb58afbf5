//! Which tracepoint to suggest when a kernel function cannot be probed: the system call
//! tracepoint of the call the function implements.

/// The syscall tracepoint standing for kernel function `func` (its exit for `ret`), when the
/// function implements a syscall and the tracepoint exists.
pub(crate) fn syscall_tracepoint(func: &str, ret: bool) -> Option<String> {
    let tracefs = crate::catalog::find_tracefs()?;
    let call = syscall_of_function(func)?;
    let event = format!("sys_{}_{call}", if ret { "exit" } else { "enter" });
    tracefs
        .join("events/syscalls")
        .join(&event)
        .exists()
        .then(|| format!("tracepoint:syscalls:{event}"))
}

/// The syscall a kernel function implements, from its name (`__x64_sys_read`, `ksys_read`,
/// `do_sys_openat2`, `__do_sys_clone`): the name without the prefix.
fn syscall_of_function(func: &str) -> Option<&str> {
    const PREFIXES: &[&str] = &[
        "__x64_sys_",
        "__ia32_sys_",
        "__se_sys_",
        "__do_sys_",
        "do_sys_",
        "ksys_",
        "sys_",
    ];
    PREFIXES
        .iter()
        .find_map(|p| func.strip_prefix(p))
        .filter(|rest| !rest.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_functions() {
        assert_eq!(syscall_of_function("do_sys_openat2"), Some("openat2"));
        assert_eq!(syscall_of_function("__x64_sys_read"), Some("read"));
        assert_eq!(syscall_of_function("ksys_write"), Some("write"));
        assert_eq!(syscall_of_function("vfs_read"), None);
        assert_eq!(syscall_of_function("sys_"), None);
    }
}
