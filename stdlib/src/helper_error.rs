//! The warning printed for a failed helper call (`-k`, `-kk`), in bpftrace 0.17's text and
//! JSON forms.

use std::io;

use scry_lang::span::Location;

/// `Failed to HELPER: strerror (CODE)`, or `Failed to HELPER: 0` for a lookup that found
/// nothing.
pub fn message(helper: &str, retcode: i64) -> String {
    if retcode < 0 {
        let text = io::Error::from_raw_os_error(retcode.unsigned_abs() as i32).to_string();
        // Rust appends " (os error N)" to strerror's text.
        let text = text.split(" (os error").next().unwrap_or_default();
        format!("Failed to {helper}: {text} ({retcode})")
    } else {
        format!("Failed to {helper}: {retcode}")
    }
}

/// The text form: `FILE:LINE:COL-END: WARNING: message`, then the source line and a `~`
/// marker under the call (a call over several lines: `FILE:LINE-END: WARNING: message` alone).
pub fn text(helper: &str, retcode: i64, at: &Location) -> Vec<u8> {
    let msg = message(helper, retcode);
    if at.line < at.end_line {
        return format!("{}:{}-{}: WARNING: {msg}\n", at.file, at.line, at.end_line).into_bytes();
    }
    let mut out = format!(
        "{}:{}:{}-{}: WARNING: {msg}\n",
        at.file, at.line, at.col, at.end_col
    );
    if at.text.is_empty() {
        return out.into_bytes();
    }
    // Tabs print as four spaces, in the line and under it.
    out.push_str(&at.text.replace('\t', "    "));
    out.push('\n');
    for (i, c) in at
        .text
        .bytes()
        .take(at.end_col.saturating_sub(1))
        .enumerate()
    {
        let mark = if i + 1 < at.col { ' ' } else { '~' };
        let width = if c == b'\t' { 4 } else { 1 };
        out.extend(std::iter::repeat_n(mark, width));
    }
    out.push('\n');
    out.into_bytes()
}

/// The JSON form: `{"type": "helper_error", "helper": ..., "retcode": ..., "line": ...,
/// "col": ...}`.
pub fn json(helper: &str, retcode: i64, at: &Location) -> Vec<u8> {
    format!(
        "{{\"type\": \"helper_error\", \"helper\": \"{helper}\", \"retcode\": {retcode}, \
         \"line\": {}, \"col\": {}}}\n",
        at.line, at.col
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_lang::span::Span;

    const PROGRAM: &str = "i:ms:100 { @[1] = 1; delete(@[2]); exit(); }";

    #[test]
    fn text_has_location_line_and_marker() {
        let at = Location::of("stdin", PROGRAM, Span::new(21, 33));
        assert_eq!(
            String::from_utf8(text("map_delete_elem", -2, &at)).unwrap(),
            "stdin:1:22-34: WARNING: Failed to map_delete_elem: No such file or directory (-2)\n\
             i:ms:100 { @[1] = 1; delete(@[2]); exit(); }\n                     ~~~~~~~~~~~~\n"
        );
    }

    #[test]
    fn json_has_line_and_column() {
        let at = Location::of("stdin", PROGRAM, Span::new(21, 33));
        assert_eq!(
            String::from_utf8(json("probe_read", -14, &at)).unwrap(),
            "{\"type\": \"helper_error\", \"helper\": \"probe_read\", \"retcode\": -14, \"line\": 1, \"col\": 22}\n"
        );
        assert_eq!(
            message("map_lookup_elem", 0),
            "Failed to map_lookup_elem: 0"
        );
    }
}
