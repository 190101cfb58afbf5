//! Headers read from real files: the test writes a small tree of headers (a quoted include
//! beside the including file, one found through `-I`, an include cycle, a macro defined in
//! both branches of an `#if`, a function-like macro) and runs scry on programs that use
//! them. Needs root and BPF for the programs that run (BEGIN only), as `tests/runtime.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Writes the header tree into a fresh scratch directory and returns it.
fn header_tree(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scry-headers-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in [
        (
            "app/defs.h",
            "#ifndef DEFS_H\n#define DEFS_H\n#include \"sub/inner.h\"\n#include <lib.h>\n\
             #define OUTER (INNER * 10 + LIB_VALUE) /* 42 */\n\
             #if defined(WIDE)\n# define MODE 64\n#else\n# define MODE 32\n#endif\n\
             #define TWICE(x) ((x) * 2)\n#endif\n",
        ),
        (
            "app/sub/inner.h",
            "#include \"../defs.h\"\n#define INNER 4\n",
        ),
        (
            "lib/lib.h",
            "#define LIB_VALUE 2\n#define LIB_NAME \"lib\"\n#include <nosuch_optional.h>\n",
        ),
    ] {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    dir
}

/// scry run in `cwd` with `args`.
fn scry(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scry"))
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("scry runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn constants_of_nested_headers_are_substituted() {
    let dir = header_tree("nested");
    let lib = dir.join("lib").display().to_string();
    // --include, and #include "..." from the current directory: the same tree read.
    let runs = [
        (
            dir.clone(),
            vec!["--include", "app/defs.h"],
            "BEGIN { printf(\"%d %s\\n\", OUTER, LIB_NAME); exit(); }",
        ),
        (
            dir.join("app"),
            vec![],
            "#include \"defs.h\"\nBEGIN { printf(\"%d %s\\n\", OUTER, LIB_NAME); exit(); }",
        ),
    ];
    for (cwd, flags, program) in runs {
        let mut args = vec!["-I", &lib];
        args.extend(flags);
        args.extend(["-e", program]);
        let out = scry(&cwd, &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "Attaching 1 probe...\n42 lib\n\n\n");
        assert_eq!(text(&out.stderr), "", "no warning: constants were read");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unusable_macros_are_errors_at_the_use() {
    let dir = header_tree("errors");
    let lib = dir.join("lib").display().to_string();
    for (program, message, column) in [
        (
            "BEGIN { printf(\"%d\\n\", MODE); exit(); }",
            "ERROR: 'MODE' is defined differently by the headers read: `64` (./app/defs.h) and `32` (./app/defs.h)",
            24,
        ),
        (
            "BEGIN { printf(\"%d\\n\", TWICE(2)); exit(); }",
            "ERROR: 'TWICE' is a function-like macro of ./app/defs.h, which scry cannot expand",
            24,
        ),
    ] {
        let out = scry(
            &dir,
            &["-I", &lib, "--include", "app/defs.h", "-e", program],
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.starts_with(message), "{stderr}");
        assert!(stderr.contains(&format!("─[ stdin:1:{column} ]")), "{stderr}");
        assert_eq!(text(&out.stdout), "");
    }
    // A program's own #define chooses.
    let out = scry(
        &dir,
        &[
            "-I",
            &lib,
            "--include",
            "app/defs.h",
            "-e",
            "#define MODE 16\nBEGIN { printf(\"%d\\n\", MODE + OUTER); exit(); }",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Attaching 1 probe...\n58\n\n\n");
    let _ = std::fs::remove_dir_all(dir);
}
