//! USDT argument specifications (`-4@%eax 8@-16(%rbp) 4@(%rax,%rbx,4) -4@$5`), as the
//! `.note.stapsdt` notes of x86-64 binaries write them.

/// One argument of a USDT probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsdtArg {
    /// Size in bytes: 1, 2, 4 or 8.
    pub size: u8,
    /// Whether the value is signed (a `-` before the size).
    pub signed: bool,
    /// Where the value is.
    pub location: Location,
}

/// Where a USDT argument is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A register, by its `struct pt_regs` name (`ax`, `r12`, `di`).
    Register(String),
    /// A constant.
    Immediate(i64),
    /// Memory at `disp + base + index * scale` (registers by `pt_regs` name).
    Memory {
        disp: i64,
        base: Option<String>,
        index: Option<(String, u8)>,
    },
}

/// Parses a whole argument string; an empty string has no arguments.
pub fn parse_args(spec: &str) -> Result<Vec<UsdtArg>, String> {
    spec.split_whitespace().map(parse_arg).collect()
}

/// Parses one `[-]SIZE@OPERAND`.
pub fn parse_arg(text: &str) -> Result<UsdtArg, String> {
    let bad = |why: &str| format!("USDT argument '{text}' cannot be read: {why}");
    let (size, operand) = text
        .split_once('@')
        .ok_or_else(|| bad("expected SIZE@OPERAND"))?;
    let (signed, digits) = match size.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, size),
    };
    let size: u8 = digits
        .parse()
        .map_err(|_| bad("the size is not a number"))?;
    if ![1, 2, 4, 8].contains(&size) {
        return Err(bad("the size must be 1, 2, 4 or 8 bytes"));
    }
    let location = if let Some(imm) = operand.strip_prefix('$') {
        Location::Immediate(parse_number(imm).ok_or_else(|| bad("bad constant"))?)
    } else if let Some(reg) = operand.strip_prefix('%') {
        Location::Register(crate::arch::pt_regs_name(reg).ok_or_else(|| bad("unknown register"))?)
    } else if let Some(open) = operand.find('(') {
        let inner = operand[open..]
            .strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
            .ok_or_else(|| bad("unbalanced parentheses"))?;
        let disp_text = &operand[..open];
        let disp = if disp_text.is_empty() {
            0
        } else {
            parse_number(disp_text).ok_or_else(|| {
                bad("the displacement is not a number (symbolic %rip operands are not supported)")
            })?
        };
        let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
        let reg = |s: &str| -> Result<Option<String>, String> {
            if s.is_empty() {
                return Ok(None);
            }
            let r = s
                .strip_prefix('%')
                .ok_or_else(|| bad("expected a register"))?;
            if r == "rip" {
                return Err(bad("%rip-relative operands are not supported"));
            }
            crate::arch::pt_regs_name(r)
                .map(Some)
                .ok_or_else(|| bad("unknown register"))
        };
        let base = reg(parts[0])?;
        let index = match parts.get(1) {
            Some(i) => {
                let scale: u8 = match parts.get(2) {
                    Some(s) => s.parse().map_err(|_| bad("bad scale"))?,
                    None => 1,
                };
                if ![1, 2, 4, 8].contains(&scale) {
                    return Err(bad("the scale must be 1, 2, 4 or 8"));
                }
                reg(i)?.map(|r| (r, scale))
            }
            None => None,
        };
        if parts.len() > 3 {
            return Err(bad("too many fields in the memory operand"));
        }
        Location::Memory { disp, base, index }
    } else {
        return Err(bad("unknown operand form"));
    };
    Ok(UsdtArg {
        size,
        signed,
        location,
    })
}

fn parse_number(s: &str) -> Option<i64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let v = match s.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None => s.parse().ok()?,
    };
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem(disp: i64, base: Option<&str>, index: Option<(&str, u8)>) -> Location {
        Location::Memory {
            disp,
            base: base.map(String::from),
            index: index.map(|(r, s)| (r.to_string(), s)),
        }
    }

    #[test]
    fn every_operand_form() {
        let args =
            parse_args("8@%r12 -4@$5 8@-16(%rbp) 4@(%rax,%rbx,4) -1@%dil 2@8(,%rcx,2)").unwrap();
        let got: Vec<_> = args
            .iter()
            .map(|a| (a.size, a.signed, a.location.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (8, false, Location::Register("r12".into())),
                (4, true, Location::Immediate(5)),
                (8, false, mem(-16, Some("bp"), None)),
                (4, false, mem(0, Some("ax"), Some(("bx", 4)))),
                (1, true, Location::Register("di".into())),
                (2, false, mem(8, None, Some(("cx", 2)))),
            ]
        );
        assert_eq!(
            parse_arg("-4@$-7").unwrap().location,
            Location::Immediate(-7)
        );
        assert_eq!(
            parse_arg("4@%r9d").unwrap().location,
            Location::Register("r9".into())
        );
        assert!(parse_args("").unwrap().is_empty());
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for bad in [
            "8",
            "3@%rax",
            "8@%xmm0",
            "8@foo(%rip)",
            "8@(%rax",
            "4@(%rax,%rbx,3)",
            "x@%rax",
        ] {
            assert!(parse_arg(bad).is_err(), "{bad}");
        }
    }
}
