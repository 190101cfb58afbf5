//! Byte ranges into the program source.

mod columns;

use std::fmt;

/// A half-open byte range `[start, end)` into the source text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

impl From<chumsky::span::SimpleSpan> for Span {
    fn from(s: chumsky::span::SimpleSpan) -> Self {
        Span::new(s.start, s.end)
    }
}

impl From<Span> for chumsky::span::SimpleSpan {
    fn from(s: Span) -> Self {
        (s.start..s.end).into()
    }
}

/// Where a span is in its source, as bpftrace 0.17 reports a run-time warning's place: lines
/// and columns counted from 1, the end column one past the span's last byte, columns as
/// bpftrace's lexer counts them (the start is where the run of characters without white space
/// the span starts in begins; a cast to a struct type counts one column twice: `columns`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// The source's name (`stdin` for `-e`, the file name).
    pub file: String,
    pub line: usize,
    pub end_line: usize,
    pub col: usize,
    pub end_col: usize,
    /// The text of the span's first line, without its newline.
    pub text: String,
}

impl Location {
    /// The location of `span` in `text`, a source named `file`.
    pub fn of(file: &str, text: &str, span: Span) -> Location {
        let start = span.start.min(text.len());
        let end = span.end.clamp(start, text.len());
        let (start, end) = unwrapped(text, start, end);
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let end_line_start = text[..end].rfind('\n').map_or(0, |i| i + 1);
        let end_line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
        let (col, _) = columns::of(&text[line_start..line_end], start - line_start, 0);
        let (_, end_col) =
            columns::of(&text[end_line_start..end_line_end], 0, end - end_line_start);
        Location {
            file: file.to_string(),
            line: text[..start].matches('\n').count() + 1,
            end_line: text[..end].matches('\n').count() + 1,
            col,
            end_col,
            text: text
                .get(line_start..line_end)
                .unwrap_or_default()
                .to_string(),
        }
    }
}

/// `text[start..end]` without the parentheses around it (and the white space inside them):
/// bpftrace's parser gives `(e)` the node of `e`.
fn unwrapped(text: &str, mut start: usize, mut end: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    while end >= start + 2 && bytes[start] == b'(' && closes(&bytes[start..end]) {
        start += 1;
        end -= 1;
        while start < end && bytes[start].is_ascii_whitespace() {
            start += 1;
        }
        while end > start && bytes[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
    }
    (start, end)
}

/// Whether the `(` that starts `s` is closed by its last byte (parentheses in strings are
/// not told apart: a warning's expression holds none in practice).
fn closes(s: &[u8]) -> bool {
    let mut depth = 0usize;
    for (i, &c) in s.iter().enumerate() {
        match c {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i == s.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_columns_from_one() {
        let loc = Location::of("stdin", "BEGIN {\n  x(@a[1]);\n}", Span::new(12, 18));
        assert_eq!(
            (loc.line, loc.end_line, loc.col, loc.end_col),
            // `@a[1]` begins with the run `x(@a[1]);`, as bpftrace's lexer sees it.
            (2, 2, 3, 11)
        );
        assert_eq!(loc.text, "  x(@a[1]);");
        // Inside the parentheses around it.
        let text = "  $x = ( $p->a );";
        let loc = Location::of("stdin", text, Span::new(7, 16));
        assert_eq!((loc.col, loc.end_col), (10, 15));
        let cast = "  $x = ((struct foo *) 0)->a;";
        let loc = Location::of("stdin", cast, Span::new(7, 28));
        assert_eq!((loc.col, loc.end_col), (8, 30));
        let multi = Location::of("f.bt", "a\nbc\nd", Span::new(1, 6));
        assert_eq!((multi.line, multi.end_line), (1, 3));
    }
}
