//! Reading symbols and USDT probes from ELF files.

use std::collections::HashSet;

use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};
use scry_lang::catalog::{UsdtProbe, UserSymbol};

/// The ELF note type of a SystemTap SDT (USDT) probe, owner `stapsdt`.
const NT_STAPSDT: u32 = 3;

fn read(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read '{path}': {e}"))
}

fn parse<'a>(path: &str, data: &'a [u8]) -> Result<object::File<'a>, String> {
    object::File::parse(data).map_err(|e| format!("'{path}' is not a readable ELF file: {e}"))
}

/// A loadable segment: file bytes `offset..offset + size` are mapped at `address`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    address: u64,
    size: u64,
    offset: u64,
}

/// The loadable segments of the ELF file at `path`.
pub(crate) fn segments(path: &str) -> Result<Vec<Segment>, String> {
    use object::ObjectSegment;
    let data = read(path)?;
    let file = parse(path, &data)?;
    Ok(file
        .segments()
        .map(|seg| {
            let (offset, size) = seg.file_range();
            Segment {
                address: seg.address(),
                size,
                offset,
            }
        })
        .collect())
}

/// Where virtual address `vaddr` lies in the file whose segments are `segments`.
pub(crate) fn file_offset(segments: &[Segment], path: &str, vaddr: u64) -> Result<u64, String> {
    segments
        .iter()
        .find(|s| vaddr >= s.address && vaddr - s.address < s.size)
        .map(|s| vaddr - s.address + s.offset)
        .ok_or_else(|| format!("address {vaddr:#x} is not in any loadable segment of {path}"))
}

/// The bytes of the file at `path` (whose segments are `segments`) mapped from virtual address
/// `vaddr` on: `len` of them, or as many as its segment holds.
pub(crate) fn code_at(
    segments: &[Segment],
    path: &str,
    vaddr: u64,
    len: u64,
) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::FileExt;
    let seg = segments
        .iter()
        .find(|s| vaddr >= s.address && vaddr - s.address < s.size)
        .ok_or_else(|| format!("address {vaddr:#x} is not in any loadable segment of {path}"))?;
    let len = len.min(seg.address + seg.size - vaddr);
    let mut buf = vec![0; len as usize];
    std::fs::File::open(path)
        .and_then(|f| f.read_exact_at(&mut buf, vaddr - seg.address + seg.offset))
        .map_err(|e| format!("cannot read '{path}': {e}"))?;
    Ok(buf)
}

/// Function and data symbols of the ELF file at `path`, from `.symtab`, `.dynsym` and the
/// `.symtab` of its separate debug file (found by build id), without
/// undefined ones, deduplicated by (name, address) and sorted by address then name.
pub(crate) fn user_symbols(path: &str) -> Result<Vec<UserSymbol>, String> {
    let data = read(path)?;
    let file = parse(path, &data)?;
    // The separate debug file's `.symtab` (a distribution's -dbg package) holds the local
    // symbols a stripped library lacks, as bcc (and so bpftrace) reads them.
    let debug_data = debug_file(&file).and_then(|p| std::fs::read(p).ok());
    let debug = debug_data
        .as_deref()
        .and_then(|d| object::File::parse(d).ok());
    let debug_symbols = debug.iter().flat_map(|d| d.symbols());
    let mut seen = HashSet::new();
    let mut symbols: Vec<UserSymbol> = file
        .symbols()
        .chain(file.dynamic_symbols())
        .chain(debug_symbols)
        .filter(|sym| !sym.is_undefined())
        .filter_map(|sym| {
            let is_function = match sym.kind() {
                SymbolKind::Text => true,
                SymbolKind::Data => false,
                _ => return None,
            };
            let name = String::from_utf8_lossy(sym.name_bytes().ok()?).into_owned();
            (!name.is_empty()).then_some(UserSymbol {
                name,
                address: sym.address(),
                size: sym.size(),
                is_function,
            })
        })
        .filter(|sym| seen.insert((sym.name.clone(), sym.address)))
        .collect();
    symbols.sort_by(|a, b| (a.address, &a.name).cmp(&(b.address, &b.name)));
    Ok(symbols)
}

/// The separate debug file of `file`, by build id (`/usr/lib/debug/.build-id/ab/cdef.debug`),
/// when one is installed.
pub(crate) fn debug_file(file: &object::File) -> Option<std::path::PathBuf> {
    let id = file.build_id().ok()??;
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let (dir, rest) = hex.split_at_checked(2)?;
    let path = std::path::PathBuf::from(format!("/usr/lib/debug/.build-id/{dir}/{rest}.debug"));
    path.is_file().then_some(path)
}

/// USDT probes of the ELF file at `path`, from its `stapsdt` notes, in file order.
pub(crate) fn usdt_probes(path: &str) -> Result<Vec<UsdtProbe>, String> {
    let data = read(path)?;
    let file = parse(path, &data)?;
    let little = file.is_little_endian();
    let address_size = if file.is_64() { 8 } else { 4 };
    // Where `.stapsdt.base` actually is; notes record where it was at link time.
    let actual_base = file
        .section_by_name(".stapsdt.base")
        .map(|section| section.address());
    let mut probes = Vec::new();
    for section in file.sections().filter(|s| s.kind() == SectionKind::Note) {
        let bytes = section
            .data()
            .map_err(|e| format!("cannot read the notes of '{path}': {e}"))?;
        for note in notes(bytes, little)
            .map_err(|why| format!("'{path}' has a corrupt note section: {why}"))?
        {
            if note.owner != b"stapsdt" || note.kind != NT_STAPSDT {
                continue;
            }
            let mut probe = parse_stapsdt(note.desc, address_size, little)
                .ok_or_else(|| format!("'{path}' has a corrupt stapsdt (USDT) note"))?;
            if let Some(actual) = actual_base {
                probe.pc = probe.pc.wrapping_add(actual).wrapping_sub(probe.base);
            }
            probes.push(probe);
        }
    }
    Ok(probes)
}

/// One ELF note.
struct Note<'a> {
    /// The owner name without its NUL, e.g. `stapsdt`.
    owner: &'a [u8],
    kind: u32,
    desc: &'a [u8],
}

/// Splits the contents of a note section into notes.
fn notes(mut bytes: &[u8], little: bool) -> Result<Vec<Note<'_>>, &'static str> {
    let mut out = Vec::new();
    while bytes.len() >= 12 {
        let namesz = read_u32(&bytes[0..4], little) as usize;
        let descsz = read_u32(&bytes[4..8], little) as usize;
        let kind = read_u32(&bytes[8..12], little);
        let name_end = 12usize.checked_add(namesz).ok_or("note name too long")?;
        let desc_start = name_end.next_multiple_of(4);
        let desc_end = desc_start.checked_add(descsz).ok_or("note too long")?;
        if desc_end > bytes.len() {
            return Err("a note runs past the end of its section");
        }
        let name = &bytes[12..name_end];
        let owner = name.strip_suffix(b"\0").unwrap_or(name);
        out.push(Note {
            owner,
            kind,
            desc: &bytes[desc_start..desc_end],
        });
        bytes = &bytes[desc_end.next_multiple_of(4).min(bytes.len())..];
    }
    Ok(out)
}

/// A stapsdt descriptor: pc, base and semaphore addresses, then provider, name and
/// arguments as NUL-terminated strings.
fn parse_stapsdt(desc: &[u8], address_size: usize, little: bool) -> Option<UsdtProbe> {
    let address = |i: usize| -> Option<u64> {
        let bytes = desc.get(i * address_size..(i + 1) * address_size)?;
        Some(match address_size {
            8 => {
                let b: [u8; 8] = bytes.try_into().ok()?;
                if little {
                    u64::from_le_bytes(b)
                } else {
                    u64::from_be_bytes(b)
                }
            }
            _ => u64::from(read_u32(bytes, little)),
        })
    };
    let (pc, base, semaphore) = (address(0)?, address(1)?, address(2)?);
    let mut strings = desc.get(3 * address_size..)?.split(|&b| b == 0);
    let mut next = || Some(String::from_utf8_lossy(strings.next()?).into_owned());
    let (provider, name, arguments) = (next()?, next()?, next().unwrap_or_default());
    if provider.is_empty() || name.is_empty() {
        return None;
    }
    Some(UsdtProbe {
        provider,
        name,
        arguments,
        pc,
        base,
        semaphore,
    })
}

/// Reads a u32 from the first four bytes of `bytes`, which the callers guarantee.
fn read_u32(bytes: &[u8], little: bool) -> u32 {
    let b = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if little {
        u32::from_le_bytes(b)
    } else {
        u32::from_be_bytes(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(owner: &[u8], kind: u32, desc: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(owner.len() as u32 + 1).to_le_bytes());
        out.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(owner);
        out.push(0);
        out.resize(out.len().next_multiple_of(4), 0);
        out.extend_from_slice(desc);
        out.resize(out.len().next_multiple_of(4), 0);
        out
    }

    #[test]
    fn parses_stapsdt_notes() {
        let mut desc = Vec::new();
        for v in [0x1139u64, 0x2004, 0x4010] {
            desc.extend_from_slice(&v.to_le_bytes());
        }
        desc.extend_from_slice(b"myprov\0tick\0-4@%eax 8@%rdx\0");
        let mut section = note(b"GNU", 1, b"abcd");
        section.extend(note(b"stapsdt", 3, &desc));
        let notes = notes(&section, true).unwrap();
        assert_eq!(notes.len(), 2);
        assert_eq!((notes[0].owner, notes[0].kind), (&b"GNU"[..], 1));
        assert_eq!((notes[1].owner, notes[1].kind), (&b"stapsdt"[..], 3));
        let probe = parse_stapsdt(notes[1].desc, 8, true).unwrap();
        assert_eq!(probe.provider, "myprov");
        assert_eq!(probe.name, "tick");
        assert_eq!(probe.arguments, "-4@%eax 8@%rdx");
        assert_eq!(
            (probe.pc, probe.base, probe.semaphore),
            (0x1139, 0x2004, 0x4010)
        );
    }

    #[test]
    fn rejects_corrupt_notes() {
        let mut section = note(b"stapsdt", 3, &[0; 30]);
        section[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(notes(&section, true).is_err());
        assert!(parse_stapsdt(&[0; 20], 8, true).is_none());
        assert!(parse_stapsdt(&[0; 26], 8, true).is_none());
    }

    #[test]
    fn rejects_non_elf_files() {
        let dir = std::env::temp_dir().join(format!("scry-elf-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("junk");
        std::fs::write(&file, b"\x7fELF garbage that is not an ELF file").unwrap();
        let path = file.to_str().unwrap();
        let err = user_symbols(path).unwrap_err();
        assert!(err.contains("is not a readable ELF file"), "{err}");
        assert!(usdt_probes(path).is_err());
        assert!(user_symbols("/no/such/file")
            .unwrap_err()
            .contains("cannot read"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
