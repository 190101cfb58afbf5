//! Plugin function calls in a record: the kernel sent each call's arguments; user space calls
//! the plugin and puts the result in their place (docs/plugins.md).

use scry_ebpf::object::PluginCallSite;
use scry_stdlib::plugin::PluginCalls;
use scry_stdlib::value::Value;

/// Replaces the argument values of every call in `calls` with the call's result. False when a
/// call could not be made (the plugin failed or was dropped, which the plugin host reported):
/// the record is then not printed, never printed with a value missing.
pub fn substitute(
    args: &mut Vec<Value>,
    calls: &[PluginCallSite],
    plugins: Option<&mut (dyn PluginCalls + 'static)>,
) -> bool {
    let Some(plugins) = plugins else {
        return calls.is_empty();
    };
    // Back to front, so that the indexes of earlier calls stay valid.
    for site in calls.iter().rev() {
        let end = site.first + site.args;
        let Some(call_args) = args.get(site.first..end) else {
            return false;
        };
        let Some(mut result) = plugins.call(&site.plugin, site.item, &[call_args]) else {
            return false;
        };
        let Some(value) = result.pop() else {
            return false;
        };
        args.splice(site.first..end, [value]);
    }
    true
}
