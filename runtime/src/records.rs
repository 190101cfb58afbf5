//! Ring-buffer records: decoding them and doing what they ask.

use std::io::{self, Read};

use scry_ebpf::object::{ActionKind, Object};
use scry_stdlib::decode::decode;
use scry_stdlib::names::Names;
use scry_stdlib::plugin::PluginCalls;
use scry_stdlib::sink::{Message, Sink};
use scry_stdlib::value::Value;

use crate::load::Loaded;
use crate::reducer_counts::CountsSeen;
use crate::snapshot;

/// What a record asks of the session beyond printing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing more.
    None,
    /// `exit()` ran.
    Exit,
    /// User addresses of this process were recorded for the first time: keep its memory map.
    UserProcess(u32),
    /// A function watchpoint's function ran.
    Watch {
        /// The watchpoint's program, an index into the object's programs.
        program: usize,
        /// The address to watch.
        address: u64,
        /// The process whose address it is.
        pid: u32,
    },
    /// `unwatch(address)`.
    Unwatch(u64),
}

/// Settings of the user-space actions.
#[derive(Clone, Debug)]
pub struct ActionOptions {
    /// BPFTRACE_CAT_BYTES_MAX: most bytes `cat()` prints.
    pub cat_bytes_max: usize,
    /// `clear()` also empties the stack maps, first: for a program whose map is the only
    /// holder of stack ids (the BCC tools), so that a run printing and clearing at intervals
    /// does not fill them (a stack map never frees an id by itself).
    pub clear_stacks: bool,
}

impl Default for ActionOptions {
    fn default() -> Self {
        ActionOptions {
            cat_bytes_max: 10 * 1024,
            clear_stacks: false,
        }
    }
}

/// Handles records, reusing its buffers from one record to the next.
#[derive(Default)]
pub struct Dispatcher {
    /// What the handlers may do.
    pub opts: ActionOptions,
    args: Vec<Value>,
    text: Vec<u8>,
    /// Records held back until their plugin calls are made in one batch.
    held: crate::plugin_calls::Held,
    /// Set once the session was told to stop (SIGINT, SIGTERM): `system()` records still
    /// queued are counted, not run, so that the session ends at once.
    pub commands_skipped: Option<u64>,
    /// Set by `exit()` until END runs: records are dropped, as bpftrace 0.17 drops them, except
    /// those [`crate::after_exit::acted_on`] keeps.
    pub exited: bool,
    /// Where plugin function calls in records are made.
    pub plugins: Option<Box<dyn PluginCalls>>,
    /// What was sent of weighted reducers' kernel counts.
    pub counts: CountsSeen,
}

impl Dispatcher {
    /// A dispatcher with these settings.
    pub fn new(opts: ActionOptions) -> Self {
        Dispatcher {
            opts,
            args: Vec::new(),
            text: Vec::new(),
            held: Vec::new(),
            commands_skipped: None,
            exited: false,
            plugins: None,
            counts: CountsSeen::default(),
        }
    }

    /// Handles one record. A record with plugin calls is held back (with every record that
    /// only prints and comes after it) until [`Dispatcher::flush`] or a record that must be
    /// handled in place, so that the calls of a drain reach each plugin function in one batch
    /// and the output keeps its order.
    pub fn handle(
        &mut self,
        record: &[u8],
        object: &Object,
        loaded: &Loaded,
        names: &dyn Names,
        sink: &mut dyn Sink,
    ) -> io::Result<Effect> {
        let Some(id) = record
            .get(..8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
        else {
            return Ok(Effect::None);
        };
        let id = id as usize;
        let Some(action) = object.actions.get(id) else {
            return Ok(Effect::None);
        };
        if self.exited && !crate::after_exit::acted_on(&action.kind) {
            return Ok(Effect::None);
        }
        let mut args = std::mem::take(&mut self.args);
        args.clear();
        args.extend(
            action
                .args
                .iter()
                .map(|f| decode(&f.ty, record.get(f.offset..).unwrap_or(&[]), names)),
        );
        let holds = !action.calls.is_empty() || !self.held.is_empty();
        if holds && prints_only(&action.kind) {
            self.held.push((id, args));
            return Ok(Effect::None);
        }
        self.flush(object, loaded, names, sink)?;
        let effect = self.act(id, &args, record, object, loaded, names, sink);
        self.args = args;
        effect
    }

    /// Makes the plugin calls of the records held back, in one batch per plugin function,
    /// and handles the records in order.
    pub fn flush(
        &mut self,
        object: &Object,
        loaded: &Loaded,
        names: &dyn Names,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        if self.held.is_empty() {
            return Ok(());
        }
        let mut held = std::mem::take(&mut self.held);
        let made = match self.plugins.as_deref_mut() {
            Some(plugins) => crate::plugin_calls::substitute_batched(&mut held, object, plugins),
            None => held.iter().map(|(id, _)| sites_none(object, *id)).collect(),
        };
        for ((id, args), made) in held.drain(..).zip(made) {
            if made {
                // Held records only print: their effect is always `None`.
                self.act(id, &args, &[], object, loaded, names, sink)?;
            }
        }
        self.held = held;
        Ok(())
    }

    /// Does what record `id` asks, its arguments decoded (and its plugin calls made).
    #[allow(clippy::too_many_arguments)]
    fn act(
        &mut self,
        id: usize,
        args: &[Value],
        record: &[u8],
        object: &Object,
        loaded: &Loaded,
        names: &dyn Names,
        sink: &mut dyn Sink,
    ) -> io::Result<Effect> {
        let Some(action) = object.actions.get(id) else {
            return Ok(Effect::None);
        };
        self.text.clear();
        match &action.kind {
            ActionKind::Printf(pieces) => {
                sink.printf_args(id, args)?;
                scry_stdlib::printf::format_into(&mut self.text, pieces, args);
                sink.message(Message::Printf, &self.text)?;
            }
            ActionKind::System(_) if self.commands_skipped.is_some() => {
                *self.commands_skipped.get_or_insert(0) += 1;
            }
            ActionKind::System(pieces) => {
                let cmd = scry_stdlib::printf::format(pieces, args);
                let (out, cut) = crate::system_cmd::run(&String::from_utf8_lossy(&cmd))?;
                sink.message(Message::Syscall, &out)?;
                if cut {
                    sink.warning(&format!(
                        "system() output cut at {} bytes; the command was killed",
                        crate::system_cmd::OUTPUT_MAX
                    ))?;
                }
            }
            ActionKind::Cat(pieces) => {
                let path = scry_stdlib::printf::format(pieces, args);
                let path = String::from_utf8_lossy(&path).into_owned();
                match std::fs::File::open(&path) {
                    Ok(f) => {
                        let mut buf = Vec::new();
                        f.take(self.opts.cat_bytes_max as u64)
                            .read_to_end(&mut buf)?;
                        sink.message(Message::Cat, &buf)?;
                    }
                    Err(e) => {
                        sink.error(&format!("failed to open file '{path}': {}", io_reason(&e)))?
                    }
                }
            }
            ActionKind::PrintValue => {
                if let Some(v) = args.first() {
                    sink.value(v)?;
                }
            }
            ActionKind::PrintMap(m) => {
                let top = int_arg(args, 0);
                let div = int_arg(args, 1);
                let dump = snapshot::dump(object, loaded, *m, names)?;
                sink.map(&dump, top, div)?;
            }
            ActionKind::Clear(m) => {
                // Stacks first: an event between the two clears counts into the map cleared
                // next, never under an id that is gone.
                if self.opts.clear_stacks {
                    snapshot::clear_stacks(object, loaded)?;
                }
                snapshot::clear(object, loaded, *m)?
            }
            ActionKind::Zero(m) => snapshot::zero(object, loaded, *m)?,
            ActionKind::Time(fmt) => match strftime_at(fmt, crate::sys::clock::now_secs()) {
                Ok(text) => sink.message(Message::Time, text.as_bytes())?,
                Err(e) => sink.error(&e)?,
            },
            ActionKind::Exit => {
                self.exited = true;
                return Ok(Effect::Exit);
            }
            ActionKind::UserPid => {
                return Ok(Effect::UserProcess(
                    u32::try_from(int_arg(args, 0)).unwrap_or_default(),
                ))
            }
            ActionKind::Join(sep) => {
                // The strings up to the first empty one, as bpftrace 0.17 does.
                let parts: Vec<&[u8]> = args
                    .iter()
                    .map_while(|a| match a {
                        Value::Str(s) if !s.is_empty() => Some(s.as_slice()),
                        _ => None,
                    })
                    .collect();
                sink.message(Message::Join, &parts.join(sep.as_bytes()))?;
            }
            ActionKind::Watch(program) => {
                return Ok(Effect::Watch {
                    program: *program,
                    address: raw_u64(record, 8),
                    pid: u32::try_from(raw_u64(record, 16)).unwrap_or_default(),
                })
            }
            ActionKind::Unwatch => return Ok(Effect::Unwatch(raw_u64(record, 8))),
            ActionKind::HelperError(site) => {
                sink.helper_error(site.helper, raw_u64(record, 8) as i64, &site.location)?
            }
            ActionKind::Reduce(_)
            | ActionKind::PrintReducer(_)
            | ActionKind::ClearReducer(_)
            | ActionKind::ZeroReducer(_)
            | ActionKind::DeleteReducer(_) => {
                if let Some(plugins) = self.plugins.as_deref_mut() {
                    let cx = crate::plugin_calls::ReducerContext {
                        object,
                        loaded,
                        names,
                        counts: &mut self.counts,
                        plugins,
                    };
                    crate::plugin_calls::reducer_record(&action.kind, args, cx, sink)?;
                }
            }
        }
        Ok(Effect::None)
    }
}

/// Whether a record of `kind` only prints (nothing it does depends on when it is handled,
/// beyond its order among the output): such records may be held back behind plugin calls.
fn prints_only(kind: &ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::Printf(_)
            | ActionKind::System(_)
            | ActionKind::Cat(_)
            | ActionKind::PrintValue
            | ActionKind::Join(_)
    )
}

/// Without a plugin host, only a record without plugin calls can be handled.
fn sites_none(object: &Object, id: usize) -> bool {
    object.actions.get(id).is_some_and(|a| a.calls.is_empty())
}

/// The u64 at byte `offset` of a record (0 when the record is shorter).
fn raw_u64(record: &[u8], offset: usize) -> u64 {
    record
        .get(offset..offset + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

fn int_arg(args: &[Value], i: usize) -> u64 {
    match args.get(i) {
        Some(Value::Int(n)) => n.bits(),
        _ => 0,
    }
}

/// The reason text of an I/O error, without Rust's "(os error N)".
fn io_reason(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The wall clock formatted by strftime(3) in local time (nothing if it cannot be).
pub fn strftime_now(fmt: &str) -> String {
    strftime_at(fmt, crate::sys::clock::now_secs()).unwrap_or_default()
}

/// `secs` since the epoch formatted by strftime(3) in local time; `Err` (the error the
/// session's sink reports, as bpftrace gives one) when the text is longer than
/// [`crate::sys::clock::STRFTIME_MAX`].
pub fn strftime_at(fmt: &str, secs: libc::time_t) -> Result<String, String> {
    crate::sys::clock::strftime_at(fmt, secs).ok_or_else(|| {
        format!(
            "strftime format '{fmt}' gives no text or more than {} bytes",
            crate::sys::clock::STRFTIME_MAX
        )
    })
}
