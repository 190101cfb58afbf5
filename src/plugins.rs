//! Plugins of a run: `--plugin NAME=PATH` and the script's `plugin NAME = "PATH";`
//! declarations, loaded before the program is checked (the checker needs their signatures),
//! with the sandbox the command line sets (docs/plugins.md).

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::collections::BTreeMap;

use scry_ebpf::object::Object;
use scry_lang::plugin::{PluginSignature, SinkMode};
use scry_plugin::{FailPolicy, Grants, Limits, PluginSink, Plugins, Shared};
use scry_repl::plugins::SessionPlugins;
use scry_stdlib::plugin::PluginCalls;
use scry_stdlib::sink::{Format, Sink};

use crate::cli::{Cli, PluginFail};

/// The plugins loaded (with the formatter chosen for each map).
pub struct Loaded {
    /// The plugins, shared by the record dispatcher and the output sink.
    pub shared: Shared,
    /// Name and path of each plugin, in load order (for `-d`).
    pub paths: Vec<(String, PathBuf)>,
}

/// Loads the plugins the command line and the program text name; `None` when there are none.
/// `script_dir` is the directory declarations' paths are relative to.
pub fn load(cli: &Cli, text: &str, script_dir: Option<&Path>) -> Result<Option<Loaded>, String> {
    let preamble = scry_lang::lexer::lex(text).preamble;
    let mut wanted = plugin_args(cli)?;
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
    let mut plugins = new_plugins(cli);
    let none = Grants::default();
    for (name, path) in &wanted {
        plugins.load(name, path, grants.get(name).unwrap_or(&none))?;
    }
    // An unknown plugin or formatter is the checker's error, at the declaration.
    for f in &preamble.formats {
        let _ = plugins.set_formatter(&f.map, &f.plugin, &f.formatter);
    }
    Ok(Some(Loaded {
        shared: Shared::new(plugins),
        paths: wanted,
    }))
}

/// `--plugin NAME=PATH` arguments, in order.
fn plugin_args(cli: &Cli) -> Result<Vec<(String, PathBuf)>, String> {
    cli.plugins
        .iter()
        .map(|p| {
            p.split_once('=')
                .filter(|(n, p)| scry_plugin::descriptor::is_ident(n) && !p.is_empty())
                .map(|(name, path)| (name.to_string(), PathBuf::from(path)))
                .ok_or_else(|| format!("--plugin '{p}': expected NAME=PATH (NAME an identifier)"))
        })
        .collect()
}

/// No plugin yet, with the sandbox and failure policy of the command line.
fn new_plugins(cli: &Cli) -> Plugins {
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
    let mut plugins = Plugins::new(limits, fail);
    plugins.set_on_stop(Box::new(scry_runtime::sys::process::terminate_self));
    plugins
}

/// The plugins of a REPL session: the command line's loaded at the start, the `plugin`
/// entries' as they come (relative paths from the current directory).
pub struct Session {
    shared: Shared,
    grants: BTreeMap<String, Grants>,
    /// Name and absolute path of each plugin, and the `format` declarations, for `.save`.
    declarations: Vec<String>,
}

impl Session {
    /// The command line's plugins loaded.
    pub fn new(cli: &Cli) -> Result<Session, String> {
        let mut me = Session {
            shared: Shared::new(new_plugins(cli)),
            grants: scry_plugin::grant::parse_all(&cli.plugin_allow)?,
            declarations: Vec::new(),
        };
        for (name, path) in plugin_args(cli)? {
            me.load(&name, &path)?;
        }
        Ok(me)
    }
}

impl SessionPlugins for Session {
    fn load(&mut self, name: &str, path: &Path) -> Result<(), String> {
        let none = Grants::default();
        let mut plugins = self.shared.lock();
        plugins.load(name, path, self.grants.get(name).unwrap_or(&none))?;
        // Later entries add printf formats: a `sink args` plugin must be told of them.
        if plugins.signatures()[name].sink == Some(SinkMode::Args) && !plugins.follows_formats(name)
        {
            plugins.remove(name);
            return Err(format!(
                "plugin {name}: this 'sink args' plugin cannot be loaded in the REPL: it does not export scry_formats (ABI 1.2), which tells it the printf formats of later entries; give the program with -e or a file"
            ));
        }
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        self.declarations
            .push(format!("plugin {name} = {:?};", path.display().to_string()));
        Ok(())
    }

    fn set_formatter(&mut self, map: &str, plugin: &str, formatter: &str) -> Result<(), String> {
        self.shared.lock().set_formatter(map, plugin, formatter)?;
        self.declarations
            .push(format!("format @{map} = {plugin}::{formatter};"));
        Ok(())
    }

    fn signatures(&self) -> BTreeMap<String, PluginSignature> {
        self.shared.lock().signatures()
    }

    fn calls(&self) -> Box<dyn PluginCalls> {
        Box::new(self.shared.clone())
    }

    fn sink(&self, inner: Box<dyn Sink>, format: Format) -> Box<dyn Sink> {
        Box::new(PluginSink::new(
            inner,
            self.shared.clone(),
            format == Format::Text,
        ))
    }

    fn init(&mut self, object: &Object) {
        self.shared.lock().init(object);
    }

    fn declarations(&self) -> Vec<String> {
        self.declarations.clone()
    }
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
