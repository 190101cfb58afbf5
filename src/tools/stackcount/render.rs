//! stackcount's summaries: each distinct key (kernel stack, user stack, process) with its
//! count, by count ascending, as a listing (innermost frame first) or as folded lines
//! (`comm;outermost;...;innermost COUNT`, what flamegraph.pl and inferno read).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Write};
use std::rc::Rc;

use scry_stdlib::folded::{fold, Part};
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
    /// A renderer; `delimited` separates kernel and user frames (`-d` with both kinds of
    /// stacks), `timestamp` prints
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
            delimited,
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
    let comm = key.process.as_ref().map_or("", |(c, _)| c.as_str());
    let mut parts = vec![Part::Name(comm), Part::Stack(key.user)];
    if delimited {
        parts.push(Part::Name("-"));
    }
    parts.push(Part::Stack(key.kernel));
    fold(&parts)
}

impl Render for Stacks {
    fn render(&mut self, dump: &MapDump, out: &mut dyn Write) -> io::Result<()> {
        if dump.name != "stacks" {
            return Ok(());
        }
        let mut counts: HashMap<String, u64> = HashMap::with_capacity(dump.entries.len());
        let mut kept: HashMap<String, u64> = HashMap::new();
        for e in &dump.entries {
            let MapValue::Count(n) = e.value else {
                continue;
            };
            let key = self.decode(&e.keys);
            let count = counts.entry(self.text(&key)).or_default();
            *count = count.saturating_add(n);
            if self.folded.is_some() {
                let count = kept.entry(folded(&key, self.delimited)).or_default();
                *count = count.saturating_add(n);
            }
        }
        if let Some(lines) = &self.folded {
            let mut new: Vec<(String, u64)> = kept.into_iter().filter(|(_, n)| *n > 0).collect();
            new.sort_unstable();
            lines
                .borrow_mut()
                .extend(new.into_iter().map(|(line, n)| format!("{line} {n}")));
        }
        // By count; ties by text, so that a summary prints the same way every time.
        let mut rows: Vec<(String, u64)> = counts.into_iter().filter(|(_, n)| *n > 0).collect();
        rows.sort_unstable_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
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

#[cfg(test)]
mod tests {
    use super::*;
    use scry_ebpf::object::ValueLayout;
    use scry_lang::types::Agg;
    use scry_stdlib::{Entry, Int};

    fn frame(addr: u64, symbol: Option<&str>, offset: u64) -> Frame {
        Frame {
            addr,
            symbol: symbol.map(Into::into),
            offset,
            module: None,
        }
    }

    fn stack(user: bool, frames: Vec<Frame>) -> Value {
        Value::Stack {
            user,
            perf_mode: false,
            frames,
        }
    }

    fn dump() -> MapDump {
        let kernel = vec![
            frame(0xffffffff817b05c1, Some("tcp_sendmsg"), 1),
            frame(0xffffffff817b0000, Some("sock_sendmsg"), 0x2a),
        ];
        let user = vec![
            frame(0x7f120511e6e0, Some("__write;nocancel"), 7),
            frame(0x7f120511e000, None, 0),
        ];
        let entry = |pid: i64, n| Entry {
            keys: vec![
                stack(false, kernel.clone()),
                stack(true, user.clone()),
                Value::Int(Int::signed(pid)),
                Value::str("java"),
            ],
            value: MapValue::Count(n),
        };
        MapDump {
            name: "stacks".into(),
            value: ValueLayout::Agg(Agg::Count),
            entries: vec![entry(4996, 3), entry(17, 5), entry(18, 0)],
        }
    }

    const BOTH: Keys = Keys {
        kernel: true,
        user: true,
        per_process: true,
    };

    fn render(style: Style, delimited: bool) -> String {
        let mut out = Vec::new();
        Stacks::new(BOTH, style, delimited, false, false)
            .render(&dump(), &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn listing() {
        let style = Style::Listing {
            offsets: false,
            addresses: false,
            show_comm: true,
        };
        assert_eq!(
            render(style, true),
            "\n  tcp_sendmsg\n  sock_sendmsg\n    --\n  __write;nocancel\n  [unknown]\n    java [4996]\n    3\n\n  \
             tcp_sendmsg\n  sock_sendmsg\n    --\n  __write;nocancel\n  [unknown]\n    java [17]\n    5\n\n"
        );
        let style = Style::Listing {
            offsets: true,
            addresses: true,
            show_comm: false,
        };
        // Without the comm line, both processes' stacks are one key.
        assert_eq!(
            render(style, false),
            "\n  ffffffff817b05c1 tcp_sendmsg+0x1\n  ffffffff817b0000 sock_sendmsg+0x2a\n  \
             7f120511e6e0     __write;nocancel+0x7\n  7f120511e000     [unknown]\n    8\n\n"
        );
    }

    #[test]
    fn folded_lines() {
        // Root first, `;` in a symbol replaced; processes of one name share a line.
        assert_eq!(
            render(Style::Folded, true),
            "java;[unknown];__write:nocancel;-;sock_sendmsg;tcp_sendmsg 8\n"
        );
        // Without a process key the line starts with `;`; kept lines feed --svg.
        let keys = Keys {
            per_process: false,
            ..BOTH
        };
        let mut stacks = Stacks::new(keys, Style::Folded, false, false, true);
        let mut d = dump();
        for e in &mut d.entries {
            e.keys.truncate(2);
        }
        let mut out = Vec::new();
        stacks.render(&d, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            ";[unknown];__write:nocancel;sock_sendmsg;tcp_sendmsg 8\n"
        );
        assert_eq!(
            *stacks.folded_lines().borrow(),
            [";[unknown];__write:nocancel;sock_sendmsg;tcp_sendmsg 8"]
        );
    }

    #[test]
    fn ascending_counts_ties_by_text() {
        let keys = Keys {
            kernel: true,
            user: false,
            per_process: false,
        };
        let entry = |name: &str, n| Entry {
            keys: vec![stack(false, vec![frame(1, Some(name), 0)])],
            value: MapValue::Count(n),
        };
        let d = MapDump {
            name: "stacks".into(),
            value: ValueLayout::Agg(Agg::Count),
            entries: vec![entry("c", 2), entry("b", 1), entry("a", 2), entry("d", 2)],
        };
        let mut out = Vec::new();
        let mut stacks = Stacks::new(keys, Style::Folded, false, false, false);
        stacks.render(&d, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), ";b 1\n;a 2\n;c 2\n;d 2\n");
    }
}
