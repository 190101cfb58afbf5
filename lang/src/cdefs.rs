//! C definitions from the program's preamble: struct/union layouts and enum constants.

use std::collections::{BTreeMap, BTreeSet};

use crate::ast::{CDefKind, CDefinition};
use crate::diag::Diagnostic;
use crate::types::{AddrSpace, Bitfield, Type};

/// A field of a C struct or union, with its byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CField {
    pub name: String,
    pub ty: Type,
    pub offset: usize,
    /// For a bitfield: where its bits are in the integer of type `ty` at `offset`.
    pub bitfield: Option<Bitfield>,
}

/// The layout of a C struct or union.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CRecord {
    pub size: usize,
    pub align: usize,
    pub fields: Vec<CField>,
}

/// Everything the preamble defines.
#[derive(Clone, Debug, Default)]
pub struct CDefs {
    /// By full name: `struct foo`, `union bar`.
    pub records: BTreeMap<String, CRecord>,
    pub enum_constants: BTreeMap<String, i64>,
}

impl CDefs {
    /// Adds every definition of `later`, replacing this set's of the same name.
    pub fn extend(&mut self, later: &CDefs) {
        self.records
            .extend(later.records.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.enum_constants
            .extend(later.enum_constants.iter().map(|(k, v)| (k.clone(), *v)));
    }

    /// Parses the preamble's definitions, in order (later ones may use earlier ones), over
    /// `known`: definitions they may use without defining them (an earlier source's, the
    /// kernel's), which they may also redefine.
    pub fn from_definitions(defs: &[CDefinition], known: CDefs) -> (CDefs, Vec<Diagnostic>) {
        let mut out = known;
        let mut diags = Vec::new();
        for d in defs {
            let result = match d.kind {
                CDefKind::Enum => out.add_enum(&d.body),
                CDefKind::Struct | CDefKind::Union => out.add_record(d),
            };
            if let Err(msg) = result {
                diags.push(Diagnostic::error(d.span, msg).with_hint(
                    "fields are written `type name;`, `type name[N];`, `type *name;` or `type name:BITS;`",
                ));
            }
        }
        (out, diags)
    }

    /// The structs and unions the bodies of `defs` name (`struct task_struct t;`) that `defs`
    /// do not define themselves.
    pub fn records_named(defs: &[CDefinition]) -> BTreeSet<String> {
        let mut named = BTreeSet::new();
        for d in defs.iter().filter(|d| d.kind != CDefKind::Enum) {
            let words: Vec<&str> = d
                .body
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .collect();
            for pair in words.windows(2) {
                if matches!(pair[0], "struct" | "union") {
                    named.insert(format!("{} {}", pair[0], pair[1]));
                }
            }
        }
        for d in defs {
            let kind = if d.kind == CDefKind::Union {
                "union"
            } else {
                "struct"
            };
            named.remove(&format!("{kind} {}", d.name));
        }
        named
    }

    fn add_enum(&mut self, body: &str) -> Result<(), String> {
        let mut next: i64 = 0;
        for item in body.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, value) = match item.split_once('=') {
                Some((n, v)) => {
                    let v = v.trim();
                    let parsed = match v.strip_prefix('-') {
                        Some(pos) => {
                            crate::lexer::parse_int(pos).map(|n| (n as i64).wrapping_neg())
                        }
                        None => crate::lexer::parse_int(v).map(|n| n as i64),
                    };
                    (
                        n.trim(),
                        parsed.map_err(|_| format!("enum value '{v}' is not an integer"))?,
                    )
                }
                None => (item, next),
            };
            if !is_ident(name) {
                return Err(format!("'{name}' is not a valid enum constant name"));
            }
            self.enum_constants.insert(name.to_string(), value);
            next = value.wrapping_add(1);
        }
        Ok(())
    }

    fn add_record(&mut self, d: &CDefinition) -> Result<(), String> {
        let prefix = if d.kind == CDefKind::Union {
            "union"
        } else {
            "struct"
        };
        let name = format!("{prefix} {}", d.name);
        let record = self.record_layout(&name, &d.body, d.kind == CDefKind::Union)?;
        self.records.insert(name, record);
        Ok(())
    }

    /// Lays out the fields of a struct or union body. A nested definition (`struct { int a; }
    /// x;`) becomes a record of its own, named after its field (`struct foo::x`); one without
    /// a field name is an anonymous member, whose fields are the outer record's.
    fn record_layout(&mut self, name: &str, body: &str, is_union: bool) -> Result<CRecord, String> {
        let mut fields = Vec::new();
        // Bits used so far (bitfields share the bytes of their storage units).
        let mut bits = 0usize;
        let mut size = 0usize;
        let mut align = 1usize;
        for decl in split_fields(body) {
            // Each declarator is laid out on its own; an anonymous member as one block.
            let blocks = match nested_definition(decl) {
                Some((kind, inner, declarators)) => {
                    let outer = name.split_once(' ').map_or(name, |(_, n)| n);
                    let inner_name = match declarator_name(declarators) {
                        Some(field) => format!("{kind} {outer}::{field}"),
                        None => format!("{kind} {outer}::{}", fields.len()),
                    };
                    let record = self.record_layout(&inner_name, inner, kind == "union")?;
                    self.records.insert(inner_name.clone(), record.clone());
                    if declarators.is_empty() {
                        // An anonymous member: its fields belong to the outer record.
                        vec![record]
                    } else {
                        self.single_fields(&inner_name, declarators)?
                    }
                }
                None => {
                    let (base, declarators) = split_base(decl)?;
                    self.single_fields(base, declarators)?
                }
            };
            for block in blocks {
                let end = match block.fields.as_slice() {
                    // A bitfield takes the next bits of a storage unit of its type, or starts
                    // the next unit when it would straddle one (as GCC lays them out on x86-64).
                    [f @ CField {
                        bitfield: Some(b), ..
                    }] => {
                        let unit = block.size * 8;
                        let width = usize::from(b.width);
                        let mut at = if is_union { 0 } else { bits };
                        if at / unit != (at + width - 1) / unit {
                            at = at.next_multiple_of(unit);
                        }
                        let start = at / unit * block.size;
                        fields.push(CField {
                            offset: start,
                            bitfield: Some(Bitfield {
                                shift: (at - start * 8) as u8,
                                width: b.width,
                            }),
                            ..f.clone()
                        });
                        at + width
                    }
                    _ => {
                        let at = if is_union {
                            0
                        } else {
                            bits.div_ceil(8).next_multiple_of(block.align)
                        };
                        fields.extend(block.fields.into_iter().map(|f| CField {
                            offset: at + f.offset,
                            ..f
                        }));
                        (at + block.size) * 8
                    }
                };
                if !is_union {
                    bits = end;
                }
                size = size.max(end.div_ceil(8));
                align = align.max(block.align);
            }
        }
        Ok(CRecord {
            size: size.next_multiple_of(align),
            align,
            fields,
        })
    }

    /// Each of `declarators` (`x, *y, z[4]`, `flags:4`) of base type `base` as a block of one
    /// field; a bitfield's block is its storage unit, its field the bitfield at bit 0.
    fn single_fields(&self, base: &str, declarators: &str) -> Result<Vec<CRecord>, String> {
        declarators
            .split(',')
            .map(|d| {
                let (d, width) = match d.split_once(':') {
                    Some((d, w)) => (d, Some(w.trim())),
                    None => (d, None),
                };
                let (mut ty, name) = self.parse_decl(&format!("{base} {}", d.trim()))?;
                let (size, align) = self.layout(&ty)?;
                let bitfield = match (width, &ty) {
                    (None, _) => None,
                    (Some(w), Type::Int { bits, .. }) => {
                        let width = crate::lexer::parse_int(w)
                            .ok()
                            .and_then(|w| u8::try_from(w).ok())
                            .filter(|w| (1..=*bits).contains(w))
                            .ok_or_else(|| {
                                format!(
                                    "the width of bitfield '{name}' must be 1 to {bits}, not '{w}'"
                                )
                            })?;
                        // Read as unsigned, as bpftrace 0.17 reads every bitfield (C leaves
                        // the signedness of a plain `int` bitfield to the compiler).
                        ty = Type::Int {
                            bits: *bits,
                            signed: false,
                        };
                        Some(Bitfield { shift: 0, width })
                    }
                    (Some(_), t) => {
                        return Err(format!("bitfield '{name}' has type {t}, not an integer"))
                    }
                };
                Ok(CRecord {
                    size,
                    align,
                    fields: vec![CField {
                        name,
                        ty,
                        offset: 0,
                        bitfield,
                    }],
                })
            })
            .collect()
    }

    /// `unsigned long x`, `char name[16]`, `int grid[2][3]`, `struct foo *next` to (type, name).
    fn parse_decl(&self, decl: &str) -> Result<(Type, String), String> {
        let mut decl = decl.trim();
        let mut dims = Vec::new();
        while let Some(d) = decl.strip_suffix(']') {
            let open = d
                .rfind('[')
                .ok_or_else(|| format!("cannot parse field '{decl}'"))?;
            let n = crate::lexer::parse_int(d[open + 1..].trim())
                .map_err(|_| format!("array size in '{decl}' is not an integer"))?;
            dims.push(
                u32::try_from(n).map_err(|_| format!("array size in '{decl}' is too large"))?,
            );
            decl = d[..open].trim();
        }
        let name_start = crate::lexer::trailing_word_start(decl);
        let name = &decl[name_start..];
        let base = decl[..name_start].trim();
        let depth = base.matches('*').count();
        let base = base.trim_end_matches(|c: char| c == '*' || c.is_whitespace());
        if !is_ident(name) || base.is_empty() {
            return Err(format!("cannot parse field '{decl}'"));
        }
        let mut ty = self.base_type(base, depth > 0)?;
        for _ in 0..depth {
            ty = Type::Pointer {
                to: Box::new(ty),
                space: AddrSpace::Unknown,
            };
        }
        // The innermost dimension was stripped first. A plain `char` array reads as a string,
        // as in bpftrace; other byte arrays (`unsigned char`, `uint8_t`) are arrays of integers.
        let plain_char = depth == 0
            && base
                .split_whitespace()
                .filter(|w| !matches!(*w, "const" | "volatile"))
                .eq(["char"]);
        for (i, len) in dims.into_iter().enumerate() {
            ty = if i == 0 && plain_char {
                Type::Str(len as usize)
            } else {
                Type::Array {
                    of: Box::new(ty),
                    len,
                }
            };
        }
        Ok((ty, name.to_string()))
    }

    fn base_type(&self, base: &str, behind_pointer: bool) -> Result<Type, String> {
        let words: Vec<&str> = base
            .split_whitespace()
            .filter(|w| !matches!(*w, "const" | "volatile"))
            .collect();
        if let [kind @ ("struct" | "union"), name] = words.as_slice() {
            let full = format!("{kind} {name}");
            if behind_pointer || self.records.contains_key(&full) {
                return Ok(Type::Record(full));
            }
            return Err(format!("{full} is not defined before its use"));
        }
        if let ["enum", _] = words.as_slice() {
            return Ok(Type::Int {
                bits: 32,
                signed: false,
            });
        }
        if words == ["void"] && behind_pointer {
            return Ok(Type::Int {
                bits: 8,
                signed: false,
            });
        }
        c_int_type(&words).ok_or_else(|| format!("unknown type '{base}'"))
    }

    /// (size, alignment) of a type as C lays it out on x86-64.
    pub fn layout(&self, ty: &Type) -> Result<(usize, usize), String> {
        let mut missing = None;
        ty.c_layout(&mut |name| {
            let r = self.records.get(name).map(|r| (r.size, r.align));
            if r.is_none() {
                missing = Some(name.to_string());
            }
            r
        })
        .ok_or_else(|| match missing {
            Some(name) => format!("{name} is not defined"),
            None => format!("type {ty} cannot be a struct field"),
        })
    }
}

/// C integer type spellings (`unsigned long`, `u32`, `int64_t`, ...) to a [`Type::Int`].
fn c_int_type(words: &[&str]) -> Option<Type> {
    if let [one] = words {
        if let Some((bits, signed)) = crate::ast::int_type_name(one) {
            return Some(Type::Int { bits, signed });
        }
    }
    let signed = !words.contains(&"unsigned");
    let rest: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !matches!(*w, "unsigned" | "signed"))
        .collect();
    let bits = match rest.as_slice() {
        [] | ["int"] => 32,
        ["char"] => 8,
        ["short"] | ["short", "int"] => 16,
        ["long"] | ["long", "int"] | ["long", "long"] | ["long", "long", "int"] => 64,
        _ => return None,
    };
    Some(Type::Int { bits, signed })
}

/// The declarations of a struct body, split at the `;`s outside nested braces.
fn split_fields(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => {
                out.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(body[start..].trim());
    out.retain(|d| !d.is_empty());
    out
}

/// `struct { ... } x` (or `union { ... }`, with or without a tag): the kind, the body and the
/// declarators after it.
fn nested_definition(decl: &str) -> Option<(&str, &str, &str)> {
    let (kind, rest) = decl.split_once(char::is_whitespace).unwrap_or((decl, ""));
    if !matches!(kind, "struct" | "union") {
        return None;
    }
    let open = rest.find('{')?;
    if !rest[..open]
        .trim()
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    let close = rest.rfind('}')?;
    Some((kind, &rest[open + 1..close], rest[close + 1..].trim()))
}

/// The name the first of `declarators` declares: `x` of `*x[4], y`.
fn declarator_name(declarators: &str) -> Option<&str> {
    let d = declarators.split(',').next()?.split('[').next()?;
    let name = d
        .trim_start_matches(|c: char| c == '*' || c.is_whitespace())
        .trim();
    is_ident(name).then_some(name)
}

/// `unsigned int a, *b` to its base type (`unsigned int`) and declarators (`a, *b`).
fn split_base(decl: &str) -> Result<(&str, &str), String> {
    let first = decl.split([',', ':']).next().unwrap_or(decl);
    let mut end = first.trim_end();
    while let Some(d) = end.strip_suffix(']') {
        end = d.rfind('[').map_or("", |o| d[..o].trim_end());
    }
    let name_start = crate::lexer::trailing_word_start(end);
    let base = end[..name_start].trim_end_matches(|c: char| c == '*' || c.is_whitespace());
    if base.is_empty() {
        return Err(format!("cannot parse field '{decl}'"));
    }
    Ok((base, &decl[base.len()..]))
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && !s.as_bytes()[0].is_ascii_digit()
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Span;

    fn def(kind: CDefKind, name: &str, body: &str) -> CDefinition {
        CDefinition {
            kind,
            name: name.into(),
            body: body.into(),
            span: Span::default(),
        }
    }

    #[test]
    fn struct_layout() {
        let (c, d) = CDefs::from_definitions(
            &[
                def(CDefKind::Struct, "in", "char c; long x;"),
                def(
                    CDefKind::Struct,
                    "s",
                    "int a; char name[5]; struct in inner; struct s *next; unsigned short u",
                ),
            ],
            CDefs::default(),
        );
        assert!(d.is_empty(), "{d:?}");
        let s = &c.records["struct s"];
        let offs: Vec<_> = s
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.offset))
            .collect();
        assert_eq!(
            offs,
            [
                ("a", 0),
                ("name", 4),
                ("inner", 16),
                ("next", 32),
                ("u", 40)
            ]
        );
        assert_eq!(s.size, 48);
    }

    #[test]
    fn nested_arrays_and_declarator_lists() {
        let (c, d) = CDefs::from_definitions(&[def(
            CDefKind::Struct,
            "f",
            "struct { int m[1]; } y; struct { int n; } a; int g[2][3]; char s[4]; uint8_t b[4]; \
             union { long l; char c; }; short p, *q;",
        )], CDefs::default());
        assert!(d.is_empty(), "{d:?}");
        let f = &c.records["struct f"];
        let shown: Vec<_> = f
            .fields
            .iter()
            .map(|f| format!("{} {} {}", f.name, f.ty, f.offset))
            .collect();
        assert_eq!(
            shown,
            [
                "y struct f::y 0",
                "a struct f::a 4",
                "g int32[2][3] 8",
                "s string[4] 32",
                "b unsigned int8[4] 36",
                "l int64 40",
                "c int8 40",
                "p int16 48",
                "q int16 * 56",
            ]
        );
        assert_eq!(f.size, 64);
        assert_eq!(c.records["struct f::y"].size, 4);
    }

    #[test]
    fn bitfields_as_gcc_lays_them_out() {
        let (c, d) = CDefs::from_definitions(
            &[
                def(
                    CDefKind::Struct,
                    "a",
                    "unsigned int a:4, b:8, c:3, d:1, e:16",
                ),
                def(
                    CDefKind::Struct,
                    "b",
                    "short a:4, b:8, c:3, d:1; int e:9, f:15, g:1, h:2, i:5; char z",
                ),
            ],
            CDefs::default(),
        );
        assert!(d.is_empty(), "{d:?}");
        let shown = |r: &CRecord| -> Vec<(usize, u8, u8)> {
            r.fields
                .iter()
                .map(|f| {
                    let b = f.bitfield.unwrap_or(Bitfield { shift: 0, width: 0 });
                    (f.offset, b.shift, b.width)
                })
                .collect()
        };
        let a = &c.records["struct a"];
        assert_eq!(
            shown(a),
            [(0, 0, 4), (0, 4, 8), (0, 12, 3), (0, 15, 1), (0, 16, 16)]
        );
        assert_eq!(a.size, 4);
        let b = &c.records["struct b"];
        assert_eq!(
            shown(b),
            [
                (0, 0, 4),
                (0, 4, 8),
                (0, 12, 3),
                (0, 15, 1),
                (0, 16, 9),
                (4, 0, 15),
                (4, 15, 1),
                (4, 16, 2),
                (4, 18, 5),
                (7, 0, 0)
            ]
        );
        assert_eq!(b.size, 8);
    }

    #[test]
    fn enum_values() {
        let (c, _) = CDefs::from_definitions(
            &[def(CDefKind::Enum, "e", "A = 3, B, C = -1, D")],
            CDefs::default(),
        );
        assert_eq!(c.enum_constants["A"], 3);
        assert_eq!(c.enum_constants["B"], 4);
        assert_eq!(c.enum_constants["C"], -1);
        assert_eq!(c.enum_constants["D"], 0);
    }
}
