//! Function parameters of user-space binaries from their DWARF (read with `gimli`), for the
//! `args` of uprobes and `-lv 'uprobe:BIN:FN'`: names, C spellings as bpftrace prints them,
//! scry types, which x86-64 argument register holds each, and the layouts of the structs they
//! reach (turned into the checker's records as `btf.rs` does for kernel types).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;

use gimli::{
    AttributeValue, DebugInfoOffset, DebuggingInformationEntry, DwAt, EndianSlice, RunTimeEndian,
    SectionId, Unit, UnitOffset,
};
use object::{CompressionFormat, Object, ObjectSection};
use scry_lang::catalog::{UserFunction, UserParam};
use scry_lang::cdefs::{CField, CRecord};
use scry_lang::types::{AddrSpace, Type};

type Reader<'a> = EndianSlice<'a, RunTimeEndian>;
type Die<'a> = DebuggingInformationEntry<Reader<'a>>;

/// Typedef, qualifier, pointer and origin chains longer than this are cut (a corrupt file must
/// not recurse forever).
const MAX_DEPTH: usize = 32;

/// At most this many records are collected for one function (a pointer to a C++ class can
/// reach most of a program's types; the ones past the limit are unknown to `->`).
const MAX_RECORDS: usize = 512;

/// The x86-64 System V integer argument registers, as arg0..arg5 name them.
const ARG_REGISTERS: usize = scry_lang::arch::ARG_REGS.len();

/// Where the DWARF of one ELF file is, and which DIE describes each function.
pub(crate) struct DwarfIndex {
    /// The ELF file holding the DWARF: the binary itself or its separate debug file.
    data: Vec<u8>,
    /// Function name (its linkage name when it has one) to (unit offset, DIE offset in unit).
    functions: HashMap<String, (usize, usize)>,
    /// Struct and union definitions by full name (`struct foo`), the same way.
    records: HashMap<String, (usize, usize)>,
}

impl fmt::Debug for DwarfIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DwarfIndex({} functions)", self.functions.len())
    }
}

fn gimli_error(path: &str, e: gimli::Error) -> String {
    format!("cannot read the DWARF of '{path}': {e}")
}

/// Whether `file` has a `.debug_info` section; an error when it is compressed.
fn has_debug_info(path: &str, file: &object::File) -> Result<bool, String> {
    let Some(section) = file.section_by_name(".debug_info") else {
        return Ok(false);
    };
    let range = section
        .compressed_file_range()
        .map_err(|e| format!("cannot read the DWARF of '{path}': {e}"))?;
    if range.format != CompressionFormat::None {
        return Err(format!(
            "the DWARF of '{path}' is compressed, which scry does not read yet"
        ));
    }
    Ok(range.uncompressed_size > 0)
}

/// The DWARF sections of `file`, for gimli (missing ones empty).
fn load<'a>(file: &object::File<'a>) -> gimli::Dwarf<Reader<'a>> {
    let endian = if file.is_little_endian() {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    let section = |id: SectionId| -> Result<Reader<'a>, std::convert::Infallible> {
        let data = file
            .section_by_name(id.name())
            .and_then(|s| s.data().ok())
            .unwrap_or(&[]);
        Ok(EndianSlice::new(data, endian))
    };
    match gimli::Dwarf::load(section) {
        Ok(dwarf) => dwarf,
        Err(never) => match never {},
    }
}

impl DwarfIndex {
    /// Indexes the functions of the ELF file at `path` (or of its separate debug file, by
    /// build id); an error when neither has DWARF scry can read.
    pub(crate) fn open(path: &str) -> Result<DwarfIndex, String> {
        let data = std::fs::read(path).map_err(|e| format!("cannot read '{path}': {e}"))?;
        let file = object::File::parse(&*data)
            .map_err(|e| format!("'{path}' is not a readable ELF file: {e}"))?;
        let data = if has_debug_info(path, &file)? {
            data
        } else {
            let debug = super::elf::debug_file(&file)
                .and_then(|p| std::fs::read(p).ok())
                .filter(|d| {
                    object::File::parse(&**d)
                        .ok()
                        .map(|f| has_debug_info(path, &f))
                        == Some(Ok(true))
                });
            match debug {
                Some(d) => d,
                None => {
                    // A compressed debug file is worth its own sentence.
                    if let Some(Err(e)) = super::elf::debug_file(&file)
                        .and_then(|p| std::fs::read(p).ok())
                        .and_then(|d| {
                            object::File::parse(&*d)
                                .ok()
                                .map(|f| has_debug_info(path, &f))
                        })
                    {
                        return Err(e);
                    }
                    return Err(format!(
                        "'{path}' has no DWARF debug information (build it with -g, or install its debug file)"
                    ));
                }
            }
        };
        let (functions, records) = index(path, &data)?;
        Ok(DwarfIndex {
            data,
            functions,
            records,
        })
    }

    /// The parameters of function `name`; `None` when the DWARF does not describe it.
    pub(crate) fn function(&self, path: &str, name: &str) -> Result<Option<UserFunction>, String> {
        let Some(&at) = self.functions.get(name) else {
            return Ok(None);
        };
        self.in_unit(path, at, |types, die| types.function(die))
            .map(Some)
    }

    /// The struct or union `name` (`struct foo`) and the records its fields reach; empty when
    /// the DWARF does not define it.
    pub(crate) fn record(
        &self,
        path: &str,
        name: &str,
    ) -> Result<BTreeMap<String, CRecord>, String> {
        let Some(&at) = self.records.get(name) else {
            return Ok(BTreeMap::new());
        };
        self.in_unit(path, at, |mut types, die| {
            types.pending.push_back(die);
            types.read_pending()?;
            Ok(types.records)
        })
    }

    /// Runs `read` over the types of the unit at `unit_offset`, on the DIE at `die_offset`.
    fn in_unit<T>(
        &self,
        path: &str,
        (unit_offset, die_offset): (usize, usize),
        read: impl FnOnce(Types<'_, '_>, UnitOffset) -> Result<T, gimli::Error>,
    ) -> Result<T, String> {
        let file = object::File::parse(&*self.data)
            .map_err(|e| format!("'{path}' is not a readable ELF file: {e}"))?;
        let dwarf = load(&file);
        let header = dwarf
            .debug_info
            .header_from_offset(DebugInfoOffset(unit_offset))
            .map_err(|e| gimli_error(path, e))?;
        let unit = dwarf.unit(header).map_err(|e| gimli_error(path, e))?;
        let types = Types {
            dwarf: &dwarf,
            unit: &unit,
            unit_offset,
            pending: VecDeque::new(),
            records: BTreeMap::new(),
        };
        read(types, UnitOffset(die_offset)).map_err(|e| gimli_error(path, e))
    }

    /// Whether the DWARF describes function `name`.
    #[cfg(test)]
    fn has(&self, name: &str) -> bool {
        self.functions.contains_key(name)
    }
}

/// Where the DWARF describes things, by name: (unit offset, DIE offset in unit).
type Index = HashMap<String, (usize, usize)>;

/// Every function definition and every named struct and union definition the DWARF in `data`
/// describes, by name.
fn index(path: &str, data: &[u8]) -> Result<(Index, Index), String> {
    let file = object::File::parse(data)
        .map_err(|e| format!("'{path}' is not a readable ELF file: {e}"))?;
    let dwarf = load(&file);
    let mut functions = HashMap::new();
    let mut records = HashMap::new();
    let mut units = dwarf.units();
    while let Some(header) = units.next().map_err(|e| gimli_error(path, e))? {
        // Units of `.debug_info`: their offsets are in that section.
        let unit_offset = header.offset();
        let unit = dwarf.unit(header).map_err(|e| gimli_error(path, e))?;
        let types = Types {
            dwarf: &dwarf,
            unit: &unit,
            unit_offset: unit_offset.0,
            pending: VecDeque::new(),
            records: BTreeMap::new(),
        };
        let mut cursor = unit.entries();
        while let Some(entry) = cursor.next_dfs().map_err(|e| gimli_error(path, e))? {
            if entry.attr(gimli::DW_AT_declaration).is_some() {
                continue;
            }
            if matches!(
                entry.tag(),
                gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type
            ) && types.string(entry, gimli::DW_AT_name).is_some()
            {
                records
                    .entry(types.record_name(entry))
                    .or_insert((unit_offset.0, entry.offset().0));
                continue;
            }
            if entry.tag() != gimli::DW_TAG_subprogram {
                continue;
            }
            let name = types
                .string(entry, gimli::DW_AT_linkage_name)
                .or_else(|| types.string(entry, gimli::DW_AT_MIPS_linkage_name))
                .or_else(|| types.string(entry, gimli::DW_AT_name));
            if let Some(name) = name {
                functions
                    .entry(name)
                    .or_insert((unit_offset.0, entry.offset().0));
            }
        }
    }
    Ok((functions, records))
}

/// Reads the types of one unit.
struct Types<'d, 'a> {
    dwarf: &'d gimli::Dwarf<Reader<'a>>,
    unit: &'d Unit<Reader<'a>>,
    /// The unit's offset in `.debug_info` (anonymous records are named by section offset).
    unit_offset: usize,
    /// Structs and unions named by a converted type whose layout is still to be read.
    pending: VecDeque<UnitOffset>,
    records: BTreeMap<String, CRecord>,
}

/// How the x86-64 calling convention passes one parameter.
enum Class {
    /// In the next integer register.
    Integer(Type),
    /// In an SSE register (floats, doubles) or on the stack (long double): no integer
    /// register used.
    Float,
    /// A struct or union by value: on the stack when larger than 16 bytes, else in registers
    /// scry does not work out.
    Aggregate { size: u64 },
    /// An integer scry cannot hold (128 bits): two integer registers.
    Wide,
}

impl<'a> Types<'_, 'a> {
    /// The entry at `offset` of this unit.
    fn entry(&self, offset: UnitOffset) -> Result<Die<'a>, gimli::Error> {
        self.unit.entry(offset)
    }

    /// The entry an attribute refers to (in this unit).
    fn reference(&self, die: &Die<'a>, at: DwAt) -> Option<Die<'a>> {
        let offset = match die.attr_value(at)? {
            AttributeValue::UnitRef(o) => o,
            AttributeValue::DebugInfoRef(o) => o.to_unit_offset(&self.unit.header)?,
            _ => return None,
        };
        self.entry(offset).ok()
    }

    /// Attribute `at` of `die`, or of the entry it is a concrete instance or definition of.
    fn attr(&self, die: &Die<'a>, at: DwAt) -> Option<AttributeValue<Reader<'a>>> {
        let mut die = die.clone();
        for _ in 0..MAX_DEPTH {
            if let Some(v) = die.attr_value(at) {
                return Some(v);
            }
            die = self
                .reference(&die, gimli::DW_AT_abstract_origin)
                .or_else(|| self.reference(&die, gimli::DW_AT_specification))?;
        }
        None
    }

    /// A string attribute (through origins).
    fn string(&self, die: &Die<'a>, at: DwAt) -> Option<String> {
        let value = self.attr(die, at)?;
        let s = self.dwarf.attr_string(self.unit, value).ok()?;
        Some(String::from_utf8_lossy(s.slice()).into_owned())
    }

    /// An unsigned constant attribute of `die` itself.
    fn udata(die: &Die<'a>, at: DwAt) -> Option<u64> {
        die.attr(at)?.udata_value()
    }

    /// The entry `die`'s `DW_AT_type` names (through origins); `None` for void.
    fn type_of(&self, die: &Die<'a>) -> Option<Die<'a>> {
        let offset = match self.attr(die, gimli::DW_AT_type)? {
            AttributeValue::UnitRef(o) => o,
            AttributeValue::DebugInfoRef(o) => o.to_unit_offset(&self.unit.header)?,
            _ => return None,
        };
        self.entry(offset).ok()
    }

    /// The parameters of the subprogram at `offset`, then the layouts of the records they
    /// reach.
    fn function(mut self, offset: UnitOffset) -> Result<UserFunction, gimli::Error> {
        let mut die = self.entry(offset)?;
        let mut params = self.formal_parameters(&die)?;
        // A concrete instance may leave its parameters to its abstract origin.
        for _ in 0..MAX_DEPTH {
            if !params.is_empty() {
                break;
            }
            let Some(origin) = self
                .reference(&die, gimli::DW_AT_abstract_origin)
                .or_else(|| self.reference(&die, gimli::DW_AT_specification))
            else {
                break;
            };
            params = self.formal_parameters(&origin)?;
            die = origin;
        }
        let mut out = Vec::new();
        let mut next_register = 0usize;
        // Set once a small struct passed by value took registers scry does not work out.
        let mut lost: Option<String> = None;
        for (i, p) in params.iter().enumerate() {
            let name = self
                .string(p, gimli::DW_AT_name)
                .unwrap_or_else(|| format!("arg{i}"));
            let ty = self.type_of(p);
            let c_type = self.c_name(ty.as_ref(), 0);
            let size = ty.as_ref().and_then(|t| self.size_of(t, 0)).unwrap_or(8);
            let class = self.classify(ty.as_ref());
            let access = match (&lost, class) {
                (_, Class::Float) => Err(format!(
                    "'{c_type}' is a floating-point type, passed in an SSE register that uprobes cannot read by name"
                )),
                (_, Class::Aggregate { size }) => {
                    if size <= 16 {
                        lost = Some(name.clone());
                    }
                    Err(format!(
                        "'{c_type}' is a struct passed by value, which scry does not read from a uprobe"
                    ))
                }
                (_, Class::Wide) => {
                    next_register += 2;
                    Err(format!("'{c_type}' is wider than the 64 bits scry holds"))
                }
                (Some(before), Class::Integer(_)) => Err(format!(
                    "it follows '{before}', a struct passed by value whose registers scry does not work out"
                )),
                (None, Class::Integer(t)) => {
                    let n = next_register;
                    next_register += 1;
                    if n < ARG_REGISTERS {
                        Ok((n as u8, t))
                    } else {
                        Err(format!(
                            "it is integer argument {} of the function, passed on the stack: read it with sarg{}",
                            n + 1,
                            n - ARG_REGISTERS
                        ))
                    }
                }
            };
            out.push(UserParam {
                name,
                c_type,
                access,
                size: u32::try_from(size).unwrap_or(u32::MAX),
            });
        }
        self.read_pending()?;
        Ok(UserFunction {
            params: out,
            records: self.records,
        })
    }

    /// Reads the layouts of the records waiting in `pending` (and those they reach).
    fn read_pending(&mut self) -> Result<(), gimli::Error> {
        while let Some(offset) = self.pending.pop_front() {
            if self.records.len() >= MAX_RECORDS {
                break;
            }
            let die = self.entry(offset)?;
            let name = self.record_name(&die);
            if self.records.contains_key(&name) {
                continue;
            }
            let record = self.read_record(&die)?;
            self.records.insert(name, record);
        }
        Ok(())
    }

    /// The `DW_TAG_formal_parameter` children of `die`, up to `...`.
    fn formal_parameters(&self, die: &Die<'a>) -> Result<Vec<Die<'a>>, gimli::Error> {
        let mut out = Vec::new();
        let mut tree = self.unit.entries_tree(Some(die.offset()))?;
        let mut children = tree.root()?.children();
        while let Some(child) = children.next()? {
            match child.entry().tag() {
                gimli::DW_TAG_formal_parameter => out.push(child.entry().clone()),
                gimli::DW_TAG_unspecified_parameters => break,
                _ => {}
            }
        }
        Ok(out)
    }

    /// Follows typedefs and qualifiers to the type they name; `None` for void.
    fn strip(&self, ty: Option<&Die<'a>>) -> Option<Die<'a>> {
        let mut die = ty?.clone();
        for _ in 0..MAX_DEPTH {
            match die.tag() {
                gimli::DW_TAG_typedef
                | gimli::DW_TAG_const_type
                | gimli::DW_TAG_volatile_type
                | gimli::DW_TAG_restrict_type
                | gimli::DW_TAG_atomic_type => die = self.type_of(&die)?,
                _ => return Some(die),
            }
        }
        None
    }

    /// How the calling convention passes a value of type `ty`.
    fn classify(&mut self, ty: Option<&Die<'a>>) -> Class {
        let Some(t) = self.strip(ty) else {
            return Class::Integer(Type::U64);
        };
        let size = Self::udata(&t, gimli::DW_AT_byte_size).unwrap_or(8);
        match t.tag() {
            gimli::DW_TAG_base_type if is_float(&t) => Class::Float,
            gimli::DW_TAG_structure_type
            | gimli::DW_TAG_union_type
            | gimli::DW_TAG_class_type
            | gimli::DW_TAG_array_type => Class::Aggregate { size },
            _ if size > 8 => Class::Wide,
            _ => match self.convert(Some(&t), 0) {
                Some(ty) => Class::Integer(ty),
                None => Class::Wide,
            },
        }
    }

    /// Bytes of a value of type `ty`.
    fn size_of(&self, ty: &Die<'a>, depth: usize) -> Option<u64> {
        if depth > MAX_DEPTH {
            return None;
        }
        if let Some(n) = Self::udata(ty, gimli::DW_AT_byte_size) {
            return Some(n);
        }
        match ty.tag() {
            gimli::DW_TAG_pointer_type
            | gimli::DW_TAG_reference_type
            | gimli::DW_TAG_rvalue_reference_type => Some(8),
            gimli::DW_TAG_array_type => {
                Some(self.size_of(&self.type_of(ty)?, depth + 1)? * self.array_len(ty)?)
            }
            _ => self.size_of(&self.type_of(ty)?, depth + 1),
        }
    }

    /// Elements of an array type (its first dimension times the others).
    fn array_len(&self, ty: &Die<'a>) -> Option<u64> {
        let mut tree = self.unit.entries_tree(Some(ty.offset())).ok()?;
        let mut children = tree.root().ok()?.children();
        let mut len = 1u64;
        while let Ok(Some(child)) = children.next() {
            let e = child.entry();
            if e.tag() != gimli::DW_TAG_subrange_type {
                continue;
            }
            let n = match Self::udata(e, gimli::DW_AT_count) {
                Some(n) => n,
                None => Self::udata(e, gimli::DW_AT_upper_bound)?.checked_add(1)?,
            };
            len = len.checked_mul(n)?;
        }
        Some(len)
    }

    /// Type `ty` as bpftrace 0.17 spells DWARF types: `const char*`, `char**`, `struct
    /// point*`, `long int`, typedef names kept, `const char* const`.
    fn c_name(&self, ty: Option<&Die<'a>>, depth: usize) -> String {
        let Some(t) = ty else {
            return "void".into();
        };
        if depth > MAX_DEPTH {
            return "<unknown type>".into();
        }
        let inner = || self.c_name(self.type_of(t).as_ref(), depth + 1);
        let named = |kind: &str| {
            let name = self
                .string(t, gimli::DW_AT_name)
                .unwrap_or_else(|| "<anonymous>".into());
            format!("{kind} {name}")
        };
        let qualified = |q: &str| {
            let inner = inner();
            if inner.ends_with('*') {
                format!("{inner} {q}")
            } else {
                format!("{q} {inner}")
            }
        };
        match t.tag() {
            gimli::DW_TAG_base_type | gimli::DW_TAG_typedef => self
                .string(t, gimli::DW_AT_name)
                .unwrap_or_else(|| "<unknown type>".into()),
            gimli::DW_TAG_pointer_type => format!("{}*", inner()),
            gimli::DW_TAG_reference_type => format!("{}&", inner()),
            gimli::DW_TAG_rvalue_reference_type => format!("{}&&", inner()),
            gimli::DW_TAG_const_type => qualified("const"),
            gimli::DW_TAG_volatile_type => qualified("volatile"),
            gimli::DW_TAG_restrict_type | gimli::DW_TAG_atomic_type => inner(),
            gimli::DW_TAG_structure_type => named("struct"),
            gimli::DW_TAG_union_type => named("union"),
            gimli::DW_TAG_class_type => named("class"),
            gimli::DW_TAG_enumeration_type => named("enum"),
            gimli::DW_TAG_array_type => match self.array_len(t) {
                Some(n) => format!("{}[{n}]", inner()),
                None => format!("{}[]", inner()),
            },
            _ => "<unknown type>".into(),
        }
    }

    /// `struct name`, or `struct #OFFSET` (its `.debug_info` offset) for an anonymous one.
    fn record_name(&self, die: &Die<'a>) -> String {
        let kind = match die.tag() {
            gimli::DW_TAG_union_type => "union",
            gimli::DW_TAG_class_type => "class",
            _ => "struct",
        };
        match self.string(die, gimli::DW_AT_name) {
            Some(name) if !name.is_empty() => format!("{kind} {name}"),
            _ => format!("{kind} #{}", self.unit_offset + die.offset().0),
        }
    }

    /// The scry type of `ty`; `None` for what scry cannot hold (floats, functions, 128-bit
    /// integers). Structs are named and their layouts queued.
    fn convert(&mut self, ty: Option<&Die<'a>>, depth: usize) -> Option<Type> {
        if depth > MAX_DEPTH {
            return None;
        }
        let t = self.strip(ty)?;
        Some(match t.tag() {
            gimli::DW_TAG_base_type if is_float(&t) => return None,
            gimli::DW_TAG_base_type | gimli::DW_TAG_enumeration_type => {
                let size = Self::udata(&t, gimli::DW_AT_byte_size)?;
                if !matches!(size, 1 | 2 | 4 | 8) {
                    return None;
                }
                let signed = if t.tag() == gimli::DW_TAG_enumeration_type {
                    // An enum is as signed as the integer type under it.
                    self.strip(self.type_of(&t).as_ref())
                        .is_some_and(|u| is_signed(&u))
                } else {
                    is_signed(&t)
                };
                Type::Int {
                    bits: (size * 8) as u8,
                    signed,
                }
            }
            gimli::DW_TAG_pointer_type
            | gimli::DW_TAG_reference_type
            | gimli::DW_TAG_rvalue_reference_type => {
                // What scry cannot type behind a pointer (void, functions) reads as bytes.
                let to = self
                    .convert(self.type_of(&t).as_ref(), depth + 1)
                    .unwrap_or(Type::Int {
                        bits: 8,
                        signed: false,
                    });
                Type::Pointer {
                    to: Box::new(to),
                    space: AddrSpace::User,
                }
            }
            gimli::DW_TAG_array_type => {
                let len = u32::try_from(self.array_len(&t)?).ok()?;
                match self.convert(self.type_of(&t).as_ref(), depth + 1)? {
                    // C char arrays read as strings, as in bpftrace.
                    Type::Int { bits: 8, .. } => Type::Str(len as usize),
                    of => Type::Array {
                        of: Box::new(of),
                        len,
                    },
                }
            }
            gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type | gimli::DW_TAG_class_type => {
                let name = self.record_name(&t);
                if t.attr(gimli::DW_AT_declaration).is_none() && !self.records.contains_key(&name) {
                    self.pending.push_back(t.offset());
                }
                Type::Record(name)
            }
            _ => return None,
        })
    }

    /// The record of a struct or union: its fields (those of anonymous members inlined),
    /// without bitfields and types scry cannot hold.
    fn read_record(&mut self, die: &Die<'a>) -> Result<CRecord, gimli::Error> {
        let mut fields = Vec::new();
        self.flatten(die, 0, &mut fields, 0)?;
        let size = Self::udata(die, gimli::DW_AT_byte_size).unwrap_or(0) as usize;
        let align = [8, 4, 2]
            .into_iter()
            .find(|a| size.is_multiple_of(*a))
            .unwrap_or(1);
        Ok(CRecord {
            size,
            align,
            fields,
        })
    }

    fn flatten(
        &mut self,
        die: &Die<'a>,
        base: usize,
        out: &mut Vec<CField>,
        depth: usize,
    ) -> Result<(), gimli::Error> {
        if depth > MAX_DEPTH {
            return Ok(());
        }
        let mut members = Vec::new();
        {
            let mut tree = self.unit.entries_tree(Some(die.offset()))?;
            let mut children = tree.root()?.children();
            while let Some(child) = children.next()? {
                let e = child.entry();
                if e.tag() == gimli::DW_TAG_member && e.attr(gimli::DW_AT_external).is_none() {
                    members.push(e.clone());
                }
            }
        }
        for m in members {
            if m.attr(gimli::DW_AT_bit_size).is_some()
                || m.attr(gimli::DW_AT_data_bit_offset).is_some()
            {
                continue;
            }
            let offset = base + member_offset(&m).unwrap_or(0) as usize;
            let ty = self.type_of(&m);
            match self.string(&m, gimli::DW_AT_name) {
                Some(name) if !name.is_empty() => {
                    if let Some(ty) = self.convert(ty.as_ref(), 0) {
                        out.push(CField {
                            name,
                            ty,
                            offset,
                            bitfield: None,
                        });
                    }
                }
                _ => {
                    if let Some(inner) = self.strip(ty.as_ref()).filter(|t| {
                        matches!(
                            t.tag(),
                            gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type
                        )
                    }) {
                        self.flatten(&inner, offset, out, depth + 1)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A member's byte offset: a constant, or the `DW_OP_plus_uconst N` expression of old DWARF.
fn member_offset(m: &Die) -> Option<u64> {
    match m.attr_value(gimli::DW_AT_data_member_location)? {
        AttributeValue::Exprloc(expr) => {
            let bytes = expr.0.slice();
            let (&op, rest) = bytes.split_first()?;
            (op == gimli::DW_OP_plus_uconst.0).then(|| uleb128(rest))?
        }
        v => v.udata_value(),
    }
}

/// An unsigned LEB128 number at the start of `bytes`.
fn uleb128(bytes: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn encoding(t: &Die) -> Option<gimli::DwAte> {
    match t.attr_value(gimli::DW_AT_encoding)? {
        AttributeValue::Encoding(e) => Some(e),
        _ => None,
    }
}

fn is_float(t: &Die) -> bool {
    matches!(
        encoding(t),
        Some(gimli::DW_ATE_float | gimli::DW_ATE_complex_float | gimli::DW_ATE_decimal_float)
    )
}

fn is_signed(t: &Die) -> bool {
    matches!(
        encoding(t),
        Some(gimli::DW_ATE_signed | gimli::DW_ATE_signed_char | gimli::DW_ATE_signed_fixed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"
typedef unsigned long ulong_t;
struct inner { long v; };
struct point { int x; int y; const char *label; struct point *next;
               union { int u; short w; }; unsigned flag : 1; struct inner in; };
enum color { RED = -1, BLUE = 1 };
__attribute__((noipa)) int mix(int a, const char *s, unsigned char c, short h, long l,
                              ulong_t u) { return a + *s + c + h + (int)l + (int)u; }
__attribute__((noipa)) int walk(struct point *p, const char *const q) { return p->x + *q; }
__attribute__((noipa)) int fp(double d, int n, enum color c) { return (int)d + n + c; }
__attribute__((noipa)) int byval(struct point p, int n) { return p.x + n; }
__attribute__((noipa)) int small(struct inner p, int n) { return (int)p.v + n; }
__attribute__((noipa)) long seven(long a, long b, long c, long d, long e, long f, long g)
{ return a + b + c + d + e + f + g; }
__attribute__((noipa)) int vararg(int n, ...) { return n; }
int main(void) { struct point p = {0}; struct inner i = {0};
  return mix(1, "", 2, 3, 4, 5) + walk(&p, "") + fp(1, 2, RED) + byval(p, 1) + small(i, 1)
         + (int)seven(1, 2, 3, 4, 5, 6, 7) + vararg(1, 2); }
"#;

    /// Builds `SOURCE` with `cc` and `flags` into a scratch directory; `None` without `cc`.
    fn build(name: &str, flags: &[&str]) -> Option<String> {
        let dir = std::env::temp_dir().join(format!("scry-dwarf-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let src = dir.join("t.c");
        std::fs::write(&src, SOURCE).ok()?;
        let out = dir.join(name);
        let ok = std::process::Command::new("cc")
            .args(["-O1", "-o"])
            .arg(&out)
            .arg(&src)
            .args(flags)
            .status()
            .ok()?
            .success();
        ok.then(|| out.to_string_lossy().into_owned())
    }

    fn decls(f: &UserFunction) -> Vec<String> {
        f.params
            .iter()
            .map(|p| format!("{} {}", p.c_type, p.name))
            .collect()
    }

    #[test]
    fn parameters_types_and_registers() {
        let Some(path) = build("t", &["-g"]) else {
            return;
        };
        let index = DwarfIndex::open(&path).unwrap();
        assert!(index.has("main"));
        let f = |name: &str| index.function(&path, name).unwrap().unwrap();
        let mix = f("mix");
        assert_eq!(
            decls(&mix),
            [
                "int a",
                "const char* s",
                "unsigned char c",
                "short int h",
                "long int l",
                "ulong_t u"
            ]
        );
        let regs: Vec<u8> = mix
            .params
            .iter()
            .map(|p| p.access.clone().unwrap().0)
            .collect();
        assert_eq!(regs, [0, 1, 2, 3, 4, 5]);
        assert_eq!(
            mix.params[3].access.clone().unwrap().1,
            Type::Int {
                bits: 16,
                signed: true
            }
        );
        assert_eq!(mix.params[2].size, 1);

        let walk = f("walk");
        assert_eq!(decls(&walk), ["struct point* p", "const char* const q"]);
        let point = &walk.records["struct point"];
        assert_eq!(point.size, 40);
        let field = |name: &str| {
            point
                .fields
                .iter()
                .find(|f| f.name == name)
                .map(|f| f.offset)
        };
        assert_eq!(field("x"), Some(0));
        assert_eq!(field("label"), Some(8));
        assert_eq!(field("next"), Some(16));
        // An anonymous union's members are the struct's; bitfields are left out.
        assert_eq!(field("w"), Some(24));
        assert_eq!(field("flag"), None);
        assert_eq!(field("in"), Some(32));
        assert!(walk.records.contains_key("struct inner"));
        assert_eq!(
            walk.params[0].access.clone().unwrap().1,
            Type::Pointer {
                to: Box::new(Type::Record("struct point".into())),
                space: AddrSpace::User
            }
        );

        // Floats use no integer register; enums are as signed as their integer type.
        let fp = f("fp");
        assert!(fp.params[0]
            .access
            .as_ref()
            .unwrap_err()
            .contains("floating-point"));
        assert_eq!(fp.params[1].access.as_ref().unwrap().0, 0);
        assert_eq!(
            fp.params[2].access.clone().unwrap(),
            (
                1,
                Type::Int {
                    bits: 32,
                    signed: true
                }
            )
        );
        // A large struct by value goes to the stack; a small one takes registers.
        let byval = f("byval");
        assert!(byval.params[0]
            .access
            .as_ref()
            .unwrap_err()
            .contains("by value"));
        assert_eq!(byval.params[1].access.as_ref().unwrap().0, 0);
        let small = f("small");
        assert!(small.params[1]
            .access
            .as_ref()
            .unwrap_err()
            .contains("follows"));
        let seven = f("seven");
        assert_eq!(seven.params[5].access.as_ref().unwrap().0, 5);
        assert!(seven.params[6]
            .access
            .as_ref()
            .unwrap_err()
            .contains("sarg0"));
        assert_eq!(decls(&f("vararg")), ["int n"]);
        assert!(index.function(&path, "no_such_function").unwrap().is_none());
    }

    #[test]
    fn binaries_without_dwarf() {
        let Some(path) = build("t0", &["-g0"]) else {
            return;
        };
        let err = DwarfIndex::open(&path).unwrap_err();
        assert!(err.contains("has no DWARF debug information"), "{err}");
        assert!(DwarfIndex::open("/no/such/file").is_err());
    }
}
