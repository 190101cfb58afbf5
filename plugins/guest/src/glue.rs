//! What the [`plugin!`](crate::plugin) exports call: buffers in and out, layouts read, errors
//! reported. Public for the macro only.

use alloc::string::String;
use alloc::vec::Vec;
use core::panic::PanicInfo;

use crate::read::{Reader, Run, Updates};
use crate::{host, Error, Plugin, Record, Result, Writer};

/// One instance runs one hook at a time on one thread: these are its buffers.
struct Buffers {
    input: Vec<u8>,
    out: Writer,
    run: Option<Run>,
}

static mut BUFFERS: Buffers = Buffers { input: Vec::new(), out: Writer { bytes: Vec::new() }, run: None };

fn buffers() -> &'static mut Buffers {
    // Safety: single-threaded, and no hook keeps a reference across calls.
    unsafe { &mut BUFFERS }
}

/// The input scry filled, `len` bytes at `ptr` (a buffer `alloc` returned).
fn input<'a>(ptr: i32, len: i32) -> &'a [u8] {
    let input = &buffers().input;
    let start = (ptr as usize).wrapping_sub(input.as_ptr() as usize);
    input.get(start..start.saturating_add(len as usize)).unwrap_or(&[])
}

fn slice(bytes: &[u8]) -> i64 {
    (bytes.as_ptr() as u32 as u64 | (bytes.len() as u64) << 32) as i64
}

fn status(result: Result) -> i32 {
    match result {
        Ok(()) => 0,
        Err(Error(message)) => {
            host::error(&message);
            1
        }
    }
}

/// Runs `hook` with the output buffer cleared; its bytes as a slice, or the error slice.
fn with_out(hook: impl FnOnce(&mut Writer) -> Result) -> i64 {
    let out = &mut buffers().out;
    out.bytes.clear();
    match hook(out) {
        Ok(()) => slice(&out.bytes),
        Err(Error(message)) => {
            host::error(&message);
            (0xFFFF_FFFFu64 << 32) as i64
        }
    }
}

/// The panic hook: the panic's message through `scry.error` (the module then traps), as
/// `panicked at 'MESSAGE', FILE:LINE:COLUMN`. Written without `core::fmt` (std has already
/// formatted the message into the payload).
pub fn panicked(info: &PanicInfo) {
    let payload = info.payload();
    let message = match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(s), _) => s,
        (_, Some(s)) => s.as_str(),
        _ => "Box<dyn Any>",
    };
    let mut w = Writer::default();
    w.text("panicked at '");
    w.text(message);
    w.text("'");
    if let Some(at) = info.location() {
        w.text(", ");
        w.text(at.file());
        w.text(":");
        w.udec(at.line().into());
        w.text(":");
        w.udec(at.column().into());
    }
    host::error(&String::from_utf8_lossy(&w.bytes));
}

/// `scry_plugin`.
pub fn descriptor<P: Plugin>() -> i64 {
    with_out(|out| {
        out.text("abi 1.2\n");
        out.text(P::DESCRIPTOR);
        Ok(())
    })
}

/// `scry_alloc`: one input buffer, grown as needed (scry asks for one per hook call).
pub fn alloc(size: i32) -> i32 {
    let input = &mut buffers().input;
    let size = size.max(0) as usize;
    input.clear();
    if input.try_reserve(size).is_err() {
        return 0;
    }
    input.resize(size, 0);
    input.as_mut_ptr() as i32
}

/// `scry_init`.
pub fn init<P: Plugin>(p: &mut P, ptr: i32, len: i32) -> i32 {
    status(Run::read(&mut Reader::new(input(ptr, len))).and_then(|run| {
        let result = p.init(&run);
        buffers().run = Some(run);
        result
    }))
}

/// `scry_formats`: the formats join those of the run description (so `sink` reads their
/// records), then the plugin sees them.
pub fn formats<P: Plugin>(p: &mut P, ptr: i32, len: i32) -> i32 {
    status(Run::formats(&mut Reader::new(input(ptr, len))).and_then(|added| {
        let run = buffers().run.get_or_insert_with(Run::default);
        let first = run.formats.len();
        run.formats.extend(added);
        p.formats(run, first)
    }))
}

/// `scry_call`.
pub fn call<P: Plugin>(p: &mut P, item: i32, ptr: i32, len: i32, count: i32) -> i64 {
    let mut args = Reader::new(input(ptr, len));
    with_out(|out| p.call(item as u32, &mut args, count as u32, out))
}

/// `scry_reduce`.
pub fn reduce<P: Plugin>(p: &mut P, item: i32, map: i32, ptr: i32, len: i32, count: i32) -> i32 {
    let updates = Updates::new(input(ptr, len), count as u32, weighted(P::DESCRIPTOR, item));
    status(p.reduce(item as u32, map as u32, updates))
}

/// Whether item `item` of `descriptor` is a reducer declared `weighted` (its updates carry a
/// weight).
fn weighted(descriptor: &str, item: i32) -> bool {
    descriptor
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| ["fn ", "reducer ", "formatter "].iter().any(|w| l.starts_with(w)))
        .nth(item.max(0) as usize)
        .map_or(false, |l| l.starts_with("reducer ") && l.split_whitespace().any(|w| w == "weighted"))
}

/// `scry_render`.
pub fn render<P: Plugin>(p: &mut P, item: i32, map: i32, key: i32, format: i32) -> i64 {
    with_out(|out| p.render(item as u32, map as u32, key as u32, format == 1, out))
}

/// `scry_reset`.
pub fn reset<P: Plugin>(p: &mut P, item: i32, map: i32, key: i32, mode: i32) -> i32 {
    let key = if key < 0 { None } else { Some(key as u32) };
    status(p.reset(item as u32, map as u32, key, mode == 1))
}

/// `scry_format`.
pub fn format<P: Plugin>(p: &mut P, item: i32, ptr: i32, len: i32) -> i64 {
    let map = Reader::new(input(ptr, len)).map();
    with_out(|out| p.format(item as u32, &map?, out))
}

/// `scry_sink`.
pub fn sink<P: Plugin>(p: &mut P, ptr: i32, len: i32, count: i32) -> i32 {
    let run = buffers().run.get_or_insert_with(Run::default);
    status(Record::read_all(input(ptr, len), count as u32, run).and_then(|records| p.sink(&records)))
}

/// `scry_finish`.
pub fn finish<P: Plugin>(p: &mut P) -> i32 {
    status(p.finish())
}
