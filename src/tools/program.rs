//! Pieces of the programs the tools generate: the probe block over a list of targets, its
//! predicate, and the interval block that prints and clears a summary map.

use super::driver::Fallback;
use super::pattern::{Kind, Pattern};
use super::targets::Target;

/// `ATTACH, ATTACH /PRED/ { ACTION }` over every attach point of `targets`, one per line.
pub fn probe_block(targets: &[Target], conditions: &[String], action: &str) -> String {
    let attach: Vec<&str> = targets
        .iter()
        .flat_map(|t| t.attach.iter().map(String::as_str))
        .collect();
    let predicate = if conditions.is_empty() {
        String::new()
    } else {
        format!("\n/{}/", conditions.join(" && "))
    };
    format!("{}{predicate}\n{{ {action} }}\n", attach.join(",\n"))
}

/// The program counting the `targets` of `pattern` with `action` under `conditions`, then
/// `rest`; and its fallback, each target alone, unless no target could attach alone either
/// (kernel functions on a kernel without kprobes).
pub fn counting(
    targets: &[Target],
    pattern: &Pattern,
    conditions: &[String],
    action: &str,
    rest: String,
) -> (String, Option<Fallback>) {
    let block = match pattern.engine_wildcard() {
        Some(glob) => {
            let all = Target { attach: vec![glob] };
            probe_block(std::slice::from_ref(&all), conditions, action)
        }
        None => probe_block(targets, conditions, action),
    };
    let program = format!("{block}{rest}");
    let hopeless = pattern.kind == Kind::Kernel && !scry_runtime::attach::kprobes_available();
    let fallback = (!hopeless).then(|| Fallback {
        targets: targets
            .iter()
            .map(|t| probe_block(std::slice::from_ref(t), conditions, action))
            .collect(),
        rest,
    });
    (program, fallback)
}

/// The block that ends each summary interval, for a map printed and cleared by `print_clear`
/// (its last summary is printed when the run ends: Ctrl-C, `-d`, or the `-p` process
/// exiting). `-i I` prints and clears every I seconds; `-d D` alone ends after D seconds; both
/// end at the first interval at which D seconds have passed (BCC may overrun `-d`).
pub fn rounds(print_clear: &str, interval: Option<u64>, duration: Option<u64>) -> String {
    match (interval, duration) {
        (None, None) => String::new(),
        (None, Some(d)) => format!("interval:s:{d} {{ exit(); }}\n"),
        (Some(i), None) => format!("interval:s:{i} {{ {print_clear} }}\n"),
        (Some(i), Some(d)) => {
            let last = d.div_ceil(i);
            format!(
                "interval:s:{i} {{ @rounds = @rounds + 1; if (@rounds >= {last}) {{ exit(); }} else {{ {print_clear} }} }}\n"
            )
        }
    }
}

/// BCC_PROBE_LIMIT (digits only), else 1000: the most targets a pattern may match.
pub fn probe_limit() -> u64 {
    std::env::var("BCC_PROBE_LIMIT")
        .ok()
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks() {
        let t = |a: &str| Target {
            attach: vec![format!("tracepoint:{a}")],
        };
        assert_eq!(
            probe_block(
                &[t("a:b"), t("c:d")],
                &["pid == 5".into(), "cpu == 0".into()],
                "X;"
            ),
            "tracepoint:a:b,\ntracepoint:c:d\n/pid == 5 && cpu == 0/\n{ X; }\n"
        );
        assert_eq!(
            probe_block(&[t("a:b")], &[], "X;"),
            "tracepoint:a:b\n{ X; }\n"
        );
    }

    #[test]
    fn interval_and_duration() {
        assert_eq!(rounds("P;", None, None), "");
        assert_eq!(rounds("P;", None, Some(5)), "interval:s:5 { exit(); }\n");
        assert_eq!(rounds("P;", Some(2), None), "interval:s:2 { P; }\n");
        // -i 2 -d 5: three summaries, the third at 6 s.
        assert!(rounds("P;", Some(2), Some(5)).contains("if (@rounds >= 3)"));
    }
}
