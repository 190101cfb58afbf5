//! Lines on standard error that never panic: `eprintln!` panics when stderr is a closed pipe
//! (`scry ... 2>&1 | head`), and a diagnostic that cannot be shown must not end the session.

/// `eprintln!`, except that a line stderr refuses is dropped.
#[macro_export]
macro_rules! eprintln_lossy {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
