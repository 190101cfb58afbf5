//! scry's side of the live system.
//!
//! [`LiveCatalog`] answers the checker's questions ([`scry_lang::catalog::Catalog`]) from the
//! running kernel (tracefs, kallsyms) and from ELF files on disk. [`load`] creates a compiled
//! object's maps and loads its programs with bpf(2) ([`sys`]); [`attach`] attaches them with
//! aya and detaches them fast.

#![warn(missing_docs)]

pub mod attach;
mod attach_order;
pub mod catalog;
pub mod cgroups;
pub mod features;
pub mod load;
pub mod names;
pub mod records;
pub mod session;
pub mod snapshot;
mod stderr;
pub mod symbols;
pub mod sys;
mod system_cmd;
pub mod uprobe_multi;
mod uprobe_offset;
mod usdt_attach;
pub mod wait;

pub use catalog::LiveCatalog;
