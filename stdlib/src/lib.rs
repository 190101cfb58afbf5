//! scry-stdlib: the user-space side of the language. The runtime reads maps and ring-buffer
//! records; this crate turns their bytes into values ([`decode()`]), formats `printf` calls
//! ([`printf`]), models maps for printing ([`map`]) and renders everything exactly as bpftrace
//! 0.17 does, as text ([`text`]) or JSON ([`json`]), through a [`sink::Sink`].
//!
//! Pure code: no BPF syscalls and no reading of the system. What needs the live system (user
//! names, symbols, probe names) comes through the [`names::Names`] trait.

#![forbid(unsafe_code)]

pub mod decode;
pub mod folded;
pub mod helper_error;
pub mod hist;
pub mod json;
pub mod map;
pub mod names;
pub mod plugin;
pub mod printf;
pub mod sink;
pub mod text;
pub mod value;

pub use decode::decode;
pub use map::{Entry, MapDump, MapValue};
pub use names::Names;
pub use sink::{Format, Sink};
pub use value::{Int, TextKind, Value};
