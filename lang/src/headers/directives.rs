//! The `#define` and `#include` lines of a C header's text: comments taken out, `\`
//! continuations joined, every other line (and every other directive) skipped. Nothing is
//! evaluated: a line inside `#if 0` counts as any other.

use crate::token::macro_name;

/// One directive of a header that the macro reader uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Directive {
    /// `#define NAME BODY` (`params` is `Some` for a function-like macro: `NAME(` with no
    /// space between).
    Define {
        name: String,
        params: Option<String>,
        body: String,
    },
    /// `#include <name>` or `#include "name"` (and `#include_next`); a computed include
    /// (`#include MACRO`) is not one.
    Include { name: String, quoted: bool },
}

/// The directives of `text`, in order.
pub fn directives(text: &str) -> Vec<Directive> {
    logical_lines(text)
        .iter()
        .filter_map(|line| directive(line))
        .collect()
}

fn directive(line: &str) -> Option<Directive> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    let word_len = rest
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    let (word, rest) = rest.split_at(word_len);
    match word {
        "define" => define(rest.trim_start()),
        "include" | "include_next" => include(rest.trim()),
        _ => None,
    }
}

fn define(rest: &str) -> Option<Directive> {
    let (name, rest) = macro_name(rest)?;
    let (params, body) = match rest.strip_prefix('(') {
        Some(p) => {
            let close = p.find(')')?;
            (Some(p[..close].trim().to_string()), &p[close + 1..])
        }
        None => (None, rest),
    };
    Some(Directive::Define {
        name: name.to_string(),
        params,
        body: body.trim().to_string(),
    })
}

fn include(rest: &str) -> Option<Directive> {
    let (close, quoted) = match rest.as_bytes().first()? {
        b'<' => ('>', false),
        b'"' => ('"', true),
        _ => return None,
    };
    let end = rest[1..].find(close)?;
    Some(Directive::Include {
        name: rest[1..1 + end].to_string(),
        quoted,
    })
}

/// The lines of `text` as the preprocessor sees them: `\`-newline joined, each comment one
/// space (a block comment may span lines), string and character literals kept whole.
fn logical_lines(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut lines = Vec::new();
    let mut line = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if b.get(i + 1) == Some(&b'\n') => i += 2,
            b'\\' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => i += 3,
            b'\n' => {
                lines.push(std::mem::take(&mut line));
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    // A line comment ends at a newline not escaped by `\`.
                    i += if b[i] == b'\\' && b.get(i + 1) == Some(&b'\n') {
                        2
                    } else {
                        1
                    };
                }
                line.push(b' ');
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
                line.push(b' ');
            }
            q @ (b'"' | b'\'') => {
                line.push(q);
                i += 1;
                while i < b.len() && b[i] != q && b[i] != b'\n' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        line.push(b[i]);
                        i += 1;
                    }
                    line.push(b[i]);
                    i += 1;
                }
                if b.get(i) == Some(&q) {
                    line.push(q);
                    i += 1;
                }
            }
            c => {
                line.push(c);
                i += 1;
            }
        }
    }
    lines.push(line);
    lines
        .into_iter()
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn define(name: &str, params: Option<&str>, body: &str) -> Directive {
        Directive::Define {
            name: name.into(),
            params: params.map(String::from),
            body: body.into(),
        }
    }

    #[test]
    fn defines_and_includes() {
        let text = "#ifndef X_H\n# define X_H 1\n#include <bits/a.h>\n  #  include \"b.h\"\n\
                    #define F(a, b) ((a) + (b))\n#define G (1)\n#include_next <c.h>\n\
                    #include MACRO\nint f(void);\n";
        assert_eq!(
            directives(text),
            [
                define("X_H", None, "1"),
                Directive::Include {
                    name: "bits/a.h".into(),
                    quoted: false
                },
                Directive::Include {
                    name: "b.h".into(),
                    quoted: true
                },
                define("F", Some("a, b"), "((a) + (b))"),
                define("G", None, "(1)"),
                Directive::Include {
                    name: "c.h".into(),
                    quoted: false
                },
            ]
        );
    }

    #[test]
    fn comments_and_continuations() {
        let text = "/* #define A 1\n#define B 2 */\n#define C 3 /* three */ + \\\n 4 // end\n\
                    #define D \"/* not a comment */\"\n// #define E 5\n#define F '\"'\n";
        assert_eq!(
            directives(text),
            [
                define("C", None, "3   +  4"),
                define("D", None, "\"/* not a comment */\""),
                define("F", None, "'\"'"),
            ]
        );
    }
}
