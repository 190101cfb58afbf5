//! The example plugins (plugins/examples): each is built from source by
//! scripts/build-plugins.sh, and its module checked against ABI 1.0 (docs/plugins.md): the
//! hooks it exports with their exact signatures, and its imports (module `scry` only, each
//! with its signature, and only the ones its role needs).
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

/// ABI 1.0's export signatures.
fn export_signature(name: &str) -> &'static str {
    match name {
        "scry_plugin" => "() -> i64",
        "scry_alloc" => "(i32) -> i32",
        "scry_init" => "(i32, i32) -> i32",
        "scry_call" => "(i32, i32, i32, i32) -> i64",
        "scry_reduce" => "(i32, i32, i32, i32, i32) -> i32",
        "scry_render" => "(i32, i32, i32, i32) -> i64",
        "scry_reset" => "(i32, i32, i32, i32) -> i32",
        "scry_format" => "(i32, i32, i32) -> i64",
        "scry_sink" => "(i32, i32, i32) -> i32",
        "scry_finish" => "() -> i32",
        other => panic!("{other} is not a hook of ABI 1.0"),
    }
}

/// ABI 1.0's import signatures (module `scry`).
fn import_signature(name: &str) -> &'static str {
    match name {
        "scry.log" | "scry.error" | "scry.output" => "(i32, i32) -> nil",
        "scry.fs_write" => "(i32, i32, i32, i32, i32) -> i32",
        "scry.fs_rename" => "(i32, i32, i32, i32) -> i32",
        "scry.exec" => "(i32, i32) -> i32",
        other => panic!("{other} is not an import of ABI 1.0"),
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
    for needle in ["abi 1.0\n", descriptor] {
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
        "reducer quantiles(i64)\n",
        &["reduce", "render", "reset"],
        &["error"],
    );
}

#[test]
fn quantiles_in_rust_exports_a_reducer() {
    check(
        "quantiles-rs",
        "reducer quantiles(i64)\n",
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
        &["init", "sink"],
        &["error", "output"],
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
        check(name, "reducer mean(i64)\n", &["reduce", "render", "reset"], &["error"]);
    }
}
