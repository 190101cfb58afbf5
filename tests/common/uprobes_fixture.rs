//! The uprobes fixture (`tests/fixtures/uprobes.c`) built for a test that drives scry by hand.

use std::path::PathBuf;
use std::process::Command;

/// Builds the uprobes fixture as `name` in a scratch directory of this test process (`tag`
/// names the test), with frame pointers and debug information (user stacks unwind, functions
/// resolve), and returns its path. A name of the test's own keeps its `comm` and path apart
/// from every other process.
pub fn uprobes_fixture(tag: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scry-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join(name);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let built = Command::new("cc")
        .args(["-O1", "-g", "-pthread", "-fno-omit-frame-pointer", "-o"])
        .arg(&bin)
        .arg(root.join("tests/fixtures/uprobes.c"))
        .status()
        .expect("cc runs");
    assert!(built.success(), "the uprobes fixture builds");
    bin
}
