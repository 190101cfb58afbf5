//! Readers of the data layouts (docs/plugins.md, "Data layouts"): every read is bounds
//! checked and returns `Err` past the end, never panics.

use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::{Error, Result, Writer};

/// `unknown WHAT N`: a byte of the input that is none of the values it may be.
fn unknown(what: &str, n: u8) -> Error {
    let mut w = Writer::default();
    w.text("unknown ");
    w.text(what);
    w.text(" ");
    w.udec(n.into());
    Error(String::from_utf8_lossy(&w.bytes).into_owned())
}

/// A cursor over bytes scry wrote.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Reads `buf` from its start.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// True when every byte was read.
    pub fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.buf.len());
        let end = end.ok_or_else(|| Error::from("input ends in the middle of a value"))?;
        let b = &self.buf[self.pos..end];
        self.pos = end;
        Ok(b)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    /// A `u8`.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A little-endian `i64`.
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// The `str` layout: `u32` length, then the bytes. Borrowed when they are UTF-8; text
    /// from the traced system (a `comm`, a `str()`) may not be, and then each invalid
    /// sequence becomes U+FFFD.
    pub fn str(&mut self) -> Result<Cow<'a, str>> {
        let len = self.u32()? as usize;
        Ok(String::from_utf8_lossy(self.bytes(len)?))
    }

    /// The `tagged` layout.
    pub fn tagged(&mut self) -> Result<Tagged<'a>> {
        Ok(match self.u8()? {
            0 => Tagged::I64(self.i64()?),
            1 => Tagged::U64(self.u64()?),
            2 => Tagged::Str(self.str()?),
            3 => Tagged::Tuple(self.list(Self::tagged)?),
            tag => return Err(unknown("value tag", tag)),
        })
    }

    /// `u32 n`, then `n` items read with `each`.
    pub fn list<T>(&mut self, each: fn(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        let n = self.u32()? as usize;
        // Each item takes at least one byte: a count beyond the input is not believed.
        let mut items = Vec::with_capacity(n.min(self.buf.len() - self.pos));
        for _ in 0..n {
            items.push(each(self)?);
        }
        Ok(items)
    }

    /// The `map` layout.
    pub fn map(&mut self) -> Result<Map<'a>> {
        let name = self.str()?;
        let kind = Kind::from_u8(self.u8()?)?;
        let n = self.u32()? as usize;
        let mut entries = Vec::with_capacity(n.min(self.buf.len() - self.pos));
        for _ in 0..n {
            let key = self.list(Self::tagged)?;
            let value = match kind {
                Kind::Scalar => Value::Scalar(self.tagged()?),
                Kind::Hist | Kind::Lhist => Value::Buckets(self.list(|r| {
                    Ok(Bucket { low: r.i64()?, high: r.i64()?, count: r.u64()? })
                })?),
                Kind::Stats => Value::Stats { count: self.u64()?, avg: self.i64()?, total: self.i64()? },
                Kind::Reducer => Value::Reducer(self.str()?),
            };
            entries.push(Entry { key, value });
        }
        Ok(Map { name, kind, entries })
    }
}

/// A `tagged` value.
#[derive(Clone, Debug, PartialEq)]
pub enum Tagged<'a> {
    /// Tag 0.
    I64(i64),
    /// Tag 1.
    U64(u64),
    /// Tag 2.
    Str(Cow<'a, str>),
    /// Tag 3.
    Tuple(Vec<Tagged<'a>>),
}

/// The kind of a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `count`, `sum`, `min`, `max` and plain values.
    Scalar,
    /// `hist`.
    Hist,
    /// `lhist`.
    Lhist,
    /// `stats` (and `avg`).
    Stats,
    /// A plugin reducer's map.
    Reducer,
}

impl Kind {
    fn from_u8(k: u8) -> Result<Kind> {
        Ok(match k {
            0 => Kind::Scalar,
            1 => Kind::Hist,
            2 => Kind::Lhist,
            3 => Kind::Stats,
            4 => Kind::Reducer,
            _ => return Err(unknown("map kind", k)),
        })
    }
}

/// A map as scry prints it.
#[derive(Clone, Debug)]
pub struct Map<'a> {
    /// As scry sends it, without its `@` (see [`Map::shown_name`]).
    pub name: Cow<'a, str>,
    /// What its values are.
    pub kind: Kind,
    /// In the order scry prints them.
    pub entries: Vec<Entry<'a>>,
}

impl Map<'_> {
    /// The name as scry prints it, with its `@` (scry may send the name without it).
    pub fn shown_name(&self) -> String {
        match self.name.starts_with('@') {
            true => self.name.to_string(),
            false => String::from("@") + &self.name,
        }
    }
}

/// One key and its value.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    /// The key's parts (none for a map without keys).
    pub key: Vec<Tagged<'a>>,
    /// The value.
    pub value: Value<'a>,
}

/// A map value.
#[derive(Clone, Debug)]
pub enum Value<'a> {
    /// Of a scalar map.
    Scalar(Tagged<'a>),
    /// The buckets bpftrace prints of a `hist` or `lhist`.
    Buckets(Vec<Bucket>),
    /// Of a `stats` map.
    Stats {
        /// Values counted.
        count: u64,
        /// Their average.
        avg: i64,
        /// Their sum.
        total: i64,
    },
    /// A reducer's text rendering.
    Reducer(Cow<'a, str>),
}

/// A hist bucket: `low` inclusive, `high` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// The lowest value counted.
    pub low: i64,
    /// The first value above the bucket.
    pub high: i64,
    /// Values counted.
    pub count: u64,
}

/// A printf argument's type in the run description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// 0.
    I64,
    /// 1.
    U64,
    /// 2.
    Str,
}

/// One printf format of the program.
#[derive(Clone, Debug)]
pub struct Format {
    /// As written in the program (escapes resolved).
    pub text: String,
    /// Its arguments' types.
    pub args: Vec<Type>,
}

/// The run description (`scry_init`), with the formats added later (`scry_formats`).
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// The program's `printf` formats, by number.
    pub formats: Vec<Format>,
    /// The program's maps: name and kind.
    pub maps: Vec<(String, Kind)>,
}

impl Run {
    /// Reads the run description layout.
    pub fn read(r: &mut Reader) -> Result<Run> {
        let formats = Run::formats(r)?;
        let maps = r.list(|r| Ok((r.str()?.into_owned(), Kind::from_u8(r.u8()?)?)))?;
        Ok(Run { formats, maps })
    }

    /// Reads `u32 formats, format * formats`: the run description's formats, or those
    /// `scry_formats` gives (ABI 1.2).
    pub fn formats(r: &mut Reader) -> Result<Vec<Format>> {
        r.list(|r| {
            let text = r.str()?.into_owned();
            let args = r.list(|r| match r.u8()? {
                0 => Ok(Type::I64),
                1 => Ok(Type::U64),
                2 => Ok(Type::Str),
                t => Err(unknown("argument type", t)),
            })?;
            Ok(Format { text, args })
        })
    }
}

/// The updates of one `scry_reduce` call.
pub struct Updates<'a> {
    reader: Reader<'a>,
    left: u32,
    weighted: bool,
}

impl<'a> Updates<'a> {
    /// `count` updates from `buf`; `weighted`: each carries its weight (a reducer declared
    /// `weighted`, ABI 1.1).
    pub fn new(buf: &'a [u8], count: u32, weighted: bool) -> Self {
        Updates { reader: Reader::new(buf), left: count, weighted }
    }
}

impl Iterator for Updates<'_> {
    /// The key's number, the value's bits (an `i64` reducer: `as i64`) and how many times the
    /// value was seen (1 for a reducer not declared `weighted`).
    type Item = Result<(u32, u64, u64)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let r = &mut self.reader;
        let weighted = self.weighted;
        Some(r.u32().and_then(|key| {
            let value = r.u64()?;
            let weight = if weighted { r.u64()? } else { 1 };
            Ok((key, value, weight))
        }))
    }
}

/// One output record (`scry_sink`).
#[derive(Clone, Debug)]
pub enum Record<'a> {
    /// Kind 1 (`sink lines`): `source` 0 printf, 1 time, 2 cat, 3 system, 4 join.
    Line {
        /// Which action printed it.
        source: u8,
        /// The text, with its newline if it had one.
        text: Cow<'a, str>,
    },
    /// Kind 2 (`sink args`): a printf's format number and arguments.
    Printf {
        /// Into [`Run::formats`].
        format: u32,
        /// In the format's types.
        args: Vec<Tagged<'a>>,
    },
    /// Kind 3: `print(value)`.
    Value(Tagged<'a>),
    /// Kind 4: `print(@m, top, div)`, and each map at exit.
    Map {
        /// The map.
        map: Map<'a>,
        /// `top` (0: all).
        top: u64,
        /// `div` (0 or 1: none).
        div: u64,
    },
    /// Kind 5: events lost.
    Lost(u64),
    /// Kind 6: probes attached.
    Attached(u64),
}

impl<'a> Record<'a> {
    /// Reads `count` records; printf arguments are read in the types of `run`'s formats.
    pub fn read_all(buf: &'a [u8], count: u32, run: &Run) -> Result<Vec<Record<'a>>> {
        let mut r = Reader::new(buf);
        let mut records = Vec::new();
        for _ in 0..count {
            records.push(Record::read(&mut r, run)?);
        }
        Ok(records)
    }

    fn read(r: &mut Reader<'a>, run: &Run) -> Result<Record<'a>> {
        Ok(match r.u8()? {
            1 => Record::Line { source: r.u8()?, text: r.str()? },
            2 => {
                let format = r.u32()?;
                let types = &run.formats.get(format as usize).ok_or("unknown format number")?.args;
                let args = types
                    .iter()
                    .map(|t| match t {
                        Type::I64 => r.i64().map(Tagged::I64),
                        Type::U64 => r.u64().map(Tagged::U64),
                        Type::Str => r.str().map(Tagged::Str),
                    })
                    .collect::<Result<_>>()?;
                Record::Printf { format, args }
            }
            3 => Record::Value(r.tagged()?),
            4 => Record::Map { map: r.map()?, top: r.u64()?, div: r.u64()? },
            5 => Record::Lost(r.u64()?),
            6 => Record::Attached(r.u64()?),
            k => return Err(unknown("record kind", k)),
        })
    }
}
