//! A weighted reducer's values counted in the kernel (ABI 1.1): an event adds one to the count
//! of its (keys, value, generation) in a per-CPU hash instead of sending a record; only an
//! event that finds the map full goes as a record (docs/plugins.md, "Weighted reducers").

use scry_lang::ast::Expr;
use scry_lang::check::ReducerMap;
use scry_lang::plugin::{Folding, PluginType};
use scry_lang::types::Type;

use super::gen::{Gen, R};
use super::Builder;
use crate::insn::*;
use crate::layout;
use crate::object::{ActionKind, KernelCounts, MapKind, MapSpec};

/// `flags` of map_update_elem: only if the key is absent (a racing insert is not overwritten).
const BPF_NOEXIST: i32 = 1;

impl Builder<'_> {
    /// The counts and generation maps of reducer map `name`, for a weighted reducer.
    pub(crate) fn kernel_counts(&mut self, name: &str, spec: &ReducerMap) -> Option<KernelCounts> {
        let rounded = match spec.folding {
            Folding::PerEvent => return None,
            Folding::Weighted => None,
            Folding::Rounded(bits) => Some(bits),
        };
        let (keys, end) = layout::fields(&spec.keys, 0);
        let counts = KernelCounts {
            map: self.obj.maps.len(),
            generation: self.obj.maps.len() + 1,
            keys,
            value: end,
            signed: spec.value == PluginType::I64,
            rounded,
        };
        self.obj.maps.push(MapSpec {
            name: format!("@{name}"),
            kind: MapKind::PerCpuHash,
            key_size: (end + 16) as u32,
            value_size: counts.value_size() as u32,
            max_entries: self.opts.map_keys_max,
        });
        self.obj.maps.push(MapSpec {
            name: format!("@{name}.gen"),
            kind: MapKind::Array,
            key_size: 4,
            value_size: 8,
            max_entries: 1,
        });
        Some(counts)
    }
}

impl Gen<'_, '_> {
    /// `@m[keys] = p::r(value)` of reducer map `m` counted in `c`: the record is built as for
    /// the per-event path, its keys and value counted; it is sent only if the count cannot
    /// be added.
    pub(crate) fn count_reduce(
        &mut self,
        m: usize,
        c: &KernelCounts,
        fields: &[Expr],
        e: &Expr,
    ) -> R<()> {
        let (rec, size, rf) = self.build_record(ActionKind::Reduce(m), fields, &[], e)?;
        let exact = rec + rf.last().map_or(8, |f| f.offset) as i16;
        let value = c.value as i16;
        let key = self.alloc(c.value + 16, e.span)?;
        for i in (0..value).step_by(8) {
            self.asm
                .emit(Insn::load(Size::DW, R1, self.frame.fp, rec + 8 + i));
            self.asm
                .emit(Insn::store(Size::DW, self.frame.fp, key + i, R1));
        }
        self.asm
            .emit(Insn::load(Size::DW, R0, self.frame.fp, exact));
        if let Some(bits) = c.rounded {
            self.round(bits, c.signed);
        }
        self.asm
            .emit(Insn::store(Size::DW, self.frame.fp, key + value, R0));
        self.generation(c)?;
        self.asm
            .emit(Insn::store(Size::DW, self.frame.fp, key + value + 8, R0));
        self.lookup(c.map, key);
        let absent = self.asm.label();
        let end = self.asm.label();
        self.asm.jump_if_imm(Cond::Eq, R0, 0, absent);
        if c.rounded.is_some() {
            self.keep_extremes(exact, c.signed);
        }
        // The count last: user space reads it first, so the extremes it reads are as new.
        self.asm.emit(Insn::load(Size::DW, R1, R0, 0));
        self.asm.emit(Insn::alu_imm(Alu::Add, R1, 1));
        self.asm.emit(Insn::store(Size::DW, R0, 0, R1));
        self.asm.jump(end);
        self.asm.place(absent);
        let init = self.alloc(c.value_size(), e.span)?;
        self.asm
            .emit(Insn::store_imm(Size::DW, self.frame.fp, init, 1));
        if c.rounded.is_some() {
            self.asm
                .emit(Insn::load(Size::DW, R1, self.frame.fp, exact));
            self.asm
                .emit(Insn::store(Size::DW, self.frame.fp, init + 8, R1));
            self.asm
                .emit(Insn::store(Size::DW, self.frame.fp, init + 16, R1));
        }
        self.update_call(c.map, key, init, BPF_NOEXIST);
        self.asm.jump_if_imm(Cond::Eq, R0, 0, end);
        // The map is full (or the key was added meanwhile): this event goes as a record.
        self.output_record(rec, size, None)?;
        self.asm.place(end);
        Ok(())
    }

    /// A reducer map's `print`, `clear`, `zero` or `delete` record when the kernel counts its
    /// values: the map moves to the next generation, and the record ends with `before`, that
    /// generation (what was counted in the ones below it came before the record).
    pub(crate) fn counts_record(
        &mut self,
        kind: ActionKind,
        c: &KernelCounts,
        args: &[Expr],
        e: &Expr,
    ) -> R<()> {
        let (rec, size, rf) = self.build_record(kind, args, &[Type::U64], e)?;
        let before = rec + rf.last().map_or(8, |f| f.offset) as i16;
        let slot = self.alloc(8, e.span)?;
        self.asm
            .emit(Insn::store_imm(Size::W, self.frame.fp, slot, 0));
        self.lookup(c.generation, slot);
        let none = self.asm.label();
        let done = self.asm.label();
        self.asm.jump_if_imm(Cond::Eq, R0, 0, none);
        self.asm.emit(Insn::mov_imm(R1, 1));
        self.asm.emit(Insn::atomic_fetch_add(R0, 0, R1));
        self.asm.emit(Insn::mov(R0, R1));
        self.asm.jump(done);
        self.asm.place(none);
        self.asm.emit(Insn::mov_imm(R0, 0));
        self.asm.place(done);
        self.asm.emit(Insn::alu_imm(Alu::Add, R0, 1));
        self.asm
            .emit(Insn::store(Size::DW, self.frame.fp, before, R0));
        self.output_record(rec, size, None)
    }

    /// r0 = the generation of `c` (0 if it cannot be read).
    fn generation(&mut self, c: &KernelCounts) -> R<()> {
        let slot = self.alloc(8, self.asm.span)?;
        self.asm
            .emit(Insn::store_imm(Size::W, self.frame.fp, slot, 0));
        self.lookup(c.generation, slot);
        let end = self.asm.label();
        self.asm.jump_if_imm(Cond::Eq, R0, 0, end);
        self.asm.emit(Insn::load(Size::DW, R0, R0, 0));
        self.asm.place(end);
        Ok(())
    }

    /// With r0 the address of a rounded count (count, smallest, largest): keeps the exact
    /// value at stack offset `exact` as the smallest and largest when it is (or when this
    /// CPU's count is still 0). r0 is kept.
    fn keep_extremes(&mut self, exact: i16, signed: bool) {
        let (less, more) = if signed {
            (Cond::Slt, Cond::Sgt)
        } else {
            (Cond::Lt, Cond::Gt)
        };
        let first = self.asm.label();
        let max = self.asm.label();
        let done = self.asm.label();
        self.asm
            .emit(Insn::load(Size::DW, R1, self.frame.fp, exact));
        self.asm.emit(Insn::load(Size::DW, R2, R0, 0));
        self.asm.jump_if_imm(Cond::Eq, R2, 0, first);
        self.asm.emit(Insn::load(Size::DW, R2, R0, 8));
        self.asm.jump_if_reg(less.negate(), R1, R2, max);
        self.asm.emit(Insn::store(Size::DW, R0, 8, R1));
        self.asm.place(max);
        self.asm.emit(Insn::load(Size::DW, R2, R0, 16));
        self.asm.jump_if_reg(more.negate(), R1, R2, done);
        self.asm.emit(Insn::store(Size::DW, R0, 16, R1));
        self.asm.jump(done);
        self.asm.place(first);
        self.asm.emit(Insn::store(Size::DW, R0, 8, R1));
        self.asm.emit(Insn::store(Size::DW, R0, 16, R1));
        self.asm.place(done);
    }

    /// r0 rounded toward zero to its `bits` most significant bits (of its magnitude, for a
    /// signed value): the log-linear bucket a `weighted rounded BITS` reducer accepts.
    fn round(&mut self, bits: u8, signed: bool) {
        let magnitude = self.asm.label();
        let keep = self.asm.label();
        let done = self.asm.label();
        self.asm.emit(Insn::mov_imm(R5, 0));
        if signed {
            self.asm.jump_if_imm(Cond::Sge, R0, 0, magnitude);
            self.asm.emit(Insn::alu_imm(Alu::Neg, R0, 0));
            self.asm.emit(Insn::mov_imm(R5, 1));
        }
        self.asm.place(magnitude);
        self.asm.emit(Insn::mov(R1, R0));
        self.asm.emit_all(Insn::ld_imm64(R2, 1u64 << bits));
        self.asm.jump_if_reg(Cond::Lt, R1, R2, keep);
        // shift = floor(log2(v)) - (bits - 1); v = v >> shift << shift.
        self.asm.emit(Insn::mov(R3, R0));
        self.floor_log2(R3, R4, R2);
        self.asm.emit(Insn::alu_imm(Alu::Sub, R4, bits as i32 - 1));
        self.asm.emit(Insn::alu_reg(Alu::Rsh, R1, R4));
        self.asm.emit(Insn::alu_reg(Alu::Lsh, R1, R4));
        self.asm.place(keep);
        self.asm.emit(Insn::mov(R0, R1));
        self.asm.jump_if_imm(Cond::Eq, R5, 0, done);
        self.asm.emit(Insn::alu_imm(Alu::Neg, R0, 0));
        self.asm.place(done);
    }
}
