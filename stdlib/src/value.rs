//! Decoded values: what a map key, a map value or a record argument holds once user space has
//! read it, with opaque values already resolved to their text.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// A 64-bit integer and whether it is signed. `value` holds the bit pattern: an unsigned value
/// above `i64::MAX` is stored as the negative number with the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Int {
    /// The 64 bits, read as signed.
    pub value: i64,
    /// Whether the value prints and compares as signed.
    pub signed: bool,
}

impl Int {
    /// A signed integer.
    pub fn signed(value: i64) -> Int {
        Int {
            value,
            signed: true,
        }
    }

    /// An unsigned integer.
    pub fn unsigned(value: u64) -> Int {
        Int {
            value: value as i64,
            signed: false,
        }
    }

    /// The bits as an unsigned number.
    pub fn bits(self) -> u64 {
        self.value as u64
    }

    /// Integer division as the value's signedness says; a zero divisor counts as 1.
    pub fn div_by(self, div: u64) -> Int {
        let div = div.max(1);
        let value = if self.signed {
            self.value.wrapping_div(div.min(i64::MAX as u64) as i64)
        } else {
            (self.bits() / div) as i64
        };
        Int { value, ..self }
    }

    /// Orders two integers as signed numbers if `self` is signed, else as unsigned ones.
    pub fn cmp_value(self, other: Int) -> Ordering {
        if self.signed {
            self.value.cmp(&other.value)
        } else {
            self.bits().cmp(&other.bits())
        }
    }
}

impl fmt::Display for Int {
    /// Decimal, signed or unsigned as the integer is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.signed {
            write!(f, "{}", self.value)
        } else {
            write!(f, "{}", self.bits())
        }
    }
}

/// What an opaque value of [`Value::Text`] was before it became text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextKind {
    /// `probe`: the probe's full name.
    Probe,
    /// `username`: the user's name.
    Username,
    /// `ksym()`: a kernel symbol.
    Ksym,
    /// `usym()`: a user symbol.
    Usym,
    /// `ntop()`: an IPv4 or IPv6 address.
    Inet,
    /// `strftime()`: the formatted time.
    Timestamp,
    /// `macaddr()`: `18:C0:4D:08:2E:BB`.
    Macaddr,
    /// `cgroup_path()`: the cgroup's paths.
    CgroupPath,
    /// `strerror()`: the error's message.
    Strerror,
    /// A type user space cannot show (C structs, `args`): empty text.
    Other,
}

/// A decoded value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// An integer (also pointers and aggregations read as numbers).
    Int(Int),
    /// A string: its bytes up to the first NUL.
    Str(Vec<u8>),
    /// Raw bytes from `buf()`, exactly as many as were captured.
    Buffer(Vec<u8>),
    /// A tuple (printed `(1, x)`).
    Tuple(Vec<Value>),
    /// A C array (printed `[1,2,3]`).
    Array(Vec<Value>),
    /// A C struct or union: its fields by name, in order (printed `{ .a = 1, .b = 2 }`).
    Struct(Vec<(String, Value)>),
    /// An opaque value already resolved to text (`probe`, `username`, `ksym`, `inet`, ...).
    Text(TextKind, String),
    /// A kernel or user stack, innermost frame first.
    Stack {
        /// A user stack (`ustack`): perf mode shows each frame's module.
        user: bool,
        /// Printed in `perf` mode (`\tADDR sym+off`) rather than `bpftrace` mode (`sym+off`).
        perf_mode: bool,
        /// The frames.
        frames: Vec<Frame>,
    },
}

/// One frame of a stack: an address and what it resolved to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    /// The instruction address.
    pub addr: u64,
    /// The symbol containing `addr`, when known (shared: a stack's frames are clones of the
    /// symbolizer's, and a dump of thousands of stacks copies no names).
    pub symbol: Option<Arc<str>>,
    /// `addr` minus the symbol's start (0 when unresolved).
    pub offset: u64,
    /// The module (kernel module or user binary) holding the symbol, when known.
    pub module: Option<Arc<str>>,
}

impl Frame {
    /// A frame nothing is known about.
    pub fn unresolved(addr: u64) -> Frame {
        Frame {
            addr,
            symbol: None,
            offset: 0,
            module: None,
        }
    }
}

/// The text of a stack as bpftrace 0.17 prints it: a leading newline, then one line per frame.
/// In `bpftrace` mode a frame is `sym+off` (unresolved: `0x` and hex) after `indent` spaces
/// (8 for values, 4 for map keys); in `perf` mode it is a tab, the address in hex, a space and
/// `sym+off`, and for user frames ` (module)` (` ([unknown])` when unresolved).
pub fn stack_text(user: bool, perf_mode: bool, frames: &[Frame], indent: usize) -> String {
    let mut out = String::from("\n");
    for f in frames {
        let sym = match &f.symbol {
            Some(s) => format!("{s}+{}", f.offset),
            None => format!("{:#x}", f.addr),
        };
        if perf_mode {
            out.push_str(&format!("\t{:x} {sym}", f.addr));
            match (user, &f.symbol, &f.module) {
                (true, Some(_), Some(m)) => out.push_str(&format!(" ({m})")),
                // bpftrace 0.17 marks user frames it cannot resolve so.
                (true, None, _) => out.push_str(" ([unknown])"),
                _ => {}
            }
        } else {
            out.push_str(&" ".repeat(indent));
            out.push_str(&sym);
        }
        out.push('\n');
    }
    out
}

impl Value {
    /// A signed integer value.
    pub fn int(value: i64) -> Value {
        Value::Int(Int::signed(value))
    }

    /// An unsigned integer value.
    pub fn uint(value: u64) -> Value {
        Value::Int(Int::unsigned(value))
    }

    /// A string value (cut at the first NUL, as a string read from BPF would be).
    pub fn str(s: impl AsRef<[u8]>) -> Value {
        let b = s.as_ref();
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        Value::Str(b[..end].to_vec())
    }

    /// Orders map keys as bpftrace 0.17 sorts them: integers as unsigned numbers, strings and
    /// buffers bytewise (`strncmp`), text bytewise, tuples field by field. Values of different
    /// kinds compare equal (their order is left as it was).
    pub fn cmp_key(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.bits().cmp(&b.bits()),
            (Value::Str(a), Value::Str(b)) | (Value::Buffer(a), Value::Buffer(b)) => a.cmp(b),
            (Value::Text(_, a), Value::Text(_, b)) => a.cmp(b),
            (Value::Tuple(a), Value::Tuple(b)) | (Value::Array(a), Value::Array(b)) => {
                cmp_keys(a, b)
            }
            (Value::Struct(a), Value::Struct(b)) => a
                .iter()
                .zip(b)
                .map(|((_, x), (_, y))| x.cmp_key(y))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal),
            _ => Ordering::Equal,
        }
    }
}

/// Orders two key lists field by field with [`Value::cmp_key`].
pub fn cmp_keys(a: &[Value], b: &[Value]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.cmp_key(y))
        .find(|o| o.is_ne())
        .unwrap_or_else(|| a.len().cmp(&b.len()))
}

/// How [`format_buffer`] shows bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufStyle {
    /// Printable ASCII (32..=126) as is, other bytes `\xNN` (`%r`, `print(buf)`).
    Escaped,
    /// Every byte `\xNN` (`%rx`).
    HexEscaped,
    /// Every byte as two hex digits, separated by spaces: `61 62 0a` (`%rh`).
    HexSpaced,
}

/// Shows raw bytes as text, the way bpftrace shows buffers (lower-case hex).
pub fn format_buffer(bytes: &[u8], style: BufStyle) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 4);
    for (i, &b) in bytes.iter().enumerate() {
        match style {
            BufStyle::Escaped if (32..=126).contains(&b) => out.push(b),
            BufStyle::Escaped | BufStyle::HexEscaped => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]),
            BufStyle::HexSpaced => {
                if i > 0 {
                    out.push(b' ');
                }
                out.extend_from_slice(&[HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_display_and_div() {
        assert_eq!(Int::signed(-5).to_string(), "-5");
        assert_eq!(Int::unsigned(u64::MAX).to_string(), "18446744073709551615");
        assert_eq!(Int::signed(-9).div_by(2).to_string(), "-4");
        assert_eq!(Int::unsigned(u64::MAX).div_by(2).bits(), u64::MAX / 2);
        assert_eq!(Int::signed(7).div_by(0).value, 7);
    }

    #[test]
    fn key_order_is_unsigned_for_ints() {
        let mut keys = vec![Value::int(-1), Value::int(10), Value::int(0), Value::int(1)];
        keys.sort_by(Value::cmp_key);
        assert_eq!(
            keys,
            [Value::int(0), Value::int(1), Value::int(10), Value::int(-1)]
        );
        assert!(Value::str("ab").cmp_key(&Value::str("abc")).is_lt());
        assert!(Value::str("").cmp_key(&Value::str("a")).is_lt());
    }

    #[test]
    fn buffers() {
        // bpftrace 0.17: printf("%r|%rx|%rh|\n", buf("ab\n\x01\xff", 5), buf("ab\n", 3), ...)
        let b = b"ab\n\x01\xff";
        assert_eq!(format_buffer(b, BufStyle::Escaped), b"ab\\x0a\\x01\\xff");
        assert_eq!(
            format_buffer(b"ab\n", BufStyle::HexEscaped),
            b"\\x61\\x62\\x0a"
        );
        assert_eq!(format_buffer(b"ab\n", BufStyle::HexSpaced), b"61 62 0a");
        assert_eq!(format_buffer(b"", BufStyle::HexSpaced), b"");
        assert_eq!(Value::str(b"ab\0cd"), Value::Str(b"ab".to_vec()));
    }

    fn frames() -> Vec<Frame> {
        vec![
            Frame {
                addr: 0xffff_ffff_814b_096d,
                symbol: Some("perf_syscall_enter".into()),
                offset: 397,
                module: None,
            },
            Frame::unresolved(0x55b9_1dd0_5169),
        ]
    }

    #[test]
    fn stacks_in_both_modes() {
        // Reference §5: values indent 8, keys 4, perf mode `\tADDR sym+off`.
        let f = frames();
        assert_eq!(
            stack_text(false, false, &f, 8),
            "\n        perf_syscall_enter+397\n        0x55b91dd05169\n"
        );
        assert_eq!(
            stack_text(false, false, &f[..1], 4),
            "\n    perf_syscall_enter+397\n"
        );
        assert_eq!(
            stack_text(false, true, &f, 8),
            "\n\tffffffff814b096d perf_syscall_enter+397\n\t55b91dd05169 0x55b91dd05169\n"
        );
        let user = [Frame {
            addr: 0x55b9_1dd0_5169,
            symbol: Some("foo".into()),
            offset: 0,
            module: Some("./t".into()),
        }];
        assert_eq!(
            stack_text(true, true, &user, 8),
            "\n\t55b91dd05169 foo+0 (./t)\n"
        );
        assert_eq!(stack_text(false, false, &[], 8), "\n");
    }
}
