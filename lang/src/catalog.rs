//! The checker's only window on the live system: which probes exist and what they carry.
//!
//! `scry-runtime` implements [`Catalog`] for the running kernel (tracefs, kallsyms, ELF files);
//! tests use [`MemoryCatalog`], filled from fixture text.

use std::collections::BTreeMap;

use crate::cdefs::CRecord;
use crate::tracepoint_format::{parse_format, TracepointFormat};
use crate::types::Type;

/// A kernel function's prototype from BTF (the `args` of kfunc/kretfunc probes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelFunction {
    /// The function's id in the kernel's BTF: what an fentry/fexit program is loaded for.
    pub btf_id: u32,
    pub params: Vec<KernelParam>,
    /// The return type as C spells it (`ssize_t`, `void`).
    pub ret_c_type: String,
    /// The return type; `None` for `void` and types scry cannot hold.
    pub ret: Option<Type>,
}

/// One parameter of a [`KernelFunction`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelParam {
    pub name: String,
    /// The type as C spells it (`struct file *`, `size_t`).
    pub c_type: String,
    /// The type; `None` for types scry cannot hold (floats, structs passed by value).
    pub ty: Option<Type>,
    /// Bytes of the value (8 for pointers).
    pub size: u32,
}

/// A user-space function's parameters from the DWARF of its binary (the `args` of uprobes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserFunction {
    pub params: Vec<UserParam>,
    /// The structs and unions the parameters reach (through pointers and members), by the
    /// name their [`Type::Record`] carries (`struct point`, `struct #OFFSET` for an anonymous
    /// one).
    pub records: BTreeMap<String, CRecord>,
}

/// One parameter of a [`UserFunction`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserParam {
    pub name: String,
    /// The type as bpftrace spells DWARF types (`const char*`, `struct point*`, `long int`).
    pub c_type: String,
    /// Which of arg0..arg5 (x86-64: di, si, dx, cx, r8, r9) holds it with its type, or why a
    /// uprobe cannot read it (a float, a struct passed by value, a stack argument).
    pub access: Result<(u8, Type), String>,
    /// Bytes of the value.
    pub size: u32,
}

/// A symbol of an ELF file (for uprobes and `uaddr`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSymbol {
    pub name: String,
    /// ELF virtual address.
    pub address: u64,
    pub size: u64,
    /// Function (`true`) or data object.
    pub is_function: bool,
}

/// One USDT probe from an ELF `.note.stapsdt` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsdtProbe {
    pub provider: String,
    pub name: String,
    /// The argument specification, e.g. `-4@%eax 8@-16(%rbp)`.
    pub arguments: String,
    /// ELF virtual address of the probe instruction, already moved by the difference between
    /// the actual `.stapsdt.base` address and `base` (nonzero only after prelinking).
    pub pc: u64,
    /// The `.stapsdt.base` address recorded in the note.
    pub base: u64,
    /// ELF virtual address of the 2-byte semaphore counter, 0 when the probe has none.
    pub semaphore: u64,
}

/// What the checker may ask about the system. Every method answers `Err` with one clear
/// sentence when it cannot know (no tracefs, unreadable file, ...).
pub trait Catalog {
    /// Tracepoint categories (`syscalls`, `sched`, ...).
    fn tracepoint_categories(&self) -> Result<Vec<String>, String>;
    /// Events of one category.
    fn tracepoint_events(&self, category: &str) -> Result<Vec<String>, String>;
    /// The parsed format of one tracepoint; `Ok(None)` when it does not exist.
    fn tracepoint_format(
        &self,
        category: &str,
        event: &str,
    ) -> Result<Option<TracepointFormat>, String>;
    /// The event id of one tracepoint; `Ok(None)` when it does not exist.
    fn tracepoint_id(&self, category: &str, event: &str) -> Result<Option<u64>, String>;
    /// Kernel functions that kprobes could attach to.
    fn kernel_functions(&self) -> Result<Vec<String>, String>;
    /// Resolves a uprobe/usdt target (path or library name) to an absolute path.
    fn resolve_binary(&self, target: &str, pid: Option<u32>) -> Result<String, String>;
    /// Symbols of an ELF file.
    fn user_symbols(&self, path: &str) -> Result<Vec<UserSymbol>, String>;
    /// USDT probes of an ELF file.
    fn usdt_probes(&self, path: &str) -> Result<Vec<UsdtProbe>, String>;
    /// Where ELF virtual address `vaddr` of the file at `path` lies in the file (from the
    /// loadable segment that holds it): what the kernel's uprobes take.
    fn file_offset(&self, path: &str, vaddr: u64) -> Result<u64, String>;
    /// Whether `offset` bytes into function `name`, whose code starts at ELF virtual address
    /// `address` of the file at `path`, is where an instruction starts (a uprobe elsewhere
    /// would split an instruction); `Err` says why not, or why it cannot be told.
    fn instruction_start(
        &self,
        path: &str,
        address: u64,
        offset: u64,
        name: &str,
    ) -> Result<(), String>;
    /// The address of a kernel symbol (`kaddr`); `Ok(None)` when the kernel has no such
    /// symbol.
    fn kernel_symbol_address(&self, name: &str) -> Result<Option<u64>, String>;
    /// The layout of a kernel struct or union from BTF, by its full name (`struct
    /// task_struct`, `union X`, or a typedef's name); `Ok(None)` when the kernel has no such
    /// type. Fields of anonymous members are listed as fields of the record itself.
    fn kernel_record(&self, name: &str) -> Result<Option<CRecord>, String>;
    /// The id of the cgroup whose directory is `path` (`cgroupid`).
    fn cgroup_id(&self, path: &str) -> Result<u64, String>;
    /// The prototype of a kernel function from BTF (kfunc/kretfunc); `Ok(None)` when BTF
    /// describes no such function.
    fn kernel_function(&self, name: &str) -> Result<Option<KernelFunction>, String>;
    /// The parameters of function `func` of the ELF file at `path`, from its DWARF (or its
    /// separate debug file's); `Ok(None)` when the DWARF does not describe `func`, `Err` when
    /// the file has no DWARF that scry can read.
    fn user_function(&self, path: &str, func: &str) -> Result<Option<UserFunction>, String>;
    /// The struct or union `name` (`struct foo`) as the DWARF of the ELF file at `path`
    /// describes it, with the records its fields reach, by name; empty when the DWARF does not
    /// define it, `Err` when the file has no DWARF that scry can read.
    fn user_record(&self, path: &str, name: &str) -> Result<BTreeMap<String, CRecord>, String>;
    /// The value of enumerator `name` of a kernel enum (BTF); `Ok(None)` when the kernel has
    /// none of that name.
    fn kernel_enum_value(&self, name: &str) -> Result<Option<i64>, String>;
    /// Where the header an `#include` names is: a `quoted` one (`"name"`) is searched in
    /// `from` first (the including file's directory, `.` for the program), then both kinds in
    /// `dirs` (`-I`) and the system's include directories; `None` when it is nowhere.
    fn find_header(
        &self,
        name: &str,
        quoted: bool,
        from: Option<&str>,
        dirs: &[String],
    ) -> Option<String>;
    /// The text of the header [`Catalog::find_header`] found at `path`; `Err` when it cannot
    /// be read or holds more than `max_bytes` bytes.
    fn read_header(&self, path: &str, max_bytes: usize) -> Result<String, String>;
    /// The files a path with wildcards (`./bin/app*`, `/usr/lib/*/libc.so*`) matches, sorted,
    /// each spelled as the pattern spells its directories.
    fn glob_files(&self, pattern: &str) -> Result<Vec<String>, String>;
}

/// A catalog held in memory, for tests and tools.
#[derive(Clone, Debug, Default)]
pub struct MemoryCatalog {
    tracepoints: BTreeMap<String, BTreeMap<String, TracepointFormat>>,
    kernel_functions: Vec<String>,
    kernel_symbols: BTreeMap<String, u64>,
    kernel_records: BTreeMap<String, CRecord>,
    kernel_protos: BTreeMap<String, KernelFunction>,
    cgroups: BTreeMap<String, u64>,
    binaries: BTreeMap<String, (Vec<UserSymbol>, Vec<UsdtProbe>)>,
    user_functions: BTreeMap<(String, String), UserFunction>,
    user_records: BTreeMap<(String, String), CRecord>,
    kernel_enums: BTreeMap<String, i64>,
    headers: BTreeMap<String, String>,
}

impl MemoryCatalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tracepoint from the text of its tracefs `format` file.
    pub fn add_tracepoint(&mut self, category: &str, event: &str, format: &str) -> &mut Self {
        self.tracepoints
            .entry(category.to_string())
            .or_default()
            .insert(event.to_string(), parse_format(format));
        self
    }

    pub fn add_kernel_function(&mut self, name: &str) -> &mut Self {
        self.kernel_functions.push(name.to_string());
        self
    }

    /// Adds a kernel symbol at `address` (for `kaddr`).
    pub fn add_kernel_symbol(&mut self, name: &str, address: u64) -> &mut Self {
        self.kernel_symbols.insert(name.to_string(), address);
        self
    }

    /// Adds a kernel struct or union (as BTF would describe it), by its full name.
    pub fn add_kernel_record(&mut self, name: &str, record: CRecord) -> &mut Self {
        self.kernel_records.insert(name.to_string(), record);
        self
    }

    /// Adds a struct or union the DWARF of the binary at `path` defines.
    pub fn add_user_record(&mut self, path: &str, name: &str, record: CRecord) -> &mut Self {
        self.user_records
            .insert((path.to_string(), name.to_string()), record);
        self
    }

    /// Adds an enumerator of a kernel enum (as BTF would describe it).
    pub fn add_kernel_enum(&mut self, name: &str, value: i64) -> &mut Self {
        self.kernel_enums.insert(name.to_string(), value);
        self
    }

    /// Adds a kernel function's prototype (as BTF would describe it; kfunc probes).
    pub fn add_kernel_prototype(&mut self, name: &str, proto: KernelFunction) -> &mut Self {
        self.kernel_protos.insert(name.to_string(), proto);
        self
    }

    /// Adds a cgroup directory and its id (for `cgroupid`).
    pub fn add_cgroup(&mut self, path: &str, id: u64) -> &mut Self {
        self.cgroups.insert(path.to_string(), id);
        self
    }

    /// Adds an ELF file with its symbols and USDT probes, known by its absolute path.
    pub fn add_binary(
        &mut self,
        path: &str,
        symbols: Vec<UserSymbol>,
        usdt: Vec<UsdtProbe>,
    ) -> &mut Self {
        self.binaries.insert(path.to_string(), (symbols, usdt));
        self
    }

    /// Adds the DWARF description of function `func` of the binary at `path` (uprobe
    /// `args`); a binary with no function added has no DWARF.
    pub fn add_user_function(&mut self, path: &str, func: &str, f: UserFunction) -> &mut Self {
        self.user_functions
            .insert((path.to_string(), func.to_string()), f);
        self
    }

    /// Adds an empty header `#include` finds, by its path (a name relative to a directory it
    /// is searched in, or an absolute path).
    pub fn add_header(&mut self, path: &str) -> &mut Self {
        self.add_header_text(path, "")
    }

    /// Adds a header with its text.
    pub fn add_header_text(&mut self, path: &str, text: &str) -> &mut Self {
        self.headers.insert(path.to_string(), text.to_string());
        self
    }

    fn binary(&self, path: &str) -> Result<&(Vec<UserSymbol>, Vec<UsdtProbe>), String> {
        self.binaries
            .get(path)
            .ok_or_else(|| format!("'{path}' does not exist or is not an executable file"))
    }
}

impl Catalog for MemoryCatalog {
    fn tracepoint_categories(&self) -> Result<Vec<String>, String> {
        Ok(self.tracepoints.keys().cloned().collect())
    }

    fn tracepoint_events(&self, category: &str) -> Result<Vec<String>, String> {
        Ok(self
            .tracepoints
            .get(category)
            .map(|evs| evs.keys().cloned().collect())
            .unwrap_or_default())
    }

    fn tracepoint_format(
        &self,
        category: &str,
        event: &str,
    ) -> Result<Option<TracepointFormat>, String> {
        Ok(self
            .tracepoints
            .get(category)
            .and_then(|e| e.get(event))
            .cloned())
    }

    /// Files in memory are mapped at offset 0: an address is its own file offset.
    fn file_offset(&self, _path: &str, vaddr: u64) -> Result<u64, String> {
        Ok(vaddr)
    }

    /// Files in memory hold no code: every offset is taken as an instruction's start.
    fn instruction_start(&self, _: &str, _: u64, _: u64, _: &str) -> Result<(), String> {
        Ok(())
    }

    fn tracepoint_id(&self, category: &str, event: &str) -> Result<Option<u64>, String> {
        Ok(self
            .tracepoint_format(category, event)?
            .and_then(|f| f.id)
            .map(u64::from))
    }

    fn kernel_functions(&self) -> Result<Vec<String>, String> {
        Ok(self.kernel_functions.clone())
    }

    fn resolve_binary(&self, target: &str, _pid: Option<u32>) -> Result<String, String> {
        if self.binaries.contains_key(target) {
            return Ok(target.to_string());
        }
        self.binaries
            .keys()
            .find(|p| {
                let file = p.rsplit('/').next().unwrap_or(p);
                file == target
                    || file.starts_with(&format!("lib{target}.so"))
                    || file.starts_with(&format!("{target}.so"))
            })
            .cloned()
            .ok_or_else(|| format!("uprobe target '{target}' does not exist or is not executable"))
    }

    fn user_symbols(&self, path: &str) -> Result<Vec<UserSymbol>, String> {
        Ok(self.binary(path)?.0.clone())
    }

    fn usdt_probes(&self, path: &str) -> Result<Vec<UsdtProbe>, String> {
        Ok(self.binary(path)?.1.clone())
    }

    fn kernel_symbol_address(&self, name: &str) -> Result<Option<u64>, String> {
        Ok(self.kernel_symbols.get(name).copied())
    }

    fn kernel_record(&self, name: &str) -> Result<Option<CRecord>, String> {
        Ok(self.kernel_records.get(name).cloned())
    }

    fn user_record(&self, path: &str, name: &str) -> Result<BTreeMap<String, CRecord>, String> {
        Ok(self
            .user_records
            .get(&(path.to_string(), name.to_string()))
            .map(|r| BTreeMap::from([(name.to_string(), r.clone())]))
            .unwrap_or_default())
    }

    fn kernel_enum_value(&self, name: &str) -> Result<Option<i64>, String> {
        Ok(self.kernel_enums.get(name).copied())
    }

    fn cgroup_id(&self, path: &str) -> Result<u64, String> {
        self.cgroups.get(path).copied().ok_or_else(|| {
            format!("cannot get the cgroup id of '{path}': no such file or directory")
        })
    }

    fn kernel_function(&self, name: &str) -> Result<Option<KernelFunction>, String> {
        Ok(self.kernel_protos.get(name).cloned())
    }

    fn user_function(&self, path: &str, func: &str) -> Result<Option<UserFunction>, String> {
        if !self.user_functions.keys().any(|(p, _)| p == path) {
            return Err(format!("'{path}' has no DWARF debug information"));
        }
        Ok(self
            .user_functions
            .get(&(path.to_string(), func.to_string()))
            .cloned())
    }

    fn glob_files(&self, pattern: &str) -> Result<Vec<String>, String> {
        Ok(self
            .binaries
            .keys()
            .filter(|p| crate::glob::glob_match(pattern, p))
            .cloned()
            .collect())
    }

    fn find_header(
        &self,
        name: &str,
        quoted: bool,
        from: Option<&str>,
        dirs: &[String],
    ) -> Option<String> {
        let from = from.filter(|_| quoted).filter(|d| *d != ".");
        from.into_iter()
            .chain(dirs.iter().map(String::as_str))
            .map(|d| format!("{d}/{name}"))
            .chain(std::iter::once(name.to_string()))
            .find(|p| self.headers.contains_key(p))
    }

    fn read_header(&self, path: &str, max_bytes: usize) -> Result<String, String> {
        let text = self
            .headers
            .get(path)
            .ok_or_else(|| format!("cannot read '{path}': no such file"))?;
        if text.len() > max_bytes {
            return Err(format!("'{path}' is larger than {max_bytes} bytes"));
        }
        Ok(text.clone())
    }
}
