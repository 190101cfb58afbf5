//! The plugins' side of the output seam: a [`Sink`] in front of scry's own text or JSON sink
//! that sends every output record to the plugins with a sink (one `scry_sink` call per drain),
//! renders maps that have a formatter, and writes what plugins output, log and fail with.
//! While a `sink args` plugin is alive, it prints printf lines in scry's place.

use std::collections::BTreeSet;
use std::io;

use scry_lang::plugin::SinkMode;
use scry_stdlib::map::MapDump;
use scry_stdlib::sink::{Message, Sink};
use scry_stdlib::value::Value;

use crate::layout::Writer;
use crate::plugins::{Notice, Shared};
use crate::records;

/// Sink records since the last flush for plugins of one mode, and how many.
#[derive(Default)]
struct Batch {
    /// Whether any plugin has a sink of this mode.
    wanted: bool,
    w: Writer,
    count: u32,
}

impl Batch {
    fn add(&mut self, f: impl FnOnce(&mut Writer)) {
        if self.wanted {
            f(&mut self.w);
            self.count += 1;
        }
    }
}

/// scry's sink with the plugins in front.
pub struct PluginSink {
    inner: Box<dyn Sink>,
    plugins: Shared,
    /// For `sink lines` and `sink args` plugins.
    lines: Batch,
    args: Batch,
    /// The printf whose arguments just went to a live `sink args` plugin: scry does not print
    /// its text.
    replaced: bool,
    /// The args batch holds replaced printfs: it goes to the plugins before other output, so
    /// that their lines keep their place.
    holds_printf: bool,
    /// Whether maps with a formatter print as it renders them (text output; `-f json` keeps
    /// scry's structured maps).
    formatted: bool,
    /// Maps whose formatter renders another kind (warned about once).
    mismatched: BTreeSet<String>,
}

impl PluginSink {
    /// `inner` with `plugins` in front; maps with a formatter ([`Plugins::set_formatter`])
    /// print as it renders them when `formatted`.
    ///
    /// Several may exist over the same plugins (the REPL makes a new one when its output
    /// format changes): `scry_finish` runs when the last one is dropped.
    ///
    /// [`Plugins::set_formatter`]: crate::Plugins::set_formatter
    pub fn new(inner: Box<dyn Sink>, plugins: Shared, formatted: bool) -> Self {
        plugins.lock().sinks += 1;
        let mut sink = PluginSink {
            lines: Batch::default(),
            args: Batch::default(),
            replaced: false,
            holds_printf: false,
            inner,
            plugins,
            formatted,
            mismatched: BTreeSet::new(),
        };
        sink.refresh();
        sink
    }

    /// Which sink modes the live plugins want (plugins may be loaded while the sink exists,
    /// in the REPL).
    fn refresh(&mut self) {
        let ps = self.plugins.lock();
        self.lines.wanted = ps.has_sink(SinkMode::Lines);
        self.args.wanted = ps.has_sink(SinkMode::Args);
    }

    /// Writes what the plugins output and the notices about them, in order with the rest
    /// (replaced printfs first go to the plugins).
    fn pending(&mut self) -> io::Result<()> {
        if self.holds_printf {
            self.send();
        }
        let (out, notices) = {
            let mut ps = self.plugins.lock();
            (
                std::mem::take(&mut ps.output),
                std::mem::take(&mut ps.notices),
            )
        };
        if !out.is_empty() {
            self.inner.message(Message::Printf, &out)?;
        }
        for n in notices {
            match n {
                Notice::Error(e) => self.inner.error(&e)?,
                Notice::Warning(w) => self.inner.warning(&w)?,
            }
        }
        Ok(())
    }

    /// Adds a record built by `f` for every sink plugin.
    fn record(&mut self, f: impl Fn(&mut Writer)) {
        self.lines.add(&f);
        self.args.add(&f);
    }

    /// Sends the batches to the live plugins with a sink.
    fn send(&mut self) {
        self.holds_printf = false;
        for (mode, b) in [
            (SinkMode::Lines, &mut self.lines),
            (SinkMode::Args, &mut self.args),
        ] {
            if b.count == 0 {
                continue;
            }
            let batch = std::mem::take(&mut b.w.buf);
            let count = std::mem::take(&mut b.count);
            self.plugins.lock().sink(mode, &batch, count);
        }
    }

    /// The formatter's rendering of `dump`, if the map has a formatter for its kind (and it
    /// did not fail). A map of another kind prints as scry prints it, after one warning.
    fn formatted(&mut self, dump: &MapDump, top: u64) -> Option<Vec<u8>> {
        if !self.formatted {
            return None;
        }
        let mut ps = self.plugins.lock();
        let (plugin, item) = ps.formatters.get(&dump.name)?.clone();
        let mut w = Writer::default();
        records::map(&mut w, dump, top);
        let kind = records::kind_name(records::dump_kind(dump));
        let renders = ps.formatter_kind(&plugin, item)?;
        if renders != "any" && renders != kind {
            if self.mismatched.insert(dump.name.clone()) {
                ps.notices.push(Notice::Warning(format!(
                    "plugin {plugin}: its formatter renders {renders} maps, and @{} is a {kind} map: it prints as scry prints it",
                    dump.name
                )));
            }
            return None;
        }
        ps.format(&plugin, item, &w.buf)
    }
}

impl Sink for PluginSink {
    fn attached(&mut self, probes: u64) -> io::Result<()> {
        self.record(|w| {
            w.u8(6);
            w.u64(probes);
        });
        self.inner.attached(probes)
    }

    fn message(&mut self, kind: Message, bytes: &[u8]) -> io::Result<()> {
        if kind == Message::Printf && std::mem::take(&mut self.replaced) {
            self.lines.add(|w| records::line(w, kind, bytes));
            return Ok(());
        }
        self.pending()?;
        self.lines.add(|w| records::line(w, kind, bytes));
        if kind != Message::Printf {
            self.args.add(|w| records::line(w, kind, bytes));
        }
        self.inner.message(kind, bytes)
    }

    fn printf_args(&mut self, action: usize, args: &[Value]) -> io::Result<()> {
        self.replaced = false;
        if !self.args.wanted {
            return Ok(());
        }
        let ps = self.plugins.lock();
        if !ps.has_sink(SinkMode::Args) {
            return Ok(());
        }
        if let Some((format, types)) = ps.formats.numbers.get(&action) {
            self.args.add(|w| {
                w.u8(2);
                w.u32(*format);
                for (t, v) in types.iter().zip(args) {
                    w.typed(*t, v);
                }
            });
            self.replaced = true;
            self.holds_printf = true;
        }
        Ok(())
    }

    fn value(&mut self, v: &Value) -> io::Result<()> {
        self.pending()?;
        self.record(|w| {
            w.u8(3);
            w.tagged(v);
        });
        self.inner.value(v)
    }

    fn map(&mut self, dump: &MapDump, top: u64, div: u64) -> io::Result<()> {
        self.pending()?;
        self.record(|w| {
            w.u8(4);
            records::map(w, dump, top);
            w.u64(top);
            w.u64(div);
        });
        match self.formatted(dump, top) {
            Some(text) => {
                self.pending()?;
                self.inner.message(Message::Printf, &text)
            }
            None => {
                self.pending()?;
                self.inner.map(dump, top, div)
            }
        }
    }

    fn lost(&mut self, events: u64) -> io::Result<()> {
        self.pending()?;
        self.record(|w| {
            w.u8(5);
            w.u64(events);
        });
        self.inner.lost(events)
    }

    fn exit_newlines(&mut self) -> io::Result<()> {
        self.send();
        self.plugins.lock().end_of_run();
        self.pending()?;
        self.inner.exit_newlines()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send();
        self.refresh();
        self.plugins.lock().send_reduces();
        self.pending()?;
        self.inner.flush()
    }

    fn warning(&mut self, text: &str) -> io::Result<()> {
        self.inner.warning(text)
    }

    fn error(&mut self, text: &str) -> io::Result<()> {
        self.inner.error(text)
    }

    fn note(&mut self, text: &str) -> io::Result<()> {
        self.inner.note(text)
    }
}

impl Drop for PluginSink {
    /// The last records, then `scry_finish` (the end-of-run deadline), and what they said.
    fn drop(&mut self) {
        self.send();
        let mut ps = self.plugins.lock();
        ps.sinks -= 1;
        if ps.sinks == 0 {
            ps.finish();
        }
        drop(ps);
        let _ = self.pending();
        let _ = self.inner.flush();
    }
}
