//! What the command line grants a plugin beyond computing: a directory (`NAME:fs=DIR`) and
//! running commands (`NAME:exec`, with `--unsafe`).

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The grants of one plugin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    /// `fs=DIR`: files may be written and renamed inside `DIR`.
    pub fs: Option<PathBuf>,
    /// `exec`: commands may run through `/bin/sh -c`.
    pub exec: bool,
}

/// Parses the `--plugin-allow` values into grants by plugin name.
pub fn parse_all(values: &[String]) -> Result<BTreeMap<String, Grants>, String> {
    let mut all: BTreeMap<String, Grants> = BTreeMap::new();
    for v in values {
        let bad = || format!("--plugin-allow '{v}': expected NAME:fs=DIR or NAME:exec");
        let (name, what) = v.split_once(':').ok_or_else(bad)?;
        if !crate::descriptor::is_ident(name) {
            return Err(bad());
        }
        let g = all.entry(name.to_string()).or_default();
        match what.split_once('=') {
            Some(("fs", dir)) if !dir.is_empty() => g.fs = Some(PathBuf::from(dir)),
            None if what == "exec" => g.exec = true,
            _ => return Err(bad()),
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants() {
        let g = parse_all(&["p:fs=/tmp/out".into(), "p:exec".into(), "q:exec".into()]).unwrap();
        assert_eq!(g["p"].fs.as_deref(), Some(std::path::Path::new("/tmp/out")));
        assert!(g["p"].exec && g["q"].exec && g["q"].fs.is_none());
        for bad in ["p", "p:net", "p:fs=", "1p:exec"] {
            assert!(parse_all(&[bad.into()])
                .unwrap_err()
                .contains("expected NAME:fs=DIR"));
        }
    }
}
