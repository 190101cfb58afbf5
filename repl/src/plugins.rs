//! WebAssembly plugins in the REPL: `--plugin` on the command line and `plugin NAME = "PATH";`
//! entries load them into the session, `format @m = NAME::FORMATTER;` entries choose a map's
//! formatter. The binary implements [`SessionPlugins`] over `scry-plugin`, so the REPL stays
//! free of wasm.

use std::collections::BTreeMap;
use std::path::Path;

use scry_ebpf::object::Object;
use scry_lang::plugin::PluginSignature;
use scry_stdlib::plugin::PluginCalls;
use scry_stdlib::sink::{Format, Sink};

/// The plugins of a session.
pub trait SessionPlugins: Send {
    /// Loads plugin `name` from `path`; the error is one sentence naming the plugin.
    fn load(&mut self, name: &str, path: &Path) -> Result<(), String>;
    /// `format @map = plugin::formatter;`; the error is one sentence.
    fn set_formatter(&mut self, map: &str, plugin: &str, formatter: &str) -> Result<(), String>;
    /// What each plugin declares, by name (for the checker).
    fn signatures(&self) -> BTreeMap<String, PluginSignature>;
    /// Where plugin functions and reducers are called.
    fn calls(&self) -> Box<dyn PluginCalls>;
    /// `inner` with the plugins in front (their sinks, and formatters in text output).
    fn sink(&self, inner: Box<dyn Sink>, format: Format) -> Box<dyn Sink>;
    /// The session's object after an entry or a plugin was loaded: plugins not initialised
    /// yet get `scry_init` with its run description.
    fn init(&mut self, object: &Object);
    /// The declarations that load the same plugins and formatters in a script (`.save`).
    fn declarations(&self) -> Vec<String>;
}
