//! The BCC tools' output used by other programs: stackcount's folded lines drawn by inferno's
//! flame graph (what `flamegraph.pl` does with them), and the links `--install-tools` makes.
//! Needs root and BPF, as `tests/runtime.rs`; the tools' other cases, the seed's §4 examples
//! among them (`tool_seed_*`), are `tests/runtime/tool_*.case`.

#[path = "common/attached.rs"]
mod common_attached;
#[path = "common/uprobes_fixture.rs"]
mod common_fixture;

use std::process::{Command, Stdio};

use common_attached::attached;
use common_fixture::uprobes_fixture;

#[test]
fn folded_stacks_draw_as_a_flame_graph() {
    let bin = uprobes_fixture("tools", "fx_folded");
    let mut fixture = Command::new(&bin)
        .args(["gate", "-", "stack", "3", "spin", "300"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("the fixture starts");
    let (scry, _stderr) = attached(
        &[
            "stackcount",
            "-f",
            "-U",
            "-p",
            &fixture.id().to_string(),
            &format!("{}:add", bin.display()),
        ],
        Stdio::piped(),
    );
    drop(fixture.stdin.take());
    assert!(fixture.wait().unwrap().success());
    // stackcount ends when the -p process does.
    let out = scry.wait_with_output().unwrap();
    assert!(out.status.success());
    let folded = String::from_utf8(out.stdout).unwrap();
    assert!(folded.ends_with(";main;level1;level2;add 3\n"), "{folded}");

    let mut svg = Vec::new();
    let mut options = inferno::flamegraph::Options::default();
    inferno::flamegraph::from_reader(&mut options, folded.as_bytes(), &mut svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    for frame in ["fx_folded", "main", "level1", "level2", "add"] {
        let title = format!("<title>{frame} (3 samples, 100.00%)</title>");
        assert!(svg.contains(&title), "no {title} in the flame graph");
    }
    let _ = std::fs::remove_dir_all(bin.parent().unwrap());
}

#[test]
fn install_tools_links_run_the_tools() {
    let dir = std::env::temp_dir().join(format!("scry-install-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_scry"))
        .arg("--install-tools")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for tool in ["funccount", "stackcount", "trace", "argdist"] {
        let link = dir.join(tool);
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        // Each runs as its tool: a usage error in argparse's words, exit status 2.
        let run = Command::new(&link)
            .arg("--no-such-option")
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{tool}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.starts_with(&format!("usage: {tool} ")), "{stderr}");
        assert!(
            stderr.ends_with(&format!(
                "{tool}: error: unrecognized arguments: --no-such-option\n"
            )),
            "{stderr}"
        );
    }
    // -h prints the help on stdout and exits 0.
    let help = Command::new(dir.join("funccount"))
        .arg("-h")
        .output()
        .unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("Usage: funccount [-h] [-p PID] [-i INTERVAL]"),
        "{text}"
    );
    // Installing again replaces the links.
    let again = Command::new(env!("CARGO_BIN_EXE_scry"))
        .arg("--install-tools")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(again.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn syscall_wildcard_attaches_as_a_raw_tracepoint() {
    // `t:syscalls:sys_enter_*` is one program on raw_syscalls: attached as a raw tracepoint
    // (not a perf-event tracepoint, whose link costs three kernel grace periods to close), as
    // the link's fdinfo shows while the tool runs.
    let (mut scry, _stderr) = attached(&["funccount", "t:syscalls:sys_enter_*"], Stdio::null());
    let fdinfo = std::fs::read_dir(format!("/proc/{}/fdinfo", scry.id()))
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .find(|info| info.contains("link_type:"))
        .unwrap_or_default();
    // Only signal the process this test started.
    let _ = Command::new("kill")
        .args(["-INT", &scry.id().to_string()])
        .status();
    assert!(scry.wait().unwrap().success());
    assert!(
        fdinfo.contains("link_type:\traw_tracepoint") && fdinfo.contains("tp_name:\tsys_enter"),
        "{fdinfo}"
    );
}
