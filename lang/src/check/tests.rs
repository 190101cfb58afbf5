use super::*;
use crate::catalog::MemoryCatalog;
use crate::types::Agg;

fn catalog() -> MemoryCatalog {
    let mut c = MemoryCatalog::new();
    c.add_tracepoint(
        "syscalls",
        "sys_enter_openat",
        "ID: 1\nformat:\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n",
    );
    c
}

fn check_src(src: &str) -> (TypedProgram, Vec<Diagnostic>) {
    let (p, d) = crate::parse(src);
    assert!(d.is_empty(), "{d:?}");
    check(&p, &catalog(), &CheckOptions::default())
}

fn errors(src: &str) -> Vec<String> {
    check_src(src)
        .1
        .into_iter()
        .filter(|d| d.is_error())
        .map(|d| d.message)
        .collect()
}

#[test]
fn map_types_are_inferred_from_later_probes() {
    let (t, d) = check_src("BEGIN { $x = @a; } END { @a = 1; @b[\"k\", 2] = count(); }");
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(t.maps["a"].value, Type::I64);
    assert_eq!(t.maps["b"].keys, vec![Type::Str(2), Type::I64]);
    assert_eq!(t.maps["b"].value, Type::Agg(Agg::Count));
}

#[test]
fn tracepoint_args_are_typed() {
    let (t, d) = check_src("tracepoint:syscalls:sys_enter_openat { @[comm] = count(); printf(\"%s\\n\", str(args->filename)); }");
    assert!(d.is_empty(), "{d:?}");
    assert!(t.probes[0].attaches[0].name == "tracepoint:syscalls:sys_enter_openat");
    assert_eq!(t.formats.len(), 1);
}

#[test]
fn mismatches_are_errors() {
    assert_eq!(
        errors("BEGIN { @x = 1; @x = \"a\"; }"),
        ["Type mismatch for @x: trying to assign value of type 'string[2]' when map already contains a value of type 'int64'"]
    );
    assert_eq!(
        errors("BEGIN { @x = count(); @x++; }"),
        ["The ++ operator can not be used on expressions of type 'count'"]
    );
    assert_eq!(errors("BEGIN { print(retval); }"), ["The retval builtin can only be used with 'kretprobe', 'uretprobe' and 'kretfunc' probes"]);
    assert_eq!(
        errors("BEGIN { printf(\"%d\\n\"); }"),
        ["printf: Not enough arguments for format string (0 supplied, 1 expected)"]
    );
    assert_eq!(
        errors("BEGIN { $y; }"),
        ["Undefined or undeclared variable: $y"]
    );
}
