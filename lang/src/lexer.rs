//! The lexer: source text to tokens, plus the preamble (`#include`, `#define`, C definitions).
//!
//! Lexing is context sensitive, as in bpftrace: between probe blocks an attach point is one
//! token (it may hold `/`, `*`, `:` and quoted fields), a `/` there opens a predicate, and a
//! `/` followed by `{` closes it. Inside blocks the tokens are C-like.

use std::collections::HashMap;

use crate::ast::{CDefKind, CDefinition, Define, Include, Preamble};
use crate::diag::Diagnostic;
use crate::span::Span;
use crate::token::{macro_name, BinOp, Tok};

/// Deepest nesting of `(`/`[`/`{` accepted; deeper input is refused, not recursed into.
pub const MAX_NESTING: usize = 200;
/// Most `(`/`[` a block may leave unclosed before lexing gives up on it.
pub const MAX_UNCLOSED: usize = 8;
/// Deepest chain of `#define`s one use may expand through.
const MAX_DEFINE_DEPTH: usize = 16;
/// Most tokens one use of a `#define` may expand to (nested definitions can double it at
/// every level).
const MAX_DEFINE_TOKENS: usize = 1 << 16;

/// What the lexer produced: tokens, the preamble and any errors.
pub struct Lexed {
    pub tokens: Vec<(Tok, Span)>,
    pub preamble: Preamble,
    pub diagnostics: Vec<Diagnostic>,
    /// Set when lexing stopped early (nesting too deep): the tokens are incomplete.
    pub aborted: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Between probe blocks: attach points, `,`, predicate start, `{`.
    Top,
    /// Inside a predicate.
    Predicate,
    /// Inside a block, at this `{` depth.
    Block(usize),
}

mod declaration;
mod header_macros;

pub use header_macros::{HeaderMacro, HeaderMacros};

/// No header macros.
static NO_HEADERS: HeaderMacros = HeaderMacros::new();

/// Lexes a whole program.
pub fn lex(src: &str) -> Lexed {
    lex_with(src, &NO_HEADERS)
}

/// Lexes a whole program, substituting the constants of the headers it includes (read by
/// `headers::read`) where the program's own `#define`s do not name them.
pub fn lex_with(src: &str, headers: &HeaderMacros) -> Lexed {
    let mut lx = Lexer::new(src, headers);
    lx.run();
    Lexed {
        tokens: lx.tokens,
        preamble: lx.preamble,
        diagnostics: lx.diags,
        aborted: lx.aborted,
    }
}

/// Why a macro's use cannot be expanded: the error at the use, and its hint.
struct Refusal {
    message: String,
    hint: Option<&'static str>,
}

impl Refusal {
    fn new(message: String) -> Self {
        Refusal {
            message,
            hint: None,
        }
    }
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    mode: Mode,
    nesting: usize,
    tokens: Vec<(Tok, Span)>,
    preamble: Preamble,
    defines: HashMap<String, String>,
    headers: &'a HeaderMacros,
    diags: Vec<Diagnostic>,
    aborted: bool,
    /// `(` and `[` not closed yet, with where they opened.
    open_brackets: Vec<(u8, Span)>,
    /// Brackets found never closed in the current block.
    unclosed: Vec<Span>,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str, headers: &'a HeaderMacros) -> Self {
        Lexer {
            src,
            b: src.as_bytes(),
            pos: 0,
            mode: Mode::Top,
            nesting: 0,
            tokens: Vec::new(),
            preamble: Preamble::default(),
            defines: HashMap::new(),
            headers,
            diags: Vec::new(),
            aborted: false,
            open_brackets: Vec::new(),
            unclosed: Vec::new(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.b.get(self.pos + n).copied()
    }

    fn error(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(span, msg));
    }

    fn push(&mut self, tok: Tok, start: usize) {
        self.tokens.push((tok, Span::new(start, self.pos)));
    }

    fn run(&mut self) {
        if self.src.starts_with("#!") {
            self.skip_line();
        }
        while !self.aborted {
            self.skip_trivia();
            let Some(c) = self.peek() else { break };
            if c == b'#' && self.at_line_start() {
                self.preprocessor_line();
                continue;
            }
            match self.mode {
                Mode::Top => self.top_token(),
                Mode::Predicate | Mode::Block(_) => self.code_token(),
            }
        }
        if !self.aborted {
            self.end_of_block();
        }
    }

    /// Whether only blanks precede the current position on its line.
    fn at_line_start(&self) -> bool {
        self.src[..self.pos]
            .bytes()
            .rev()
            .take_while(|&c| c != b'\n')
            .all(|c| c == b' ' || c == b'\t')
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.peek() {
            if c == b'\n' {
                break;
            }
            self.pos += 1;
        }
    }

    /// Skips whitespace and comments; reports an unterminated block comment.
    fn skip_trivia(&mut self) {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(c), _) if c.is_ascii_whitespace() => self.pos += 1,
                (Some(b'/'), Some(b'/')) => self.skip_line(),
                (Some(b'/'), Some(b'*')) => {
                    let start = self.pos;
                    match self.src[self.pos + 2..].find("*/") {
                        Some(off) => self.pos += 2 + off + 2,
                        None => {
                            self.pos = self.b.len();
                            self.diags.push(
                                Diagnostic::error(
                                    Span::new(start, start + 2),
                                    "unterminated comment",
                                )
                                .with_hint("close the comment with */"),
                            );
                        }
                    }
                }
                _ => return,
            }
        }
    }

    /// `#include`, `#define` and other preprocessor lines (with `\` continuations).
    fn preprocessor_line(&mut self) {
        let start = self.pos;
        loop {
            self.skip_line();
            if self.pos > start && self.b[self.pos - 1] == b'\\' && self.pos < self.b.len() {
                self.pos += 1;
                continue;
            }
            break;
        }
        let span = Span::new(start, self.pos);
        let line = self.src[start..self.pos].replace("\\\n", " ");
        let body = line[1..].trim_start();
        let (directive, rest) = split_word(body);
        match directive {
            "include" => self.preamble.includes.push(Include {
                path: rest.trim().to_string(),
                span,
            }),
            "define" => self.define(rest, span),
            _ => self.diags.push(
                Diagnostic::warning(
                    span,
                    format!("preprocessor directive '#{directive}' ignored"),
                )
                .with_hint("scry substitutes #define constants but runs no C preprocessor"),
            ),
        }
    }

    fn define(&mut self, rest: &str, span: Span) {
        let Some((name, rest)) = macro_name(rest.trim_start()) else {
            self.error(span, "#define needs a name");
            return;
        };
        if rest.starts_with('(') {
            self.diags.push(
                Diagnostic::error(
                    span,
                    format!("function-like macro '{name}' is not supported"),
                )
                .with_hint("only constant #define NAME VALUE macros are substituted"),
            );
            return;
        }
        let value = strip_line_comment(rest.trim()).to_string();
        self.defines.insert(name.to_string(), value.clone());
        self.preamble.defines.push(Define {
            name: name.to_string(),
            value,
            span,
        });
    }

    fn top_token(&mut self) {
        let start = self.pos;
        let c = self.peek().unwrap_or(0);
        match c {
            b',' => {
                self.pos += 1;
                self.push(Tok::Comma, start);
            }
            b'{' => {
                self.pos += 1;
                self.push(Tok::LBrace, start);
                self.mode = Mode::Block(1);
            }
            b'}' => {
                self.pos += 1;
                self.push(Tok::RBrace, start);
            }
            b'/' => {
                self.pos += 1;
                self.push(Tok::PredStart, start);
                self.mode = Mode::Predicate;
            }
            _ if self.c_definition() => {}
            _ if self.plugin_declaration() => {}
            _ => self.attach_point(),
        }
    }

    /// `struct X { ... };`, `union X { ... }`, `enum E { ... }` between probes.
    fn c_definition(&mut self) -> bool {
        let rest = &self.src[self.pos..];
        let (word, after) = split_word(rest);
        let kind = match word {
            "struct" => CDefKind::Struct,
            "union" => CDefKind::Union,
            "enum" => CDefKind::Enum,
            _ => return false,
        };
        let (name, after_name) = split_word(after.trim_start());
        let after_name = after_name.trim_start();
        if !after_name.starts_with('{') {
            return false;
        }
        let start = self.pos;
        let open = self.src.len() - after_name.len();
        let mut depth = 0usize;
        let mut end = None;
        for (i, c) in self.src[open..].bytes().enumerate() {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(open + i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = end else {
            self.pos = self.b.len();
            self.error(
                Span::new(start, open + 1),
                format!("unterminated {word} definition: no closing '}}'"),
            );
            return true;
        };
        self.pos = close + 1;
        let semi = self.src[self.pos..].trim_start();
        if semi.starts_with(';') {
            self.pos = self.src.len() - semi.len() + 1;
        }
        self.preamble.c_defs.push(CDefinition {
            kind,
            name: name.to_string(),
            body: self.src[open + 1..close].to_string(),
            span: Span::new(start, self.pos),
        });
        true
    }

    fn attach_point(&mut self) {
        let start = self.pos;
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    self.pos += 1;
                    // `\"` and `\\` inside the quotes are the characters themselves.
                    while let Some(q) = self.peek() {
                        self.pos += 1;
                        if q == b'\\' && self.peek().is_some() {
                            self.pos += 1;
                        } else if q == b'"' {
                            break;
                        }
                    }
                }
                b',' | b'{' | b'}' | b'(' | b')' | b';' | b'=' => break,
                c if c.is_ascii_whitespace() => break,
                _ => self.pos += 1,
            }
        }
        if self.pos == start {
            let ch = self.src[start..].chars().next().unwrap_or(' ');
            self.pos += ch.len_utf8();
            self.push(Tok::AttachPoint(ch.to_string()), start);
            return;
        }
        let text = self.src[start..self.pos].to_string();
        self.push(Tok::AttachPoint(text), start);
    }

    fn code_token(&mut self) {
        let start = self.pos;
        let c = self.peek().unwrap_or(0);
        if c.is_ascii_digit() {
            return self.number();
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            return self.word();
        }
        match c {
            b'"' => return self.string(),
            b'\'' => return self.char_literal(),
            b'@' => {
                self.pos += 1;
                let name = self.ident_chars();
                return self.push(Tok::Map(name), start);
            }
            b'$' => return self.dollar(),
            _ => {}
        }
        if c == b'/' && self.mode == Mode::Predicate && self.predicate_ends_here() {
            self.pos += 1;
            self.push(Tok::PredEnd, start);
            self.mode = Mode::Top;
            return;
        }
        let three = self.src.get(self.pos..self.pos + 3).unwrap_or("");
        let two = self.src.get(self.pos..self.pos + 2).unwrap_or("");
        let (tok, len) = if let Some(t) = match three {
            "<<=" => Some(Tok::OpAssign(BinOp::Shl)),
            ">>=" => Some(Tok::OpAssign(BinOp::Shr)),
            _ => None,
        } {
            (t, 3)
        } else if let Some(t) = two_char_token(two) {
            (t, 2)
        } else if let Some(t) = one_char_token(c) {
            (t, 1)
        } else {
            let ch = self.src[self.pos..].chars().next().unwrap_or('?');
            self.pos += ch.len_utf8();
            self.error(
                Span::new(start, self.pos),
                format!("invalid character '{}'", ch.escape_default()),
            );
            return;
        };
        self.pos += len;
        self.track_nesting(&tok, start);
        self.push(tok, start);
    }

    /// Keeps block depth and nesting; refuses nesting deeper than [`MAX_NESTING`].
    fn track_nesting(&mut self, tok: &Tok, start: usize) {
        match tok {
            Tok::LParen | Tok::LBracket | Tok::LBrace => {
                self.nesting += 1;
                if self.nesting > MAX_NESTING {
                    self.diags.push(
                        Diagnostic::error(
                            Span::new(start, self.pos),
                            format!("nesting too deep (more than {MAX_NESTING} levels)"),
                        )
                        .with_hint("split the expression into several statements using $variables"),
                    );
                    self.aborted = true;
                }
            }
            Tok::RParen | Tok::RBracket | Tok::RBrace => {
                self.nesting = self.nesting.saturating_sub(1);
            }
            _ => {}
        }
        self.track_brackets(tok, start);
        if let Mode::Block(d) = self.mode {
            match tok {
                Tok::LBrace => self.mode = Mode::Block(d + 1),
                Tok::RBrace if d == 1 => {
                    self.mode = Mode::Top;
                    self.nesting = 0;
                }
                Tok::RBrace => self.mode = Mode::Block(d - 1),
                _ => {}
            }
        }
    }

    /// Follows `(` and `[` pairs. A block (or the program) that ends with more than
    /// [`MAX_UNCLOSED`] of them never closed stops lexing: such input can only be a mess, and
    /// the parser's recovery would try every way of closing them.
    fn track_brackets(&mut self, tok: &Tok, start: usize) {
        let span = Span::new(start, self.pos);
        match tok {
            Tok::LParen => self.open_brackets.push((b'(', span)),
            Tok::LBracket => self.open_brackets.push((b'[', span)),
            Tok::RParen | Tok::RBracket => {
                let want = if *tok == Tok::RParen { b'(' } else { b'[' };
                if let Some(at) = self.open_brackets.iter().rposition(|(c, _)| *c == want) {
                    let never_closed = self.open_brackets.split_off(at + 1);
                    self.unclosed
                        .extend(never_closed.into_iter().map(|(_, s)| s));
                    self.open_brackets.pop();
                }
            }
            Tok::RBrace if self.mode == Mode::Block(1) => self.end_of_block(),
            _ => {}
        }
    }

    /// At the end of a block or of the program: judges the brackets left open.
    fn end_of_block(&mut self) {
        let left = std::mem::take(&mut self.open_brackets);
        self.unclosed.extend(left.into_iter().map(|(_, s)| s));
        if self.unclosed.len() > MAX_UNCLOSED {
            let first = self.unclosed[0];
            self.diags.push(
                Diagnostic::error(
                    first,
                    format!(
                        "{} brackets are never closed, the first here",
                        self.unclosed.len()
                    ),
                )
                .with_hint("close each ( with ) and each [ with ]"),
            );
            self.aborted = true;
        }
        self.unclosed.clear();
    }

    /// A `/` in a predicate ends it when a `{` follows (after blanks and comments).
    fn predicate_ends_here(&self) -> bool {
        let rest = self.src[self.pos + 1..].trim_start();
        rest.starts_with('{') || rest.is_empty()
    }

    fn ident_chars(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' {
                self.pos += 1;
            } else {
                break;
            }
        }
        self.src[start..self.pos].to_string()
    }

    fn word(&mut self) {
        let start = self.pos;
        let w = self.ident_chars();
        let tok = match w.as_str() {
            "if" => Tok::If,
            "else" => Tok::Else,
            "while" => Tok::While,
            "unroll" => Tok::Unroll,
            "break" => Tok::Break,
            "continue" => Tok::Continue,
            "return" => Tok::Return,
            "struct" => Tok::Struct,
            "union" => Tok::Union,
            "enum" => Tok::Enum,
            _ if self.plugin_item(&w) => return,
            _ => {
                if let Some(value) = self.macro_value(&w) {
                    let span = Span::new(start, self.pos);
                    let mut budget = MAX_DEFINE_TOKENS;
                    let mark = self.tokens.len();
                    let expanded = value.and_then(|value| {
                        self.expand_define(&w, &value, span, &mut vec![], &mut budget)
                    });
                    if let Err(refusal) = expanded {
                        // The use stands for one value, so the parser reports nothing more.
                        self.tokens.truncate(mark);
                        self.tokens.push((Tok::Int(0), span));
                        let d = Diagnostic::error(span, refusal.message);
                        self.diags.push(match refusal.hint {
                            Some(h) => d.with_hint(h),
                            None => d,
                        });
                    }
                    return;
                }
                Tok::Ident(w)
            }
        };
        self.push(tok, start);
    }

    /// The value `name` stands for when it names a macro: the program's own `#define`, else a
    /// header's (never after `.` or `->`, where it is a field); `Err` says why a header's
    /// macro cannot be used.
    fn macro_value(&self, name: &str) -> Option<Result<String, Refusal>> {
        if let Some(v) = self.defines.get(name) {
            return Some(Ok(v.clone()));
        }
        if matches!(self.tokens.last(), Some((Tok::Dot | Tok::Arrow, _))) {
            return None;
        }
        Some(match self.headers.get(name)? {
            HeaderMacro::Constant { body, .. } => Ok(body.clone()),
            HeaderMacro::Refused { why, hint } => Err(Refusal {
                message: why.clone(),
                hint: Some(hint),
            }),
        })
    }

    /// Substitutes a `#define` constant: its value's tokens, all at the use's span. `outer`
    /// are the definitions being expanded around this one; `budget` the tokens still allowed.
    fn expand_define(
        &mut self,
        name: &str,
        value: &str,
        span: Span,
        outer: &mut Vec<String>,
        budget: &mut usize,
    ) -> Result<(), Refusal> {
        if outer.iter().any(|o| o == name) {
            return Err(Refusal::new(format!(
                "#define '{name}' expands into itself"
            )));
        }
        if outer.len() >= MAX_DEFINE_DEPTH {
            return Err(Refusal::new(format!(
                "#define '{}' nests more than {MAX_DEFINE_DEPTH} #defines deep",
                outer[0]
            )));
        }
        let mut sub = Lexer::new(value, &NO_HEADERS);
        sub.mode = Mode::Block(usize::MAX / 2);
        sub.defines = HashMap::new();
        sub.run();
        for d in sub.diags {
            self.error(span, format!("in #define {name}: {}", d.message));
        }
        outer.push(name.to_string());
        for (tok, _) in sub.tokens {
            let inner = match &tok {
                Tok::Ident(w) => self.macro_value(w).map(|v| (w.clone(), v)),
                _ => None,
            };
            if let Some((w, v)) = inner {
                self.expand_define(&w, &v?, span, outer, budget)?;
                continue;
            }
            if *budget == 0 {
                return Err(Refusal::new(format!(
                    "#define '{}' expands to more than {MAX_DEFINE_TOKENS} tokens",
                    outer[0]
                )));
            }
            *budget -= 1;
            self.tokens.push((tok, span));
        }
        outer.pop();
        Ok(())
    }

    fn dollar(&mut self) {
        let start = self.pos;
        self.pos += 1;
        match self.peek() {
            Some(b'#') => {
                self.pos += 1;
                self.push(Tok::ParamCount, start);
            }
            Some(c) if c.is_ascii_digit() => {
                let digits = self.ident_chars();
                match digits.parse::<u32>() {
                    Ok(n) if n > 0 && digits.bytes().all(|c| c.is_ascii_digit()) => {
                        self.push(Tok::Param(n), start)
                    }
                    _ => self.error(
                        Span::new(start, self.pos),
                        format!("invalid positional parameter '${digits}'"),
                    ),
                }
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let name = self.ident_chars();
                self.push(Tok::Var(name), start);
            }
            _ => self.diags.push(
                Diagnostic::error(Span::new(start, self.pos), "'$' must be followed by a name")
                    .with_hint("variables are written $name, positional parameters $1, $2, ..."),
            ),
        }
    }

    fn number(&mut self) {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' {
                self.pos += 1;
            } else {
                break;
            }
        }
        let text = &self.src[start..self.pos];
        let span = Span::new(start, self.pos);
        match parse_int(text) {
            Ok(n) => self.push(Tok::Int(n), start),
            Err(msg) => {
                self.error(span, msg);
                self.push(Tok::Int(0), start);
            }
        }
    }

    fn string(&mut self) {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return self.unterminated_string(start);
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\n' => return self.unterminated_string(start),
                b'\\' => self.escape(&mut out),
                _ => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
        self.push(Tok::Str(out), start);
    }

    /// `'a'`: not part of the language; one error, and lexed as a string to go on.
    fn char_literal(&mut self) {
        let start = self.pos;
        let line_end = self.src[start..]
            .find('\n')
            .map_or(self.src.len(), |i| start + i);
        let end = self.src[start + 1..line_end]
            .find('\'')
            .map_or(start + 1, |i| start + 1 + i + 1);
        self.pos = end;
        let inner = self.src[start + 1..end.saturating_sub(1).max(start + 1)].to_string();
        self.diags.push(
            Diagnostic::error(Span::new(start, end), "invalid character '''").with_hint(format!(
                "scry has no character literals; strings use double quotes: \"{inner}\""
            )),
        );
        self.push(Tok::Str(inner.into_bytes()), start);
    }

    fn unterminated_string(&mut self, start: usize) {
        let end = self.pos;
        self.diags.push(
            Diagnostic::error(Span::new(start, end.max(start + 1)), "unterminated string")
                .with_hint("strings end with \" on the same line; write \\n for a newline"),
        );
        self.push(Tok::Str(Vec::new()), start);
    }

    fn escape(&mut self, out: &mut Vec<u8>) {
        let start = self.pos;
        self.pos += 1;
        let Some(c) = self.peek() else { return };
        self.pos += 1;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'"' => out.push(b'"'),
            b'\\' => out.push(b'\\'),
            b'0'..=b'7' => {
                let mut v: u32 = (c - b'0') as u32;
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + (d - b'0') as u32;
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                if v > 255 {
                    self.error(
                        Span::new(start, self.pos),
                        format!(
                            "octal escape sequence out of range '{}'",
                            &self.src[start..self.pos]
                        ),
                    );
                }
                out.push(v as u8);
            }
            b'x' => {
                let mut v: u32 = 0;
                let mut n = 0;
                while n < 2 {
                    match self.peek().and_then(|d| (d as char).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            self.pos += 1;
                            n += 1;
                        }
                        None => break,
                    }
                }
                if n == 0 {
                    self.error(
                        Span::new(start, self.pos),
                        "invalid escape '\\x': no hex digits follow",
                    );
                }
                out.push(v as u8);
            }
            b'\n' => {
                self.pos -= 1;
                self.error(
                    Span::new(start, self.pos),
                    "invalid escape character '\\' at end of line",
                );
            }
            _ => {
                let ch = self.src[start + 1..].chars().next().unwrap_or('?');
                self.pos = start + 1 + ch.len_utf8();
                self.diags.push(
                    Diagnostic::error(
                        Span::new(start, self.pos),
                        format!("invalid escape character '\\{ch}'"),
                    )
                    .with_hint("valid escapes: \\n \\t \\r \\\" \\\\ \\NNN (octal) \\xHH (hex)"),
                );
            }
        }
    }
}

fn split_word(s: &str) -> (&str, &str) {
    let n = s
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    (&s[..n], &s[n..])
}

/// Where the identifier that ends `s` starts (`s.len()` if none does): `char *name` gives 6.
pub fn trailing_word_start(s: &str) -> usize {
    s.len()
        - s.bytes()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
            .count()
}

fn strip_line_comment(s: &str) -> &str {
    match s.find("//") {
        Some(i) if !s[..i].contains('"') => s[..i].trim_end(),
        _ => s,
    }
}

fn two_char_token(s: &str) -> Option<Tok> {
    use BinOp::*;
    Some(match s {
        "->" => Tok::Arrow,
        "++" => Tok::Inc,
        "--" => Tok::Dec,
        "<<" => Tok::Op(Shl),
        ">>" => Tok::Op(Shr),
        "<=" => Tok::Op(Le),
        ">=" => Tok::Op(Ge),
        "==" => Tok::Op(Eq),
        "!=" => Tok::Op(Ne),
        "&&" => Tok::Op(And),
        "||" => Tok::Op(Or),
        "+=" => Tok::OpAssign(Add),
        "-=" => Tok::OpAssign(Sub),
        "*=" => Tok::OpAssign(Mul),
        "/=" => Tok::OpAssign(Div),
        "%=" => Tok::OpAssign(Mod),
        "&=" => Tok::OpAssign(BitAnd),
        "|=" => Tok::OpAssign(BitOr),
        "^=" => Tok::OpAssign(BitXor),
        _ => return None,
    })
}

fn one_char_token(c: u8) -> Option<Tok> {
    use BinOp::*;
    Some(match c {
        b'(' => Tok::LParen,
        b')' => Tok::RParen,
        b'{' => Tok::LBrace,
        b'}' => Tok::RBrace,
        b'[' => Tok::LBracket,
        b']' => Tok::RBracket,
        b',' => Tok::Comma,
        b';' => Tok::Semi,
        b':' => Tok::Colon,
        b'?' => Tok::Question,
        b'.' => Tok::Dot,
        b'+' => Tok::Op(Add),
        b'-' => Tok::Op(Sub),
        b'*' => Tok::Op(Mul),
        b'/' => Tok::Op(Div),
        b'%' => Tok::Op(Mod),
        b'&' => Tok::Op(BitAnd),
        b'|' => Tok::Op(BitOr),
        b'^' => Tok::Op(BitXor),
        b'<' => Tok::Op(Lt),
        b'>' => Tok::Op(Gt),
        b'~' => Tok::Tilde,
        b'!' => Tok::Bang,
        b'=' => Tok::Assign,
        _ => return None,
    })
}

/// Parses an integer literal: decimal with `_`, `0x` hex, leading-`0` octal, `NeM`
/// exponents, and C suffixes (`u`, `l`, `ul`, `ll`, `ull`), which are ignored.
pub fn parse_int(text: &str) -> Result<u64, String> {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let body = lower.trim_end_matches(['u', 'l']);
    let suffix = &lower[body.len()..];
    if !matches!(suffix, "" | "u" | "l" | "ul" | "lu" | "ll" | "ull" | "llu") {
        return Err(format!("invalid integer literal '{text}'"));
    }
    let too_big = || format!("integer literal '{text}' does not fit in 64 bits");
    let bad = || format!("invalid integer literal '{text}'");
    if let Some(hex) = body.strip_prefix("0x") {
        if hex.is_empty() {
            return Err(bad());
        }
        return u64::from_str_radix(hex, 16).map_err(|e| classify(e, too_big(), bad()));
    }
    if let Some((mant, exp)) = body.split_once('e') {
        let m: u64 = mant.parse().map_err(|_| bad())?;
        let e: u32 = exp.parse().map_err(|_| bad())?;
        return 10u64
            .checked_pow(e)
            .and_then(|p| m.checked_mul(p))
            .ok_or_else(too_big);
    }
    if body.len() > 1 && body.starts_with('0') {
        return u64::from_str_radix(&body[1..], 8).map_err(|e| classify(e, too_big(), bad()));
    }
    body.parse::<u64>()
        .map_err(|e| classify(e, too_big(), bad()))
}

fn classify(e: std::num::ParseIntError, too_big: String, bad: String) -> String {
    match e.kind() {
        std::num::IntErrorKind::PosOverflow => too_big,
        _ => bad,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::MemoryCatalog;
    use crate::headers::read;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).tokens.into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn integer_forms() {
        assert_eq!(parse_int("1_000"), Ok(1000));
        assert_eq!(parse_int("0x1F"), Ok(31));
        assert_eq!(parse_int("0X1f"), Ok(31));
        assert_eq!(parse_int("010"), Ok(8));
        assert_eq!(parse_int("0"), Ok(0));
        assert_eq!(parse_int("1e3"), Ok(1000));
        assert_eq!(parse_int("5ull"), Ok(5));
        assert_eq!(parse_int("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_int("18446744073709551616")
            .unwrap_err()
            .contains("64 bits"));
        assert!(parse_int("0x").is_err());
        assert!(parse_int("12abc").is_err());
        assert!(parse_int("09").is_err());
        assert!(parse_int("1e30").is_err());
    }

    #[test]
    fn attach_points_and_predicates() {
        let t = toks("uprobe:/bin/bash:\"a b\", k:f /pid == 1/ { @x[1] = 2 / 3; }");
        assert_eq!(t[0], Tok::AttachPoint("uprobe:/bin/bash:\"a b\"".into()));
        assert_eq!(t[1], Tok::Comma);
        assert_eq!(t[2], Tok::AttachPoint("k:f".into()));
        assert_eq!(t[3], Tok::PredStart);
        assert_eq!(t[7], Tok::PredEnd);
        assert!(t.contains(&Tok::Op(BinOp::Div)));
        assert_eq!(t.last(), Some(&Tok::RBrace));
    }

    #[test]
    fn strings_and_escapes() {
        let t = toks(r#"BEGIN { "a\n\x41\101\"" }"#);
        assert_eq!(t[2], Tok::Str(b"a\nAA\"".to_vec()));
        let l = lex(r#"BEGIN { "a\e" }"#);
        assert_eq!(l.diagnostics[0].message, "invalid escape character '\\e'");
        let l = lex("BEGIN { \"abc\n }");
        assert_eq!(l.diagnostics[0].message, "unterminated string");
    }

    #[test]
    fn preamble() {
        let l = lex("#!/usr/bin/scry\n#include <linux/sched.h>\n#define N 5\nstruct S { int a; };\nBEGIN { @ = N; }");
        assert_eq!(l.preamble.includes.len(), 1);
        assert_eq!(l.preamble.defines[0].name, "N");
        assert_eq!(l.preamble.c_defs[0].name, "S");
        assert!(l.tokens.iter().any(|(t, _)| *t == Tok::Int(5)));
    }

    #[test]
    fn many_unclosed_brackets_stop_lexing() {
        let few = lex("BEGIN { @a[(1; }");
        assert!(!few.aborted);
        let many = lex(&format!("BEGIN {{ {} }}", "@a[(".repeat(5)));
        assert!(many.aborted);
        assert_eq!(
            many.diagnostics[0].message,
            "10 brackets are never closed, the first here"
        );
        let closed = lex(&format!(
            "BEGIN {{ $x = {}1{}; }}",
            "f(".repeat(20),
            ")".repeat(20)
        ));
        assert!(!closed.aborted);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let src = format!("BEGIN {{ {}1{} }}", "(".repeat(1000), ")".repeat(1000));
        let l = lex(&src);
        assert!(l.aborted);
        assert!(l.diagnostics[0].message.contains("nesting too deep"));
    }

    /// The tokens `program` lexes to after reading its headers from `catalog`.
    fn header_tokens(catalog: &MemoryCatalog, program: &str, files: &[&str]) -> Vec<Tok> {
        let lexed = lex(program);
        let files: Vec<String> = files.iter().map(|f| f.to_string()).collect();
        let (macros, diags) = read(
            &lexed.preamble.includes,
            &files,
            &["/inc".to_string()],
            catalog,
        );
        assert!(diags.is_empty(), "{diags:?}");
        let lexed = lex_with(program, &macros);
        assert!(lexed.diagnostics.is_empty(), "{:?}", lexed.diagnostics);
        lexed.tokens.into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn nested_headers_give_their_constants() {
        let mut c = MemoryCatalog::new();
        c.add_header_text(
            "/inc/top.h",
            "#include \"sub/one.h\"\n#include <two.h>\n#define TOP (ONE + TWO)\n",
        )
        .add_header_text("/inc/sub/one.h", "#define ONE 1\n#include \"../top.h\"\n")
        .add_header_text("/inc/two.h", "#define TWO 0x10UL\n#define NAME \"n\"\n");
        let toks = header_tokens(&c, "#include <top.h>\nBEGIN { @ = TOP; @s = NAME; }", &[]);
        let open = toks.iter().position(|t| *t == Tok::LParen).unwrap();
        assert_eq!(
            toks[open + 1..open + 4],
            [Tok::Int(1), Tok::Op(BinOp::Add), Tok::Int(16)]
        );
        assert!(toks.contains(&Tok::Str(b"n".to_vec())));
        // --include FILE reads the same way; the program's own #define wins.
        let toks = header_tokens(&c, "#define ONE 7\nBEGIN { @ = ONE; }", &["top.h"]);
        assert!(toks.contains(&Tok::Int(7)) && !toks.contains(&Tok::Int(1)));
    }
}
