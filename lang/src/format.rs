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

/// The largest printf width or precision: every record pads to it, so a larger one (C allows
/// up to `INT_MAX`) would allocate that much for each event printed.
pub const MAX_WIDTH: usize = 100_000;

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

/// A format string error: message, byte offsets of the bad specification, and a hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    pub message: String,
    pub start: usize,
    pub end: usize,
    pub hint: &'static str,
}

/// The hint of an unknown conversion or length modifier.
const SPECIFIERS: &str =
    "specifiers: %s %c %d %i %u %o %x %X %p %r %rx %rh, with flags, width, precision and h/l/ll";

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
        spec.width = bounded(b, &mut i, start, "width")?;
        if b.get(i) == Some(&b'.') {
            i += 1;
            spec.precision = Some(bounded(b, &mut i, start, "precision")?.unwrap_or(0));
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
                    hint: SPECIFIERS,
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
                    hint: SPECIFIERS,
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

/// The decimal number at `i` (none if there are no digits), at most [`MAX_WIDTH`]; `what` and
/// `spec_start` name it in the error.
fn bounded(
    b: &[u8],
    i: &mut usize,
    spec_start: usize,
    what: &str,
) -> Result<Option<usize>, FormatError> {
    let start = *i;
    while b.get(*i).is_some_and(u8::is_ascii_digit) {
        *i += 1;
    }
    if start == *i {
        return Ok(None);
    }
    let text = std::str::from_utf8(&b[start..*i]).unwrap_or_default();
    match text.parse::<usize>() {
        Ok(n) if n <= MAX_WIDTH => Ok(Some(n)),
        _ => Err(FormatError {
            message: format!("printf {what} {text} is too large: at most {MAX_WIDTH}"),
            start: spec_start,
            end: *i,
            hint: "each record is padded to its width and precision when printed",
        }),
    }
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

    #[test]
    fn bounded_width_and_precision() {
        let ok = format!("%{MAX_WIDTH}.{MAX_WIDTH}d");
        let p = parse(&ok).unwrap();
        let s = specs(&p).next().unwrap();
        assert_eq!((s.width, s.precision), (Some(MAX_WIDTH), Some(MAX_WIDTH)));
        let e = parse("ab %99999999999d").unwrap_err();
        assert_eq!(
            e.message,
            "printf width 99999999999 is too large: at most 100000"
        );
        assert_eq!((e.start, e.end), (3, 15));
        // Too many digits for any integer is the same error, not a width dropped in silence.
        let e = parse("%-.999999999999999999999999s").unwrap_err();
        assert!(
            e.message.starts_with("printf precision 9999"),
            "{}",
            e.message
        );
    }
}
