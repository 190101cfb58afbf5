//! The checker's only window on the live system: which probes exist and what they carry.
//!
//! `scry-runtime` implements [`Catalog`] for the running kernel (tracefs, kallsyms, ELF files);
//! tests use [`MemoryCatalog`], filled from fixture text.

use std::collections::BTreeMap;

use crate::tracepoint_format::{parse_format, TracepointFormat};

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
    /// Kernel functions that kprobes could attach to.
    fn kernel_functions(&self) -> Result<Vec<String>, String>;
    /// Resolves a uprobe/usdt target (path or library name) to an absolute path.
    fn resolve_binary(&self, target: &str, pid: Option<u32>) -> Result<String, String>;
    /// Symbols of an ELF file.
    fn user_symbols(&self, path: &str) -> Result<Vec<UserSymbol>, String>;
    /// USDT probes of an ELF file.
    fn usdt_probes(&self, path: &str) -> Result<Vec<UsdtProbe>, String>;
}

/// A catalog held in memory, for tests and tools.
#[derive(Clone, Debug, Default)]
pub struct MemoryCatalog {
    tracepoints: BTreeMap<String, BTreeMap<String, TracepointFormat>>,
    kernel_functions: Vec<String>,
    binaries: BTreeMap<String, (Vec<UserSymbol>, Vec<UsdtProbe>)>,
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
}
