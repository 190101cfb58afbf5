//! The interactive REPL in a real pseudo-terminal (rexpect): a probe filtered to this test's
//! thread attaches as it is typed over several lines and its output appears above the prompt;
//! `@map` prints; an entry with an error is reported and the next one works; Tab lists
//! tracepoint names from the live system; Ctrl-C cancels the line and the session goes on;
//! `.detach` stops a probe; Ctrl-D ends the session, printing the maps.
//!
//! Needs root (or CAP_BPF + CAP_PERFMON) and tracefs, as the other end-to-end tests.

use std::process::Command;

use rexpect::process::WaitStatus;
use rexpect::session::{spawn_command, PtySession};

const PROMPT: &str = "scry> ";

fn scry(state: &std::path::Path) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scry"));
    cmd.env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", state);
    let mut p = spawn_command(cmd, Some(20_000)).expect("scry starts in a pty");
    p.exp_string(PROMPT).expect("the prompt");
    p
}

/// Calls getppid(2) `n` times from this thread.
fn getppid_times(n: usize) {
    for _ in 0..n {
        // SAFETY: getppid takes no arguments and touches no memory.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
}

#[test]
fn a_live_session_at_a_terminal() {
    let state = std::env::temp_dir().join(format!("scry-repl-pty-{}", std::process::id()));
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let mut p = scry(&state);

    // A probe block over three lines: the prompt does not come back until its braces close.
    p.send_line(&format!(
        "tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{"
    ))
    .unwrap();
    p.send_line("  @calls = count(); printf(\"getppid %d\\n\", @calls);")
        .unwrap();
    p.send_line("}").unwrap();
    p.exp_string("#1 attached: 1 probe (tracepoint:syscalls:sys_enter_getppid)")
        .unwrap();
    p.exp_string(PROMPT).unwrap();

    // Its output arrives while the prompt waits.
    getppid_times(3);
    p.exp_string("getppid 3").unwrap();
    p.send_line("@calls").unwrap();
    p.exp_string("@calls: 3").unwrap();
    p.exp_string(PROMPT).unwrap();

    // An error is reported on its entry; the session goes on and the next entry works.
    p.send_line("@calls = \"text\";").unwrap();
    p.exp_string("Type mismatch for @calls").unwrap();
    p.exp_string("entry 2").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("BEGIN { @begun = 7; }").unwrap();
    p.exp_string("#3 attached: 1 probe (BEGIN)").unwrap();
    p.exp_string(PROMPT).unwrap();

    // Tab completes from tracefs: `sys_enter_getpg` can become two names, so a second Tab
    // lists them (neither was typed before). Ctrl-C drops the line and gives a fresh, empty
    // prompt (the editor draws an empty line as the prompt and a cursor move).
    p.send("tracepoint:syscalls:sys_enter_getpg\t\t").unwrap();
    p.flush().unwrap();
    p.exp_string("tracepoint:syscalls:sys_enter_getpgid")
        .unwrap();
    p.exp_string("tracepoint:syscalls:sys_enter_getpgrp")
        .unwrap();
    p.send_control('c').unwrap();
    p.exp_regex(r"scry> \r\x1b\[6C").unwrap();
    p.send_line("@begun").unwrap();
    p.exp_string("@begun: 7").unwrap();
    p.exp_string(PROMPT).unwrap();

    // Detached, the probe counts no more.
    p.send_line(".detach 1").unwrap();
    p.exp_string("#1 detached").unwrap();
    p.exp_string(PROMPT).unwrap();
    getppid_times(2);

    // Ctrl-D on an empty line ends the session: the maps, as at exit.
    p.send_control('d').unwrap();
    p.exp_string("@begun: 7").unwrap();
    let rest = p.exp_eof().unwrap();
    assert!(!rest.contains("@calls: 5"), "{rest}");
    assert!(
        matches!(p.process().wait(), Ok(WaitStatus::Exited(_, 0))),
        "scry did not exit 0"
    );
    let history = std::fs::read_to_string(state.join("scry/history")).unwrap_or_default();
    assert!(history.contains(".detach 1"), "{history}");
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn sigterm_ends_the_session_and_ctrl_c_stops_a_watch() {
    let state = std::env::temp_dir().join(format!("scry-repl-pty-term-{}", std::process::id()));
    let mut p = scry(&state);
    p.send_line("interval:ms:20 { @ticks = count(); }").unwrap();
    p.exp_string("#1 attached: 1 probe (interval:ms:20)")
        .unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("END { printf(\"END ran\\n\"); }").unwrap();
    p.exp_string("#2 attached: 1 probe (END)").unwrap();
    p.exp_string(PROMPT).unwrap();

    // `.watch` prints the map again and again until Ctrl-C; then the prompt is back.
    p.send_line(".watch @ticks 0.05").unwrap();
    p.exp_regex(r"@ticks: \d+\r?\n(?s:.*)@ticks: \d+\r?\n(?s:.*)@ticks: \d+")
        .unwrap();
    p.send_control('c').unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line(".probes").unwrap();
    p.exp_string("#1 1 probe: interval:ms:20").unwrap();
    p.exp_string(PROMPT).unwrap();

    // SIGTERM while the editor waits for a line: END runs, the maps print, exit 0.
    p.process_mut()
        .signal(rexpect::process::Signal::SIGTERM)
        .unwrap();
    p.exp_string("END ran").unwrap();
    p.exp_regex(r"@ticks: \d+").unwrap();
    p.exp_eof().unwrap();
    assert!(
        matches!(p.process().wait(), Ok(WaitStatus::Exited(_, 0))),
        "scry did not exit 0"
    );
    let _ = std::fs::remove_dir_all(&state);
}
