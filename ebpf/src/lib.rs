//! scry-ebpf: the code generator. A checked program becomes BPF instructions, map definitions
//! and the layouts user space needs to read what the programs write. No I/O, no kernel access:
//! the runtime loads what this crate produces.

#![forbid(unsafe_code)]

pub mod asm;
pub mod codegen;
pub mod insn;
pub mod layout;
pub mod object;
pub mod slots;
