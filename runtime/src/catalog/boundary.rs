//! `uprobe:BINARY:function+offset`: the offset must land on an instruction boundary, or the
//! breakpoint the kernel writes there would corrupt the instruction it splits. The checker
//! asks (`Catalog::instruction_start`) when it resolves the attach point.

use iced_x86::{Decoder, DecoderOptions};

/// Checks that `offset` bytes into the function whose code starts at `code` (the function's
/// bytes from its start, at least `offset` + 15 of them when the function is that long) is
/// where an instruction starts, decoding x86-64 from the function's start. `name` is for the
/// message.
pub(crate) fn check_boundary(code: &[u8], offset: u64, name: &str) -> Result<(), String> {
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
