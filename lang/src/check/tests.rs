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
    c.add_kernel_symbol("vfs_read", 0xffff_ffff_8100_1000);
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

#[test]
fn kaddr_is_a_compile_time_constant() {
    let (t, d) = check_src("BEGIN { @ = kaddr(\"vfs_read\"); }");
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(
        t.constants.values().copied().collect::<Vec<_>>(),
        [0xffff_ffff_8100_1000]
    );
    assert_eq!(
        errors("BEGIN { @ = kaddr(\"nope\"); }"),
        ["Failed to resolve kernel symbol: nope"]
    );
}

#[test]
fn kernel_structs_come_from_the_catalog() {
    let mut c = catalog();
    c.add_kernel_record(
        "struct task_struct",
        crate::cdefs::CRecord {
            size: 64,
            align: 8,
            fields: vec![
                crate::cdefs::CField {
                    name: "comm".into(),
                    // The catalog gives C char arrays as strings.
                    ty: Type::Str(16),
                    offset: 0,
                    bitfield: None,
                },
                crate::cdefs::CField {
                    name: "pid".into(),
                    ty: Type::Int {
                        bits: 32,
                        signed: true,
                    },
                    offset: 16,
                    bitfield: None,
                },
            ],
        },
    );
    let src = "BEGIN { @c = curtask->comm; @p = ((struct task_struct *)0)->pid; @s = sizeof(struct task_struct); }";
    let (p, d) = crate::parse(src);
    assert!(d.is_empty(), "{d:?}");
    let (t, d) = check(&p, &c, &CheckOptions::default());
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(t.maps["c"].value, Type::Str(16));
    // Integer map values are 64-bit, of the value's signedness (docs/integers.md).
    assert_eq!(t.maps["p"].value, Type::I64);
    // The code generator finds the kernel's record with the preamble's.
    assert_eq!(t.cdefs.records["struct task_struct"].size, 64);
    let (p, _) = crate::parse("BEGIN { @x = curtask->nope; }");
    let (_, d) = check(&p, &c, &CheckOptions::default());
    assert_eq!(
        d[0].message,
        "Struct/union of type 'struct task_struct' does not contain a field named 'nope'"
    );
}

#[test]
fn kernel_enumerators_and_records_the_preamble_holds() {
    let mut c = catalog();
    let pair = crate::cdefs::CRecord {
        size: 8,
        align: 4,
        fields: vec![crate::cdefs::CField {
            name: "m".into(),
            ty: Type::Int {
                bits: 32,
                signed: true,
            },
            offset: 4,
            bitfield: None,
        }],
    };
    c.add_kernel_enum("BTF_VAR_STATIC", 0)
        .add_kernel_record("struct pair", pair.clone())
        .add_binary(
            "/bin/app",
            vec![crate::catalog::UserSymbol {
                name: "main".into(),
                address: 0x1000,
                size: 16,
                is_function: true,
            }],
            vec![],
        )
        .add_user_record("/bin/app", "struct point", pair);
    let src = "struct foo { char c; struct pair p; }
        BEGIN { @e = BTF_VAR_STATIC; @s = sizeof(struct foo); }
        uprobe:/bin/app:main { @m = ((struct point *)arg0)->m; @f = ((struct foo *)arg0)->p.m; }";
    let (p, d) = crate::parse(src);
    assert!(d.is_empty(), "{d:?}");
    let (t, d) = check(&p, &c, &CheckOptions::default());
    assert!(d.iter().all(|d| !d.is_error()), "{d:?}");
    assert_eq!(t.maps["e"].value, Type::I64);
    // The preamble's struct holds the kernel's by value; the uprobe's binary defines its own.
    assert_eq!(t.cdefs.records["struct foo"].size, 12);
    assert_eq!(t.cdefs.records["struct foo"].fields[1].offset, 4);
    assert!(t.cdefs.records.contains_key("struct point"));
    assert_eq!(t.maps["m"].value, Type::I64);
}

/// A function registered in the environment (as a plugin's would be) is checked from its
/// signature as a builtin is: arity, argument kinds, probe kinds, result type, "did you mean".
#[test]
fn registered_functions_are_checked_from_their_signature() {
    use crate::functions::{Arg, Gen, Probes, Returns, Rule, Signature};
    use std::borrow::Cow;
    let mut env = Environment::default();
    let sig = Signature {
        name: "quantile".into(),
        min_args: 1,
        max_args: 2,
        args: Cow::Owned(vec![Arg::Int, Arg::Str]),
        probes: Probes::NotBeginEnd,
        needs_unsafe: false,
        returns: Returns::Type(Type::I64),
        rule: Rule::None,
        gen: Gen::External,
        plugin: None,
    };
    env.register_function(sig.clone()).unwrap();
    assert!(env.register_function(sig).is_err());
    let mut printf = crate::functions::builtin("printf").unwrap().clone();
    printf.gen = Gen::External;
    assert!(env.register_function(printf).is_err());

    let check_env = |src: &str| {
        let (p, d) = crate::parse(src);
        assert!(d.is_empty(), "{d:?}");
        check_in(&p, &catalog(), &CheckOptions::default(), &env)
    };
    let (t, d) = check_env("tracepoint:syscalls:sys_enter_openat { @q = quantile(1, \"p99\"); }");
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(t.maps["q"].value, Type::I64);
    assert!(t.calls.values().all(|g| *g == Gen::External));
    let messages =
        |src: &str| -> Vec<String> { check_env(src).1.into_iter().map(|d| d.message).collect() };
    assert_eq!(
        messages("BEGIN { @q = quantile(); }"),
        [
            "quantile() requires 1 or 2 arguments (0 provided)",
            "quantile can not be used with \"BEGIN\" probes"
        ]
    );
    assert_eq!(
        messages("tracepoint:syscalls:sys_enter_openat { @q = quantile(\"a\", 2); }"),
        [
            "quantile() expects an integer as argument 1, got 'string[2]'",
            "quantile() expects a string as argument 2, got 'int64'"
        ]
    );
    let (_, d) = check_env("BEGIN { quantle(1); }");
    assert_eq!(d[0].message, "Unknown function: quantle");
    assert!(format!("{:?}", d[0]).contains("quantile"), "{d:?}");
}

/// A plugin's functions are in the function table (as `PLUGIN::NAME`, next to the builtins)
/// once the environment has the plugin; setting the plugins again replaces them. The checker
/// types a call from that signature and records which plugin item makes it.
#[test]
fn plugin_functions_are_registered_in_the_function_table() {
    use crate::functions::Gen;
    use crate::plugin::{Item, ItemKind, PluginSignature, PluginType};
    let hex = Item {
        name: "hex".into(),
        kind: ItemKind::Function {
            params: vec![PluginType::U64],
            ret: PluginType::Str,
        },
    };
    let sum = Item {
        name: "sum".into(),
        kind: ItemKind::Reducer(PluginType::I64, crate::plugin::Folding::PerEvent),
    };
    let sig = PluginSignature {
        items: vec![sum, hex],
        sink: None,
    };
    let mut env = Environment::default();
    env.set_plugins([("p".to_string(), sig)].into());
    let names: Vec<&str> = env.functions.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["p::hex"]);
    let f = env.functions[0].plugin.as_ref().unwrap();
    assert_eq!((f.plugin.as_str(), f.item), ("p", 1));
    assert_eq!(env.functions[0].gen, Gen::External);

    let (p, d) = crate::parse(r#"BEGIN { printf("%s\n", p::hex(255)); }"#);
    assert!(d.is_empty(), "{d:?}");
    let (t, d) = check_in(&p, &catalog(), &CheckOptions::default(), &env);
    assert!(d.is_empty(), "{d:?}");
    let call = t.plugin_calls.values().next().unwrap();
    assert_eq!((call.plugin.as_str(), call.item), ("p", 1));
    let (p, _) = crate::parse(r#"BEGIN { printf("%s\n", p::hex()); }"#);
    let (_, d) = check_in(&p, &catalog(), &CheckOptions::default(), &env);
    assert_eq!(d[0].message, "p::hex() takes 1 argument (0 provided)");

    env.set_plugins(Default::default());
    assert!(env.functions.is_empty());
    let (p, _) = crate::parse(r#"BEGIN { printf("%s\n", p::hex(1)); }"#);
    let (_, d) = check_in(&p, &catalog(), &CheckOptions::default(), &env);
    assert_eq!(d[0].message, "no plugin named 'p' is loaded");
}
