//! The descriptor a plugin's `scry_plugin` export returns: its ABI version and its items.

use scry_lang::plugin::{Folding, Item, ItemKind, PluginSignature, PluginType, SinkMode};

/// The ABI version this host implements (`abi MAJOR.MINOR`).
pub const ABI: (u32, u32) = (1, 2);

/// Formatter kinds a descriptor may name.
const FORMATTER_KINDS: [&str; 5] = ["hist", "lhist", "scalar", "stats", "any"];

/// Parses a descriptor; an error is one sentence (without the plugin's name).
pub fn parse(text: &str) -> Result<PluginSignature, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(n, l)| (n + 1, l.split('#').next().unwrap_or("").trim()))
        .filter(|(_, l)| !l.is_empty());
    let Some((_, first)) = lines.next() else {
        return Err("its descriptor is empty (the first line must be 'abi 1.0')".into());
    };
    let minor = check_abi(first)?;
    let mut sig = PluginSignature::default();
    for (n, line) in lines {
        let at = |e: String| format!("descriptor line {n} ('{line}'): {e}");
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        match word {
            "sink" => {
                let mode = match rest {
                    "lines" => SinkMode::Lines,
                    "args" => SinkMode::Args,
                    _ => return Err(at("a sink is 'sink lines' or 'sink args'".into())),
                };
                if sig.sink.replace(mode).is_some() {
                    return Err(at("a plugin declares at most one sink".into()));
                }
            }
            "fn" | "reducer" | "formatter" => {
                let item = item(word, rest, minor).map_err(at)?;
                if sig.item(&item.name).is_some() {
                    return Err(at(format!("'{}' is declared twice", item.name)));
                }
                sig.items.push(item);
            }
            _ => {
                return Err(at(
                    "expected 'fn', 'reducer', 'formatter' or 'sink'".to_string()
                ))
            }
        }
    }
    Ok(sig)
}

/// `abi MAJOR.MINOR`: the same major as [`ABI`], a minor no newer; returns the minor.
fn check_abi(line: &str) -> Result<u32, String> {
    let version = line
        .strip_prefix("abi")
        .map(str::trim)
        .and_then(|v| v.split_once('.'))
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    let Some((major, minor)) = version else {
        return Err(format!(
            "its descriptor must start with 'abi MAJOR.MINOR' (found '{line}')"
        ));
    };
    let (ours, our_minor) = ABI;
    if major != ours || minor > our_minor {
        return Err(format!(
            "it was built for plugin ABI {major}.{minor}, and this scry implements ABI {ours}.{our_minor}"
        ));
    }
    Ok(minor)
}

/// `NAME(PARAMS) [-> RET]` after `fn`, `reducer` or `formatter` (a reducer may end with how
/// it folds, ABI 1.1); `minor` is the descriptor's ABI minor.
fn item(word: &str, rest: &str, minor: u32) -> Result<Item, String> {
    let (name, after) = rest
        .split_once('(')
        .ok_or_else(|| format!("expected '{word} NAME(...)'"))?;
    let name = name.trim();
    if !is_ident(name) {
        return Err(format!("'{name}' is not a name"));
    }
    let (params, after) = after
        .split_once(')')
        .ok_or_else(|| "expected ')'".to_string())?;
    let params: Vec<&str> = params
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let after = after.trim();
    let kind = match word {
        "fn" => {
            let ret = after
                .strip_prefix("->")
                .ok_or_else(|| "a function needs a result type: '-> TYPE'".to_string())?;
            ItemKind::Function {
                params: params
                    .iter()
                    .map(|p| value_type(p))
                    .collect::<Result<_, _>>()?,
                ret: value_type(ret.trim())?,
            }
        }
        "reducer" => match params.as_slice() {
            [t] => match value_type(t)? {
                PluginType::Str => return Err("a reducer folds i64 or u64 values".into()),
                t => ItemKind::Reducer(t, folding(after, minor)?),
            },
            _ => return Err("a reducer takes one value type".into()),
        },
        _ if !after.is_empty() => return Err(format!("unexpected '{after}'")),
        _ => match params.as_slice() {
            [k] if FORMATTER_KINDS.contains(k) => ItemKind::Formatter(k.to_string()),
            _ => {
                return Err(format!(
                    "a formatter takes one map kind: {}",
                    FORMATTER_KINDS.join(", ")
                ))
            }
        },
    };
    Ok(Item {
        name: name.to_string(),
        kind,
    })
}

/// What follows a reducer's `)`: nothing, `weighted`, or `weighted rounded BITS`.
fn folding(after: &str, minor: u32) -> Result<Folding, String> {
    let words: Vec<&str> = after.split_whitespace().collect();
    let folding = match words.as_slice() {
        [] => return Ok(Folding::PerEvent),
        ["weighted"] => Folding::Weighted,
        ["weighted", "rounded", bits] => match bits.parse::<u8>() {
            Ok(b) if (1..=63).contains(&b) => Folding::Rounded(b),
            _ => {
                return Err(format!(
                    "'rounded' takes the significant bits kept, 1 to 63 (found '{bits}')"
                ))
            }
        },
        _ => {
            return Err(format!(
            "unexpected '{after}' (a reducer may end with 'weighted' or 'weighted rounded BITS')"
        ))
        }
    };
    if minor < 1 {
        return Err("'weighted' needs 'abi 1.1' (the descriptor says 1.0)".into());
    }
    Ok(folding)
}

fn value_type(t: &str) -> Result<PluginType, String> {
    match t {
        "i64" => Ok(PluginType::I64),
        "u64" => Ok(PluginType::U64),
        "str" => Ok(PluginType::Str),
        _ => Err(format!("unknown type '{t}' (i64, u64 or str)")),
    }
}

/// Whether `s` is an identifier (a plugin or item name).
pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_line() {
        let sig = parse(
            "abi 1.0\n# comment\nfn hex(u64) -> str\nfn ratio(i64, i64) -> str  # two\n\
             reducer quantiles(i64)\nformatter heatmap(hist)\nsink lines\n",
        )
        .unwrap();
        let shown: Vec<String> = sig.items.iter().map(|i| i.to_string()).collect();
        assert_eq!(
            shown,
            [
                "fn hex(u64) -> str",
                "fn ratio(i64, i64) -> str",
                "reducer quantiles(i64)",
                "formatter heatmap(hist)"
            ]
        );
        assert_eq!(sig.sink, Some(SinkMode::Lines));
        assert_eq!(sig.item("quantiles").unwrap().0, 2);
        assert_eq!(parse("abi 1.0\nfn now() -> u64").unwrap().items.len(), 1);
    }

    #[test]
    fn reducer_folding() {
        let sig = parse(
            "abi 1.1\nreducer a(i64)\nreducer b(u64) weighted\nreducer c(i64) weighted rounded 7\n",
        )
        .unwrap();
        let kinds: Vec<&ItemKind> = sig.items.iter().map(|i| &i.kind).collect();
        assert_eq!(
            kinds,
            [
                &ItemKind::Reducer(PluginType::I64, Folding::PerEvent),
                &ItemKind::Reducer(PluginType::U64, Folding::Weighted),
                &ItemKind::Reducer(PluginType::I64, Folding::Rounded(7)),
            ]
        );
        assert_eq!(
            sig.items[2].to_string(),
            "reducer c(i64) weighted rounded 7"
        );
        // A 1.0 plugin still loads.
        assert!(parse("abi 1.0\nreducer a(i64)").is_ok());
    }

    #[test]
    fn versions() {
        assert_eq!(
            parse("abi 2.0").unwrap_err(),
            "it was built for plugin ABI 2.0, and this scry implements ABI 1.2"
        );
        assert_eq!(
            parse("abi 1.3").unwrap_err(),
            "it was built for plugin ABI 1.3, and this scry implements ABI 1.2"
        );
        assert!(parse("").unwrap_err().contains("empty"));
        assert!(parse("fn x() -> u64")
            .unwrap_err()
            .contains("must start with"));
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, wanted) in [
            ("abi 1.0\nfn x(f32) -> u64", "unknown type 'f32'"),
            ("abi 1.0\nfn x(u64)", "needs a result type"),
            ("abi 1.0\nreducer r(str)", "folds i64 or u64"),
            ("abi 1.0\nreducer r(u64, u64)", "one value type"),
            ("abi 1.0\nformatter f(pie)", "one map kind"),
            ("abi 1.0\nsink files", "'sink lines' or 'sink args'"),
            ("abi 1.0\nfn a() -> u64\nfn a() -> str", "declared twice"),
            ("abi 1.0\nfn 9a() -> u64", "is not a name"),
            ("abi 1.0\nmain", "expected 'fn'"),
            ("abi 1.0\nreducer r(i64) weighted", "needs 'abi 1.1'"),
            ("abi 1.1\nreducer r(i64) sorted", "unexpected 'sorted'"),
            ("abi 1.1\nreducer r(i64) weighted rounded 0", "1 to 63"),
            ("abi 1.1\nfn f(i64) -> i64 weighted", "unknown type"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(wanted), "{text:?}: {e}");
            let line = text.lines().count();
            assert!(e.starts_with(&format!("descriptor line {line} ")), "{e}");
        }
    }
}
