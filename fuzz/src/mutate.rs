//! Mutations of existing inputs: byte- and token-level edits that keep the text valid UTF-8
//! (the CLI rejects invalid UTF-8 before the front end sees it).

use crate::gen::{BUILTINS, FUNCTIONS, PROVIDERS};
use crate::rng::Rng;

/// Tokens worth inserting: punctuation, keywords and odd lexemes.
const DICT: &[&str] = &[
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "/",
    "//",
    "/*",
    "*/",
    "\"",
    "'",
    "\\",
    ";",
    ",",
    ":",
    "::",
    "?",
    ".",
    "->",
    "@",
    "$",
    "$#",
    "$1",
    "#",
    "#define ",
    "#include ",
    "\n",
    " ",
    "\t",
    "\r",
    "=",
    "==",
    "+=",
    "<<=",
    "++",
    "--",
    "!",
    "~",
    "&&",
    "||",
    "<<",
    ">>",
    "if",
    "else",
    "while",
    "unroll",
    "break",
    "continue",
    "return",
    "struct",
    "union",
    "enum",
    "sizeof",
    "BEGIN",
    "END",
    "0x",
    "1",
    "0",
    "18446744073709551616",
    "-",
    "*",
    "&",
    "%",
    "%s",
    "%d",
    "\\x",
    "\\0",
    "'a'",
    "(int8)",
    "(struct foo *)",
    "args",
    "args->",
    "@x[",
    "$x",
    "{}",
    "()",
    "/1/",
    "é",
    "🦀",
    "\u{0}",
    "\u{7f}",
    "\u{feff}",
    "\u{200b}",
    "\u{2028}",
    "ﬀ",
    "İ",
];

/// Characters for single-character insertions.
const CHARS: &[char] = &[
    '\0',
    '\t',
    '\n',
    '\r',
    '\u{b}',
    '\u{c}',
    ' ',
    '!',
    '"',
    '#',
    '$',
    '%',
    '&',
    '\'',
    '(',
    ')',
    '*',
    '+',
    ',',
    '-',
    '.',
    '/',
    '0',
    '9',
    ':',
    ';',
    '<',
    '=',
    '>',
    '?',
    '@',
    'A',
    'Z',
    '[',
    '\\',
    ']',
    '^',
    '_',
    '`',
    'a',
    'x',
    'z',
    '{',
    '|',
    '}',
    '~',
    '\u{7f}',
    'é',
    'ß',
    '€',
    '🦀',
    '\u{fffd}',
    '\u{301}',
    '\u{10ffff}',
];

/// Largest mutated input, in bytes.
pub const MAX_LEN: usize = 256 * 1024;

/// Char boundaries of `s`, including `s.len()`.
fn boundaries(s: &str) -> Vec<usize> {
    let mut b: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
    b.push(s.len());
    b
}

/// A random char boundary of `s`.
fn point(rng: &mut Rng, s: &str) -> usize {
    let b = boundaries(s);
    *rng.pick(&b)
}

/// A random range `a..b` on char boundaries, mostly short.
fn range(rng: &mut Rng, s: &str) -> (usize, usize) {
    let b = boundaries(s);
    let i = rng.below(b.len());
    let max = if rng.one_in(4) { b.len() } else { 16 };
    let j = (i + rng.below(max)).min(b.len() - 1);
    (b[i], b[j])
}

/// Applies one to eight random mutations to `input`; `other` is a second corpus entry for
/// splicing.
pub fn mutate(rng: &mut Rng, input: &str, other: &str) -> String {
    let mut s = input.to_string();
    let n = rng.range(1, 8);
    for _ in 0..n {
        s = mutate_once(rng, &s, other);
        if s.len() > MAX_LEN {
            break;
        }
    }
    // Keep inputs below 256 KiB: larger ones mostly measure rendering of huge files.
    if s.len() > MAX_LEN {
        let mut cut = MAX_LEN;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

fn mutate_once(rng: &mut Rng, s: &str, other: &str) -> String {
    let mut out = s.to_string();
    match rng.below(14) {
        0 | 1 => {
            let (a, b) = range(rng, s);
            out.replace_range(a..b, "");
        }
        2 | 3 => {
            let p = point(rng, s);
            out.insert_str(p, rng.s(DICT));
        }
        4 => {
            let p = point(rng, s);
            out.insert(p, *rng.pick(CHARS));
        }
        5 => {
            let (a, b) = range(rng, s);
            if a < b {
                let p = point(rng, s);
                out.insert_str(p, &s[a..b]);
            }
        }
        6 => {
            // splice: a prefix of this input and a suffix of the other
            let p = point(rng, s);
            let q = point(rng, other);
            out = format!("{}{}", &s[..p], &other[q..]);
        }
        7 => {
            // insert a chunk of the other input
            let (a, b) = range(rng, other);
            let p = point(rng, s);
            out.insert_str(p, &other[a..b]);
        }
        8 => nest(rng, &mut out),
        9 => {
            let p = point(rng, s);
            let w = match rng.below(3) {
                0 => *rng.pick(BUILTINS),
                1 => *rng.pick(&FUNCTIONS),
                _ => *rng.pick(PROVIDERS),
            };
            out.insert_str(p, w);
        }
        10 => {
            // replace a run of digits with an odd number
            if let Some(i) = s.find(|c: char| c.is_ascii_digit()) {
                let j = s[i..]
                    .find(|c: char| !c.is_ascii_alphanumeric())
                    .map_or(s.len(), |k| i + k);
                let num = *rng.pick(&[
                    "18446744073709551615",
                    "18446744073709551616",
                    "0",
                    "4294967296",
                    "0xffffffffffffffffff",
                    "999999999999999999999999999999999999999",
                    "-9223372036854775808",
                ]);
                out.replace_range(i..j, num);
            }
        }
        11 => {
            // duplicate a line
            let lines: Vec<&str> = s.split_inclusive('\n').collect();
            if !lines.is_empty() {
                let i = rng.below(lines.len());
                let times = rng.range(1, 50);
                let mut v: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                let dup = v[i].repeat(times);
                v[i] = dup;
                out = v.concat();
            }
        }
        12 => {
            // truncate
            let p = point(rng, s);
            out.truncate(p);
        }
        _ => {
            // swap two ranges' contents (rough token shuffle)
            let (a, b) = range(rng, s);
            let piece = s[a..b].to_string();
            out.replace_range(a..b, "");
            let p = point(rng, &out);
            out.insert_str(p, &piece);
        }
    }
    out
}

/// Duplicates a nested paren/brace/bracket group around itself, or wraps a range in many
/// brackets: deep nesting that generated programs rarely reach.
fn nest(rng: &mut Rng, s: &mut String) {
    let opens: Vec<(usize, char)> = s
        .char_indices()
        .filter(|(_, c)| matches!(c, '(' | '{' | '['))
        .collect();
    let times = *rng.pick(&[2usize, 10, 100, 199, 200, 201, 1000, 5000]);
    if opens.is_empty() || rng.one_in(3) {
        let (a, b) = range(rng, s);
        let (o, c) = *rng.pick(&[("(", ")"), ("{", "}"), ("[", "]")]);
        let inner = s[a..b].to_string();
        let wrapped = format!("{}{}{}", o.repeat(times), inner, c.repeat(times));
        s.replace_range(a..b, &wrapped);
        return;
    }
    let (start, open) = *rng.pick(&opens);
    let close = match open {
        '(' => ')',
        '{' => '}',
        _ => ']',
    };
    let mut depth = 0usize;
    let mut end = None;
    for (i, c) in s[start..].char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                end = Some(start + i + c.len_utf8());
                break;
            }
        }
    }
    let Some(end) = end else { return };
    let group = s[start..end].to_string();
    // Put the group inside itself `times` times: `(x)` becomes `((x))`, `(((x)))`, ...
    let inner = &group[open.len_utf8()..group.len() - close.len_utf8()];
    let mut new = String::with_capacity(group.len() + 2 * times);
    for _ in 0..times {
        new.push(open);
    }
    new.push_str(inner);
    for _ in 0..times {
        new.push(close);
    }
    if rng.one_in(3) {
        // or repeat the group side by side
        new = group.repeat(times.min(500));
    }
    s.replace_range(start..end, &new);
}
