//! Settings from the environment, under bpftrace's names.

/// Default and maximum of BPFTRACE_STRLEN.
const STRLEN_DEFAULT: usize = 64;
const STRLEN_MAX: usize = 200;

/// The environment settings scry honours.
#[derive(Clone, Debug)]
pub struct Settings {
    /// BPFTRACE_STRLEN: bytes of `str()` buffers, NUL included.
    pub strlen: usize,
    /// BPFTRACE_MAP_KEYS_MAX: entries of each map.
    pub map_keys_max: u32,
    /// BPFTRACE_PERF_RB_PAGES: ring-buffer pages per CPU.
    pub rb_pages: u32,
    /// BPFTRACE_CAT_BYTES_MAX: most bytes `cat()` prints.
    pub cat_bytes_max: usize,
    /// __BPFTRACE_NOTIFY_PROBES_ATTACHED is set.
    pub notify_attached: bool,
    /// BPFTRACE_MAX_PROBES: most attachments a program may make.
    pub max_probes: u64,
}

impl Settings {
    /// Reads the environment; a bad value is one sentence.
    pub fn from_env() -> Result<Settings, String> {
        let strlen = number("BPFTRACE_STRLEN", STRLEN_DEFAULT as u64)? as usize;
        if strlen > STRLEN_MAX {
            return Err(format!(
                "'BPFTRACE_STRLEN' {strlen} exceeds the current maximum of {STRLEN_MAX} bytes."
            ));
        }
        let rb_pages = number("BPFTRACE_PERF_RB_PAGES", 64)?;
        if rb_pages == 0 || !rb_pages.is_power_of_two() {
            return Err(format!(
                "BPFTRACE_PERF_RB_PAGES must be a power of two, not {rb_pages}"
            ));
        }
        Ok(Settings {
            strlen: strlen.max(1),
            map_keys_max: number("BPFTRACE_MAP_KEYS_MAX", 4096)?.clamp(1, u32::MAX as u64) as u32,
            rb_pages: rb_pages.min(1 << 20) as u32,
            cat_bytes_max: number("BPFTRACE_CAT_BYTES_MAX", 10 * 1024)? as usize,
            notify_attached: std::env::var_os("__BPFTRACE_NOTIFY_PROBES_ATTACHED").is_some(),
            max_probes: number("BPFTRACE_MAX_PROBES", 512)?,
        })
    }

    /// The ring buffer's size in bytes: the pages of every CPU, a power of two.
    pub fn ringbuf_bytes(&self) -> u32 {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
        let bytes = (self.rb_pages as u64 * 4096 * cpus).next_power_of_two();
        bytes.min(1 << 30) as u32
    }
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
