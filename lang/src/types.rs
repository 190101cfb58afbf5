//! The types of scry values, as the checker infers them.

use std::fmt;

/// Stack walking modes of `kstack`/`ustack`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StackMode {
    Bpftrace,
    Perf,
}

/// An aggregation kept in a map. A sum's `signed` is its first value's signedness; avg, min,
/// max and stats are always signed (bpftrace 0.17, docs/integers.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Agg {
    Count,
    Sum { signed: bool },
    Avg,
    Min,
    Max,
    Stats,
    Hist,
    Lhist { min: i64, max: i64, step: i64 },
}

impl Agg {
    pub fn name(self) -> &'static str {
        match self {
            Agg::Count => "count",
            Agg::Sum { .. } => "sum",
            Agg::Avg => "avg",
            Agg::Min => "min",
            Agg::Max => "max",
            Agg::Stats => "stats",
            Agg::Hist => "hist",
            Agg::Lhist { .. } => "lhist",
        }
    }

    /// Whether its values compare and print as signed (read as a number: count, hist and lhist
    /// are not).
    pub fn signed(self) -> bool {
        match self {
            Agg::Sum { signed } => signed,
            Agg::Avg | Agg::Min | Agg::Max | Agg::Stats => true,
            Agg::Count | Agg::Hist | Agg::Lhist { .. } => false,
        }
    }

    /// Whether `other` may feed the same map as `self`: the same function (values of either
    /// signedness mix; the first call's signedness stays), and for lhist the same buckets.
    pub fn same_function(self, other: Agg) -> bool {
        match (self, other) {
            (Agg::Lhist { .. }, _) => self == other,
            _ => std::mem::discriminant(&self) == std::mem::discriminant(&other),
        }
    }

    /// Whether reading the aggregation as a number makes sense (`$v = @count`).
    pub fn reads_as_int(self) -> bool {
        matches!(
            self,
            Agg::Count | Agg::Sum { .. } | Agg::Avg | Agg::Min | Agg::Max
        )
    }
}

/// Where a pointer points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddrSpace {
    Kernel,
    User,
    Unknown,
}

/// A C struct or union held by value: its layout, nested structs expanded (structs behind
/// pointers stay [`Type::Record`] names), so that it is stored, printed and decoded on its own.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StructType {
    /// `struct foo`, `union bar`.
    pub name: String,
    pub size: usize,
    pub align: usize,
    pub fields: Vec<StructField>,
}

/// A field of a [`StructType`], at its byte offset.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StructField {
    pub name: String,
    pub ty: Type,
    pub offset: usize,
    /// For a bitfield: where its bits are in the value of `ty` read at `offset`.
    pub bitfield: Option<Bitfield>,
}

/// The bits of a C bitfield: `width` bits from bit `shift` (the lowest is 0) of the storage
/// unit, an integer of the field's type read at the field's offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Bitfield {
    pub shift: u8,
    pub width: u8,
}

impl Bitfield {
    /// The field's value in a storage unit `raw`, sign-extended when `signed`.
    pub fn extract(self, raw: u64, signed: bool) -> u64 {
        let up = 64 - u32::from(self.shift) - u32::from(self.width);
        let down = 64 - u32::from(self.width);
        if signed {
            (((raw << up) as i64) >> down) as u64
        } else {
            (raw << up) >> down
        }
    }
}

/// The type of a value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// No value (statements, calls without a result).
    None,
    Int {
        bits: u8,
        signed: bool,
    },
    /// A NUL-padded string buffer of this many bytes (NUL included).
    Str(usize),
    Tuple(Vec<Type>),
    KStack {
        mode: StackMode,
        limit: u32,
    },
    UStack {
        mode: StackMode,
        limit: u32,
    },
    Ksym,
    Usym,
    /// An IP address from `ntop`, holding this many address bytes (4 or 16).
    Inet,
    /// Raw bytes from `buf`, at most this many.
    Buffer(usize),
    Username,
    Probe,
    Timestamp,
    Macaddr,
    CgroupPath,
    Strerror,
    Pointer {
        to: Box<Type>,
        space: AddrSpace,
    },
    /// A C struct or union, by name (`struct task_struct`): what a pointer points to.
    Record(String),
    /// A C struct or union held by value (`*(struct foo *)p`, a field that is a struct).
    Struct(Box<StructType>),
    Array {
        of: Box<Type>,
        len: u32,
    },
    /// `args` of a tracepoint (or the arguments of a typed probe): fields by name.
    Args,
    /// A tracepoint `__data_loc` field: only `str()` reads it.
    DataLoc,
    Agg(Agg),
}

impl Type {
    pub const I64: Type = Type::Int {
        bits: 64,
        signed: true,
    };
    pub const U64: Type = Type::Int {
        bits: 64,
        signed: false,
    };
    pub const U32: Type = Type::Int {
        bits: 32,
        signed: false,
    };

    pub fn is_int(&self) -> bool {
        matches!(self, Type::Int { .. })
    }

    pub fn is_signed(&self) -> bool {
        matches!(self, Type::Int { signed: true, .. })
    }

    pub fn is_str(&self) -> bool {
        matches!(self, Type::Str(_))
    }

    pub fn is_pointer(&self) -> bool {
        matches!(self, Type::Pointer { .. })
    }

    /// Values printed with `%s` (strings and the opaque printable types).
    pub fn prints_as_string(&self) -> bool {
        matches!(
            self,
            Type::Str(_)
                | Type::KStack { .. }
                | Type::UStack { .. }
                | Type::Ksym
                | Type::Usym
                | Type::Inet
                | Type::Buffer(_)
                | Type::Username
                | Type::Probe
                | Type::Timestamp
                | Type::Macaddr
                | Type::CgroupPath
                | Type::Strerror
        )
    }

    /// Whether values of `self` and `other` may share one variable or map slot. Strings of
    /// different sizes, and integers of different widths, may.
    pub fn compatible(&self, other: &Type) -> bool {
        match (self, other) {
            (Type::Int { .. }, Type::Int { .. }) => true,
            (Type::Str(_), Type::Str(_)) | (Type::Buffer(_), Type::Buffer(_)) => true,
            (Type::Tuple(a), Type::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.compatible(y))
            }
            (Type::KStack { .. }, Type::KStack { .. })
            | (Type::UStack { .. }, Type::UStack { .. }) => self == other,
            // A pointer steps by its pointee's size: pointers to other types do not mix.
            (Type::Pointer { to: a, .. }, Type::Pointer { to: b, .. }) => a == b,
            (Type::Agg(a), Type::Agg(b)) => a.same_function(*b),
            _ => self == other,
        }
    }

    /// The type that holds values of both (the wider string or integer).
    pub fn widen(&self, other: &Type) -> Type {
        match (self, other) {
            (Type::Int { bits: a, signed }, Type::Int { bits: b, .. }) => Type::Int {
                bits: (*a).max(*b),
                signed: *signed,
            },
            (Type::Str(a), Type::Str(b)) => Type::Str((*a).max(*b)),
            (Type::Buffer(a), Type::Buffer(b)) => Type::Buffer((*a).max(*b)),
            (Type::Tuple(a), Type::Tuple(b)) if a.len() == b.len() => {
                Type::Tuple(a.iter().zip(b).map(|(x, y)| x.widen(y)).collect())
            }
            _ => self.clone(),
        }
    }

    /// Size in bytes of the value as stored in a map or record (0 if not storable).
    pub fn size(&self) -> usize {
        match self {
            Type::None | Type::Args | Type::Record(_) => 0,
            Type::Int { bits, .. } => *bits as usize / 8,
            Type::Str(n) | Type::Buffer(n) => *n,
            Type::Tuple(ts) => ts.iter().map(|t| t.size().next_multiple_of(8)).sum(),
            Type::KStack { .. } | Type::UStack { .. } => 8,
            Type::Inet => 24,
            Type::Macaddr => 6,
            Type::Array { of, len } => of.size() * *len as usize,
            Type::Struct(s) => s.size,
            Type::Agg(_) => 8,
            _ => 8,
        }
    }
}

impl Type {
    /// (size, alignment) of a value of this type laid out as C does on x86-64, `record` giving
    /// those of a struct or union by name; `None` for what C cannot lay out (a string literal's
    /// bytes count as a char array, a tuple as a struct of its elements).
    pub fn c_layout(
        &self,
        record: &mut dyn FnMut(&str) -> Option<(usize, usize)>,
    ) -> Option<(usize, usize)> {
        Some(match self {
            Type::Int { bits, .. } => (*bits as usize / 8, *bits as usize / 8),
            Type::Pointer { .. } => (8, 8),
            Type::Str(n) => (*n, 1),
            Type::Array { of, len } => {
                let (s, a) = of.c_layout(record)?;
                (s * *len as usize, a)
            }
            Type::Record(name) => record(name)?,
            Type::Struct(s) => (s.size, s.align),
            Type::Tuple(ts) => {
                let (mut size, mut align) = (0usize, 1usize);
                for t in ts {
                    let (s, a) = t.c_layout(record)?;
                    size = size.next_multiple_of(a) + s;
                    align = align.max(a);
                }
                (size.next_multiple_of(align), align)
            }
            _ => return None,
        })
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::None => f.write_str("none"),
            Type::Int { bits, signed: true } => write!(f, "int{bits}"),
            Type::Int {
                bits,
                signed: false,
            } => write!(f, "unsigned int{bits}"),
            Type::Str(n) => write!(f, "string[{n}]"),
            Type::Tuple(ts) => {
                f.write_str("(")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(")")
            }
            Type::KStack { .. } => f.write_str("kstack"),
            Type::UStack { .. } => f.write_str("ustack"),
            Type::Ksym => f.write_str("ksym"),
            Type::Usym => f.write_str("usym"),
            Type::Inet => f.write_str("inet"),
            Type::Buffer(n) => write!(f, "buffer[{n}]"),
            Type::Username => f.write_str("username"),
            Type::Probe => f.write_str("probe"),
            Type::Timestamp => f.write_str("timestamp"),
            Type::Macaddr => f.write_str("macaddr"),
            Type::CgroupPath => f.write_str("cgroup_path"),
            Type::Strerror => f.write_str("strerror"),
            Type::Pointer { to, .. } => write!(f, "{to} *"),
            Type::Record(name) => f.write_str(name),
            Type::Struct(s) => f.write_str(&s.name),
            // C order: `int32[2][3]` is two arrays of three.
            Type::Array { .. } => {
                let mut t = self;
                let mut dims = String::new();
                while let Type::Array { of, len } = t {
                    dims.push_str(&format!("[{len}]"));
                    t = of;
                }
                write!(f, "{t}{dims}")
            }
            Type::Args => f.write_str("args"),
            Type::DataLoc => f.write_str("__data_loc char[]"),
            Type::Agg(a) => f.write_str(a.name()),
        }
    }
}
