//! C definitions from the program's preamble: struct/union layouts and enum constants.

use std::collections::BTreeMap;

use crate::ast::{CDefKind, CDefinition};
use crate::diag::Diagnostic;
use crate::types::{AddrSpace, Type};

/// A field of a C struct or union, with its byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CField {
    pub name: String,
    pub ty: Type,
    pub offset: usize,
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
    /// Adds the definitions of `earlier` that this set does not define itself.
    pub fn inherit(&mut self, earlier: &CDefs) {
        for (name, r) in &earlier.records {
            self.records
                .entry(name.clone())
                .or_insert_with(|| r.clone());
        }
        for (name, v) in &earlier.enum_constants {
            self.enum_constants.entry(name.clone()).or_insert(*v);
        }
    }

    /// Adds every definition of `later`, replacing this set's of the same name.
    pub fn extend(&mut self, later: &CDefs) {
        self.records
            .extend(later.records.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.enum_constants
            .extend(later.enum_constants.iter().map(|(k, v)| (k.clone(), *v)));
    }

    /// Parses the preamble's definitions, in order (later ones may use earlier ones).
    pub fn from_definitions(defs: &[CDefinition]) -> (CDefs, Vec<Diagnostic>) {
        let mut out = CDefs::default();
        let mut diags = Vec::new();
        for d in defs {
            let result = match d.kind {
                CDefKind::Enum => out.add_enum(&d.body),
                CDefKind::Struct | CDefKind::Union => out.add_record(d),
            };
            if let Err(msg) = result {
                diags.push(Diagnostic::error(d.span, msg).with_hint(
                    "fields are written `type name;`, `type name[N];` or `type *name;`",
                ));
            }
        }
        (out, diags)
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
        let is_union = d.kind == CDefKind::Union;
        let mut fields = Vec::new();
        let mut offset = 0usize;
        let mut size = 0usize;
        let mut align = 1usize;
        for decl in d.body.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let (ty, name) = self.parse_decl(decl)?;
            let (fsize, falign) = self.layout(&ty)?;
            let at = if is_union {
                0
            } else {
                offset.next_multiple_of(falign)
            };
            fields.push(CField {
                name,
                ty,
                offset: at,
            });
            offset = at + fsize;
            size = size.max(offset);
            align = align.max(falign);
        }
        let prefix = if is_union { "union" } else { "struct" };
        self.records.insert(
            format!("{prefix} {}", d.name),
            CRecord {
                size: size.next_multiple_of(align),
                align,
                fields,
            },
        );
        Ok(())
    }

    /// `unsigned long x`, `char name[16]`, `struct foo *next` to (type, name).
    fn parse_decl(&self, decl: &str) -> Result<(Type, String), String> {
        let (decl, array) = match decl.strip_suffix(']') {
            Some(d) => {
                let open = d
                    .rfind('[')
                    .ok_or_else(|| format!("cannot parse field '{decl}'"))?;
                let n = crate::lexer::parse_int(d[open + 1..].trim())
                    .map_err(|_| format!("array size in '{decl}' is not an integer"))?;
                (d[..open].trim(), Some(n as u32))
            }
            None => (decl, None),
        };
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
        if let Some(len) = array {
            ty = Type::Array {
                of: Box::new(ty),
                len,
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
        Ok(match ty {
            Type::Int { bits, .. } => (*bits as usize / 8, *bits as usize / 8),
            Type::Pointer { .. } => (8, 8),
            Type::Array { of, len } => {
                let (s, a) = self.layout(of)?;
                (s * *len as usize, a)
            }
            Type::Record(name) => {
                let r = self
                    .records
                    .get(name)
                    .ok_or_else(|| format!("{name} is not defined"))?;
                (r.size, r.align)
            }
            other => return Err(format!("type {other} cannot be a struct field")),
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
        let (c, d) = CDefs::from_definitions(&[
            def(CDefKind::Struct, "in", "char c; long x;"),
            def(
                CDefKind::Struct,
                "s",
                "int a; char name[5]; struct in inner; struct s *next; unsigned short u",
            ),
        ]);
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
    fn enum_values() {
        let (c, _) = CDefs::from_definitions(&[def(CDefKind::Enum, "e", "A = 3, B, C = -1, D")]);
        assert_eq!(c.enum_constants["A"], 3);
        assert_eq!(c.enum_constants["B"], 4);
        assert_eq!(c.enum_constants["C"], -1);
        assert_eq!(c.enum_constants["D"], 0);
    }
}
