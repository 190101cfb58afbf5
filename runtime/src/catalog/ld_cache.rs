//! Reading `/etc/ld.so.cache`, the dynamic linker's index from library names to files.
//!
//! The layout is glibc's `elf/dl-cache.h`: a `cache_file_new` header (magic
//! `glibc-ld.so.cache1.1`), then `nlibs` entries of 24 bytes (`flags`, `key`, `value`,
//! `osversion`, `hwcap`), then the strings; `key` and `value` are offsets from the header's
//! start. Older files start with an `ld.so-1.7.0` table and carry the new format after it.

/// Magic and version at the start of the new format.
const MAGIC_NEW: &[u8] = b"glibc-ld.so.cache1.1";
/// Magic of the old format, which may precede the new one.
const MAGIC_OLD: &[u8] = b"ld.so-1.7.0";
/// Size of `struct cache_file_new`.
const HEADER_NEW: usize = 48;
/// Size of `struct file_entry_new`.
const ENTRY_NEW: usize = 24;
/// Size of `struct cache_file` (old header) and `struct file_entry` (old entry).
const HEADER_OLD: usize = 16;
const ENTRY_OLD: usize = 12;
/// `FLAG_ELF_LIBC6`: an ELF library for glibc, under `FLAG_TYPE_MASK`.
const FLAG_ELF_LIBC6: i32 = 0x0003;
const FLAG_TYPE_MASK: i32 = 0x00ff;
const FLAG_REQUIRED_MASK: i32 = 0xff00;
/// The architecture bits an entry must carry to be loadable by this process.
#[cfg(target_arch = "x86_64")]
const ARCH_FLAGS: Option<i32> = Some(0x0300); // FLAG_X8664_LIB64
#[cfg(target_arch = "aarch64")]
const ARCH_FLAGS: Option<i32> = Some(0x0a00); // FLAG_AARCH64_LIB64
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const ARCH_FLAGS: Option<i32> = None;

/// One library of the cache that this machine's processes could load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LdCacheEntry {
    /// The library's soname, e.g. `libc.so.6`.
    pub soname: String,
    /// Its file, e.g. `/lib/x86_64-linux-gnu/libc.so.6`.
    pub path: String,
    /// Nonzero for entries that apply only on CPUs with some capability (glibc-hwcaps).
    pub hwcap: u64,
}

/// Reads and parses the system's `/etc/ld.so.cache`.
pub(crate) fn read_system() -> Result<Vec<LdCacheEntry>, String> {
    let path = "/etc/ld.so.cache";
    let data = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    parse(&data).map_err(|why| format!("{path} cannot be read: {why}"))
}

/// Parses the bytes of an ld.so.cache file, keeping the entries for this architecture in
/// file order (ldconfig puts the preferred entry for a name first).
pub(crate) fn parse(data: &[u8]) -> Result<Vec<LdCacheEntry>, String> {
    let start = if data.starts_with(MAGIC_NEW) {
        0
    } else if data.starts_with(MAGIC_OLD) {
        let nlibs = read_u32(data, MAGIC_OLD.len() + 1, true)? as usize;
        let end = nlibs
            .checked_mul(ENTRY_OLD)
            .and_then(|n| n.checked_add(HEADER_OLD))
            .ok_or("the old-format table is too large")?;
        let start = end
            .checked_next_multiple_of(8)
            .ok_or("bad old-format size")?;
        if !data.get(start..).is_some_and(|d| d.starts_with(MAGIC_NEW)) {
            return Err("it has only the old ld.so-1.7.0 format, which scry does not read".into());
        }
        start
    } else {
        return Err("it does not start with a known ld.so.cache magic".into());
    };
    let cache = &data[start..];
    let little = match cache.get(28) {
        Some(3) => false,
        Some(0 | 2) => true,
        _ => return Err("its endianness flag is invalid".into()),
    };
    if cfg!(target_endian = "little") != little {
        return Err("it was written for a machine of the other byte order".into());
    }
    let nlibs = read_u32(cache, 20, little)? as usize;
    let mut entries = Vec::new();
    for i in 0..nlibs {
        let at = i
            .checked_mul(ENTRY_NEW)
            .and_then(|n| n.checked_add(HEADER_NEW))
            .ok_or("its entry count is too large")?;
        let flags = read_u32(cache, at, little)? as i32;
        let key = read_u32(cache, at.saturating_add(4), little)? as usize;
        let value = read_u32(cache, at.saturating_add(8), little)? as usize;
        let hwcap = read_u64(cache, at.saturating_add(16), little)?;
        if flags & FLAG_TYPE_MASK != FLAG_ELF_LIBC6 {
            continue;
        }
        if ARCH_FLAGS.is_some_and(|arch| flags & FLAG_REQUIRED_MASK != arch) {
            continue;
        }
        entries.push(LdCacheEntry {
            soname: read_str(cache, key)?,
            path: read_str(cache, value)?,
            hwcap,
        });
    }
    Ok(entries)
}

fn read_u32(data: &[u8], at: usize, little: bool) -> Result<u32, String> {
    let bytes: [u8; 4] = data
        .get(at..at.saturating_add(4))
        .and_then(|b| b.try_into().ok())
        .ok_or("it is truncated")?;
    Ok(if little {
        u32::from_le_bytes(bytes)
    } else {
        u32::from_be_bytes(bytes)
    })
}

fn read_u64(data: &[u8], at: usize, little: bool) -> Result<u64, String> {
    let bytes: [u8; 8] = data
        .get(at..at.saturating_add(8))
        .and_then(|b| b.try_into().ok())
        .ok_or("it is truncated")?;
    Ok(if little {
        u64::from_le_bytes(bytes)
    } else {
        u64::from_be_bytes(bytes)
    })
}

fn read_str(data: &[u8], at: usize) -> Result<String, String> {
    let rest = data
        .get(at..)
        .ok_or("a string offset points past its end")?;
    let len = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or("a string is not NUL-terminated")?;
    Ok(String::from_utf8_lossy(&rest[..len]).into_owned())
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    /// Builds a new-format cache with the given (flags, key, value, hwcap) entries.
    fn build(entries: &[(i32, &str, &str, u64)]) -> Vec<u8> {
        let mut strings = Vec::new();
        let strings_at = HEADER_NEW + entries.len() * ENTRY_NEW;
        let mut table = Vec::new();
        for (flags, key, value, hwcap) in entries {
            let k = strings_at + strings.len();
            strings.extend_from_slice(key.as_bytes());
            strings.push(0);
            let v = strings_at + strings.len();
            strings.extend_from_slice(value.as_bytes());
            strings.push(0);
            table.extend_from_slice(&flags.to_le_bytes());
            table.extend_from_slice(&(k as u32).to_le_bytes());
            table.extend_from_slice(&(v as u32).to_le_bytes());
            table.extend_from_slice(&0u32.to_le_bytes());
            table.extend_from_slice(&hwcap.to_le_bytes());
        }
        let mut out = MAGIC_NEW.to_vec();
        out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        out.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        out.extend_from_slice(&[2, 0, 0, 0]);
        out.extend_from_slice(&[0; 16]);
        assert_eq!(out.len(), HEADER_NEW);
        out.extend(table);
        out.extend(strings);
        out
    }

    #[test]
    fn parses_entries_of_this_arch() {
        let data = build(&[
            (0x0303, "libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", 0),
            (0x0003, "libc.so.6", "/lib/i386-linux-gnu/libc.so.6", 0),
            (0x0303, "libm.so.6", "/lib/x86_64-linux-gnu/libm.so.6", 0),
        ]);
        let entries = parse(&data).unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            names,
            [
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib/x86_64-linux-gnu/libm.so.6"
            ]
        );
        assert_eq!(entries[0].soname, "libc.so.6");
    }

    #[test]
    fn finds_new_format_after_old_table() {
        let new = build(&[(0x0303, "libz.so.1", "/lib/libz.so.1", 0)]);
        let mut data = MAGIC_OLD.to_vec();
        data.push(0);
        data.extend_from_slice(&1u32.to_le_bytes());
        data.extend_from_slice(&[0; ENTRY_OLD]);
        data.resize(32, 0);
        data.extend(new);
        assert_eq!(parse(&data).unwrap()[0].path, "/lib/libz.so.1");
    }

    #[test]
    fn rejects_corrupt_files() {
        assert!(parse(b"").is_err());
        assert!(parse(b"not a cache at all").is_err());
        let mut data = build(&[(0x0303, "libc.so.6", "/lib/libc.so.6", 0)]);
        data.truncate(HEADER_NEW + 10);
        assert!(parse(&data).is_err());
        let mut data = build(&[(0x0303, "libc.so.6", "/lib/libc.so.6", 0)]);
        data[HEADER_NEW + 4..HEADER_NEW + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse(&data).is_err());
        let mut data = build(&[]);
        data[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse(&data).is_err());
    }

    #[test]
    fn reads_this_system() {
        if std::path::Path::new("/etc/ld.so.cache").exists() {
            let entries = read_system().unwrap();
            assert!(entries.iter().any(|e| e.soname.starts_with("libc.so")));
        }
    }
}
