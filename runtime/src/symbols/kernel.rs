//! Kernel symbols from `/proc/kallsyms`: a table sorted by address, searched by binary search,
//! read once per process on first use.

use std::sync::{Arc, OnceLock};

use scry_stdlib::value::Frame;

/// One kernel symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Symbol {
    addr: u64,
    name: Arc<str>,
    /// The module (`[kvm]` in kallsyms), `None` for the kernel image.
    module: Option<Arc<str>>,
}

/// The kernel's symbols, sorted by address.
#[derive(Debug, Default)]
pub struct KernelSymbols {
    symbols: Vec<Symbol>,
}

impl KernelSymbols {
    /// The table of the running kernel, read from `/proc/kallsyms` on first use (empty when it
    /// cannot be read or its addresses are hidden by `kptr_restrict`).
    pub fn get() -> &'static KernelSymbols {
        static TABLE: OnceLock<KernelSymbols> = OnceLock::new();
        TABLE.get_or_init(|| {
            KernelSymbols::parse(&std::fs::read_to_string("/proc/kallsyms").unwrap_or_default())
        })
    }

    /// A table from the text of `/proc/kallsyms` (`address type name [module]` lines). Keeps
    /// code and data symbols, not the `__pfx_` padding before functions; of several names at
    /// one address the first listed wins.
    pub fn parse(text: &str) -> KernelSymbols {
        let mut symbols: Vec<Symbol> = text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let addr = u64::from_str_radix(fields.next()?, 16).ok()?;
                let kind = fields.next()?;
                let name = fields.next()?;
                let module = fields
                    .next()
                    .map(|m| m.trim_start_matches('[').trim_end_matches(']').into());
                let wanted = addr != 0
                    && !name.starts_with("__pfx_")
                    && matches!(
                        kind,
                        "t" | "T" | "w" | "W" | "d" | "D" | "b" | "B" | "r" | "R"
                    );
                wanted.then(|| Symbol {
                    addr,
                    name: name.into(),
                    module,
                })
            })
            .collect();
        symbols.sort_by_key(|s| s.addr);
        symbols.dedup_by_key(|s| s.addr);
        KernelSymbols { symbols }
    }

    /// The frame of `addr`: the nearest symbol at or below it and the offset into it; an
    /// address below every symbol stays unresolved.
    pub fn resolve(&self, addr: u64) -> Frame {
        let i = self.symbols.partition_point(|s| s.addr <= addr);
        match i.checked_sub(1).map(|i| &self.symbols[i]) {
            Some(s) => Frame {
                addr,
                symbol: Some(s.name.clone()),
                offset: addr - s.addr,
                module: s.module.clone(),
            },
            None => Frame::unresolved(addr),
        }
    }

    /// Whether the table has no symbols (kallsyms unreadable or its addresses hidden).
    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }

    /// The address of the symbol `name` (the first one listed under that name).
    pub fn address(&self, name: &str) -> Option<u64> {
        self.symbols
            .iter()
            .find(|s| &*s.name == name)
            .map(|s| s.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "ffffffff81000000 T _stext\nffffffff81000000 T _text\n\
                        ffffffff816bab60 t __pfx_vfs_read\nffffffff816bab70 T vfs_read\n\
                        ffffffff82000000 D jiffies\n0000000000000000 A fixed_percpu_data\n\
                        ffffffffc0201000 t kvm_fn\t[kvm]\nbroken\n";

    #[test]
    fn resolves_to_nearest_symbol_below() {
        let t = KernelSymbols::parse(TEXT);
        let f = t.resolve(0xffff_ffff_816b_ab75);
        assert_eq!(f.symbol.as_deref(), Some("vfs_read"));
        assert_eq!(f.offset, 5);
        assert_eq!(
            t.resolve(0xffff_ffff_8100_0000).symbol.as_deref(),
            Some("_stext")
        );
        let m = t.resolve(0xffff_ffff_c020_1010);
        assert_eq!(
            (m.symbol.as_deref(), m.module.as_deref()),
            (Some("kvm_fn"), Some("kvm"))
        );
        assert_eq!(t.resolve(0x10), Frame::unresolved(0x10));
        // Frames share the table's names: resolving copies no text.
        let (a, b) = (
            f.symbol.unwrap(),
            t.resolve(0xffff_ffff_816b_ab70).symbol.unwrap(),
        );
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(t.address("jiffies"), Some(0xffff_ffff_8200_0000));
        assert_eq!(t.address("fixed_percpu_data"), None);
    }

    #[test]
    fn live_table_knows_the_scheduler() {
        let t = KernelSymbols::get();
        if let Some(addr) = t.address("schedule") {
            assert_eq!(t.resolve(addr + 1).symbol.as_deref(), Some("schedule"));
        }
    }
}
