//! trace's format strings: the conversions BCC recognises (`%s %d %u %c %x %K %U` and the
//! `l`/`ll`/`h` sizes), what each captures in the kernel, and how a captured value prints.

use scry_stdlib::Value;

use crate::tools::summary::key_text;

/// One conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv {
    /// `%s`: a string copied from the address.
    Str,
    /// `%d %u %ld %lu %lld %llu %hd %hu`: an integer of that C type.
    Int { bits: u8, signed: bool },
    /// `%x %lx %llx`: an unsigned integer in lowercase hex.
    Hex { bits: u8 },
    /// `%c`: one character.
    Char,
    /// `%K`: a kernel address as a symbol.
    KSym,
    /// `%U`: a user address as a symbol.
    USym,
}

/// A piece of a format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Text printed as is.
    Text(String),
    /// A conversion, consuming one argument.
    Conv(Conv),
}

/// Splits a format into text and conversions (`%%` is a `%`; anything else after `%` that is
/// not a conversion stays text, as in BCC).
pub fn parse(format: &str) -> Vec<Piece> {
    const CONVS: [(&str, Conv); 15] = [
        (
            "llu",
            Conv::Int {
                bits: 64,
                signed: false,
            },
        ),
        (
            "lld",
            Conv::Int {
                bits: 64,
                signed: true,
            },
        ),
        ("llx", Conv::Hex { bits: 64 }),
        (
            "lu",
            Conv::Int {
                bits: 64,
                signed: false,
            },
        ),
        (
            "ld",
            Conv::Int {
                bits: 64,
                signed: true,
            },
        ),
        ("lx", Conv::Hex { bits: 64 }),
        (
            "hu",
            Conv::Int {
                bits: 16,
                signed: false,
            },
        ),
        (
            "hd",
            Conv::Int {
                bits: 16,
                signed: true,
            },
        ),
        (
            "d",
            Conv::Int {
                bits: 32,
                signed: true,
            },
        ),
        (
            "u",
            Conv::Int {
                bits: 32,
                signed: false,
            },
        ),
        ("x", Conv::Hex { bits: 32 }),
        ("s", Conv::Str),
        ("c", Conv::Char),
        ("K", Conv::KSym),
        ("U", Conv::USym),
    ];
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = format;
    while let Some(i) = rest.find('%') {
        text.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            text.push('%');
            rest = tail;
            continue;
        }
        match CONVS.iter().find(|(spec, _)| after.starts_with(spec)) {
            Some((spec, conv)) => {
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Conv(*conv));
                rest = &after[spec.len()..];
            }
            None => {
                text.push('%');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    pieces
}

/// The conversions of `pieces`, in order.
pub fn conversions(pieces: &[Piece]) -> Vec<Conv> {
    pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Conv(c) => Some(*c),
            Piece::Text(_) => None,
        })
        .collect()
}

/// The scry expression capturing `expr` for `conv` (`-Z` bytes of strings).
pub fn capture(conv: Conv, expr: &str, string_size: u32) -> String {
    match conv {
        Conv::Str => format!("str({expr}, {string_size})"),
        Conv::Int { bits, signed: true } => format!("(int{bits})({expr})"),
        Conv::Int {
            bits,
            signed: false,
        }
        | Conv::Hex { bits } => format!("(uint{bits})({expr})"),
        Conv::Char => format!("(uint8)({expr})"),
        // Symbolized when printed (with offset, and module for user addresses).
        Conv::KSym | Conv::USym => format!("(uint64)({expr})"),
    }
}

/// The message: the pieces with the captured values; `symbol` renders `%K`/`%U` addresses.
pub fn render(pieces: &[Piece], values: &[Value], symbol: &dyn Fn(Conv, u64) -> String) -> String {
    let mut values = values.iter();
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Conv(c @ (Conv::KSym | Conv::USym)) => {
                if let Some(Value::Int(addr)) = values.next() {
                    out.push_str(&symbol(*c, addr.value as u64));
                }
            }
            Piece::Conv(c) => {
                if let Some(v) = values.next() {
                    out.push_str(&value(*c, v));
                }
            }
        }
    }
    out
}

fn value(conv: Conv, v: &Value) -> String {
    let Value::Int(i) = v else {
        return key_text(v);
    };
    match conv {
        Conv::Hex { bits } => {
            let mask = if bits >= 64 {
                u64::MAX
            } else {
                (1 << bits) - 1
            };
            format!("{:x}", i.value as u64 & mask)
        }
        Conv::Char => char::from(i.value as u8).to_string(),
        Conv::Int { signed: false, .. } => (i.value as u64).to_string(),
        _ => i.value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_stdlib::Int;

    #[test]
    fn conversions_and_rendering() {
        let p = parse("read %d bytes, 100%% %lx %5d %s%c");
        assert_eq!(
            conversions(&p),
            [
                Conv::Int {
                    bits: 32,
                    signed: true
                },
                Conv::Hex { bits: 64 },
                Conv::Str,
                Conv::Char
            ]
        );
        let values = [
            Value::Int(Int::signed(-1)),
            Value::Int(Int::unsigned(0xdead)),
            Value::str("a.txt"),
            Value::Int(Int::unsigned(65)),
        ];
        let none = |_: Conv, _: u64| String::new();
        assert_eq!(
            render(&p, &values, &none),
            "read -1 bytes, 100% dead %5d a.txtA"
        );
        let k = parse("at %K");
        let sym = |c: Conv, a: u64| format!("{c:?}:{a:x}");
        assert_eq!(
            render(&k, &[Value::Int(Int::unsigned(0xff))], &sym),
            "at KSym:ff"
        );
    }

    #[test]
    fn captures() {
        let d = Conv::Int {
            bits: 32,
            signed: true,
        };
        assert_eq!(capture(d, "retval", 80), "(int32)(retval)");
        assert_eq!(
            capture(Conv::Hex { bits: 64 }, "arg0", 80),
            "(uint64)(arg0)"
        );
        assert_eq!(capture(Conv::Str, "arg1", 80), "str(arg1, 80)");
        assert_eq!(capture(Conv::KSym, "arg0", 80), "(uint64)(arg0)");
    }
}
