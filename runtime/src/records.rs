//! Ring-buffer records: decoding them and doing what they ask.

use std::io::{self, Read, Write};

use scry_ebpf::object::{ActionKind, Object};
use scry_stdlib::decode::decode;
use scry_stdlib::names::Names;
use scry_stdlib::printer::Printer;
use scry_stdlib::value::Value;

use crate::load::Loaded;
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
}

impl Default for ActionOptions {
    fn default() -> Self {
        ActionOptions {
            cat_bytes_max: 10 * 1024,
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
}

impl Dispatcher {
    /// A dispatcher with these settings.
    pub fn new(opts: ActionOptions) -> Self {
        Dispatcher {
            opts,
            args: Vec::new(),
            text: Vec::new(),
        }
    }

    /// Handles one record.
    pub fn handle<W: Write>(
        &mut self,
        record: &[u8],
        object: &Object,
        loaded: &Loaded,
        names: &dyn Names,
        printer: &mut Printer<W>,
    ) -> io::Result<Effect> {
        let Some(id) = record
            .get(..8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
        else {
            return Ok(Effect::None);
        };
        let Some(action) = object.actions.get(id as usize) else {
            return Ok(Effect::None);
        };
        self.args.clear();
        self.args.extend(
            action
                .args
                .iter()
                .map(|f| decode(&f.ty, record.get(f.offset..).unwrap_or(&[]), names)),
        );
        let args = &self.args;
        self.text.clear();
        match &action.kind {
            ActionKind::Printf(pieces) => {
                scry_stdlib::printf::format_into(&mut self.text, pieces, args);
                printer.printf(&self.text)?;
            }
            ActionKind::System(pieces) => {
                let cmd = scry_stdlib::printf::format(pieces, args);
                let (out, cut) = crate::system_cmd::run(&String::from_utf8_lossy(&cmd))?;
                printer.syscall(&out)?;
                if cut {
                    crate::eprintln_lossy!(
                        "WARNING: system() output cut at {} bytes; the command was killed",
                        crate::system_cmd::OUTPUT_MAX
                    );
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
                        printer.cat(&buf)?;
                    }
                    Err(e) => crate::eprintln_lossy!(
                        "ERROR: failed to open file '{path}': {}",
                        io_reason(&e)
                    ),
                }
            }
            ActionKind::PrintValue => {
                if let Some(v) = args.first() {
                    printer.value(v)?;
                }
            }
            ActionKind::PrintMap(m) => {
                let top = int_arg(args, 0);
                let div = int_arg(args, 1);
                let dump = snapshot::dump(object, loaded, *m, names)?;
                printer.map(&dump, top, div)?;
            }
            ActionKind::Clear(m) => snapshot::clear(object, loaded, *m)?,
            ActionKind::Zero(m) => snapshot::zero(object, loaded, *m)?,
            ActionKind::Time(fmt) => printer.time(strftime_now(fmt).as_bytes())?,
            ActionKind::Exit => return Ok(Effect::Exit),
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
                printer.join(&parts.join(sep.as_bytes()))?;
            }
            ActionKind::Watch(program) => {
                return Ok(Effect::Watch {
                    program: *program,
                    address: raw_u64(record, 8),
                    pid: u32::try_from(raw_u64(record, 16)).unwrap_or_default(),
                })
            }
            ActionKind::Unwatch => return Ok(Effect::Unwatch(raw_u64(record, 8))),
        }
        Ok(Effect::None)
    }
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
    // SAFETY: time(NULL) only returns the time.
    strftime_at(fmt, unsafe { libc::time(std::ptr::null_mut()) }).unwrap_or_default()
}

/// The longest text a `time()`/`strftime()` format may give (`%_100000Y` pads that far).
const STRFTIME_MAX: usize = 1 << 16;

/// `secs` since the epoch formatted by strftime(3) in local time; `None` (with an error on
/// stderr, as bpftrace gives) when the text is longer than [`STRFTIME_MAX`].
pub fn strftime_at(fmt: &str, secs: libc::time_t) -> Option<String> {
    let Ok(cfmt) = std::ffi::CString::new(fmt) else {
        return Some(String::new());
    };
    // SAFETY: localtime_r writes into the local tm.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        tm
    };
    // strftime returns 0 when the text does not fit (or is empty): retry with more room.
    let mut size = 256 + fmt.len() * 4;
    loop {
        let mut buf = vec![0u8; size];
        // SAFETY: strftime writes at most buf.len() bytes into buf.
        let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), &tm) };
        if n > 0 || fmt.is_empty() {
            return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        if size >= STRFTIME_MAX {
            crate::eprintln_lossy!(
                "ERROR: strftime format '{fmt}' gives no text or more than {STRFTIME_MAX} bytes"
            );
            return None;
        }
        size = (size * 4).min(STRFTIME_MAX);
    }
}
