//! The seam between the record dispatcher and plugin functions: the plugin host implements
//! [`PluginCalls`], so this crate and the runtime stay free of WebAssembly.

use crate::value::Value;

/// Calls of plugin functions (`NAME::fn(args)`) made where a record is handled.
pub trait PluginCalls: Send {
    /// Calls function `item` of plugin `plugin` once per argument list in `calls` (one batch);
    /// the results in order, or `None` when the plugin failed or was dropped (the host has
    /// reported it, and the record is not printed).
    fn call(&mut self, plugin: &str, item: u32, calls: &[&[Value]]) -> Option<Vec<Value>>;
}
