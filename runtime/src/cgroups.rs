//! cgroup ids and paths: `cgroupid("/sys/fs/cgroup/unified/x")` at compile time and
//! `cgroup_path(id)` at print time.
//!
//! A cgroup's id is its directory's inode number on cgroupfs (what `name_to_handle_at(2)`
//! returns as the file handle, and what `bpf_get_current_cgroup_id` gives).

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Directories deeper than this under a cgroup mount are not searched.
const MAX_DEPTH: usize = 32;

/// The cgroup id of the cgroup directory at `path`.
pub fn cgroup_id(path: &str) -> Result<u64, String> {
    let c = CString::new(path).map_err(|_| format!("'{path}' is not a valid path"))?;
    crate::sys::fs::file_handle_u64(&c).map_err(|e| {
        format!(
            "cannot get the cgroup id of '{path}': {}",
            crate::sys::errno_text(e.raw_os_error().unwrap_or(libc::EINVAL)).to_lowercase()
        )
    })
}

/// The paths of cgroup `id` in every mounted hierarchy where a cgroup has that id, as
/// bpftrace prints them: `unified:/user.slice,memory:/user.slice`; only hierarchies whose
/// name matches `filter` (wildcards allowed: `unified`, `mem*`) when one is given; the id in
/// decimal when none has it.
pub fn cgroup_path(id: u64, filter: Option<&str>) -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let found: Vec<String> = hierarchies(&mounts)
        .into_iter()
        .filter(|(name, _)| filter.is_none_or(|f| scry_lang::glob::glob_match(f, name)))
        .filter_map(|(name, root)| {
            let dir = find_inode(&root, id, 0)?;
            let rel = dir.strip_prefix(&root).ok()?;
            Some(format!("{name}:/{}", rel.display()))
        })
        .collect();
    if found.is_empty() {
        id.to_string()
    } else {
        found.join(",")
    }
}

/// The cgroup hierarchies in `/proc/mounts` as bpftrace 0.17 orders them: cgroup2 first
/// (named `unified`), then v1 ones by name (their controllers, `cpu,cpuacct`, or their
/// `name=`).
fn hierarchies(mounts: &str) -> Vec<(String, PathBuf)> {
    let mut v2 = Vec::new();
    let mut v1 = Vec::new();
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [_, dir, fstype, opts, ..] = f.as_slice() else {
            continue;
        };
        match *fstype {
            "cgroup2" => v2.push(("unified".to_string(), PathBuf::from(dir))),
            "cgroup" => {
                let name: Vec<&str> = opts
                    .split(',')
                    .filter(|o| {
                        !matches!(*o, "rw" | "ro" | "relatime" | "nosuid" | "nodev" | "noexec")
                    })
                    .map(|o| o.strip_prefix("name=").unwrap_or(o))
                    .collect();
                v1.push((name.join(","), PathBuf::from(dir)));
            }
            _ => {}
        }
    }
    v1.sort();
    v2.extend(v1);
    v2
}

/// The directory under `dir` (itself included) whose inode number is `ino`.
fn find_inode(dir: &Path, ino: u64, depth: usize) -> Option<PathBuf> {
    if std::fs::metadata(dir).ok()?.ino() == ino {
        return Some(dir.to_path_buf());
    }
    if depth >= MAX_DEPTH {
        return None;
    }
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .find_map(|e| find_inode(&e.path(), ino, depth + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchies_from_mounts() {
        let mounts = "tmpfs /sys/fs/cgroup tmpfs rw 0 0\n\
                      cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu,cpuacct 0 0\n\
                      cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n\
                      cgroup /sys/fs/cgroup/systemd cgroup rw,name=systemd 0 0\n";
        let h = hierarchies(mounts);
        let names: Vec<&str> = h.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["unified", "cpu,cpuacct", "systemd"]);
    }

    #[test]
    fn root_cgroup_round_trip() {
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let Some((_, root)) = hierarchies(&mounts)
            .into_iter()
            .find(|(n, _)| n == "unified")
        else {
            return;
        };
        let id = cgroup_id(&root.to_string_lossy()).expect("root cgroup id");
        assert!(
            cgroup_path(id, None).starts_with("unified:/"),
            "{}",
            cgroup_path(id, None)
        );
        assert!(cgroup_path(id, Some("uni*")).starts_with("unified:/"));
        // No hierarchy matches: the id.
        assert_eq!(cgroup_path(id, Some("nosuch")), id.to_string());
        assert!(cgroup_id("/no/such/dir").is_err());
    }
}
