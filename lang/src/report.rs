//! Rendering diagnostics for people, with ariadne: file and line, the source line, a caret
//! under the span, labels and a hint.

use ariadne::{CharSet, Config, IndexType, Label, Report, ReportKind, Source};

use crate::diag::{Diagnostic, Severity};
use crate::span::Span;

/// How to render.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    pub color: bool,
    /// ASCII art instead of box-drawing characters.
    pub ascii: bool,
}

/// Renders one diagnostic against the source it refers to. `name` is the file name, or
/// `stdin` for `-e` programs, as bpftrace names them.
pub fn render(diag: &Diagnostic, name: &str, src: &str, opts: RenderOptions) -> String {
    let kind = match diag.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
    };
    let config = Config::default()
        .with_color(opts.color)
        .with_index_type(IndexType::Byte)
        .with_char_set(if opts.ascii {
            CharSet::Ascii
        } else {
            CharSet::Unicode
        });
    let id = name.to_string();
    let main = visible(diag.span, src);
    // Labels are drawn in source order: ariadne starts a new section, headed with the main
    // location, whenever a label lies on an earlier line than the one before it.
    let mut spans: Vec<Span> = std::iter::once(main)
        .chain(diag.notes.iter().map(|(s, _)| visible(*s, src)))
        .collect();
    spans.sort();
    let order = |s: Span| spans.iter().position(|x| *x == s).unwrap_or(0) as i32;
    // ariadne underlines only labels that carry a message.
    let text = diag.label.as_deref().unwrap_or("here");
    let mut label = Label::new((id.clone(), main.range()))
        .with_order(order(main))
        .with_message(text);
    if opts.color {
        label = label.with_color(match diag.severity {
            Severity::Error => ariadne::Color::Red,
            Severity::Warning => ariadne::Color::Yellow,
        });
    }
    let mut report = Report::build(kind, (id.clone(), main.range()))
        .with_config(config)
        .with_message(&diag.message)
        .with_label(label);
    for (span, note) in &diag.notes {
        let s = visible(*span, src);
        report = report.with_label(
            Label::new((id.clone(), s.range()))
                .with_message(note)
                .with_order(order(s)),
        );
    }
    if let Some(hint) = &diag.hint {
        report = report.with_help(hint);
    }
    let mut out = Vec::new();
    let written = report.finish().write((id, Source::from(src)), &mut out);
    match written {
        Ok(()) => bpftrace_word(&String::from_utf8_lossy(&out), diag.severity),
        Err(_) => {
            let (line, col) = line_col(src, main.start);
            format!("{name}:{line}:{col}: {}\n", diag.message)
        }
    }
}

/// The report with bpftrace's header word, `ERROR:` or `WARNING:`, so that a message reads
/// (and greps) as it does there (`ERROR: tracepoint not found: ...`). ariadne colours its own
/// kinds as configured; only the word in the first line changes.
fn bpftrace_word(report: &str, severity: Severity) -> String {
    let (ours, theirs) = match severity {
        Severity::Error => ("Error:", "ERROR:"),
        Severity::Warning => ("Warning:", "WARNING:"),
    };
    let (head, rest) = report.split_at(report.find('\n').unwrap_or(report.len()));
    head.replacen(ours, theirs, 1) + rest
}

/// Most diagnostics drawn; past this the rest are counted (drawing each costs a pass over its
/// source line, and nobody reads the hundredth error).
pub const MAX_RENDERED: usize = 20;

/// Renders the diagnostics, errors and warnings in source order, at most [`MAX_RENDERED`].
pub fn render_all(diags: &[Diagnostic], name: &str, src: &str, opts: RenderOptions) -> String {
    let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
    sorted.sort_by_key(|d| (d.span.start, d.span.end));
    let mut out: String = sorted
        .iter()
        .take(MAX_RENDERED)
        .map(|d| render(d, name, src, opts))
        .collect();
    if sorted.len() > MAX_RENDERED {
        let more = sorted.len() - MAX_RENDERED;
        out.push_str(&format!("... and {more} more diagnostics not shown\n"));
    }
    out
}

/// A span that shows at least one character and stays inside the source.
fn visible(span: Span, src: &str) -> Span {
    let len = src.len();
    let mut start = span.start.min(len);
    while start > 0 && !src.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = span.end.clamp(start, len);
    while end < len && !src.is_char_boundary(end) {
        end += 1;
    }
    if end == start {
        if start < len {
            end = start + src[start..].chars().next().map_or(1, char::len_utf8);
        } else if start > 0 {
            start = src[..start].char_indices().last().map_or(0, |(i, _)| i);
        }
    }
    Span::new(start, end)
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = src[line_start..offset].chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_and_hint() {
        let src = "BEGIN { prinft(\"hi\"); }";
        let d = Diagnostic::error(Span::new(8, 14), "Unknown function: prinft")
            .with_label("did you mean 'printf'?")
            .with_hint("a hint");
        let out = render(
            &d,
            "stdin",
            src,
            RenderOptions {
                color: false,
                ascii: false,
            },
        );
        assert!(out.contains("Unknown function: prinft"), "{out}");
        assert!(out.contains("stdin:1:9"), "{out}");
        assert!(out.contains("did you mean 'printf'?"), "{out}");
        assert!(out.contains("BEGIN { prinft(\"hi\"); }"), "{out}");
        assert!(out.contains("a hint"), "{out}");
    }

    #[test]
    fn spans_at_the_end_and_inside_multibyte_text_are_safe() {
        let src = "BEGIN { \"é\" ";
        for span in [Span::new(13, 13), Span::new(10, 10), Span::new(100, 200)] {
            let d = Diagnostic::error(span, "x");
            render(
                &d,
                "stdin",
                src,
                RenderOptions {
                    color: false,
                    ascii: true,
                },
            );
        }
        assert_eq!(line_col("a\nbé c", 6), (2, 4));
    }
}
