//! The line editor's helper: entries end when their braces balance ([`is_complete`]),
//! completion from the live system ([`crate::complete`]), hints from history, and syntax
//! highlighting from scry's lexer (off when `NO_COLOR` is set or `TERM=dumb`).

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hinter, HistoryHinter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};
use scry_lang::check::BUILTIN_NAMES;
use scry_lang::functions::builtin;
use scry_lang::token::Tok;
use scry_runtime::LiveCatalog;

use crate::balance::{is_complete, is_probe_name};
use crate::complete::{complete, only_completion};

/// The session's map names, kept current by the session thread for completion.
pub type MapNames = Arc<Mutex<Vec<String>>>;

/// scry's rustyline helper.
pub struct ScryHelper {
    catalog: LiveCatalog,
    maps: MapNames,
    files: FilenameCompleter,
    hints: HistoryHinter,
    color: bool,
}

impl ScryHelper {
    /// A helper completing `maps`, colouring when `color`.
    pub fn new(maps: MapNames, color: bool) -> Self {
        ScryHelper {
            catalog: LiveCatalog::new(),
            maps,
            files: FilenameCompleter::new(),
            hints: HistoryHinter::new(),
            color,
        }
    }
}

impl Helper for ScryHelper {}

impl Validator for ScryHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(match is_complete(ctx.input()) {
            true => ValidationResult::Valid(None),
            false => ValidationResult::Incomplete,
        })
    }
}

impl Completer for ScryHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let maps = self.maps.lock().map(|m| m.clone()).unwrap_or_default();
        match complete(line, pos, &self.catalog, &maps) {
            Some(c) => Ok((
                c.start,
                c.candidates
                    .into_iter()
                    .map(|c| Pair {
                        display: c.clone(),
                        replacement: c,
                    })
                    .collect(),
            )),
            None => self.files.complete(line, pos, ctx),
        }
    }
}

impl Hinter for ScryHelper {
    type Hint = String;

    /// The rest of a history line, or else of the only probe name, map, builtin or command
    /// the word at the end of the line can become.
    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<String> {
        if let Some(h) = self.hints.hint(line, pos, ctx) {
            return Some(h);
        }
        if pos < line.len() {
            return None;
        }
        let maps = self.maps.lock().map(|m| m.clone()).unwrap_or_default();
        only_completion(line, &self.catalog, &maps)
    }
}

impl Highlighter for ScryHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        match self.color {
            true => Cow::Owned(highlight(line)),
            false => Cow::Borrowed(line),
        }
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        match self.color {
            true => Cow::Owned(format!("\x1b[2m{hint}\x1b[0m")),
            false => Cow::Borrowed(hint),
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.color
    }
}

/// `line` with ANSI colours: probe names bold, keywords magenta, strings green, maps yellow,
/// builtins cyan, functions blue. Everything else (comments too) as typed.
pub fn highlight(line: &str) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    let mut at = 0;
    for (tok, span) in scry_lang::lexer::lex(line).tokens {
        let colour = match &tok {
            Tok::AttachPoint(name) if is_probe_name(name) => "1",
            Tok::If
            | Tok::Else
            | Tok::While
            | Tok::Unroll
            | Tok::Break
            | Tok::Continue
            | Tok::Return
            | Tok::Struct
            | Tok::Union
            | Tok::Enum => "35",
            Tok::Str(_) => "32",
            Tok::Map(_) => "33",
            Tok::Ident(n) | Tok::AttachPoint(n) if BUILTIN_NAMES.contains(&n.as_str()) => "36",
            Tok::Ident(n) | Tok::AttachPoint(n) if builtin(n).is_some() => "34",
            _ => continue,
        };
        let (Some(gap), Some(text)) = (line.get(at..span.start), line.get(span.range())) else {
            continue;
        };
        out.push_str(gap);
        out.push_str(&format!("\x1b[{colour}m{text}\x1b[0m"));
        at = span.end;
    }
    out.push_str(line.get(at..).unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    use super::highlight;

    #[test]
    fn colours_by_token_and_keeps_the_text() {
        let line = "t:a:b /pid/ { if (1) { @x[comm] = count(); printf(\"hi\"); } } // c";
        let h = highlight(line);
        assert!(h.contains("\x1b[1mt:a:b\x1b[0m"));
        assert!(h.contains("\x1b[36mpid\x1b[0m"));
        assert!(h.contains("\x1b[35mif\x1b[0m"));
        assert!(h.contains("\x1b[33m@x\x1b[0m"));
        assert!(h.contains("\x1b[36mcomm\x1b[0m"));
        assert!(h.contains("\x1b[34mcount\x1b[0m"));
        assert!(h.contains("\x1b[32m\"hi\"\x1b[0m"));
        assert!(h.ends_with("} } // c"));
        let plain: String = strip(&h);
        assert_eq!(plain, line);
    }

    fn strip(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for d in chars.by_ref() {
                    if d == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}
