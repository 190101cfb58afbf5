//! printf-style format strings: parsed once by the checker, used again by the printer.

/// Length modifiers (`hh h l ll j z t`): they decide how many bits of the value print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Length {
    /// No modifier: C's `int`, 32 bits.
    Int,
    Char,
    Short,
    /// `l`, `ll`, `j`, `z`, `t`: 64 bits.
    Long,
}

/// What a conversion prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv {
    /// `%s`
    Str,
    /// `%c`
    Char,
    /// `%d`, `%i`
    Signed,
    /// `%u`
    Unsigned,
    /// `%o`
    Octal,
    /// `%x`
    Hex,
    /// `%X`
    HexUpper,
    /// `%p`
    Pointer,
    /// `%r`: printable bytes as is, others `\xNN`.
    Raw,
    /// `%rx`: every byte `\xNN`.
    RawHex,
    /// `%rh`: bytes as `61 62 0a`.
    RawHexSpaced,
}

/// One conversion specification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub left_align: bool,
    pub zero_pad: bool,
    pub plus: bool,
    pub space: bool,
    pub alternate: bool,
    pub width: Option<usize>,
    pub precision: Option<usize>,
    pub length: Length,
    pub conv: Conv,
    /// Byte range of the specification in the format string.
    pub start: usize,
    pub end: usize,
}

impl Spec {
    /// Whether the argument must be an integer (else a string-like value).
    pub fn wants_int(&self) -> bool {
        !matches!(
            self.conv,
            Conv::Str | Conv::Raw | Conv::RawHex | Conv::RawHexSpaced
        )
    }
}

/// A piece of a format string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    Spec(Spec),
}

/// A format string error: message and byte offset of the bad specification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    pub message: String,
    pub start: usize,
    pub end: usize,
}

/// Parses a format string into literal text and conversions.
pub fn parse(fmt: &str) -> Result<Vec<Piece>, FormatError> {
    let b = fmt.as_bytes();
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < b.len() {
        let Some(off) = fmt[i..].find('%') else {
            lit.push_str(&fmt[i..]);
            break;
        };
        lit.push_str(&fmt[i..i + off]);
        let start = i + off;
        i = start + 1;
        if b.get(i) == Some(&b'%') {
            lit.push('%');
            i += 1;
            continue;
        }
        let mut spec = Spec {
            left_align: false,
            zero_pad: false,
            plus: false,
            space: false,
            alternate: false,
            width: None,
            precision: None,
            length: Length::Int,
            conv: Conv::Str,
            start,
            end: start,
        };
        while let Some(&c) = b.get(i) {
            match c {
                b'-' => spec.left_align = true,
                b'0' => spec.zero_pad = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                b'#' => spec.alternate = true,
                _ => break,
            }
            i += 1;
        }
        spec.width = digits(b, &mut i);
        if b.get(i) == Some(&b'.') {
            i += 1;
            spec.precision = Some(digits(b, &mut i).unwrap_or(0));
        }
        let len_start = i;
        while matches!(b.get(i), Some(b'h' | b'l' | b'j' | b'z' | b't')) {
            i += 1;
        }
        spec.length = match &fmt[len_start..i] {
            "" => Length::Int,
            "hh" => Length::Char,
            "h" => Length::Short,
            "l" | "ll" | "j" | "z" | "t" => Length::Long,
            other => {
                return Err(FormatError {
                    message: format!("Unknown format string length modifier: {other}"),
                    start,
                    end: i,
                })
            }
        };
        let conv_start = i;
        spec.conv = match b.get(i) {
            Some(b's') => Conv::Str,
            Some(b'c') => Conv::Char,
            Some(b'd' | b'i') => Conv::Signed,
            Some(b'u') => Conv::Unsigned,
            Some(b'o') => Conv::Octal,
            Some(b'x') => Conv::Hex,
            Some(b'X') => Conv::HexUpper,
            Some(b'p') => Conv::Pointer,
            Some(b'r') => match b.get(i + 1) {
                Some(b'x') => {
                    i += 1;
                    Conv::RawHex
                }
                Some(b'h') => {
                    i += 1;
                    Conv::RawHexSpaced
                }
                _ => Conv::Raw,
            },
            _ => {
                let end = (conv_start + fmt[conv_start..].chars().next().map_or(0, char::len_utf8))
                    .min(b.len());
                return Err(FormatError {
                    message: format!("Unknown format string token: {}", &fmt[start..end]),
                    start,
                    end,
                });
            }
        };
        i += 1;
        spec.end = i;
        if !lit.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(&mut lit)));
        }
        pieces.push(Piece::Spec(spec));
    }
    if !lit.is_empty() {
        pieces.push(Piece::Literal(lit));
    }
    Ok(pieces)
}

fn digits(b: &[u8], i: &mut usize) -> Option<usize> {
    let start = *i;
    while b.get(*i).is_some_and(u8::is_ascii_digit) {
        *i += 1;
    }
    std::str::from_utf8(&b[start..*i]).ok()?.parse().ok()
}

/// The conversions of a parsed format, in order.
pub fn specs(pieces: &[Piece]) -> impl Iterator<Item = &Spec> {
    pieces.iter().filter_map(|p| match p {
        Piece::Spec(s) => Some(s),
        Piece::Literal(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        let p = parse("pid %-6d comm %s %%%05.2lx %rh\n").unwrap();
        let s: Vec<_> = specs(&p).collect();
        assert_eq!(s.len(), 4);
        assert!(s[0].left_align);
        assert_eq!(s[0].width, Some(6));
        assert_eq!(s[1].conv, Conv::Str);
        assert_eq!(s[2].length, Length::Long);
        assert!(s[2].zero_pad);
        assert_eq!(s[2].precision, Some(2));
        assert_eq!(s[3].conv, Conv::RawHexSpaced);
        assert_eq!(p[0], Piece::Literal("pid ".into()));
        assert!(p.contains(&Piece::Literal(" %".into())));
    }

    #[test]
    fn unknown_token() {
        let e = parse("x %f y").unwrap_err();
        assert_eq!(e.message, "Unknown format string token: %f");
        assert_eq!((e.start, e.end), (2, 4));
        assert!(parse("%").is_err());
    }
}
