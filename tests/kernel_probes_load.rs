//! Programs of probe types this kernel cannot attach (kprobe, kretprobe, hardware) are still
//! generated and loaded through the real verifier: the code generation is tested for real
//! even where attaching is refused.

use scry_ebpf::codegen::{compile, CompileOptions};
use scry_lang::check::CheckOptions;
use scry_runtime::load::{load, LoadOptions};

/// Compiles `src` against the live catalog and loads every program; the error names `src`.
fn loads(src: &str) -> Result<usize, String> {
    let catalog = scry_runtime::LiveCatalog::new();
    let compiled = scry_lang::compile(src, &catalog, &CheckOptions::default());
    let errors: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect();
    if !errors.is_empty() {
        return Err(format!("{src}: {errors:?}"));
    }
    let object = compile(
        &compiled.program,
        &compiled.typed,
        &CompileOptions::default(),
    )
    .map_err(|d| format!("{src}: {}", d.message))?;
    let loaded = load(&object, LoadOptions::default()).map_err(|e| format!("{src}: {e}"))?;
    Ok(loaded.programs.count())
}

#[test]
fn kernel_probe_programs_pass_the_verifier() {
    let seed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/seed/11_vfs_read_latency.bt"),
    )
    .expect("seed program");
    let programs = [
        seed.as_str(),
        "kprobe:vfs_read { @[func, comm] = sum(arg2); @r = reg(\"ip\"); @s = sarg0; @a = arg0 + arg5; }",
        "kprobe:vfs_read { @k[kstack] = count(); @p[kstack(perf, 5)] = count(); @t = curtask->real_parent->tgid; }",
        "kretprobe:vfs_read /retval > 0/ { @h = hist(retval); @c[curtask->comm] = count(); }",
        "kprobe:vfs_read+4 { @ = count(); }",
        "kprobe:vfs_r* { @[probe] = count(); }",
        "hardware:cycles:1000000 { @[cpu] = count(); @k[kstack] = count(); }",
        "hardware:cache-misses:1000000 { @ = count(); }",
    ];
    let failures: Vec<String> = programs.iter().filter_map(|p| loads(p).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
