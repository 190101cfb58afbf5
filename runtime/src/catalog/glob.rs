//! Paths with wildcards (`./bin/app*`, `/usr/lib/*/libc.so*`): the files they match, found one
//! directory level at a time, spelled as the pattern spells them.

use std::path::Path;

use scry_lang::glob::glob_match;

/// The regular files `pattern` matches, sorted. `*` does not match a leading `.` unless the
/// pattern's component starts with one, as in the shell.
pub(super) fn files(pattern: &str) -> Vec<String> {
    let mut found = vec![if pattern.starts_with('/') {
        "/".to_string()
    } else {
        String::new()
    }];
    for part in pattern.split('/').filter(|p| !p.is_empty()) {
        let mut next = Vec::new();
        for base in &found {
            if !part.contains('*') {
                next.push(join(base, part));
                continue;
            }
            let dir = if base.is_empty() { "." } else { base.as_str() };
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| glob_match(part, n) && (part.starts_with('.') || !n.starts_with('.')))
                .collect();
            names.sort();
            next.extend(names.iter().map(|n| join(base, n)));
        }
        found = next;
    }
    found.retain(|p| Path::new(p).is_file());
    found.sort();
    found
}

fn join(base: &str, part: &str) -> String {
    match base {
        "" => part.to_string(),
        b if b.ends_with('/') => format!("{b}{part}"),
        b => format!("{b}/{part}"),
    }
}

#[cfg(test)]
mod tests {
    use super::files;

    #[test]
    fn matches_files_level_by_level() {
        let dir = std::env::temp_dir().join(format!("scry-glob-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for f in ["app1", "app2", ".app3", "other", "sub/app4"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let d = dir.display();
        assert_eq!(
            files(&format!("{d}/app*")),
            [format!("{d}/app1"), format!("{d}/app2")]
        );
        assert_eq!(files(&format!("{d}/*/app*")), [format!("{d}/sub/app4")]);
        assert_eq!(files(&format!("{d}/.app*")), [format!("{d}/.app3")]);
        assert!(files(&format!("{d}/nothing*")).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
