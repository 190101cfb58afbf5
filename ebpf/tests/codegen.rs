//! Codegen snapshots: the instructions generated for each construct.
//!
//! Every `tests/codegen/NAME.bt` holds a program, a line `==== expected ====`, then the
//! disassembly of every program it compiles to, each instruction under the source line it came
//! from. The runner is `scry_cases` (`SCRY_BLESS=1 cargo test -p scry-ebpf --test codegen`
//! rewrites the expected sections).
//! Adding a case is adding a file.

#[path = "../../lang/tests/common/mod.rs"]
mod common;

use std::path::Path;

use scry_ebpf::codegen::{compile, CompileOptions};
use scry_lang::check::CheckOptions;

/// The environment of every case: plugin `q` with a reducer of each folding (ABI 1.1).
fn environment() -> scry_lang::check::Environment {
    use scry_lang::plugin::{Folding, Item, ItemKind, PluginSignature, PluginType};
    let reducer = |name: &str, folding| Item {
        name: name.into(),
        kind: ItemKind::Reducer(PluginType::I64, folding),
    };
    let mut env = scry_lang::check::Environment::default();
    env.set_plugins(
        [(
            "q".into(),
            PluginSignature {
                items: vec![
                    reducer("each", Folding::PerEvent),
                    reducer("weighted", Folding::Weighted),
                    reducer("rounded", Folding::Rounded(7)),
                ],
                sink: None,
            },
        )]
        .into(),
    );
    env
}

/// The disassembly of every program of `src`.
fn generate(src: &str) -> String {
    let catalog = common::catalog();
    let compiled = scry_lang::compile_in(src, &catalog, &CheckOptions::default(), &environment());
    let errors: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let object = compile(
        &compiled.program,
        &compiled.typed,
        &CompileOptions::default(),
    )
    .unwrap_or_else(|d| panic!("{}", d.message));
    let mut out = String::new();
    for (i, p) in object.programs.iter() {
        let names: Vec<&str> = p.attaches.iter().map(|a| a.name.as_str()).collect();
        out.push_str(&format!(
            "== {} {:?} {}\n",
            p.name,
            p.prog_type,
            names.join(", ")
        ));
        out.push_str(&object.disassemble(i, src));
    }
    out
}

#[test]
fn codegen_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/codegen");
    scry_cases::golden::suite("codegen", &dir, "bt", |_, program| Ok(generate(program)));
}

/// A program compiled again over a scratch map keeps nothing of its first attempt: one printf
/// action, one scratch map sized to what the frame used.
#[test]
fn scratch_frame_rewinds_the_first_attempt() {
    let src =
        "struct big { long a[80]; } BEGIN { $b = *(struct big *)0; printf(\"%d\\n\", $b.a[79]); }";
    let catalog = common::catalog();
    let compiled = scry_lang::compile(src, &catalog, &CheckOptions::default());
    let object = compile(
        &compiled.program,
        &compiled.typed,
        &CompileOptions::default(),
    )
    .unwrap_or_else(|d| panic!("{}", d.message));
    assert_eq!(object.actions.count(), 1);
    let scratch: Vec<_> = object
        .maps
        .iter()
        .filter(|m| m.name.starts_with("scratch"))
        .collect();
    assert_eq!(scratch.len(), 1);
    assert!(
        (640..1024).contains(&scratch[0].value_size),
        "{:?}",
        scratch[0]
    );
}

/// A function registered from outside the language checks as its signature says, and its
/// call is refused at its span until its registrant compiles it (never compiled silently).
#[test]
fn registered_functions_are_refused_at_their_span() {
    use scry_lang::functions::{Arg, Gen, Probes, Returns, Rule, Signature};
    use std::borrow::Cow;
    let mut env = scry_lang::check::Environment::default();
    env.register_function(Signature {
        name: "quantile".into(),
        min_args: 1,
        max_args: 1,
        args: Cow::Owned(vec![Arg::Int]),
        probes: Probes::Any,
        needs_unsafe: false,
        returns: Returns::Type(scry_lang::types::Type::I64),
        rule: Rule::None,
        gen: Gen::External,
        plugin: None,
    })
    .unwrap();
    let src = "BEGIN { @q = quantile(5); }";
    let compiled = scry_lang::compile_in(src, &common::catalog(), &CheckOptions::default(), &env);
    assert!(compiled.ok(), "{:?}", compiled.diagnostics);
    let err = compile(
        &compiled.program,
        &compiled.typed,
        &CompileOptions::default(),
    )
    .expect_err("no code generation for a registered function yet");
    assert_eq!(err.message, "quantile() is not supported here yet");
    assert_eq!(&src[err.span.start..err.span.end], "quantile(5)");
}
