//! Minimising a program on which scry and bpftrace disagree: delta debugging over its
//! statement lines (the first line, `BEGIN {`, and the last two, `exit(); }`, stay: without
//! `exit()` bpftrace 0.17 runs until killed, a disagreement of its own), then replacing
//! parenthesised subexpressions by `0`, `1` or their inside, outermost first, while the
//! disagreement stays.

use crate::minimise::{ddmin, Budget};

/// The smallest program found for which `still` holds.
pub fn shrink(program: &str, budget: Budget, still: &mut dyn FnMut(&str) -> bool) -> String {
    let mut used = 0;
    let lines: Vec<&str> = program.split_inclusive('\n').collect();
    let (head, tail) = (1.min(lines.len()), lines.len().saturating_sub(2).max(1));
    let frame = |body: &str| format!("{}{body}{}", lines[..head].concat(), lines[tail..].concat());
    let body = lines[head..tail].iter().map(|l| l.to_string()).collect();
    let body = ddmin(body, budget, &mut used, &mut |b: &str| still(&frame(b))).concat();
    let mut cur = frame(&body);
    'again: loop {
        for (open, close) in groups(&cur) {
            let inner = cur[open + 1..close].to_string();
            for replacement in ["0", "1", inner.as_str()] {
                if budget.spent(used) {
                    return cur;
                }
                used += 1;
                let candidate = format!("{}{replacement}{}", &cur[..open], &cur[close + 1..]);
                if still(&candidate) {
                    cur = candidate;
                    continue 'again;
                }
            }
        }
        return cur;
    }
}

/// The byte ranges `(open, close)` of parenthesised subexpressions, outermost first: not the
/// parentheses of a call (after a name) nor of a cast (around a type name).
fn groups(s: &str) -> Vec<(usize, usize)> {
    let bytes = s.as_bytes();
    let mut stack = Vec::new();
    let mut found = Vec::new();
    let mut in_string = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' if i == 0 || bytes[i - 1] != b'\\' => in_string = !in_string,
            _ if in_string => {}
            b'(' => stack.push(i),
            b')' => {
                let Some(open) = stack.pop() else { continue };
                let call = open > 0
                    && (bytes[open - 1].is_ascii_alphanumeric() || bytes[open - 1] == b'_');
                let inner = &s[open + 1..i];
                let cast = inner.starts_with("int") || inner.starts_with("uint");
                if !call && !cast {
                    found.push((stack.len(), open, i));
                }
            }
            _ => {}
        }
    }
    found.sort();
    found
        .into_iter()
        .map(|(_, open, close)| (open, close))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_skip_calls_and_casts_and_come_outermost_first() {
        let s = "printf(\"(%d)\", ((uint8)(1 + 2) * (3)));";
        let found: Vec<&str> = groups(s).iter().map(|&(o, c)| &s[o..=c]).collect();
        assert_eq!(found, ["((uint8)(1 + 2) * (3))", "(1 + 2)", "(3)"]);
    }

    #[test]
    fn shrinking_keeps_what_the_predicate_needs() {
        let budget = Budget {
            tests: 1000,
            deadline: std::time::Instant::now() + std::time::Duration::from_secs(10),
        };
        let program = "BEGIN {\na;\nprint((5 + (7 * 2)));\nb;\nexit();\n}\n";
        let out = shrink(program, budget, &mut |c| {
            c.contains('7') && c.contains("print")
        });
        assert_eq!(out, "BEGIN {\nprint(5 + 7 * 2);\nexit();\n}\n");
    }
}
