//! WebAssembly plugins end to end (docs/plugins.md): the real binary, the real kernel, WAT
//! fixtures (tests/plugins/*.wat) built with wat2wasm. Every sandbox limit ends in one sentence
//! naming the plugin, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scry-plugins-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plugins")
}

/// The module text every fixture starts with (memory, allocator, descriptor export).
fn prelude() -> String {
    std::fs::read_to_string(fixtures().join("prelude.wat")).unwrap()
}

/// Builds `tests/plugins/NAME.wat` (the prelude pasted in) into `dir/NAME.wasm`.
fn fixture(dir: &Path, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixtures().join(format!("{name}.wat"))).unwrap();
    wat(dir, name, &text.replace(";;PRELUDE", &prelude()))
}

/// Builds WAT text into `dir/NAME.wasm`.
fn wat(dir: &Path, name: &str, text: &str) -> PathBuf {
    let src = dir.join(format!("{name}.wat"));
    let out = dir.join(format!("{name}.wasm"));
    std::fs::write(&src, text).unwrap();
    let st = Command::new("wat2wasm")
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("wat2wasm (wabt) is installed");
    assert!(st.success(), "wat2wasm {name}");
    out
}

/// A minimal module: the prelude, a descriptor, and `body`.
fn module(dir: &Path, name: &str, descriptor: &str, body: &str) -> PathBuf {
    let prelude = prelude();
    let text = format!(
        "(module {body}\n{prelude}\n(data (i32.const 16) \"{}\")\n(global $desc_len i32 (i32.const {})))",
        descriptor.replace('\n', "\\n"),
        descriptor.len()
    );
    wat(dir, name, &text)
}

fn scry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `prog` with the fixture `fixture` loaded as plugin `name`; returns (status, stdout,
/// stderr).
fn run_with(
    fixture_name: &str,
    name: &str,
    test: &str,
    extra: &[&str],
    prog: &str,
) -> (i32, String, String) {
    let d = scratch(test);
    let f = fixture(&d, fixture_name);
    let plugin = format!("{name}={}", f.display());
    let mut args = vec!["--plugin", plugin.as_str()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-e", prog]);
    let out = scry(&args);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// Checks (`-d`) each program with the fixture loaded: refused, with the message wanted.
fn refused(fixture_name: &str, name: &str, cases: &[(&str, &str)]) {
    for (prog, wanted) in cases {
        let (st, _, err) = run_with(fixture_name, name, "check", &["-d"], prog);
        assert_eq!(st, 1, "{prog}");
        assert!(err.contains(wanted), "{prog}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Runs `prog` with plugin `f` = functions.wat.
fn run_functions(test: &str, extra: &[&str], prog: &str) -> (i32, String, String) {
    run_with("functions", "f", test, extra, prog)
}

#[test]
fn functions_in_printf_and_print() {
    let (st, out, err) = run_functions(
        "fns",
        &[],
        r#"BEGIN { printf("%d %s|\n", f::double(21), f::greet("bob")); print(f::double(-4)); exit(); }"#,
    );
    assert_eq!(st, 0, "{err}");
    assert_eq!(out, "Attaching 1 probe...\n42 hi, bob|\n-8\n\n\n");
}

#[test]
fn the_calls_of_a_drain_reach_each_function_in_one_batch_in_order() {
    // 50 records from one BEGIN, drained together: `stamp` adds 1000 times the number of its
    // scry_call, so one batch prints 1000 + i on every line (one call per record would print
    // 1000 * (i + 1) + i); the lines without calls keep their places between the others.
    let (st, out, err) = run_functions(
        "batch",
        &[],
        r#"BEGIN { $i = 0; while ($i < 50) { printf("%d %d %s\n", $i, f::stamp($i), f::greet("x")); printf("plain %d\n", $i); $i++; } exit(); }"#,
    );
    assert_eq!(st, 0, "{err}");
    let want: String = (0..50)
        .map(|i| format!("{i} {} hi, x\nplain {i}\n", 1000 + i))
        .collect();
    assert_eq!(out, format!("Attaching 1 probe...\n{want}\n\n"));
}

#[test]
fn functions_on_a_probe_of_the_test_workload() {
    // The -c child's own execve; its comm is a kernel string sent to the plugin.
    let (st, out, err) = run_functions(
        "probe",
        &["-c", "/bin/true"],
        r#"tracepoint:syscalls:sys_exit_execve /pid == cpid/ { printf("%s %d\n", f::greet(comm), f::double(args->ret + 5)); }"#,
    );
    assert_eq!(st, 0, "{err}");
    assert_eq!(out, "Attaching 1 probe...\nhi, true 10\n\n\n");
}

#[test]
fn an_infinite_loop_is_stopped_by_the_deadline_and_the_run_ends_cleanly() {
    let (st, out, err) = run_functions(
        "spin",
        &[],
        r#"BEGIN { @n = 1; printf("%d\n", f::spin(1)); } END { printf("end\n"); }"#,
    );
    assert_eq!(st, 1);
    assert!(
        err.contains("ERROR: plugin f: scry_call spin failed: it ran past its deadline of 50 ms; the run ends"),
        "{err}"
    );
    // END ran and the maps printed.
    assert!(out.ends_with("end\n\n\n@n: 1\n"), "{out}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_trap_is_contained_and_the_instance_is_never_called_again() {
    let (st, out, err) = run_functions(
        "boom",
        &["--plugin-fail=disable"],
        r#"BEGIN { printf("%d\n", f::boom(1)); printf("%d\n", f::double(1)); printf("after\n"); exit(); }"#,
    );
    assert_eq!(st, 0, "{err}");
    assert!(err.contains("WARNING: plugin f: scry_call boom failed: it trapped (wasm `unreachable` instruction executed); the plugin is disabled"), "{err}");
    assert_eq!(err.matches("plugin f").count(), 1, "{err}");
    assert_eq!(out, "Attaching 1 probe...\nafter\n\n\n");
}

#[test]
fn a_trap_after_scry_error_says_the_message() {
    let (st, out, err) = run_functions(
        "explain",
        &["--plugin-fail=disable"],
        r#"BEGIN { printf("%d\n", f::explain(1)); printf("after\n"); exit(); }"#,
    );
    assert_eq!(st, 0, "{err}");
    assert!(err.contains("WARNING: plugin f: scry_call explain failed: it trapped (wasm `unreachable` instruction executed): it fell over; the plugin is disabled"), "{err}");
    assert_eq!(out, "Attaching 1 probe...\nafter\n\n\n");
}

#[test]
fn a_trap_ends_the_run_with_end_maps_and_nothing_attached() {
    let (st, out, err) = run_functions(
        "trap",
        &["-c", "/bin/true"],
        r#"tracepoint:syscalls:sys_exit_execve /pid == cpid/ { @[comm] = count(); printf("%d\n", f::boom(1)); } END { printf("end\n"); }"#,
    );
    assert_eq!(st, 1);
    assert!(
        err.contains("ERROR: plugin f: scry_call boom failed: it trapped"),
        "{err}"
    );
    assert!(out.contains("end\n\n\n@[true]: 1\n"), "{out}");
    // END ran and the maps printed: the run ended through the session's finish, which detaches
    // every probe before END (the status is 1 for the plugin's failure).
}

#[test]
fn a_memory_bomb_is_capped() {
    let (st, _, err) = run_functions(
        "bomb",
        &["--plugin-memory", "8"],
        r#"BEGIN { printf("%d\n", f::bomb(1)); exit(); }"#,
    );
    assert_eq!(st, 1);
    assert!(
        err.contains("plugin f: scry_call bomb failed: it ran out of memory (its cap is 8 MiB, --plugin-memory)"),
        "{err}"
    );
}

#[test]
fn an_error_message_from_the_plugin_is_reported() {
    let (st, _, err) = run_functions(
        "refuse",
        &[],
        r#"BEGIN { printf("%d\n", f::refuse(1)); exit(); }"#,
    );
    assert_eq!(st, 1);
    assert!(
        err.contains("plugin f: scry_call refuse failed: no thanks;"),
        "{err}"
    );
}

#[test]
fn calls_are_checked_against_the_signature() {
    let cases = [
        (
            r#"BEGIN { printf("%d\n", f::double("x")); }"#,
            "f::double(): argument 1 must be an integer (i64); 'string[2]' supplied",
        ),
        (
            r#"BEGIN { printf("%d\n", f::double(1, 2)); }"#,
            "f::double() takes 1 argument (2 provided)",
        ),
        (
            r#"BEGIN { printf("%d\n", f::greet("x")); }"#,
            "%d specifier expects a value of type integer",
        ),
        (
            r#"BEGIN { printf("%d\n", f::nope(1)); }"#,
            "plugin f has no item 'nope'",
        ),
        (
            r#"BEGIN { printf("%d\n", g::double(1)); }"#,
            "no plugin named 'g' is loaded",
        ),
        (
            r#"BEGIN /f::double(1)/ { }"#,
            "f::double() runs in user space",
        ),
        (
            r#"BEGIN { @[f::double(1)] = 1; }"#,
            "f::double() runs in user space",
        ),
        (
            r#"BEGIN { @x = f::double(1) + 1; }"#,
            "f::double() runs in user space",
        ),
        (
            r#"BEGIN { @x = hist(f::double(1)); }"#,
            "f::double() runs in user space",
        ),
        (
            r#"BEGIN { printf("%d\n", f::double(f::double(1))); }"#,
            "f::double() runs in user space",
        ),
    ];
    refused("functions", "f", &cases);
}

#[test]
fn dry_run_lists_plugins_and_signatures() {
    let (st, out, err) = run_functions("list", &["-d"], "BEGIN { }");
    assert_eq!(st, 0, "{err}");
    assert!(out.starts_with("Plugins\n  f ("), "{out}");
    assert!(
        out.contains(
            "    fn double(i64) -> i64\n    fn greet(str) -> str\n    fn spin(u64) -> u64\n"
        ),
        "{out}"
    );
}

#[test]
fn a_script_declares_its_plugins_relative_to_itself() {
    let d = scratch("script");
    fixture(&d, "functions");
    let script = d.join("s.bt");
    std::fs::write(
        &script,
        "plugin f = \"functions.wasm\";\nBEGIN { printf(\"%d\\n\", f::double(4)); exit(); }\n",
    )
    .unwrap();
    let out = scry(&[script.to_str().unwrap()]);
    assert_eq!(
        text(&out.stdout),
        "Attaching 1 probe...\n8\n\n\n",
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_sink_gets_batches_in_its_granted_directory_and_nothing_outside() {
    let d = scratch("sink");
    let s = fixture(&d, "sink");
    let granted = d.join("out");
    std::fs::create_dir_all(&granted).unwrap();
    let plugin = format!("s={}", s.display());
    let grant = format!("s:fs={}", granted.display());
    let out = scry(&[
        "--plugin",
        &plugin,
        "--plugin-allow",
        &grant,
        "-e",
        r#"BEGIN { printf("one %d\n", 1); printf("two\n"); @m = 5; exit(); }"#,
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // scry's own output is unchanged.
    assert_eq!(stdout, "Attaching 1 probe...\none 1\ntwo\n\n\n@m: 5\n");
    let bytes = std::fs::read(granted.join("records.bin")).expect("renamed at scry_finish");
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    // The run description names the printf formats; the records carry the lines.
    assert!(has(b"one %d\n") && has(b"\x01\x00\x06\x00\x00\x00one 1\n") && has(b"two\n"));
    // The map at exit: kind 4, name "m", scalar, one entry, no key parts, tagged u64? 5.
    assert!(has(
        b"\x04\x01\x00\x00\x00m\x00\x01\x00\x00\x00\x00\x00\x00\x00"
    ));
    // -d runs no hook: no run description, no finish.
    std::fs::remove_file(granted.join("records.bin")).unwrap();
    let out = scry(&[
        "-d",
        "--plugin",
        &plugin,
        "--plugin-allow",
        &grant,
        "-e",
        "BEGIN { }",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(std::fs::read_dir(&granted).unwrap().next().is_none());
    // Writing outside the granted directory is refused, with a warning.
    assert!(!d.join("escape.bin").exists());
    assert!(stderr.contains("WARNING: plugin s: fs_write refused: '../escape.bin' is not a path inside the granted directory"), "{stderr}");
}

#[test]
fn a_formatter_renders_its_map() {
    let d = scratch("format");
    let f = fixture(&d, "formatter");
    let script = d.join("s.bt");
    std::fs::write(
        &script,
        format!(
            "plugin h = \"{}\";\nformat @lat = h::bars;\nformat @n = h::bars;\nBEGIN {{ @lat = hist(3); @lat = hist(100); @other = hist(1); @n = 1; exit(); }}\n",
            f.display()
        ),
    )
    .unwrap();
    let out = scry(&[script.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("\n\nhist @lat: buckets 6\n"), "{stdout}");
    assert!(stdout.contains("@other: \n[1]"), "{stdout}");
    // A formatter of hists does not render a scalar map.
    assert!(stdout.contains("@n: 1\n"), "{stdout}");
    assert!(text(&out.stderr).contains(
        "WARNING: plugin h: its formatter renders hist maps, and @n is a scalar map: it prints as scry prints it"
    ), "{}", text(&out.stderr));
}

#[test]
fn loading_refuses_what_is_not_a_plugin() {
    let d = scratch("load");
    let not_wasm = d.join("x.wasm");
    std::fs::write(&not_wasm, "#!/bin/sh\n").unwrap();
    let newer = module(&d, "newer", "abi 2.0\n", "");
    let no_alloc = wat(
        &d,
        "noalloc",
        r#"(module (memory (export "memory") 1) (func (export "scry_plugin") (result i64) (i64.const 0)))"#,
    );
    let wrong = wat(
        &d,
        "wrong",
        r#"(module (memory (export "memory") 1) (func (export "scry_plugin") (result i64) (i64.const 0)) (func (export "scry_alloc") (param i64) (result i32) (i32.const 0)))"#,
    );
    let wasi = module(
        &d,
        "wasi",
        "abi 1.0\n",
        r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
    );
    let fs = module(
        &d,
        "fs",
        "abi 1.0\n",
        r#"(import "scry" "fs_write" (func (param i32 i32 i32 i32 i32) (result i32)))"#,
    );
    let exec = module(
        &d,
        "exec",
        "abi 1.0\n",
        r#"(import "scry" "exec" (func (param i32 i32) (result i32)))"#,
    );
    let no_call = module(&d, "nocall", "abi 1.0\nfn x(u64) -> u64\n", "");
    let p = |path: &PathBuf| format!("p={}", path.display());
    for (args, wanted) in [
        (vec![p(&not_wasm)], format!("ERROR: plugin p: '{}' is not a WebAssembly module (it does not start with the wasm magic number)\n", not_wasm.display())),
        (vec![p(&d.join("missing.wasm"))], format!("ERROR: plugin p: cannot read '{}': No such file or directory\n", d.join("missing.wasm").display())),
        (vec![p(&newer)], "ERROR: plugin p: it was built for plugin ABI 2.0, and this scry implements ABI 1.2\n".into()),
        (vec![p(&no_alloc)], "ERROR: plugin p: it does not export 'scry_alloc', which every plugin must\n".into()),
        (vec![p(&wrong)], "ERROR: plugin p: it exports 'scry_alloc' with the wrong type (the ABI's is (i32) -> (i32))\n".into()),
        (vec![p(&wasi)], "ERROR: plugin p: it imports 'wasi_snapshot_preview1.fd_write', which scry does not provide (a plugin imports only from module 'scry': log, error, output, fs_write, fs_rename, exec; no WASI)\n".into()),
        (vec![p(&fs)], "ERROR: plugin p: it imports 'scry.fs_write', which needs a directory granted: --plugin-allow p:fs=DIR\n".into()),
        (vec![p(&exec)], "ERROR: plugin p: it imports 'scry.exec', which needs --plugin-allow p:exec and --unsafe\n".into()),
        (vec![p(&exec), "--plugin-allow".into(), "p:exec".into()], "ERROR: plugin p: it imports 'scry.exec': running commands needs --unsafe too\n".into()),
        (vec![p(&no_call)], "ERROR: plugin p: it declares fn x(u64) -> u64 but does not export 'scry_call'\n".into()),
    ] {
        let mut all: Vec<&str> = vec!["--plugin"];
        all.extend(args.iter().map(String::as_str));
        all.extend(["-e", "BEGIN { exit(); }"]);
        let out = scry(&all);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&out.stderr), wanted, "{args:?}");
        assert!(out.stdout.is_empty());
    }
}

/// Runs `prog` with plugin `r` = reducer.wat.
fn run_reducer(test: &str, extra: &[&str], prog: &str) -> (i32, String, String) {
    run_with("reducer", "r", test, extra, prog)
}

#[test]
fn a_reducer_folds_per_key_and_prints_with_the_maps() {
    let (st, out, err) = run_reducer(
        "reduce",
        &[],
        r#"BEGIN { @s["a"] = r::sum(5); @s["a"] = r::sum(7); @s["b"] = r::sum(1); @t = r::sum(3); @c = count(); print(@s); delete(@s["b"]); zero(@t); @u[1] = r::sum(4); clear(@u); exit(); }"#,
    );
    assert_eq!(st, 0, "{err}");
    // print(@s) in BEGIN; at exit @s without the deleted key, @t zeroed, @u cleared (empty).
    assert_eq!(
        out,
        "Attaching 1 probe...\n@s[a]: sum=12\n@s[b]: sum=1\n\n\n@c: 1\n@s[a]: sum=12\n@t: sum=0\n\n"
    );
}

#[test]
fn a_reducer_on_a_probe_of_the_test_workload() {
    let (st, out, err) = run_reducer(
        "reduce_probe",
        &["-c", "/bin/true"],
        r#"tracepoint:syscalls:sys_exit_execve /pid == cpid/ { @e[comm] = r::sum(2); @e[comm] = r::sum(args->ret + 1); }"#,
    );
    assert_eq!(st, 0, "{err}");
    assert_eq!(out, "Attaching 1 probe...\n\n\n@e[true]: sum=3\n");
}

/// reducer.wat as an ABI 1.1 plugin whose reducer is declared `weighted`.
fn weighted_reducer(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(fixtures().join("reducer.wat")).unwrap();
    let text = text
        .replace(";;PRELUDE", &prelude())
        .replace(
            r#""abi 1.0\nreducer sum(i64)\n""#,
            r#""abi 1.1\nreducer sum(i64) weighted\n""#,
        )
        .replace(
            "$desc_len i32 (i32.const 25)",
            "$desc_len i32 (i32.const 34)",
        )
        .replace("$weighted i32 (i32.const 0)", "$weighted i32 (i32.const 1)");
    wat(dir, "reducer_weighted", &text)
}

/// A stream with prints, deletes, clears and zeroes along it: dd's 1000 reads of one byte,
/// numbered 1..1000, folded by their number modulo 3 (and a key-less map of ones).
const WEIGHTED_PROG: &str = "tracepoint:syscalls:sys_exit_read /pid == cpid && args->ret == 1/ { \
     @i++; @s[@i % 3] = r::sum(@i); @t = r::sum(1); @u[@i % 2] = r::sum(7); \
     if (@i % 250 == 0) { print(@s); delete(@s[0]); print(@t); clear(@t); } \
     if (@i == 600) { zero(@s); print(@u); } }";

/// Runs [`WEIGHTED_PROG`] with `plugin` as `r` and `env`; the output.
fn weighted_run(plugin: &Path, env: &[(&str, &str)]) -> String {
    let spec = format!("r={}", plugin.display());
    let out = Command::new(env!("CARGO_BIN_EXE_scry"))
        .envs(env.iter().copied())
        .args([
            "--plugin",
            &spec,
            "-c",
            "dd if=/dev/zero of=/dev/null bs=1 count=1000",
        ])
        .args(["-e", WEIGHTED_PROG])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("Lost"), "{err}");
    text(&out.stdout)
}

#[test]
fn a_weighted_reducer_counted_in_the_kernel_gives_the_per_event_answer() {
    let d = scratch("weighted");
    let per_event = weighted_run(&fixture(&d, "reducer"), &[]);
    // The first print: the sums of 1..250 by their number modulo 3.
    assert!(
        per_event.contains("@s[0]: sum=10458\n@s[1]: sum=10542\n@s[2]: sum=10375\n@t: sum=250\n"),
        "{per_event}"
    );
    let weighted = weighted_reducer(&d);
    assert_eq!(weighted_run(&weighted, &[]), per_event);
    // A counts map of 2 entries: the kernel counts what fits, the rest goes per event.
    assert_eq!(
        weighted_run(&weighted, &[("BPFTRACE_MAP_KEYS_MAX", "2")]),
        per_event
    );
}

#[test]
fn reducers_are_checked() {
    let cases = [
        (
            r#"BEGIN { @s = r::sum("x"); }"#,
            "r::sum(): the value must be an integer (i64); 'string[2]' supplied",
        ),
        (
            r#"BEGIN { @s = r::sum(1, 2); }"#,
            "r::sum() takes 1 argument, the value to fold (2 provided)",
        ),
        (
            r#"BEGIN { printf("%d\n", r::sum(1)); }"#,
            "r::sum is not a function of its plugin (it is a reducer)",
        ),
        (
            r#"BEGIN { $x = r::sum(1); }"#,
            "r::sum() is a plugin reducer: it folds values into a map",
        ),
        (
            r#"BEGIN { @s = r::sum(1); @s = 2; }"#,
            "@s is also assigned in the kernel",
        ),
        (
            r#"BEGIN { @s[1] = r::sum(1); delete(@s); }"#,
            "delete() needs a key",
        ),
        (
            r#"BEGIN { @s = r::sum(1); printf("%d\n", @s); }"#,
            "@s is folded by a plugin reducer in user space: the kernel cannot read its values",
        ),
    ];
    refused("reducer", "r", &cases);
}

#[test]
fn a_sink_args_plugin_gets_printf_as_format_number_and_arguments() {
    let d = scratch("sink_args");
    let s = fixture(&d, "sink_args");
    let plugin = format!("a={}", s.display());
    let out = scry(&[
        "--plugin",
        &plugin,
        "-e",
        r#"BEGIN { printf("x\n"); printf("y %d %s\n", -3, "ab"); exit(); }"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut want = b"Attaching 1 probe...\n".to_vec();
    // The batch of the attach line (kind 6, 1 probe), then the batch of the drain: printf 0
    // without arguments, printf 1 with an integer and a string. The plugin prints printf in
    // scry's place: scry's own lines are not there.
    want.extend([6, 1, 0, 0, 0, 0, 0, 0, 0]);
    want.extend([2, 0, 0, 0, 0, 2, 1, 0, 0, 0]);
    want.extend((-3i64).to_le_bytes());
    want.extend([2, 0, 0, 0, b'a', b'b']);
    want.extend(b"\n\n");
    assert_eq!(out.stdout, want, "{}", text(&out.stdout));
}

/// Runs `prog` quietly with sink_args_once.wat as plugin `a`, failures disabling it.
fn run_sink_args_once(test: &str, extra: &[&str], prog: &str) -> (i32, String, String) {
    let mut args = vec!["-q", "--plugin-fail=disable"];
    args.extend_from_slice(extra);
    run_with("sink_args_once", "a", test, &args, prog)
}

const PRINTS_AROUND_PRINTS: &str =
    r#"BEGIN { printf("a\n"); print(1); printf("b\n"); print(2); printf("c\n"); exit(); }"#;

#[test]
fn a_sink_args_plugin_prints_printf_in_scrys_place_until_it_fails() {
    let (st, out, err) = run_sink_args_once("args_once", &[], PRINTS_AROUND_PRINTS);
    assert_eq!(st, 0, "{err}");
    // "a" went to the plugin, which printed "P" before print(1) (in its place); "b" went in
    // the batch it failed on; from "c" on, scry prints printf again.
    assert_eq!(out, "P\n1\n2\nc\n\n\n");
    assert!(
        err.contains("WARNING: plugin a: scry_sink failed: scry_sink returned 1 and gave no message; the plugin is disabled"),
        "{err}"
    );
}

#[test]
fn a_sink_args_plugin_replaces_printf_records_in_json() {
    let (st, out, err) =
        run_sink_args_once("args_once_json", &["-f", "json"], PRINTS_AROUND_PRINTS);
    assert_eq!(st, 0, "{err}");
    let printf: Vec<&str> = out.lines().filter(|l| l.contains(r#""printf""#)).collect();
    assert_eq!(printf.len(), 2, "{out}");
    assert!(printf[0].contains(r#""P\n""#), "{out}");
    assert!(printf[1].contains(r#""c\n""#), "{out}");
}

#[test]
fn reducer_maps_in_json_are_the_plugins_json_values() {
    let (st, out, err) = run_reducer(
        "reduce_json",
        &["-f", "json"],
        r#"BEGIN { @s["a"] = r::sum(5); @s["b"] = r::sum(2); print(@s); exit(); }"#,
    );
    assert_eq!(st, 0, "{err}");
    assert!(
        out.contains("{\"type\": \"map\", \"data\": {\"@s\": {\"a\": 5, \"b\": 2}}}\n"),
        "{out}"
    );
}

#[test]
fn end_of_run_calls_get_the_longer_deadline() {
    let d = scratch("end_deadline");
    let f = module(
        &d,
        "slowfmt",
        "abi 1.0\nformatter slow(scalar)\n",
        r#"(func (export "scry_format") (param i32 i32 i32) (result i64) (loop $l (br $l)) (i64.const 0))"#,
    );
    let script = d.join("s.bt");
    std::fs::write(
        &script,
        format!(
            "plugin s = \"{}\";\nformat @n = s::slow;\nBEGIN {{ @n = 1; exit(); }}\n",
            f.display()
        ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = scry(&["--plugin-fail=disable", script.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert!(
        err.contains("plugin s: scry_format slow failed: it ran past its deadline of 1000 ms"),
        "{err}"
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(1000));
    // Disabled: the map prints as scry prints it.
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        text(&out.stdout).ends_with("\n\n@n: 1\n"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn exec_runs_commands_only_with_its_grant_and_unsafe() {
    let d = scratch("exec");
    let marker = d.join("ran");
    let cmd = format!("echo ran > {}", marker.display());
    let f = module(
        &d,
        "exec",
        "abi 1.0\n",
        &format!(
            r#"(import "scry" "exec" (func $exec (param i32 i32) (result i32)))
               (data (i32.const 4096) "{cmd}")
               (func (export "scry_init") (param i32 i32) (result i32)
                 (drop (call $exec (i32.const 4096) (i32.const {}))) (i32.const 0))"#,
            cmd.len()
        ),
    );
    let plugin = format!("x={}", f.display());
    let out = scry(&[
        "--unsafe",
        "--plugin",
        &plugin,
        "--plugin-allow",
        "x:exec",
        "-e",
        "BEGIN { exit(); }",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");
}

#[test]
fn plugin_options_are_checked() {
    for (args, wanted) in [
        (
            vec!["--plugin", "x"],
            "ERROR: --plugin 'x': expected NAME=PATH (NAME an identifier)\n",
        ),
        (
            vec!["--plugin-allow", "x:exec"],
            "ERROR: --plugin-allow 'x:exec': no plugin is loaded\n",
        ),
        (
            vec![
                "--plugin",
                "a=/nonexistent.wasm",
                "--plugin-allow",
                "b:exec",
            ],
            "ERROR: --plugin-allow names plugin b, which is not loaded (--plugin b=PATH)\n",
        ),
        (
            vec!["--plugin", "a=/nonexistent.wasm", "--plugin-allow", "a:net"],
            "ERROR: --plugin-allow 'a:net': expected NAME:fs=DIR or NAME:exec\n",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["-e", "BEGIN { exit(); }"]);
        let out = scry(&all);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&out.stderr), wanted, "{args:?}");
    }
}

/// The REPL (no program) with `args`, reading `entries` from standard input until it closes.
fn repl(args: &[&str], entries: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(entries.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn plugins_in_the_repl_from_the_command_line_and_entries() {
    let d = scratch("repl");
    let (f, r, h, a) = (
        fixture(&d, "functions"),
        fixture(&d, "reducer"),
        fixture(&d, "formatter"),
        fixture(&d, "sink_args"),
    );
    let saved = d.join("saved.bt");
    let plugin = format!("f={}", f.display());
    let entries = format!(
        r#"printf("%d %s|\n", f::double(21), f::greet("bob"));
plugin r = "{}";
@s["a"] = r::sum(5); @s["a"] = r::sum(7); @s["b"] = r::sum(1);
@s
.print @s
.clear @s
@s["c"] = r::sum(2);
plugin h = "{}";
format @lat = h::bars;
@lat = hist(3); @lat = hist(100);
plugin bad = "{}";
plugin a = "{}";
.save {}
"#,
        r.display(),
        h.display(),
        d.join("missing.wasm").display(),
        a.display(),
        saved.display()
    );
    let out = repl(&["--plugin", &plugin], &entries);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stdout,
        "42 hi, bob|\n@s[a]: sum=12\n@s[b]: sum=1\n@s[a]: sum=12\n@s[b]: sum=1\n\n\nhist @lat: buckets 6\n@s[c]: sum=2\n",
        "{stderr}"
    );
    assert!(
        stderr.contains("ERROR: plugin bad: cannot read"),
        "{stderr}"
    );
    // An ABI 1.0 `sink args` plugin cannot learn the formats of later entries (no
    // `scry_formats`): refused for that role, in one sentence (the ABI 1.2 `printf` example
    // loads: tests/plugin_examples.rs).
    assert!(
        stderr.contains("ERROR: plugin a: this 'sink args' plugin cannot be loaded in the REPL: it does not export scry_formats (ABI 1.2), which tells it the printf formats of later entries; give the program with -e or a file\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The saved script loads the same plugins (absolute paths) and formatter, and checks.
    let script = std::fs::read_to_string(&saved).unwrap();
    for line in [
        format!("plugin f = \"{}\";", f.display()),
        format!("plugin r = \"{}\";", r.display()),
        "format @lat = h::bars;".to_string(),
    ] {
        assert!(script.contains(&line), "{line} in {script}");
    }
    let checked = scry(&["-d", saved.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(0), "{}", text(&checked.stderr));
}
