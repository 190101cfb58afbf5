//! Kernel types from BTF (`/sys/kernel/btf/vmlinux`, read with the `btf-rs` crate), turned
//! into the checker's record layouts.

use std::fmt;

use btf_rs::{Btf, BtfType, Struct, Type as BtfTy};
use scry_lang::cdefs::{CField, CRecord};
use scry_lang::types::{AddrSpace, Type};

/// Where the running kernel describes its types.
const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// Typedef and pointer chains longer than this are cut (BTF has no cycles through them, but a
/// corrupt file must not recurse forever).
const MAX_DEPTH: usize = 32;

/// The kernel's BTF.
pub(crate) struct KernelBtf(Btf);

impl fmt::Debug for KernelBtf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KernelBtf")
    }
}

impl KernelBtf {
    /// Reads the running kernel's BTF.
    pub(crate) fn open() -> Result<KernelBtf, String> {
        Btf::from_file(VMLINUX).map(KernelBtf).map_err(|e| {
            format!("cannot read kernel types from {VMLINUX} (a kernel built with CONFIG_DEBUG_INFO_BTF has it): {e}")
        })
    }

    /// The layout of `struct X`, `union X`, `struct #ID` (an anonymous one, by BTF id) or a
    /// typedef naming a struct or union; `None` when BTF has no such type.
    pub(crate) fn record(&self, name: &str) -> Option<CRecord> {
        let (kind, bare) = match name.split_once(' ') {
            Some((k @ ("struct" | "union"), rest)) => (Some(k == "union"), rest.trim()),
            _ => (None, name.trim()),
        };
        if let Some(id) = bare.strip_prefix('#').and_then(|n| n.parse::<u32>().ok()) {
            return match self.0.resolve_type_by_id(id).ok()? {
                BtfTy::Struct(s) | BtfTy::Union(s) => Some(self.to_record(&s)),
                _ => None,
            };
        }
        let types = self.0.resolve_types_by_name(bare).ok()?;
        types.into_iter().find_map(|t| match (kind, t) {
            (Some(false), BtfTy::Struct(s)) | (Some(true), BtfTy::Union(s)) => {
                Some(self.to_record(&s))
            }
            (None, BtfTy::Typedef(td)) => match self.strip_modifiers(td.get_type_id()?)?.1 {
                BtfTy::Struct(s) | BtfTy::Union(s) => Some(self.to_record(&s)),
                _ => None,
            },
            _ => None,
        })
    }

    /// The record of a struct or union: its fields (those of anonymous members inlined),
    /// without bitfields and types scry cannot hold (floats, 128-bit integers).
    fn to_record(&self, s: &Struct) -> CRecord {
        let mut fields = Vec::new();
        self.flatten(s, 0, &mut fields, 0);
        let size = s.size();
        let align = [8, 4, 2]
            .into_iter()
            .find(|a| size.is_multiple_of(*a))
            .unwrap_or(1);
        CRecord {
            size,
            align,
            fields,
        }
    }

    fn flatten(&self, s: &Struct, base: usize, out: &mut Vec<CField>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for m in &s.members {
            let bitfield =
                m.bitfield_size().is_some_and(|n| n > 0) || !m.bit_offset().is_multiple_of(8);
            let Some(id) = m.get_type_id() else { continue };
            if bitfield {
                continue;
            }
            let offset = base + (m.bit_offset() / 8) as usize;
            let name = self.0.resolve_name(m).unwrap_or_default();
            if name.is_empty() {
                if let Some((_, BtfTy::Struct(inner) | BtfTy::Union(inner))) =
                    self.strip_modifiers(id)
                {
                    self.flatten(&inner, offset, out, depth + 1);
                }
                continue;
            }
            if let Some(ty) = self.convert(id, 0) {
                out.push(CField { name, ty, offset });
            }
        }
    }

    /// Follows typedefs and qualifiers to the type they name: (its id, the type).
    fn strip_modifiers(&self, mut id: u32) -> Option<(u32, BtfTy)> {
        for _ in 0..MAX_DEPTH {
            let t = self.0.resolve_type_by_id(id).ok()?;
            match &t {
                BtfTy::Typedef(_)
                | BtfTy::Volatile(_)
                | BtfTy::Const(_)
                | BtfTy::Restrict(_)
                | BtfTy::TypeTag(_) => id = t.as_btf_type()?.get_type_id()?,
                _ => return Some((id, t)),
            }
        }
        None
    }

    /// The scry type of BTF type `id`; `None` for what scry cannot hold.
    fn convert(&self, id: u32, depth: usize) -> Option<Type> {
        if depth > MAX_DEPTH {
            return None;
        }
        let (id, t) = self.strip_modifiers(id)?;
        Some(match t {
            BtfTy::Int(i) if matches!(i.size(), 1 | 2 | 4 | 8) => Type::Int {
                bits: (i.size() * 8) as u8,
                signed: i.is_signed(),
            },
            BtfTy::Enum(e) if matches!(e.size(), 1 | 2 | 4 | 8) => Type::Int {
                bits: (e.size() * 8) as u8,
                signed: e.is_signed(),
            },
            BtfTy::Enum64(e) => Type::Int {
                bits: 64,
                signed: e.is_signed(),
            },
            BtfTy::Ptr(p) => {
                // What scry cannot type behind a pointer (void, functions) reads as bytes.
                let to = p
                    .get_type_id()
                    .and_then(|to| self.convert(to, depth + 1))
                    .unwrap_or(Type::Int {
                        bits: 8,
                        signed: false,
                    });
                Type::Pointer {
                    to: Box::new(to),
                    space: AddrSpace::Kernel,
                }
            }
            BtfTy::Array(a) => Type::Array {
                of: Box::new(self.convert(a.get_type_id()?, depth + 1)?),
                len: u32::try_from(a.len()).ok()?,
            },
            BtfTy::Struct(s) => Type::Record(self.record_name("struct", id, &s)),
            BtfTy::Union(s) => Type::Record(self.record_name("union", id, &s)),
            BtfTy::Fwd(f) => {
                let kind = if f.is_union() { "union" } else { "struct" };
                Type::Record(format!("{kind} {}", self.0.resolve_name(&f).ok()?))
            }
            _ => return None,
        })
    }

    /// `struct name`, or `struct #ID` for an anonymous one.
    fn record_name(&self, kind: &str, id: u32, s: &Struct) -> String {
        match self.0.resolve_name(s) {
            Ok(name) if !name.is_empty() => format!("{kind} {name}"),
            _ => format!("{kind} #{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(r: &'a CRecord, name: &str) -> &'a CField {
        r.fields
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no field {name}"))
    }

    #[test]
    fn task_struct_from_the_running_kernel() {
        let Ok(btf) = KernelBtf::open() else {
            return;
        };
        let task = btf.record("struct task_struct").expect("task_struct");
        assert!(task.size > 1000);
        // The kernel builds with -funsigned-char since 6.2; either way it is 16 bytes.
        assert!(matches!(
            &field(&task, "comm").ty,
            Type::Array { of, len: 16 } if matches!(**of, Type::Int { bits: 8, .. })
        ));
        assert_eq!(
            field(&task, "real_parent").ty,
            Type::Pointer {
                to: Box::new(Type::Record("struct task_struct".into())),
                space: AddrSpace::Kernel
            }
        );
        assert_eq!(
            field(&task, "pid").ty,
            Type::Int {
                bits: 32,
                signed: true
            }
        );
        // `se` is an embedded struct; `__state` sits in the record itself.
        assert_eq!(
            field(&task, "se").ty,
            Type::Record("struct sched_entity".into())
        );
        assert!(btf.record("struct no_such_struct_xyz").is_none());
        // A typedef of an anonymous struct, and that struct by its id.
        let atomic = btf.record("atomic_t").expect("atomic_t");
        assert_eq!(field(&atomic, "counter").offset, 0);
        assert_eq!(atomic.size, 4);
    }
}
