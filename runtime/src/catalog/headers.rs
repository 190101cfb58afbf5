//! Where `#include` finds headers, in the C preprocessor's order: the including file's
//! directory for a quoted name (the current directory for the program's own), then the `-I`
//! directories, the system's include directories and the running kernel's headers; and their
//! text, for the `#define` constants the front end reads from them.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Headers the compiler itself provides (bpftrace embeds clang's): found on any system. When
/// no file of that name is in the search path, it is this pseudo-directory's, and empty.
const COMPILER_HEADERS: &[&str] = &[
    "float.h",
    "limits.h",
    "stdarg.h",
    "stdbool.h",
    "stddef.h",
    "stdint.h",
    "__stddef_max_align_t.h",
];

/// Where the compiler's own headers are said to be when no file provides them.
const COMPILER_DIR: &str = "<compiler>";

/// Where `name` (as written between the quotes or brackets) is found, from the directory
/// `from` for a quoted name; spelled as the directory that holds it spells it, with `.` and
/// `..` components resolved.
pub(super) fn find(
    name: &str,
    quoted: bool,
    from: Option<&str>,
    dirs: &[String],
) -> Option<String> {
    let found = if Path::new(name).is_absolute() {
        Some(PathBuf::from(name)).filter(|p| p.is_file())
    } else {
        let current = from.filter(|_| quoted).map(PathBuf::from);
        current
            .into_iter()
            .chain(dirs.iter().map(PathBuf::from))
            .chain(system_dirs())
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    match found {
        Some(p) => {
            // `dir/..` is taken out only where no symbolic link makes it another file.
            let short = normalize(&p);
            let same = short.canonicalize().ok() == p.canonicalize().ok();
            Some(if same { short } else { p }.display().to_string())
        }
        None => COMPILER_HEADERS
            .contains(&name)
            .then(|| format!("{COMPILER_DIR}/{name}")),
    }
}

/// The text of the header at `path` (at most `max_bytes` bytes; bytes that are not UTF-8
/// replaced).
pub(super) fn read(path: &str, max_bytes: usize) -> Result<String, String> {
    if path.starts_with(COMPILER_DIR) {
        return Ok(String::new());
    }
    let cannot = |e: std::io::Error| format!("cannot read '{path}': {e}");
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > max_bytes {
        return Err(format!("'{path}' is larger than {max_bytes} bytes"));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `path` with `.` and `dir/..` taken out, as text.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir if out.as_os_str().is_empty() => out.push("."),
            Component::CurDir => {}
            Component::ParentDir
                if out
                    .components()
                    .next_back()
                    .is_some_and(|l| matches!(l, Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
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
