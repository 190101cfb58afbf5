//! `.save FILE`: the live session as a script that `scry FILE` runs with the same result.
//!
//! The probe entries still attached, in the order they were entered, and the statement
//! entries that changed maps (assignments, `clear`, `delete`, ...) as BEGIN blocks where they
//! stood (the engine keeps no other entries: not the detached ones, nor statements that only
//! printed).

use crate::engine::Entry;
use crate::entry;

/// The script of `entries` (probe entries attached, statements that changed maps), after
/// `declarations` (the plugins and formatters loaded).
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
            Some(_) => out.push_str(&format!("\n// #{}\n{text}\n", e.number)),
            None => out.push_str(&format!(
                "\n// #{}\n{}\n",
                e.number,
                entry::wrap(&indent(text))
            )),
        }
    }
    out
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

    fn entry(number: usize, text: &str, probes: bool) -> Entry {
        Entry {
            number,
            text: text.into(),
            probes: probes.then(|| {
                Box::new(Probes {
                    blocks: 0..1,
                    programs: 0..1,
                    names: Vec::new(),
                    count: 1,
                })
            }),
        }
    }

    #[test]
    fn probes_and_map_changes_in_order() {
        let s = script(
            &["plugin q = \"/p/q.wasm\";".to_string()],
            &[
                entry(1, "@limit = 10;", false),
                entry(2, "interval:s:1 { @n = count(); }", true),
                entry(5, "clear(@n)", false),
                entry(6, "END { print(@limit); }", true),
            ],
        );
        assert_eq!(
            s,
            "#!/usr/bin/env scry\n// Saved from a scry session.\n\
             \nplugin q = \"/p/q.wasm\";\n\
             \n// #1\nBEGIN {\n    @limit = 10;\n}\n\
             \n// #2\ninterval:s:1 { @n = count(); }\n\
             \n// #5\nBEGIN {\n    clear(@n)\n}\n\
             \n// #6\nEND { print(@limit); }\n"
        );
    }
}
