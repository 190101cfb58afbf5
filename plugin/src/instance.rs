//! One loaded plugin: its module compiled, checked against the ABI, instantiated in its own
//! store (memory cap, epoch deadline per call), and its hooks called.

use std::path::Path;
use std::time::Duration;

use scry_lang::plugin::PluginSignature;
use wasmtime::{
    Caller, Engine, Instance as WasmInstance, Linker, Memory, Store, StoreLimits,
    StoreLimitsBuilder, Trap, TypedFunc,
};

use crate::fs::GrantedDir;
use crate::grant::Grants;
use crate::{abi, descriptor};

/// The epoch ticker's period: deadlines are counted in these.
pub const TICK: Duration = Duration::from_millis(5);

/// The sandbox of every plugin.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most bytes of linear memory (`--plugin-memory`, 64 MiB).
    pub memory_bytes: usize,
    /// Deadline of a call during the run (`--plugin-timeout`, 50 ms).
    pub timeout: Duration,
    /// Deadline of a call at the end of the run (1 s).
    pub end_timeout: Duration,
    /// `--unsafe` was given (a plugin granted `exec` may run commands).
    pub unsafe_mode: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            timeout: Duration::from_millis(50),
            end_timeout: Duration::from_secs(1),
            unsafe_mode: false,
        }
    }
}

/// A hook that failed: the hook (and item) and the cause, one sentence each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// `scry_call hex`, `scry_sink`, ...
    pub hook: String,
    /// What went wrong.
    pub cause: String,
}

/// What the imports see of the host.
pub(crate) struct State {
    limits: StoreLimits,
    /// The message `scry.error` gave during the current hook.
    error: Option<String>,
    /// Bytes `scry.output` gave, for the output in order with scry's own.
    pub(crate) output: Vec<u8>,
    /// Lines for `WARNING: plugin NAME: ...` (`scry.log`, refused file and command calls).
    pub(crate) warnings: Vec<String>,
    fs: Option<GrantedDir>,
    exec: bool,
}

/// A plugin ready to be called.
pub struct Instance {
    /// The name the user gave it.
    pub name: String,
    /// What it declares.
    pub signature: PluginSignature,
    store: Store<State>,
    instance: WasmInstance,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    limits: Limits,
    /// The deadline of the next calls (the end-of-run one after [`Instance::end_of_run`]).
    timeout: Duration,
    /// A hook failed: the instance is never called again.
    dead: bool,
    /// `scry_init` was considered (called if exported).
    pub(crate) initialized: bool,
}

impl Instance {
    /// Reads, compiles (or finds in the module cache `cache`), checks and instantiates the
    /// plugin at `path`, and reads its descriptor. An error is one sentence about the plugin (without its name).
    pub fn load(
        engine: &Engine,
        name: &str,
        path: &Path,
        grants: &Grants,
        limits: Limits,
        cache: Option<&Path>,
    ) -> Result<Instance, String> {
        let shown = path.display();
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read '{shown}': {}", reason(&e)))?;
        if !bytes.starts_with(b"\0asm") {
            return Err(format!(
                "'{shown}' is not a WebAssembly module (it does not start with the wasm magic number)"
            ));
        }
        let module = crate::cache::module(engine, &bytes, cache)
            .map_err(|e| format!("'{shown}' is not a valid WebAssembly module: {}", root(&e)))?;
        abi::check_imports(&module, name, grants, limits.unsafe_mode)?;
        abi::check_exports(&module)?;
        let fs = grants.fs.as_deref().map(GrantedDir::open).transpose()?;
        let state = State {
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .instances(1)
                .trap_on_grow_failure(true)
                .build(),
            error: None,
            output: Vec::new(),
            warnings: Vec::new(),
            fs,
            exec: grants.exec && limits.unsafe_mode,
        };
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(ticks(limits.timeout));
        let linker = linker(engine).map_err(|e| format!("cannot link it: {e}"))?;
        let instance = linker.instantiate(&mut store, &module).map_err(|e| {
            format!(
                "cannot instantiate it: {}",
                cause(&e, limits.timeout, limits, store.data_mut().error.take())
            )
        })?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or("it does not export its memory as 'memory'")?;
        let alloc = instance
            .get_typed_func::<i32, i32>(&mut store, "scry_alloc")
            .map_err(|e| e.to_string())?;
        let mut me = Instance {
            name: name.to_string(),
            signature: PluginSignature::default(),
            store,
            instance,
            memory,
            alloc,
            limits,
            timeout: limits.timeout,
            dead: false,
            initialized: false,
        };
        let describe = me.func::<(), i64>("scry_plugin").map_err(|f| f.cause)?;
        let slice = me
            .run("scry_plugin", |s| describe.call(s, ()))
            .map_err(|f| f.cause)?;
        let text = me.read_slice("scry_plugin", slice).map_err(|f| f.cause)?;
        let text = String::from_utf8(text).map_err(|_| "its descriptor is not UTF-8")?;
        me.signature = descriptor::parse(&text)?;
        abi::check_items(&module, &me.signature)?;
        Ok(me)
    }

    /// Whether a hook failed (the instance is not called again).
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Whether the module exports `hook`.
    pub fn has(&mut self, hook: &str) -> bool {
        self.instance.get_func(&mut self.store, hook).is_some()
    }

    /// From now on calls get the end-of-run deadline.
    pub fn end_of_run(&mut self) {
        self.timeout = self.limits.end_timeout;
    }

    /// What `scry.output` and `scry.log` (and refused grants) produced since the last take.
    pub(crate) fn take_io(&mut self) -> (Vec<u8>, Vec<String>) {
        let s = self.store.data_mut();
        (
            std::mem::take(&mut s.output),
            std::mem::take(&mut s.warnings),
        )
    }

    /// Calls a hook that takes `input` and returns an `i32` status, as `hook(…, ptr, len, …)`
    /// through `call`.
    pub fn call_status(
        &mut self,
        hook: &str,
        label: &str,
        input: &[u8],
        call: impl FnOnce(&mut Store<State>, &wasmtime::Instance, i32, i32) -> wasmtime::Result<i32>,
    ) -> Result<(), Failure> {
        let ptr = self.input(label, input)?;
        let instance = self.instance;
        let status = self.run(label, |s| call(s, &instance, ptr, input.len() as i32))?;
        self.status(hook, label, status)
    }

    /// Calls a hook that takes `input` and returns a slice, and reads the slice.
    pub fn call_slice(
        &mut self,
        label: &str,
        input: &[u8],
        call: impl FnOnce(&mut Store<State>, &wasmtime::Instance, i32, i32) -> wasmtime::Result<i64>,
    ) -> Result<Vec<u8>, Failure> {
        let ptr = self.input(label, input)?;
        let instance = self.instance;
        let slice = self.run(label, |s| call(s, &instance, ptr, input.len() as i32))?;
        self.read_slice(label, slice)
    }

    /// Calls a hook without input that returns a slice (`scry_render`).
    pub fn call_slice_only(
        &mut self,
        label: &str,
        call: impl FnOnce(&mut Store<State>, &wasmtime::Instance) -> wasmtime::Result<i64>,
    ) -> Result<Vec<u8>, Failure> {
        let instance = self.instance;
        let slice = self.run(label, |s| call(s, &instance))?;
        self.read_slice(label, slice)
    }

    /// Calls a hook without input that returns a status (`scry_reset`, `scry_finish`).
    pub fn call_status_only(
        &mut self,
        hook: &str,
        label: &str,
        call: impl FnOnce(&mut Store<State>, &wasmtime::Instance) -> wasmtime::Result<i32>,
    ) -> Result<(), Failure> {
        let instance = self.instance;
        let status = self.run(label, |s| call(s, &instance))?;
        self.status(hook, label, status)
    }

    /// A typed export (its type was checked at load).
    pub fn func<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        &mut self,
        hook: &str,
    ) -> Result<TypedFunc<P, R>, Failure> {
        self.instance
            .get_typed_func::<P, R>(&mut self.store, hook)
            .map_err(|e| self.fail(hook, e.to_string()))
    }

    fn status(&mut self, hook: &str, label: &str, status: i32) -> Result<(), Failure> {
        if status == 0 {
            return Ok(());
        }
        let message = self.store.data_mut().error.take();
        Err(self.fail(
            label,
            message.unwrap_or_else(|| format!("{hook} returned {status} and gave no message")),
        ))
    }

    /// Copies `input` into a buffer `scry_alloc` gives.
    fn input(&mut self, label: &str, input: &[u8]) -> Result<i32, Failure> {
        let alloc = self.alloc.clone();
        let len = i32::try_from(input.len().max(1))
            .map_err(|_| self.fail(label, "the input is larger than 2 GiB".into()))?;
        let ptr = self.run(label, |s| alloc.call(s, len))?;
        if ptr == 0 {
            return Err(self.fail(
                label,
                format!("scry_alloc({len}) returned 0: it is out of memory"),
            ));
        }
        let fits = self
            .memory
            .write(&mut self.store, ptr as u32 as usize, input)
            .is_ok();
        if !fits {
            return Err(self.fail(
                label,
                format!("scry_alloc({len}) returned {ptr}, outside its memory"),
            ));
        }
        Ok(ptr)
    }

    /// The bytes of a returned slice (`ptr | len << 32`); length 0xFFFFFFFF is the error slice.
    fn read_slice(&mut self, label: &str, slice: i64) -> Result<Vec<u8>, Failure> {
        let (ptr, len) = (slice as u64 as u32 as usize, (slice as u64 >> 32) as usize);
        if len == u32::MAX as usize {
            let message = self.store.data_mut().error.take();
            return Err(self.fail(
                label,
                message.unwrap_or_else(|| "it returned the error slice and gave no message".into()),
            ));
        }
        let data = self.memory.data(&self.store);
        match data.get(ptr..ptr.saturating_add(len)) {
            Some(b) => Ok(b.to_vec()),
            None => Err(self.fail(
                label,
                format!("it returned {len} bytes at {ptr}, outside its memory"),
            )),
        }
    }

    /// Runs `f` under the deadline; a trap, a timeout or a memory exhaustion kills the instance.
    fn run<R>(
        &mut self,
        label: &str,
        f: impl FnOnce(&mut Store<State>) -> wasmtime::Result<R>,
    ) -> Result<R, Failure> {
        if self.dead {
            return Err(Failure {
                hook: label.to_string(),
                cause: "the plugin failed before and is not called again".into(),
            });
        }
        self.store.set_epoch_deadline(ticks(self.timeout));
        self.store.data_mut().error = None;
        match f(&mut self.store) {
            Ok(r) => Ok(r),
            Err(e) => {
                let message = self.store.data_mut().error.take();
                let c = cause(&e, self.timeout, self.limits, message);
                Err(self.fail(label, c))
            }
        }
    }

    fn fail(&mut self, label: &str, cause: String) -> Failure {
        self.dead = true;
        Failure {
            hook: label.to_string(),
            cause,
        }
    }
}

/// Deadline ticks for `timeout` (the first tick may come at once: one more).
fn ticks(timeout: Duration) -> u64 {
    (timeout.as_millis() as u64).div_ceil(TICK.as_millis() as u64) + 1
}

/// A wasmtime error as the cause of a failure; a trap says the `scry.error` `message` the hook
/// gave before it (a Rust guest's panic handler gives the panic message, then traps).
fn cause(
    e: &wasmtime::Error,
    timeout: Duration,
    limits: Limits,
    message: Option<String>,
) -> String {
    if let Some(Trap::Interrupt) = e.downcast_ref::<Trap>() {
        return format!("it ran past its deadline of {} ms", timeout.as_millis());
    }
    let text = format!("{e:#}");
    if text.contains("growing memory") || text.contains("exceeds memory limits") {
        return format!(
            "it ran out of memory (its cap is {} MiB, --plugin-memory)",
            limits.memory_bytes >> 20
        );
    }
    match e.downcast_ref::<Trap>() {
        Some(t) => {
            let t = t.to_string();
            let t = t.strip_prefix("wasm trap: ").unwrap_or(&t);
            match message {
                Some(m) => format!("it trapped ({t}): {m}"),
                None => format!("it trapped ({t})"),
            }
        }
        None => root(e),
    }
}

/// The innermost message of an error chain.
fn root(e: &wasmtime::Error) -> String {
    e.chain()
        .last()
        .map_or_else(|| e.to_string(), |c| c.to_string())
}

/// An I/O error's text without Rust's "(os error N)".
fn reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    s.find(" (os error")
        .map_or(s.clone(), |i| s[..i].to_string())
}

/// The `scry` imports. Grants were checked at load; calls are checked again here.
fn linker(engine: &Engine) -> wasmtime::Result<Linker<State>> {
    let mut l = Linker::new(engine);
    l.func_wrap("scry", "log", |mut c: Caller<'_, State>, p: i32, n: i32| {
        let text = guest_text(&mut c, p, n);
        c.data_mut().warnings.push(text);
    })?;
    l.func_wrap(
        "scry",
        "error",
        |mut c: Caller<'_, State>, p: i32, n: i32| {
            let text = guest_text(&mut c, p, n);
            c.data_mut().error = Some(text);
        },
    )?;
    l.func_wrap(
        "scry",
        "output",
        |mut c: Caller<'_, State>, p: i32, n: i32| {
            let bytes = guest_bytes(&mut c, p, n).unwrap_or_default();
            c.data_mut().output.extend_from_slice(&bytes);
        },
    )?;
    l.func_wrap(
        "scry",
        "fs_write",
        |mut c: Caller<'_, State>, p: i32, pn: i32, d: i32, dn: i32, append: i32| -> i32 {
            let path = guest_text(&mut c, p, pn);
            let data = guest_bytes(&mut c, d, dn).unwrap_or_default();
            let s = c.data_mut();
            let done = match &s.fs {
                Some(dir) => dir.write(&path, &data, append != 0),
                None => Err("no directory was granted".into()),
            };
            match done {
                Ok(n) => n as i32,
                Err(e) => {
                    s.warnings.push(format!("fs_write refused: {e}"));
                    -1
                }
            }
        },
    )?;
    l.func_wrap(
        "scry",
        "fs_rename",
        |mut c: Caller<'_, State>, a: i32, an: i32, b: i32, bn: i32| -> i32 {
            let from = guest_text(&mut c, a, an);
            let to = guest_text(&mut c, b, bn);
            let s = c.data_mut();
            let done = match &s.fs {
                Some(dir) => dir.rename(&from, &to),
                None => Err("no directory was granted".into()),
            };
            match done {
                Ok(()) => 0,
                Err(e) => {
                    s.warnings.push(format!("fs_rename refused: {e}"));
                    -1
                }
            }
        },
    )?;
    l.func_wrap(
        "scry",
        "exec",
        |mut c: Caller<'_, State>, p: i32, n: i32| -> i32 {
            let cmd = guest_text(&mut c, p, n);
            if !c.data().exec {
                c.data_mut()
                    .warnings
                    .push("exec refused: not granted".into());
                return -1;
            }
            match std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(&cmd)
                .status()
            {
                Ok(st) => st.code().unwrap_or(-1),
                Err(e) => {
                    c.data_mut().warnings.push(format!("exec '{cmd}': {e}"));
                    -1
                }
            }
        },
    )?;
    Ok(l)
}

/// `len` bytes at `ptr` of the caller's memory (None when out of bounds).
fn guest_bytes(c: &mut Caller<'_, State>, ptr: i32, len: i32) -> Option<Vec<u8>> {
    let mem = c.get_export("memory")?.into_memory()?;
    let (p, n) = (ptr as u32 as usize, len as u32 as usize);
    mem.data(&c).get(p..p.checked_add(n)?).map(<[u8]>::to_vec)
}

fn guest_text(c: &mut Caller<'_, State>, ptr: i32, len: i32) -> String {
    match guest_bytes(c, ptr, len) {
        Some(b) => String::from_utf8_lossy(&b).into_owned(),
        None => format!("(a string at {ptr}, {len} bytes, outside its memory)"),
    }
}
