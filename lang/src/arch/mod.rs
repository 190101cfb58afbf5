//! What scry knows of the machine it traces (x86-64), in one place: the layout of
//! `struct pt_regs`, the argument registers of the calling convention, the names of
//! registers, and the system call numbers ([`syscalls`]). The checker, the code generator and
//! the USDT reader all ask here.

pub mod syscalls;

/// The fields of `struct pt_regs` in order, 8 bytes each, by the kernel's names.
pub const PT_REGS: &[&str] = &[
    "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si", "di",
    "orig_ax", "ip", "cs", "flags", "sp", "ss",
];

/// The byte offset of a `struct pt_regs` field.
pub fn pt_regs_offset(reg: &str) -> Option<i16> {
    PT_REGS
        .iter()
        .position(|r| *r == reg)
        .map(|i| (i * 8) as i16)
}

/// The registers of the first six integer arguments (arg0..arg5), by `pt_regs` name.
pub const ARG_REGS: [&str; 6] = ["di", "si", "dx", "cx", "r8", "r9"];

/// The `struct pt_regs` name of a register written at any width (`eax`, `r12d`, `dil`).
pub fn pt_regs_name(name: &str) -> Option<String> {
    const LEGACY: &[(&str, [&str; 4])] = &[
        ("ax", ["rax", "eax", "ax", "al"]),
        ("bx", ["rbx", "ebx", "bx", "bl"]),
        ("cx", ["rcx", "ecx", "cx", "cl"]),
        ("dx", ["rdx", "edx", "dx", "dl"]),
        ("si", ["rsi", "esi", "si", "sil"]),
        ("di", ["rdi", "edi", "di", "dil"]),
        ("bp", ["rbp", "ebp", "bp", "bpl"]),
        ("sp", ["rsp", "esp", "sp", "spl"]),
        ("ip", ["rip", "eip", "ip", "ip"]),
    ];
    if let Some((pt, _)) = LEGACY.iter().find(|(_, names)| names.contains(&name)) {
        return Some(pt.to_string());
    }
    let n = name.strip_prefix('r')?;
    let digits = n.trim_end_matches(['d', 'w', 'b']);
    let num: u8 = digits.parse().ok()?;
    (8..=15)
        .contains(&num)
        .then(|| format!("r{num}"))
        .filter(|_| n.len() - digits.len() <= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers() {
        assert_eq!(pt_regs_offset("r15"), Some(0));
        assert_eq!(pt_regs_offset("di"), Some(112));
        assert_eq!(pt_regs_offset("ip"), Some(128));
        assert_eq!(pt_regs_offset("rax"), None);
        assert_eq!(pt_regs_name("eax").as_deref(), Some("ax"));
        assert_eq!(pt_regs_name("r12d").as_deref(), Some("r12"));
        assert_eq!(pt_regs_name("r7"), None);
        assert_eq!(pt_regs_name("r12dd"), None);
    }
}
