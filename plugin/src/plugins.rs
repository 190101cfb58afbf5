//! The plugins of a run: one engine with its epoch ticker, one instance per plugin, and what
//! happens when one fails (`--plugin-fail`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use scry_lang::plugin::{ItemKind, PluginSignature, SinkMode};
use scry_stdlib::plugin::{PluginCalls, ReducerRef};
use scry_stdlib::value::Value;
use wasmtime::{Config, Engine};

use crate::grant::Grants;
use crate::instance::{Failure, Instance, Limits, TICK};
use crate::layout::{Reader, Writer};

/// What a plugin's failure does to the run (`--plugin-fail`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailPolicy {
    /// End the run cleanly (END runs, maps print, probes detach) with exit status 1.
    #[default]
    Stop,
    /// Drop the plugin, warn once, go on.
    Disable,
}

/// A message for the output seam: an error or a warning line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    Error(String),
    Warning(String),
}

/// Every plugin of a run.
pub struct Plugins {
    /// Made with the first plugin (a REPL may never load one).
    engine: Option<Engine>,
    ticking: Arc<AtomicBool>,
    pub(crate) list: Vec<Instance>,
    limits: Limits,
    fail: FailPolicy,
    failed: bool,
    on_stop: Option<Box<dyn FnMut() + Send>>,
    /// Output (`scry.output`) and notices waiting for the output seam.
    pub(crate) output: Vec<u8>,
    pub(crate) notices: Vec<Notice>,
    /// The keys of each reducer map, by map index.
    pub(crate) tables: Vec<crate::reducers::KeyTable>,
    /// Reducer updates not sent yet.
    pub(crate) pending: crate::reducers::Pending,
    /// `scry_init` ran (the run started): only then does `scry_finish` run.
    started: bool,
    /// The printf formats numbered so far (`sink args`, `scry_init`, `scry_formats`).
    pub(crate) formats: crate::description::Formats,
    /// `format @MAP = PLUGIN::FORMATTER;`: by map name, the plugin and the item index.
    pub(crate) formatters: BTreeMap<String, (String, u32)>,
    /// The [`crate::PluginSink`]s alive: the last one dropped runs `scry_finish`.
    pub(crate) sinks: usize,
    /// Where compiled modules are kept ([`crate::cache`]); `None`: compile every time.
    cache: Option<std::path::PathBuf>,
}

impl Drop for Plugins {
    fn drop(&mut self) {
        self.ticking.store(false, Ordering::Relaxed);
    }
}

impl Plugins {
    /// No plugin yet (the engine and its epoch ticker start with the first).
    pub fn new(limits: Limits, fail: FailPolicy) -> Plugins {
        let ticking = Arc::new(AtomicBool::new(false));
        Plugins {
            engine: None,
            ticking,
            list: Vec::new(),
            limits,
            fail,
            failed: false,
            on_stop: None,
            output: Vec::new(),
            notices: Vec::new(),
            tables: Vec::new(),
            pending: Default::default(),
            formats: Default::default(),
            formatters: BTreeMap::new(),
            sinks: 0,
            cache: crate::cache::default_dir(),
            started: false,
        }
    }

    /// Loads plugin `name` from `path`; the error is one sentence naming the plugin.
    pub fn load(&mut self, name: &str, path: &Path, grants: &Grants) -> Result<(), String> {
        if self.list.iter().any(|p| p.name == name) {
            return Err(format!("plugin {name} is loaded twice"));
        }
        let engine = match &self.engine {
            Some(engine) => engine.clone(),
            None => {
                let mut config = Config::new();
                config.epoch_interruption(true);
                // Cranelift's optimisations cost a third of a plugin's first load and bought
                // nothing measurable per call (the printf plugin's lines/s); the backtracking
                // register allocator stays (the single-pass one halved those lines/s).
                config.cranelift_opt_level(wasmtime::OptLevel::None);
                let engine = Engine::new(&config)
                    .map_err(|e| format!("cannot start the wasm engine: {e}"))?;
                self.engine.insert(engine).clone()
            }
        };
        if !self.ticking.swap(true, Ordering::Relaxed) {
            let (e, t) = (engine.clone(), self.ticking.clone());
            std::thread::Builder::new()
                .name("scry-plugin-epoch".into())
                .spawn(move || {
                    while t.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        e.increment_epoch();
                    }
                })
                .map_err(|e| format!("cannot start the plugin deadline thread: {e}"))?;
        }
        let cache = self.cache.as_deref();
        let p = Instance::load(&engine, name, path, grants, self.limits, cache)
            .map_err(|e| format!("plugin {name}: {e}"))?;
        self.list.push(p);
        Ok(())
    }

    /// `format @map = plugin::formatter;`: the formatter renders `map` (in text output). The
    /// error is one sentence (no such plugin or formatter).
    pub fn set_formatter(
        &mut self,
        map: &str,
        plugin: &str,
        formatter: &str,
    ) -> Result<(), String> {
        let p = self
            .list
            .iter()
            .find(|p| p.name == plugin)
            .ok_or_else(|| format!("@{map}: there is no plugin {plugin}"))?;
        match p.signature.item(formatter) {
            Some((item, it)) if matches!(it.kind, ItemKind::Formatter(_)) => {
                self.formatters
                    .insert(map.to_string(), (plugin.to_string(), item));
                Ok(())
            }
            _ => Err(format!(
                "@{map}: plugin {plugin} has no formatter {formatter}"
            )),
        }
    }

    /// Drops plugin `name` (one the REPL refuses after loading it).
    pub fn remove(&mut self, name: &str) {
        self.list.retain(|p| p.name != name);
    }

    /// What each plugin declares, by name (for the checker).
    pub fn signatures(&self) -> BTreeMap<String, PluginSignature> {
        self.list
            .iter()
            .map(|p| (p.name.clone(), p.signature.clone()))
            .collect()
    }

    /// Whether a plugin failed while the policy was to stop (the run exits with status 1).
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// What to do to end the run when a plugin fails under [`FailPolicy::Stop`] (the CLI
    /// signals itself, as Ctrl-C would).
    pub fn set_on_stop(&mut self, f: Box<dyn FnMut() + Send>) {
        self.on_stop = Some(f);
    }

    /// Calls from now on are end-of-run calls (the longer deadline).
    pub fn end_of_run(&mut self) {
        self.list.iter_mut().for_each(Instance::end_of_run);
    }

    /// Collects what plugin `i` wrote and logged during its last hook.
    pub(crate) fn collect(&mut self, i: usize) {
        let (out, logs) = self.list[i].take_io();
        self.output.extend(out);
        let name = &self.list[i].name;
        self.notices.extend(
            logs.into_iter()
                .map(|l| Notice::Warning(format!("plugin {name}: {l}"))),
        );
    }

    /// Reports a failure of plugin `i` and applies the policy.
    pub(crate) fn failure(&mut self, i: usize, f: Failure) {
        self.collect(i);
        let name = &self.list[i].name;
        let text = format!("plugin {name}: {} failed: {}", f.hook, f.cause);
        match self.fail {
            FailPolicy::Disable => self.notices.push(Notice::Warning(format!(
                "{text}; the plugin is disabled (--plugin-fail=disable)"
            ))),
            FailPolicy::Stop => {
                self.notices.push(Notice::Error(format!(
                    "{text}; the run ends (--plugin-fail=disable would drop the plugin and go on)"
                )));
                if !self.failed {
                    self.failed = true;
                    if let Some(stop) = &mut self.on_stop {
                        stop();
                    }
                }
            }
        }
    }

    /// Whether a live plugin has a sink of `mode`.
    pub(crate) fn has_sink(&self, mode: SinkMode) -> bool {
        self.list
            .iter()
            .any(|p| p.signature.sink == Some(mode) && !p.is_dead())
    }

    /// The index of plugin `name`, if it is alive.
    pub(crate) fn alive(&self, name: &str) -> Option<usize> {
        self.list
            .iter()
            .position(|p| p.name == name && !p.is_dead())
    }

    /// `scry_finish` of every live plugin that exports it (end-of-run deadline), if the run
    /// started ([`Plugins::init`]; `-d` and a program with errors do not).
    pub fn finish(&mut self) {
        if !std::mem::take(&mut self.started) {
            return;
        }
        self.send_reduces();
        self.end_of_run();
        for i in 0..self.list.len() {
            if self.list[i].is_dead() || !self.list[i].has("scry_finish") {
                continue;
            }
            let done = self.list[i].call_status_only("scry_finish", "scry_finish", |s, inst| {
                inst.get_typed_func::<(), i32>(&mut *s, "scry_finish")?
                    .call(s, ())
            });
            self.outcome(i, done);
        }
    }

    /// `scry_init` of every plugin that exports it and has not had it yet, with the run
    /// description of `object`; `scry_formats` (ABI 1.2) of the others with the printf
    /// formats `object` added since (the REPL calls this again as entries and plugins come).
    /// Nothing to do while no plugin is loaded.
    pub fn init(&mut self, object: &scry_ebpf::object::Object) {
        if self.list.is_empty() {
            return;
        }
        self.started = true;
        let added = self.formats.learn(object);
        let description = self.formats.run_description(object);
        for i in 0..self.list.len() {
            let p = &mut self.list[i];
            if p.is_dead() {
                continue;
            }
            let (hook, input) = match (std::mem::replace(&mut p.initialized, true), &added) {
                (false, _) if p.has("scry_init") => ("scry_init", &description),
                (true, Some(added)) if p.has("scry_formats") => ("scry_formats", added),
                _ => continue,
            };
            let done = self.list[i].call_status(hook, hook, input, |s, inst, ptr, len| {
                inst.get_typed_func::<(i32, i32), i32>(&mut *s, hook)?
                    .call(s, (ptr, len))
            });
            self.outcome(i, done);
        }
    }

    /// Whether plugin `name` can follow printf formats added after its `scry_init` (it
    /// exports `scry_formats`, ABI 1.2), as a `sink args` plugin in the REPL must.
    pub fn follows_formats(&mut self, name: &str) -> bool {
        self.list
            .iter_mut()
            .any(|p| p.name == name && p.has("scry_formats"))
    }

    /// One batch of `count` sink records to every live plugin with a sink of `mode`.
    pub(crate) fn sink(&mut self, mode: SinkMode, batch: &[u8], count: u32) {
        for i in 0..self.list.len() {
            if self.list[i].is_dead() || self.list[i].signature.sink != Some(mode) {
                continue;
            }
            let done =
                self.list[i].call_status("scry_sink", "scry_sink", batch, |s, inst, ptr, len| {
                    inst.get_typed_func::<(i32, i32, i32), i32>(&mut *s, "scry_sink")?
                        .call(s, (ptr, len, count as i32))
                });
            self.outcome(i, done);
        }
    }

    /// Formatter `item` of `plugin` renders `map` (the map layout); None when the plugin is
    /// gone or failed (reported).
    pub(crate) fn format(&mut self, plugin: &str, item: u32, map: &[u8]) -> Option<Vec<u8>> {
        let i = self.alive(plugin)?;
        let label = match self.list[i].signature.items.get(item as usize) {
            Some(it) => format!("scry_format {}", it.name),
            None => "scry_format".into(),
        };
        let done = self.list[i].call_slice(&label, map, |s, inst, ptr, len| {
            inst.get_typed_func::<(i32, i32, i32), i64>(&mut *s, "scry_format")?
                .call(s, (item as i32, ptr, len))
        });
        self.outcome(i, done)
    }

    /// The map kind formatter `item` of `plugin` renders (`hist`, ..., `any`), if it is alive.
    pub(crate) fn formatter_kind(&self, plugin: &str, item: u32) -> Option<String> {
        let i = self.alive(plugin)?;
        match &self.list[i].signature.items.get(item as usize)?.kind {
            ItemKind::Formatter(k) => Some(k.clone()),
            _ => None,
        }
    }

    /// What a hook of plugin `i` did: its output collected, or its failure applied.
    pub(crate) fn outcome<R>(&mut self, i: usize, done: Result<R, Failure>) -> Option<R> {
        match done {
            Ok(r) => {
                self.collect(i);
                Some(r)
            }
            Err(f) => {
                self.failure(i, f);
                None
            }
        }
    }

    /// `count` calls of function `item` of plugin `i`, one `scry_call`.
    fn call_batch(
        &mut self,
        i: usize,
        item: u32,
        calls: &[&[Value]],
    ) -> Result<Vec<Value>, Failure> {
        let p = &mut self.list[i];
        let (name, params, ret) = match p.signature.items.get(item as usize) {
            Some(it) => match &it.kind {
                ItemKind::Function { params, ret } => (it.name.clone(), params.clone(), *ret),
                _ => {
                    return Err(Failure {
                        hook: "scry_call".into(),
                        cause: format!("item {item} is not a function"),
                    })
                }
            },
            None => {
                return Err(Failure {
                    hook: "scry_call".into(),
                    cause: format!("it has no item {item}"),
                })
            }
        };
        let mut w = Writer::default();
        for args in calls {
            for (t, v) in params.iter().zip(args.iter()) {
                w.typed(*t, v);
            }
        }
        let label = format!("scry_call {name}");
        let count = calls.len() as i32;
        let out = p.call_slice(&label, &w.buf, |s, inst, ptr, len| {
            inst.get_typed_func::<(i32, i32, i32, i32), i64>(&mut *s, "scry_call")?
                .call(s, (item as i32, ptr, len, count))
        })?;
        let mut r = Reader::new(&out);
        let results: Option<Vec<Value>> = calls.iter().map(|_| r.typed(ret)).collect();
        match results {
            Some(v) if r.is_empty() => Ok(v),
            _ => Err(Failure {
                hook: label,
                cause: format!(
                    "it returned {} bytes, which are not {} {ret} results",
                    out.len(),
                    calls.len()
                ),
            }),
        }
    }
}

/// The plugins shared by the record dispatcher and the output sink.
#[derive(Clone)]
pub struct Shared(Arc<Mutex<Plugins>>);

impl Shared {
    /// Shares `plugins`.
    pub fn new(plugins: Plugins) -> Self {
        Shared(Arc::new(Mutex::new(plugins)))
    }

    /// The plugins (a plugin that panicked the host never happens: a poisoned lock is taken
    /// as it is).
    pub fn lock(&self) -> MutexGuard<'_, Plugins> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl PluginCalls for Shared {
    fn call(&mut self, plugin: &str, item: u32, calls: &[&[Value]]) -> Option<Vec<Value>> {
        let mut ps = self.lock();
        let i = ps.alive(plugin)?;
        let done = ps.call_batch(i, item, calls);
        ps.outcome(i, done)
    }

    fn reduce(&mut self, map: ReducerRef<'_>, keys: &[Value], value: u64, weight: u64) -> bool {
        self.lock().reduce(map, keys, value, weight)
    }

    fn entries(&mut self, map: ReducerRef<'_>) -> Option<Vec<(Vec<Value>, String, String)>> {
        self.lock().entries(map)
    }

    fn reset(&mut self, map: ReducerRef<'_>, keys: Option<&[Value]>, forget: bool) -> bool {
        self.lock().reset(map, keys, forget)
    }
}
