//! Byte ranges into the program source.

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
/// and byte columns counted from 1, the end column one past the span's last byte.
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
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let end_line_start = text[..end].rfind('\n').map_or(0, |i| i + 1);
        Location {
            file: file.to_string(),
            line: text[..start].matches('\n').count() + 1,
            end_line: text[..end].matches('\n').count() + 1,
            col: start - line_start + 1,
            end_col: end - end_line_start + 1,
            text: text
                .get(line_start..line_end)
                .unwrap_or_default()
                .to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_columns_from_one() {
        let loc = Location::of("stdin", "BEGIN {\n  x(@a[1]);\n}", Span::new(12, 18));
        assert_eq!(
            (loc.line, loc.end_line, loc.col, loc.end_col),
            (2, 2, 5, 11)
        );
        assert_eq!(loc.text, "  x(@a[1]);");
        let multi = Location::of("f.bt", "a\nbc\nd", Span::new(1, 6));
        assert_eq!((multi.line, multi.end_line), (1, 3));
    }
}
