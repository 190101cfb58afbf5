//! trace's output: the header, one line per event (`PID TID COMM FUNC MESSAGE` with optional
//! TIME and CPU columns), stacks below it, the `-n`/`-f` filters, `-M` and `-A`.
//!
//! Each event arrives as the tuple the program prints: (probe index, nsecs, cpu, pid, tid,
//! comm, [kstack], [ustack], captured arguments...).

use std::cell::Cell;
use std::collections::HashMap;
use std::io::{self, Write};
use std::rc::Rc;

use scry_runtime::symbols::kernel::KernelSymbols;
use scry_runtime::symbols::user::UserSymbols;
use scry_stdlib::sink::Message;
use scry_stdlib::value::Frame;
use scry_stdlib::{MapDump, Sink, Value};

use super::format::{self, Conv, Piece};
use crate::tools::clock;
use crate::tools::summary::key_text;

/// The TIME column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Time {
    /// None.
    Off,
    /// `-t`: seconds since the start; with `-u`, the UNIX time.
    Elapsed { unix: bool },
    /// `-T`: the local time of day (17 wide with `-u`).
    Clock { wide: bool },
}

/// How events print.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Each probe's FUNC column and format pieces (empty for the default action).
    pub probes: Vec<(String, Vec<Piece>)>,
    /// The TIME column.
    pub time: Time,
    /// `-C`: the CPU column.
    pub cpu: bool,
    /// `-K`, `-U`: stacks after each event.
    pub kernel_stack: bool,
    /// See `kernel_stack`.
    pub user_stack: bool,
    /// `-a`: addresses in stack lines.
    pub addresses: bool,
    /// `-n`: only processes whose name contains this.
    pub name: Option<String>,
    /// `-f`: only messages containing this.
    pub message: Option<String>,
    /// `-M`: stop after this many events.
    pub max_events: Option<u64>,
    /// `-A`: count identical events, print them at the end.
    pub aggregate: bool,
}

impl Layout {
    /// The header line.
    pub fn header(&self) -> String {
        let mut h = String::new();
        match self.time {
            Time::Off => {}
            Time::Elapsed { unix: true } | Time::Clock { wide: true } => {
                h.push_str(&format!("{:<17} ", "TIME"))
            }
            _ => h.push_str(&format!("{:<8} ", "TIME")),
        }
        if self.cpu {
            h.push_str(&format!("{:<3} ", "CPU"));
        }
        let last = if self.probes.iter().any(|(_, p)| !p.is_empty()) {
            "-"
        } else {
            ""
        };
        h.push_str(&format!(
            "{:<7} {:<7} {:<15} {:<16} {last}",
            "PID", "TID", "COMM", "FUNC"
        ));
        h
    }
}

/// The trace sink; `done` is set once `-M` events were printed.
pub struct Events {
    layout: Layout,
    out: Box<dyn Write>,
    /// CLOCK_BOOTTIME (what `nsecs` reads) and the wall clock at the start, in ns.
    start: (u64, u64),
    printed: u64,
    done: Rc<Cell<bool>>,
    counts: HashMap<String, u64>,
    /// Resolves `%U` addresses.
    user_symbols: UserSymbols,
}

impl Events {
    /// A sink printing to `out`; `done` is set when `-M` is reached.
    pub fn new(layout: Layout, out: Box<dyn Write>, done: Rc<Cell<bool>>) -> Self {
        Events {
            layout,
            out,
            start: (now_ns(libc::CLOCK_BOOTTIME), now_ns(libc::CLOCK_REALTIME)),
            printed: 0,
            done,
            counts: HashMap::new(),
            user_symbols: UserSymbols::new(),
        }
    }

    /// The text of one event (line and stacks), or `None` when a filter drops it.
    fn event(&self, fields: &[Value]) -> Option<String> {
        let int = |i: usize| match fields.get(i) {
            Some(Value::Int(v)) => v.value,
            _ => 0,
        };
        let (probe, nsecs, cpu, pid, tid) = (int(0), int(1) as u64, int(2), int(3), int(4));
        let comm = fields.get(5).map(key_text).unwrap_or_default();
        if let Some(n) = &self.layout.name {
            if !comm.contains(n.as_str()) {
                return None;
            }
        }
        let (func, pieces) = self.layout.probes.get(usize::try_from(probe).ok()?)?;
        let mut next = 6;
        let mut stack = |wanted: bool| {
            let frames = match (wanted, fields.get(next)) {
                (true, Some(Value::Stack { frames, .. })) => frames.clone(),
                _ => Vec::new(),
            };
            next += usize::from(wanted);
            frames
        };
        let kernel = stack(self.layout.kernel_stack);
        let user = stack(self.layout.user_stack);
        let symbol = |conv: Conv, addr: u64| {
            let frame = match conv {
                Conv::KSym => KernelSymbols::get().resolve(addr),
                _ => self
                    .user_symbols
                    .resolve(u32::try_from(pid).unwrap_or_default(), &[addr])
                    .pop()
                    .unwrap_or_else(|| Frame::unresolved(addr)),
            };
            match conv {
                // BCC's %K: `vfs_read+0x0`, no module.
                Conv::KSym => symbol(
                    &Frame {
                        module: None,
                        ..frame
                    },
                    false,
                ),
                _ => symbol(&frame, false),
            }
        };
        let message = format::render(pieces, &fields[next.min(fields.len())..], &symbol);
        if let Some(m) = &self.layout.message {
            if !message.contains(m.as_str()) {
                return None;
            }
        }
        let mut text = self.time_column(nsecs);
        if self.layout.cpu {
            text.push_str(&format!("{:<3} ", cpu));
        }
        text.push_str(&format!(
            "{pid:<7} {tid:<7} {comm:<15} {func:<16} {message}\n"
        ));
        let stacks = self.layout.kernel_stack || self.layout.user_stack;
        for (wanted, frames, kernel) in [
            (self.layout.kernel_stack, &kernel, true),
            (self.layout.user_stack, &user, false),
        ] {
            if wanted {
                for f in frames {
                    text.push_str(&self.frame(f, kernel));
                }
            }
        }
        if stacks {
            text.push('\n');
        }
        Some(text)
    }

    fn time_column(&self, nsecs: u64) -> String {
        match self.layout.time {
            Time::Off => String::new(),
            Time::Elapsed { unix } => {
                let secs = nsecs.saturating_sub(self.start.0) as f64 / 1e9;
                let (value, width) = if unix {
                    (self.start.1 as f64 / 1e9 + secs, 17)
                } else {
                    (secs, 8)
                };
                let text = format!("{value:.6}");
                let cut = &text[..text.len().min(width)];
                format!("{cut:<width$} ")
            }
            Time::Clock { wide } => {
                let width = if wide { 17 } else { 8 };
                format!("{:<width$} ", clock::hms())
            }
        }
    }

    /// One stack line: 8 spaces, `-a`'s address, the symbol with offset and module.
    fn frame(&self, f: &Frame, kernel: bool) -> String {
        let mut line = String::from("        ");
        if self.layout.addresses {
            line.push_str(&format!("{:>16x} ", f.addr));
        }
        line.push_str(&symbol(f, kernel));
        line.push('\n');
        line
    }

    /// `-A`'s summary: each distinct event by count descending.
    fn print_aggregate(&mut self) -> io::Result<()> {
        let mut rows: Vec<(String, u64)> = std::mem::take(&mut self.counts).into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for (text, n) in rows {
            write!(self.out, "{text}-->COUNT {n}\n\n")?;
        }
        self.out.flush()
    }

    /// `-M` reached: no more output, and the session is asked to stop (as Ctrl-C would).
    fn finish_early(&mut self) -> io::Result<()> {
        if self.layout.aggregate {
            self.print_aggregate()?;
        }
        self.done.set(true);
        // The session reads SIGTERM from its signalfd, as it reads Ctrl-C.
        scry_runtime::sys::process::terminate_self();
        Ok(())
    }
}

/// A frame as BCC shows it: `sym+0xOFF`, then ` [kernel]` or ` [module]` (`[unknown]` for an
/// address without symbol, with its module when that is known).
fn symbol(f: &Frame, kernel: bool) -> String {
    let mut text = match &f.symbol {
        Some(s) => format!("{s}+{:#x}", f.offset),
        None => "[unknown]".to_string(),
    };
    let module = match (&f.module, kernel) {
        (_, true) => f.symbol.as_ref().map(|_| "kernel"),
        (Some(m), false) => Some(m.rsplit('/').next().unwrap_or(m)),
        (None, false) => None,
    };
    if let Some(m) = module {
        text.push_str(&format!(" [{m}]"));
    }
    text
}

/// A clock's time in ns (`libc::CLOCK_*`).
fn now_ns(clock: libc::clockid_t) -> u64 {
    scry_runtime::sys::clock::clock_ns(clock) as u64
}

impl Sink for Events {
    fn attached(&mut self, _probes: u64) -> io::Result<()> {
        Ok(())
    }

    fn message(&mut self, _kind: Message, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    fn value(&mut self, v: &Value) -> io::Result<()> {
        if self.done.get() {
            return Ok(());
        }
        let Value::Tuple(fields) = v else {
            return Ok(());
        };
        let Some(text) = self.event(fields) else {
            return Ok(());
        };
        if self.layout.aggregate {
            *self.counts.entry(text).or_default() += 1;
        } else {
            self.out.write_all(text.as_bytes())?;
        }
        self.printed += 1;
        if self.layout.max_events.is_some_and(|m| self.printed >= m) {
            self.finish_early()?;
        }
        Ok(())
    }

    fn map(&mut self, _dump: &MapDump, _top: u64, _div: u64) -> io::Result<()> {
        Ok(())
    }

    fn lost(&mut self, events: u64) -> io::Result<()> {
        // After -M, the events the ring buffer dropped while the session stopped do not count.
        if self.done.get() {
            return Ok(());
        }
        writeln!(io::stderr(), "Possibly lost {events} samples")
    }

    fn exit_newlines(&mut self) -> io::Result<()> {
        if self.layout.aggregate && !self.done.get() {
            self.print_aggregate()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_stdlib::sink::Capture;
    use scry_stdlib::Int;

    fn layout(time: Time, cpu: bool, format: Option<&str>) -> Layout {
        Layout {
            probes: vec![(
                "malloc".into(),
                format.map(format::parse).unwrap_or_default(),
            )],
            time,
            cpu,
            kernel_stack: false,
            user_stack: false,
            addresses: false,
            name: None,
            message: None,
            max_events: None,
            aggregate: false,
        }
    }

    #[test]
    fn headers() {
        let h = |t, c, f| layout(t, c, f).header();
        assert_eq!(
            h(Time::Off, false, Some("%d")),
            "PID     TID     COMM            FUNC             -"
        );
        assert_eq!(
            h(Time::Off, false, None),
            "PID     TID     COMM            FUNC             "
        );
        assert_eq!(
            h(Time::Clock { wide: false }, true, Some("%d")),
            "TIME     CPU PID     TID     COMM            FUNC             -"
        );
        assert_eq!(
            h(Time::Elapsed { unix: true }, false, Some("%d")),
            "TIME              PID     TID     COMM            FUNC             -"
        );
    }

    #[test]
    fn event_lines_filters_and_aggregates() {
        let int = |v| Value::Int(Int::signed(v));
        let event = |pid, comm: &str, ret| {
            Value::Tuple(vec![
                int(0),
                int(0),
                int(1),
                int(pid),
                int(pid),
                Value::str(comm),
                int(ret),
            ])
        };
        let capture = Capture::new();
        let done = Rc::new(Cell::new(false));
        let mut l = layout(Time::Off, true, Some("ret %d"));
        l.name = Some("bas".into());
        l.max_events = Some(2);
        let mut sink = Events::new(l, Box::new(capture.clone()), done.clone());
        // SIGTERM would stop this test: -M is checked without reaching it.
        sink.value(&event(9557, "bash", -1)).unwrap();
        sink.value(&event(12, "other", 5)).unwrap();
        assert_eq!(
            capture.take_string(),
            "1   9557    9557    bash            malloc           ret -1\n"
        );
        assert!(!done.get());

        let mut l = layout(Time::Off, false, None);
        l.aggregate = true;
        let mut sink = Events::new(l, Box::new(capture.clone()), done);
        for _ in 0..2 {
            sink.value(&event(7, "a.out", 0)).unwrap();
        }
        sink.value(&event(8, "a.out", 0)).unwrap();
        sink.exit_newlines().unwrap();
        assert_eq!(
            capture.take_string(),
            "7       7       a.out           malloc           \n-->COUNT 2\n\n\
             8       8       a.out           malloc           \n-->COUNT 1\n\n"
        );
    }
}
