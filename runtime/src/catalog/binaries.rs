//! Resolving a uprobe/usdt target (path, library or program name, or nothing with `-p`) to a
//! file.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::ld_cache::LdCacheEntry;

/// Resolves `target` to an absolute path.
///
/// - A target containing `/` is a path (relative to the current directory or absolute) and
///   must name an executable regular file; its directory is made canonical, its file name is
///   kept. With `pid`, a process in another mount namespace (a container) sees paths from its
///   own root: the path is looked up under `/proc/PID/root`, as bpftrace does.
/// - With `pid`, an empty target is the process's executable (`/proc/PID/exe`) and a name is
///   looked up among the files the process maps, as `/proc/PID/root/<path>`.
/// - Without `pid`, a name is looked up in `$PATH` (unless it looks like a library: `lib...`
///   or `....so`), then in the ld.so cache (`ld_cache`, asked only then), then in the
///   standard library directories. `libc`, `c`, `libc.so` and `libc.so.6` all find
///   `libc.so.6`.
pub(crate) fn resolve<'a>(
    target: &str,
    pid: Option<u32>,
    ld_cache: impl FnOnce() -> &'a Result<Vec<LdCacheEntry>, String>,
) -> Result<String, String> {
    if target.contains('/') {
        return match pid.filter(|&pid| in_other_mount_namespace(pid)) {
            // Not made canonical: that would leave /proc/PID/root for scry's own root.
            Some(pid) => {
                let path = path_in_process_root(target, pid);
                regular_file(&path, target)?;
                Ok(path)
            }
            None => resolve_path(target),
        };
    }
    if let Some(pid) = pid {
        return resolve_in_process(target, pid);
    }
    if target.is_empty() {
        return Err(
            "an empty uprobe/usdt target names no file; give a path, or a process with -p".into(),
        );
    }
    let looks_like_library = target.starts_with("lib") || target.contains(".so");
    if !looks_like_library {
        if let Some(path) = find_in_path(target) {
            return Ok(path);
        }
    }
    let ld_cache = ld_cache();
    if let Some(path) = find_library(target, ld_cache) {
        return Ok(path);
    }
    let cache_note = match ld_cache {
        Ok(_) => String::new(),
        Err(e) => format!(" ({e})"),
    };
    Err(format!(
        "no program or library named '{target}' was found in $PATH, /etc/ld.so.cache{cache_note} \
         or the standard library directories (write ./{target} for a file in the current directory)"
    ))
}

/// Whether process `pid` lives in another mount namespace than scry (`/proc/PID/ns/mnt`).
fn in_other_mount_namespace(pid: u32) -> bool {
    match (
        fs::read_link("/proc/self/ns/mnt"),
        fs::read_link(format!("/proc/{pid}/ns/mnt")),
    ) {
        (Ok(ours), Ok(theirs)) => ours != theirs,
        _ => false,
    }
}

/// `path` as process `pid` sees it: under `/proc/PID/root` (unless it already is).
fn path_in_process_root(path: &str, pid: u32) -> String {
    let root = format!("/proc/{pid}/root");
    if path.starts_with(&root) {
        return path.to_string();
    }
    let sep = if path.starts_with('/') { "" } else { "/" };
    format!("{root}{sep}{path}")
}

/// `path` (`target` as the user wrote it) is a regular file.
fn regular_file(path: &str, target: &str) -> Result<(), String> {
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("target file '{target}' does not exist"),
        _ => format!("target file '{target}' cannot be accessed: {e}"),
    })?;
    if !meta.is_file() {
        return Err(format!("target file '{target}' is not a regular file"));
    }
    Ok(())
}

/// A path given by the user: it must exist and be a regular file. It need not be executable:
/// uprobes read any ELF file (a library installed without the execute bit), as in bpftrace.
fn resolve_path(target: &str) -> Result<String, String> {
    regular_file(target, target)?;
    // Resolve the directory (`.`, `..`, symlinks) but keep the file's own name, so that a
    // symlink such as `python3` keeps the name the user gave.
    let path = Path::new(target);
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => (
            if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            },
            name,
        ),
        _ => return Err(format!("target file '{target}' does not name a file")),
    };
    let dir = fs::canonicalize(dir)
        .map_err(|e| format!("cannot find the directory of target file '{target}': {e}"))?;
    Ok(dir.join(name).to_string_lossy().into_owned())
}

/// The process's executable for an empty target, else the best file it maps for `target`.
fn resolve_in_process(target: &str, pid: u32) -> Result<String, String> {
    let proc_dir = format!("/proc/{pid}");
    if !Path::new(&proc_dir).is_dir() {
        return Err(format!("process {pid} does not exist"));
    }
    if target.is_empty() {
        let exe = format!("{proc_dir}/exe");
        return match fs::read_link(&exe) {
            Ok(_) => Ok(exe),
            Err(e) => Err(format!(
                "cannot find the executable of process {pid} ({exe}): {e}"
            )),
        };
    }
    let maps_path = format!("{proc_dir}/maps");
    let maps = fs::read_to_string(&maps_path)
        .map_err(|e| format!("cannot read {maps_path} to find '{target}': {e}"))?;
    mapped_files(&maps)
        .filter_map(|file| Some((name_rank(file_name(file), target)?, file)))
        .min_by_key(|&(rank, _)| rank)
        .map(|(_, file)| format!("{proc_dir}/root{file}"))
        .ok_or_else(|| format!("process {pid} maps no file matching '{target}' (see {maps_path})"))
}

/// The file paths of `/proc/PID/maps` lines, in order; deleted files are left out.
fn mapped_files(maps: &str) -> impl Iterator<Item = &str> {
    maps.lines().filter_map(|line| {
        // address perms offset dev inode path; the path may contain spaces.
        let path = line.splitn(6, char::is_whitespace).nth(5)?.trim_start();
        (path.starts_with('/') && !path.ends_with(" (deleted)")).then_some(path)
    })
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// How well the file name `file` matches the library or program name `target`, best 0:
/// 0 the same name; 1 the name plus `.so` and/or a version (`libc` → `libc.so.6`,
/// `libc.so` → `libc.so.6`); 2 and 3 the same with `lib` in front (`c` → `libc.so.6`).
fn name_rank(file: &str, target: &str) -> Option<u8> {
    fn suffix_rank(file: &str, stem: &str) -> Option<u8> {
        let rest = file.strip_prefix(stem)?;
        if rest.is_empty() {
            return Some(0);
        }
        let version = match rest.strip_prefix(".so") {
            Some(version) => version,
            None if stem.contains(".so") => rest,
            None => return None,
        };
        let is_version = version
            .split('.')
            .skip(1)
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
        (version.is_empty() || (version.starts_with('.') && is_version)).then_some(1)
    }
    if target.is_empty() {
        return None;
    }
    suffix_rank(file, target).or_else(|| Some(2 + suffix_rank(file, &format!("lib{target}"))?))
}

/// The first executable ELF file called `name` in `$PATH` (scripts, such as version-manager
/// shims, are passed over: uprobes cannot attach to them).
fn find_in_path(name: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|file| {
            fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                && is_elf_file(file)
        })
        .map(|file| file.to_string_lossy().into_owned())
}

/// The standard directories searched after the ld.so cache.
fn standard_library_dirs() -> Vec<PathBuf> {
    let multiarch = format!("{}-linux-gnu", std::env::consts::ARCH);
    vec![
        Path::new("/lib").join(&multiarch),
        Path::new("/usr/lib").join(&multiarch),
        PathBuf::from("/lib64"),
        PathBuf::from("/usr/lib"),
        PathBuf::from("/lib"),
    ]
}

/// The library `target` names: the best-matching soname of the ld.so cache (preferring
/// entries without hwcap requirements), else the best-matching ELF file of the standard
/// directories.
fn find_library(target: &str, ld_cache: &Result<Vec<LdCacheEntry>, String>) -> Option<String> {
    let from_cache = ld_cache.as_ref().ok().and_then(|entries| {
        entries
            .iter()
            .filter_map(|e| Some(((name_rank(&e.soname, target)?, e.hwcap != 0), e)))
            .filter(|(_, e)| Path::new(&e.path).is_file())
            .min_by_key(|&(key, _)| key)
            .map(|(_, e)| e.path.clone())
    });
    from_cache.or_else(|| {
        standard_library_dirs().iter().find_map(|dir| {
            let mut found: Vec<(u8, String)> = fs::read_dir(dir)
                .ok()?
                .filter_map(|entry| {
                    let name = entry.ok()?.file_name().to_string_lossy().into_owned();
                    Some((name_rank(&name, target)?, name))
                })
                .filter(|(_, name)| is_elf_file(&dir.join(name)))
                .collect();
            found.sort();
            let (_, name) = found.into_iter().next()?;
            Some(dir.join(name).to_string_lossy().into_owned())
        })
    })
}

/// A regular file starting with the ELF magic (not a linker script such as `libc.so`).
fn is_elf_file(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_library_names() {
        assert_eq!(name_rank("libc.so.6", "libc.so.6"), Some(0));
        assert_eq!(name_rank("libc.so.6", "libc"), Some(1));
        assert_eq!(name_rank("libc.so.6", "libc.so"), Some(1));
        assert_eq!(name_rank("libc.so.6", "c"), Some(3));
        assert_eq!(name_rank("libpthread.so.0", "libpthread"), Some(1));
        assert_eq!(name_rank("libssl.so.1.1", "ssl"), Some(3));
        assert_eq!(name_rank("bash", "bash"), Some(0));
        assert_eq!(name_rank("libcrypt.so.1", "libc"), None);
        assert_eq!(name_rank("libc.so.6", "libc.so.7"), None);
        assert_eq!(name_rank("libc-2.31.so", "libc"), None);
        assert_eq!(name_rank("libc.so.6", ""), None);
    }

    #[test]
    fn reads_mapped_files() {
        let maps = "55d0c0a00000-55d0c0a01000 r--p 00000000 fd:01 123 /usr/bin/my prog\n\
                    7f0000000000-7f0000001000 r-xp 00000000 fd:01 456 /usr/lib/libc.so.6\n\
                    7f0000002000-7f0000003000 rw-p 00000000 00:00 0 \n\
                    7f0000004000-7f0000005000 r--p 00000000 fd:01 789 /tmp/old.so (deleted)\n\
                    7ffd00000000-7ffd00001000 rw-p 00000000 00:00 0 [stack]\n";
        let files: Vec<_> = mapped_files(maps).collect();
        assert_eq!(files, ["/usr/bin/my prog", "/usr/lib/libc.so.6"]);
    }

    #[test]
    fn paths_under_a_process_root() {
        assert_eq!(
            path_in_process_root("/usr/bin/x", 7),
            "/proc/7/root/usr/bin/x"
        );
        assert_eq!(path_in_process_root("bin/x", 7), "/proc/7/root/bin/x");
        assert_eq!(path_in_process_root("/proc/7/root/x", 7), "/proc/7/root/x");
    }

    static NO_CACHE: Result<Vec<LdCacheEntry>, String> = Ok(Vec::new());

    #[test]
    fn path_errors_name_the_target() {
        let err = resolve("./no/such/file", None, || &NO_CACHE).unwrap_err();
        assert_eq!(err, "target file './no/such/file' does not exist");
        let dir = std::env::temp_dir().join(format!("scry-bin-unit-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("plain.txt");
        fs::write(&plain, "not a program").unwrap();
        fs::set_permissions(&plain, fs::Permissions::from_mode(0o644)).unwrap();
        // A file without the execute bit resolves: uprobes read any ELF file.
        let plain = plain.to_str().unwrap();
        assert_eq!(resolve(plain, None, || &NO_CACHE).unwrap(), plain);
        fs::remove_dir_all(&dir).unwrap();
        let err = resolve("/", None, || &NO_CACHE).unwrap_err();
        assert!(err.contains("is not a regular file"), "{err}");
        let err = resolve("", None, || &NO_CACHE).unwrap_err();
        assert!(err.contains("empty"), "{err}");
    }
}
