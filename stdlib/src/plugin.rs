//! The seam between the runtime and plugins: the plugin host implements [`PluginCalls`], so
//! this crate and the runtime stay free of WebAssembly.

use crate::value::Value;

/// A reducer map as the runtime names it: its index among the program's reducer maps, and the
/// plugin and reducer item that fold it.
#[derive(Clone, Copy, Debug)]
pub struct ReducerRef<'a> {
    /// The map's index (the ABI's `map`).
    pub map: usize,
    /// The plugin's name.
    pub plugin: &'a str,
    /// The reducer's item index.
    pub item: u32,
}

/// What the runtime asks of plugins. A `None` or `false` answer means the plugin failed or was
/// dropped: the host has reported it, and what needed it is not printed (never printed with a
/// value missing).
pub trait PluginCalls: Send {
    /// Calls function `item` of plugin `plugin` once per argument list in `calls` (one batch);
    /// the results in order.
    fn call(&mut self, plugin: &str, item: u32, calls: &[&[Value]]) -> Option<Vec<Value>>;
    /// Folds `value` (an i64 or u64's bits), seen `weight` times, into the state of `keys` in
    /// reducer map `map` (batched: the plugin sees the updates by the next other call). A
    /// weight above 1 comes only for a reducer that declared `weighted`.
    fn reduce(&mut self, map: ReducerRef<'_>, keys: &[Value], value: u64, weight: u64) -> bool;
    /// Every key of reducer map `map` with the plugin's renderings of its value (text, JSON).
    fn entries(&mut self, map: ReducerRef<'_>) -> Option<Vec<(Vec<Value>, String, String)>>;
    /// `delete` (`forget`, the keys given) or `clear` (`forget`, no keys), or `zero` (not
    /// `forget`, no keys).
    fn reset(&mut self, map: ReducerRef<'_>, keys: Option<&[Value]>, forget: bool) -> bool;
}
