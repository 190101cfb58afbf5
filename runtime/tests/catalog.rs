//! `LiveCatalog` against the real system: tracefs, kallsyms, ld.so.cache, ELF files compiled
//! here with `cc`, and a child process for `-p`. These tests expect to run as root (tracefs
//! mounting is one of the things they check).

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use scry_lang::catalog::Catalog;
use scry_runtime::LiveCatalog;

/// A scratch directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("scry-catalog-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(fs::canonicalize(&dir).unwrap())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Compiles C `source` into `dir/name` with `cc`; `Err` carries cc's message.
fn compile(dir: &Path, name: &str, source: &str, flags: &[&str]) -> Result<PathBuf, String> {
    let src = dir.join(format!("{name}.c"));
    let out = dir.join(name);
    fs::write(&src, source).unwrap();
    let result = Command::new("cc")
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .output()
        .map_err(|e| format!("cannot run cc: {e}"))?;
    if !result.status.success() {
        return Err(String::from_utf8_lossy(&result.stderr).into_owned());
    }
    Ok(out)
}

fn is_tracefs_mounted_at(dir: &str) -> bool {
    fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .lines()
        .any(|line| {
            let mut fields = line.split_whitespace();
            let (_, at, kind) = (fields.next(), fields.next(), fields.next());
            at == Some(dir) && kind == Some("tracefs")
        })
}

#[test]
fn tracepoint_format_of_openat() {
    let catalog = LiveCatalog::new();
    let format = catalog
        .tracepoint_format("syscalls", "sys_enter_openat")
        .unwrap()
        .expect("syscalls:sys_enter_openat exists");
    assert!(format.id.is_some());
    let names: Vec<_> = format
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .filter(|name| *name != "__syscall_nr")
        .collect();
    assert_eq!(names, ["dfd", "filename", "flags", "mode"]);
    let filename = &format.fields.iter().find(|f| f.name == "filename").unwrap();
    assert_eq!(filename.c_type, "const char *");
    // tracefs is mounted now, whether it was before or this catalog mounted it.
    assert!(catalog.tracefs().unwrap().join("events").is_dir());
    assert_eq!(
        catalog.tracepoint_format("syscalls", "no_such_event"),
        Ok(None)
    );
    assert_eq!(catalog.tracepoint_format("..", "syscalls"), Ok(None));
}

#[test]
fn tracepoint_categories_and_events() {
    let catalog = LiveCatalog::new();
    let categories = catalog.tracepoint_categories().unwrap();
    for wanted in ["raw_syscalls", "syscalls", "sched"] {
        assert!(categories.iter().any(|c| c == wanted), "{wanted} missing");
    }
    for file in ["enable", "filter", "header_page", "header_event"] {
        assert!(!categories.iter().any(|c| c == file), "file {file} listed");
    }
    let events = catalog.tracepoint_events("raw_syscalls").unwrap();
    assert_eq!(events, ["sys_enter", "sys_exit"]);
    let events = catalog.tracepoint_events("syscalls").unwrap();
    assert!(events.iter().any(|e| e == "sys_enter_openat"));
    assert!(!events.iter().any(|e| e == "enable" || e == "filter"));
    assert_eq!(
        catalog.tracepoint_events("no_such_category"),
        Ok(Vec::new())
    );
}

/// The environment variable that makes the `*_child` tests below do their work: they run in
/// a child process with its own mount namespace, set up by the test that spawns them.
const CHILD_ENV: &str = "SCRY_CATALOG_TEST_CHILD";

/// Runs the test `name` of this binary in a child process that has a private mount namespace
/// without tracefs, optionally with root dropped to `nobody`; returns its output.
fn run_child_without_tracefs(name: &str, drop_root: bool) -> String {
    let mut exe = std::env::current_exe().unwrap();
    if drop_root {
        // The test binary may sit where `nobody` cannot reach it (CI builds under /root):
        // run a copy from a world-readable directory.
        let dir = std::env::temp_dir().join(format!("scry-catalog-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let copy = dir.join("catalog-test");
        std::fs::copy(&exe, &copy).unwrap();
        exe = copy;
    }
    let mut command = Command::new(exe);
    command
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null());
    // SAFETY: runs in the forked child before exec, calling only async-signal-safe syscalls.
    unsafe {
        command.pre_exec(move || {
            let check = |rc: libc::c_int| {
                if rc == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            };
            check(libc::unshare(libc::CLONE_NEWNS))?;
            check(libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            // Not mounted at all is fine: we only need them gone.
            libc::umount2(c"/sys/kernel/tracing".as_ptr(), libc::MNT_DETACH);
            libc::umount2(c"/sys/kernel/debug/tracing".as_ptr(), libc::MNT_DETACH);
            libc::umount2(c"/sys/kernel/debug".as_ptr(), libc::MNT_DETACH);
            if drop_root {
                check(libc::setgid(65534))?;
                check(libc::setuid(65534))?;
            }
            Ok(())
        });
    }
    let output = command.output().unwrap();
    if drop_root {
        if let Some(dir) = Path::new(command.get_program()).parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "child test {name} failed:\n{text}");
    assert!(
        text.contains("1 passed"),
        "child test {name} did not run:\n{text}"
    );
    text
}

#[test]
fn mounts_tracefs_lazily_when_root() {
    run_child_without_tracefs("mounts_tracefs_lazily_when_root_child", false);
}

#[test]
fn mounts_tracefs_lazily_when_root_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    assert!(!is_tracefs_mounted_at("/sys/kernel/tracing"));
    let catalog = LiveCatalog::new();
    // Questions that are not about tracepoints leave tracefs alone.
    assert!(!catalog.kernel_functions().unwrap().is_empty());
    catalog.resolve_binary("libc", None).unwrap();
    assert!(!is_tracefs_mounted_at("/sys/kernel/tracing"));
    let categories = catalog.tracepoint_categories().unwrap();
    assert!(categories.iter().any(|c| c == "syscalls"));
    assert!(is_tracefs_mounted_at("/sys/kernel/tracing"));
    assert_eq!(catalog.tracefs().unwrap(), Path::new("/sys/kernel/tracing"));
}

#[test]
fn explains_missing_tracefs_when_not_root() {
    let out = run_child_without_tracefs("explains_missing_tracefs_when_not_root_child", true);
    assert!(out.contains("not root to mount it"), "{out}");
}

#[test]
fn explains_missing_tracefs_when_not_root_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let catalog = LiveCatalog::new();
    let err = catalog.tracepoint_categories().unwrap_err();
    println!("error: {err}");
    assert_eq!(
        err,
        "tracefs is not mounted at /sys/kernel/tracing and scry is not root to mount it; run as \
         root or mount it with: mount -t tracefs nodev /sys/kernel/tracing"
    );
    assert!(catalog
        .tracepoint_format("syscalls", "sys_enter_openat")
        .is_err());
    // kallsyms still answers without root (with zeroed addresses, which we do not use).
    assert!(catalog
        .kernel_functions()
        .unwrap()
        .iter()
        .any(|f| f == "vfs_read"));
}

#[test]
fn kernel_functions_include_vfs_read() {
    let functions = LiveCatalog::new().kernel_functions().unwrap();
    assert!(functions.iter().any(|f| f == "vfs_read"));
    assert!(!functions.iter().any(|f| f.starts_with("__pfx_")));
    assert!(!functions.iter().any(|f| f.contains(' ') || f.contains('[')));
    assert!(
        functions.windows(2).all(|w| w[0] < w[1]),
        "sorted, no duplicates"
    );
}

#[test]
fn resolves_libc_by_any_name() {
    let catalog = LiveCatalog::new();
    let libc = catalog.resolve_binary("libc", None).unwrap();
    assert!(Path::new(&libc).is_absolute(), "{libc}");
    assert!(
        Path::new(&libc)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("libc.so"),
        "{libc}"
    );
    let real = fs::canonicalize(&libc).unwrap();
    assert!(fs::metadata(&real).unwrap().is_file());
    assert_eq!(&fs::read(&real).unwrap()[..4], b"\x7fELF");
    for name in ["c", "libc.so.6", "libc.so"] {
        assert_eq!(catalog.resolve_binary(name, None).unwrap(), libc, "{name}");
    }
    let pthread = catalog.resolve_binary("libpthread", None).unwrap();
    assert!(pthread.contains("libpthread.so"), "{pthread}");
    // A program name is looked up in PATH.
    let sh = catalog.resolve_binary("sh", None).unwrap();
    assert!(sh.ends_with("/sh") && Path::new(&sh).is_absolute(), "{sh}");
}

#[test]
fn resolves_relative_paths_and_explains_missing_ones() {
    let tmp = TempDir::new("relative");
    let prog = compile(&tmp.0, "prog", "int main(void) { return 0; }\n", &[]).unwrap();
    // A relative path from the current directory to the program.
    let cwd = fs::canonicalize(std::env::current_dir().unwrap()).unwrap();
    let ups = "../".repeat(cwd.components().count() - 1);
    let relative = format!("./{ups}{}", prog.to_str().unwrap().trim_start_matches('/'));
    let catalog = LiveCatalog::new();
    assert_eq!(
        catalog.resolve_binary(&relative, None).unwrap(),
        prog.to_str().unwrap()
    );
    assert_eq!(
        catalog.resolve_binary("./no/such/prog", None).unwrap_err(),
        "target file './no/such/prog' does not exist"
    );
    let err = catalog.resolve_binary("libnosuchlib", None).unwrap_err();
    assert!(err.contains("'libnosuchlib'"), "{err}");
    // A file without the execute bit resolves (uprobes read any ELF file); one that is not
    // ELF fails when its symbols are read.
    let source = tmp.0.join("prog.c");
    let path = catalog
        .resolve_binary(source.to_str().unwrap(), None)
        .unwrap();
    let err = catalog.user_symbols(&path).unwrap_err();
    assert!(err.contains("not a readable ELF file"), "{err}");
}

/// Symbols that `nm` prints for `path` as (name, address).
fn nm(path: &Path) -> Vec<(String, u64)> {
    let out = Command::new("nm").arg(path).output().expect("nm runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let address = u64::from_str_radix(fields.next()?, 16).ok()?;
            let _kind = fields.next()?;
            Some((fields.next()?.to_string(), address))
        })
        .collect()
}

#[test]
fn user_symbols_of_a_compiled_program() {
    let tmp = TempDir::new("symbols");
    let source = r#"
        int scry_counter = 5;
        __attribute__((noinline)) int scry_target(int x) {
            scry_counter += x;
            return scry_counter * 3;
        }
        int main(int argc, char **argv) { (void)argv; return scry_target(argc) & 1; }
    "#;
    let prog = compile(&tmp.0, "prog", source, &["-O2"]).unwrap();
    let path = prog.to_str().unwrap();
    let catalog = LiveCatalog::new();
    let symbols = catalog.user_symbols(path).unwrap();
    let nm = nm(&prog);
    let nm_address = |name: &str| nm.iter().find(|(n, _)| n == name).unwrap().1;

    let target = symbols.iter().find(|s| s.name == "scry_target").unwrap();
    assert!(target.is_function);
    assert!(target.size > 0);
    assert_eq!(target.address, nm_address("scry_target"));
    let counter = symbols.iter().find(|s| s.name == "scry_counter").unwrap();
    assert!(!counter.is_function);
    assert_eq!(counter.address, nm_address("scry_counter"));
    assert_eq!(counter.size, 4);
    assert!(symbols.iter().any(|s| s.name == "main" && s.is_function));
    // No (name, address) pair twice even though dynsym repeats symtab entries.
    let mut pairs: Vec<_> = symbols.iter().map(|s| (&s.name, s.address)).collect();
    pairs.sort();
    let before = pairs.len();
    pairs.dedup();
    assert_eq!(before, pairs.len());

    // Answers are cached: the file is not read again.
    fs::remove_file(&prog).unwrap();
    assert_eq!(catalog.user_symbols(path).unwrap(), symbols);
    let err = LiveCatalog::new().user_symbols(path).unwrap_err();
    assert!(err.contains(path), "{err}");
}

#[test]
fn user_symbols_of_libc() {
    let catalog = LiveCatalog::new();
    let libc = catalog.resolve_binary("libc", None).unwrap();
    let symbols = catalog.user_symbols(&libc).unwrap();
    assert!(symbols.iter().any(|s| s.name == "malloc" && s.is_function));
}

/// Whether `cc` finds `<sys/sdt.h>`.
fn have_sdt_header() -> bool {
    let mut child = Command::new("cc")
        .args(["-E", "-x", "c", "-", "-o", "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cc runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"#include <sys/sdt.h>\n")
        .unwrap();
    child.wait().unwrap().success()
}

/// `readelf -n` locations of stapsdt notes as (pc, base, semaphore).
fn readelf_usdt(path: &Path) -> Vec<(u64, u64, u64)> {
    let Ok(out) = Command::new("readelf").arg("-n").arg(path).output() else {
        return Vec::new();
    };
    let hex = |s: &str| u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("Location:")?;
            let mut parts = rest.split(',');
            let pc = hex(parts.next()?);
            let base = hex(parts.next()?.trim().strip_prefix("Base:")?);
            let sema = hex(parts.next()?.trim().strip_prefix("Semaphore:")?);
            Some((pc, base, sema))
        })
        .collect()
}

#[test]
fn usdt_probes_of_a_compiled_program() {
    if !have_sdt_header() {
        println!("skipped: <sys/sdt.h> not found (install systemtap-sdt-dev)");
        return;
    }
    let tmp = TempDir::new("usdt");
    let source = r#"
        #include <sys/sdt.h>
        int main(int argc, char **argv) {
            long a = argc;
            long b = (long)argv[0][0];
            DTRACE_PROBE2(myprov, tick, a, b);
            return 0;
        }
    "#;
    let prog = compile(&tmp.0, "usdt", source, &["-O1"]).unwrap();
    let probes = LiveCatalog::new()
        .usdt_probes(prog.to_str().unwrap())
        .unwrap();
    assert_eq!(probes.len(), 1, "{probes:?}");
    let probe = &probes[0];
    assert_eq!(
        (probe.provider.as_str(), probe.name.as_str()),
        ("myprov", "tick")
    );
    let args: Vec<_> = probe.arguments.split_whitespace().collect();
    assert_eq!(args.len(), 2, "{}", probe.arguments);
    for arg in args {
        let (size, operand) = arg.split_once('@').expect("size@operand");
        assert!(size.trim_start_matches('-').parse::<u8>().is_ok(), "{arg}");
        assert!(!operand.is_empty(), "{arg}");
    }
    assert_eq!(probe.semaphore, 0);
    let from_readelf = readelf_usdt(&prog);
    if !from_readelf.is_empty() {
        assert_eq!(from_readelf, [(probe.pc, probe.base, probe.semaphore)]);
    }
    // A probe guarded by a semaphore, and one without arguments.
    let source = r#"
        #define _SDT_HAS_SEMAPHORES 1
        #include <sys/sdt.h>
        unsigned short myprov_tock_semaphore __attribute__((section(".probes")));
        unsigned short other_plain_semaphore __attribute__((section(".probes")));
        int main(int argc, char **argv) {
            if (myprov_tock_semaphore) STAP_PROBE3(myprov, tock, argc, argv, 7);
            DTRACE_PROBE(other, plain);
            return 0;
        }
    "#;
    let prog = compile(&tmp.0, "semaphore", source, &["-O1"]).unwrap();
    let path = prog.to_str().unwrap();
    let probes = LiveCatalog::new().usdt_probes(path).unwrap();
    let names: Vec<_> = probes
        .iter()
        .map(|p| {
            (
                p.provider.as_str(),
                p.name.as_str(),
                p.arguments.split(' ').count(),
            )
        })
        .collect();
    assert_eq!(names, [("myprov", "tock", 3), ("other", "plain", 1)]);
    assert_eq!(probes[1].arguments, "");
    let symbols = LiveCatalog::new().user_symbols(path).unwrap();
    let address = |name: &str| symbols.iter().find(|s| s.name == name).unwrap().address;
    assert_eq!(probes[0].semaphore, address("myprov_tock_semaphore"));
    assert_eq!(probes[1].semaphore, address("other_plain_semaphore"));
    let from_readelf = readelf_usdt(&prog);
    if !from_readelf.is_empty() {
        let ours: Vec<_> = probes.iter().map(|p| (p.pc, p.base, p.semaphore)).collect();
        assert_eq!(from_readelf, ours);
    }

    // A program without probes has none.
    let plain = compile(&tmp.0, "plain", "int main(void) { return 0; }\n", &[]).unwrap();
    assert_eq!(
        LiveCatalog::new().usdt_probes(plain.to_str().unwrap()),
        Ok(Vec::new())
    );
}

/// A `sleep` child that is killed (by its own pid) when dropped.
struct Sleeper(std::process::Child);

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn resolves_against_a_process() {
    let sleeper = Sleeper(
        Command::new("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = sleeper.0.id();
    // Wait until the dynamic linker has mapped libc.
    let maps = format!("/proc/{pid}/maps");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fs::read_to_string(&maps)
        .unwrap_or_default()
        .contains("/libc.so")
    {
        assert!(Instant::now() < deadline, "libc never appeared in {maps}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let catalog = LiveCatalog::new();
    assert_eq!(
        catalog.resolve_binary("", Some(pid)).unwrap(),
        format!("/proc/{pid}/exe")
    );
    let libc = catalog.resolve_binary("libc", Some(pid)).unwrap();
    let prefix = format!("/proc/{pid}/root/");
    assert!(libc.starts_with(&prefix), "{libc}");
    assert!(libc.contains("/libc.so"), "{libc}");
    assert!(Path::new(&libc).is_file(), "{libc}");
    for name in ["c", "libc.so.6"] {
        assert_eq!(catalog.resolve_binary(name, Some(pid)).unwrap(), libc);
    }
    let sleep = catalog.resolve_binary("sleep", Some(pid)).unwrap();
    assert!(
        sleep.starts_with(&prefix) && sleep.ends_with("/sleep"),
        "{sleep}"
    );
    let err = catalog
        .resolve_binary("libnosuchlib", Some(pid))
        .unwrap_err();
    assert!(
        err.contains(&format!("process {pid}")) && err.contains("'libnosuchlib'"),
        "{err}"
    );
    drop(sleeper);
    assert_eq!(
        LiveCatalog::new()
            .resolve_binary("libc", Some(u32::MAX))
            .unwrap_err(),
        format!("process {} does not exist", u32::MAX)
    );
}
