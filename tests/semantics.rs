//! Arithmetic and predicate semantics, checked by running the generated code in the kernel:
//! each expression is compiled into `BEGIN { @r = EXPR; }`, run once with BPF_PROG_TEST_RUN,
//! and the map read back. The expected values follow the integer model, docs/integers.md
//! (bpftrace 0.17's rules: unsigned `/`, `%` and `>>`, 64-bit arithmetic, 0/1 comparisons; C's
//! where 0.17 has a bug).

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
    let entries = run(&format!("BEGIN {{ @r = {expr}; }}"));
    match &entries[..] {
        [(_, bits)] => *bits,
        other => panic!("{expr}: {} entries", other.len()),
    }
}

/// Compiles `src`, runs its BEGIN probe in the kernel, and returns the entries of @r: the
/// first key (0 without keys) and the value's 64 bits.
fn run(src: &str) -> Vec<(u64, u64)> {
    let catalog = scry_runtime::LiveCatalog::new();
    let compiled = scry_lang::compile(src, &catalog, &CheckOptions::default());
    let errors: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| &d.message)
        .collect();
    assert!(errors.is_empty(), "{src}: {errors:?}");
    let object = compile(
        &compiled.program,
        &compiled.typed,
        &CompileOptions::default(),
    )
    .unwrap_or_else(|d| panic!("{src}: {}", d.message));
    let sink = sink::new(Format::Text, Output::new(Box::new(std::io::sink())));
    let mut session = Session::new(object, SessionOptions::default(), sink)
        .unwrap_or_else(|e| panic!("{src}: {e}"));
    session.run_special(Trigger::Begin).expect("BEGIN runs");
    let names = RawNames;
    let index = session
        .object
        .user_maps
        .iter()
        .position(|m| m.name == "r")
        .expect("@r");
    let dump = scry_runtime::snapshot::dump(&session.object, &session.loaded, index, &names)
        .expect("read @r");
    let bits = |v: &Value| match v {
        Value::Int(i) => i.bits(),
        other => panic!("{src}: unexpected value {other:?}"),
    };
    dump.entries
        .iter()
        .map(|entry| {
            let key = entry.keys.first().map_or(0, bits);
            match &entry.value {
                MapValue::Plain(v) => (key, bits(v)),
                other => panic!("{src}: unexpected value {other:?}"),
            }
        })
        .collect()
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
        ("(-(uint64)1) > 0", 1),
        ("~(uint32)5", 4294967290),
        ("~(uint8)0", 255),
        ("-(uint8)1", 255),
        ("-(~(uint16)1)", 2),
        ("~(int8)0", u64::MAX),
        ("(!35) > -1", 0),
        ("!(int32)5 - 1 > 0", 1),
        ("(\"a\" == \"a\") > -1", 0),
        ("(1 && (uint64)1) > -1", 0),
        ("(1 && 1) > -1", 1),
        ("(1 ? -1 : (uint64)1) > 0", 0),
        ("(0 ? (uint64)1 : -1) > 0", 1),
        ("18446744073709551615 > 0", 0),
        ("0x8000000000000000 < 0", 1),
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
fn variables_keep_their_first_type() {
    let cases: &[(&str, u64)] = &[
        ("$x = (uint8)255; $x = 1000; @r = $x", 232),
        ("$y = (int8)127; $y++; @r = $y", (-128i64) as u64),
        ("$z = (uint16)65535; $z += 1; @r = $z", 0),
        ("$b = (uint8)0; @r = --$b", 255),
        ("$c = (uint8)255; @r = $c++", 255),
        ("$d = (int16)-1; $d = $d * 1000; @r = $d", (-1000i64) as u64),
        ("$w = 5; $w = (uint8)300; @r = $w", 44),
    ];
    for (stmts, want) in cases {
        assert_eq!(eval(&format!("1; {stmts}")), *want, "{stmts}");
    }
}

#[test]
fn run_time_divisors_and_shift_amounts_follow_bpf() {
    assert_eq!(eval("1; $z = 0; @r = 10 / $z"), 0);
    assert_eq!(eval("1; $z = 0; @r = 10 % $z"), 10);
    // The verifier knows $s is 64 and would refuse an unmasked shift.
    assert_eq!(eval("1; $s = 64; @r = 1 << $s"), 1);
    assert_eq!(eval("1; $s = 65; $v = 8; $v >>= $s; @r = $v"), 4);
}

#[test]
fn maps_first_written_by_compound_assignment_are_unsigned() {
    // The map's signedness decides the comparison: 2^64 - 22 > 0, but -1 < 0.
    assert_eq!(eval("1; @m -= 22; @r = @m > 0"), 1);
    assert_eq!(eval("1; @n--; @r = @n < 0"), 1);
}

/// The property test of integer arithmetic: random constant expressions (the differential
/// fuzzer's generator: literals of every form, casts to every width and sign, every operator)
/// computed in the kernel must equal the integer model's value (the checker's constant
/// folding, `scry_lang::int`).
#[test]
fn random_constant_expressions_match_the_integer_model() {
    const EXPRESSIONS: u64 = 2000;
    const BATCH: u64 = 40;
    let mut failures = Vec::new();
    for first in (0..EXPRESSIONS).step_by(BATCH as usize) {
        let exprs: Vec<String> = (first..first + BATCH)
            .map(scry_fuzz::diff::constant_expression)
            .collect();
        let body: String = exprs
            .iter()
            .enumerate()
            .map(|(i, e)| format!("@r[{i}] = {e}; "))
            .collect();
        let src = format!("BEGIN {{ {body}}}");
        let want = model_values(&src);
        let mut got = run(&src);
        got.sort_unstable();
        for ((i, want), (key, got)) in want.iter().enumerate().zip(&got) {
            assert_eq!(i as u64, *key, "{src}");
            if got != want {
                failures.push(format!("{}: kernel {got}, model {want}", exprs[i]));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The model's value of each `@r[i] = EXPR` of `src`, in order.
fn model_values(src: &str) -> Vec<u64> {
    let compiled = scry_lang::compile(
        src,
        &scry_lang::catalog::MemoryCatalog::default(),
        &CheckOptions::default(),
    );
    let mut values = Vec::new();
    for stmt in &compiled.program.probes[0].body.stmts {
        if let scry_lang::ast::StmtKind::Assign { value, .. } = &stmt.kind {
            let v = compiled.typed.constant(value);
            values.push(v.unwrap_or_else(|| panic!("not a constant: {src}")));
        }
    }
    values
}

#[test]
fn loops_and_variables_run_in_the_kernel() {
    assert_eq!(eval("1; $i = 0; $s = 0; while ($i < 10) { $i++; if ($i == 3) { continue; } $s += $i; if ($i == 8) { break; } } @r = $s"), 33);
}
