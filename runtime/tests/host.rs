//! The incremental host on the real kernel: sources added one after another to one session
//! share its maps, keep every index they were given, and one probe block detaches alone; a
//! source the verifier rejects is reported at its own span and leaves the session as it was.

use scry_ebpf::codegen::CompileOptions;
use scry_lang::check::CheckOptions;
use scry_runtime::host::{Host, HostError, HostOptions, Source};
use scry_runtime::session::SessionOptions;
use scry_stdlib::sink::{self, Capture, Format, Output};

/// A host whose output `capture` keeps.
fn host(capture: &Capture) -> Host {
    let opts = HostOptions {
        check: CheckOptions::default(),
        compile: CompileOptions::default(),
        session: SessionOptions::default(),
        command: None,
        max_probes: 512,
    };
    Host::new(
        opts,
        sink::new(Format::Text, Output::new(Box::new(capture.clone()))),
    )
}

fn source(entry: usize, text: String) -> Source {
    Source {
        name: format!("entry {entry}"),
        text,
    }
}

/// Every map as printed at exit (the output so far taken with them).
fn maps(host: &mut Host, capture: &Capture) -> String {
    host.session_mut()
        .expect("running")
        .print_maps()
        .expect("prints");
    capture.take_string()
}

/// Runs system call `nr` `n` times.
fn syscall_times(nr: libc::c_long, n: usize) {
    for _ in 0..n {
        // SAFETY: getppid/getpid/getuid take no arguments and touch no memory.
        unsafe { libc::syscall(nr) };
    }
}

#[test]
fn three_blocks_share_maps_keep_indexes_and_the_middle_one_detaches() {
    // Tests run in parallel threads of one process: each counts only its own thread's calls.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let capture = Capture::new();
    let mut host = host(&capture);
    let entries = [
        format!("tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{ @a = count(); }}"),
        // Creates @b and counts into @a, which entry 0 created.
        format!(
            "tracepoint:syscalls:sys_enter_getpid /tid == {tid}/ {{ @b[1] = sum(2); @a = count(); }}"
        ),
        format!(
            "tracepoint:syscalls:sys_enter_getuid /tid == {tid}/ {{ @c = count(); @b[2] = sum(3); }}"
        ),
    ];
    for (i, text) in entries.iter().enumerate() {
        let added = host.apply(source(i, text.clone())).expect("applies");
        assert_eq!(added.entry, i);
        assert_eq!(added.blocks, i..i + 1);
        assert_eq!(added.programs, i..i + 1);
        assert_eq!(added.probes, 1);
    }

    // Append-only indexes: the three fixed maps, then @a, @b, @c in the order they appeared.
    let object = host.object();
    let user: Vec<(&str, usize)> = object
        .user_maps
        .iter()
        .map(|m| (m.name.as_str(), m.map))
        .collect();
    assert_eq!(user, [("a", 3), ("b", 4), ("c", 5)]);
    let names: Vec<&str> = object.maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["ringbuf", "counters", "globals", "@a", "@b", "@c"]);
    let blocks: Vec<usize> = object.programs.values().map(|p| p.probe_block).collect();
    assert_eq!(blocks, [0, 1, 2]);
    let entries_of_blocks: Vec<usize> = object.blocks.values().map(|b| b.entry).collect();
    assert_eq!(entries_of_blocks, [0, 1, 2]);
    assert_eq!(host.sources(), 3);

    syscall_times(libc::SYS_getppid, 5);
    syscall_times(libc::SYS_getpid, 3);
    syscall_times(libc::SYS_getuid, 2);
    assert_eq!(
        maps(&mut host, &capture),
        "@a: 8\n@b[1]: 6\n@b[2]: 6\n@c: 2\n"
    );

    host.detach(1).expect("detaches");
    let session = host.session().expect("running");
    assert!(session.is_attached(0) && !session.is_attached(1) && session.is_attached(2));
    // Nothing of block 1 is kept; the other indexes do not move.
    let object = host.object();
    assert_eq!(
        object.blocks.iter().map(|(i, _)| i).collect::<Vec<_>>(),
        [0, 2]
    );
    assert_eq!(
        object.programs.iter().map(|(i, _)| i).collect::<Vec<_>>(),
        [0, 2]
    );
    assert!(session.loaded.programs.get(1).is_none() && session.is_removed(1));
    syscall_times(libc::SYS_getppid, 1);
    syscall_times(libc::SYS_getpid, 4);
    syscall_times(libc::SYS_getuid, 1);
    // Block 1 counted nothing more; blocks 0 and 2 went on, into the maps they share with it.
    assert_eq!(
        maps(&mut host, &capture),
        "@a: 9\n@b[1]: 6\n@b[2]: 9\n@c: 3\n"
    );

    // A map keeps the type its first source gave it: nothing of a source that would change
    // it is kept.
    let before = host.object().programs.end();
    let e = host
        .apply(source(
            3,
            format!("tracepoint:syscalls:sys_enter_getpid /tid == {tid}/ {{ @a = \"text\"; }}"),
        ))
        .expect_err("@a is a count");
    let HostError::Source { diagnostics, .. } = e else {
        panic!("not a source error: {e}")
    };
    assert!(
        diagnostics[0].message.contains("Type mismatch for @a"),
        "{:?}",
        diagnostics
    );
    assert_eq!(host.object().programs.end(), before);
    assert_eq!(host.sources(), 3);
    host.finish().expect("finishes");
}

#[test]
fn a_verifier_rejection_in_the_third_block_is_reported_at_its_span() {
    // Tests run in parallel threads of one process: each counts only its own thread's calls.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let capture = Capture::new();
    let mut host = host(&capture);
    for (i, text) in [
        format!("tracepoint:syscalls:sys_enter_getppid /tid == {tid}/ {{ @a = count(); }}"),
        format!("tracepoint:syscalls:sys_enter_getpid /tid == {tid}/ {{ @b = count(); }}"),
    ]
    .into_iter()
    .enumerate()
    {
        host.apply(source(i, text)).expect("applies");
    }
    let maps_before = host.session().expect("running").loaded.maps.end();
    // An unbounded loop: the checker accepts it, the verifier does not. The new map @c must
    // not stay behind.
    let text = "interval:s:1 { @c = count(); $i = 0; while ($i >= 0) { $i = $i + 0; } }";
    let e = host
        .apply(source(2, text.to_string()))
        .expect_err("the verifier rejects it");
    let HostError::Source {
        diagnostics,
        summary,
        log,
    } = e
    else {
        panic!("not a source error: {e}")
    };
    assert_eq!(
        summary.as_deref(),
        Some("the kernel refused to load the program")
    );
    assert!(log.is_some_and(|l| !l.is_empty()));
    let d = &diagnostics[0];
    assert!(
        d.message.starts_with("the BPF verifier rejected this: "),
        "{}",
        d.message
    );
    // The span is in the third source, inside its loop.
    let loop_at = text.find("while").expect("has a loop");
    assert!(
        d.span.start >= loop_at && d.span.end <= text.len() && d.span.start < d.span.end,
        "span {:?} of {text:?}",
        d.span
    );

    // Nothing of it stays: the session goes on with the same maps and programs.
    assert_eq!(
        host.session().expect("running").loaded.maps.end(),
        maps_before
    );
    assert_eq!(host.sources(), 2);
    assert_eq!(host.object().blocks.end(), 2);
    let added = host
        .apply(source(
            2,
            format!("tracepoint:syscalls:sys_enter_getuid /tid == {tid}/ {{ @c = count(); }}"),
        ))
        .expect("a good source after the rejected one applies");
    assert_eq!(added.entry, 2);
    assert_eq!(host.object().user_maps[2].map, maps_before);
    syscall_times(libc::SYS_getuid, 2);
    syscall_times(libc::SYS_getppid, 1);
    assert_eq!(maps(&mut host, &capture), "@a: 1\n@b: 0\n@c: 2\n");
    host.finish().expect("finishes");
}
