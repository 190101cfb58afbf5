//! The REPL gives back what an entry took: after hundreds of entries attached and detached and
//! of statements run, scry holds the same file descriptors and BPF programs as before.
//!
//! Needs root (or CAP_BPF + CAP_PERFMON) and tracefs, as the other end-to-end tests.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;

/// Open fds of `pid`, and how many of them are BPF programs.
fn fds(pid: u32) -> (usize, usize) {
    let mut all = 0;
    let mut programs = 0;
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).expect("scry's fds") {
        let target = entry
            .ok()
            .and_then(|e| std::fs::read_link(e.path()).ok())
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        all += 1;
        programs += usize::from(target == "anon_inode:bpf-prog");
    }
    (all, programs)
}

#[test]
fn entries_attached_and_detached_leave_no_fds_or_programs() {
    let mut scry = Command::new(env!("CARGO_BIN_EXE_scry"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("scry starts");
    let pid = scry.id();
    let mut stdin = scry.stdin.take().expect("stdin");
    let (tx, answers) = mpsc::channel();
    let stderr = scry.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut entry = 0;
    // A statement (#N), then a probe (#N+1) detached: once that is answered, both are done.
    // pid 1 never calls getppid: the probe attaches and fires for nobody.
    let mut cycle = |stdin: &mut std::process::ChildStdin| {
        entry += 2;
        writeln!(
            stdin,
            "@s = {entry};\ntracepoint:syscalls:sys_enter_getppid /pid == 1/ {{ @c = count(); }}\n.detach all"
        )
        .expect("writes");
        let want = format!("#{entry} detached");
        loop {
            let line = answers.recv().expect("scry answers");
            assert!(!line.contains("ERROR"), "{line}");
            if line == want {
                break;
            }
        }
    };
    for _ in 0..5 {
        cycle(&mut stdin);
    }
    let before = fds(pid);
    for _ in 0..50 {
        cycle(&mut stdin);
    }
    assert_eq!(
        fds(pid),
        before,
        "(fds, BPF programs) before and after 50 cycles"
    );
    drop(stdin);
    assert!(scry.wait().expect("scry exits").success());
}
