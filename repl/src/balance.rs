//! When an entry is complete: scry's own lexer decides, so braces inside strings and comments
//! do not count, and a probe header waits for its block.

use scry_lang::lexer;
use scry_lang::token::Tok;

/// Whether `text` is a whole entry: every `{`, `(` and `[` closed, no comment or C definition
/// left open, and no probe header (`tracepoint:a:b`, `BEGIN`, `kprobe:f /pid == 1/`, a trailing
/// `,`) still waiting for its block. Dot-commands are one line.
pub fn is_complete(text: &str) -> bool {
    if text.trim_start().starts_with('.') {
        return true;
    }
    let lexed = lexer::lex(text);
    if lexed.aborted {
        return true;
    }
    let open_to_eof = lexed.diagnostics.iter().any(|d| {
        d.message == "unterminated comment"
            || (d.message.starts_with("unterminated ") && d.message.contains(" definition"))
    });
    if open_to_eof {
        return false;
    }
    let mut depth = 0i64;
    let mut header = false;
    for (tok, _) in &lexed.tokens {
        match tok {
            Tok::LBrace | Tok::LParen | Tok::LBracket => {
                if depth == 0 && *tok == Tok::LBrace {
                    header = false;
                }
                depth += 1;
            }
            Tok::RBrace | Tok::RParen | Tok::RBracket => depth -= 1,
            Tok::AttachPoint(name) if depth == 0 => header = is_probe_name(name),
            Tok::PredStart | Tok::Comma if depth == 0 => header = header || *tok == Tok::PredStart,
            _ => {}
        }
    }
    depth <= 0 && !header
}

/// Whether an attach-point token names a probe (rather than `@map` or a function called
/// outside a block).
pub fn is_probe_name(name: &str) -> bool {
    name.contains(':') || name == "BEGIN" || name == "END"
}

#[cfg(test)]
mod tests {
    use super::is_complete;

    #[test]
    fn blocks_wait_for_their_closing_brace() {
        assert!(is_complete("BEGIN { printf(\"hi\\n\"); }"));
        assert!(!is_complete("BEGIN {"));
        assert!(!is_complete("BEGIN {\n  if (1) {\n    @x = 1;\n  }"));
        assert!(is_complete("BEGIN {\n  if (1) {\n    @x = 1;\n  }\n}"));
        assert!(!is_complete("BEGIN { @x = (1 +"));
    }

    #[test]
    fn braces_in_strings_and_comments_do_not_count() {
        assert!(is_complete("BEGIN { printf(\"{{{\\n\"); }"));
        assert!(is_complete("BEGIN { @x = 1; } // {"));
        assert!(is_complete("BEGIN { /* { */ @x = 1; }"));
        assert!(!is_complete("BEGIN { @x = 1; } /* still"));
    }

    #[test]
    fn headers_wait_for_their_block() {
        assert!(!is_complete("tracepoint:syscalls:sys_enter_openat"));
        assert!(!is_complete("BEGIN"));
        assert!(!is_complete("tracepoint:syscalls:sys_enter_openat,"));
        assert!(!is_complete(
            "tracepoint:syscalls:sys_enter_openat /pid == 1/"
        ));
        assert!(!is_complete("interval:s:1\n/pid == 1/"));
        assert!(is_complete("interval:s:1\n/pid == 1/\n{ exit(); }"));
    }

    #[test]
    fn statements_maps_and_commands_are_one_line() {
        assert!(is_complete("@x"));
        assert!(is_complete("@"));
        assert!(is_complete("print(@x)"));
        assert!(is_complete("@limit = 10;"));
        assert!(is_complete(".detach 3"));
        assert!(is_complete(".help {"));
        assert!(is_complete(""));
        assert!(is_complete("}"));
        assert!(!is_complete("struct X { int a;"));
    }
}
