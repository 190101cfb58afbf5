//! scry's side of the live system.
//!
//! [`LiveCatalog`] answers the checker's questions ([`scry_lang::catalog::Catalog`]) from the
//! running kernel (tracefs, kallsyms) and from ELF files on disk.

#![warn(missing_docs)]

pub mod catalog;

pub use catalog::LiveCatalog;
