//! The ABI's imports and exports with their core-wasm signatures, and the check of a module
//! against them at load.

use scry_lang::plugin::{ItemKind, PluginSignature};
use wasmtime::{ExternType, FuncType, Module, ValType};

use crate::grant::Grants;

/// An i32 or i64 in a signature.
#[derive(Clone, Copy, PartialEq, Eq)]
enum T {
    I32,
    I64,
}

/// `(name, params, results)` of every export the ABI knows (besides `memory`).
const EXPORTS: [(&str, &[T], &[T]); 11] = [
    ("scry_plugin", &[], &[T::I64]),
    ("scry_alloc", &[T::I32], &[T::I32]),
    ("scry_init", &[T::I32, T::I32], &[T::I32]),
    ("scry_formats", &[T::I32, T::I32], &[T::I32]),
    ("scry_call", &[T::I32, T::I32, T::I32, T::I32], &[T::I64]),
    (
        "scry_reduce",
        &[T::I32, T::I32, T::I32, T::I32, T::I32],
        &[T::I32],
    ),
    ("scry_render", &[T::I32, T::I32, T::I32, T::I32], &[T::I64]),
    ("scry_reset", &[T::I32, T::I32, T::I32, T::I32], &[T::I32]),
    ("scry_format", &[T::I32, T::I32, T::I32], &[T::I64]),
    ("scry_sink", &[T::I32, T::I32, T::I32], &[T::I32]),
    ("scry_finish", &[], &[T::I32]),
];

/// `(name, params, results)` of every import module `scry` provides.
const IMPORTS: [(&str, &[T], &[T]); 6] = [
    ("log", &[T::I32, T::I32], &[]),
    ("error", &[T::I32, T::I32], &[]),
    ("output", &[T::I32, T::I32], &[]),
    (
        "fs_write",
        &[T::I32, T::I32, T::I32, T::I32, T::I32],
        &[T::I32],
    ),
    ("fs_rename", &[T::I32, T::I32, T::I32, T::I32], &[T::I32]),
    ("exec", &[T::I32, T::I32], &[T::I32]),
];

fn matches(ft: &FuncType, params: &[T], results: &[T]) -> bool {
    let same =
        |v: ValType, t: &T| matches!((v, t), (ValType::I32, T::I32) | (ValType::I64, T::I64));
    ft.params().len() == params.len()
        && ft.results().len() == results.len()
        && ft.params().zip(params).all(|(v, t)| same(v, t))
        && ft.results().zip(results).all(|(v, t)| same(v, t))
}

fn spelled(params: &[T], results: &[T]) -> String {
    let list = |ts: &[T]| {
        ts.iter()
            .map(|t| if *t == T::I32 { "i32" } else { "i64" })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(params), list(results))
}

/// Refuses an import scry does not provide, one of the wrong type, or one not granted.
pub fn check_imports(
    module: &Module,
    name: &str,
    grants: &Grants,
    unsafe_mode: bool,
) -> Result<(), String> {
    for imp in module.imports() {
        let what = format!("{}.{}", imp.module(), imp.name());
        let known = IMPORTS.iter().find(|(n, ..)| *n == imp.name());
        let (Some((_, params, results)), "scry") = (known, imp.module()) else {
            return Err(format!(
                "it imports '{what}', which scry does not provide (a plugin imports only from module 'scry': log, error, output, fs_write, fs_rename, exec; no WASI)"
            ));
        };
        match imp.ty() {
            ExternType::Func(ft) if matches(&ft, params, results) => {}
            _ => {
                return Err(format!(
                    "it imports '{what}' with the wrong type (the ABI's is {})",
                    spelled(params, results)
                ))
            }
        }
        match imp.name() {
            "fs_write" | "fs_rename" if grants.fs.is_none() => {
                return Err(format!(
                    "it imports '{what}', which needs a directory granted: --plugin-allow {name}:fs=DIR"
                ))
            }
            "exec" if !grants.exec => {
                return Err(format!(
                    "it imports '{what}', which needs --plugin-allow {name}:exec and --unsafe"
                ))
            }
            "exec" if !unsafe_mode => {
                return Err(format!(
                    "it imports '{what}': running commands needs --unsafe too"
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Refuses a module without `memory`, `scry_plugin` or `scry_alloc`, or with an ABI export of
/// the wrong type.
pub fn check_exports(module: &Module) -> Result<(), String> {
    if !matches!(module.get_export("memory"), Some(ExternType::Memory(_))) {
        return Err("it does not export its memory as 'memory'".into());
    }
    for (export, params, results) in EXPORTS {
        match module.get_export(export) {
            None if matches!(export, "scry_plugin" | "scry_alloc") => {
                return Err(format!(
                    "it does not export '{export}', which every plugin must"
                ))
            }
            Some(ExternType::Func(ft)) if !matches(&ft, params, results) => {
                return Err(format!(
                    "it exports '{export}' with the wrong type (the ABI's is {})",
                    spelled(params, results)
                ))
            }
            Some(ExternType::Func(_)) | None => {}
            Some(_) => return Err(format!("its export '{export}' is not a function")),
        }
    }
    Ok(())
}

/// Refuses a descriptor whose items need exports the module does not have.
pub fn check_items(module: &Module, sig: &PluginSignature) -> Result<(), String> {
    let mut needs: Vec<(&str, String)> = Vec::new();
    for item in &sig.items {
        let exports: &[&str] = match item.kind {
            ItemKind::Function { .. } => &["scry_call"],
            ItemKind::Reducer(..) => &["scry_reduce", "scry_render", "scry_reset"],
            ItemKind::Formatter(_) => &["scry_format"],
        };
        needs.extend(exports.iter().map(|e| (*e, item.to_string())));
    }
    if sig.sink.is_some() {
        needs.push(("scry_sink", "a sink".into()));
    }
    for (export, why) in needs {
        if module.get_export(export).is_none() {
            return Err(format!("it declares {why} but does not export '{export}'"));
        }
    }
    Ok(())
}
