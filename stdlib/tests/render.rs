//! Rendering cases: every `tests/render/NAME.case` describes values and map dumps in a small
//! notation, then `==== expected ====` and exactly what scry prints for them (bpftrace 0.17's
//! stdout for the program in the case's comments, unless a comment says otherwise). The runner
//! is `scry_cases` (`SCRY_BLESS=1 cargo test -p scry-stdlib --test render` rewrites the
//! expected sections). Adding a case is adding a file.
//!
//! ```text
//! # a comment                       (the bpftrace statements the case comes from)
//! format json                       text (the default) or json: the renderer of what follows
//! print VALUE                       print(VALUE)
//! value VALUE                       the value as it appears inside a map line
//! key VALUE                         the value as a map key (text)
//! message KIND "DATA"               a JSON message of a string (json)
//! count_message KIND FIELD N        a JSON message of a count (json)
//! map @NAME LAYOUT [top=N] [div=N]  a map dump, its entries on the indented lines after it:
//!     [KEY, KEY] = ENTRY            an entry with keys
//!     = ENTRY                       the entry of a map without keys
//! ```
//!
//! VALUE: `5`, `-5` (signed), `5u` (unsigned), `"text"`, `buf"\x01"`, `(V, V)` a tuple,
//! `[V, V]` an array, `{.m = V, .n = V}` a struct, `KIND"text"` a resolved text (`ksym`, `usym`, `inet`, `probe`,
//! `username`, `timestamp`, `macaddr`, `cgroup_path`, `strerror`), `kstack(sym+off, ...)` a
//! kernel stack in bpftrace mode. LAYOUT: `count`, `sum`, `usum`, `avg`, `min`, `max`,
//! `stats`, `hist`, `lhist(MIN, MAX, STEP)`, or a plain value's type (`int64`, `uint64`,
//! `string[N]`, `buffer[N]`, `ksym`, `kstack`, `(T, T)`). ENTRY: `count N`, `sum N`, `min N`,
//! `max N`, `avg COUNT TOTAL`, `stats COUNT TOTAL`, `hist V V ...` / `lhist V V ...` (the
//! values recorded), `buckets INDEX:COUNT ...` (a hist's buckets as they are), or a VALUE.

use std::collections::BTreeMap;
use std::path::Path;

use scry_ebpf::object::ValueLayout;
use scry_lang::types::{Agg, StackMode, Type};
use scry_stdlib::hist::{hist_bucket, lhist_bucket};
use scry_stdlib::value::Frame;
use scry_stdlib::{json, text, Entry, Int, MapDump, MapValue, TextKind, Value};

#[test]
fn render() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/render");
    scry_cases::golden::suite("render", &dir, "case", |_, input| run(input));
}

/// What the case's lines print.
fn run(input: &str) -> Result<String, String> {
    let mut json = false;
    let mut out = Vec::new();
    let mut lines = input.lines().enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |e: String| format!("line {}: {e}: {line}", n + 1);
        let (op, rest) = line.split_once(' ').unwrap_or((line, ""));
        let mut p = Parser::new(rest);
        match op {
            "format" => json = p.word() == "json",
            "print" | "value" | "key" => {
                let v = p.value().map_err(at)?;
                out.extend(match (op, json) {
                    ("print", false) => text::print_value(&v),
                    ("print", true) => json::print_value(&v),
                    ("value", false) => text::value(&v),
                    ("value", true) => json::value(&v),
                    _ => text::key(&v),
                });
            }
            "message" => {
                let kind = p.word();
                let data = p.string().map_err(at)?;
                out.extend(json::message(&kind, &data));
            }
            "count_message" => {
                let (kind, field) = (p.word(), p.word());
                let n = p.int().map_err(at)?;
                out.extend(json::count_message(&kind, &field, n.bits()));
            }
            "map" => {
                let name = p.word();
                let name = name
                    .strip_prefix('@')
                    .ok_or_else(|| at("a map is @NAME".into()))?;
                let layout = p.layout().map_err(at)?;
                let (mut top, mut div) = (0, 0);
                loop {
                    let w = p.word();
                    match w.split_once('=') {
                        Some(("top", v)) => top = v.parse().map_err(|_| at("top=N".into()))?,
                        Some(("div", v)) => div = v.parse().map_err(|_| at("div=N".into()))?,
                        None if w.is_empty() => break,
                        _ => return Err(at(format!("unknown option {w}"))),
                    }
                }
                let mut entries = Vec::new();
                while let Some((n, entry)) = lines.next_if(|(_, l)| l.starts_with(' ')) {
                    let at = |e: String| format!("line {}: {e}: {entry}", n + 1);
                    let mut p = Parser::new(entry);
                    let keys = match p.peek() {
                        Some('[') => p.list('[', ']').map_err(at)?,
                        _ => Vec::new(),
                    };
                    p.expect('=').map_err(at)?;
                    let value = p.entry(&layout).map_err(at)?;
                    entries.push(Entry { keys, value });
                }
                let dump = MapDump {
                    name: name.to_string(),
                    value: layout,
                    entries,
                };
                out.extend(if json {
                    json::map(&dump, top, div)
                } else {
                    text::map(&dump, top, div)
                });
            }
            _ => return Err(at(format!("unknown line {op}"))),
        }
    }
    String::from_utf8(out).map_err(|e| format!("the output is not UTF-8: {e}"))
}

/// Reads the notation of values, layouts and entries.
struct Parser<'a> {
    rest: &'a str,
}

impl<'a> Parser<'a> {
    fn new(s: &'a str) -> Self {
        Parser { rest: s }
    }

    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_space();
        self.rest.chars().next()
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        match self.peek() {
            Some(x) if x == c => {
                self.rest = &self.rest[1..];
                Ok(())
            }
            _ => Err(format!("expected '{c}' at '{}'", self.rest)),
        }
    }

    /// The characters up to a space, a quote, a comma, a parenthesis, `]` or `}`.
    fn word(&mut self) -> String {
        self.skip_space();
        let end = self
            .rest
            .find(|c: char| c.is_whitespace() || "(),]}\"".contains(c))
            .unwrap_or(self.rest.len());
        let (w, rest) = self.rest.split_at(end);
        self.rest = rest;
        w.to_string()
    }

    fn int(&mut self) -> Result<Int, String> {
        let w = self.word();
        match w.strip_suffix('u') {
            Some(n) => n.parse().map(Int::unsigned),
            None => w.parse().map(Int::signed),
        }
        .map_err(|_| format!("'{w}' is not an integer"))
    }

    fn number(&mut self) -> Result<i64, String> {
        let w = self.word();
        w.parse().map_err(|_| format!("'{w}' is not a number"))
    }

    /// A `"..."` literal's bytes (`\n \t \0 \\ \" \xNN`).
    fn string(&mut self) -> Result<Vec<u8>, String> {
        self.expect('"')?;
        let mut out = Vec::new();
        let mut chars = self.rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &self.rest[i + 1..];
                    return Ok(out);
                }
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => out.push(b'\n'),
                    Some('t') => out.push(b'\t'),
                    Some('0') => out.push(0),
                    Some('x') => {
                        let hex: String = chars.by_ref().take(2).map(|(_, c)| c).collect();
                        out.push(u8::from_str_radix(&hex, 16).map_err(|_| "bad \\x escape")?);
                    }
                    Some(c) => out.extend(c.to_string().as_bytes()),
                    None => break,
                },
                c => out.extend(c.to_string().as_bytes()),
            }
        }
        Err("unterminated string".into())
    }

    /// Values between `open` and `close`, separated by commas.
    fn list(&mut self, open: char, close: char) -> Result<Vec<Value>, String> {
        self.expect(open)?;
        let mut items = Vec::new();
        if self.peek() == Some(close) {
            self.expect(close)?;
            return Ok(items);
        }
        loop {
            items.push(self.value()?);
            match self.peek() {
                Some(',') => self.expect(',')?,
                _ => {
                    self.expect(close)?;
                    return Ok(items);
                }
            }
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some('"') => return Ok(Value::Str(self.string()?)),
            Some('(') => return Ok(Value::Tuple(self.list('(', ')')?)),
            Some('[') => return Ok(Value::Array(self.list('[', ']')?)),
            Some('{') => return self.struct_value(),
            Some(c) if c == '-' || c.is_ascii_digit() => return Ok(Value::Int(self.int()?)),
            _ => {}
        }
        let word = self.word();
        if word == "kstack" {
            self.expect('(')?;
            let mut frames = Vec::new();
            while self.peek() != Some(')') {
                let f = self.word();
                let (symbol, offset) = f
                    .split_once('+')
                    .ok_or_else(|| format!("a frame is sym+offset, not '{f}'"))?;
                frames.push(Frame {
                    addr: 0x1000 + frames.len() as u64,
                    symbol: Some(symbol.into()),
                    offset: offset.parse().map_err(|_| format!("bad offset in '{f}'"))?,
                    module: None,
                });
                if self.peek() == Some(',') {
                    self.expect(',')?;
                }
            }
            self.expect(')')?;
            return Ok(Value::Stack {
                user: false,
                perf_mode: false,
                frames,
            });
        }
        let mut text = |kind| -> Result<Value, String> {
            Ok(Value::Text(
                kind,
                String::from_utf8(self.string()?).map_err(|e| e.to_string())?,
            ))
        };
        match word.as_str() {
            "buf" => Ok(Value::Buffer(self.string()?)),
            "ksym" => text(TextKind::Ksym),
            "usym" => text(TextKind::Usym),
            "inet" => text(TextKind::Inet),
            "probe" => text(TextKind::Probe),
            "username" => text(TextKind::Username),
            "timestamp" => text(TextKind::Timestamp),
            "macaddr" => text(TextKind::Macaddr),
            "cgroup_path" => text(TextKind::CgroupPath),
            "strerror" => text(TextKind::Strerror),
            _ => Err(format!("'{word}' is not a value")),
        }
    }

    /// `{.m = V, .n = V}`: a struct value, its fields in order.
    fn struct_value(&mut self) -> Result<Value, String> {
        self.expect('{')?;
        let mut fields = Vec::new();
        while self.peek() != Some('}') {
            self.expect('.')?;
            let name = self.word();
            self.expect('=')?;
            fields.push((name, self.value()?));
            if self.peek() == Some(',') {
                self.expect(',')?;
            }
        }
        self.expect('}')?;
        Ok(Value::Struct(fields))
    }

    fn plain_type(&mut self) -> Result<Type, String> {
        if self.peek() == Some('(') {
            self.expect('(')?;
            let mut items = vec![self.plain_type()?];
            while self.peek() == Some(',') {
                self.expect(',')?;
                items.push(self.plain_type()?);
            }
            self.expect(')')?;
            return Ok(Type::Tuple(items));
        }
        let mut w = self.word();
        if w.contains('[') {
            self.expect(']')?;
            w.push(']');
        }
        let sized = |prefix: &str| -> Option<usize> {
            w.strip_prefix(prefix)?.strip_suffix(']')?.parse().ok()
        };
        Ok(match w.as_str() {
            "int64" => Type::I64,
            "uint64" => Type::U64,
            "ksym" => Type::Ksym,
            "kstack" => Type::KStack {
                mode: StackMode::Bpftrace,
                limit: 127,
            },
            _ => match (sized("string["), sized("buffer[")) {
                (Some(n), _) => Type::Str(n),
                (_, Some(n)) => Type::Buffer(n),
                _ => return Err(format!("'{w}' is not a layout")),
            },
        })
    }

    fn layout(&mut self) -> Result<ValueLayout, String> {
        let save = self.rest;
        let agg = match self.word().as_str() {
            "count" => Agg::Count,
            "sum" => Agg::Sum { signed: true },
            "usum" => Agg::Sum { signed: false },
            "avg" => Agg::Avg,
            "min" => Agg::Min,
            "max" => Agg::Max,
            "stats" => Agg::Stats,
            "hist" => Agg::Hist,
            "lhist" => {
                self.expect('(')?;
                let min = self.number()?;
                self.expect(',')?;
                let max = self.number()?;
                self.expect(',')?;
                let step = self.number()?;
                self.expect(')')?;
                Agg::Lhist { min, max, step }
            }
            _ => {
                self.rest = save;
                return Ok(ValueLayout::Plain(self.plain_type()?));
            }
        };
        Ok(ValueLayout::Agg(agg))
    }

    fn entry(&mut self, layout: &ValueLayout) -> Result<MapValue, String> {
        let save = self.rest;
        let word = self.word();
        let mut values = || -> Result<Vec<i64>, String> {
            let mut all = Vec::new();
            while self.peek().is_some() {
                all.push(self.number()?);
            }
            Ok(all)
        };
        Ok(match word.as_str() {
            "count" => MapValue::Count(self.int()?.bits()),
            "sum" => MapValue::Sum(self.int()?),
            "min" => MapValue::Min(self.int()?),
            "max" => MapValue::Max(self.int()?),
            "avg" | "stats" => {
                let count = self.int()?.bits();
                let total = self.int()?;
                match word.as_str() {
                    "avg" => MapValue::Avg { count, total },
                    _ => MapValue::Stats { count, total },
                }
            }
            "hist" => {
                let mut b = BTreeMap::new();
                for v in values()? {
                    *b.entry(hist_bucket(v)).or_insert(0) += 1;
                }
                MapValue::Hist(b)
            }
            "lhist" => {
                let ValueLayout::Agg(Agg::Lhist { min, max, step }) = *layout else {
                    return Err("lhist values need an lhist layout".into());
                };
                let mut b = BTreeMap::new();
                for v in values()? {
                    *b.entry(lhist_bucket(v, min, max, step)).or_insert(0) += 1;
                }
                MapValue::Lhist(b)
            }
            "buckets" => {
                let mut b = BTreeMap::new();
                while self.peek().is_some() {
                    let w = self.word();
                    let (i, c) = w
                        .split_once(':')
                        .and_then(|(i, c)| Some((i.parse().ok()?, c.parse().ok()?)))
                        .ok_or_else(|| format!("a bucket is INDEX:COUNT, not '{w}'"))?;
                    b.insert(i, c);
                }
                match layout {
                    ValueLayout::Agg(Agg::Lhist { .. }) => MapValue::Lhist(b),
                    _ => MapValue::Hist(b),
                }
            }
            _ => {
                self.rest = save;
                MapValue::Plain(self.value()?)
            }
        })
    }
}
