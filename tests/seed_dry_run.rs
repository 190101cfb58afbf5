//! Every program of the cheat-sheet (`tests/seed/*.bt`) parses, checks and compiles with
//! `scry -d`, including those whose probes this kernel cannot attach (kprobes).

use std::process::Command;

#[test]
fn every_seed_program_passes_the_dry_run() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/seed");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/seed")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "bt"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 14,
        "seed programs missing from {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for f in &files {
        let out = Command::new(env!("CARGO_BIN_EXE_scry"))
            .arg("-d")
            .arg(f)
            .output()
            .expect("run scry");
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success()
            || !stdout.starts_with("Program\n")
            || !stdout.contains(" instructions)")
        {
            failures.push(format!(
                "{}:\n{}{}",
                f.display(),
                stdout,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
