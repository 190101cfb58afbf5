//! scry's side of the live system.
//!
//! [`LiveCatalog`] answers the checker's questions ([`scry_lang::catalog::Catalog`]) from the
//! running kernel (tracefs, kallsyms) and from ELF files on disk. [`load`] creates a compiled
//! object's maps and loads its programs with bpf(2) ([`sys`]); [`attach`] attaches them with
//! aya and detaches them fast.

#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod after_exit;
pub mod attach;
mod attach_order;
pub mod catalog;
pub mod cgroups;
pub mod features;
pub mod host;
pub mod load;
pub mod names;
mod plugin_calls;
pub mod records;
mod reducer_counts;
pub mod session;
pub mod snapshot;
mod stderr;
pub mod symbols;
#[allow(unsafe_code)]
pub mod sys;
mod syscall_hint;
mod system_cmd;

pub use catalog::LiveCatalog;
pub use sys::{child, uprobe_multi, wait};
