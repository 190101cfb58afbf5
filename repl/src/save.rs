//! `.save FILE`: the live session as a script that `scry FILE` runs with the same result.
//!
//! The probe entries still attached, in the order they were entered, and the statement
//! entries that changed maps (assignments, `clear`, `delete`, ...) as BEGIN blocks where they
//! stood; statements that only printed, and entries detached, are left out.

use scry_lang::ast::{ExprKind, StmtKind};

use crate::engine::Entry;
use crate::entry;

/// Calls that only print.
const OUTPUT_CALLS: &[&str] = &["print", "printf", "time", "cat", "system", "join", "debugf"];

/// The script of `entries`, after `declarations` (the plugins and formatters loaded).
pub fn script(declarations: &[String], entries: &[Entry]) -> String {
    let mut out = String::from("#!/usr/bin/env scry\n// Saved from a scry session.\n");
    if !declarations.is_empty() {
        out.push('\n');
    }
    for d in declarations {
        out.push_str(d);
        out.push('\n');
    }
    for e in entries {
        let text = e.text.trim();
        match &e.probes {
            Some(p) if p.live => out.push_str(&format!("\n// #{}\n{text}\n", e.number)),
            Some(_) => {}
            None if changes_maps(text) => out.push_str(&format!(
                "\n// #{}\n{}\n",
                e.number,
                entry::wrap(&indent(text))
            )),
            None => {}
        }
    }
    out
}

/// Whether statements do more than print.
fn changes_maps(statements: &str) -> bool {
    let (program, _) = scry_lang::parse(&entry::wrap(statements));
    program.probes.iter().flat_map(|p| &p.body.stmts).any(|s| match &s.kind {
        StmtKind::Expr(e) => !matches!(&e.kind, ExprKind::Call { name, .. } if OUTPUT_CALLS.contains(&name.as_str())),
        _ => true,
    })
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Probes;

    fn entry(number: usize, text: &str, probes: Option<bool>) -> Entry {
        Entry {
            number,
            text: text.into(),
            probes: probes.map(|live| Probes {
                blocks: 0..1,
                programs: 0..1,
                names: Vec::new(),
                count: 1,
                live,
            }),
        }
    }

    #[test]
    fn live_probes_and_map_changes_in_order() {
        let s = script(
            &[],
            &[
                entry(1, "@limit = 10;", None),
                entry(2, "interval:s:1 { @n = count(); }", Some(true)),
                entry(3, "print(@n); printf(\"x\\n\");", None),
                entry(4, "tracepoint:a:b { @t = count(); }", Some(false)),
                entry(5, "clear(@n)", None),
                entry(6, "END { print(@limit); }", Some(true)),
            ],
        );
        assert_eq!(
            s,
            "#!/usr/bin/env scry\n// Saved from a scry session.\n\
             \n// #1\nBEGIN {\n    @limit = 10;\n}\n\
             \n// #2\ninterval:s:1 { @n = count(); }\n\
             \n// #5\nBEGIN {\n    clear(@n)\n}\n\
             \n// #6\nEND { print(@limit); }\n"
        );
    }
}
