//! scry-plugin: the WebAssembly plugin host (docs/plugins.md). Plugins are core modules run
//! by wasmtime, one sandboxed instance each (memory cap, deadline per call, no access to the
//! system beyond what the command line grants). The pure output layer (`scry-stdlib`) and the
//! runtime never see wasmtime: the record dispatcher calls plugin functions through
//! [`scry_stdlib::plugin::PluginCalls`], and sinks and formatters are a [`scry_stdlib::Sink`].

// One unsafe call, reasoned where it is: loading compiled code from the module cache
// (`cache::deserialize`).
#![deny(unsafe_code)]

mod abi;
pub mod cache;
pub mod description;
pub mod descriptor;
mod fs;
pub mod grant;
mod instance;
mod layout;
mod plugins;
mod records;
mod reducers;
mod sink;

pub use grant::Grants;
pub use instance::{Failure, Limits};
pub use plugins::{FailPolicy, Notice, Plugins, Shared};
pub use sink::PluginSink;
