//! Attaching and detaching every `syscalls:sys_enter_*` tracepoint (about 360), in its own
//! test process so that the count of bpf_link fds is ours alone. Runs as root.

mod common;

use std::time::{Duration, Instant};

use common::*;
use scry_ebpf::object::{MapKind, ProgType, Trigger};
use scry_lang::attach::Attach;
use scry_runtime::attach::{attach, detach_all, AttachOptions, Link};
use scry_runtime::load::{load, LoadOptions, Loaded};

/// Every `syscalls:sys_enter_*` tracepoint.
fn sys_enter_tracepoints() -> Vec<Attach> {
    let tracefs = scry_runtime::LiveCatalog::new()
        .tracefs()
        .unwrap()
        .to_path_buf();
    let mut events: Vec<String> = std::fs::read_dir(tracefs.join("events/syscalls"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("sys_enter_"))
        .collect();
    events.sort();
    events.iter().map(|e| tracepoint("syscalls", e)).collect()
}

/// A program counting every event in a per-CPU array, or (`trivial`) doing nothing.
fn load_counter(trivial_program: bool) -> Loaded {
    let insns = if trivial_program {
        trivial()
    } else {
        add_to_slot0(0, 1)
    };
    let obj = object(
        vec![map("events", MapKind::PerCpuArray, 4, 8, 1)],
        vec![program(
            "sys_enter",
            ProgType::Tracepoint,
            Trigger::Attached,
            insns,
            sys_enter_tracepoints(),
        )],
    );
    load(&obj, LoadOptions::default()).unwrap()
}

fn attach_all(loaded: &Loaded) -> (Vec<Link>, Duration) {
    let prog = &loaded.programs[0];
    let start = Instant::now();
    let links = attach(prog, &sys_enter_tracepoints(), &AttachOptions::default()).unwrap();
    (links, start.elapsed())
}

#[test]
fn parallel_detach_of_syscall_tracepoints_leaves_nothing_attached() {
    scry_runtime::sys::raise_open_file_limit().unwrap();
    let before = bpf_link_fds();
    let loaded = load_counter(false);
    let (links, attach_time) = attach_all(&loaded);
    let n = sys_enter_tracepoints().len();
    assert!(n > 300, "only {n} sys_enter tracepoints");
    assert_eq!(links.len(), n);
    assert_eq!(bpf_link_fds(), before + n);
    unsafe { libc::getppid() };
    assert!(slot0(&loaded.maps[0]) > 0);

    let start = Instant::now();
    detach_all(links);
    let detach_time = start.elapsed();
    eprintln!("{n} tracepoints: attach {attach_time:?}, parallel detach {detach_time:?}");
    assert_eq!(bpf_link_fds(), before);
    let count = slot0(&loaded.maps[0]);
    for _ in 0..100 {
        unsafe { libc::getppid() };
    }
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(slot0(&loaded.maps[0]), count, "a probe still fires");
}

/// `cargo test -p scry-runtime --release --test detach -- --ignored --nocapture`: attach and
/// detach times of the syscall wildcard, detaching sequentially and then in parallel.
#[test]
#[ignore = "a measurement: it takes about half a minute"]
fn measure_detach_sequential_vs_parallel() {
    scry_runtime::sys::raise_open_file_limit().unwrap();
    let loaded = load_counter(true);
    let n = sys_enter_tracepoints().len();

    let (links, attach_seq) = attach_all(&loaded);
    let start = Instant::now();
    drop(links);
    let sequential = start.elapsed();

    let (links, attach_par) = attach_all(&loaded);
    let start = Instant::now();
    detach_all(links);
    let parallel = start.elapsed();

    eprintln!("{n} tracepoints, trivial program");
    eprintln!("  attach {attach_seq:?}, sequential detach {sequential:?}");
    eprintln!("  attach {attach_par:?}, parallel detach (up to 64 threads) {parallel:?}");
}
