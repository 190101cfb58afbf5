//! Finding tracefs (mounting it when we are root) and reading tracepoints from it.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use scry_lang::tracepoint_format::{parse_format, TracepointFormat};

/// Where tracefs belongs, and where scry mounts it.
const TRACEFS: &str = "/sys/kernel/tracing";
/// Where tracefs also shows up when debugfs is mounted.
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// A tracefs that is already mounted, without mounting anything.
pub(crate) fn find_mounted() -> Option<PathBuf> {
    [TRACEFS, DEBUGFS_TRACING]
        .into_iter()
        .map(PathBuf::from)
        .find(|dir| dir.join("events").is_dir())
}

/// The tracefs directory; mounts tracefs at `/sys/kernel/tracing` when it is not mounted and
/// we are root.
pub(crate) fn find_or_mount() -> Result<PathBuf, String> {
    if let Some(dir) = find_mounted() {
        return Ok(dir);
    }
    if !crate::sys::process::is_root() {
        return Err(format!(
            "tracefs is not mounted at {TRACEFS} and scry is not root to mount it; run as root \
             or mount it with: mount -t tracefs nodev {TRACEFS}"
        ));
    }
    mount_tracefs()?;
    find_mounted().ok_or_else(|| {
        format!(
            "tracefs was mounted at {TRACEFS} but has no events directory, so this kernel \
             offers no tracepoints"
        )
    })
}

fn mount_tracefs() -> Result<(), String> {
    let Err(err) = crate::sys::fs::mount_tracefs(c"/sys/kernel/tracing") else {
        return Ok(());
    };
    // EBUSY: someone mounted it between our look and our mount, which is what we wanted.
    if err.raw_os_error() == Some(libc::EBUSY) {
        return Ok(());
    }
    Err(format!(
        "tracefs is not mounted and mounting it at {TRACEFS} failed: {err}"
    ))
}

/// Names of the subdirectories of `dir`, sorted; an absent `dir` has none.
fn subdirectories(dir: &Path) -> Result<Vec<String>, String> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot list {}: {e}", dir.display())),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        // Files such as `enable`, `filter` and `header_page` sit beside the directories.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// A category or event name that is a single path component (no `/`, `.` or `..`).
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

/// Tracepoint categories: the directories of `events/`.
pub(crate) fn categories(tracefs: &Path) -> Result<Vec<String>, String> {
    subdirectories(&tracefs.join("events"))
}

/// Events of one category; none for an unknown category.
pub(crate) fn events(tracefs: &Path, category: &str) -> Result<Vec<String>, String> {
    if !is_plain_name(category) {
        return Ok(Vec::new());
    }
    subdirectories(&tracefs.join("events").join(category))
}

/// The parsed `format` file of one tracepoint; `None` when the tracepoint does not exist.
pub(crate) fn format(
    tracefs: &Path,
    category: &str,
    event: &str,
) -> Result<Option<TracepointFormat>, String> {
    if !is_plain_name(category) || !is_plain_name(event) {
        return Ok(None);
    }
    let path = tracefs
        .join("events")
        .join(category)
        .join(event)
        .join("format");
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(parse_format(&text))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "cannot read the format of tracepoint {category}:{event} ({}): {e}",
            path.display()
        )),
    }
}

/// The event id of one tracepoint (its `id` file); `None` when the tracepoint does not exist.
pub(crate) fn id(tracefs: &Path, category: &str, event: &str) -> Result<Option<u64>, String> {
    if !is_plain_name(category) || !is_plain_name(event) {
        return Ok(None);
    }
    let path = tracefs.join("events").join(category).join(event).join("id");
    match fs::read_to_string(&path) {
        Ok(text) => text.trim().parse().map(Some).map_err(|_| {
            format!(
                "the id of tracepoint {category}:{event} ({}) is not a number",
                path.display()
            )
        }),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "cannot read the id of tracepoint {category}:{event} ({}): {e}",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_path_like_names() {
        assert!(is_plain_name("syscalls"));
        for bad in ["", ".", "..", "a/b", "../x"] {
            assert!(!is_plain_name(bad), "{bad:?}");
        }
        let dir = Path::new("/nonexistent-tracefs");
        assert_eq!(format(dir, "..", "x"), Ok(None));
        assert_eq!(events(dir, "a/b"), Ok(Vec::new()));
        assert_eq!(categories(dir), Ok(Vec::new()));
    }
}
