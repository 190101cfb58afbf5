//! What is fuzzed: the whole front end as the CLI runs it (compile, render, dump), and the
//! worker process that runs inputs one by one for the parent.

use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use scry_lang::catalog::{MemoryCatalog, UsdtProbe, UserSymbol};
use scry_lang::check::CheckOptions;
use scry_lang::report::{render_all, RenderOptions};

/// Stack of the thread that runs the front end: small, so that deep recursion shows up as a
/// stack overflow here even where the CLI's 256 MiB thread would survive it.
pub const STACK_SIZE: usize = 8 << 20;

/// The catalog every input is checked against: a few tracepoints, kernel functions and one
/// binary with symbols and USDT probes.
pub fn catalog() -> MemoryCatalog {
    let mut c = MemoryCatalog::new();
    c.add_tracepoint(
        "syscalls",
        "sys_enter_openat",
        "name: sys_enter_openat\nID: 1\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;\n",
    );
    c.add_tracepoint(
        "syscalls",
        "sys_exit_read",
        "ID: 2\nformat:\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;\n",
    );
    c.add_tracepoint(
        "sched",
        "sched_switch",
        "ID: 3\nformat:\n\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:__data_loc char[] name;\toffset:28;\tsize:4;\tsigned:0;\n",
    );
    c.add_tracepoint(
        "block",
        "block_rq_issue",
        "ID: 4\nformat:\n\tfield:dev_t dev;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:unsigned int bytes;\toffset:16;\tsize:4;\tsigned:0;\n\tfield:char rwbs[8];\toffset:20;\tsize:8;\tsigned:0;\n",
    );
    for f in ["vfs_read", "vfs_write", "do_sys_openat2", "tcp_sendmsg"] {
        c.add_kernel_function(f);
    }
    let sym = |name: &str, address: u64, is_function: bool| UserSymbol {
        name: name.to_string(),
        address,
        size: 16,
        is_function,
    };
    c.add_binary(
        "/bin/bash",
        vec![
            sym("readline", 0x1000, true),
            sym("read_history", 0x2000, true),
            sym("global_var", 0x3000, false),
        ],
        vec![UsdtProbe {
            provider: "prov".to_string(),
            name: "probe".to_string(),
            arguments: "-4@%eax 8@-16(%rbp) 8@%rdi".to_string(),
            pc: 0x1010,
            base: 0,
            semaphore: 0,
        }],
    );
    c.add_binary(
        "/usr/lib/libc.so.6",
        vec![sym("malloc", 0x4000, true)],
        vec![],
    );
    c
}

/// What one input did, when it did not crash.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Number of error diagnostics.
    pub errors: usize,
    /// Normalised diagnostic messages (numbers and quoted names blanked), for novelty.
    pub signatures: Vec<String>,
}

/// Runs the front end on `src` the way the CLI does: compile, render the diagnostics (both
/// with and without colour), and dump the program when it checked.
pub fn run(src: &str, catalog: &MemoryCatalog) -> Outcome {
    let opts = CheckOptions {
        params: vec!["1".to_string(), "str".to_string()],
        ..CheckOptions::default()
    };
    let compiled = scry_lang::compile(src, catalog, &opts);
    let _ = render_all(
        &compiled.diagnostics,
        "fuzz.bt",
        src,
        RenderOptions {
            color: false,
            ascii: false,
        },
    );
    let _ = render_all(
        &compiled.diagnostics,
        "stdin",
        src,
        RenderOptions {
            color: true,
            ascii: true,
        },
    );
    if compiled.ok() {
        let _ = scry_lang::dump::dump(&compiled.program, &compiled.typed);
    }
    Outcome {
        errors: compiled
            .diagnostics
            .iter()
            .filter(|d| d.severity == scry_lang::Severity::Error)
            .count(),
        signatures: compiled
            .diagnostics
            .iter()
            .map(|d| normalise(&d.message))
            .collect(),
    }
}

/// Blanks what varies with the input (numbers, quoted text) so messages group by kind.
fn normalise(msg: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in msg.chars().take(100) {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push('\'');
            }
            _ if quoted => {}
            '0'..='9' => {
                if !out.ends_with('0') {
                    out.push('0');
                }
            }
            '\n' | '\x1f' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

static PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Installs a panic hook that records `location: message` instead of printing it.
pub fn capture_panics() {
    std::panic::set_hook(Box::new(|info| {
        let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
            s.to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "non-string panic payload".to_string()
        };
        let loc = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "unknown".to_string());
        *PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{loc}\x1f{msg}"));
    }));
}

/// Runs `src` under `catch_unwind`: `Ok` with the outcome, or `Err("location\x1fmessage")`.
pub fn run_caught(src: &str, catalog: &MemoryCatalog) -> Result<Outcome, String> {
    match catch_unwind(AssertUnwindSafe(|| run(src, catalog))) {
        Ok(o) => Ok(o),
        Err(_) => Err(PANIC
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_else(|| "unknown\x1fpanic".to_string())),
    }
}

/// The worker process: reads length-prefixed inputs on stdin and answers one line each on
/// stdout, `O <errors> <sig>\x1f<sig>...` or `P <location>\x1f<message>`. A stack overflow or
/// abort kills the process; the parent sees that as the end of stdout.
pub fn worker_main() -> ! {
    capture_panics();
    let t = std::thread::Builder::new()
        .name("front-end".to_string())
        .stack_size(STACK_SIZE)
        .spawn(|| {
            let catalog = catalog();
            let mut stdin = std::io::stdin().lock();
            let mut stdout = std::io::stdout().lock();
            loop {
                let mut len = [0u8; 4];
                if stdin.read_exact(&mut len).is_err() {
                    return;
                }
                let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
                if stdin.read_exact(&mut buf).is_err() {
                    return;
                }
                let src = String::from_utf8_lossy(&buf);
                let line = match run_caught(&src, &catalog) {
                    Ok(o) => format!("O {} {}", o.errors, o.signatures.join("\x1f")),
                    Err(p) => format!("P {}", p.replace('\n', "\\n")),
                };
                if writeln!(stdout, "{line}")
                    .and_then(|_| stdout.flush())
                    .is_err()
                {
                    return;
                }
            }
        })
        .expect("cannot start the worker thread");
    let _ = t.join();
    std::process::exit(0)
}
