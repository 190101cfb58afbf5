//! The ABI's data layouts (docs/plugins.md, "Data layouts"): little-endian integers, `str` as
//! `u32` length and bytes, `tagged` values.

use scry_lang::plugin::PluginType;
use scry_stdlib::value::{Int, Value};

/// Builds an input buffer.
#[derive(Default)]
pub struct Writer {
    /// The bytes so far.
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn str(&mut self, s: &[u8]) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s);
    }

    /// A value in a signature's type: integers as 8 bytes, anything else as its text.
    pub fn typed(&mut self, t: PluginType, v: &Value) {
        match (t, v) {
            (PluginType::I64 | PluginType::U64, Value::Int(i)) => self.u64(i.bits()),
            (PluginType::I64 | PluginType::U64, _) => self.u64(0),
            (PluginType::Str, v) => self.str(&text(v)),
        }
    }

    /// A `tagged` value: 0 i64, 1 u64, 2 str, 3 tuple.
    pub fn tagged(&mut self, v: &Value) {
        match v {
            Value::Int(i) if i.signed => {
                self.u8(0);
                self.u64(i.bits());
            }
            Value::Int(i) => {
                self.u8(1);
                self.u64(i.bits());
            }
            Value::Tuple(items) => {
                self.u8(3);
                self.u32(items.len() as u32);
                items.iter().for_each(|i| self.tagged(i));
            }
            v => {
                self.u8(2);
                self.str(&text(v));
            }
        }
    }
}

/// A value as the text scry prints for it (strings as their bytes).
pub fn text(v: &Value) -> Vec<u8> {
    match v {
        Value::Str(s) => s.clone(),
        v => scry_stdlib::text::value(v),
    }
}

/// Reads results back.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = (self.bytes.get(..n)?, self.bytes.get(n..)?);
        self.bytes = b;
        Some(a)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A value of a signature's type.
    pub fn typed(&mut self, t: PluginType) -> Option<Value> {
        Some(match t {
            PluginType::I64 => Value::Int(Int::signed(self.u64()? as i64)),
            PluginType::U64 => Value::Int(Int::unsigned(self.u64()?)),
            PluginType::Str => {
                let n = u32::from_le_bytes(self.take(4)?.try_into().ok()?);
                Value::Str(self.take(n as usize)?.to_vec())
            }
        })
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let mut w = Writer::default();
        w.typed(PluginType::I64, &Value::int(-2));
        w.typed(PluginType::Str, &Value::str("ab"));
        w.typed(PluginType::U64, &Value::uint(7));
        assert_eq!(w.buf.len(), 8 + 4 + 2 + 8);
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.typed(PluginType::I64), Some(Value::int(-2)));
        assert_eq!(r.typed(PluginType::Str), Some(Value::str("ab")));
        assert_eq!(r.typed(PluginType::U64), Some(Value::uint(7)));
        assert!(r.is_empty());
        assert_eq!(r.typed(PluginType::U64), None);
    }

    #[test]
    fn tagged() {
        let mut w = Writer::default();
        w.tagged(&Value::Tuple(vec![
            Value::int(-1),
            Value::uint(1),
            Value::str("x"),
        ]));
        let mut want = vec![3, 3, 0, 0, 0, 0];
        want.extend((-1i64).to_le_bytes());
        want.push(1);
        want.extend(1u64.to_le_bytes());
        want.extend([2, 1, 0, 0, 0, b'x']);
        assert_eq!(w.buf, want);
    }
}
