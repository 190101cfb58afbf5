//! What an entry is: a dot-command, `@map` to print, statements to run once, or a program of
//! probe blocks; and how statements run: inside a BEGIN block that is removed once it ran.

use scry_lang::ast::{ExprKind, StmtKind};
use scry_lang::diag::Diagnostic;
use scry_lang::lexer;
use scry_lang::span::Span;
use scry_lang::token::Tok;

use crate::balance::is_probe_name;

/// The kinds of entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind<'a> {
    /// Nothing but blanks and comments.
    Blank,
    /// `.name args`: the text after the dot.
    Command(&'a str),
    /// `@name` alone (`Some("name")`), or `@` alone (`None`): print maps.
    Maps(Option<&'a str>),
    /// Statements outside a probe: run once, now.
    Statements,
    /// Probe blocks (and C definitions): attached until detached.
    Program,
}

/// Classifies an entry.
pub fn classify(text: &str) -> Kind<'_> {
    let trimmed = text.trim();
    if let Some(command) = trimmed.strip_prefix('.') {
        return Kind::Command(command);
    }
    let bare = trimmed.trim_end_matches(';').trim_end();
    if let Some(name) = bare.strip_prefix('@') {
        if name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
            return Kind::Maps((!name.is_empty()).then_some(name));
        }
    }
    let lexed = lexer::lex(text);
    let preamble = &lexed.preamble;
    if !preamble.includes.is_empty() || !preamble.defines.is_empty() || !preamble.c_defs.is_empty()
    {
        return Kind::Program;
    }
    match lexed.tokens.first() {
        None if lexed.diagnostics.is_empty() => Kind::Blank,
        Some((Tok::AttachPoint(name), _)) if is_probe_name(name) => Kind::Program,
        _ => Kind::Statements,
    }
}

/// What goes before statements to make them a BEGIN block.
const PREFIX: &str = "BEGIN {\n";

/// Statements as a program: one BEGIN block.
pub fn wrap(statements: &str) -> String {
    format!("{PREFIX}{statements}\n}}")
}

/// A diagnostic about [`wrap`]'s output, moved to the statements' own text (`len` bytes).
pub fn unwrap(mut d: Diagnostic, len: usize) -> Diagnostic {
    let at = |s: Span| {
        let shift = |o: usize| o.saturating_sub(PREFIX.len()).min(len);
        Span::new(shift(s.start), shift(s.end))
    };
    d.span = at(d.span);
    for (s, _) in &mut d.notes {
        *s = at(*s);
    }
    d
}

/// Calls that only print.
const OUTPUT_CALLS: &[&str] = &["print", "printf", "time", "cat", "system", "join", "debugf"];

/// Whether statements do more than print.
pub fn changes_maps(statements: &str) -> bool {
    let (program, _) = scry_lang::parse(&wrap(statements));
    program.probes.iter().flat_map(|p| &p.body.stmts).any(|s| match &s.kind {
        StmtKind::Expr(e) => !matches!(&e.kind, ExprKind::Call { name, .. } if OUTPUT_CALLS.contains(&name.as_str())),
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_that_only_print_change_no_map() {
        assert!(changes_maps("@limit = 10;"));
        assert!(changes_maps("clear(@n)"));
        assert!(!changes_maps("print(@n); printf(\"x\\n\");"));
    }

    #[test]
    fn kinds() {
        assert_eq!(classify("  "), Kind::Blank);
        assert_eq!(classify("// nothing"), Kind::Blank);
        assert_eq!(classify(".detach 2"), Kind::Command("detach 2"));
        assert_eq!(classify("@x"), Kind::Maps(Some("x")));
        assert_eq!(classify(" @count_1; "), Kind::Maps(Some("count_1")));
        assert_eq!(classify("@"), Kind::Maps(None));
        assert_eq!(classify("@x = 1;"), Kind::Statements);
        assert_eq!(classify("print(@x)"), Kind::Statements);
        assert_eq!(classify("delete(@x[1]); clear(@y);"), Kind::Statements);
        assert_eq!(classify("$a = 1; printf(\"%d\\n\", $a);"), Kind::Statements);
        assert_eq!(classify("BEGIN { @x = 1; }"), Kind::Program);
        assert_eq!(classify("END { print(@x); }"), Kind::Program);
        assert_eq!(
            classify("t:syscalls:sys_enter_getppid /pid == 1/ { @c = count(); }"),
            Kind::Program
        );
        assert_eq!(classify("struct X { int a; }\nBEGIN { }"), Kind::Program);
    }

    #[test]
    fn statement_diagnostics_point_into_the_entry() {
        let text = "@x = undefined_thing;";
        let wrapped = wrap(text);
        let at = wrapped.find("undefined_thing").unwrap();
        let d = Diagnostic::error(Span::new(at, at + 15), "unknown");
        assert_eq!(unwrap(d, text.len()).span, Span::new(5, 20));
        // A span on the closing brace stays inside the entry.
        let end = wrapped.len();
        let d = Diagnostic::error(Span::new(end - 1, end), "expected ;");
        assert_eq!(unwrap(d, text.len()).span, Span::new(21, 21));
    }
}
