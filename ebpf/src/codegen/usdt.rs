//! USDT arguments: `argN` read from the location the probe's note gives (a register, a
//! constant, or user memory addressed by registers), at the note's size and sign.

use scry_lang::ast::Expr;
use scry_lang::usdt::{parse_args, Location, UsdtArg};

use super::error;
use super::gen::{Gen, R};
use crate::insn::*;
use scry_lang::arch::pt_regs_offset;

impl Gen<'_, '_> {
    /// `argN` of a USDT probe, into r0.
    pub fn usdt_arg(&mut self, n: u32, e: &Expr) -> R<()> {
        let spec = self.usdt_args.clone().unwrap_or_default();
        let args = parse_args(&spec).map_err(|why| error(e.span, why))?;
        let arg = args.get(n as usize).ok_or_else(|| {
            error(
                e.span,
                format!("couldn't get argument {n}: this probe has {}", args.len()),
            )
        })?;
        self.usdt_location(arg, e)?;
        self.extend(arg);
        Ok(())
    }

    /// r0 = the raw value at the argument's location (memory read at its size).
    fn usdt_location(&mut self, arg: &UsdtArg, e: &Expr) -> R<()> {
        let reg_offset = |r: &str| {
            pt_regs_offset(r).ok_or_else(|| error(e.span, format!("unknown register {r}")))
        };
        match &arg.location {
            Location::Immediate(v) => self.load_const(*v as u64),
            Location::Register(r) => {
                let off = reg_offset(r)?;
                self.asm.emit(Insn::load(Size::DW, R0, R6, off));
            }
            Location::Memory { disp, base, index } => {
                self.load_const(*disp as u64);
                if let Some(b) = base {
                    self.asm.emit(Insn::load(Size::DW, R1, R6, reg_offset(b)?));
                    self.asm.emit(Insn::alu_reg(Alu::Add, R0, R1));
                }
                if let Some((i, scale)) = index {
                    self.asm.emit(Insn::load(Size::DW, R1, R6, reg_offset(i)?));
                    self.asm
                        .emit(Insn::alu_imm(Alu::Mul, R1, i32::from(*scale)));
                    self.asm.emit(Insn::alu_reg(Alu::Add, R0, R1));
                }
                self.read_pointer(R0, arg.size as usize, true)?;
            }
        }
        Ok(())
    }

    /// Sign- or zero-extends r0 from the argument's size to 64 bits.
    fn extend(&mut self, arg: &UsdtArg) {
        if arg.size >= 8 {
            return;
        }
        let shift = 64 - 8 * i32::from(arg.size);
        self.asm.emit(Insn::alu_imm(Alu::Lsh, R0, shift));
        let right = if arg.signed { Alu::Arsh } else { Alu::Rsh };
        self.asm.emit(Insn::alu_imm(right, R0, shift));
    }
}
