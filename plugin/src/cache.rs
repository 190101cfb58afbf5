//! The compiled-module cache: a plugin's machine code, compiled once by Cranelift, kept under
//! `$XDG_CACHE_HOME/scry/plugins` (`~/.cache/scry/plugins`) and loaded again in well under a
//! millisecond instead of compiled (tens of milliseconds).
//!
//! A file is named by the SHA-256 of the wasm bytes and a hash of what makes compiled code
//! compatible (the wasmtime version and the engine's settings,
//! [`Engine::precompile_compatibility_hash`]). It holds a magic line, the SHA-256 of the
//! compiled bytes, then the bytes ([`Module::serialize`]). A file is used only when its
//! directory and itself belong to the user scry runs as and nobody else may write them, and
//! its digest matches; wasmtime then checks its own header (version, settings). Anything else
//! (missing, foreign, truncated, corrupted, unreadable) means compiling, and the file is
//! written again (to a temporary name, then renamed). A cache that cannot be written is
//! skipped in silence: it only saves time.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

/// The first bytes of a cache file.
const MAGIC: &[u8] = b"scry compiled plugin 1\n";

/// The cache directory: `$XDG_CACHE_HOME/scry/plugins`, else `$HOME/.cache/scry/plugins`.
pub fn default_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".cache"),
    };
    Some(base.join("scry").join("plugins"))
}

/// The module of `wasm`: from the cache in `dir` when a valid entry is there, else compiled
/// (and stored in `dir`).
pub fn module(engine: &Engine, wasm: &[u8], dir: Option<&Path>) -> wasmtime::Result<Module> {
    let Some(dir) = dir else {
        return Module::from_binary(engine, wasm);
    };
    let path = dir.join(file_name(engine, wasm));
    if let Some(module) = cached(engine, dir, &path) {
        return Ok(module);
    }
    let module = Module::from_binary(engine, wasm)?;
    if let Ok(compiled) = module.serialize() {
        let _ = store(dir, &path, &compiled);
    }
    Ok(module)
}

/// `SHA256(wasm)-COMPAT`, in hex.
fn file_name(engine: &Engine, wasm: &[u8]) -> String {
    let mut compat = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut compat);
    format!(
        "{}-{:016x}.cwasm",
        hex(&Sha256::digest(wasm)),
        compat.finish()
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The module in the cache file at `path`, if the file is ours, intact and wasmtime takes it.
fn cached(engine: &Engine, dir: &Path, path: &Path) -> Option<Module> {
    if !private(dir) || !private(path) {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let rest = bytes.strip_prefix(MAGIC)?;
    let (digest, compiled) = rest.split_at_checked(32)?;
    if Sha256::digest(compiled).as_slice() != digest {
        return None;
    }
    deserialize(engine, compiled)
}

/// Compiled code that this engine produced (a file written by [`store`] whose digest
/// matched), as a module; `None` when wasmtime refuses it.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, compiled: &[u8]) -> Option<Module> {
    // SAFETY: `Module::deserialize` requires bytes that `Module::serialize` produced, as
    // machine code is not validated. These bytes are exactly what `store` wrote from
    // `Module::serialize`: the file and its directory are owned by this user and writable by
    // nobody else (`private`), and the SHA-256 stored ahead of them matches, so neither
    // another user nor a damaged file can substitute code. wasmtime checks that they were
    // compiled by this version with compatible settings and returns an error otherwise.
    unsafe { Module::deserialize(engine, compiled) }.ok()
}

/// Whether `path` belongs to the user scry runs as and only that user may write it.
fn private(path: &Path) -> bool {
    let (Ok(me), Ok(meta)) = (
        std::fs::metadata("/proc/self"),
        std::fs::symlink_metadata(path),
    ) else {
        return false;
    };
    meta.uid() == me.uid() && meta.mode() & 0o022 == 0
}

/// Writes a cache file: to a temporary name in `dir` (created private), then renamed.
fn store(dir: &Path, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    let written = f
        .write_all(MAGIC)
        .and_then(|()| f.write_all(&Sha256::digest(compiled)))
        .and_then(|()| f.write_all(compiled))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAT: &str = r#"(module (func (export "twice") (param i32) (result i32)
        (i32.mul (local.get 0) (i32.const 2))))"#;

    fn twice(engine: &Engine, module: &Module) -> i32 {
        let mut store = wasmtime::Store::new(engine, ());
        let instance = wasmtime::Instance::new(&mut store, module, &[]).unwrap();
        let f = instance
            .get_typed_func::<i32, i32>(&mut store, "twice")
            .unwrap();
        f.call(&mut store, 21).unwrap()
    }

    fn only_file(dir: &Path) -> PathBuf {
        let files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files[0].clone()
    }

    #[test]
    fn compiled_once_then_loaded_and_a_bad_file_is_compiled_again() {
        let dir = std::env::temp_dir().join(format!("scry-cache-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cache = dir.join("plugins");
        let engine = Engine::default();
        let wasm = wat::parse_str(WAT).unwrap();
        let m = module(&engine, &wasm, Some(&cache)).unwrap();
        assert_eq!(twice(&engine, &m), 42);
        let file = only_file(&cache);
        assert_eq!(std::fs::metadata(&cache).unwrap().mode() & 0o777, 0o700);
        let good = std::fs::read(&file).unwrap();
        assert!(cached(&engine, &cache, &file).is_some());
        // Corrupted (one byte of code flipped), truncated, foreign bytes, group-writable:
        // each is compiled again, and the entry is written again whole.
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        for bad in [
            flipped,
            good[..good.len() / 2].to_vec(),
            b"\x7fELF junk".to_vec(),
        ] {
            std::fs::write(&file, &bad).unwrap();
            assert!(cached(&engine, &cache, &file).is_none());
            let m = module(&engine, &wasm, Some(&cache)).unwrap();
            assert_eq!(twice(&engine, &m), 42);
            assert_eq!(std::fs::read(&file).unwrap(), good);
        }
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .unwrap();
        assert!(cached(&engine, &cache, &file).is_none());
        // Another engine setting is another entry.
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let other = Engine::new(&config).unwrap();
        assert_ne!(file_name(&engine, &wasm), file_name(&other, &wasm));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
