//! One trace probe argument: `[{p,r}]:[lib]:func[+off][(sig)] [(pred)] ["fmt"[, args]]`,
//! `t:cat:event ...`, `u:lib:[prov:]probe ...` (reference §4.2), parsed as BCC does.

use crate::tools::cexpr::{parse_signature, split_args};
use crate::tools::place::Place;

/// A parsed probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The argument as given (for messages).
    pub raw: String,
    /// Where it attaches.
    pub place: Place,
    /// Signature parameters: (name, C type).
    pub params: Vec<(String, String)>,
    /// The predicate, with its parentheses, as C.
    pub predicate: Option<String>,
    /// The format string (without quotes), when the probe prints a message.
    pub format: Option<String>,
    /// The format's arguments, as C.
    pub args: Vec<String>,
}

impl Probe {
    /// Parses one argument; errors read `error in probe 'RAW': ...`.
    pub fn parse(raw: &str) -> Result<Probe, String> {
        parse(raw).map_err(|e| format!("error in probe '{raw}': {e}"))
    }
}

fn parse(raw: &str) -> Result<Probe, String> {
    let text = raw.trim();
    let spec_end = text.find([' ', '\t', '(']).unwrap_or(text.len());
    let spec = &text[..spec_end];
    let mut rest = &text[spec_end..];
    let mut signature = None;
    if rest.starts_with('(') {
        let end = balanced(rest).ok_or("unmatched end of signature")?;
        signature = Some(&rest[1..end - 1]);
        rest = &rest[end..];
    }
    rest = rest.trim_start();
    let mut predicate = None;
    if rest.starts_with('(') {
        let end = balanced(rest).ok_or("unmatched end of predicate")?;
        predicate = Some(rest[..end].to_string());
        rest = &rest[end..];
    }
    let action = rest.trim();
    let (format, args) = if action.is_empty() {
        (None, Vec::new())
    } else {
        let (format, after) = action
            .find('"')
            .and_then(|open| {
                let body = &action[open + 1..];
                body.find('"')
                    .map(|close| (&body[..close], &body[close + 1..]))
            })
            .ok_or("expected format string in \"s")?;
        let after = after.trim_start();
        let after = after.strip_prefix(',').unwrap_or(after);
        (Some(format.to_string()), split_args(after))
    };
    let place = place(spec)?;
    if signature.is_some() && matches!(place, Place::Tracepoint { .. } | Place::Usdt { .. }) {
        return Err("USDT and tracepoint probes can't have a function signature; use arg1, arg2, ... instead".into());
    }
    Ok(Probe {
        raw: raw.to_string(),
        place,
        params: signature.map(parse_signature).unwrap_or_default(),
        predicate,
        format,
        args,
    })
}

/// The length of the balanced `(...)` group `s` starts with.
fn balanced(s: &str) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

fn place(spec: &str) -> Result<Place, String> {
    let fields: Vec<&str> = spec.split(':').collect();
    let (kind, fields): (&str, &[&str]) = match fields.as_slice() {
        [func] => ("p", &["", *func][..]),
        [_, _] => ("p", &fields[..]),
        [kind, rest @ ..] => (*kind, rest),
        [] => unreachable!("split yields one field at least"),
    };
    let kind = if kind.is_empty() { "p" } else { kind };
    match kind {
        "p" | "r" => {
            let (lib, last) = fields.split_at(fields.len() - 1);
            let lib = lib.join(":");
            let (func, offset) = match last[0].split_once('+') {
                Some((f, off)) => (f.to_string(), offset(off)?),
                None => (last[0].to_string(), 0),
            };
            let ret = kind == "r";
            Ok(if lib.is_empty() {
                Place::Kernel { func, offset, ret }
            } else {
                Place::User {
                    lib,
                    func,
                    offset,
                    ret,
                }
            })
        }
        "t" => match fields {
            [category, event] => Ok(Place::Tracepoint {
                category: category.to_string(),
                event: event.to_string(),
            }),
            _ => Err("tracepoints are written t:category:event".into()),
        },
        "u" => match fields {
            [lib, probe @ ..] if !probe.is_empty() => Ok(Place::Usdt {
                lib: lib.to_string(),
                probe: probe.join(":"),
            }),
            _ => Err("USDT probes are written u:library:probe".into()),
        },
        other => Err(format!(
            "probe type must be '', 'p', 't', 'r', or 'u', but got '{other}'"
        )),
    }
}

/// `+off`: decimal, or hexadecimal when it holds an `x`.
fn offset(s: &str) -> Result<u64, String> {
    let parsed = if s.contains(['x', 'X']) {
        let digits = s.trim_start_matches("0x").trim_start_matches("0X");
        u64::from_str_radix(digits, 16).ok()
    } else {
        s.parse().ok()
    };
    parsed.ok_or_else(|| format!("invalid offset format  '{s}', must be decimal or hexadecimal"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let p = Probe::parse("r:c:malloc (retval) \"allocated = %x\", retval").unwrap();
        assert_eq!(
            p.place,
            Place::User {
                lib: "c".into(),
                func: "malloc".into(),
                offset: 0,
                ret: true
            }
        );
        assert_eq!(p.predicate.as_deref(), Some("(retval)"));
        assert_eq!(p.format.as_deref(), Some("allocated = %x"));
        assert_eq!(p.args, ["retval"]);
        let p = Probe::parse("do_sys_open").unwrap();
        assert!(
            matches!(p.place, Place::Kernel { ref func, ret: false, .. } if func == "do_sys_open")
        );
        assert_eq!((p.format, p.predicate), (None, None));
        let p = Probe::parse("kfree_skb+0x12").unwrap();
        assert!(matches!(p.place, Place::Kernel { offset: 0x12, .. }));
        let p = Probe::parse("t:sched:sched_switch \"%s -> %s\", args->prev_comm, args->next_comm")
            .unwrap();
        assert_eq!(p.place.name(), "sched_switch");
        assert_eq!(p.args, ["args->prev_comm", "args->next_comm"]);
        let p = Probe::parse("u:pthread:libpthread:pthread_create (arg4 != 0)").unwrap();
        assert_eq!(p.place.name(), "libpthread:pthread_create");
        let p = Probe::parse(
            "p::SyS_nanosleep(struct timespec *ts) \"sleep for %lld ns\", ts->tv_nsec",
        )
        .unwrap();
        assert_eq!(
            p.params,
            [("ts".to_string(), "struct timespec *".to_string())]
        );
        let p = Probe::parse("p:c:write (arg1 == 1) \"writing %d bytes\", arg3").unwrap();
        assert_eq!(p.predicate.as_deref(), Some("(arg1 == 1)"));
        assert_eq!(p.args, ["arg3"]);
    }

    #[test]
    fn odd_input_never_panics() {
        for input in [
            "",
            ":",
            "::",
            ":::",
            "p:",
            "t:",
            "u:",
            "u::",
            "r::+",
            "f+",
            "f+0x",
            "f+0xzz",
            "f(",
            "f()(",
            "f (",
            "f \"",
            "f \"%d",
            "é:ü:ö",
            "p:c:f+99999999999999999999999",
            "t:a:b(x) (y) \"%s\"",
        ] {
            let _ = Probe::parse(input);
        }
    }

    #[test]
    fn observed_errors() {
        let e = |s: &str| Probe::parse(s).unwrap_err();
        assert_eq!(
            e("q:x:foo"),
            "error in probe 'q:x:foo': probe type must be '', 'p', 't', 'r', or 'u', but got 'q'"
        );
        assert_eq!(
            e("kfree_skb+zz"),
            "error in probe 'kfree_skb+zz': invalid offset format  'zz', must be decimal or hexadecimal"
        );
        assert_eq!(
            e("t:sched:sched_switch(int a)"),
            "error in probe 't:sched:sched_switch(int a)': USDT and tracepoint probes can't have a function signature; use arg1, arg2, ... instead"
        );
        assert_eq!(
            e("do_sys_open (arg1 > 0"),
            "error in probe 'do_sys_open (arg1 > 0': unmatched end of predicate"
        );
        assert_eq!(
            e("do_sys_open %d"),
            "error in probe 'do_sys_open %d': expected format string in \"s"
        );
    }
}
