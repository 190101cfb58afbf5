//! Arithmetic and predicate semantics, checked by running the generated code in the kernel:
//! each expression is compiled into `BEGIN { @r = EXPR; }`, run once with BPF_PROG_TEST_RUN,
//! and the map read back. The expected values follow bpftrace 0.17 (unsigned `/`, `%` and
//! `>>`, 64-bit arithmetic, 0/1 comparisons).

use scry_ebpf::codegen::{compile, CompileOptions};
use scry_ebpf::object::Trigger;
use scry_lang::check::CheckOptions;
use scry_runtime::session::{Session, SessionOptions};
use scry_stdlib::map::MapValue;
use scry_stdlib::names::RawNames;
use scry_stdlib::sink::{self, Format, Output};
use scry_stdlib::value::Value;

/// Runs `BEGIN { @r = EXPR; }` in the kernel and returns @r's 64 bits.
fn eval(expr: &str) -> u64 {
    let src = format!("BEGIN {{ @r = {expr}; }}");
    let catalog = scry_runtime::LiveCatalog::new();
    let compiled = scry_lang::compile(&src, &catalog, &CheckOptions::default());
    let errors: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| &d.message)
        .collect();
    assert!(errors.is_empty(), "{expr}: {errors:?}");
    let object = compile(
        &compiled.program,
        &compiled.typed,
        &CompileOptions::default(),
    )
    .unwrap_or_else(|d| panic!("{expr}: {}", d.message));
    let sink = sink::new(Format::Text, Output::new(Box::new(std::io::sink())));
    let mut session = Session::new(object, SessionOptions::default(), sink)
        .unwrap_or_else(|e| panic!("{expr}: {e}"));
    session.run_special(Trigger::Begin).expect("BEGIN runs");
    let names = RawNames;
    let dump =
        scry_runtime::snapshot::dump(&session.object, &session.loaded, 0, &names).expect("read @r");
    match &dump.entries[..] {
        [entry] => match &entry.value {
            MapValue::Plain(Value::Int(i)) => i.bits(),
            other => panic!("{expr}: unexpected value {other:?}"),
        },
        other => panic!("{expr}: {} entries", other.len()),
    }
}

#[test]
fn integer_semantics_match_bpftrace() {
    let cases: &[(&str, u64)] = &[
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 20", (-10i64) as u64),
        ("-7 / 2", 9223372036854775804),
        ("-7 % 3", ((-7i64) as u64 % 3)),
        ("-1 >> 1", 9223372036854775807),
        ("1 << 40", 1 << 40),
        ("0xff & 0x0f | 0x100", 0x10f),
        ("6 ^ 3", 5),
        ("~0", u64::MAX),
        ("!5", 0),
        ("!0", 1),
        ("5 > 3", 1),
        ("3 > 5", 0),
        ("-1 < 0", 1),
        ("2 >= 2 && 1 <= 0", 0),
        ("0 || 7", 1),
        ("(uint8)300", 44),
        ("(int8)200", (-56i64) as u64),
        ("(uint16)70000", 70000 % 65536),
        ("(int32)0xffffffff", u64::MAX),
        ("(uint32)-1", 0xffff_ffff),
        ("1 ? 2 : 3", 2),
        ("0 ? 2 : 3", 3),
        ("10 / (1 - 1)", 0),
        ("0x7fffffffffffffff + 1", 1 << 63),
        ("1e3 + 1_000 + 010", 2008),
        ("\"abc\" == \"abc\"", 1),
        ("\"abc\" != \"abd\"", 1),
        ("\"ab\" == \"abc\"", 0),
        ("sizeof(\"abc\")", 4),
        ("bswap((uint16)0x1234)", 0x3412),
    ];
    let mut failures = Vec::new();
    for (expr, want) in cases {
        let got = eval(expr);
        if got != *want {
            failures.push(format!(
                "{expr}: got {got} ({}), want {want} ({})",
                got as i64, *want as i64
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn loops_and_variables_run_in_the_kernel() {
    assert_eq!(eval("1; $i = 0; $s = 0; while ($i < 10) { $i++; if ($i == 3) { continue; } $s += $i; if ($i == 8) { break; } } @r = $s"), 33);
}
