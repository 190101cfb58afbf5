//! stackcount's summaries: each distinct key (kernel stack, user stack, process) with its
//! count, by count ascending, as a listing (innermost frame first) or as folded lines
//! (`comm;outermost;...;innermost COUNT`, what flamegraph.pl and inferno read).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::rc::Rc;

use scry_stdlib::value::Frame;
use scry_stdlib::{MapDump, MapValue, Value};

use crate::tools::clock;
use crate::tools::summary::{key_text, Render};

/// Which keys the program counts by, in this order.
#[derive(Clone, Copy, Debug)]
pub struct Keys {
    /// The kernel stack (not with `-U`).
    pub kernel: bool,
    /// The user stack (not with `-K`).
    pub user: bool,
    /// The process id and name (`-P`, `-p`).
    pub per_process: bool,
}

impl Keys {
    /// The key expressions of `@stacks[...]`.
    pub fn expressions(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        if self.kernel {
            keys.push("kstack");
        }
        if self.user {
            keys.push("ustack");
        }
        if self.per_process {
            keys.extend(["pid", "comm"]);
        }
        keys
    }
}

/// How summaries are printed.
#[derive(Clone, Copy, Debug)]
pub enum Style {
    /// Frames one per line, the count below.
    Listing {
        /// `-s`: `sym+0xOFF`.
        offsets: bool,
        /// `-v`: the address before each frame.
        addresses: bool,
        /// `-P` without `-p`: the `comm [pid]` line.
        show_comm: bool,
    },
    /// `-f`: one folded line per key.
    Folded,
}

/// One counted key, decoded.
#[derive(Default)]
struct Key<'a> {
    kernel: &'a [Frame],
    user: &'a [Frame],
    process: Option<(String, i64)>,
}

/// Renders `@stacks[...]`.
pub struct Stacks {
    keys: Keys,
    style: Style,
    delimited: bool,
    timestamp: bool,
    /// The folded lines of every summary, kept for the flame graph when asked.
    folded: Option<Rc<RefCell<Vec<String>>>>,
}

impl Stacks {
    /// A renderer; `delimited` separates kernel and user frames (`-d`), `timestamp` prints
    /// the time above each summary (`-T`), `keep_folded` keeps the folded lines (`--svg`).
    pub fn new(
        keys: Keys,
        style: Style,
        delimited: bool,
        timestamp: bool,
        keep_folded: bool,
    ) -> Self {
        Stacks {
            keys,
            style,
            delimited: delimited && keys.kernel && keys.user,
            timestamp,
            folded: keep_folded.then(Rc::default),
        }
    }

    /// The folded lines kept so far (empty unless asked for).
    pub fn folded_lines(&self) -> Rc<RefCell<Vec<String>>> {
        self.folded.clone().unwrap_or_default()
    }

    fn decode<'a>(&self, keys: &'a [Value]) -> Key<'a> {
        let mut it = keys.iter();
        let mut frames = |wanted: bool| match wanted.then(|| it.next()).flatten() {
            Some(Value::Stack { frames, .. }) => frames.as_slice(),
            _ => &[],
        };
        let kernel = frames(self.keys.kernel);
        let user = frames(self.keys.user);
        let process = match (it.next(), it.next()) {
            (Some(Value::Int(pid)), Some(comm)) => Some((key_text(comm), pid.value)),
            _ => None,
        };
        Key {
            kernel,
            user,
            process,
        }
    }

    /// The text of one key (without its count), in the style.
    fn text(&self, key: &Key) -> String {
        match self.style {
            Style::Listing {
                offsets,
                addresses,
                show_comm,
            } => {
                let frame = |f: &Frame| {
                    let mut line = String::from("  ");
                    if addresses {
                        line.push_str(&format!("{:<16x} ", f.addr));
                    }
                    match &f.symbol {
                        Some(s) if offsets => line.push_str(&format!("{s}+{:#x}", f.offset)),
                        Some(s) => line.push_str(s),
                        None => line.push_str("[unknown]"),
                    }
                    line.push('\n');
                    line
                };
                let mut text: String = key.kernel.iter().map(frame).collect();
                if self.delimited {
                    text.push_str("    --\n");
                }
                text.extend(key.user.iter().map(frame));
                if let (true, Some((comm, pid))) = (show_comm, &key.process) {
                    text.push_str(&format!("    {comm} [{pid}]\n"));
                }
                text
            }
            Style::Folded => folded(key, self.delimited),
        }
    }
}

/// `comm;user frames root first;-;kernel frames root first` (no count).
fn folded(key: &Key, delimited: bool) -> String {
    let name = |f: &Frame| f.symbol.as_deref().unwrap_or("[unknown]").replace(';', ":");
    let mut parts = vec![key
        .process
        .as_ref()
        .map(|(c, _)| c.replace(';', ":"))
        .unwrap_or_default()];
    parts.extend(key.user.iter().rev().map(name));
    if delimited {
        parts.push("-".into());
    }
    parts.extend(key.kernel.iter().rev().map(name));
    parts.join(";")
}

impl Render for Stacks {
    fn render(&mut self, dump: &MapDump, out: &mut dyn Write) -> io::Result<()> {
        if dump.name != "stacks" {
            return Ok(());
        }
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut kept: BTreeMap<String, u64> = BTreeMap::new();
        for e in &dump.entries {
            let MapValue::Count(n) = e.value else {
                continue;
            };
            let key = self.decode(&e.keys);
            *counts.entry(self.text(&key)).or_default() += n;
            if self.folded.is_some() {
                *kept.entry(folded(&key, self.delimited)).or_default() += n;
            }
        }
        if let Some(lines) = &self.folded {
            let new = kept.iter().filter(|(_, n)| **n > 0);
            lines
                .borrow_mut()
                .extend(new.map(|(line, n)| format!("{line} {n}")));
        }
        let mut rows: Vec<(String, u64)> = counts.into_iter().filter(|(_, n)| *n > 0).collect();
        rows.sort_by_key(|(_, n)| *n);
        let is_folded = matches!(self.style, Style::Folded);
        if !is_folded {
            writeln!(out)?;
        }
        if self.timestamp {
            writeln!(out, "{:<8}", clock::hms())?;
        }
        for (text, n) in &rows {
            if is_folded {
                writeln!(out, "{text} {n}")?;
            } else {
                write!(out, "{text}    {n}\n\n")?;
            }
        }
        Ok(())
    }
}
