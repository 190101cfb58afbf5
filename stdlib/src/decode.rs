//! Decoding the bytes of a map key, map value or record argument into a [`Value`], following
//! `scry_ebpf::layout`: integers as 8 bytes (already sign- or zero-extended), strings as their
//! buffer, tuples field by field at 8-aligned offsets, opaque values as the ids that name them;
//! C arrays and structs as C lays them out.

use std::net::Ipv4Addr;

use scry_ebpf::layout;
use scry_lang::types::{StackMode, Type};

use crate::names::Names;
use crate::value::{Int, TextKind, Value};

/// Address family numbers of `ntop`'s records.
const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;

/// Decodes a value of type `ty` stored at the start of `bytes`. Missing bytes read as zeros, so
/// a short buffer never panics.
pub fn decode(ty: &Type, bytes: &[u8], names: &dyn Names) -> Value {
    match ty {
        Type::Int { signed, .. } => Value::Int(read_int(bytes, 8, *signed)),
        Type::Pointer { .. } => Value::Int(read_int(bytes, 8, false)),
        Type::Agg(agg) => Value::Int(read_int(bytes, 8, agg.signed())),
        Type::Str(n) => Value::str(slice(bytes, 0, *n)),
        Type::Buffer(n) => {
            let len = (u64_at(bytes, 0) as usize).min(*n);
            Value::Buffer(padded(bytes, 8, len))
        }
        Type::Tuple(_) => Value::Tuple(
            layout::tuple_fields(ty, 0)
                .iter()
                .map(|f| decode(&f.ty, bytes.get(f.offset..).unwrap_or(&[]), names))
                .collect(),
        ),
        Type::Array { .. } | Type::Struct(_) => decode_c(ty, bytes, names),
        Type::Probe => text(TextKind::Probe, names.probe_name(u64_at(bytes, 0))),
        Type::Username => text(TextKind::Username, names.username(u64_at(bytes, 0))),
        Type::Ksym => text(TextKind::Ksym, names.ksym(u64_at(bytes, 0))),
        Type::Usym => text(
            TextKind::Usym,
            names.usym(u64_at(bytes, 0), u64_at(bytes, 8)),
        ),
        Type::KStack { mode, limit } | Type::UStack { mode, limit } => {
            let user = matches!(ty, Type::UStack { .. });
            let id = u64_at(bytes, 0) as i64;
            // A negative id is a stack the map could not take (counted, reported at exit).
            let frames = if id < 0 {
                Vec::new()
            } else {
                names.stack(user, *limit, id, u64_at(bytes, 8))
            };
            Value::Stack {
                user,
                perf_mode: *mode == StackMode::Perf,
                frames,
            }
        }
        Type::Inet => text(
            TextKind::Inet,
            inet(u64_at(bytes, 0), &padded(bytes, 8, 16)),
        ),
        Type::Timestamp => text(
            TextKind::Timestamp,
            names.timestamp(u64_at(bytes, 0), u64_at(bytes, 8)),
        ),
        Type::Macaddr => text(TextKind::Macaddr, macaddr(&padded(bytes, 0, 6))),
        Type::CgroupPath => text(
            TextKind::CgroupPath,
            names.cgroup_path(u64_at(bytes, 0), u64_at(bytes, 8)),
        ),
        Type::Strerror => text(TextKind::Strerror, names.strerror(u64_at(bytes, 0))),
        Type::None | Type::Args | Type::Record(_) | Type::DataLoc => {
            text(TextKind::Other, String::new())
        }
    }
}

/// Decodes C data (an array, a struct, and what they hold): integers at their own width, not
/// widened to 8 bytes; elements and fields where C lays them out.
fn decode_c(ty: &Type, bytes: &[u8], names: &dyn Names) -> Value {
    match ty {
        Type::Int { bits, signed } => Value::Int(read_int(bytes, *bits as usize / 8, *signed)),
        Type::Array { of, len } => {
            let size = of.size();
            Value::Array(
                (0..*len as usize)
                    .map(|i| decode_c(of, bytes.get(i * size..).unwrap_or(&[]), names))
                    .collect(),
            )
        }
        Type::Struct(s) => Value::Struct(
            s.fields
                .iter()
                .map(|f| {
                    let at = bytes.get(f.offset..).unwrap_or(&[]);
                    let value = match (f.bitfield, &f.ty) {
                        (Some(b), Type::Int { bits, signed }) => {
                            let raw = read_int(at, *bits as usize / 8, false).bits();
                            let v = b.extract(raw, *signed);
                            Value::Int(if *signed {
                                Int::signed(v as i64)
                            } else {
                                Int::unsigned(v)
                            })
                        }
                        _ => decode_c(&f.ty, at, names),
                    };
                    (f.name.clone(), value)
                })
                .collect(),
        ),
        other => decode(other, bytes, names),
    }
}

fn text(kind: TextKind, s: String) -> Value {
    Value::Text(kind, s)
}

/// `len` bytes from `start`, as many as exist.
fn slice(bytes: &[u8], start: usize, len: usize) -> &[u8] {
    let start = start.min(bytes.len());
    &bytes[start..(start + len).min(bytes.len())]
}

/// `len` bytes from `start`, zero-filled past the end of `bytes`.
fn padded(bytes: &[u8], start: usize, len: usize) -> Vec<u8> {
    let mut v = slice(bytes, start, len).to_vec();
    v.resize(len, 0);
    v
}

/// The little-endian u64 at `offset`.
pub(crate) fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    let mut le = [0; 8];
    let there = slice(bytes, offset, 8);
    le[..there.len()].copy_from_slice(there);
    u64::from_le_bytes(le)
}

/// A little-endian integer of `width` bytes (1, 2, 4 or 8), sign- or zero-extended to 64 bits.
fn read_int(bytes: &[u8], width: usize, signed: bool) -> Int {
    let width = width.clamp(1, 8);
    let raw = u64_at(slice(bytes, 0, width), 0);
    let shift = 64 - 8 * width as u32;
    if signed {
        Int::signed(((raw << shift) as i64) >> shift)
    } else {
        Int::unsigned(raw)
    }
}

/// `inet_ntop(3)` of an address family and 16 address bytes (IPv4 uses the first 4). Unknown
/// families give an empty text, as in bpftrace.
pub fn inet(family: u64, addr: &[u8]) -> String {
    let addr = padded(addr, 0, 16);
    match family {
        AF_INET => Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]).to_string(),
        AF_INET6 => inet6(&addr),
        _ => String::new(),
    }
}

/// glibc's `inet_ntop(AF_INET6, ...)`: the longest run (first if tied) of two or more zero
/// groups becomes `::`, and `::a.b.c.d` / `::ffff:a.b.c.d` end in dotted IPv4.
fn inet6(a: &[u8]) -> String {
    let words: Vec<u16> = a
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    let (mut best, mut cur): ((usize, usize), Option<(usize, usize)>) = ((0, 0), None);
    for (i, &w) in words.iter().enumerate() {
        if w == 0 {
            let run = cur.map_or((i, 1), |(s, l)| (s, l + 1));
            cur = Some(run);
            if run.1 > best.1 {
                best = run;
            }
        } else {
            cur = None;
        }
    }
    let (zs, zl) = if best.1 >= 2 { best } else { (usize::MAX, 0) };
    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if i == zs {
            out.push(':');
            i += zl;
            if i == 8 {
                out.push(':');
            }
            continue;
        }
        if i > 0 {
            out.push(':');
        }
        if i == 6 && zs == 0 && (zl == 6 || (zl == 5 && words[5] == 0xffff)) {
            out.push_str(&Ipv4Addr::new(a[12], a[13], a[14], a[15]).to_string());
            break;
        }
        out.push_str(&format!("{:x}", words[i]));
        i += 1;
    }
    out
}

/// A MAC address as bpftrace prints it: `18:C0:4D:08:2E:BB`.
pub fn macaddr(b: &[u8]) -> String {
    let b = padded(b, 0, 6);
    format!(
        "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
        b[0], b[1], b[2], b[3], b[4], b[5]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Frame;

    struct TestNames;

    impl Names for TestNames {
        fn probe_name(&self, id: u64) -> String {
            format!("probe{id}")
        }
        fn username(&self, uid: u64) -> String {
            if uid == 0 {
                "root".into()
            } else {
                uid.to_string()
            }
        }
        fn stack(&self, user: bool, limit: u32, id: i64, pid: u64) -> Vec<Frame> {
            vec![Frame::unresolved(
                (user as u64) << 60 | (limit as u64) << 32 | (id as u64) << 16 | pid,
            )]
        }
    }

    fn le(v: i64) -> Vec<u8> {
        v.to_le_bytes().to_vec()
    }

    #[test]
    fn ints_follow_signedness() {
        let b = le(-1);
        assert_eq!(decode(&Type::I64, &b, &TestNames), Value::int(-1));
        assert_eq!(decode(&Type::U64, &b, &TestNames), Value::uint(u64::MAX));
        let ptr = Type::Pointer {
            to: Box::new(Type::U64),
            space: scry_lang::types::AddrSpace::Kernel,
        };
        assert_eq!(decode(&ptr, &le(16), &TestNames), Value::uint(16));
        assert_eq!(
            decode(&Type::Agg(scry_lang::types::Agg::Count), &le(3), &TestNames),
            Value::uint(3)
        );
    }

    #[test]
    fn strings_stop_at_nul() {
        let b = b"abc\0zz\0\0";
        assert_eq!(decode(&Type::Str(8), b, &TestNames), Value::str("abc"));
        assert_eq!(decode(&Type::Str(2), b, &TestNames), Value::str("ab"));
    }

    #[test]
    fn tuples_are_8_aligned() {
        // (int64, string[3], (uint32, string[9]))
        let ty = Type::Tuple(vec![
            Type::I64,
            Type::Str(3),
            Type::Tuple(vec![Type::U32, Type::Str(9)]),
        ]);
        let mut b = le(-7);
        b.extend_from_slice(b"ab\0\0\0\0\0\0");
        b.extend(le(5));
        b.extend_from_slice(b"123456789\0\0\0\0\0\0\0");
        assert_eq!(
            decode(&ty, &b, &TestNames),
            Value::Tuple(vec![
                Value::int(-7),
                Value::str("ab"),
                Value::Tuple(vec![Value::uint(5), Value::str("123456789")]),
            ])
        );
    }

    #[test]
    fn arrays_are_raw() {
        let ty = Type::Array {
            of: Box::new(Type::Int {
                bits: 8,
                signed: true,
            }),
            len: 3,
        };
        assert_eq!(
            decode(&ty, &[1, 0xff, 3], &TestNames),
            Value::Array(vec![Value::int(1), Value::int(-1), Value::int(3)])
        );
    }

    #[test]
    fn structs_are_c_data() {
        use scry_lang::types::{Bitfield, StructField, StructType};
        let int = |bits, signed| Type::Int { bits, signed };
        let field = |name: &str, ty, offset, bitfield| StructField {
            name: name.into(),
            ty,
            offset,
            bitfield,
        };
        // struct { char c; short h; int lo:4, hi:3; short a[2]; }
        let ty = Type::Struct(Box::new(StructType {
            name: "struct t".into(),
            size: 12,
            align: 4,
            fields: vec![
                field("c", int(8, true), 0, None),
                field("h", int(16, true), 2, None),
                field(
                    "lo",
                    int(32, false),
                    4,
                    Some(Bitfield { shift: 0, width: 4 }),
                ),
                field(
                    "hi",
                    int(32, true),
                    4,
                    Some(Bitfield { shift: 4, width: 3 }),
                ),
                field(
                    "a",
                    Type::Array {
                        of: Box::new(int(16, false)),
                        len: 2,
                    },
                    8,
                    None,
                ),
            ],
        }));
        let bytes = [0xfe, 0, 0x34, 0x12, 0x7b, 0, 0, 0, 1, 0, 0xff, 0xff];
        assert_eq!(
            decode(&ty, &bytes, &TestNames),
            Value::Struct(vec![
                ("c".into(), Value::int(-2)),
                ("h".into(), Value::int(0x1234)),
                ("lo".into(), Value::uint(0xb)),
                ("hi".into(), Value::int(-1)),
                (
                    "a".into(),
                    Value::Array(vec![Value::uint(1), Value::uint(0xffff)])
                ),
            ])
        );
    }

    #[test]
    fn opaque_values() {
        let n = &TestNames;
        assert_eq!(
            decode(&Type::Probe, &le(2), n),
            Value::Text(TextKind::Probe, "probe2".into())
        );
        assert_eq!(
            decode(&Type::Username, &le(0), n),
            Value::Text(TextKind::Username, "root".into())
        );
        assert_eq!(
            decode(&Type::Strerror, &le(2), n),
            Value::Text(TextKind::Strerror, "No such file or directory".into())
        );
        assert_eq!(
            decode(&Type::Ksym, &le(0x1234), n),
            Value::Text(TextKind::Ksym, "0x1234".into())
        );
        let mut usym = le(0x10);
        usym.extend(le(42));
        assert_eq!(
            decode(&Type::Usym, &usym, n),
            Value::Text(TextKind::Usym, "0x10".into())
        );
        let mac = [0x18, 0xc0, 0x4d, 0x08, 0x2e, 0xbb, 0, 0];
        assert_eq!(
            decode(&Type::Macaddr, &mac, n),
            Value::Text(TextKind::Macaddr, "18:C0:4D:08:2E:BB".into())
        );
        let ks = Type::KStack {
            mode: StackMode::Bpftrace,
            limit: 127,
        };
        assert_eq!(
            decode(&ks, &le(7), n),
            Value::Stack {
                user: false,
                perf_mode: false,
                frames: vec![Frame::unresolved(127 << 32 | 7 << 16)],
            }
        );
        let us = Type::UStack {
            mode: StackMode::Perf,
            limit: 5,
        };
        let mut rec = le(2);
        rec.extend(le(42));
        assert_eq!(
            decode(&us, &rec, n),
            Value::Stack {
                user: true,
                perf_mode: true,
                frames: vec![Frame::unresolved(1 << 60 | 5 << 32 | 2 << 16 | 42)],
            }
        );
        // A stack the map could not take has no frames.
        assert_eq!(
            decode(&ks, &le(-17), n),
            Value::Stack {
                user: false,
                perf_mode: false,
                frames: Vec::new(),
            }
        );
    }

    #[test]
    fn buffers_use_their_length() {
        let mut b = le(3);
        b.extend_from_slice(b"v\0wxyz\0\0");
        assert_eq!(
            decode(&Type::Buffer(8), &b, &TestNames),
            Value::Buffer(b"v\0w".to_vec())
        );
        let mut b = le(100);
        b.extend_from_slice(b"ab");
        assert_eq!(
            decode(&Type::Buffer(2), &b, &TestNames),
            Value::Buffer(b"ab".to_vec())
        );
    }

    fn inet_rec(family: u64, addr: &[u8]) -> Vec<u8> {
        let mut b = family.to_le_bytes().to_vec();
        b.extend_from_slice(addr);
        b.resize(24, 0);
        b
    }

    #[test]
    fn inet_like_inet_ntop() {
        // bpftrace 0.17: print(ntop(pton(...))) and print(ntop(0x0100007f)).
        let v4 = decode(&Type::Inet, &inet_rec(AF_INET, &[127, 0, 0, 1]), &TestNames);
        assert_eq!(v4, Value::Text(TextKind::Inet, "127.0.0.1".into()));
        let v6 = |s: &str| {
            let a: std::net::Ipv6Addr = s.parse().unwrap();
            inet(AF_INET6, &a.octets())
        };
        assert_eq!(v6("::1"), "::1");
        assert_eq!(v6("fe80::1:2"), "fe80::1:2");
        assert_eq!(v6("1:0:0:2:0:0:0:3"), "1:0:0:2::3");
        assert_eq!(v6("1:0:2:0:3:0:4:0"), "1:0:2:0:3:0:4:0");
        assert_eq!(v6("::"), "::");
        assert_eq!(v6("1::"), "1::");
        assert_eq!(v6("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(v6("::1.2.3.4"), "::1.2.3.4");
        assert_eq!(v6("2001:db8::ff00:42:8329"), "2001:db8::ff00:42:8329");
        assert_eq!(inet(99, &[1; 16]), "");
    }
}
