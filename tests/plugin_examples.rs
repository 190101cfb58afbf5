//! The example plugins (plugins/examples): each is built from source by
//! scripts/build-plugins.sh, and its module checked against ABI 1.2 (docs/plugins.md): the
//! hooks it exports with their exact signatures, and its imports (module `scry` only, each
//! with its signature, and only the ones its role needs). Then each runs in scry on the real
//! kernel with a fixture workload, and its output is checked exactly.
//!
//! The toolchain (clang with wasi-libc, wasm-ld, Debian rustc with the wasm32 std, wabt) is
//! installed by scripts/test.sh; without it these tests say so and pass.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The examples built once for every test of this binary: the output directory, or `None`
/// when the toolchain is absent.
fn built() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let missing: Vec<&str> = [
            ("clang", Path::new("/usr/bin/clang")),
            ("wasm-ld (lld)", Path::new("/usr/bin/wasm-ld")),
            ("wasm-objdump (wabt)", Path::new("/usr/bin/wasm-objdump")),
            ("wasi-libc", Path::new("/usr/lib/wasm32-wasi/libc.a")),
            ("rustc (Debian)", Path::new("/usr/bin/rustc")),
            (
                "libstd-rust-dev-wasm32",
                Path::new("/usr/lib/rustlib/wasm32-unknown-unknown"),
            ),
        ]
        .into_iter()
        .filter(|(_, path)| !path.exists())
        .map(|(name, _)| name)
        .collect();
        if !missing.is_empty() {
            eprintln!(
                "SKIPPED: the wasm toolchain is not installed (missing {}); scripts/test.sh \
                 installs it",
                missing.join(", ")
            );
            return None;
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = std::env::temp_dir().join(format!("scry-plugin-examples-{}", std::process::id()));
        let out = Command::new(root.join("scripts/build-plugins.sh"))
            .arg(&dir)
            .output()
            .expect("scripts/build-plugins.sh runs");
        assert!(
            out.status.success(),
            "scripts/build-plugins.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(dir)
    })
    .as_deref()
}

/// A module's functions as `wasm-objdump -x` lists them.
#[derive(Debug, Default)]
struct Module {
    /// Export name -> signature, for exported functions.
    exports: BTreeMap<String, String>,
    /// Other exports (memory, globals): name -> kind.
    other_exports: BTreeMap<String, String>,
    /// `module.name` -> signature, for imported functions.
    imports: BTreeMap<String, String>,
    /// Imports that are not functions.
    other_imports: Vec<String>,
}

/// Reads `wasm` with `wasm-objdump -x`: types, functions, imports, exports.
fn objdump(wasm: &Path) -> Module {
    let out = Command::new("wasm-objdump")
        .arg("-x")
        .arg(wasm)
        .output()
        .expect("wasm-objdump runs");
    assert!(
        out.status.success(),
        "wasm-objdump {}: {}",
        wasm.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut func_sig: BTreeMap<String, String> = BTreeMap::new();
    let mut module = Module::default();
    let mut section = "";
    let mut pending_exports = Vec::new();
    for line in text.lines() {
        if !line.starts_with(" - ") {
            section = line.split('[').next().unwrap_or("");
            continue;
        }
        let item = &line[3..];
        match section {
            // - type[0] (i32, i32) -> nil
            "Type" => {
                let (index, sig) = item.split_once(' ').unwrap();
                types.insert(
                    index.trim_start_matches("type").to_string(),
                    sig.to_string(),
                );
            }
            // - func[3] sig=1 <name>
            "Function" => {
                let mut words = item.split(' ');
                let func = words.next().unwrap().trim_start_matches("func").to_string();
                let sig = words.next().unwrap().trim_start_matches("sig=");
                func_sig.insert(func, sig.to_string());
            }
            // - func[0] sig=0 <scry.error> <- scry.error
            "Import" => {
                let (lhs, from) = item.split_once(" <- ").unwrap();
                if let Some(rest) = lhs.strip_prefix("func") {
                    let func = rest.split(' ').next().unwrap().to_string();
                    let sig = lhs.split(' ').nth(1).unwrap().trim_start_matches("sig=");
                    func_sig.insert(func, sig.to_string());
                    module.imports.insert(from.to_string(), sig.to_string());
                } else {
                    module.other_imports.push(item.to_string());
                }
            }
            // - func[22] <scry_alloc> -> "scry_alloc"    - memory[0] -> "memory"
            "Export" => {
                let (lhs, name) = item.split_once(" -> ").unwrap();
                let name = name.trim_matches('"').to_string();
                match lhs.strip_prefix("func") {
                    Some(rest) => {
                        pending_exports.push((name, rest.split(' ').next().unwrap().to_string()))
                    }
                    None => {
                        module
                            .other_exports
                            .insert(name, lhs.split('[').next().unwrap().to_string());
                    }
                }
            }
            _ => {}
        }
    }
    let signature = |sig: &str| types.get(&format!("[{sig}]")).cloned().unwrap_or_default();
    for (_, sig) in module.imports.iter_mut() {
        *sig = signature(sig);
    }
    for (name, func) in pending_exports {
        let sig = func_sig
            .get(&func)
            .map(|s| signature(s))
            .unwrap_or_default();
        module.exports.insert(name, sig);
    }
    module
}

/// ABI 1.2's export signatures.
fn export_signature(name: &str) -> &'static str {
    match name {
        "scry_plugin" => "() -> i64",
        "scry_alloc" => "(i32) -> i32",
        "scry_init" | "scry_formats" => "(i32, i32) -> i32",
        "scry_call" => "(i32, i32, i32, i32) -> i64",
        "scry_reduce" => "(i32, i32, i32, i32, i32) -> i32",
        "scry_render" => "(i32, i32, i32, i32) -> i64",
        "scry_reset" => "(i32, i32, i32, i32) -> i32",
        "scry_format" => "(i32, i32, i32) -> i64",
        "scry_sink" => "(i32, i32, i32) -> i32",
        "scry_finish" => "() -> i32",
        other => panic!("{other} is not a hook of ABI 1.2"),
    }
}

/// ABI 1.2's import signatures (module `scry`).
fn import_signature(name: &str) -> &'static str {
    match name {
        "scry.log" | "scry.error" | "scry.output" => "(i32, i32) -> nil",
        "scry.fs_write" => "(i32, i32, i32, i32, i32) -> i32",
        "scry.fs_rename" => "(i32, i32, i32, i32) -> i32",
        "scry.exec" => "(i32, i32) -> i32",
        other => panic!("{other} is not an import of ABI 1.2"),
    }
}

/// Checks example `name`: exactly `hooks` exported beside `scry_plugin` and `scry_alloc`,
/// exactly `imports` (from module `scry`), each with its ABI signature; the descriptor's
/// lines in the module's data.
fn check(name: &str, descriptor: &str, hooks: &[&str], imports: &[&str]) {
    let Some(dir) = built() else { return };
    let wasm = dir.join(format!("{name}.wasm"));
    let module = objdump(&wasm);

    let mut want: BTreeSet<String> = ["scry_plugin", "scry_alloc"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    want.extend(hooks.iter().map(|h| format!("scry_{h}")));
    let got: BTreeSet<String> = module.exports.keys().cloned().collect();
    assert_eq!(got, want, "{name}: exported functions");
    for (export, sig) in &module.exports {
        assert_eq!(
            sig,
            export_signature(export),
            "{name}: signature of {export}"
        );
    }
    assert_eq!(
        module.other_exports.get("memory").map(String::as_str),
        Some("memory"),
        "{name}: exports its memory"
    );

    let want: BTreeSet<String> = imports.iter().map(|i| format!("scry.{i}")).collect();
    let got: BTreeSet<String> = module.imports.keys().cloned().collect();
    assert_eq!(got, want, "{name}: imports (module scry only: no WASI)");
    for (import, sig) in &module.imports {
        assert_eq!(
            sig,
            import_signature(import),
            "{name}: signature of {import}"
        );
    }
    assert!(
        module.other_imports.is_empty(),
        "{name}: imports only functions: {:?}",
        module.other_imports
    );

    let bytes = std::fs::read(&wasm).unwrap();
    for needle in ["abi 1.2\n", descriptor] {
        assert!(
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{name}: the descriptor {needle:?} is in the module"
        );
    }
}

#[test]
fn quantiles_in_c_exports_a_reducer() {
    check(
        "quantiles-c",
        "reducer quantiles(i64) weighted rounded 7\n",
        &["reduce", "render", "reset"],
        &["error"],
    );
}

#[test]
fn quantiles_in_rust_exports_a_reducer() {
    check(
        "quantiles-rs",
        "reducer quantiles(i64) weighted rounded 7\n",
        &["reduce", "render", "reset"],
        &["error"],
    );
}

#[test]
fn topk_exports_a_reducer() {
    check(
        "topk",
        "reducer topk(i64)\n",
        &["reduce", "render", "reset"],
        &["error"],
    );
}

#[test]
fn ndjson_and_csv_are_file_sinks() {
    for name in ["ndjson", "csv"] {
        check(
            name,
            "sink lines\n",
            &["init", "sink"],
            &["error", "fs_write"],
        );
    }
}

#[test]
fn printf_is_an_args_sink_writing_to_the_output() {
    check(
        "printf",
        "sink args\n",
        &["init", "formats", "sink"],
        &["error", "output"],
    );
}

/// The `printf` plugin (`sink args`, ABI 1.2) in the REPL: each entry's printf formats reach
/// it through `scry_formats` before the entry's BEGIN runs, numbered for good (a detached
/// entry's format keeps its number), and a `printf` plugin loaded later gets every format in
/// its run description. Both print each line in scry's place.
#[test]
fn printf_plugin_formats_the_printf_of_later_repl_entries() {
    use std::io::Write;
    let Some(dir) = built() else { return };
    let printf = dir.join("printf.wasm");
    let entries = format!(
        r#"BEGIN {{ printf("one %d|%5s|\n", -1, "ab"); }}
.detach 1
BEGIN {{ printf("two %x\n", 255); printf("three %-3u|\n", 3); }}
plugin q = "{}";
BEGIN {{ printf("four %s %d\n", "x", 4); }}
"#,
        printf.display()
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_scry"))
        .arg("--plugin")
        .arg(format!("p={}", printf.display()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("scry runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(entries.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("ERROR"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        // (the blank lines: the session ends, as a script's run does)
        "one -1|   ab|\ntwo ff\nthree 3  |\nfour x 4\nfour x 4\n\n\n",
        "{stderr}"
    );
}

#[test]
fn prometheus_is_a_sink_renaming_its_file() {
    check(
        "prometheus",
        "sink lines\n",
        &["sink", "finish"],
        &["error", "log", "fs_write", "fs_rename"],
    );
}

#[test]
fn heatmap_exports_two_formatters() {
    check(
        "heatmap",
        "formatter sparkline(hist)\nformatter heatmap(hist)\n",
        &["format"],
        &["error"],
    );
}

#[test]
fn the_walked_through_mean_reducer_builds_in_c_and_rust() {
    for name in ["mean-c", "mean-rs"] {
        check(
            name,
            "reducer mean(i64) weighted\n",
            &["reduce", "render", "reset"],
            &["error"],
        );
    }
}

// ---- end to end: the examples loaded by scry on the real kernel ------------------------------
//
// Needs root and BPF, as tests/runtime.rs. The workload is a fixture calling lseek(-1, v, 0)
// for each value asked (the call fails at once; the tracepoint sees `args->offset == v`), run
// with -c and filtered to its pid.

/// The workload's source: `fx_lseek SPEC...`, each SPEC `v` (once), `v*n` (n times) or
/// `a..b` (a to b, once each), in order.
const LSEEK_FIXTURE: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    char *dots = strstr(argv[i], ".."), *star = strchr(argv[i], '*');
    long a = atol(argv[i]), b = dots ? atol(dots + 2) : a, n = star ? atol(star + 1) : 1;
    for (long v = a; v <= b; v++)
      for (long k = 0; k < n; k++) lseek(-1, v, SEEK_SET);
  }
  return 0;
}
"#;

/// The workload built once.
fn lseek_fixture() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("scry-plugin-fixture-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("fx_lseek.c");
        std::fs::write(&src, LSEEK_FIXTURE).unwrap();
        let bin = dir.join("fx_lseek");
        let status = Command::new("cc")
            .args(["-O1", "-o"])
            .arg(&bin)
            .arg(&src)
            .status()
            .expect("cc runs");
        assert!(status.success(), "the lseek fixture builds");
        bin
    })
}

/// What a run of scry gave.
struct Run {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

/// `body` as the probe of the workload's lseek calls.
fn on_lseek(body: &str) -> String {
    format!("tracepoint:syscalls:sys_enter_lseek /pid == cpid/ {{ {body} }}")
}

/// Runs scry with `args` (plugins named by example name, `{NAME}` replaced by its path),
/// the workload `-c 'fx_lseek SPECS'` and `program`.
fn scry(args: &[String], specs: &str, program: &str) -> Run {
    scry_env(args, &[], specs, program)
}

/// [`scry`] with environment variables set.
fn scry_env(args: &[String], env: &[(&str, &str)], specs: &str, program: &str) -> Run {
    let dir = built().expect("the examples are built");
    let args: Vec<String> = args
        .iter()
        .map(|a| match (a.find('{'), a.find('}')) {
            (Some(i), Some(j)) => format!(
                "{}{}{}",
                &a[..i],
                dir.join(format!("{}.wasm", &a[i + 1..j])).display(),
                &a[j + 1..]
            ),
            _ => a.clone(),
        })
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_scry"))
        .envs(env.iter().copied())
        .args(&args)
        .arg("-c")
        .arg(format!("{} {specs}", lseek_fixture().display()))
        .args(["-e", program])
        .output()
        .expect("scry runs");
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// The text after `prefix` on the line starting with it.
fn line_after<'a>(out: &'a str, prefix: &str) -> Option<&'a str> {
    out.lines().find_map(|l| l.strip_prefix(prefix))
}

#[test]
fn quantiles_in_c_and_rust_agree_on_a_syscall_stream() {
    if built().is_none() {
        return;
    }
    let run = scry(
        &strings(&[
            "--plugin",
            "c={quantiles-c}",
            "--plugin",
            "r={quantiles-rs}",
        ]),
        "1..1000",
        &on_lseek("@c = c::quantiles(args->offset); @r = r::quantiles(args->offset);"),
    );
    assert!(run.status.success(), "{}", run.stderr);
    // 1..1000: p50 is 500, p90 900, p99 990, p99.9 999; each estimate within 1/128.
    let want = "n=1000 min=1 p50=501 p90=899 p99=987 p99.9=995 max=1000";
    assert_eq!(
        line_after(&run.stdout, "@c: "),
        Some(want),
        "{}",
        run.stdout
    );
    assert_eq!(
        line_after(&run.stdout, "@r: "),
        Some(want),
        "{}",
        run.stdout
    );
}

#[test]
fn topk_finds_the_heavy_hitters() {
    if built().is_none() {
        return;
    }
    // 7 five hundred times and 3 a hundred times, then 200 values seen once each: more
    // distinct values than counters, so the tail is approximate, the heavy hitters exact.
    let run = scry(
        &strings(&["--plugin", "t={topk}"]),
        "7*250 3*100 1000..1199 7*250",
        &on_lseek("@hot = t::topk(args->offset);"),
    );
    assert!(run.status.success(), "{}", run.stderr);
    let hot = line_after(&run.stdout, "@hot: ").unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(hot.starts_with("7 (500), 3 (100), "), "{hot}");
    assert_eq!(hot.matches(", ").count(), 9, "ten values listed: {hot}");
}

/// A fresh directory to grant.
fn grant_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scry-plugin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The maps the sink tests print: a count per comm and a hist of 1, 2, 3, 4, 5 and 100.
const SINK_PROG: &str = "@calls[comm] = count(); @off = hist(args->offset);";
const SINK_VALUES: &str = "1..5 100";

#[test]
fn prometheus_writes_a_textfile_atomically_into_the_granted_dir() {
    if built().is_none() {
        return;
    }
    let dir = grant_dir("prometheus");
    let grant = format!("p:fs={}", dir.display());
    let run = scry(
        &strings(&["--plugin", "p={prometheus}", "--plugin-allow", &grant]),
        SINK_VALUES,
        &on_lseek(SINK_PROG),
    );
    assert!(run.status.success(), "{}", run.stderr);
    let text = std::fs::read_to_string(dir.join("scry.prom")).expect("scry.prom written");
    assert_eq!(
        text,
        "# TYPE scry_calls gauge\n\
         scry_calls{key=\"fx_lseek\"} 6\n\
         # TYPE scry_off histogram\n\
         scry_off_bucket{le=\"1\"} 1\n\
         scry_off_bucket{le=\"3\"} 3\n\
         scry_off_bucket{le=\"7\"} 5\n\
         scry_off_bucket{le=\"15\"} 5\n\
         scry_off_bucket{le=\"31\"} 5\n\
         scry_off_bucket{le=\"63\"} 5\n\
         scry_off_bucket{le=\"127\"} 6\n\
         scry_off_bucket{le=\"+Inf\"} 6\n\
         scry_off_count 6\n\
         # TYPE scry_lost_events_total counter\n\
         scry_lost_events_total 0\n"
    );
    // Renamed into place: no temporary file left beside it.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["scry.prom"], "only the textfile is left");
}

/// Stats maps, keys of several parts, label values escaped (`\\`, `"`, newline), negative
/// values, and a map of strings left out with one warning (the plugin writes its numbers and
/// labels without `core::fmt`: the same text as with it).
#[test]
fn prometheus_exports_stats_escaped_labels_and_skips_text_maps() {
    if built().is_none() {
        return;
    }
    let dir = grant_dir("prometheus-kinds");
    let grant = format!("p:fs={}", dir.display());
    let program = format!(
        r#"BEGIN {{ @k["a\"b\\c", 2] = count(); @nl["x\ny"] = sum(-5); @t["x"] = "text"; }} {}"#,
        on_lseek("@s = stats(args->offset);")
    );
    let run = scry(
        &strings(&["--plugin", "p={prometheus}", "--plugin-allow", &grant]),
        SINK_VALUES,
        &program,
    );
    assert!(run.status.success(), "{}", run.stderr);
    let text = std::fs::read_to_string(dir.join("scry.prom")).expect("scry.prom written");
    assert_eq!(
        text,
        "# TYPE scry_k gauge\n\
         scry_k{key0=\"a\\\"b\\\\c\",key1=\"2\"} 1\n\
         # TYPE scry_nl gauge\n\
         scry_nl{key=\"x\\ny\"} -5\n\
         # TYPE scry_s_count gauge\n\
         scry_s_count 6\n\
         # TYPE scry_s_average gauge\n\
         scry_s_average 19\n\
         # TYPE scry_s_sum gauge\n\
         scry_s_sum 115\n\
         # TYPE scry_lost_events_total counter\n\
         scry_lost_events_total 0\n"
    );
    assert_eq!(
        run.stderr
            .matches("WARNING: plugin p: @t holds text, not numbers: not exported\n")
            .count(),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn prometheus_is_refused_without_a_granted_dir() {
    if built().is_none() {
        return;
    }
    let run = scry(
        &strings(&["--plugin", "p={prometheus}"]),
        SINK_VALUES,
        &on_lseek(SINK_PROG),
    );
    assert!(!run.status.success(), "{}", run.stdout);
    assert!(
        run.stderr.contains("--plugin-allow p:fs=DIR"),
        "names the grant: {}",
        run.stderr
    );
    assert!(
        !run.stdout.contains("@calls"),
        "nothing ran: {}",
        run.stdout
    );
}

#[test]
fn csv_and_ndjson_write_the_printed_maps() {
    if built().is_none() {
        return;
    }
    let dir = grant_dir("files");
    let csv = format!("c:fs={}", dir.display());
    let ndjson = format!("n:fs={}", dir.display());
    let args = strings(&[
        "--plugin",
        "c={csv}",
        "--plugin-allow",
        &csv,
        "--plugin",
        "n={ndjson}",
        "--plugin-allow",
        &ndjson,
    ]);
    let run = scry(
        &args,
        SINK_VALUES,
        &on_lseek(&format!("{SINK_PROG} printf(\"off %d\\n\", args->offset);")),
    );
    assert!(run.status.success(), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("scry.csv")).unwrap(),
        "map,key,field,value\n\
         @calls,fx_lseek,value,6\n\
         @off,,\"[1,2)\",1\n\
         @off,,\"[2,4)\",2\n\
         @off,,\"[4,8)\",2\n\
         @off,,\"[8,16)\",0\n\
         @off,,\"[16,32)\",0\n\
         @off,,\"[32,64)\",0\n\
         @off,,\"[64,128)\",1\n"
    );
    let ndjson = std::fs::read_to_string(dir.join("scry.ndjson")).unwrap();
    let mut want = String::from("{\"type\": \"attached\", \"probes\": 1}\n");
    for v in [1, 2, 3, 4, 5, 100] {
        want += &format!("{{\"type\": \"printf\", \"text\": \"off {v}\\n\"}}\n");
    }
    want += "{\"type\": \"map\", \"name\": \"@calls\", \"kind\": \"scalar\", \"entries\": [{\"key\": [\"fx_lseek\"], \"value\": 6}]}\n";
    want += "{\"type\": \"map\", \"name\": \"@off\", \"kind\": \"hist\", \"entries\": [{\"key\": [], \"value\": [";
    let buckets = [
        (1, 2, 1),
        (2, 4, 2),
        (4, 8, 2),
        (8, 16, 0),
        (16, 32, 0),
        (32, 64, 0),
        (64, 128, 1),
    ];
    let buckets: Vec<String> = buckets
        .iter()
        .map(|(l, h, c)| format!("{{\"low\": {l}, \"high\": {h}, \"count\": {c}}}"))
        .collect();
    want += &buckets.join(", ");
    want += "]}]}\n";
    assert_eq!(ndjson, want);
}

#[test]
fn sparkline_and_heatmap_draw_a_hist() {
    if built().is_none() {
        return;
    }
    let run = scry(
        &strings(&["--plugin", "h={heatmap}"]),
        "1..5 100 100 100",
        &format!(
            "format @s = h::sparkline; format @m = h::heatmap; {}",
            on_lseek("@s = hist(args->offset); @m[args->offset < 50] = hist(args->offset);")
        ),
    );
    assert!(run.status.success(), "{}", run.stderr);
    // Buckets [1,2) 1, [2,4) 2, [4,8) 2, three empty, [64,128) 3: bars of 3/8, 6/8, 8/8.
    assert!(
        run.stdout.contains("@s: ▃▆▆   █ [1, 128) n=8\n"),
        "{}",
        run.stdout
    );
    // Key 1 (1..5) and key 0 (100 three times): the columns of both, shades of 3.
    assert!(
        run.stdout
            .contains("@m: heatmap of 4 buckets [1, 128), █ = 3\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\n0 |   █|\n"), "{}", run.stdout);
    assert!(run.stdout.contains("\n1 |▒▓▓ |\n"), "{}", run.stdout);
}

#[test]
fn printf_plugin_prints_what_native_printf_prints() {
    if built().is_none() {
        return;
    }
    let program = on_lseek(
        "printf(\"%d %u %x %X %o|%5d|%-5d|%05d|%+d|% d|%.3d|%#x|%#o\\n\", args->offset, \
         args->offset, args->offset, args->offset, args->offset, args->offset, args->offset, \
         args->offset, args->offset, args->offset, args->offset, args->offset, args->offset); \
         printf(\"%ld %lu %lx %hhd %hu %c|%p|%10p|%s|%-10s|%.3s|%8.2s|100%%\\n\", \
         args->offset, args->offset, args->offset, args->offset, args->offset, \
         65 + args->offset % 26, args->offset, args->offset, comm, comm, comm, comm);",
    );
    let specs = "0 1 7 255 256 65535 65536 -1 -128 4294967296 -9223372036854775807 123456789";
    let native = scry(&[], specs, &program);
    assert!(native.status.success(), "{}", native.stderr);
    assert_eq!(
        native
            .stdout
            .lines()
            .filter(|l| l.ends_with("100%"))
            .count(),
        12,
        "{}",
        native.stdout
    );
    // The plugin prints printf in scry's place: every line once, the output identical.
    let plugin = scry(&strings(&["--plugin", "p={printf}"]), specs, &program);
    assert!(plugin.status.success(), "{}", plugin.stderr);
    assert_eq!(plugin.stdout, native.stdout);
}

#[test]
fn the_c_walk_through_quotes_mean_c_whole() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/plugins.md")).unwrap();
    let start = doc.find("### A reducer in C").expect("the walk-through");
    let end = start + doc[start..].find("Build and check it").expect("its end");
    let quoted: Vec<&str> = doc[start..end]
        .split("```c\n")
        .skip(1)
        .flat_map(|block| block.split("```").next().unwrap().lines())
        .filter(|l| !l.trim().is_empty())
        .collect();
    let source = std::fs::read_to_string(root.join("plugins/examples/mean.c")).unwrap();
    let lines: Vec<&str> = source
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        quoted, lines,
        "docs/plugins.md quotes plugins/examples/mean.c as it is"
    );
}

/// A reducer map printed, zeroed and deleted from in the middle of the stream: values 1..1000
/// by parity; at 500, print, zero every key, delete key 1; the rest folds in again.
const RESET_PROG: &str = "@q[args->offset % 2] = q::quantiles(args->offset); \
     if (args->offset == 500) { print(@q); zero(@q); delete(@q[1]); }";

/// The lines of `out` that start with `prefix` (a map's entries).
fn map_lines<'a>(out: &'a str, prefix: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.starts_with(prefix)).collect()
}

/// The answers of [`RESET_PROG`] over 1..1000 (those of the per-event path, ABI 1.0).
const RESET_ANSWER: [&str; 4] = [
    "@q[0]: n=250 min=2 p50=250 p90=449 p99=493 p99.9=497 max=500",
    "@q[1]: n=250 min=1 p50=248 p90=449 p99=493 p99.9=497 max=499",
    "@q[0]: n=250 min=502 p50=747 p90=947 p99=995 p99.9=995 max=1000",
    "@q[1]: n=250 min=501 p50=747 p90=947 p99=995 p99.9=995 max=999",
];

#[test]
fn quantiles_maps_print_zero_and_delete() {
    if built().is_none() {
        return;
    }
    // Counted in the kernel (weighted, rounded), and with a counts map of 4 entries for 1000
    // distinct buckets: most events then find it full and go as records. Same answer, nothing
    // lost.
    for plugin in ["q={quantiles-c}", "q={quantiles-rs}"] {
        for keys_max in ["4096", "4"] {
            let run = scry_env(
                &strings(&["--plugin", plugin]),
                &[("BPFTRACE_MAP_KEYS_MAX", keys_max)],
                "1..1000",
                &on_lseek(RESET_PROG),
            );
            assert!(run.status.success(), "{}", run.stderr);
            assert!(!run.stderr.contains("Lost"), "{}", run.stderr);
            assert_eq!(
                map_lines(&run.stdout, "@q["),
                RESET_ANSWER,
                "{plugin}, {keys_max} keys: {}",
                run.stdout
            );
        }
    }
}

#[test]
fn weighted_quantiles_round_negative_and_huge_values_into_the_sketchs_buckets() {
    if built().is_none() {
        return;
    }
    // Rounded in the kernel to 7 significant bits of the magnitude, the exact extremes kept:
    // the answer the ABI 1.0 per-event path gives for this stream (checked with a 1.0 build
    // of quantiles.c).
    let want = "n=1608 min=-9000000000000000000 p50=-98815 p90=140 p99=285 p99.9=301 \
                max=9000000000000000000";
    for plugin in ["q={quantiles-c}", "q={quantiles-rs}"] {
        let run = scry(
            &strings(&["--plugin", plugin]),
            "-100000..-99000 -5*3 -300..300 7000000000 -9000000000000000000 9000000000000000000",
            &on_lseek("@q = q::quantiles(args->offset);"),
        );
        assert!(run.status.success(), "{}", run.stderr);
        assert_eq!(
            line_after(&run.stdout, "@q: "),
            Some(want),
            "{plugin}: {}",
            run.stdout
        );
    }
}

#[test]
fn weighted_mean_counts_repeated_values_once_per_value() {
    if built().is_none() {
        return;
    }
    // 7 x 1000 and 1000 x 2, interleaved with a print and a clear: the weights add up.
    for plugin in ["m={mean-c}", "m={mean-rs}"] {
        let run = scry(
            &strings(&["--plugin", plugin]),
            "7*1000 2*1000 3 7*500 1*500",
            &on_lseek("@m[args->offset % 2] = m::mean(args->offset); if (args->offset == 3) { print(@m); clear(@m); }"),
        );
        assert!(run.status.success(), "{}", run.stderr);
        assert_eq!(
            map_lines(&run.stdout, "@m["),
            [
                "@m[0]: mean 2, n 1000",
                "@m[1]: mean 6, n 1001",
                "@m[1]: mean 4, n 1000",
            ],
            "{plugin}: {}",
            run.stdout
        );
    }
}

#[test]
fn quantiles_render_json_values_under_f_json() {
    if built().is_none() {
        return;
    }
    let mut args = strings(&["-f", "json", "--plugin", "q={quantiles-c}"]);
    let run = scry(
        &args,
        "1..1000",
        &on_lseek("@q = q::quantiles(args->offset);"),
    );
    assert!(run.status.success(), "{}", run.stderr);
    let want = "{\"type\": \"map\", \"data\": {\"@q\": {\"n\": 1000, \"min\": 1, \"p50\": 501, \
                \"p90\": 899, \"p99\": 987, \"p99.9\": 995, \"max\": 1000}}}";
    assert!(run.stdout.lines().any(|l| l == want), "{}", run.stdout);
    args[3] = "q={quantiles-rs}".into();
    let rust = scry(
        &args,
        "1..1000",
        &on_lseek("@q = q::quantiles(args->offset);"),
    );
    assert_eq!(rust.stdout, run.stdout);
}

#[test]
fn rust_plugins_take_text_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    if built().is_none() {
        return;
    }
    // The workload under a name that is not UTF-8 (started by a shell script, as -c takes
    // text): its comm reaches the plugin as it is.
    let dir = grant_dir("not-utf8");
    std::fs::copy(
        lseek_fixture(),
        dir.join(std::ffi::OsStr::from_bytes(b"fx\xff")),
    )
    .unwrap();
    let script = dir.join("run.sh");
    std::fs::write(
        &script,
        format!("exec \"$(printf '{}/fx\\377')\" 1..3\n", dir.display()),
    )
    .unwrap();
    let grant = format!("p:fs={}", dir.display());
    let plugins = built().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scry"))
        .arg("--plugin")
        .arg(format!("p={}", plugins.join("prometheus.wasm").display()))
        .args(["--plugin-allow", &grant, "-c"])
        .arg(format!("/bin/sh {}", script.display()))
        .args(["-e", &on_lseek("@calls[comm] = count();")])
        .output()
        .expect("scry runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.join("scry.prom")).expect("scry.prom written");
    assert!(
        text.contains("scry_calls{key=\"fx\u{fffd}\"} 3\n"),
        "{text}"
    );
}

/// A Rust reducer that panics at the value 13, built from source against the guest crate.
const PANICKING: &str = r#"
use scry_guest::{Plugin, Result, Updates, Writer};

#[derive(Default)]
struct Boom;

impl Plugin for Boom {
    const DESCRIPTOR: &'static str = "reducer boom(i64)\n";

    fn reduce(&mut self, _item: u32, _map: u32, updates: Updates) -> Result {
        for update in updates {
            if update?.1 == 13 {
                panic!("unlucky value {}", 13);
            }
        }
        Ok(())
    }

    fn render(&mut self, _item: u32, _map: u32, _key: u32, _json: bool, out: &mut Writer) -> Result {
        out.text("fine");
        Ok(())
    }

    fn reset(&mut self, _item: u32, _map: u32, _key: Option<u32>, _keep: bool) -> Result {
        Ok(())
    }
}

scry_guest::plugin!(Boom: reduce, render, reset);
"#;

/// The panicking plugin, built once.
fn panicking_plugin() -> Option<&'static Path> {
    static WASM: OnceLock<Option<PathBuf>> = OnceLock::new();
    WASM.get_or_init(|| {
        let dir = built()?;
        let src = dir.join("boom.rs");
        std::fs::write(&src, PANICKING).unwrap();
        let wasm = dir.join("boom.wasm");
        let status = Command::new("/usr/bin/rustc")
            .args([
                "--edition",
                "2021",
                "--target",
                "wasm32-unknown-unknown",
                "-O",
            ])
            .args(["-C", "panic=abort", "--crate-type", "cdylib", "-L"])
            .arg(dir)
            .arg("--extern")
            .arg(format!(
                "scry_guest={}",
                dir.join("libscry_guest.rlib").display()
            ))
            .arg(&src)
            .arg("-o")
            .arg(&wasm)
            .status()
            .expect("rustc runs");
        assert!(status.success(), "the panicking plugin builds");
        Some(wasm)
    })
    .as_deref()
}

/// Runs the panicking plugin over 1..20.
fn panicking_run() -> Option<Run> {
    let wasm = panicking_plugin()?;
    let program = format!(
        "{} END {{ printf(\"end\\n\"); }}",
        on_lseek("@m = p::boom(args->offset); @n = count();")
    );
    let args = ["--plugin".to_string(), format!("p={}", wasm.display())];
    Some(scry(&args, "1..20", &program))
}

#[test]
fn a_panicking_rust_plugin_ends_the_run_cleanly() {
    let Some(run) = panicking_run() else { return };
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("plugin p: scry_reduce boom failed: it trapped"),
        "{}",
        run.stderr
    );
    // END ran and the kernel maps printed: @n holds at least the events up to the failing
    // one (the kernel counted value 13 before its record was sent); how many of the 20 came
    // before the probes detached depends on scheduling, as after Ctrl-C.
    assert!(run.stdout.contains("end\n"), "{}", run.stdout);
    let n: u64 = (run.stdout.lines())
        .find_map(|l| l.strip_prefix("@n: "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("@n printed: {}", run.stdout));
    assert!((13..=20).contains(&n), "{}", run.stdout);
}

#[test]
fn a_panicking_rust_plugin_says_why() {
    let Some(run) = panicking_run() else { return };
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("scry_reduce boom failed: it trapped"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(
        line.contains("): ") && line.contains("unlucky value 13"),
        "{line}"
    );
}
