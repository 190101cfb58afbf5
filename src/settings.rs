//! Settings from the environment, under bpftrace's names. Every value that sizes something
//! (a buffer, a map, the ring buffer) is bounded: out of range is one sentence naming the
//! variable and its range, never a value changed in silence.

use scry_runtime::load::{DEFAULT_LOG_SIZE, MAX_LOG_SIZE};

/// BPFTRACE_STRLEN: default and maximum.
const STRLEN_DEFAULT: u64 = 64;
const STRLEN_MAX: u64 = 200;
/// BPFTRACE_MAP_KEYS_MAX: the kernel refuses hash maps of more than 2^30 buckets.
const MAP_KEYS_MAX: u64 = 1 << 30;
/// The ring buffer (BPFTRACE_PERF_RB_PAGES pages per CPU) is at most 1 GiB.
const RINGBUF_MAX: u64 = 1 << 30;
/// BPFTRACE_CAT_BYTES_MAX: `cat()` reads this much into memory for each record.
const CAT_BYTES_MAX: u64 = 64 << 20;

/// The environment settings scry honours.
#[derive(Clone, Debug)]
pub struct Settings {
    /// BPFTRACE_STRLEN: bytes of `str()` buffers, NUL included.
    pub strlen: usize,
    /// BPFTRACE_MAP_KEYS_MAX: entries of each map.
    pub map_keys_max: u32,
    /// BPFTRACE_PERF_RB_PAGES: ring-buffer pages per CPU (64 when not set).
    pub rb_pages: u32,
    /// BPFTRACE_PERF_RB_PAGES was set: the ring buffer is that size exactly, not sized by
    /// what the program sends ([`crate::ring`]).
    pub rb_pages_set: bool,
    /// BPFTRACE_CAT_BYTES_MAX: most bytes `cat()` prints.
    pub cat_bytes_max: usize,
    /// BPFTRACE_LOG_SIZE: bytes of the verifier log buffer.
    pub log_size: usize,
    /// __BPFTRACE_NOTIFY_PROBES_ATTACHED is set.
    pub notify_attached: bool,
    /// BPFTRACE_MAX_PROBES: most attachments a program may make.
    pub max_probes: u64,
}

impl Settings {
    /// Reads the environment; a bad value is one sentence.
    pub fn from_env() -> Result<Settings, String> {
        let strlen = number("BPFTRACE_STRLEN", STRLEN_DEFAULT)?;
        if strlen > STRLEN_MAX {
            return Err(format!(
                "'BPFTRACE_STRLEN' {strlen} exceeds the current maximum of {STRLEN_MAX} bytes."
            ));
        }
        let rb_pages = bounded("BPFTRACE_PERF_RB_PAGES", 64, 1, RINGBUF_MAX / 4096)?;
        if !rb_pages.is_power_of_two() {
            return Err(format!(
                "BPFTRACE_PERF_RB_PAGES must be a power of two, not {rb_pages}"
            ));
        }
        let ring = ringbuf_size(rb_pages);
        if ring > RINGBUF_MAX {
            return Err(format!(
                "BPFTRACE_PERF_RB_PAGES {rb_pages} makes a ring buffer of {ring} bytes on {} CPUs, more than the maximum of {RINGBUF_MAX}",
                cpus()
            ));
        }
        Ok(Settings {
            strlen: strlen.max(1) as usize,
            map_keys_max: bounded("BPFTRACE_MAP_KEYS_MAX", 4096, 1, MAP_KEYS_MAX)? as u32,
            rb_pages: rb_pages as u32,
            rb_pages_set: std::env::var_os("BPFTRACE_PERF_RB_PAGES").is_some(),
            cat_bytes_max: bounded("BPFTRACE_CAT_BYTES_MAX", 10 * 1024, 1, CAT_BYTES_MAX)? as usize,
            log_size: bounded(
                "BPFTRACE_LOG_SIZE",
                DEFAULT_LOG_SIZE as u64,
                1,
                MAX_LOG_SIZE as u64,
            )? as usize,
            notify_attached: std::env::var_os("__BPFTRACE_NOTIFY_PROBES_ATTACHED").is_some(),
            max_probes: number("BPFTRACE_MAX_PROBES", 512)?,
        })
    }

    /// The ring buffer's size in bytes: the pages of every CPU, a power of two.
    pub fn ringbuf_bytes(&self) -> u32 {
        ringbuf_size(self.rb_pages as u64) as u32
    }
}

fn cpus() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get()) as u64
}

/// `pages` per CPU, in bytes, rounded up to a power of two.
fn ringbuf_size(pages: u64) -> u64 {
    (pages * 4096 * cpus()).next_power_of_two()
}

fn number(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name} must be a whole number, not '{v}'")),
        Err(_) => Ok(default),
    }
}

/// [`number`], which must lie in `min..=max`.
fn bounded(name: &str, default: u64, min: u64, max: u64) -> Result<u64, String> {
    let n = number(name, default)?;
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{name} must be between {min} and {max}, not {n}"))
    }
}
