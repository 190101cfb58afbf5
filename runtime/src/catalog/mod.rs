//! [`LiveCatalog`]: the checker's questions answered from the running system.

mod binaries;
mod boundary;
pub(crate) mod btf;
mod dwarf;
mod elf;
mod glob;
mod headers;
mod kernel_functions;
mod ld_cache;
mod tracefs;

use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use scry_lang::catalog::{Catalog, KernelFunction, UsdtProbe, UserFunction, UserSymbol};
use scry_lang::cdefs::CRecord;
use scry_lang::tracepoint_format::TracepointFormat;

use ld_cache::LdCacheEntry;

/// The running system as a [`Catalog`]: tracepoints from tracefs, kernel functions from
/// ftrace or `/proc/kallsyms`, uprobe/usdt targets from the file system, `/etc/ld.so.cache`
/// and `/proc/PID`, symbols and USDT probes from ELF files.
///
/// Every answer is cached in the instance, so asking twice reads the system once; make a new
/// instance to see changes. tracefs is mounted (when scry is root and it is not mounted yet)
/// only when a tracepoint question is asked.
#[derive(Debug, Default)]
pub struct LiveCatalog {
    tracefs: OnceCell<PathBuf>,
    categories: OnceCell<Vec<String>>,
    events: RefCell<HashMap<String, Vec<String>>>,
    formats: RefCell<HashMap<(String, String), Option<TracepointFormat>>>,
    kernel_functions: OnceCell<Vec<String>>,
    ld_cache: OnceCell<Result<Vec<LdCacheEntry>, String>>,
    binaries: RefCell<HashMap<(String, Option<u32>), String>>,
    symbols: RefCell<HashMap<String, Vec<UserSymbol>>>,
    usdt: RefCell<HashMap<String, Vec<UsdtProbe>>>,
    segments: RefCell<HashMap<String, Vec<elf::Segment>>>,
    btf: OnceCell<Result<btf::KernelBtf, String>>,
    records: RefCell<HashMap<String, Option<CRecord>>>,
    /// The DWARF function index of each binary asked about (errors kept too: asking again
    /// would read the file again to fail the same way).
    dwarf: RefCell<HashMap<String, Arc<Result<dwarf::DwarfIndex, String>>>>,
    user_functions: RefCell<HashMap<(String, String), Option<UserFunction>>>,
}

impl LiveCatalog {
    /// A catalog that has read nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Kernel functions that kfunc/kretfunc probes could name: those BTF describes, sorted.
    pub fn btf_functions(&self) -> Result<Vec<String>, String> {
        let btf = self.btf.get_or_init(btf::KernelBtf::open).as_ref()?;
        Ok(btf.function_names())
    }

    /// The tracefs directory (`/sys/kernel/tracing` or `/sys/kernel/debug/tracing`),
    /// mounting tracefs at `/sys/kernel/tracing` first if it is not mounted and scry is root.
    pub fn tracefs(&self) -> Result<&Path, String> {
        if let Some(dir) = self.tracefs.get() {
            return Ok(dir);
        }
        let dir = tracefs::find_or_mount()?;
        Ok(self.tracefs.get_or_init(|| dir))
    }
}

/// The value in `cell`, computing and storing it on first use; errors are not stored.
fn cached<T: Clone>(
    cell: &OnceCell<T>,
    compute: impl FnOnce() -> Result<T, String>,
) -> Result<T, String> {
    if let Some(value) = cell.get() {
        return Ok(value.clone());
    }
    let value = compute()?;
    Ok(cell.get_or_init(|| value).clone())
}

/// The value for `key` in `map`, computing and storing it on first use; errors are not
/// stored.
fn cached_in<K: Eq + Hash, V: Clone>(
    map: &RefCell<HashMap<K, V>>,
    key: K,
    compute: impl FnOnce() -> Result<V, String>,
) -> Result<V, String> {
    if let Some(value) = map.borrow().get(&key) {
        return Ok(value.clone());
    }
    let value = compute()?;
    map.borrow_mut().insert(key, value.clone());
    Ok(value)
}

impl Catalog for LiveCatalog {
    fn tracepoint_categories(&self) -> Result<Vec<String>, String> {
        cached(&self.categories, || tracefs::categories(self.tracefs()?))
    }

    fn tracepoint_events(&self, category: &str) -> Result<Vec<String>, String> {
        cached_in(&self.events, category.to_string(), || {
            tracefs::events(self.tracefs()?, category)
        })
    }

    fn tracepoint_format(
        &self,
        category: &str,
        event: &str,
    ) -> Result<Option<TracepointFormat>, String> {
        cached_in(
            &self.formats,
            (category.to_string(), event.to_string()),
            || tracefs::format(self.tracefs()?, category, event),
        )
    }

    fn tracepoint_id(&self, category: &str, event: &str) -> Result<Option<u64>, String> {
        tracefs::id(self.tracefs()?, category, event)
    }

    fn kernel_functions(&self) -> Result<Vec<String>, String> {
        cached(&self.kernel_functions, || {
            // Only a tracefs that is already mounted: this question does not mount it.
            let mounted = self.tracefs.get().cloned().or_else(tracefs::find_mounted);
            kernel_functions::list(mounted.as_deref())
        })
    }

    fn resolve_binary(&self, target: &str, pid: Option<u32>) -> Result<String, String> {
        cached_in(&self.binaries, (target.to_string(), pid), || {
            binaries::resolve(target, pid, || {
                self.ld_cache.get_or_init(ld_cache::read_system)
            })
        })
    }

    fn user_symbols(&self, path: &str) -> Result<Vec<UserSymbol>, String> {
        cached_in(&self.symbols, path.to_string(), || elf::user_symbols(path))
    }

    fn usdt_probes(&self, path: &str) -> Result<Vec<UsdtProbe>, String> {
        cached_in(&self.usdt, path.to_string(), || elf::usdt_probes(path))
    }

    fn file_offset(&self, path: &str, vaddr: u64) -> Result<u64, String> {
        let segments = cached_in(&self.segments, path.to_string(), || elf::segments(path))?;
        elf::file_offset(&segments, path, vaddr)
    }

    fn instruction_start(
        &self,
        path: &str,
        address: u64,
        offset: u64,
        name: &str,
    ) -> Result<(), String> {
        let segments = cached_in(&self.segments, path.to_string(), || elf::segments(path))?;
        // The longest instruction is 15 bytes.
        let code = elf::code_at(&segments, path, address, offset + 15)?;
        if (code.len() as u64) <= offset {
            return Err(format!(
                "offset {offset} of '{name}' is not in a loadable segment of {path}"
            ));
        }
        boundary::check_boundary(&code, offset, name)
    }

    fn kernel_record(&self, name: &str) -> Result<Option<CRecord>, String> {
        cached_in(&self.records, name.to_string(), || {
            let btf = self.btf.get_or_init(btf::KernelBtf::open).as_ref()?;
            Ok(btf.record(name))
        })
    }

    fn kernel_function(&self, name: &str) -> Result<Option<KernelFunction>, String> {
        let btf = self.btf.get_or_init(btf::KernelBtf::open).as_ref()?;
        Ok(btf.function(name))
    }

    fn cgroup_id(&self, path: &str) -> Result<u64, String> {
        crate::cgroups::cgroup_id(path)
    }

    fn user_function(&self, path: &str, func: &str) -> Result<Option<UserFunction>, String> {
        let index = cached_in(&self.dwarf, path.to_string(), || {
            Ok(Arc::new(dwarf::DwarfIndex::open(path)))
        })?;
        match &*index {
            Ok(index) => cached_in(
                &self.user_functions,
                (path.to_string(), func.to_string()),
                || index.function(path, func),
            ),
            Err(e) => Err(e.clone()),
        }
    }

    fn user_record(&self, path: &str, name: &str) -> Result<BTreeMap<String, CRecord>, String> {
        let index = cached_in(&self.dwarf, path.to_string(), || {
            Ok(Arc::new(dwarf::DwarfIndex::open(path)))
        })?;
        match &*index {
            Ok(index) => index.record(path, name),
            Err(e) => Err(e.clone()),
        }
    }

    fn kernel_enum_value(&self, name: &str) -> Result<Option<i64>, String> {
        let btf = self.btf.get_or_init(btf::KernelBtf::open).as_ref()?;
        Ok(btf.enum_value(name))
    }

    fn find_header(
        &self,
        name: &str,
        quoted: bool,
        from: Option<&str>,
        dirs: &[String],
    ) -> Option<String> {
        headers::find(name, quoted, from, dirs)
    }

    fn read_header(&self, path: &str, max_bytes: usize) -> Result<String, String> {
        headers::read(path, max_bytes)
    }

    fn glob_files(&self, pattern: &str) -> Result<Vec<String>, String> {
        Ok(glob::files(pattern))
    }

    fn kernel_symbol_address(&self, name: &str) -> Result<Option<u64>, String> {
        let table = crate::symbols::kernel::KernelSymbols::get();
        if table.is_empty() {
            return Err(
                "cannot read kernel symbol addresses from /proc/kallsyms (unreadable, or hidden by kernel.kptr_restrict)"
                    .to_string(),
            );
        }
        Ok(table.address(name))
    }
}

/// The mounted tracefs, if any (without mounting it).
pub fn find_tracefs() -> Option<std::path::PathBuf> {
    tracefs::find_mounted()
}

/// The tracefs mount point, mounting tracefs first when it is missing (and scry is root).
pub fn find_or_mount_tracefs() -> Result<std::path::PathBuf, String> {
    tracefs::find_or_mount()
}
