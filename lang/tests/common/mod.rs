//! Shared helpers of the integration tests: a fixture [`MemoryCatalog`] built from real
//! tracefs format files copied from a live machine, a short kernel-function list and one fake
//! binary, so that tests do not depend on the machine they run on.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use scry_lang::catalog::{
    KernelFunction, KernelParam, MemoryCatalog, UsdtProbe, UserFunction, UserParam, UserSymbol,
};
use scry_lang::cdefs::{CField, CRecord};
use scry_lang::types::{AddrSpace, Type};

/// Path of the fake binary the fixture catalog knows.
pub const APP: &str = "/fixture/bin/app";

/// The `lang/tests/fixtures` directory (also from the other crates that include this module).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../lang/tests/fixtures")
}

/// The fixture catalog: tracepoints from `fixtures/tracepoints/CATEGORY/EVENT.format`, kernel
/// functions from `fixtures/kernel_functions.txt` (the n-th at kernel address
/// `0xffffffff81000000 + 0x100 * n`), and [`APP`] from `fixtures/app.txt`.
pub fn catalog() -> MemoryCatalog {
    let dir = fixtures_dir();
    let mut c = MemoryCatalog::new();
    let mut cats: Vec<_> = read_dir_sorted(&dir.join("tracepoints"));
    cats.retain(|p| p.is_dir());
    for cat in cats {
        let category = file_name(&cat);
        for ev in read_dir_sorted(&cat) {
            let name = file_name(&ev);
            let Some(event) = name.strip_suffix(".format") else {
                continue;
            };
            let text = std::fs::read_to_string(&ev).expect("read tracepoint format");
            c.add_tracepoint(&category, event, &text);
        }
    }
    // Headers `#include` finds: one on the system path, without constants; one in a
    // directory given with -I, which includes one beside it (quoted) and one through the
    // search path, and defines constants, a macro twice, a function-like macro and one whose
    // value is not a constant, and one named as a builtin (never substituted).
    c.add_header("linux/sched.h")
        .add_header_text(
            "/opt/app/include/app.h",
            "#ifndef APP_H\n#define APP_H 1\n#include \"app/limits.h\"\n#include <app/version.h>\n\
             #define APP_PORT 8080\n#define APP_SIZE (APP_LIMIT * 2)\n#define APP_NAME \"app\"\n\
             #ifdef APP_WIDE\n# define APP_WORD 64\n#else\n# define APP_WORD 32\n#endif\n\
             #define APP_MAX(a, b) ((a) > (b) ? (a) : (b))\n\
             #define app_errno (*app_errno_location ())\n#define pid \"not the builtin\"\n#endif\n",
        )
        .add_header_text("/opt/app/include/app/limits.h", "#define APP_LIMIT 16\n")
        .add_header_text("/opt/app/include/app/version.h", "#define APP_VERSION 3\n");
    for (i, f) in lines(&dir.join("kernel_functions.txt")).iter().enumerate() {
        c.add_kernel_function(f);
        c.add_kernel_symbol(f, 0xffff_ffff_8100_0000 + 0x100 * i as u64);
    }
    let mut symbols = Vec::new();
    let mut usdt = Vec::new();
    for line in lines(&dir.join("app.txt")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["sym", name, addr, size, kind] => symbols.push(UserSymbol {
                name: name.to_string(),
                address: hex(addr),
                size: size.parse().expect("symbol size"),
                is_function: *kind == "func",
            }),
            ["usdt", provider, name, pc, sem, args @ ..] => usdt.push(UsdtProbe {
                provider: provider.to_string(),
                name: name.to_string(),
                arguments: args.join(" "),
                pc: hex(pc),
                base: 0,
                semaphore: hex(sem),
            }),
            _ => panic!("bad line in app.txt: {line}"),
        }
    }
    c.add_binary(APP, symbols, usdt);
    c.add_kernel_record("struct task_struct", task_struct());
    c.add_kernel_prototype("vfs_read", vfs_read());
    c.add_user_function(APP, "handle_request", handle_request());
    c
}

/// `int handle_request(struct request *req, const char *path, double weight, int flags)`
/// of [`APP`], as its DWARF would describe it (uprobe `args`), with `struct request { int id;
/// const char *url; struct request *next; }`.
pub fn handle_request() -> UserFunction {
    let ptr = |to: Type| Type::Pointer {
        to: Box::new(to),
        space: AddrSpace::User,
    };
    let char_ptr = ptr(Type::Int {
        bits: 8,
        signed: true,
    });
    let i32t = Type::Int {
        bits: 32,
        signed: true,
    };
    let request_ptr = ptr(Type::Record("struct request".into()));
    let param =
        |name: &str, c_type: &str, access: Result<(u8, Type), String>, size: u32| UserParam {
            name: name.into(),
            c_type: c_type.into(),
            access,
            size,
        };
    let field = |name: &str, ty: Type, offset: usize| CField {
        name: name.into(),
        ty,
        offset,
        bitfield: None,
    };
    UserFunction {
        params: vec![
            param("req", "struct request*", Ok((0, request_ptr.clone())), 8),
            param("path", "const char*", Ok((1, char_ptr.clone())), 8),
            param(
                "weight",
                "double",
                Err("'double' is a floating-point type, passed in an SSE register that uprobes cannot read by name".into()),
                8,
            ),
            param("flags", "int", Ok((2, i32t.clone())), 4),
        ],
        records: [(
            "struct request".to_string(),
            CRecord {
                size: 24,
                align: 8,
                fields: vec![
                    field("id", i32t, 0),
                    field("url", char_ptr, 8),
                    field("next", request_ptr, 16),
                ],
            },
        )]
        .into(),
    }
}

/// `ssize_t vfs_read(struct file *file, char *buf, size_t count, loff_t *pos)`, as BTF gives
/// it (kfunc probes); `file` points to `struct task_struct` here, the one record the fixture
/// catalog has, so that field chains through an argument can be tested.
pub fn vfs_read() -> KernelFunction {
    let ptr = |to: Type| Type::Pointer {
        to: Box::new(to),
        space: AddrSpace::Kernel,
    };
    let param = |name: &str, c_type: &str, ty: Type| KernelParam {
        name: name.into(),
        c_type: c_type.into(),
        size: ty.size().max(1) as u32,
        ty: Some(ty),
    };
    let i64t = Type::Int {
        bits: 64,
        signed: true,
    };
    KernelFunction {
        btf_id: 1,
        params: vec![
            param(
                "file",
                "struct task_struct *",
                ptr(Type::Record("struct task_struct".into())),
            ),
            param(
                "buf",
                "char *",
                ptr(Type::Int {
                    bits: 8,
                    signed: true,
                }),
            ),
            param("count", "size_t", Type::U64),
            param("pos", "loff_t *", ptr(i64t.clone())),
        ],
        ret_c_type: "ssize_t".into(),
        ret: Some(i64t),
    }
}

/// A cut-down kernel `struct task_struct`, as BTF would give it (offsets of kernel 6.18).
pub fn task_struct() -> CRecord {
    let task_ptr = Type::Pointer {
        to: Box::new(Type::Record("struct task_struct".into())),
        space: AddrSpace::Kernel,
    };
    let field = |name: &str, ty: Type, offset: usize| CField {
        name: name.into(),
        ty,
        offset,
        bitfield: None,
    };
    let i32t = Type::Int {
        bits: 32,
        signed: true,
    };
    CRecord {
        size: 3264,
        align: 8,
        fields: vec![
            field("pid", i32t.clone(), 1488),
            field("tgid", i32t, 1492),
            field("real_parent", task_ptr.clone(), 1504),
            field("parent", task_ptr, 1512),
            field(
                "comm",
                Type::Array {
                    of: Box::new(Type::Int {
                        bits: 8,
                        signed: false,
                    }),
                    len: 16,
                },
                2000,
            ),
        ],
    }
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    v.sort();
    v
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// Non-empty, non-comment lines of a fixture text file.
fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

fn hex(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).expect("hex number"),
        None => s.parse().expect("number"),
    }
}
