//! User-space symbolization with blazesym: addresses of a process to `symbol+offset` and the
//! file holding them.
//!
//! One long-lived [`UserSymbols`] serves a whole session: blazesym keeps every ELF file it has
//! parsed (a lookup then costs microseconds instead of milliseconds), and every frame resolved
//! once is remembered by (pid, address). A process's memory map is snapshot the first time one
//! of its addresses is resolved or [`UserSymbols::remember`] is called, so its addresses still
//! resolve after it exits (bpftrace 0.17 prints them as hex then).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use blazesym::symbolize::cache::{Cache, Process as CacheProcess};
use blazesym::symbolize::source::{Process, Source};
use blazesym::symbolize::{Input, Symbolized, Symbolizer};
use blazesym::Pid;
use scry_stdlib::value::Frame;

/// Symbolizes user addresses of any process, caching what it learns.
pub struct UserSymbols {
    symbolizer: Symbolizer,
    /// Demangle C++ (`_Z...`) and Rust (`_R...`) names.
    demangle: bool,
    /// Processes whose memory maps have been snapshot.
    remembered: RefCell<HashSet<u32>>,
    /// Frames already resolved, by (pid, address).
    frames: RefCell<HashMap<(u32, u64), Frame>>,
}

impl Default for UserSymbols {
    fn default() -> Self {
        Self::new()
    }
}

impl UserSymbols {
    /// A symbolizer that demangles C++ and Rust names unless `BPFTRACE_NO_CPP_DEMANGLE` is
    /// set (to anything but `0`), as bpftrace does.
    pub fn new() -> UserSymbols {
        let no_demangle = std::env::var("BPFTRACE_NO_CPP_DEMANGLE").is_ok_and(|v| v != "0");
        UserSymbols::with_demangling(!no_demangle)
    }

    /// A symbolizer that demangles names or not.
    pub fn with_demangling(demangle: bool) -> UserSymbols {
        UserSymbols {
            // blazesym demangles any name of unknown language as C++, which turns a C function
            // `a` into "signed char": demangle only names that are mangled, here.
            symbolizer: Symbolizer::builder()
                .enable_demangling(false)
                .enable_code_info(false)
                .enable_inlined_fns(false)
                .build(),
            demangle,
            remembered: RefCell::new(HashSet::new()),
            frames: RefCell::new(HashMap::new()),
        }
    }

    /// `name` demangled when it is a mangled C++ or Rust name (and demangling is on).
    fn readable(&self, name: &str) -> String {
        if self.demangle {
            if name.starts_with("_R") || name.starts_with("_ZN") && name.ends_with('E') {
                if let Ok(d) = rustc_demangle::try_demangle(name) {
                    return format!("{d:#}");
                }
            }
            if name.starts_with("_Z") {
                if let Ok(sym) = cpp_demangle::Symbol::new(name) {
                    if let Ok(d) = sym.demangle() {
                        return d;
                    }
                }
            }
        }
        name.to_string()
    }

    /// Snapshots the memory map of process `pid` (once), so that its addresses resolve after
    /// it exits. Returns whether a snapshot exists.
    pub fn remember(&self, pid: u32) -> bool {
        if self.remembered.borrow().contains(&pid) {
            return true;
        }
        let mut cache = CacheProcess::new(Pid::from(pid));
        cache.cache_vmas = true;
        cache.cache_perf_map = false;
        if self.symbolizer.cache(&Cache::Process(cache)).is_err() {
            return false;
        }
        self.remembered.borrow_mut().insert(pid);
        true
    }

    /// The frames of `addrs` in process `pid`, in order; an address that cannot be resolved
    /// gives [`Frame::unresolved`].
    pub fn resolve(&self, pid: u32, addrs: &[u64]) -> Vec<Frame> {
        // One cache lookup per address; only the addresses not seen before go to blazesym.
        let mut frames: Vec<Option<Frame>> = {
            let known = self.frames.borrow();
            addrs
                .iter()
                .map(|a| known.get(&(pid, *a)).cloned())
                .collect()
        };
        let mut missing: Vec<u64> = Vec::new();
        for (a, f) in addrs.iter().zip(&frames) {
            if f.is_none() && !missing.contains(a) {
                missing.push(*a);
            }
        }
        if !missing.is_empty() {
            let resolved = self.symbolize(pid, &missing);
            let mut known = self.frames.borrow_mut();
            for (addr, frame) in missing.into_iter().zip(resolved) {
                known.insert((pid, addr), frame);
            }
            for (a, f) in addrs.iter().zip(&mut frames) {
                if f.is_none() {
                    *f = known.get(&(pid, *a)).cloned();
                }
            }
        }
        addrs
            .iter()
            .zip(frames)
            .map(|(a, f)| f.unwrap_or_else(|| Frame::unresolved(*a)))
            .collect()
    }

    /// Asks blazesym; one frame per address.
    fn symbolize(&self, pid: u32, addrs: &[u64]) -> Vec<Frame> {
        let alive = Path::new(&format!("/proc/{pid}/maps")).exists();
        if alive {
            self.remember(pid);
        }
        let mut process = Process::new(Pid::from(pid));
        process.debug_syms = false;
        process.perf_map = false;
        // The snapshot of an exited process names files by path: /proc/PID/map_files is gone.
        process.map_files = alive && !self.remembered.borrow().contains(&pid);
        let source = Source::Process(process);
        let Ok(results) = self.symbolizer.symbolize(&source, Input::AbsAddr(addrs)) else {
            return addrs.iter().map(|a| Frame::unresolved(*a)).collect();
        };
        addrs
            .iter()
            .zip(results)
            .map(|(&addr, r)| match r {
                Symbolized::Sym(sym) => Frame {
                    addr,
                    symbol: Some(self.readable(&sym.name).into()),
                    offset: sym.offset as u64,
                    module: sym.module.map(|m| m.to_string_lossy().into()),
                },
                Symbolized::Unknown(_) => Frame::unresolved(addr),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mangled_names_are_demangled() {
        let on = UserSymbols::with_demangling(true);
        assert_eq!(on.readable("a"), "a");
        assert_eq!(on.readable("b"), "b");
        assert_eq!(on.readable("_Z3fooi"), "foo(int)");
        assert_eq!(
            on.readable("_ZN4core3fmt5write17h0123456789abcdefE"),
            "core::fmt::write"
        );
        let off = UserSymbols::with_demangling(false);
        assert_eq!(off.readable("_Z3fooi"), "_Z3fooi");
    }

    #[inline(never)]
    fn probe_target() -> u64 {
        std::hint::black_box(7)
    }

    #[test]
    fn resolves_own_functions() {
        let syms = UserSymbols::new();
        let addr = probe_target as *const () as u64;
        let frames = syms.resolve(std::process::id(), &[addr, addr + 1, 0]);
        assert_eq!(frames.len(), 3);
        let name = frames[0].symbol.as_deref().unwrap_or("");
        assert!(name.contains("probe_target"), "{:?}", frames[0]);
        assert_eq!(frames[0].offset, 0);
        assert_eq!(frames[1].offset, 1);
        assert!(frames[0].module.as_deref().is_some());
        assert_eq!(frames[2], Frame::unresolved(0));
        // A second stack through the same address shares the cached frame's names.
        let again = syms.resolve(std::process::id(), &[addr]);
        let (a, b) = (&again[0].symbol, &frames[0].symbol);
        assert!(matches!((a, b), (Some(a), Some(b)) if std::sync::Arc::ptr_eq(a, b)));
        assert_eq!(probe_target(), 7);
    }

    #[test]
    fn exited_processes_resolve_after_remember() {
        let mut child = std::process::Command::new("/bin/sleep")
            .arg("5")
            .spawn()
            .expect("sleep runs");
        let pid = child.id();
        // Wait for the exec and the dynamic loader (the maps then hold libc's text).
        for _ in 0..300 {
            let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
            if maps
                .lines()
                .any(|l| l.contains("libc.so") && l.contains("r-xp"))
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let syms = UserSymbols::new();
        assert!(syms.remember(pid));
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
        // The text mapping of libc: start, file offset, path.
        let text = maps.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 6 && f[1] == "r-xp" && f[5].contains("libc.so")).then(|| {
                let start = u64::from_str_radix(f[0].split('-').next().unwrap_or("0"), 16);
                let off = u64::from_str_radix(f[2], 16);
                (start.unwrap_or(0), off.unwrap_or(0), f[5].to_string())
            })
        });
        let _ = child.kill();
        let _ = child.wait();
        let (start, off, path) = text.expect("sleep maps libc");
        let data = std::fs::read(&path).expect("libc reads");
        let file = object::File::parse(&*data).expect("libc parses");
        use object::{Object as _, ObjectSymbol as _};
        let vaddr = file
            .dynamic_symbols()
            .find(|s| s.name() == Ok("clock_nanosleep"))
            .map(|s| s.address())
            .expect("libc has clock_nanosleep");
        // libc's text segment has equal file offsets and virtual addresses.
        let frames = syms.resolve(pid, &[start - off + vaddr]);
        assert!(
            frames[0]
                .symbol
                .as_deref()
                .is_some_and(|s| s.contains("nanosleep")),
            "{:?}",
            frames[0]
        );
        assert!(frames[0]
            .module
            .as_deref()
            .is_some_and(|m| m.contains("libc")));
    }
}
