//! Maps: keys, reads, writes, `++`, and aggregations.

use std::collections::BTreeSet;

use scry_lang::ast::{Expr, ExprKind, Program};
use scry_lang::check::TypedProgram;
use scry_lang::functions::Gen as FnGen;
use scry_lang::token::BinOp;
use scry_lang::types::Agg;

use super::error;
use super::gen::{Gen, R};
use super::helper_errors::Failure;
use crate::insn::*;
use crate::layout;
use crate::object::{UserMap, ValueLayout, COUNTER_MAP_FULL};

/// `flags` of map_update_elem: create or replace.
const BPF_ANY: i32 = 0;

/// The maps `program` calls `delete()` on, by name.
pub(crate) fn deleted(program: &Program, typed: &TypedProgram) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for probe in &program.probes {
        probe.walk_exprs(&mut |e| {
            if let ExprKind::Call { args, .. } = &e.kind {
                if let (Some(FnGen::Delete), Some(ExprKind::Map { name: map, .. })) =
                    (typed.calls.get(&e.id), args.first().map(|a| &a.kind))
                {
                    names.insert(map.clone());
                }
            }
        });
    }
    names
}
impl Gen<'_, '_> {
    pub fn user_map(&self, name: &str, e: &Expr) -> R<UserMap> {
        self.b
            .user_map_index
            .get(name)
            .map(|&i| self.b.obj.user_maps[i].clone())
            .ok_or_else(|| error(e.span, format!("map @{name} has no known type")))
    }

    /// Writes the key of `@name[keys]` on the stack, zero-padded to the map's key size (a
    /// hist bucket follows the user keys); returns its offset.
    pub fn build_key(&mut self, m: &UserMap, keys: &[Expr], e: &Expr) -> R<i16> {
        let key_size = self.b.obj.maps[m.map].key_size as usize;
        let off = self.alloc(key_size, e.span)?;
        self.zero(off, key_size);
        for (k, f) in keys.iter().zip(&m.keys) {
            let ty = f.ty.clone();
            self.store_value(k, off + f.offset as i16, &ty)?;
        }
        Ok(off)
    }

    /// r0 = map_lookup_elem(map, r10 + key).
    pub(crate) fn lookup(&mut self, map: usize, key: i16) {
        self.asm.emit_all(Insn::ld_map(R1, map as u32));
        self.asm.emit(Insn::mov(R2, self.frame.fp));
        self.asm.emit(Insn::alu_imm(Alu::Add, R2, key as i32));
        self.asm.emit(Insn::call(Helper::MapLookupElem));
    }

    /// r0 = map_update_elem(map, r10 + key, r10 + value, flags).
    pub(crate) fn update_call(&mut self, map: usize, key: i16, value: i16, flags: i32) {
        self.asm.emit_all(Insn::ld_map(R1, map as u32));
        self.asm.emit(Insn::mov(R2, self.frame.fp));
        self.asm.emit(Insn::alu_imm(Alu::Add, R2, key as i32));
        self.asm.emit(Insn::mov(R3, self.frame.fp));
        self.asm.emit(Insn::alu_imm(Alu::Add, R3, value as i32));
        self.asm.emit(Insn::mov_imm(R4, flags));
        self.asm.emit(Insn::call(Helper::MapUpdateElem));
    }

    /// map_update_elem(map, r10 + key, r10 + value, BPF_ANY), counting failures (map full).
    fn update(&mut self, map: usize, key: i16, value: i16) -> R<()> {
        self.update_call(map, key, value, BPF_ANY);
        self.check_helper(Helper::MapUpdateElem, Failure::Negative, self.asm.span)?;
        let ok = self.asm.label();
        self.asm.jump_if_imm(Cond::Eq, R0, 0, ok);
        self.bump_counter(COUNTER_MAP_FULL)?;
        self.asm.place(ok);
        Ok(())
    }

    /// counters[slot] += 1 (this CPU's slot).
    pub fn bump_counter(&mut self, slot: u32) -> R<()> {
        let key = self.alloc(8, self.asm.span)?;
        self.asm
            .emit(Insn::store_imm(Size::W, self.frame.fp, key, slot as i32));
        self.lookup(self.b.obj.counters, key);
        let end = self.asm.label();
        self.asm.jump_if_imm(Cond::Eq, R0, 0, end);
        self.asm.emit(Insn::load(Size::DW, R1, R0, 0));
        self.asm.emit(Insn::alu_imm(Alu::Add, R1, 1));
        self.asm.emit(Insn::store(Size::DW, R0, 0, R1));
        self.asm.place(end);
        Ok(())
    }

    /// The integer value of `@name[keys]` (0 when absent) into r0.
    pub fn map_read_int(&mut self, name: &str, keys: &[Expr], e: &Expr) -> R<()> {
        let m = self.user_map(name, e)?;
        let key = self.build_key(&m, keys, e)?;
        self.lookup(m.map, key);
        self.check_helper(Helper::MapLookupElem, Failure::Null, e.span)?;
        let end = self.asm.label();
        self.asm.jump_if_imm(Cond::Eq, R0, 0, end);
        match m.value {
            ValueLayout::Agg(Agg::Avg) => {
                self.asm.emit(Insn::load(Size::DW, R1, R0, 0));
                self.asm.emit(Insn::load(Size::DW, R0, R0, 8));
                self.asm.emit(Insn::alu_reg(Alu::Div, R0, R1));
            }
            _ => self.asm.emit(Insn::load(Size::DW, R0, R0, 0)),
        }
        self.asm.place(end);
        Ok(())
    }

    /// r0 = the address of the value of `@name[keys]` in the map, 0 when absent (C data is
    /// read from there in place, not copied to the stack first).
    pub fn map_value_address(&mut self, name: &str, keys: &[Expr], e: &Expr) -> R<()> {
        let m = self.user_map(name, e)?;
        let key = self.build_key(&m, keys, e)?;
        self.lookup(m.map, key);
        self.check_helper(Helper::MapLookupElem, Failure::Null, e.span)?;
        // The verifier allows arithmetic on the value's address once it is checked.
        let found = self.asm.label();
        self.asm.jump_if_imm(Cond::Ne, R0, 0, found);
        self.asm.emit(Insn::mov_imm(R0, 0));
        self.asm.place(found);
        Ok(())
    }

    /// Copies the value of `@name[keys]` (zeroes when absent) to the stack at `dst`.
    pub fn map_read_mem(
        &mut self,
        name: &str,
        keys: &[Expr],
        dst: i16,
        size: usize,
        e: &Expr,
    ) -> R<()> {
        let m = self.user_map(name, e)?;
        let key = self.build_key(&m, keys, e)?;
        self.zero(dst, size);
        self.lookup(m.map, key);
        self.check_helper(Helper::MapLookupElem, Failure::Null, e.span)?;
        let end = self.asm.label();
        self.asm.jump_if_imm(Cond::Eq, R0, 0, end);
        let value_size = (self.b.obj.maps[m.map].value_size as usize).min(size);
        for i in (0..value_size).step_by(8) {
            self.asm.emit(Insn::load(Size::DW, R1, R0, i as i16));
            self.asm
                .emit(Insn::store(Size::DW, self.frame.fp, dst + i as i16, R1));
        }
        self.asm.place(end);
        Ok(())
    }

    /// `@name[keys] = value` and `@name[keys] op= value` (`target` is `@name[keys]`).
    pub fn map_assign(
        &mut self,
        target: &Expr,
        name: &str,
        keys: &[Expr],
        op: Option<BinOp>,
        value: &Expr,
    ) -> R<()> {
        let m = self.user_map(name, value)?;
        let value_size = self.b.obj.maps[m.map].value_size as usize;
        let slot = self.alloc(value_size, value.span)?;
        let ValueLayout::Plain(ty) = &m.value else {
            return Err(error(value.span, format!("@{name} holds an aggregation")));
        };
        let ty = ty.clone();
        match op {
            Some(op) => {
                self.map_read_int(name, keys, target)?;
                self.asm
                    .emit(Insn::store(Size::DW, self.frame.fp, slot, R0));
                self.int(value)?;
                self.asm.emit(Insn::mov(R1, R0));
                if ty.is_pointer() {
                    // A pointer moves by whole elements.
                    let size = self.element_size(&ty, value.span)?;
                    self.scale(R1, size);
                }
                self.asm.emit(Insn::load(Size::DW, R0, self.frame.fp, slot));
                self.op_reg(op, ty.is_signed());
                self.asm
                    .emit(Insn::store(Size::DW, self.frame.fp, slot, R0));
            }
            None => {
                if layout::size_of(&ty) > 8 {
                    self.zero(slot, value_size);
                }
                self.store_value(value, slot, &ty)?;
            }
        }
        let key = self.build_key(&m, keys, value)?;
        self.update(m.map, key, slot)
    }

    /// `@x++`, `--@x[k]`: r0 is the old value (postfix) or the new one (prefix).
    pub fn map_incdec(
        &mut self,
        name: &str,
        keys: &[Expr],
        delta: i32,
        prefix: bool,
        e: &Expr,
    ) -> R<()> {
        let m = self.user_map(name, e)?;
        let key = self.build_key(&m, keys, e)?;
        let slot = self.alloc(8, e.span)?;
        self.lookup(m.map, key);
        self.check_helper(Helper::MapLookupElem, Failure::Null, self.site)?;
        let absent = self.asm.label();
        let end = self.asm.label();
        self.asm.jump_if_imm(Cond::Eq, R0, 0, absent);
        self.asm.emit(Insn::load(Size::DW, R1, R0, 0));
        self.asm.emit(Insn::alu_imm(Alu::Add, R1, delta));
        self.asm.emit(Insn::store(Size::DW, R0, 0, R1));
        self.asm.emit(Insn::mov(R0, R1));
        self.asm.jump(end);
        self.asm.place(absent);
        self.asm
            .emit(Insn::store_imm(Size::DW, self.frame.fp, slot, delta));
        self.update(m.map, key, slot)?;
        self.asm.emit(Insn::mov_imm(R0, delta));
        self.asm.place(end);
        if !prefix {
            self.asm.emit(Insn::alu_imm(Alu::Sub, R0, delta));
        }
        Ok(())
    }

    /// `@name[keys] = agg(args)`.
    pub fn aggregate(
        &mut self,
        name: &str,
        keys: &[Expr],
        f: &str,
        args: &[Expr],
        call: &Expr,
    ) -> R<()> {
        let m = self.user_map(name, call)?;
        let ValueLayout::Agg(agg) = m.value else {
            return Err(error(call.span, format!("@{name} does not hold {f}()")));
        };
        // The aggregated value first: building the key calls helpers.
        let val = self.alloc(8, call.span)?;
        match agg {
            Agg::Count => self
                .asm
                .emit(Insn::store_imm(Size::DW, self.frame.fp, val, 1)),
            _ => {
                self.int(&args[0])?;
                self.asm.emit(Insn::store(Size::DW, self.frame.fp, val, R0));
            }
        }
        let key = self.build_key(&m, keys, call)?;
        let user_key_size: usize = m.keys.iter().map(|k| layout::size_of(&k.ty)).sum();
        if matches!(agg, Agg::Hist | Agg::Lhist { .. }) {
            self.asm.emit(Insn::load(Size::DW, R0, self.frame.fp, val));
            match agg {
                Agg::Lhist { min, max, step } => self.lhist_bucket(min, max, step),
                _ => self.hist_bucket(),
            }
            self.asm.emit(Insn::store(
                Size::DW,
                self.frame.fp,
                key + user_key_size as i16,
                R0,
            ));
            self.asm
                .emit(Insn::store_imm(Size::DW, self.frame.fp, val, 1));
        }
        let init = self.alloc(16, call.span)?;
        self.lookup(m.map, key);
        // bpftrace 0.17 reads an aggregation's old value with a lookup that -kk reports when
        // it finds nothing, but a key-less count() (a per-CPU array there, always found); and
        // avg()/stats() with two (their count and their total).
        let lookups = match agg {
            Agg::Count if keys.is_empty() => 0,
            Agg::Avg | Agg::Stats => 2,
            _ => 1,
        };
        for _ in 0..lookups {
            self.check_helper(Helper::MapLookupElem, Failure::Null, call.span)?;
        }
        let absent = self.asm.label();
        let end = self.asm.label();
        self.asm.jump_if_imm(Cond::Eq, R0, 0, absent);
        self.asm.emit(Insn::load(Size::DW, R1, self.frame.fp, val));
        match agg {
            Agg::Count | Agg::Sum { .. } | Agg::Hist | Agg::Lhist { .. } => {
                self.asm.emit(Insn::load(Size::DW, R2, R0, 0));
                self.asm.emit(Insn::alu_reg(Alu::Add, R2, R1));
                self.asm.emit(Insn::store(Size::DW, R0, 0, R2));
            }
            Agg::Avg | Agg::Stats => {
                self.asm.emit(Insn::load(Size::DW, R2, R0, 0));
                self.asm.emit(Insn::alu_imm(Alu::Add, R2, 1));
                self.asm.emit(Insn::store(Size::DW, R0, 0, R2));
                self.asm.emit(Insn::load(Size::DW, R2, R0, 8));
                self.asm.emit(Insn::alu_reg(Alu::Add, R2, R1));
                self.asm.emit(Insn::store(Size::DW, R0, 8, R2));
            }
            // Signed comparisons, whatever the values' types (docs/integers.md).
            Agg::Min | Agg::Max => {
                let keep = self.asm.label();
                let replace = self.asm.label();
                self.asm.emit(Insn::load(Size::DW, R2, R0, 8));
                self.asm.jump_if_imm(Cond::Eq, R2, 0, replace);
                self.asm.emit(Insn::load(Size::DW, R2, R0, 0));
                let better = if agg == Agg::Min {
                    Cond::Slt
                } else {
                    Cond::Sgt
                };
                self.asm.jump_if_reg(better, R1, R2, replace);
                self.asm.jump(keep);
                self.asm.place(replace);
                self.asm.emit(Insn::store(Size::DW, R0, 0, R1));
                self.asm.emit(Insn::store_imm(Size::DW, R0, 8, 1));
                self.asm.place(keep);
            }
        }
        self.asm.jump(end);
        self.asm.place(absent);
        self.asm.emit(Insn::load(Size::DW, R1, self.frame.fp, val));
        match agg {
            Agg::Avg | Agg::Stats => {
                self.asm
                    .emit(Insn::store_imm(Size::DW, self.frame.fp, init, 1));
                self.asm
                    .emit(Insn::store(Size::DW, self.frame.fp, init + 8, R1));
            }
            Agg::Min | Agg::Max => {
                self.asm
                    .emit(Insn::store(Size::DW, self.frame.fp, init, R1));
                self.asm
                    .emit(Insn::store_imm(Size::DW, self.frame.fp, init + 8, 1));
            }
            _ => {
                self.asm
                    .emit(Insn::store(Size::DW, self.frame.fp, init, R1));
                self.asm
                    .emit(Insn::store_imm(Size::DW, self.frame.fp, init + 8, 0));
            }
        }
        self.update(m.map, key, init)?;
        self.asm.place(end);
        Ok(())
    }

    /// r0 = the log2 bucket of r0, read as signed whatever its type (bpftrace 0.17): 0 for
    /// negatives, 1 for 0, 2 + log2(v) above.
    fn hist_bucket(&mut self) {
        let done = self.asm.label();
        let nonneg = self.asm.label();
        self.asm.jump_if_imm(Cond::Sge, R0, 0, nonneg);
        self.asm.emit(Insn::mov_imm(R0, 0));
        self.asm.jump(done);
        self.asm.place(nonneg);
        let positive = self.asm.label();
        self.asm.jump_if_imm(Cond::Ne, R0, 0, positive);
        self.asm.emit(Insn::mov_imm(R0, 1));
        self.asm.jump(done);
        self.asm.place(positive);
        self.floor_log2(R0, R1, R2);
        self.asm.emit(Insn::mov(R0, R1));
        self.asm.emit(Insn::alu_imm(Alu::Add, R0, 2));
        self.asm.place(done);
    }

    /// `out` = floor(log2(`v`)) for `v` >= 1, unsigned; `v` is shifted down and `tmp` used.
    pub(crate) fn floor_log2(&mut self, v: Reg, out: Reg, tmp: Reg) {
        self.asm.emit(Insn::mov_imm(out, 0));
        self.asm.emit_all(Insn::ld_imm64(tmp, 1 << 32));
        for (shift, limit) in [
            (32, None),
            (16, Some(1 << 16)),
            (8, Some(1 << 8)),
            (4, Some(16)),
            (2, Some(4)),
            (1, Some(2)),
        ] {
            let skip = self.asm.label();
            match limit {
                None => self.asm.jump_if_reg(Cond::Lt, v, tmp, skip),
                Some(l) => self.asm.jump_if_imm(Cond::Lt, v, l, skip),
            }
            self.asm.emit(Insn::alu_imm(Alu::Rsh, v, shift));
            self.asm.emit(Insn::alu_imm(Alu::Add, out, shift));
            self.asm.place(skip);
        }
    }

    /// r0 = the linear bucket of r0: 0 below min, B+1 from max on, else 1 + (v - min) / step.
    fn lhist_bucket(&mut self, min: i64, max: i64, step: i64) {
        let buckets = (max - min) / step;
        let done = self.asm.label();
        let above_min = self.asm.label();
        let inside = self.asm.label();
        self.asm.jump_if_imm(Cond::Sge, R0, min as i32, above_min);
        self.asm.emit(Insn::mov_imm(R0, 0));
        self.asm.jump(done);
        self.asm.place(above_min);
        self.asm.jump_if_imm(Cond::Slt, R0, max as i32, inside);
        self.asm.emit(Insn::mov_imm(R0, buckets as i32 + 1));
        self.asm.jump(done);
        self.asm.place(inside);
        self.asm.emit(Insn::alu_imm(Alu::Sub, R0, min as i32));
        self.asm.emit(Insn::alu_imm(Alu::Div, R0, step as i32));
        self.asm.emit(Insn::alu_imm(Alu::Add, R0, 1));
        self.asm.place(done);
    }
}
