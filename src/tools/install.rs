//! `scry --install-tools DIR`: links `DIR/funccount`, `DIR/stackcount`, `DIR/trace` and
//! `DIR/argdist` to the scry binary, so the tools run under their own names.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::TOOLS;

/// Creates the links (replacing older links of the same names, never other files).
pub fn run(args: &[OsString]) -> ExitCode {
    let [dir] = args else {
        scry_runtime::eprintln_lossy!("usage: scry --install-tools DIR");
        return ExitCode::from(2);
    };
    match install(Path::new(dir)) {
        Ok(links) => {
            for l in links {
                crate::tools::say(l.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            scry_runtime::eprintln_lossy!("ERROR: {e}");
            ExitCode::FAILURE
        }
    }
}

fn install(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| format!("cannot find the scry binary: {e}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut made = Vec::new();
    for tool in TOOLS {
        let link = dir.join(tool);
        match std::fs::symlink_metadata(&link) {
            Ok(m) if m.file_type().is_symlink() => std::fs::remove_file(&link)
                .map_err(|e| format!("cannot replace {}: {e}", link.display()))?,
            Ok(_) => {
                return Err(format!(
                    "{} exists and is not a link; not replacing it",
                    link.display()
                ))
            }
            Err(_) => {}
        }
        std::os::unix::fs::symlink(&exe, &link)
            .map_err(|e| format!("cannot create {}: {e}", link.display()))?;
        made.push(link);
    }
    Ok(made)
}
