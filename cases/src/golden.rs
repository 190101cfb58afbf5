//! Cases with an expected output: the input, a line `==== expected ====`, then the output.

use std::fmt::Write as _;

use crate::{File, Outcome};

/// The line between a case's input and its expected output.
pub const SEPARATOR: &str = "==== expected ====";

/// A golden case split.
#[derive(Clone, Debug)]
pub struct Golden {
    /// The input, with its final newline.
    pub input: String,
    /// The expected output; `None` when the file has no separator yet.
    pub expected: Option<String>,
}

/// Splits a case file. A separator that ends the file means an empty expected output.
pub fn split(text: &str) -> Golden {
    if let Some(i) = text.find(&format!("\n{SEPARATOR}\n")) {
        return Golden {
            input: text[..i + 1].to_string(),
            expected: Some(text[i + SEPARATOR.len() + 2..].to_string()),
        };
    }
    match text.strip_suffix(&format!("\n{SEPARATOR}")) {
        Some(input) => Golden {
            input: format!("{input}\n"),
            expected: Some(String::new()),
        },
        None => Golden {
            input: text.to_string(),
            expected: None,
        },
    }
}

/// Compares `actual` with the case's expected output; with `SCRY_BLESS`, a difference
/// rewrites the file instead of failing.
pub fn compare(file: &File, golden: &Golden, actual: &str) -> Outcome {
    if golden.expected.as_deref() == Some(actual) {
        return Outcome::Pass;
    }
    if crate::bless() {
        let text = format!("{}{SEPARATOR}\n{actual}", golden.input);
        return match std::fs::write(&file.path, text) {
            Ok(()) => Outcome::Pass,
            Err(e) => Outcome::Fail(format!("cannot bless {}: {e}", file.path.display())),
        };
    }
    match &golden.expected {
        None => Outcome::Fail(format!(
            "{}: no line '{SEPARATOR}' (SCRY_BLESS=1 writes the output after one)\n{actual}",
            file.path.display()
        )),
        Some(expected) => Outcome::Fail(format!(
            "{}: output differs (- expected, + actual):\n{}",
            file.path.display(),
            diff(expected, actual)
        )),
    }
}

/// A whole golden suite: every `.ext` file of `dir`, its output from `run(file, input)`
/// (an `Err` is a failure in its own words), compared with the expected one.
pub fn suite(
    name: &str,
    dir: &std::path::Path,
    ext: &str,
    run: impl Fn(&File, &str) -> Result<String, String> + Sync,
) {
    let files = crate::files(dir, ext);
    crate::run(
        name,
        &files,
        crate::jobs(1),
        |f| &f.name,
        |f| {
            let golden = split(&f.text);
            match run(f, &golden.input) {
                Ok(actual) => compare(f, &golden, &actual),
                Err(why) => Outcome::Fail(why),
            }
        },
    );
}

/// A line diff (longest common subsequence): `-` expected, `+` actual.
pub fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            let _ = writeln!(out, "  {}", a[i]);
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "+ {}", b[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "- {}", a[i]);
            i += 1;
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        out.push_str("(the final newline differs)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_diffs() {
        let g = split("prog\n==== expected ====\nout\n");
        assert_eq!(
            (g.input.as_str(), g.expected.as_deref()),
            ("prog\n", Some("out\n"))
        );
        let g = split("prog\n==== expected ====");
        assert_eq!(
            (g.input.as_str(), g.expected.as_deref()),
            ("prog\n", Some(""))
        );
        assert_eq!(split("prog\n").expected, None);
        assert_eq!(diff("a\nb\n", "a\nc\n"), "  a\n+ c\n- b\n");
    }
}
