//! Inputs found by `scry-fuzz` (see `fuzz/README.md`): every file in `tests/fuzz_regressions/`
//! goes through the whole front end as the CLI runs it (compile, render the diagnostics, dump
//! the program when it checked) on a thread with an 8 MiB stack, much smaller than the CLI's.
//! None may panic, overflow the stack (that aborts this test binary) or hang, and every input
//! that is not a valid program must get at least one error diagnostic.
//!
//! Adding a case is adding a file; a file that is a valid program is listed in [`VALID`]. The
//! runner is `scry_cases` (`SCRY_CASES=text` runs the files whose name contains `text`).

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use scry_cases::Outcome;
use scry_lang::catalog::{MemoryCatalog, UsdtProbe, UserSymbol};
use scry_lang::check::CheckOptions;
use scry_lang::report::{render_all, RenderOptions};

/// Files (without `.bt`) that are valid programs: they must check without errors.
const VALID: &[&str] = &[];

const STACK: usize = 8 << 20;
const TIME_LIMIT: Duration = Duration::from_secs(20);

fn catalog() -> MemoryCatalog {
    let mut c = MemoryCatalog::new();
    c.add_tracepoint(
        "syscalls",
        "sys_enter_openat",
        "ID: 1\nformat:\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n",
    );
    c.add_tracepoint(
        "sched",
        "sched_switch",
        "ID: 3\nformat:\n\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n",
    );
    c.add_kernel_function("vfs_read");
    c.add_binary(
        "/bin/bash",
        vec![UserSymbol {
            name: "readline".to_string(),
            address: 0x1000,
            size: 16,
            is_function: true,
        }],
        vec![UsdtProbe {
            provider: "prov".to_string(),
            name: "probe".to_string(),
            arguments: "-4@%eax 8@-16(%rbp)".to_string(),
            pc: 0x1010,
            base: 0,
            semaphore: 0,
        }],
    );
    c
}

/// Runs the front end on `src`; answers the number of error diagnostics.
fn front_end(src: &str) -> usize {
    let compiled = scry_lang::compile(src, &catalog(), &CheckOptions::default());
    for (color, ascii) in [(false, false), (true, true)] {
        let _ = render_all(
            &compiled.diagnostics,
            "fuzz.bt",
            src,
            RenderOptions { color, ascii },
        );
    }
    if compiled.ok() {
        let _ = scry_lang::dump::dump(&compiled.program, &compiled.typed);
    }
    compiled.diagnostics.iter().filter(|d| d.is_error()).count()
}

#[test]
fn fuzz_regressions_neither_panic_nor_hang() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let files = scry_cases::files(&dir, "bt");
    scry_cases::run("fuzz regressions", &files, 1, |f| &f.name, check);
}

/// Runs one input on a thread of its own: it must answer in time, without panicking, with
/// errors exactly when it is not listed as valid.
fn check(file: &scry_cases::File) -> Outcome {
    let name = file.name.trim_end_matches(".bt").to_string();
    let src = file.text.clone();
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name(name.clone())
        .stack_size(STACK)
        .spawn(move || {
            let _ = tx.send(front_end(&src));
        })
        .expect("spawn");
    match rx.recv_timeout(TIME_LIMIT) {
        Ok(errors) => {
            let _ = worker.join();
            let valid = VALID.contains(&name.as_str());
            if valid && errors > 0 {
                Outcome::Fail(format!("valid program, but {errors} errors"))
            } else if !valid && errors == 0 {
                Outcome::Fail("invalid program, but no error diagnostic".into())
            } else {
                Outcome::Pass
            }
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let msg = match worker.join() {
                Err(p) => scry_cases::panic_text(&*p),
                Ok(()) => String::new(),
            };
            Outcome::Fail(format!("panicked: {msg}"))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            Outcome::Fail(format!("no answer within {TIME_LIMIT:?} (hang)"))
        }
    }
}
