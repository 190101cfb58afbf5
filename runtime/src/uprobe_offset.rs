//! `uprobe:BINARY:function+offset`: the offset must land on an instruction boundary, or the
//! breakpoint the kernel writes there would corrupt the instruction it splits.

use iced_x86::{Decoder, DecoderOptions};

/// Checks that `offset` bytes into the function whose code starts at `code` (the function's
/// bytes from its start, at least `offset` + 15 of them when the function is that long) is
/// where an instruction starts, decoding x86-64 from the function's start. `name` is for the
/// message.
pub fn check_boundary(code: &[u8], offset: u64, name: &str) -> Result<(), String> {
    let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut starts = Vec::new();
    while decoder.can_decode() && decoder.ip() < offset {
        starts.push(decoder.ip());
        let insn = decoder.decode();
        if insn.is_invalid() {
            return Err(format!(
                "offset {offset} of '{name}' cannot be checked: the code at +{} does not decode as x86-64",
                insn.ip()
            ));
        }
    }
    if decoder.ip() == offset {
        return Ok(());
    }
    let before = starts.last().copied().unwrap_or(0);
    Err(format!(
        "offset {offset} is not on an instruction boundary of '{name}': the nearest instructions start at +{before} and +{}",
        decoder.ip()
    ))
}

/// [`check_boundary`] for the function at ELF virtual address `address` of the file at `path`.
pub fn check_in_file(
    path: &std::path::Path,
    address: u64,
    offset: u64,
    name: &str,
) -> Result<(), String> {
    use object::{Object as _, ObjectSegment as _};
    let data =
        std::fs::read(path).map_err(|e| format!("{} cannot be read: {e}", path.display()))?;
    let file = object::File::parse(&*data)
        .map_err(|e| format!("{} is not an ELF file ({e})", path.display()))?;
    // The longest instruction is 15 bytes; near the segment's end, as much as there is.
    let code = [offset + 15, offset + 1].into_iter().find_map(|len| {
        file.segments()
            .find_map(|seg| seg.data_range(address, len).ok().flatten())
    });
    match code {
        Some(code) => check_boundary(code, offset, name),
        None => Err(format!(
            "offset {offset} of '{name}' is not in a loadable segment of {}",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `lea eax, [rdi+rsi]` (3 bytes), `ret` (1 byte).
    const ADD: &[u8] = &[0x8d, 0x04, 0x37, 0xc3];

    #[test]
    fn accepts_instruction_starts() {
        assert_eq!(check_boundary(ADD, 0, "add"), Ok(()));
        assert_eq!(check_boundary(ADD, 3, "add"), Ok(()));
    }

    #[test]
    fn refuses_the_middle_of_an_instruction() {
        let err = check_boundary(ADD, 1, "add").unwrap_err();
        assert_eq!(
            err,
            "offset 1 is not on an instruction boundary of 'add': the nearest instructions start at +0 and +3"
        );
    }
}
