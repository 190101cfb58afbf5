//! How values are laid out in map keys, map values and ring-buffer records.
//!
//! Every field starts at a multiple of 8 bytes. Integers are stored as 8 bytes, sign- or
//! zero-extended; strings as their buffer size, padded; tuples field by field. Opaque values are
//! stored as what identifies them: a uid for `username`, a probe id for `probe`, an address for
//! `ksym`/`usym` (plus the pid for `usym`), a stack id for stacks (plus the pid for `ustack`),
//! nanoseconds since boot and a format number for `strftime` timestamps.

use scry_lang::types::Type;

use crate::object::Field;

/// Bytes a value of `ty` takes, padded to a multiple of 8.
pub fn size_of(ty: &Type) -> usize {
    let raw = match ty {
        Type::Int { .. }
        | Type::Probe
        | Type::Username
        | Type::Ksym
        | Type::Macaddr
        | Type::Strerror
        | Type::Pointer { .. }
        | Type::KStack { .. }
        | Type::Agg(_) => 8,
        Type::Usym | Type::UStack { .. } | Type::Timestamp | Type::CgroupPath => 16,
        Type::Str(n) => *n,
        Type::Buffer(n) => 8 + n,
        Type::Inet => 24,
        Type::Tuple(ts) => ts.iter().map(size_of).sum(),
        Type::Array { .. } | Type::Struct(_) => ty.size(),
        Type::None | Type::Args | Type::Record(_) | Type::DataLoc => 0,
    };
    raw.next_multiple_of(8)
}

/// Lays out values one after another from `start`; returns the fields and the end offset.
pub fn fields(types: &[Type], start: usize) -> (Vec<Field>, usize) {
    let mut offset = start;
    let mut out = Vec::with_capacity(types.len());
    for ty in types {
        out.push(Field {
            ty: ty.clone(),
            offset,
        });
        offset += size_of(ty);
    }
    (out, offset)
}

/// The fields of a tuple stored at `start`.
pub fn tuple_fields(ty: &Type, start: usize) -> Vec<Field> {
    match ty {
        Type::Tuple(ts) => fields(ts, start).0,
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_8_byte_aligned() {
        let (f, end) = fields(
            &[
                Type::I64,
                Type::Str(5),
                Type::Tuple(vec![Type::U32, Type::Str(16)]),
            ],
            8,
        );
        let offs: Vec<_> = f.iter().map(|f| f.offset).collect();
        assert_eq!(offs, [8, 16, 24]);
        assert_eq!(end, 48);
        assert_eq!(tuple_fields(&f[2].ty, 24)[1].offset, 32);
    }
}
