//! BCC's C expressions (trace and argdist predicates, arguments, argdist expressions) turned
//! into scry expressions, token by token (BCC replaces text, so `arg1` inside `arg10` broke;
//! here only whole identifiers are renamed).

/// What identifiers mean in one probe.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// Signature parameters: name and C type, in order (`arg1`, `arg2`, ...).
    pub params: Vec<(String, String)>,
    /// argdist's aliases (`$retval`, `$PID`, `$latency`, `$entry(p)`) instead of trace's,
    /// with the prefix of the maps that keep entry values (`@PREFIXstart[tid]`,
    /// `@PREFIXentryK[tid]`).
    pub argdist: Option<String>,
    /// trace `-B`: a `STRCMP` literal is a C array initializer (`"{0x6C, 0x00}"`) whose bytes
    /// but the last are compared.
    pub binary_strcmp: bool,
}

/// A token of a C expression.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// An identifier, `$name` included.
    Ident(String),
    /// A string literal, quotes included.
    Str(String),
    /// Anything else: numbers, operators, punctuation, `@`.
    Other(String),
}

impl Tok {
    fn text(&self) -> &str {
        match self {
            Tok::Ident(s) | Tok::Str(s) | Tok::Other(s) => s,
        }
    }
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(s[start..i].to_string()));
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            if i >= b.len() {
                return Err(format!("unterminated string in {s}"));
            }
            i += 1;
            out.push(Tok::Str(s[start..i].to_string()));
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            out.push(Tok::Other(s[start..i].to_string()));
        } else {
            let two = s.get(i..i + 2).unwrap_or("");
            let len = if ["->", "==", "!=", "<=", ">=", "&&", "||", "<<", ">>"].contains(&two) {
                2
            } else {
                1
            };
            // A multi-byte character: keep it whole.
            let len = (len..=4).find(|l| s.is_char_boundary(i + l)).unwrap_or(1);
            out.push(Tok::Other(s[i..i + len].to_string()));
            i += len;
        }
    }
    Ok(out)
}

/// Translates `expr` (`argN@user` is just `argN`: scry's `str()` picks the address space).
pub fn translate(expr: &str, names: &Names) -> Result<String, String> {
    let toks = tokenize(expr)?;
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        // `@user` after an argument.
        if t.text() == "@" && matches!(toks.get(i + 1), Some(Tok::Ident(u)) if u == "user") {
            i += 2;
            continue;
        }
        // Multi-word C casts: `(unsigned long)`.
        if t.text() == "(" {
            if let Some((ty, used)) = cast(&toks[i + 1..]) {
                out.push(format!("({ty})"));
                i += used + 1;
                continue;
            }
        }
        // `ctx->dx`: a register of the probe's context.
        if let (Tok::Ident(ctx), Some(arrow), Some(Tok::Ident(reg))) =
            (t, toks.get(i + 1), toks.get(i + 2))
        {
            if ctx == "ctx" && arrow.text() == "->" {
                out.push(format!("reg(\"{reg}\")"));
                i += 3;
                continue;
            }
        }
        // `sk->sk_dport`: the kernel's socket macros, which BCC's headers expand.
        if t.text() == "->" {
            if let Some(Tok::Ident(field)) = toks.get(i + 1) {
                if let Some(common) = socket_field(field) {
                    out.push(format!("->__sk_common.{common}"));
                    i += 2;
                    continue;
                }
            }
        }
        if let Tok::Ident(id) = t {
            if id == "STRCMP" {
                let (text, used) = strcmp(&toks[i..], names)?;
                out.push(text);
                i += used;
                continue;
            }
            if let (Some(prefix), "$entry") = (&names.argdist, id.as_str()) {
                let param = match (toks.get(i + 1), toks.get(i + 2), toks.get(i + 3)) {
                    (Some(Tok::Other(o)), Some(Tok::Ident(p)), Some(Tok::Other(c)))
                        if o == "(" && c == ")" =>
                    {
                        p.clone()
                    }
                    _ => return Err("$entry needs a parameter name: $entry(name)".into()),
                };
                let k = names
                    .params
                    .iter()
                    .position(|(n, _)| *n == param)
                    .ok_or_else(|| format!("$entry({param}): no such param"))?;
                out.push(format!("@{prefix}entry{k}[tid]"));
                i += 4;
                continue;
            }
            out.push(identifier(id, names));
            i += 1;
            continue;
        }
        out.push(t.text().to_string());
        i += 1;
    }
    Ok(join(&out))
}

/// The `struct sock_common` member behind one of `struct sock`'s `#define sk_X
/// __sk_common.skc_X` names.
fn socket_field(field: &str) -> Option<String> {
    const COMMON: [&str; 18] = [
        "family",
        "state",
        "reuse",
        "reuseport",
        "bound_dev_if",
        "dport",
        "num",
        "daddr",
        "rcv_saddr",
        "v6_daddr",
        "v6_rcv_saddr",
        "hash",
        "net",
        "prot",
        "refcnt",
        "cookie",
        "portpair",
        "addrpair",
    ];
    let name = field.strip_prefix("sk_")?;
    COMMON.contains(&name).then(|| format!("skc_{name}"))
}

/// One identifier's scry spelling.
fn identifier(id: &str, names: &Names) -> String {
    if let Some(k) = names.params.iter().position(|(n, _)| n == id) {
        let ty = &names.params[k].1;
        return format!("(({})arg{k})", scry_type(ty));
    }
    if let Some(n) = id.strip_prefix("arg").and_then(|n| n.parse::<u32>().ok()) {
        if (1..=12).contains(&n) {
            return format!("arg{}", n - 1);
        }
    }
    if let Some(prefix) = &names.argdist {
        return match id {
            "$retval" => "retval".into(),
            "$PID" => "pid".into(),
            "$COMM" => "comm".into(),
            "$latency" => format!("(nsecs - @{prefix}start[tid])"),
            _ => id.into(),
        };
    }
    let renamed = match id {
        "$pid" => "tid",
        "$tgid" => "pid",
        "$uid" => "uid",
        "$gid" => "gid",
        "$cpu" => "cpu",
        "$task" => "curtask",
        _ => id,
    };
    renamed.to_string()
}

/// `STRCMP("lit", expr)` as a prefix comparison; returns the text and tokens used.
fn strcmp(toks: &[Tok], names: &Names) -> Result<(String, usize), String> {
    let bad =
        || "STRCMP takes a string literal and an expression: STRCMP(\"text\", expr)".to_string();
    let (Some(Tok::Other(open)), Some(Tok::Str(lit)), Some(Tok::Other(comma))) =
        (toks.get(1), toks.get(2), toks.get(3))
    else {
        return Err(bad());
    };
    if open != "(" || comma != "," {
        return Err(bad());
    }
    let mut depth = 1;
    let mut end = 4;
    while end < toks.len() {
        match toks[end].text() {
            "(" => depth += 1,
            ")" => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        end += 1;
    }
    if end >= toks.len() {
        return Err(bad());
    }
    let inner: Vec<String> = toks[4..end].iter().map(|t| t.text().to_string()).collect();
    let expr = translate(&join(&inner), names)?;
    let text = if names.binary_strcmp {
        let bytes = byte_array(lit).ok_or_else(|| {
            format!("with -B, STRCMP's literal is a C array of bytes like \"{{0x6C, 0x00}}\", not {lit}")
        })?;
        let compared: Vec<String> = bytes[..bytes.len().saturating_sub(1)]
            .iter()
            .enumerate()
            .map(|(k, b)| format!("*(uint8 *)({expr} + {k}) == {b}"))
            .collect();
        if compared.is_empty() {
            "1".to_string()
        } else {
            format!("({})", compared.join(" && "))
        }
    } else {
        format!("(strncmp(str({expr}), {lit}, {}) == 0)", lit.len() - 2)
    };
    Ok((text, end + 1))
}

/// The bytes of `"{0x6C, 0, 'a'}"`-style literals (hex, decimal or character items).
fn byte_array(lit: &str) -> Option<Vec<u8>> {
    let body = lit.strip_prefix("\"{")?.strip_suffix("}\"")?;
    body.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            if let Some(hex) = item.strip_prefix("0x").or_else(|| item.strip_prefix("0X")) {
                u8::from_str_radix(hex, 16).ok()
            } else if let Some(c) = item.strip_prefix('\'').and_then(|c| c.strip_suffix('\'')) {
                u8::try_from(c.chars().next()?)
                    .ok()
                    .filter(|_| c.chars().count() == 1)
            } else {
                item.parse().ok()
            }
        })
        .collect()
}

/// The scry type of a C integer cast made of several words (`unsigned long`), and the
/// tokens used (the closing parenthesis included).
fn cast(toks: &[Tok]) -> Option<(String, usize)> {
    let words: Vec<&str> = toks
        .iter()
        .take_while(|t| matches!(t, Tok::Ident(_)))
        .map(Tok::text)
        .collect();
    if words.len() < 2 || toks.get(words.len()).map(Tok::text) != Some(")") {
        return None;
    }
    let written = words.join(" ");
    let is_int = words
        .iter()
        .all(|w| ["unsigned", "signed", "int", "char", "short", "long"].contains(w));
    is_int.then(|| (scry_type(&written), words.len() + 1))
}

/// A C type in scry's words: integers by size and sign (`unsigned int` is `uint32`, `gfp_t`
/// is `uint32`), pointers and records as written (without qualifiers), and any other
/// typedef as `uint64`, the register it arrives in.
pub fn scry_type(c: &str) -> String {
    let words: Vec<&str> = c
        .split_whitespace()
        .filter(|w| !["const", "volatile", "__user"].contains(w))
        .collect();
    let written = words.join(" ");
    if written.contains('*') || written.starts_with("struct ") || written.starts_with("union ") {
        return written;
    }
    let unsigned = words.contains(&"unsigned");
    let signed = words.contains(&"signed");
    let rest: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| *w != "unsigned" && *w != "signed")
        .collect();
    let (bits, is_signed) = match rest.as_slice() {
        [] if unsigned || signed => (32, !unsigned),
        ["int"] => (32, !unsigned),
        ["char"] => (8, !unsigned),
        ["short"] | ["short", "int"] => (16, !unsigned),
        ["long"] | ["long", "int"] | ["long", "long"] | ["long", "long", "int"] => (64, !unsigned),
        ["u8" | "__u8" | "uint8_t"] => (8, false),
        ["s8" | "__s8" | "int8_t"] => (8, true),
        ["u16" | "__u16" | "umode_t" | "uint16_t"] => (16, false),
        ["s16" | "__s16" | "int16_t"] => (16, true),
        ["u32" | "__u32" | "gfp_t" | "uid_t" | "gid_t" | "uint32_t"] => (32, false),
        ["s32" | "__s32" | "pid_t" | "int32_t"] => (32, true),
        ["s64" | "__s64" | "ssize_t" | "loff_t" | "off_t" | "int64_t"] => (64, true),
        _ => (64, false),
    };
    format!("{}int{bits}", if is_signed { "" } else { "u" })
}

/// Tokens back to text, spaced so nothing merges (`a - -1`).
fn join(toks: &[String]) -> String {
    let mut s = String::new();
    for t in toks {
        let glue = matches!(t.as_str(), "(" | ")" | "[" | "]" | "." | ",")
            || t.starts_with("->")
            || s.ends_with(['(', '[', '.'])
            || s.ends_with("->")
            || s.is_empty();
        if !glue {
            s.push(' ');
        }
        s.push_str(t);
        if t == "," {
            s.push(' ');
        }
    }
    s
}

/// Arguments split on top-level commas, trimmed, empty ones dropped.
pub fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut cur) = (0i32, false, String::new());
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            '(' | '[' if !quoted => depth += 1,
            ')' | ']' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect()
}

/// `int fd, char *buf` as (name, type) pairs; a `*` bound to the name moves to the type.
pub fn parse_signature(sig: &str) -> Vec<(String, String)> {
    split_args(sig)
        .into_iter()
        .filter(|p| p != "void")
        .map(|p| {
            let split = p
                .char_indices()
                .rfind(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
                .map_or(0, |(i, c)| i + c.len_utf8());
            let (ty, name) = p.split_at(split);
            (name.to_string(), ty.trim().to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(e: &str) -> String {
        translate(e, &Names::default()).unwrap()
    }

    #[test]
    fn trace_names() {
        assert_eq!(tr("arg1 > 0 && arg10 == 1"), "arg0 > 0 && arg9 == 1");
        assert_eq!(tr("arg2@user"), "arg1");
        assert_eq!(tr("$pid == $tgid"), "tid == pid");
        assert_eq!(tr("(int)retval < 0"), "(int) retval < 0");
        assert_eq!(tr("(unsigned long)retval"), "(uint64) retval");
        assert_eq!(tr("args->prev_comm"), "args->prev_comm");
        assert_eq!(
            tr("sk->sk_dport == 13568"),
            "sk->__sk_common.skc_dport == 13568"
        );
        assert_eq!(tr("sk->sk_drops"), "sk->sk_drops");
        assert_eq!(tr("ctx->dx + 1"), "reg(\"dx\") + 1");
        let binary = Names {
            binary_strcmp: true,
            ..Names::default()
        };
        assert_eq!(
            translate("STRCMP(\"{0x6C, 0x00, 'a', 7}\", arg4)", &binary).unwrap(),
            "(*(uint8 *)(arg3 + 0) == 108 && *(uint8 *)(arg3 + 1) == 0 && *(uint8 *)(arg3 + 2) == 97)"
        );
        assert!(translate("STRCMP(\"abc\", arg1)", &binary).is_err());
        assert_eq!(tr("myretval + 1"), "myretval + 1");
        assert_eq!(
            tr("STRCMP(\"test.txt\", arg1)"),
            "(strncmp(str(arg0), \"test.txt\", 8) == 0)"
        );
    }

    #[test]
    fn signatures_and_argdist() {
        let names = Names {
            params: vec![
                ("fd".into(), "int".into()),
                ("size".into(), "size_t".into()),
            ],
            argdist: Some("p0_".into()),
            binary_strcmp: false,
        };
        assert_eq!(translate("fd == 1", &names).unwrap(), "((int32)arg0) == 1");
        assert_eq!(
            translate("$latency/$entry(size)", &names).unwrap(),
            "(nsecs - @p0_start[tid]) / @p0_entry1[tid]"
        );
        assert_eq!(translate("$PID", &names).unwrap(), "pid");
        assert_eq!(
            translate("$entry(b)", &names).unwrap_err(),
            "$entry(b): no such param"
        );
    }

    #[test]
    fn odd_input_is_an_error_or_text_never_a_panic() {
        let names = Names {
            params: vec![("a".into(), "int".into())],
            argdist: Some("p0_".into()),
            binary_strcmp: false,
        };
        for input in [
            "\"",
            "\"\\",
            "é + ü",
            "(((",
            ")))",
            "arg99999999999999999999",
            "$entry(",
            "$entry(a",
            "STRCMP(",
            "STRCMP(\"x\"",
            "STRCMP(\"x\", (a",
            "ctx->",
            "sk->",
            "->",
            "@",
            "(unsigned",
            "(unsigned long",
            "a ? b : c",
            "\u{0}",
            "",
        ] {
            let _ = translate(input, &names);
            let _ = translate(input, &Names::default());
            let _ = parse_signature(input);
            let _ = split_args(input);
        }
    }

    #[test]
    fn types() {
        assert_eq!(scry_type("unsigned int"), "uint32");
        assert_eq!(scry_type("int"), "int32");
        assert_eq!(scry_type("long long"), "int64");
        assert_eq!(scry_type("const char *"), "char *");
        assert_eq!(scry_type("struct timespec *"), "struct timespec *");
        assert_eq!(scry_type("size_t"), "uint64");
        assert_eq!(scry_type("gfp_t"), "uint32");
        assert_eq!(scry_type("unsigned char"), "uint8");
    }
}
