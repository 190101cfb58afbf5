//! Files a plugin granted `fs=DIR` may write: paths relative to `DIR`, opened through cap-std
//! so that no absolute path, `..` or symbolic link leads out of it.

use std::io::Write;
use std::path::{Component, Path};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};

/// The granted directory, opened once at load.
pub struct GrantedDir {
    dir: Dir,
    shown: String,
}

impl GrantedDir {
    /// Opens `path` (it must exist and be a directory).
    pub fn open(path: &Path) -> Result<Self, String> {
        let dir = Dir::open_ambient_dir(path, ambient_authority()).map_err(|e| {
            format!(
                "cannot open the granted directory '{}': {e}",
                path.display()
            )
        })?;
        Ok(GrantedDir {
            dir,
            shown: path.display().to_string(),
        })
    }

    /// Creates or truncates (`append` false) or appends to `path`; the bytes written.
    pub fn write(&self, path: &str, data: &[u8], append: bool) -> Result<usize, String> {
        let rel = self.relative(path)?;
        let mut opts = OpenOptions::new();
        opts.write(true).create(true);
        if append {
            opts.append(true);
        } else {
            opts.truncate(true);
        }
        let mut f = self
            .dir
            .open_with(rel, &opts)
            .map_err(|e| self.refused(path, &e))?;
        f.write_all(data).map_err(|e| self.refused(path, &e))?;
        Ok(data.len())
    }

    /// Renames `from` to `to`, both inside the directory.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), String> {
        let (a, b) = (self.relative(from)?, self.relative(to)?);
        self.dir
            .rename(a, &self.dir, b)
            .map_err(|e| self.refused(&format!("{from} -> {to}"), &e))
    }

    /// `path` when it names something inside the directory without leaving it.
    fn relative<'p>(&self, path: &'p str) -> Result<&'p Path, String> {
        let p = Path::new(path);
        let inside = !path.is_empty()
            && p.components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if inside {
            Ok(p)
        } else {
            Err(format!(
                "'{path}' is not a path inside the granted directory '{}' (no absolute path, no '..')",
                self.shown
            ))
        }
    }

    fn refused(&self, path: &str, e: &std::io::Error) -> String {
        format!("'{path}' in the granted directory '{}': {e}", self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_inside() {
        let root = std::env::temp_dir().join(format!("scry-plugin-fs-{}", std::process::id()));
        let inside = root.join("granted");
        std::fs::create_dir_all(&inside).unwrap();
        std::os::unix::fs::symlink(&root, inside.join("up")).unwrap();
        let d = GrantedDir::open(&inside).unwrap();
        assert_eq!(d.write("a.tmp", b"x", false).unwrap(), 1);
        d.write("a.tmp", b"y", true).unwrap();
        d.rename("a.tmp", "a.prom").unwrap();
        assert_eq!(std::fs::read(inside.join("a.prom")).unwrap(), b"xy");
        for bad in ["/etc/passwd", "../escape", "sub/../../escape", ""] {
            assert!(d
                .write(bad, b"x", false)
                .unwrap_err()
                .contains("not a path inside"));
        }
        // A symbolic link leading out is refused by cap-std.
        assert!(d.write("up/escape", b"x", false).is_err());
        assert!(!root.join("escape").exists());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
