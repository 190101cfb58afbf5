//! The assembler: collects instructions with the source span of each, and resolves labels.

use scry_lang::span::Span;

use crate::insn::{Cond, Insn, Reg};

/// A jump target, placed later with [`Asm::place`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

/// Instructions under construction.
#[derive(Default)]
pub struct Asm {
    insns: Vec<Insn>,
    spans: Vec<Span>,
    /// Position of each label once placed.
    labels: Vec<Option<usize>>,
    /// (instruction index, label) of jumps to patch.
    fixups: Vec<(usize, Label)>,
    /// The span given to instructions emitted now.
    pub span: Span,
}

/// Error from [`Asm::finish`]: a jump too far for a 16-bit offset.
#[derive(Debug)]
pub struct TooFar;

impl Asm {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn emit(&mut self, insn: Insn) {
        self.insns.push(insn);
        self.spans.push(self.span);
    }

    pub fn emit_all(&mut self, insns: impl IntoIterator<Item = Insn>) {
        for i in insns {
            self.emit(i);
        }
    }

    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Places `label` at the next instruction.
    pub fn place(&mut self, label: Label) {
        self.labels[label.0] = Some(self.insns.len());
    }

    /// `goto label`.
    pub fn jump(&mut self, label: Label) {
        self.fixups.push((self.insns.len(), label));
        self.emit(Insn::ja(0));
    }

    /// `if reg cond imm goto label`.
    pub fn jump_if_imm(&mut self, cond: Cond, reg: Reg, imm: i32, label: Label) {
        self.fixups.push((self.insns.len(), label));
        self.emit(Insn::jmp_imm(cond, reg, imm, 0));
    }

    /// `if a cond b goto label`.
    pub fn jump_if_reg(&mut self, cond: Cond, a: Reg, b: Reg, label: Label) {
        self.fixups.push((self.insns.len(), label));
        self.emit(Insn::jmp_reg(cond, a, b, 0));
    }

    /// Number of instructions so far.
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// Resolves jumps and drops unreachable instructions (the verifier rejects them, and
    /// structured code leaves some, e.g. the jump over an `else` after an `exit()`); returns the
    /// instructions and their spans.
    pub fn finish(mut self) -> Result<(Vec<Insn>, Vec<Span>), TooFar> {
        let n = self.insns.len();
        // Absolute target of every jump.
        let mut target: Vec<Option<usize>> = vec![None; n];
        for (at, label) in std::mem::take(&mut self.fixups) {
            target[at] = Some(self.labels[label.0].expect("every label used by a jump is placed"));
        }
        let reachable = reachable(&self.insns, &target);
        // New index of each kept instruction.
        let mut new_index = vec![0usize; n + 1];
        let mut kept = 0;
        for i in 0..n {
            new_index[i] = kept;
            if reachable[i] {
                kept += 1;
            }
        }
        new_index[n] = kept;
        let mut insns = Vec::with_capacity(kept);
        let mut spans = Vec::with_capacity(kept);
        for i in 0..n {
            if !reachable[i] {
                continue;
            }
            let mut ins = self.insns[i];
            if let Some(t) = target[i] {
                let off = new_index[t] as i64 - new_index[i] as i64 - 1;
                ins.off = i16::try_from(off).map_err(|_| TooFar)?;
            }
            insns.push(ins);
            spans.push(self.spans[i]);
        }
        Ok((insns, spans))
    }
}

/// Which instructions can run, following jumps from the first.
fn reachable(insns: &[Insn], target: &[Option<usize>]) -> Vec<bool> {
    let n = insns.len();
    let mut seen = vec![false; n];
    let mut work = vec![0usize];
    while let Some(i) = work.pop() {
        if i >= n || seen[i] {
            continue;
        }
        seen[i] = true;
        let ins = insns[i];
        if ins.code == 0x18 {
            // A 64-bit immediate load spans two slots.
            if i + 1 < n {
                seen[i + 1] = true;
            }
            work.push(i + 2);
            continue;
        }
        if ins.code == 0x95 {
            continue;
        }
        if let Some(t) = target[i] {
            work.push(t);
            if ins.code == 0x05 {
                continue;
            }
        }
        work.push(i + 1);
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::{R0, R1};

    #[test]
    fn labels_resolve_forwards_and_backwards() {
        let mut a = Asm::new();
        let top = a.label();
        let end = a.label();
        a.place(top);
        a.emit(Insn::mov_imm(R0, 1));
        a.jump_if_imm(Cond::Eq, R0, 0, end);
        a.jump_if_reg(Cond::Ne, R0, R1, top);
        a.place(end);
        a.emit(Insn::exit());
        let (insns, spans) = a.finish().unwrap();
        assert_eq!(insns[1].off, 1);
        assert_eq!(insns[2].off, -3);
        assert_eq!(spans.len(), 4);
    }

    #[test]
    fn unreachable_code_is_dropped() {
        let mut a = Asm::new();
        let end = a.label();
        let other = a.label();
        a.jump_if_imm(Cond::Eq, R0, 0, other);
        a.emit(Insn::exit());
        a.jump(end); // after an exit: unreachable
        a.place(other);
        a.emit_all(Insn::ld_imm64(R0, 1 << 40));
        a.place(end);
        a.emit(Insn::exit());
        let (insns, _) = a.finish().unwrap();
        assert_eq!(insns.len(), 5);
        assert_eq!(insns[0].off, 1);
    }
}
