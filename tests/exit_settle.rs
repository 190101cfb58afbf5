//! After `exit()`, probes that can change a map stay attached until the ring buffer is quiet
//! (`runtime/src/after_exit.rs`), so a workload that ends soon after is counted whole, as in
//! bpftrace 0.17; the wait is bounded and a signal ends it. Needs root and BPF, as
//! `tests/runtime.rs`. The workload is our own uprobes fixture, built here, calling `add` N
//! times then returning; runs are repeated, also with a busy loop on every core, to show the
//! count is not won by a race.

#[path = "common/attached.rs"]
mod common_attached;
#[path = "common/uprobes_fixture.rs"]
mod common_fixture;

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common_attached::attached;
use common_fixture::uprobes_fixture;

/// Calls of `add` per run: ~15 µs per uretprobe hit on the test VM, a few ms in all.
const CALLS: u32 = 300;

/// The uprobes fixture built under a name of this test's own (`comm` and path), so that no
/// other process runs it.
fn fixture(name: &str) -> PathBuf {
    uprobes_fixture("exit", name)
}

/// scry running `program` (after `options`), once its probes are attached; its stderr is
/// read on (kept open) by the caller.
fn scry(options: &[&str], program: &str) -> (Child, BufReader<ChildStderr>) {
    let args: Vec<&str> = options.iter().copied().chain(["-e", program]).collect();
    attached(&args, Stdio::piped())
}

/// Waits for scry's end; its status must be success. Returns its stdout.
fn output(mut child: Child, mut stderr: BufReader<ChildStderr>) -> String {
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    assert!(child.wait().unwrap().success(), "scry failed: {out}{err}");
    out
}

/// One run: `add` called [`CALLS`] times under a uretprobe calling `exit()` on each return;
/// every call is counted.
fn counts_every_call(bin: &Path) {
    let program = format!("uretprobe:{}:add {{ @ = count(); exit(); }}", bin.display());
    let (scry, stderr) = scry(&["-q"], &program);
    let ran = Command::new(bin)
        .args(["add", &CALLS.to_string()])
        .status()
        .unwrap();
    assert!(ran.success());
    let out = output(scry, stderr);
    assert_eq!(out, format!("\n\n@: {CALLS}\n"), "every call counted");
}

/// A busy loop on every core until dropped.
struct Busy {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Busy {
    fn start() -> Busy {
        let stop = Arc::new(AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        Busy { stop, threads }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[test]
fn exit_counts_a_workload_that_ends_soon_after() {
    let bin = fixture("fx_exit_count");
    for _ in 0..3 {
        counts_every_call(&bin);
    }
    let _busy = Busy::start();
    for _ in 0..3 {
        counts_every_call(&bin);
    }
}

#[test]
fn exit_counts_the_whole_c_child() {
    let bin = fixture("fx_exit_child");
    let program = format!("uretprobe:{}:add {{ @ = count(); exit(); }}", bin.display());
    let command = format!("{} add {CALLS}", bin.display());
    let (scry, stderr) = scry(&["-q", "-c", &command], &program);
    assert_eq!(output(scry, stderr), format!("\n\n@: {CALLS}\n"));
}

/// A workload that never pauses: scry ends by itself after the bound, and a signal during
/// the wait ends it at once.
#[test]
fn exit_wait_is_bounded_and_a_signal_ends_it() {
    let bin = fixture("fx_exit_endless");
    let program = format!("uretprobe:{}:add {{ @ = count(); exit(); }}", bin.display());
    let endless = || {
        Command::new(&bin)
            .args(["add", "100000000000000"])
            .spawn()
            .unwrap()
    };

    let (scry_run, stderr) = scry(&["-q"], &program);
    let mut workload = endless();
    let started = Instant::now();
    let out = output(scry_run, stderr);
    let took = started.elapsed();
    let still_running = workload.try_wait().unwrap().is_none();
    let _ = workload.kill();
    let _ = workload.wait();
    assert!(still_running, "the workload outlived the wait");
    assert!(
        took < Duration::from_secs(5),
        "the wait is bounded ({took:?})"
    );
    assert!(out.starts_with("\n\n@: "), "{out}");

    let (scry_run, stderr) = scry(&["-q"], &program);
    let mut workload = endless();
    // The first call's exit() has come; scry waits for quiet that never comes.
    std::thread::sleep(Duration::from_millis(150));
    let signalled = Instant::now();
    let killed = Command::new("kill")
        .args(["-INT", &scry_run.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = output(scry_run, stderr);
    let took = signalled.elapsed();
    let _ = workload.kill();
    let _ = workload.wait();
    assert!(out.starts_with("\n\n@: "), "{out}");
    assert!(
        took < Duration::from_millis(600),
        "SIGINT ends the wait at once ({took:?})"
    );
}
