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

/// The property test of pointer and C data arithmetic: random programs over typed pointers
/// (every integer width and sign, and a struct) walked with `+`, `-`, `+=`, `-=`, `++` and
/// `--` on variables and maps, pointer differences, and reads through pointers, array indexes
/// (constant, negative and run-time, two dimensions) and struct fields of kernel memory that
/// does not change (read-only data), in place or from copies of structs in variables and maps
/// (half the programs outgrow the BPF stack and run over a scratch map), computed in the
/// kernel must equal a C model of the same program.
#[test]
fn random_pointer_programs_match_a_c_model() {
    const PROGRAMS: u64 = 120;
    const PER_PROGRAM: usize = 20;
    let memory = rodata(256);
    assert!(
        memory.iter().any(|&b| b != 0),
        "read-only data reads as zeros"
    );
    let mut failures = Vec::new();
    let mut cases = 0;
    for seed in 0..PROGRAMS {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed);
        let generated: Vec<(String, u64)> = (0..PER_PROGRAM)
            .map(|i| pointer_case(&mut rng, i, &memory))
            .collect();
        let body: String = generated.iter().map(|(s, _)| s.as_str()).collect();
        // Every other program holds 500 bytes more: its frame is a scratch map.
        let pad = if seed % 2 == 0 {
            format!("$pad = *(struct pad *){RODATA}; ")
        } else {
            String::new()
        };
        let src = format!("{C_STRUCT} struct pad {{ char b[500]; }} BEGIN {{ {pad}{body} }}");
        let mut got = run(&src);
        got.sort_unstable();
        assert_eq!(got.len(), PER_PROGRAM, "{src}");
        for ((stmts, want), (_, got)) in generated.iter().zip(&got) {
            cases += 1;
            if got != want {
                failures.push(format!("{stmts}: kernel {got:#x}, model {want:#x}"));
            }
        }
    }
    assert!(cases >= 2000);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The struct the generated programs read: `s` of `SIZE` bytes, with its fields' offsets.
const C_STRUCT: &str = "struct s { char a; int b; short c[3]; int g[2][2]; unsigned long d; };";
const S_SIZE: u64 = 40;

/// Where the read-only data the programs read starts.
const RODATA: &str = "kaddr(\"__start_rodata\")";

/// The first `n` bytes of the kernel's read-only data, read one byte at a time.
fn rodata(n: u64) -> Vec<u8> {
    let src = format!(
        "BEGIN {{ $b = (uint8 *){RODATA}; $i = 0; while ($i < {n}) {{ @r[$i] = $b[$i]; $i++; }} }}"
    );
    let mut bytes = run(&src);
    bytes.sort_unstable();
    bytes.into_iter().map(|(_, b)| b as u8).collect()
}

/// A small deterministic random number generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Integer types: (name, size, signed).
const INTS: &[(&str, u64, bool)] = &[
    ("int8", 1, true),
    ("uint8", 1, false),
    ("int16", 2, true),
    ("uint16", 2, false),
    ("int32", 4, true),
    ("uint32", 4, false),
    ("int64", 8, true),
    ("uint64", 8, false),
];

/// The C value of the integer of `size` bytes at `offset` of `memory`, as 64 bits.
fn c_int(memory: &[u8], offset: u64, size: u64, signed: bool) -> u64 {
    let mut raw = 0u64;
    for i in 0..size {
        raw |= u64::from(memory[(offset + i) as usize]) << (8 * i);
    }
    let shift = 64 - 8 * size as u32;
    if signed {
        (((raw << shift) as i64) >> shift) as u64
    } else {
        raw
    }
}

/// One generated case `i`: statements ending in `@r[i] = ...;`, and the value C gives.
fn pointer_case(rng: &mut Rng, i: usize, memory: &[u8]) -> (String, u64) {
    let (ty, size, _) = INTS[rng.below(INTS.len() as u64) as usize];
    // The struct is a pointee too.
    let (ty, size) = if rng.below(5) == 0 {
        ("struct s", S_SIZE)
    } else {
        (ty, size)
    };
    match rng.below(5) {
        // A pointer variable walked by whole elements.
        0 | 1 => {
            let base = rng.below(1 << 40);
            let mut s = format!("$p{i} = ({ty} *){base}; ");
            let mut at = base as i64;
            for _ in 0..rng.below(6) {
                let k = rng.below(50) as i64;
                let (stmt, delta) = match rng.below(7) {
                    0 => (format!("$p{i} += {k}; "), k),
                    1 => (format!("$p{i} -= {k}; "), -k),
                    2 => (format!("$p{i}++; "), 1),
                    3 => (format!("--$p{i}; "), -1),
                    4 => (format!("$p{i} = $p{i} + {k}; "), k),
                    5 => (format!("$p{i} = {k} + $p{i}; "), k),
                    _ => (format!("$p{i} = $p{i} - {k}; "), -k),
                };
                s.push_str(&stmt);
                at = at.wrapping_add(delta.wrapping_mul(size as i64));
            }
            // The address itself, or the elements between it and the start.
            if rng.below(2) == 0 {
                s.push_str(&format!("@r[{i}] = (uint64)$p{i};"));
                (s, at as u64)
            } else {
                s.push_str(&format!("@r[{i}] = $p{i} - ({ty} *){base};"));
                (s, ((at - base as i64) / size as i64) as u64)
            }
        }
        // A pointer in a map walked the same way (one map per pointee type).
        2 => {
            let map = format!("@m_{}", ty.replace(' ', "_"));
            let base = rng.below(1 << 40);
            let mut s = format!("{map}[{i}] = ({ty} *){base}; ");
            let mut at = base as i64;
            for _ in 0..1 + rng.below(4) {
                let k = rng.below(50) as i64;
                let (stmt, delta) = match rng.below(4) {
                    0 => (format!("{map}[{i}] += {k}; "), k),
                    1 => (format!("{map}[{i}] -= {k}; "), -k),
                    2 => (format!("{map}[{i}]++; "), 1),
                    _ => (format!("{map}[{i}]--; "), -1),
                };
                s.push_str(&stmt);
                at = at.wrapping_add(delta.wrapping_mul(size as i64));
            }
            s.push_str(&format!("@r[{i}] = (uint64){map}[{i}];"));
            (s, at as u64)
        }
        // An integer read through a pointer: p[k], *(p + k), a walked pointer indexed.
        3 => {
            let (ty, size, signed) = INTS[rng.below(INTS.len() as u64) as usize];
            let count = memory.len() as u64 / size;
            let k = rng.below(count);
            let expr = match rng.below(4) {
                0 => format!("(({ty} *){RODATA})[{k}]"),
                1 => format!("*(({ty} *){RODATA} + {k})"),
                // A negative index from a pointer past the element.
                2 => {
                    let j = rng.below(count - k) + 1;
                    format!("(({ty} *){RODATA} + {})[-{j}]", k + j)
                }
                _ => {
                    let j = rng.below(k + 1);
                    format!("(({ty} *){RODATA} + {j})[$k{i} - {j}]")
                }
            };
            let s = format!("$k{i} = {k}; @r[{i}] = {expr};");
            (s, c_int(memory, k * size, size, signed))
        }
        // A field of a struct in an array of structs, read in memory or from a copy of the
        // struct in a variable or a map: constant and run-time indexes.
        _ => {
            let n = rng.below(memory.len() as u64 / S_SIZE);
            let element = format!("((struct s *){RODATA})[{n}]");
            let (prefix, base) = match rng.below(3) {
                0 => (String::new(), element),
                1 => (format!("$v{i} = {element}; "), format!("$v{i}")),
                _ => (format!("@v[{i}] = {element}; "), format!("@v[{i}]")),
            };
            let at = n * S_SIZE;
            let (expr, offset, size, signed) = match rng.below(5) {
                0 => (format!("{base}.a"), 0, 1, true),
                1 => (format!("{base}.b"), 4, 4, true),
                2 => {
                    let c = rng.below(3);
                    (
                        format!("$j{i} = {c}; @r[{i}] = {base}.c[$j{i}]"),
                        8 + 2 * c,
                        2,
                        true,
                    )
                }
                3 => {
                    let (x, y) = (rng.below(2), rng.below(2));
                    (format!("{base}.g[{x}][{y}]"), 16 + 8 * x + 4 * y, 4, true)
                }
                _ => (format!("{base}.d"), 32, 8, false),
            };
            let s = if expr.contains("@r[") {
                format!("{prefix}{expr};")
            } else {
                format!("{prefix}@r[{i}] = {expr};")
            };
            (s, c_int(memory, at + offset, size, signed))
        }
    }
}
