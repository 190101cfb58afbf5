//! Columns as bpftrace 0.17's lexer counts them, for the places of run-time warnings.
//!
//! Its lexer moves a token's start only at white space (`loc.step()`): a token begins where
//! the run of characters without white space it sits in begins (`@m[$p->a]` locates `$p->a`
//! at the `@`). White space inside a string, a comment or a struct type name does not count.
//! And a struct type name in a cast or `sizeof` (`(struct foo *)`) ends at its `*` or `)`,
//! which the lexer counts, puts back and counts again: every column after it on the line is
//! one more than the character's.

/// The columns (from 1) of a token starting at byte `start` of `line` and one past a token
/// ending at byte `end` (exclusive), as bpftrace 0.17 reports them.
pub(super) fn of(line: &str, start: usize, end: usize) -> (usize, usize) {
    let scan = Scan::of(line);
    let run = scan.runs.iter().rev().find(|&&r| r <= start).copied();
    let begin = run.unwrap_or(0);
    (
        begin + 1 + scan.recounted_before(begin),
        end + 1 + scan.recounted_before(end),
    )
}

/// Where runs of non-white-space characters begin, and where a struct type name's end was
/// counted twice.
struct Scan {
    runs: Vec<usize>,
    recounted: Vec<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    Str,
    Comment,
    /// After `struct`/`union`/`enum`, up to the end of the type name.
    TypeName,
    /// Inside a struct definition's braces, at this depth.
    Definition(usize),
}

impl Scan {
    fn of(line: &str) -> Scan {
        let bytes = line.as_bytes();
        let mut scan = Scan {
            runs: vec![0],
            recounted: Vec::new(),
        };
        let mut state = State::Code;
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let next = bytes.get(i + 1).copied();
            match state {
                State::Code => match c {
                    b' ' | b'\t' | b'\r' => scan.runs.push(i + 1),
                    b'"' => state = State::Str,
                    b'/' if next == Some(b'/') => break,
                    b'/' if next == Some(b'*') => {
                        state = State::Comment;
                        i += 1;
                    }
                    _ if starts_type_name(bytes, i) => {
                        state = State::TypeName;
                        i += 5;
                    }
                    _ => {}
                },
                State::Str => match c {
                    b'\\' => i += 1,
                    b'"' => state = State::Code,
                    _ => {}
                },
                State::Comment => {
                    if c == b'*' && next == Some(b'/') {
                        state = State::Code;
                        i += 1;
                    }
                }
                State::TypeName => match c {
                    b'*' | b')' => {
                        scan.recounted.push(i);
                        state = State::Code;
                        continue;
                    }
                    b'{' => state = State::Definition(1),
                    _ => {}
                },
                State::Definition(depth) => match c {
                    b'{' => state = State::Definition(depth + 1),
                    b'}' if depth == 1 => state = State::Code,
                    b'}' => state = State::Definition(depth - 1),
                    _ => {}
                },
            }
            i += 1;
        }
        scan
    }

    /// How many columns before byte `at` were counted twice.
    fn recounted_before(&self, at: usize) -> usize {
        self.recounted.iter().filter(|&&r| r < at).count()
    }
}

/// Whether the keyword `struct`, `union` or `enum` starts at byte `i` (a whole word).
fn starts_type_name(bytes: &[u8], i: usize) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    // `$struct` and `@enum` are a variable and a map.
    if i > 0 && (word(bytes[i - 1]) || matches!(bytes[i - 1], b'$' | b'@')) {
        return false;
    }
    ["struct", "union", "enum"].iter().any(|k| {
        bytes[i..].starts_with(k.as_bytes()) && !bytes.get(i + k.len()).is_some_and(|&b| word(b))
    })
}

#[cfg(test)]
mod tests {
    use super::of;

    /// The columns of the text `token` at its `n`-th occurrence in `line`.
    fn cols(line: &str, token: &str, n: usize) -> (usize, usize) {
        let start = line.match_indices(token).nth(n).expect("token in line").0;
        of(line, start, start + token.len())
    }

    #[test]
    fn a_token_begins_where_its_run_of_non_space_begins() {
        assert_eq!(cols("  @m[$p->a] = 1;", "$p->a", 0), (3, 11));
        assert_eq!(cols("  if ($p->b) { }", "$p->b", 0), (6, 12));
        assert_eq!(cols("  $x = $p->b;", "$p->b", 0), (8, 13));
        // White space in a string or a comment does not start a run.
        assert_eq!(cols(r#"printf("a %d",$p->a)"#, "$p->a", 0), (1, 20));
        assert_eq!(cols("x /* a b */$p->a", "$p->a", 0), (3, 17));
    }

    #[test]
    fn a_struct_type_name_in_a_cast_counts_its_end_twice() {
        let line = "  $z = ((struct foo *) 8)->a; $w = $p->a;";
        assert_eq!(cols(line, "((struct foo *) 8)->a", 0), (8, 30));
        assert_eq!(cols(line, "$p->a", 0), (37, 42));
        assert_eq!(
            cols("(struct foo*)0 + sizeof(union u) + $p->a", "$p->a", 0),
            (38, 43)
        );
        // Not a keyword: part of a longer name.
        assert_eq!(cols("$structure->a", "$structure->a", 0), (1, 14));
        assert_eq!(cols("($struct) + $p->a", "$p->a", 0), (13, 18));
    }

    #[test]
    fn a_struct_definition_is_no_cast() {
        assert_eq!(cols("struct foo { int *a; } $p->a", "$p->a", 0), (24, 29));
    }
}
