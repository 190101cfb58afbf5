//! scry-lang: the scry language front end. Source text becomes a typed, checked program, and
//! every problem becomes a [`Diagnostic`] anchored at the source. This crate does no I/O of its
//! own: what it needs to know about the live system comes through the [`catalog::Catalog`] trait.

pub mod ast;
pub mod attach;
pub mod catalog;
pub mod cdefs;
pub mod check;
pub mod diag;
pub mod format;
pub mod lexer;
pub mod parser;
pub mod probe;
pub mod span;
pub mod suggest;
pub mod token;
pub mod tracepoint_format;
pub mod types;

pub use diag::{Diagnostic, Severity};
pub use parser::parse;
pub use span::Span;
