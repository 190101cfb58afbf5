//! Where `#include` finds headers, in the C preprocessor's order: the current directory for a
//! quoted name, then the `-I` directories, the system's include directories and the running
//! kernel's headers. scry reads none of them; a header that is nowhere is an error.

use std::path::{Path, PathBuf};

/// Headers the compiler itself provides (bpftrace embeds clang's): found on any system.
const COMPILER_HEADERS: &[&str] = &[
    "float.h",
    "limits.h",
    "stdarg.h",
    "stdbool.h",
    "stddef.h",
    "stdint.h",
    "__stddef_max_align_t.h",
];

/// Whether `name` (as written between the quotes or brackets) is found.
pub(super) fn exists(name: &str, quoted: bool, dirs: &[String]) -> bool {
    if COMPILER_HEADERS.contains(&name) {
        return true;
    }
    if Path::new(name).is_absolute() {
        return Path::new(name).is_file();
    }
    let current = quoted.then(|| PathBuf::from("."));
    current
        .into_iter()
        .chain(dirs.iter().map(PathBuf::from))
        .chain(system_dirs())
        .any(|d| d.join(name).is_file())
}

/// The system's include directories, then the running kernel's header directories.
fn system_dirs() -> Vec<PathBuf> {
    let arch = std::env::consts::ARCH;
    let kernel_arch = match arch {
        "x86_64" | "x86" => "x86",
        "aarch64" => "arm64",
        other => other,
    };
    let mut dirs: Vec<PathBuf> = [
        "/usr/local/include".to_string(),
        format!("/usr/include/{arch}-linux-gnu"),
        "/usr/include".to_string(),
    ]
    .into_iter()
    .map(PathBuf::from)
    .collect();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    for tree in ["build", "source"] {
        let root = Path::new("/lib/modules").join(release.trim()).join(tree);
        for sub in [
            "include".to_string(),
            "include/uapi".to_string(),
            "include/generated/uapi".to_string(),
            format!("arch/{kernel_arch}/include"),
            format!("arch/{kernel_arch}/include/uapi"),
            format!("arch/{kernel_arch}/include/generated"),
            format!("arch/{kernel_arch}/include/generated/uapi"),
        ] {
            dirs.push(root.join(sub));
        }
    }
    dirs
}
