//! Plugins of a run: `--plugin NAME=PATH` and the script's `plugin NAME = "PATH";`
//! declarations, loaded before the program is checked (the checker needs their signatures),
//! with the sandbox the command line sets (docs/plugins.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use scry_lang::plugin::ItemKind;
use scry_plugin::{FailPolicy, Grants, Limits, Plugins, Shared};

use crate::cli::{Cli, PluginFail};

/// The plugins loaded, and the formatter chosen for each map.
pub struct Loaded {
    /// The plugins, shared by the record dispatcher and the output sink.
    pub shared: Shared,
    /// `format @MAP = PLUGIN::FORMATTER;`: by map name, the plugin and the item index.
    pub formatters: BTreeMap<String, (String, u32)>,
    /// Name and path of each plugin, in load order (for `-d`).
    pub paths: Vec<(String, PathBuf)>,
}

/// Loads the plugins the command line and the program text name; `None` when there are none.
/// `script_dir` is the directory declarations' paths are relative to.
pub fn load(cli: &Cli, text: &str, script_dir: Option<&Path>) -> Result<Option<Loaded>, String> {
    let preamble = scry_lang::lexer::lex(text).preamble;
    let mut wanted: Vec<(String, PathBuf)> = Vec::new();
    for p in &cli.plugins {
        let (name, path) = p
            .split_once('=')
            .filter(|(n, p)| scry_plugin::descriptor::is_ident(n) && !p.is_empty())
            .ok_or_else(|| format!("--plugin '{p}': expected NAME=PATH (NAME an identifier)"))?;
        wanted.push((name.to_string(), PathBuf::from(path)));
    }
    for d in &preamble.plugins {
        let path = match script_dir {
            Some(dir) if Path::new(&d.path).is_relative() => dir.join(&d.path),
            _ => PathBuf::from(&d.path),
        };
        wanted.push((d.name.clone(), path));
    }
    if wanted.is_empty() {
        if let Some(g) = cli.plugin_allow.first() {
            return Err(format!("--plugin-allow '{g}': no plugin is loaded"));
        }
        return Ok(None);
    }
    let grants = scry_plugin::grant::parse_all(&cli.plugin_allow)?;
    if let Some(name) = grants.keys().find(|g| !wanted.iter().any(|(n, _)| n == *g)) {
        return Err(format!(
            "--plugin-allow names plugin {name}, which is not loaded (--plugin {name}=PATH)"
        ));
    }
    let timeout = Duration::from_millis(cli.plugin_timeout);
    let limits = Limits {
        memory_bytes: (cli.plugin_memory as usize) << 20,
        timeout,
        end_timeout: timeout.max(Duration::from_secs(1)),
        unsafe_mode: cli.unsafe_mode,
    };
    let fail = match cli.plugin_fail {
        PluginFail::Stop => FailPolicy::Stop,
        PluginFail::Disable => FailPolicy::Disable,
    };
    let mut plugins = Plugins::new(limits, fail)?;
    let none = Grants::default();
    for (name, path) in &wanted {
        plugins.load(name, path, grants.get(name).unwrap_or(&none))?;
    }
    plugins.set_on_stop(Box::new(scry_runtime::sys::process::terminate_self));
    let signatures = plugins.signatures();
    let formatters = preamble
        .formats
        .iter()
        .filter_map(|f| {
            let (item, it) = signatures.get(&f.plugin)?.item(&f.formatter)?;
            matches!(it.kind, ItemKind::Formatter(_))
                .then(|| (f.map.clone(), (f.plugin.clone(), item)))
        })
        .collect();
    Ok(Some(Loaded {
        shared: Shared::new(plugins),
        formatters,
        paths: wanted,
    }))
}

/// `-d`: each plugin with its path, items and sink.
pub fn describe(loaded: &Loaded) -> String {
    let signatures = loaded.shared.lock().signatures();
    let mut out = String::from("Plugins\n");
    for (name, path) in &loaded.paths {
        out += &format!("  {name} ({})\n", path.display());
        if let Some(sig) = signatures.get(name) {
            for item in &sig.items {
                out += &format!("    {item}\n");
            }
            if let Some(mode) = sig.sink {
                let mode = match mode {
                    scry_lang::plugin::SinkMode::Lines => "lines",
                    scry_lang::plugin::SinkMode::Args => "args",
                };
                out += &format!("    sink {mode}\n");
            }
        }
    }
    out
}
