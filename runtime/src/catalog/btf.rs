//! Kernel types from BTF (`/sys/kernel/btf/vmlinux`, read with the `btf-rs` crate), turned
//! into the checker's record layouts.

use std::fmt;

use btf_rs::{Btf, BtfType, Member, Struct, Type as BtfTy};
use scry_lang::catalog::{KernelFunction, KernelParam};
use scry_lang::cdefs::{CField, CRecord};
use scry_lang::types::{AddrSpace, Bitfield, Type};

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
        // Read whole, then parsed in memory: btf-rs's file reader seeks once per type
        // (~250,000 lseek calls for a kernel's BTF).
        std::fs::read(VMLINUX)
            .map_err(|e| e.to_string())
            .and_then(|bytes| Btf::from_bytes(&bytes).map_err(|e| e.to_string()))
            .map(KernelBtf)
            .map_err(|e| {
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

    /// The value of enumerator `name` of a kernel enum.
    pub(crate) fn enum_value(&self, name: &str) -> Option<i64> {
        // Type ids run from 1 up to the last type.
        let mut id = 1;
        while let Ok(t) = self.0.resolve_type_by_id(id) {
            let found = match &t {
                BtfTy::Enum(e) => e
                    .members
                    .iter()
                    .find(|m| self.0.resolve_name(*m).is_ok_and(|n| n == name))
                    .map(|m| {
                        if e.is_signed() {
                            i64::from(m.val() as i32)
                        } else {
                            i64::from(m.val())
                        }
                    }),
                BtfTy::Enum64(e) => e
                    .members
                    .iter()
                    .find(|m| self.0.resolve_name(*m).is_ok_and(|n| n == name))
                    .map(|m| m.val() as i64),
                _ => None,
            };
            if found.is_some() {
                return found;
            }
            id += 1;
        }
        None
    }

    /// The BTF id of kernel function `name` (what fentry/fexit programs are loaded for).
    pub(crate) fn function_id(&self, name: &str) -> Option<u32> {
        let ids = self.0.resolve_ids_by_name(name).ok()?;
        ids.into_iter()
            .find(|id| matches!(self.0.resolve_type_by_id(*id), Ok(BtfTy::Func(_))))
    }

    /// Names of every kernel function BTF describes, sorted.
    pub(crate) fn function_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        // Type ids run from 1 up to the last type.
        let mut id = 1;
        while let Ok(t) = self.0.resolve_type_by_id(id) {
            if let BtfTy::Func(f) = t {
                if let Ok(name) = self.0.resolve_name(&f) {
                    names.push(name);
                }
            }
            id += 1;
        }
        names.sort();
        names.dedup();
        names
    }

    /// The prototype of kernel function `name`.
    pub(crate) fn function(&self, name: &str) -> Option<KernelFunction> {
        let id = self.function_id(name)?;
        let BtfTy::Func(f) = self.0.resolve_type_by_id(id).ok()? else {
            return None;
        };
        let BtfTy::FuncProto(proto) = self.0.resolve_type_by_id(f.get_type_id()?).ok()? else {
            return None;
        };
        let mut params = Vec::new();
        for (i, p) in proto.parameters.iter().enumerate() {
            if p.is_variadic() {
                break;
            }
            let tid = p.get_type_id()?;
            let name = match self.0.resolve_name(p) {
                Ok(n) if !n.is_empty() => n,
                _ => format!("arg{i}"),
            };
            params.push(KernelParam {
                name,
                c_type: self.c_name(tid, 0),
                ty: self.convert(tid, 0),
                size: self.size_of(tid).unwrap_or(8),
            });
        }
        let ret = proto.return_type_id();
        Some(KernelFunction {
            btf_id: id,
            params,
            ret_c_type: self.c_name(ret, 0),
            ret: if ret == 0 { None } else { self.convert(ret, 0) },
        })
    }

    /// Bytes of a value of type `id` (integers, enums, pointers; `None` for the rest).
    fn size_of(&self, id: u32) -> Option<u32> {
        Some(match self.strip_modifiers(id)?.1 {
            BtfTy::Int(i) => i.size() as u32,
            BtfTy::Enum(e) => e.size() as u32,
            BtfTy::Enum64(_) | BtfTy::Ptr(_) => 8,
            BtfTy::Struct(s) | BtfTy::Union(s) => s.size() as u32,
            _ => return None,
        })
    }

    /// Type `id` as C spells it: typedef names kept (`size_t`), `struct file *`, `const char *`.
    fn c_name(&self, id: u32, depth: usize) -> String {
        if id == 0 {
            return "void".into();
        }
        let Ok(t) = self.0.resolve_type_by_id(id) else {
            return "?".into();
        };
        if depth > MAX_DEPTH {
            return "?".into();
        }
        let named = |prefix: &str, t: &dyn BtfType| {
            let name = self.0.resolve_name(t).unwrap_or_default();
            if name.is_empty() {
                format!("{prefix}#{id}").trim_start().to_string()
            } else if prefix.is_empty() {
                name
            } else {
                format!("{prefix}{name}")
            }
        };
        let inner = |t: &BtfTy| {
            t.as_btf_type()
                .and_then(|b| b.get_type_id())
                .map_or_else(|| "void".to_string(), |to| self.c_name(to, depth + 1))
        };
        match &t {
            BtfTy::Void => "void".into(),
            BtfTy::Int(i) => named("", i),
            BtfTy::Float(f) => named("", f),
            BtfTy::Typedef(td) => named("", td),
            BtfTy::Struct(s) => named("struct ", s),
            BtfTy::Union(s) => named("union ", s),
            BtfTy::Enum(e) => named("enum ", e),
            BtfTy::Enum64(e) => named("enum ", e),
            BtfTy::Fwd(f) => named(if f.is_union() { "union " } else { "struct " }, f),
            BtfTy::Ptr(_) => {
                let to = inner(&t);
                if to.ends_with('*') {
                    format!("{to}*")
                } else {
                    format!("{to} *")
                }
            }
            BtfTy::Const(_) => format!("const {}", inner(&t)),
            BtfTy::Volatile(_) => format!("volatile {}", inner(&t)),
            BtfTy::Restrict(_) | BtfTy::TypeTag(_) => inner(&t),
            BtfTy::FuncProto(_) => "void (*)()".into(),
            BtfTy::Array(a) => format!(
                "{}[{}]",
                a.get_type_id()
                    .map_or_else(|| "?".to_string(), |to| self.c_name(to, depth + 1)),
                a.len()
            ),
            _ => "?".into(),
        }
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
            let Some(id) = m.get_type_id() else { continue };
            let width = m.bitfield_size().unwrap_or(0);
            if width > 0 || !m.bit_offset().is_multiple_of(8) {
                if let Some(f) = self.bitfield(m, id, base, width) {
                    out.push(f);
                }
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
                out.push(CField {
                    name,
                    ty,
                    offset,
                    bitfield: None,
                });
            }
        }
    }

    /// A bitfield member: its storage unit (an integer of its type, aligned as its type) and
    /// its bits there; `None` when its bits straddle two units (packed structs).
    fn bitfield(&self, m: &Member, id: u32, base: usize, width: u32) -> Option<CField> {
        // Read as unsigned, as bpftrace 0.17 reads every bitfield.
        let Type::Int { bits, .. } = self.convert(id, 0)? else {
            return None;
        };
        let ty = Type::Int {
            bits,
            signed: false,
        };
        let (bit, unit) = (m.bit_offset(), u32::from(bits));
        let start = bit / unit * unit;
        let shift = bit - start;
        if width == 0 || shift + width > unit {
            return None;
        }
        Some(CField {
            name: self.0.resolve_name(m).ok().filter(|n| !n.is_empty())?,
            ty,
            offset: base + (start / 8) as usize,
            bitfield: Some(Bitfield {
                shift: shift as u8,
                width: width as u8,
            }),
        })
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
            BtfTy::Array(a) => {
                let len = u32::try_from(a.len()).ok()?;
                match self.convert(a.get_type_id()?, depth + 1)? {
                    // C char arrays read as strings, as in bpftrace.
                    Type::Int { bits: 8, .. } => Type::Str(len as usize),
                    of => Type::Array {
                        of: Box::new(of),
                        len,
                    },
                }
            }
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
        // A char array reads as a string (the kernel builds with -funsigned-char since 6.2).
        assert_eq!(field(&task, "comm").ty, Type::Str(16));
        // Bitfields: the storage unit and the bits there.
        let bits = field(&task, "in_execve");
        assert!(matches!(bits.ty, Type::Int { .. }));
        assert_eq!(bits.bitfield.map(|b| b.width), Some(1));
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
        let read = btf.function("vfs_read").expect("vfs_read");
        let decls: Vec<String> = read
            .params
            .iter()
            .map(|p| format!("{} {}", p.c_type, p.name))
            .collect();
        assert_eq!(
            decls,
            [
                "struct file * file",
                "char * buf",
                "size_t count",
                "loff_t * pos"
            ]
        );
        assert_eq!(read.ret_c_type, "ssize_t");
        assert_eq!(read.params[2].size, 8);
        assert!(btf.function_id("vfs_read").is_some());
        assert!(btf.function("no_such_function_xyz").is_none());
        // A typedef of an anonymous struct, and that struct by its id.
        let atomic = btf.record("atomic_t").expect("atomic_t");
        assert_eq!(field(&atomic, "counter").offset, 0);
        assert_eq!(atomic.size, 4);
    }
}
