//! Plugin declarations between probes: `plugin NAME = "PATH";` and
//! `format @MAP = PLUGIN::FORMATTER;` (docs/plugins.md).

use super::{split_word, Lexer};
use crate::ast::{FormatDecl, PluginDecl};
use crate::span::Span;

/// A cursor over the text of one declaration.
struct Scan<'s> {
    src: &'s str,
    pos: usize,
}

impl<'s> Scan<'s> {
    fn blanks(&mut self) {
        let rest = &self.src[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, s: &str) -> bool {
        self.blanks();
        let ok = self.src[self.pos..].starts_with(s);
        if ok {
            self.pos += s.len();
        }
        ok
    }

    fn ident(&mut self) -> Option<&'s str> {
        self.blanks();
        let (w, _) = split_word(&self.src[self.pos..]);
        let ok = w.chars().next().is_some_and(|c| !c.is_ascii_digit());
        ok.then(|| {
            self.pos += w.len();
            w
        })
    }

    fn string(&mut self) -> Option<&'s str> {
        if !self.eat("\"") {
            return None;
        }
        let rest = &self.src[self.pos..];
        let end = rest.find(['"', '\n'])?;
        if !rest[end..].starts_with('"') {
            return None;
        }
        self.pos += end + 1;
        Some(&rest[..end])
    }
}

impl Lexer<'_> {
    /// A declaration at the current position; false when there is none (then it is an attach
    /// point). A malformed one is an error at its span, skipped to its `;`.
    pub(super) fn plugin_declaration(&mut self) -> bool {
        let (word, after) = split_word(&self.src[self.pos..]);
        let next = after.trim_start();
        let is_decl = match word {
            "plugin" => next.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'),
            "format" => next.starts_with('@'),
            _ => false,
        };
        if !is_decl || after.len() == next.len() {
            return false;
        }
        let start = self.pos;
        let mut s = Scan {
            src: self.src,
            pos: start + word.len(),
        };
        let parsed = if word == "plugin" {
            plugin(&mut s).map(|(name, path)| {
                self.preamble.plugins.push(PluginDecl {
                    name: name.into(),
                    path: path.into(),
                    span: Span::new(start, s.pos),
                })
            })
        } else {
            format(&mut s).map(|(map, plugin, formatter)| {
                self.preamble.formats.push(FormatDecl {
                    map: map.into(),
                    plugin: plugin.into(),
                    formatter: formatter.into(),
                    span: Span::new(start, s.pos),
                })
            })
        };
        match parsed {
            Some(()) => self.pos = s.pos,
            None => {
                let end = self.src[start..]
                    .find(';')
                    .map_or(self.src.len(), |i| start + i + 1);
                let wanted = if word == "plugin" {
                    "expected 'plugin NAME = \"PATH\";'"
                } else {
                    "expected 'format @MAP = PLUGIN::FORMATTER;'"
                };
                self.error(Span::new(start, end), wanted);
                self.pos = end;
            }
        }
        true
    }
}

impl Lexer<'_> {
    /// After the word `plugin` at `start`: `::ITEM` makes one identifier `plugin::ITEM` (a
    /// plugin function or reducer); returns whether it did.
    pub(super) fn plugin_item(&mut self, plugin: &str) -> bool {
        let start = self.pos - plugin.len();
        let Some(rest) = self.src[self.pos..].strip_prefix("::") else {
            return false;
        };
        let (item, _) = split_word(rest);
        if item.is_empty() || item.starts_with(|c: char| c.is_ascii_digit()) {
            return false;
        }
        self.pos += 2 + item.len();
        self.push(crate::token::Tok::Ident(format!("{plugin}::{item}")), start);
        true
    }
}

fn plugin<'s>(s: &mut Scan<'s>) -> Option<(&'s str, &'s str)> {
    let name = s.ident()?;
    if !s.eat("=") {
        return None;
    }
    let path = s.string()?;
    s.eat(";").then_some((name, path))
}

fn format<'s>(s: &mut Scan<'s>) -> Option<(&'s str, &'s str, &'s str)> {
    if !s.eat("@") {
        return None;
    }
    let (map, _) = split_word(&s.src[s.pos..]);
    s.pos += map.len();
    if !s.eat("=") {
        return None;
    }
    let plugin = s.ident()?;
    if !s.src[s.pos..].starts_with("::") {
        return None;
    }
    s.pos += 2;
    let formatter = s.ident()?;
    s.eat(";").then_some((map, plugin, formatter))
}

#[cfg(test)]
mod tests {
    use crate::lexer::lex;

    #[test]
    fn plugin_items_are_one_identifier() {
        let l = lex("BEGIN { printf(\"%s\", q::hex(1)); }");
        assert!(l
            .tokens
            .iter()
            .any(|(t, _)| *t == crate::token::Tok::Ident("q::hex".into())));
    }

    #[test]
    fn declarations() {
        let l = lex("plugin q = \"./q.wasm\";\nformat @lat = q::heat;\nBEGIN { }");
        assert!(l.diagnostics.is_empty());
        let p = &l.preamble.plugins[0];
        assert_eq!((p.name.as_str(), p.path.as_str()), ("q", "./q.wasm"));
        let f = &l.preamble.formats[0];
        assert_eq!(
            (f.map.as_str(), f.plugin.as_str(), f.formatter.as_str()),
            ("lat", "q", "heat")
        );
        let l = lex("plugin q = ./q.wasm;\nformat @m = heat;\nBEGIN { }");
        let msgs: Vec<_> = l.diagnostics.iter().map(|d| d.message.clone()).collect();
        assert_eq!(
            msgs,
            [
                "expected 'plugin NAME = \"PATH\";'",
                "expected 'format @MAP = PLUGIN::FORMATTER;'"
            ]
        );
    }
}
