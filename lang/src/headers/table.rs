//! The macros of the headers read, by name, made into the table the lexer reads
//! ([`HeaderMacros`]). Conditionals are not evaluated, so a name given two different bodies by the
//! headers read is ambiguous, never one of them guessed.

use std::collections::{BTreeMap, HashMap};

use super::constant::{constant, normalized};
use super::value::value;
use crate::lexer::{HeaderMacro, HeaderMacros};

/// Advice for a macro defined twice.
const AMBIGUOUS: &str = "scry does not evaluate #if/#ifdef, so it cannot tell which definition applies: #define the name in the program to choose";
/// Advice for a macro of headers not read whole.
const INCOMPLETE: &str =
    "a definition in the headers not read could change its value: #define the name in the program";
/// Advice for any other macro scry cannot substitute.
const NOT_CONSTANT: &str = "scry substitutes the #define constants of headers: integers, strings, and arithmetic of them and of other such macros";

/// One `#define` as read: object-like (`params` `None`) or function-like.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Definition {
    params: Option<String>,
    /// The body with its tokens one space apart.
    body: String,
    header: String,
}

impl Definition {
    fn spelled(&self) -> String {
        match &self.params {
            Some(p) => format!("({p}) {}", self.body),
            None => self.body.clone(),
        }
    }
}

/// The definitions collected so far: the first of each name, and a second one that differs.
#[derive(Debug, Default)]
pub(super) struct Collected {
    defs: BTreeMap<String, (Definition, Option<Definition>)>,
}

impl Collected {
    /// Records `#define name[(params)] body` of `header`. A macro that is its own body
    /// (`#define SOCK_STREAM SOCK_STREAM`, naming an enumerator) is not recorded: the name
    /// stays for the checker.
    pub(super) fn define(&mut self, name: &str, params: Option<&str>, body: &str, header: &str) {
        let body = normalized(body);
        if params.is_none() && body == name {
            return;
        }
        let def = Definition {
            params: params.map(normalized),
            body,
            header: header.to_string(),
        };
        match self.defs.get_mut(name) {
            None => {
                self.defs.insert(name.to_string(), (def, None));
            }
            Some((first, second @ None)) if first.spelled() != def.spelled() => *second = Some(def),
            Some(_) => {}
        }
    }

    /// How many names have a constant first definition (whether or not it stays usable).
    pub(super) fn constants(&self) -> usize {
        self.defs
            .values()
            .filter(|(d, _)| d.params.is_none() && constant(&d.body).is_some())
            .count()
    }

    /// The number the macro `name` stands for, when every definition read gives it and it
    /// can be computed exactly (`values` holds those computed; `active` the names being
    /// computed, so a macro that uses itself has none).
    fn value_of(
        &self,
        name: &str,
        values: &mut HashMap<String, Option<i128>>,
        active: &mut Vec<String>,
    ) -> Option<i128> {
        if let Some(v) = values.get(name) {
            return *v;
        }
        if active.iter().any(|a| a == name) || active.len() > 32 {
            return None;
        }
        let (first, second) = self.defs.get(name)?;
        active.push(name.to_string());
        let mut of = |d: &Definition| match d.params {
            Some(_) => None,
            None => value(&d.body, &mut |n| self.value_of(n, values, active)),
        };
        let v = match (of(first), second.as_ref().map(&mut of)) {
            (Some(a), Some(Some(b))) if a == b => Some(a),
            (v, None) => v,
            _ => None,
        };
        active.pop();
        values.insert(name.to_string(), v);
        v
    }

    /// The table the lexer reads. `incomplete` says why the headers were not all read: then
    /// every name is refused with it (a definition not read could make a name ambiguous).
    pub(super) fn finish(self, incomplete: Option<&str>) -> HeaderMacros {
        let mut values = HashMap::new();
        let agreeing: Vec<String> = self
            .defs
            .iter()
            .filter(|(name, (_, second))| {
                second.is_some() && self.value_of(name, &mut values, &mut Vec::new()).is_some()
            })
            .map(|(name, _)| name.clone())
            .collect();
        let refused = |name: &str, why: String| HeaderMacro::Refused {
            why: format!("'{name}' {why}"),
            hint: NOT_CONSTANT,
        };
        self.defs
            .iter()
            .map(|(name, (first, second))| {
                // Two spellings of one number are one definition.
                let second = second.as_ref().filter(|_| !agreeing.contains(name));
                let m = match (incomplete, second, &first.params, constant(&first.body)) {
                    (Some(why), ..) => HeaderMacro::Refused {
                        why: format!("'{name}' is a macro of {}, but {why}", first.header),
                        hint: INCOMPLETE,
                    },
                    (None, Some(second), ..) => HeaderMacro::Refused {
                        why: format!(
                            "'{name}' is defined differently by the headers read: `{}` ({}) and `{}` ({})",
                            first.spelled(),
                            first.header,
                            second.spelled(),
                            second.header
                        ),
                        hint: AMBIGUOUS,
                    },
                    (None, None, Some(_), _) => refused(
                        name,
                        format!(
                            "is a function-like macro of {}, which scry cannot expand",
                            first.header
                        ),
                    ),
                    (None, None, None, None) => refused(
                        name,
                        format!(
                            "is a macro of {} whose value `{}` is not a constant",
                            first.header, first.body
                        ),
                    ),
                    (None, None, None, Some(c)) => {
                        match c.names.iter().find(|n| !self.defs.contains_key(*n)) {
                            Some(n) => refused(
                                name,
                                format!(
                                    "is a macro of {} whose value `{}` uses '{n}', which no header read defines",
                                    first.header, first.body
                                ),
                            ),
                            None => HeaderMacro::Constant {
                                body: c.text,
                                header: first.header.clone(),
                            },
                        }
                    }
                };
                (name.clone(), m)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(defs: &[(&str, Option<&str>, &str, &str)], incomplete: Option<&str>) -> HeaderMacros {
        let mut c = Collected::default();
        for (name, params, body, header) in defs {
            c.define(name, *params, body, header);
        }
        c.finish(incomplete)
    }

    fn refusal(t: &HeaderMacros, name: &str) -> String {
        match t.get(name) {
            Some(HeaderMacro::Refused { why, .. }) => why.clone(),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn constants_and_refusals() {
        let t = table(
            &[
                ("EPERM", None, "1", "e.h"),
                ("EAGAIN", None, "11", "e.h"),
                ("EWOULDBLOCK", None, "EAGAIN", "e.h"),
                ("EPERM", None, " 1 ", "f.h"),
                ("W", None, "32", "a.h"),
                ("W", None, "64", "b.h"),
                ("SOCK_STREAM", None, "SOCK_STREAM", "s.h"),
                ("errno", None, "(*__errno_location ())", "errno.h"),
                ("MAX", Some("a,b"), "((a) > (b) ? (a) : (b))", "m.h"),
                ("USES", None, "(size_t)1", "u.h"),
                ("NAMED", None, "(PAGE + 1)", "u.h"),
            ],
            None,
        );
        assert_eq!(
            t.get("EWOULDBLOCK"),
            Some(&HeaderMacro::Constant {
                body: "EAGAIN".into(),
                header: "e.h".into()
            })
        );
        assert!(matches!(t.get("EPERM"), Some(HeaderMacro::Constant { .. })));
        assert_eq!(t.get("SOCK_STREAM"), None);
        assert_eq!(
            refusal(&t, "W"),
            "'W' is defined differently by the headers read: `32` (a.h) and `64` (b.h)"
        );
        assert_eq!(
            refusal(&t, "errno"),
            "'errno' is a macro of errno.h whose value `(*__errno_location ())` is not a constant"
        );
        assert_eq!(
            refusal(&t, "MAX"),
            "'MAX' is a function-like macro of m.h, which scry cannot expand"
        );
        assert!(refusal(&t, "USES").contains("not a constant"));
        assert_eq!(
            refusal(&t, "NAMED"),
            "'NAMED' is a macro of u.h whose value `(PAGE + 1)` uses 'PAGE', which no header read defines"
        );
    }

    #[test]
    fn two_spellings_of_one_number_agree() {
        let t = table(
            &[
                ("R", None, "0400", "bits.h"),
                ("W", None, "0200", "bits.h"),
                ("X", None, "0100", "bits.h"),
                ("RWX", None, "(R|W|X)", "fcntl.h"),
                ("RWX", None, "00700", "linux.h"),
                ("RW", None, "(R|W)", "fcntl.h"),
                ("RW", None, "0700", "linux.h"),
            ],
            None,
        );
        assert_eq!(
            t.get("RWX"),
            Some(&HeaderMacro::Constant {
                body: "( R | W | X )".into(),
                header: "fcntl.h".into()
            })
        );
        assert!(refusal(&t, "RW").starts_with("'RW' is defined differently"));
    }

    #[test]
    fn incomplete_reads_refuse_every_name() {
        let t = table(
            &[("A", None, "1", "a.h")],
            Some("the headers are too large"),
        );
        assert_eq!(
            refusal(&t, "A"),
            "'A' is a macro of a.h, but the headers are too large"
        );
    }
}
