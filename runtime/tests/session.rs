//! The session grows and shrinks while it runs (the REPL's base): programs loaded later share
//! the maps of the first load, and one probe can be detached while the others keep counting.

use scry_ebpf::codegen::{compile, CompileOptions};
use scry_ebpf::object::Object;
use scry_lang::check::CheckOptions;
use scry_runtime::session::{Session, SessionOptions};
use scry_stdlib::map::MapValue;
use scry_stdlib::names::RawNames;
use scry_stdlib::printer::{Format, Printer};

fn object(src: &str) -> Object {
    let catalog = scry_runtime::LiveCatalog::new();
    let compiled = scry_lang::compile(src, &catalog, &CheckOptions::default());
    assert!(compiled.ok(), "{:?}", compiled.diagnostics);
    compile(
        &compiled.program,
        &compiled.typed,
        &CompileOptions::default(),
    )
    .expect("compiles")
}

fn count(session: &Session<Vec<u8>>) -> u64 {
    let dump = scry_runtime::snapshot::dump(&session.object, &session.loaded, 0, &RawNames)
        .expect("read @a");
    match dump.entries.first().map(|e| &e.value) {
        Some(MapValue::Count(n)) => *n,
        None => 0,
        other => panic!("unexpected {other:?}"),
    }
}

fn getppid_times(n: usize) {
    for _ in 0..n {
        // SAFETY: a plain syscall without arguments.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
}

fn getpid_times(n: usize) {
    for _ in 0..n {
        // SAFETY: as above.
        unsafe { libc::syscall(libc::SYS_getpid) };
    }
}

#[test]
fn programs_added_later_share_maps_and_one_probe_detaches_alone() {
    let pid = std::process::id();
    let full = object(&format!(
        "tracepoint:syscalls:sys_enter_getppid /pid == {pid}/ {{ @a = count(); }}
         tracepoint:syscalls:sys_enter_getpid /pid == {pid}/ {{ @a = count(); }}"
    ));
    assert_eq!(full.programs.len(), 2);
    let mut first = full.clone();
    first.programs.truncate(1);

    let printer = Printer::new(Vec::new(), Format::Text);
    let mut session = Session::new(first, SessionOptions::default(), printer).expect("loads");
    session.attach_program(0).expect("attaches");
    getppid_times(5);
    assert_eq!(count(&session), 5);

    // The second program is loaded into the running session against the same @a.
    let added = session.add(full).expect("loads more");
    assert_eq!(added, 1..2);
    session.attach_program(1).expect("attaches");
    getpid_times(3);
    assert_eq!(count(&session), 8);

    // Detaching the first probe leaves the second counting.
    session.detach_program(0);
    getppid_times(4);
    getpid_times(2);
    assert_eq!(count(&session), 10);
    session.detach_all();
}
