//! Loading a compiled [`Object`] into the kernel: maps first, then programs whose map
//! references point at those maps.
//!
//! # Why scry loads with bpf(2) itself
//!
//! scry creates maps and loads programs with its own bpf(2) wrappers ([`crate::sys`]) instead
//! of through aya:
//!
//! - aya 0.14 loads ELF objects only, and separately loaded objects can share maps only through
//!   bpffs pinning (not mounted by default here). The REPL has to load new programs into a
//!   running session against the maps that already exist: [`Loaded::load_more`] does that with
//!   the session's own map fd table.
//! - A verifier rejection must map back to the source through the code generator's
//!   instruction-to-span table, so scry needs the raw log and the index of the rejected
//!   instruction ([`LoadError::Verifier`]), which scry's own loader keeps intact.
//!
//! aya is used for what it does well: attaching loaded programs ([`crate::attach`], through
//! `X::from_program_info`), perf events, and reading maps and the ring buffer
//! (`aya::maps::MapData::from_fd` on [`Map::fd`]).

use std::fmt;
use std::io;
use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use scry_ebpf::insn::{self, Insn, PSEUDO_MAP_FD};
use scry_ebpf::object::{MapKind, MapSpec, Object, ProgType, ProgramSpec, Slots, Trigger};
use scry_lang::attach::Target;

use crate::sys;

/// The default verifier log size (bpftrace's `BPFTRACE_LOG_SIZE` default).
pub const DEFAULT_LOG_SIZE: usize = 1_000_000;
pub use crate::sys::MAX_LOG_SIZE;

/// How programs are loaded.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Verifier log level: 0 asks for a log only to explain a failure (at level 1); 1 or 2
    /// (`-v`) keep the log of every program, see [`Program::log`].
    pub log_level: u32,
    /// Bytes of the verifier log buffer.
    pub log_size: usize,
}

impl Default for LoadOptions {
    /// Log level 0 and a log of [`DEFAULT_LOG_SIZE`] bytes.
    fn default() -> Self {
        LoadOptions {
            log_level: 0,
            log_size: DEFAULT_LOG_SIZE,
        }
    }
}

/// A map created in the kernel.
#[derive(Debug)]
pub struct Map {
    /// What was asked for.
    pub spec: MapSpec,
    fd: OwnedFd,
    possible_cpus: u32,
}

impl Map {
    /// The map's file descriptor (e.g. for `aya::maps::MapData::from_fd` after `try_clone`).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Whether the map keeps one value per CPU.
    pub fn is_per_cpu(&self) -> bool {
        matches!(self.spec.kind, MapKind::PerCpuHash | MapKind::PerCpuArray)
    }

    /// Bytes of one value as user space reads it: for per-CPU maps, one 8-byte-aligned slot
    /// per possible CPU.
    pub fn value_bytes(&self) -> usize {
        if self.is_per_cpu() {
            sys::percpu_value_size(self.spec.value_size, self.possible_cpus)
        } else {
            self.spec.value_size as usize
        }
    }

    /// The value at `key` (for per-CPU maps, the slots of every possible CPU; see
    /// [`Map::per_cpu`]), or `None` when the key is absent.
    pub fn lookup(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        let mut value = vec![0u8; self.value_bytes()];
        Ok(sys::map_lookup(self.fd(), key, &mut value)?.then_some(value))
    }

    /// Splits a per-CPU value read by [`Map::lookup`] into each CPU's `value_size` bytes.
    pub fn per_cpu<'a>(&self, value: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
        let size = self.spec.value_size as usize;
        let stride = size.next_multiple_of(8).max(1);
        value.chunks(stride).map(move |c| &c[..size.min(c.len())])
    }

    /// Writes `value` at `key` (creating or replacing it); per-CPU maps take
    /// [`Map::value_bytes`] bytes.
    pub fn update(&self, key: &[u8], value: &[u8]) -> io::Result<()> {
        sys::map_update(self.fd(), key, value, sys::UPDATE_ANY)
    }

    /// Deletes `key`; `Ok(false)` when it was absent.
    pub fn delete(&self, key: &[u8]) -> io::Result<bool> {
        sys::map_delete(self.fd(), key)
    }

    /// Every key, by `BPF_MAP_GET_NEXT_KEY`.
    pub fn keys(&self) -> io::Result<Vec<Vec<u8>>> {
        sys::map_keys(self.fd(), self.spec.key_size as usize)
    }

    /// Every (key, value) pair: by `BPF_MAP_LOOKUP_BATCH` where the kernel supports it for
    /// this map, else key by key (entries deleted meanwhile are skipped).
    pub fn entries(&self) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        match self.entries_batch() {
            Ok(entries) => Ok(entries),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOTSUP | 524)) => {
                let mut out = Vec::new();
                for key in self.keys()? {
                    if let Some(value) = self.lookup(&key)? {
                        out.push((key, value));
                    }
                }
                Ok(out)
            }
            Err(e) => Err(e),
        }
    }

    fn entries_batch(&self) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let (key_size, value_size) = (self.spec.key_size as usize, self.value_bytes());
        let mut count = self.spec.max_entries.clamp(1, 4096);
        let mut token = vec![0u8; key_size.max(8)];
        let mut start: Option<Vec<u8>> = None;
        let mut out = Vec::new();
        loop {
            let mut keys = vec![0u8; key_size * count as usize];
            let mut values = vec![0u8; value_size * count as usize];
            let read = sys::map_lookup_batch(
                self.fd(),
                start.as_deref(),
                &mut token,
                &mut keys,
                &mut values,
                count,
            );
            let (n, done) = match read {
                Ok(r) => r,
                // A hash bucket holds more elements than `count`: ask for more at once.
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) && count < 1 << 20 => {
                    count *= 2;
                    continue;
                }
                Err(e) => return Err(e),
            };
            for i in 0..n as usize {
                out.push((
                    keys[i * key_size..(i + 1) * key_size].to_vec(),
                    values[i * value_size..(i + 1) * value_size].to_vec(),
                ));
            }
            if done {
                return Ok(out);
            }
            start = Some(token.clone());
        }
    }
}

/// A program loaded in the kernel.
#[derive(Debug)]
pub struct Program {
    /// Its name in the kernel ([`ProgramSpec::name`]); the rest of its spec stays in the
    /// session's object, at the same index.
    pub name: String,
    /// What it was loaded as.
    pub prog_type: ProgType,
    fd: OwnedFd,
    id: u32,
    log: String,
}

impl Program {
    /// The program's file descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The kernel's program id (`-v` prints it; `bpftool prog show id N`).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The verifier log, when [`LoadOptions::log_level`] asked for one; empty otherwise.
    pub fn log(&self) -> &str {
        &self.log
    }

    /// Runs the program once with `BPF_PROG_TEST_RUN` and an empty context (BEGIN and END,
    /// loaded as raw tracepoint programs), returning its r0.
    pub fn test_run(&self) -> io::Result<u32> {
        sys::prog_test_run(self.fd())
    }
}

/// The maps and programs of a session, as loaded in the kernel. More maps and programs can be
/// added later ([`Loaded::add_maps`], [`Loaded::load_more`]) against the same maps: the REPL
/// case. Dropping it closes every fd; programs stay in the kernel while links hold them.
#[derive(Debug)]
pub struct Loaded {
    /// Indexed like [`Object::maps`] (then maps added by [`Loaded::add_maps`]); a map closed
    /// ([`Loaded::close_map`]) leaves its index unused.
    pub maps: Slots<Map>,
    /// Indexed like [`Object::programs`] (then programs added by [`Loaded::load_more`]);
    /// a program unloaded ([`Loaded::unload_program`]) leaves its index unused.
    pub programs: Slots<Program>,
    possible_cpus: u32,
    options: LoadOptions,
}

/// Why loading failed. Each message is one sentence.
#[derive(Debug)]
pub enum LoadError {
    /// The verifier rejected a program.
    Verifier {
        /// The program's index in [`Loaded::programs`] (and so in [`Object::programs`]): the
        /// index it would have had.
        program: usize,
        /// The rejected instruction (an index into [`ProgramSpec::insns`] and
        /// [`ProgramSpec::spans`]), when the log names one.
        insn: Option<usize>,
        /// The verifier's reason line, e.g. `R2 !read_ok`.
        reason: String,
        /// The whole verifier log.
        log: String,
    },
    /// The kernel refused a program without a verifier log (e.g. permissions).
    Program {
        /// As in [`LoadError::Verifier`].
        program: usize,
        /// The sentence.
        message: String,
    },
    /// A map could not be created.
    Map {
        /// Its index among the maps being created.
        map: usize,
        /// The sentence.
        message: String,
    },
    /// Something else: the possible CPUs could not be read, or the object is inconsistent
    /// (a code generator bug).
    Other(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            LoadError::Verifier {
                program,
                insn,
                reason,
                ..
            } => match insn {
                Some(i) => write!(
                    f,
                    "the BPF verifier rejected program {program} at instruction {i}: {reason}"
                ),
                None => write!(f, "the BPF verifier rejected program {program}: {reason}"),
            },
            LoadError::Program { message, .. }
            | LoadError::Map { message, .. }
            | LoadError::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for LoadError {}

/// Creates every map of `object`, then loads every program with its map references
/// (`ld_map`, src = `PSEUDO_MAP_FD`, imm = map index) patched to the maps' fds.
pub fn load(object: &Object, options: LoadOptions) -> Result<Loaded, LoadError> {
    let possible_cpus = sys::possible_cpus().map_err(|e| {
        LoadError::Other(format!(
            "cannot read the possible CPUs from /sys/devices/system/cpu/possible: {e}"
        ))
    })?;
    let mut loaded = Loaded {
        maps: Slots::default(),
        programs: Slots::default(),
        possible_cpus,
        options,
    };
    loaded.add_maps(&object.maps)?;
    loaded.load_more(&object.programs)?;
    Ok(loaded)
}

impl Loaded {
    /// The number of possible CPUs (per-CPU values have this many slots).
    pub fn possible_cpus(&self) -> u32 {
        self.possible_cpus
    }

    /// Closes the maps from index `len` on (those of an addition that failed).
    pub fn truncate_maps(&mut self, len: usize) {
        self.maps.truncate(len);
    }

    /// Closes the programs from index `len` on (those of an addition rolled back).
    pub fn truncate_programs(&mut self, len: usize) {
        self.programs.truncate(len);
    }

    /// Creates more maps; they get the next indices, which are returned. On error none of
    /// `maps` is kept.
    pub fn add_maps(&mut self, maps: &[MapSpec]) -> Result<Range<usize>, LoadError> {
        let first = self.maps.end();
        for (i, spec) in maps.iter().enumerate() {
            let fd = match sys::map_create(spec) {
                Ok(fd) => fd,
                Err(e) => {
                    self.maps.truncate(first);
                    return Err(LoadError::Map {
                        map: i,
                        message: map_error(spec, &e),
                    });
                }
            };
            self.maps.push(Map {
                spec: spec.clone(),
                fd,
                possible_cpus: self.possible_cpus,
            });
        }
        Ok(first..self.maps.end())
    }

    /// Loads more programs against the maps already created (their `ld_map` indices refer to
    /// [`Loaded::maps`]), each at its index in `programs` (past every index loaded so far);
    /// returns the range of indexes they cover. On error none of `programs` is kept.
    pub fn load_more(&mut self, programs: &Slots<ProgramSpec>) -> Result<Range<usize>, LoadError> {
        let mut new = Vec::with_capacity(programs.count());
        let first = self.programs.end();
        for (i, spec) in programs.iter() {
            if i < first {
                return Err(LoadError::Other(format!(
                    "program {i} comes before the {first} programs loaded already"
                )));
            }
            new.push((i, self.load_program(i, spec)?));
        }
        for (i, program) in new {
            self.programs.insert(i, program);
        }
        Ok(first..self.programs.end().max(programs.end()))
    }

    fn load_program(&self, index: usize, spec: &ProgramSpec) -> Result<Program, LoadError> {
        let insns = self.patch_maps(index, &spec.insns)?;
        let bytes = insn::encode(&insns);
        let opts = &self.options;
        let attach = match spec.prog_type {
            ProgType::Tracing => Some(btf_attach(index, spec)?),
            _ if spec.uprobe_multi => Some(sys::BtfAttach {
                attach_type: sys::uprobe_multi::BPF_TRACE_UPROBE_MULTI,
                btf_id: 0,
            }),
            _ => None,
        };
        let loaded = sys::prog_load(
            spec.prog_type,
            attach,
            &bytes,
            &spec.name,
            opts.log_level,
            opts.log_size,
        )
        .map_err(|failure| program_error(index, spec, failure, opts.log_size))?;
        let id = sys::prog_id(loaded.fd.as_fd()).map_err(|e| LoadError::Program {
            program: index,
            message: format!("cannot read the id of loaded program {}: {e}", spec.name),
        })?;
        Ok(Program {
            name: spec.name.clone(),
            prog_type: spec.prog_type,
            fd: loaded.fd,
            id,
            log: loaded.log,
        })
    }

    /// Closes program `i` for good (the REPL's removed entries): the kernel frees it once no
    /// link holds it. Its index is not given again.
    pub fn unload_program(&mut self, i: usize) {
        self.programs.remove(i);
    }

    /// Closes map `i` for good (the scratch or filter map of a removed program): its index is
    /// not given again.
    pub fn close_map(&mut self, i: usize) {
        self.maps.remove(i);
    }

    /// The instructions with every map index replaced by that map's fd.
    fn patch_maps(&self, index: usize, insns: &[Insn]) -> Result<Vec<Insn>, LoadError> {
        let mut out = insns.to_vec();
        for insn in out.iter_mut() {
            if insn.code == 0x18 && insn.src == PSEUDO_MAP_FD {
                let map = self.maps.get(insn.imm as u32 as usize).ok_or_else(|| {
                    LoadError::Other(format!(
                        "program {index} refers to map {} but only {} maps exist",
                        insn.imm,
                        self.maps.end()
                    ))
                })?;
                insn.imm = std::os::fd::AsRawFd::as_raw_fd(&map.fd);
            }
        }
        Ok(out)
    }
}

/// What a tracing program is loaded for: fentry (kfunc) or fexit (kretfunc) of the function
/// its attach point names, by that function's id in the kernel's BTF (which the checker read).
fn btf_attach(index: usize, spec: &ProgramSpec) -> Result<sys::BtfAttach, LoadError> {
    let (Some(btf_id), Some(a)) = (spec.attach_btf_id, spec.attaches.first()) else {
        return Err(LoadError::Program {
            program: index,
            message: format!(
                "internal error: tracing program {} has no kernel function to attach to",
                spec.name
            ),
        });
    };
    let attach_type = if a.kind.descriptor().ret {
        sys::BPF_TRACE_FEXIT
    } else {
        sys::BPF_TRACE_FENTRY
    };
    Ok(sys::BtfAttach {
        attach_type,
        btf_id,
    })
}

fn map_error(spec: &MapSpec, e: &io::Error) -> String {
    let name = &spec.name;
    match e.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) => format!(
            "cannot create BPF map {name}: permission denied; scry must run as root (or with \
             CAP_BPF and CAP_PERFMON)"
        ),
        Some(libc::ENOMEM) => format!(
            "cannot create BPF map {name} ({} entries of {} bytes): the kernel is out of memory \
             for it; lower BPFTRACE_MAP_KEYS_MAX",
            spec.max_entries, spec.value_size
        ),
        Some(libc::EMFILE | libc::ENFILE) => format!(
            "cannot create BPF map {name}: too many open files; raise the limit with ulimit -n"
        ),
        // The kernel refuses stacks deeper than kernel.perf_event_max_stack.
        Some(libc::EINVAL) if spec.kind == MapKind::StackTrace => format!(
            "cannot create BPF map {name}: stacks of {} frames are more than this kernel's \
             kernel.perf_event_max_stack allows; lower the stack limit or raise it with \
             sysctl kernel.perf_event_max_stack=<new value>",
            spec.value_size / 8
        ),
        Some(errno) => format!(
            "cannot create BPF map {name}: {}",
            sys::errno_text(errno).to_lowercase()
        ),
        None => format!("cannot create BPF map {name}: {e}"),
    }
}

/// Why `spec` did not load; `log_size` is the verifier log buffer it had.
fn program_error(
    index: usize,
    spec: &ProgramSpec,
    failure: sys::LoadFailure,
    log_size: usize,
) -> LoadError {
    let name = probe_label(spec);
    if let Some((insn, reason)) = parse_verifier_log(&failure.log) {
        return LoadError::Verifier {
            program: index,
            insn,
            reason,
            log: failure.log,
        };
    }
    let message = match failure.errno {
        // Root loads every other program type; a tracing program refused before the verifier
        // wrote a line is this kernel refusing fentry/fexit as such.
        libc::EPERM if spec.prog_type == ProgType::Tracing && failure.log.trim().is_empty() => {
            fentry_refused(spec)
        }
        libc::EPERM | libc::EACCES => format!(
            "cannot load BPF program {name}: permission denied; scry must run as root (or with \
             CAP_BPF and CAP_PERFMON)"
        ),
        libc::E2BIG => format!("cannot load BPF program {name}: it is too large for the kernel"),
        // With -v the log is kept whole, and the kernel refuses a program whose log overflows.
        libc::ENOSPC => format!(
            "Error loading program: {name}: verification log buffer not big enough, try \
             increasing the BPFTRACE_LOG_SIZE environment variable beyond the current value of \
             {log_size} bytes"
        ),
        errno => format!(
            "cannot load BPF program {name}: the kernel refused it ({})",
            sys::errno_text(errno).to_lowercase()
        ),
    };
    LoadError::Program {
        program: index,
        message,
    }
}

/// The probe a program runs for, as messages name it (bpftrace's "Error loading program:
/// BEGIN"): BEGIN, END, or its first attach point.
fn probe_label(spec: &ProgramSpec) -> String {
    match (spec.trigger, spec.attaches.first()) {
        (Trigger::Begin, _) => "BEGIN".into(),
        (Trigger::End, _) => "END".into(),
        (_, Some(a)) => a.name.clone(),
        (_, None) => spec.name.clone(),
    }
}

/// The sentence for a kernel that refuses fentry/fexit programs, naming the probe and the
/// syscall tracepoint to use instead when the function implements a syscall.
fn fentry_refused(spec: &ProgramSpec) -> String {
    let Some(a) = spec.attaches.first() else {
        return format!(
            "cannot load BPF program {}: this kernel refuses fentry/fexit programs",
            spec.name
        );
    };
    let alternative = match &a.target {
        Target::KernelFunction { func, .. } => {
            crate::syscall_hint::syscall_tracepoint(func, a.kind.descriptor().ret)
        }
        _ => None,
    }
    .unwrap_or_else(|| "tracepoints (scry -l 'tracepoint:*')".to_string());
    format!(
        "{} cannot load: this kernel refuses fentry/fexit programs (BPF_PROG_LOAD fails with \
         EPERM before the verifier runs, even for root), so kfunc and kretfunc probes are \
         unavailable; use {alternative} instead",
        a.name
    )
}

/// Finds the verifier's reason line (the last non-empty line that is not a summary such as
/// `processed N insns ...`) and the rejected instruction (the last `N: (op) ...` line before
/// it). `None` for an empty log.
pub fn parse_verifier_log(log: &str) -> Option<(Option<usize>, String)> {
    let lines: Vec<&str> = log.lines().map(str::trim_end).collect();
    // Summaries and register-state dumps follow the reason (e.g. after "infinite loop
    // detected at insn N" come "cur state:" and "old state:" lines).
    let is_summary = |l: &str| {
        let l = l.trim_start();
        l.starts_with("processed ")
            || l.starts_with("verification time ")
            || l.starts_with("stack depth ")
            || l.starts_with("old state:")
            || l.starts_with("cur state:")
            || (l.starts_with('R')
                && l[1..].starts_with(|c: char| c.is_ascii_digit())
                && l.contains('='))
    };
    let reason_at = lines
        .iter()
        .rposition(|l| !l.trim().is_empty() && !is_summary(l))?;
    let insn = lines[..reason_at].iter().rev().find_map(|l| insn_line(l));
    Some((insn, lines[reason_at].trim().to_string()))
}

/// The index of an instruction line `N: (op) ...` of the verifier log.
fn insn_line(line: &str) -> Option<usize> {
    let (n, rest) = line.split_once(": (")?;
    let op = rest.get(..3)?;
    if !op.ends_with(')') || !op[..2].bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    n.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_log_parsing() {
        let log = "func#0 @0\n\
                   0: R1=ctx() R10=fp0\n\
                   0: (b7) r0 = 0                        ; R0_w=0\n\
                   1: (bf) r1 = r0                       ; R0_w=0 R1_w=0\n\
                   2: (b7) r3 = 1\n\
                   3: (bf) r1 = r2\n\
                   R2 !read_ok\n\
                   processed 4 insns (limit 1000000) max_states_per_insn 0 total_states 0 \
                   peak_states 0 mark_read 0\n";
        assert_eq!(
            parse_verifier_log(log),
            Some((Some(3), "R2 !read_ok".to_string()))
        );
        assert_eq!(
            parse_verifier_log("unknown opcode 00\n"),
            Some((None, "unknown opcode 00".to_string()))
        );
        assert_eq!(parse_verifier_log(""), None);
        assert_eq!(insn_line("12: (85) call bpf_map_lookup_elem#1"), Some(12));
        assert_eq!(insn_line("0: R1=ctx() R10=fp0"), None);
    }
}
