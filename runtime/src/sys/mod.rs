//! Every unsafe call of scry, each behind a safe function with its SAFETY reasoning: the
//! bpf(2) syscall (here), the CPU lists the kernel publishes, and in submodules the `-c` child,
//! signals and waiting, uprobe_multi links, USDT perf events, clocks, file-system calls and
//! aya's unsafe constructors. Everything else in scry is safe code (`unsafe_code` is denied
//! outside this module).
//!
//! scry creates maps and loads programs itself, with the layouts of the kernel's uapi
//! `union bpf_attr` (each command's member as its own `#[repr(C)]` struct, zero-initialised so
//! every padding byte and unused field is zero, as the kernel requires). aya then attaches the
//! loaded programs and reads maps and the ring buffer; see [`crate::load`] for why.

mod attr;
pub mod aya_handles;
pub mod child;
pub mod clock;
pub mod fs;
pub mod process;
pub mod uprobe_multi;
pub(crate) mod usdt_attach;
pub mod wait;

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use scry_ebpf::object::{MapKind, MapSpec, ProgType};

use attr::{
    EnableStatsAttr, MapBatchAttr, MapCreateAttr, MapElemAttr, ObjInfoAttr, ProgInfo, ProgLoadAttr,
    RawTracepointOpenAttr, TestRunAttr,
};

/// `BPF_OBJ_NAME_LEN`: object names hold 15 bytes and a NUL.
const OBJ_NAME_LEN: usize = 16;

/// The bpf(2) commands scry uses.
#[derive(Clone, Copy)]
#[repr(u32)]
enum Cmd {
    MapCreate = 0,
    MapLookupElem = 1,
    MapUpdateElem = 2,
    MapDeleteElem = 3,
    MapGetNextKey = 4,
    ProgLoad = 5,
    ProgTestRun = 10,
    ObjGetInfoByFd = 15,
    RawTracepointOpen = 17,
    MapLookupBatch = 24,
    EnableStats = 32,
}

/// Calls bpf(2) with `attr`, which must be the `#[repr(C)]` member of `union bpf_attr` for `cmd`.
fn bpf<T>(cmd: Cmd, attr: &mut T) -> io::Result<i64> {
    // SAFETY: `attr` points to a live, initialised value of `size_of::<T>()` bytes laid out as
    // the kernel's member of `union bpf_attr` for `cmd`; the pointers inside it point to
    // buffers that outlive the call and are as large as the sizes given next to them.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as u32,
            attr as *mut T,
            std::mem::size_of::<T>() as u32,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Calls bpf(2) for a command that returns a new file descriptor.
fn bpf_fd<T>(cmd: Cmd, attr: &mut T) -> io::Result<OwnedFd> {
    let fd = bpf(cmd, attr)?;
    // SAFETY: on success these commands return a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// A kernel object name: at most 15 bytes of `[A-Za-z0-9_.]` (others become `_`), NUL-padded.
fn obj_name(name: &str) -> [u8; OBJ_NAME_LEN] {
    let mut out = [0u8; OBJ_NAME_LEN];
    for (slot, b) in out.iter_mut().zip(name.bytes().take(OBJ_NAME_LEN - 1)) {
        *slot = if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' {
            b
        } else {
            b'_'
        };
    }
    out
}

/// The size in bytes the kernel uses for a ring buffer asked to hold `bytes`: a power of two
/// and at least one page.
pub fn ringbuf_size(bytes: u32) -> u32 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u32;
    bytes
        .max(page)
        .checked_next_power_of_two()
        .unwrap_or(1 << 31)
}

/// The largest verifier log every kernel accepts (`UINT_MAX >> 8`; 5.2 and later take more).
pub const MAX_LOG_SIZE: usize = u32::MAX as usize >> 8;

/// `map_flags`: allocate hash entries on insert.
const BPF_F_NO_PREALLOC: u32 = 1;

/// Creates the map `spec` describes (a ring buffer's `max_entries` is its size in bytes,
/// rounded up with [`ringbuf_size`]).
pub fn map_create(spec: &MapSpec) -> io::Result<OwnedFd> {
    let ringbuf = spec.kind == MapKind::RingBuf;
    let mut attr = MapCreateAttr {
        map_type: spec.kind as u32,
        key_size: if ringbuf { 0 } else { spec.key_size },
        value_size: if ringbuf { 0 } else { spec.value_size },
        max_entries: if ringbuf {
            ringbuf_size(spec.max_entries)
        } else {
            spec.max_entries
        },
        map_name: obj_name(&spec.name),
        // Hash maps allocate entries as they are created: memory (and the memlock bpftrace
        // users compare) grows with the keys used, not with BPFTRACE_MAP_KEYS_MAX.
        map_flags: if matches!(spec.kind, MapKind::Hash | MapKind::PerCpuHash) {
            BPF_F_NO_PREALLOC
        } else {
            0
        },
        ..Default::default()
    };
    bpf_fd(Cmd::MapCreate, &mut attr)
}

/// Whether the kernel creates a map of type `map_type` (`BPF_MAP_TYPE_*`, one entry of these
/// sizes): a feature probe.
pub fn map_type_supported(map_type: u32, key_size: u32, value_size: u32) -> bool {
    let mut attr = MapCreateAttr {
        map_type,
        key_size,
        value_size,
        max_entries: 1,
        ..Default::default()
    };
    bpf_fd(Cmd::MapCreate, &mut attr).is_ok()
}

/// Why the kernel refused a program: the errno and the verifier log (empty when the kernel
/// wrote none, e.g. for a permission error).
#[derive(Debug)]
pub struct LoadFailure {
    /// The errno of the failed `BPF_PROG_LOAD`.
    pub errno: i32,
    /// The verifier log of the failed attempt.
    pub log: String,
}

/// A program the kernel accepted.
#[derive(Debug)]
pub struct LoadedProg {
    /// The program's file descriptor.
    pub fd: OwnedFd,
    /// The verifier log, when one was asked for (`log_level > 0`); empty otherwise.
    pub log: String,
}

/// What a tracing program is loaded for: `expected_attach_type` (`BPF_TRACE_FENTRY` or
/// `BPF_TRACE_FEXIT`) and the BTF id of the kernel function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BtfAttach {
    /// `expected_attach_type`.
    pub attach_type: u32,
    /// The function's id in the kernel's BTF.
    pub btf_id: u32,
}

/// `BPF_TRACE_FENTRY`.
pub const BPF_TRACE_FENTRY: u32 = 24;
/// `BPF_TRACE_FEXIT`.
pub const BPF_TRACE_FEXIT: u32 = 25;

/// Loads a program with the GPL license (`btf`: the function a tracing program is for).
///
/// `insns` is the encoded instructions (8 bytes each; see [`scry_ebpf::insn::encode`]). With
/// `log_level` 0 the first attempt runs without a log (it is faster) and only a failure is
/// retried with a log of `log_size` bytes at level 1; with `log_level` 1 or 2 the only attempt
/// writes the log at that level, and the log is returned on success too (`-v`).
pub fn prog_load(
    prog_type: ProgType,
    btf: Option<BtfAttach>,
    insns: &[u8],
    name: &str,
    log_level: u32,
    log_size: usize,
) -> Result<LoadedProg, LoadFailure> {
    if log_level == 0 {
        if let Ok(fd) = prog_load_once(prog_type, btf, insns, name, 0, &mut []) {
            return Ok(LoadedProg {
                fd,
                log: String::new(),
            });
        }
    }
    let mut buf = vec![0u8; log_size.clamp(128, MAX_LOG_SIZE)];
    let result = prog_load_once(prog_type, btf, insns, name, log_level.max(1), &mut buf);
    let log = CStr::from_bytes_until_nul(&buf)
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_else(|_| String::from_utf8_lossy(&buf).into_owned());
    match result {
        Ok(fd) => Ok(LoadedProg {
            fd,
            log: if log_level > 0 { log } else { String::new() },
        }),
        Err(e) => Err(LoadFailure {
            errno: e.raw_os_error().unwrap_or(libc::EINVAL),
            log,
        }),
    }
}

fn prog_load_once(
    prog_type: ProgType,
    btf: Option<BtfAttach>,
    insns: &[u8],
    name: &str,
    log_level: u32,
    log: &mut [u8],
) -> io::Result<OwnedFd> {
    const LICENSE: &CStr = c"GPL";
    let mut attr = ProgLoadAttr {
        prog_type: prog_type as u32,
        insn_cnt: (insns.len() / 8) as u32,
        insns: insns.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        log_level: if log.is_empty() { 0 } else { log_level },
        log_size: log.len() as u32,
        log_buf: if log.is_empty() {
            0
        } else {
            log.as_mut_ptr() as u64
        },
        prog_name: obj_name(name),
        expected_attach_type: btf.map_or(0, |b| b.attach_type),
        attach_btf_id: btf.map_or(0, |b| b.btf_id),
        ..Default::default()
    };
    bpf_fd(Cmd::ProgLoad, &mut attr)
}

/// Attaches a tracing (fentry/fexit) program to the kernel function it was loaded for; the
/// returned link detaches when closed.
pub fn tracing_attach(prog: BorrowedFd) -> io::Result<OwnedFd> {
    let mut attr = RawTracepointOpenAttr {
        name: 0,
        prog_fd: prog.as_raw_fd() as u32,
        ..Default::default()
    };
    bpf_fd(Cmd::RawTracepointOpen, &mut attr)
}

/// The kernel's id of a loaded program (what `bpftool prog` shows).
pub fn prog_id(prog: BorrowedFd) -> io::Result<u32> {
    let mut info = ProgInfo::default();
    let mut attr = ObjInfoAttr {
        bpf_fd: prog.as_raw_fd() as u32,
        info_len: std::mem::size_of::<ProgInfo>() as u32,
        info: &mut info as *mut ProgInfo as u64,
    };
    bpf(Cmd::ObjGetInfoByFd, &mut attr)?;
    Ok(info.id)
}

/// Byte offset of `run_cnt` in `struct bpf_prog_info`.
const PROG_INFO_RUN_CNT: usize = 200;

/// How many times a program has run while run-time statistics were on ([`enable_run_stats`]
/// or `kernel.bpf_stats_enabled`).
pub fn prog_run_count(prog: BorrowedFd) -> io::Result<u64> {
    let mut info = [0u8; PROG_INFO_RUN_CNT + 8];
    let mut attr = ObjInfoAttr {
        bpf_fd: prog.as_raw_fd() as u32,
        info_len: info.len() as u32,
        info: info.as_mut_ptr() as u64,
    };
    bpf(Cmd::ObjGetInfoByFd, &mut attr)?;
    let mut cnt = [0u8; 8];
    cnt.copy_from_slice(&info[PROG_INFO_RUN_CNT..]);
    Ok(u64::from_ne_bytes(cnt))
}

/// `BPF_ENABLE_STATS` (`BPF_STATS_RUN_TIME`): programs count their runs while the returned fd
/// is open (needs CAP_SYS_ADMIN).
pub fn enable_run_stats() -> io::Result<OwnedFd> {
    let mut attr = EnableStatsAttr::default();
    bpf_fd(Cmd::EnableStats, &mut attr)
}

/// Runs a program once with `BPF_PROG_TEST_RUN` and an empty context, returning its r0. This
/// is how BEGIN and END programs run: they are loaded as raw tracepoint programs, whose test
/// run accepts an empty context and runs on the calling CPU.
pub fn prog_test_run(prog: BorrowedFd) -> io::Result<u32> {
    let mut attr = TestRunAttr {
        prog_fd: prog.as_raw_fd() as u32,
        ..Default::default()
    };
    bpf(Cmd::ProgTestRun, &mut attr)?;
    Ok(attr.retval)
}

/// `BPF_ANY`: create the element or update it.
pub const UPDATE_ANY: u64 = 0;
/// `BPF_NOEXIST`: create the element only if it does not exist.
pub const UPDATE_NOEXIST: u64 = 1;
/// `BPF_EXIST`: update the element only if it exists.
pub const UPDATE_EXIST: u64 = 2;

fn elem_attr(map: BorrowedFd, key: &[u8], value: u64, flags: u64) -> MapElemAttr {
    MapElemAttr {
        map_fd: map.as_raw_fd() as u32,
        key: if key.is_empty() {
            0
        } else {
            key.as_ptr() as u64
        },
        value,
        flags,
        ..Default::default()
    }
}

/// Reads the value at `key` into `value`; `Ok(false)` when there is no such key. For a
/// per-CPU map `value` must hold [`percpu_value_size`] bytes: one slot per possible CPU.
pub fn map_lookup(map: BorrowedFd, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
    let mut attr = elem_attr(map, key, value.as_mut_ptr() as u64, 0);
    not_found_is_false(bpf(Cmd::MapLookupElem, &mut attr))
}

/// Writes `value` at `key`; `flags` is one of [`UPDATE_ANY`], [`UPDATE_NOEXIST`],
/// [`UPDATE_EXIST`]. For a per-CPU map `value` holds one slot per possible CPU.
pub fn map_update(map: BorrowedFd, key: &[u8], value: &[u8], flags: u64) -> io::Result<()> {
    let mut attr = elem_attr(map, key, value.as_ptr() as u64, flags);
    bpf(Cmd::MapUpdateElem, &mut attr).map(drop)
}

/// Deletes `key`; `Ok(false)` when there was no such key.
pub fn map_delete(map: BorrowedFd, key: &[u8]) -> io::Result<bool> {
    let mut attr = elem_attr(map, key, 0, 0);
    not_found_is_false(bpf(Cmd::MapDeleteElem, &mut attr))
}

/// Writes the key after `key` (the first key when `key` is `None`) into `next`; `Ok(false)`
/// after the last key.
pub fn map_next_key(map: BorrowedFd, key: Option<&[u8]>, next: &mut [u8]) -> io::Result<bool> {
    let mut attr = elem_attr(map, key.unwrap_or(&[]), next.as_mut_ptr() as u64, 0);
    not_found_is_false(bpf(Cmd::MapGetNextKey, &mut attr))
}

/// Every key of a map, in the kernel's order, by `BPF_MAP_GET_NEXT_KEY`.
pub fn map_keys(map: BorrowedFd, key_size: usize) -> io::Result<Vec<Vec<u8>>> {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut next = vec![0u8; key_size];
    while map_next_key(map, keys.last().map(Vec::as_slice), &mut next)? {
        keys.push(next.clone());
    }
    Ok(keys)
}

/// Reads up to `count` elements starting at the batch position `token` (`None` for the
/// start) with `BPF_MAP_LOOKUP_BATCH`. Keys go to `keys` (`key_size` bytes each) and values to
/// `values` (`value_stride` bytes each); `token` receives the position to continue from
/// (it must hold at least 4 bytes, and `key_size` bytes for array maps). Returns how many
/// elements were read and whether the map is exhausted.
pub fn map_lookup_batch(
    map: BorrowedFd,
    start: Option<&[u8]>,
    token: &mut [u8],
    keys: &mut [u8],
    values: &mut [u8],
    count: u32,
) -> io::Result<(u32, bool)> {
    let mut attr = MapBatchAttr {
        in_batch: start.map_or(0, |s| s.as_ptr() as u64),
        out_batch: token.as_mut_ptr() as u64,
        keys: keys.as_mut_ptr() as u64,
        values: values.as_mut_ptr() as u64,
        count,
        map_fd: map.as_raw_fd() as u32,
        ..Default::default()
    };
    match bpf(Cmd::MapLookupBatch, &mut attr) {
        Ok(_) => Ok((attr.count, false)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok((attr.count, true)),
        Err(e) => Err(e),
    }
}

fn not_found_is_false(r: io::Result<i64>) -> io::Result<bool> {
    match r {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The bytes a per-CPU map's value takes in user space: `value_size` rounded up to 8, times
/// the number of possible CPUs.
pub fn percpu_value_size(value_size: u32, possible_cpus: u32) -> usize {
    (value_size as usize).next_multiple_of(8) * possible_cpus as usize
}

/// The number of CPU slots of a per-CPU map: the highest possible CPU plus one, from
/// `/sys/devices/system/cpu/possible`.
pub fn possible_cpus() -> io::Result<u32> {
    let cpus = read_cpu_list("/sys/devices/system/cpu/possible")?;
    Ok(cpus.iter().max().map_or(1, |m| m + 1))
}

/// The online CPUs, from `/sys/devices/system/cpu/online`.
pub fn online_cpus() -> io::Result<Vec<u32>> {
    read_cpu_list("/sys/devices/system/cpu/online")
}

fn read_cpu_list(path: &str) -> io::Result<Vec<u32>> {
    let text = std::fs::read_to_string(path)?;
    parse_cpu_list(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{path} is not a CPU list: {:?}", text.trim()),
        )
    })
}

/// Parses a kernel CPU list such as `0-3,8,10-11`.
fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.parse::<u32>().ok()?..=b.parse::<u32>().ok()?),
            None => cpus.push(part.parse().ok()?),
        }
    }
    Some(cpus)
}

/// Raises the soft limit on open files to the hard limit (every attached probe holds a file
/// descriptor, and wildcards attach hundreds); returns the new soft limit.
pub fn raise_open_file_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit for the kernel to fill and then read.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(io::Error::last_os_error());
        }
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(lim.rlim_cur)
}

/// The kernel's description of `errno`, without the `(os error N)` that Rust appends.
pub fn errno_text(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("0,2-3,7"), Some(vec![0, 2, 3, 7]));
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn names_are_cut_and_cleaned() {
        assert_eq!(&obj_name("p0_tracepoint")[..14], b"p0_tracepoint\0");
        let long = obj_name("a_very_long_map_name_indeed");
        assert_eq!(long[15], 0);
        assert_eq!(&long[..15], b"a_very_long_map");
        assert_eq!(&obj_name("@x:y")[..5], b"_x_y\0");
    }

    #[test]
    fn sizes() {
        assert_eq!(percpu_value_size(12, 2), 32);
        assert_eq!(ringbuf_size(5000), 8192);
        assert_eq!(errno_text(libc::ENOENT), "No such file or directory");
    }
}
