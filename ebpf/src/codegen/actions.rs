//! Calls done in user space: each writes a record to the ring buffer.

use scry_lang::ast::{Expr, ExprKind};
use scry_lang::functions::Gen as FnGen;
use scry_lang::types::Type;

use super::error;
use super::gen::{Gen, R};
use super::helper_errors::Failure;
use crate::insn::*;
use crate::object::{ActionKind, COUNTER_LOST_EVENTS};

impl Gen<'_, '_> {
    /// Generates a call that has an effect and no value. Returns false for other calls.
    pub fn action_call(&mut self, e: &Expr, args: &[Expr]) -> R<bool> {
        if self.reducer_action(e, args)? {
            return Ok(true);
        }
        let gen = self.call_gen(e)?;
        match gen {
            FnGen::Printf | FnGen::System | FnGen::Cat => {
                let pieces = self.b.typed.formats.get(&e.id).cloned().unwrap_or_default();
                let kind = match gen {
                    FnGen::Printf => ActionKind::Printf(pieces),
                    FnGen::System => ActionKind::System(pieces),
                    _ => ActionKind::Cat(pieces),
                };
                self.record(kind, &args[1..], e)?;
            }
            FnGen::Print => {
                if let ExprKind::Map { name: map, keys } = &args[0].kind {
                    if keys.is_empty() {
                        let idx = self.b.user_map_index[map];
                        self.record(ActionKind::PrintMap(idx), &args[1..], e)?;
                        return Ok(true);
                    }
                }
                self.record(ActionKind::PrintValue, &args[..1], e)?;
            }
            FnGen::Clear | FnGen::Zero => {
                let ExprKind::Map { name: map, .. } = &args[0].kind else {
                    return Err(error(e.span, "clear() and zero() take a map"));
                };
                let idx = self.b.user_map_index[map];
                let kind = if gen == FnGen::Clear {
                    ActionKind::Clear(idx)
                } else {
                    ActionKind::Zero(idx)
                };
                self.record(kind, &[], e)?;
            }
            FnGen::Time => {
                let fmt = match args.first().map(|a| &a.kind) {
                    Some(ExprKind::Str(s)) => String::from_utf8_lossy(s).into_owned(),
                    _ => "%H:%M:%S\n".to_string(),
                };
                self.record(ActionKind::Time(fmt), &[], e)?;
            }
            FnGen::Exit => {
                self.record(ActionKind::Exit, &[], e)?;
                self.asm.jump(self.exit);
            }
            FnGen::Delete => {
                let ExprKind::Map { name: map, keys } = &args[0].kind else {
                    return Err(error(e.span, "delete() takes a map element"));
                };
                let m = self.user_map(map, e)?;
                let key = self.build_key(&m, keys, e)?;
                self.asm.emit_all(Insn::ld_map(R1, m.map as u32));
                self.asm.emit(Insn::mov(R2, self.frame.fp));
                self.asm.emit(Insn::alu_imm(Alu::Add, R2, key as i32));
                self.asm.emit(Insn::call(Helper::MapDeleteElem));
                self.check_helper(Helper::MapDeleteElem, Failure::Negative, e.span)?;
            }
            FnGen::Join | FnGen::Signal | FnGen::Override | FnGen::Unwatch | FnGen::Debugf => {
                return self.library_action(e, gen, args);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Writes a record: the action id, then the arguments, and sends it to the ring buffer.
    pub(crate) fn record(&mut self, kind: ActionKind, args: &[Expr], e: &Expr) -> R<()> {
        let (off, size, _) = self.build_record(kind, args, &[], e)?;
        self.output_record(off, size, None)
    }

    /// Writes a record on the stack: the action id, then `args` (each plugin call replaced
    /// by its arguments), then one field per type of `tail`, left for the caller to write.
    /// Returns its offset, its size and its fields.
    pub(crate) fn build_record(
        &mut self,
        kind: ActionKind,
        args: &[Expr],
        tail: &[Type],
        e: &Expr,
    ) -> R<(i16, usize, Vec<crate::object::Field>)> {
        let (args, calls) = self.plugin_call_args(args);
        let mut types: Vec<Type> = args.iter().map(|a| self.ty(a)).collect();
        types.extend_from_slice(tail);
        let (id, fields, size) = self.b.action(kind, &types);
        self.b.obj.actions[id as usize].calls = calls;
        // Every field is written whole (strings zero-padded), so the record needs no zeroing.
        let off = self.alloc(size, e.span)?;
        self.load_const(id);
        self.asm.emit(Insn::store(Size::DW, self.frame.fp, off, R0));
        for (a, f) in args.iter().zip(&fields) {
            self.store_value(a, off + f.offset as i16, &f.ty.clone())?;
        }
        Ok((off, size, fields))
    }

    /// Sends the `size`-byte record at stack offset `off` to the ring buffer. A record the ring
    /// buffer refuses is counted as lost, and then, with `on_lost`, control jumps there.
    pub fn output_record(
        &mut self,
        off: i16,
        size: usize,
        on_lost: Option<crate::asm::Label>,
    ) -> R<()> {
        self.asm
            .emit_all(Insn::ld_map(R1, self.b.obj.ringbuf as u32));
        self.asm.emit(Insn::mov(R2, self.frame.fp));
        self.asm.emit(Insn::alu_imm(Alu::Add, R2, off as i32));
        self.asm.emit(Insn::mov_imm(R3, size as i32));
        self.asm.emit(Insn::mov_imm(R4, 0));
        self.asm.emit(Insn::call(Helper::RingbufOutput));
        let sent = self.asm.label();
        self.asm.jump_if_imm(Cond::Eq, R0, 0, sent);
        self.bump_counter(COUNTER_LOST_EVENTS)?;
        if let Some(l) = on_lost {
            self.asm.jump(l);
        }
        self.asm.place(sent);
        Ok(())
    }
}
