//! `-k`/`-kk`: a helper call that fails sends a record naming the call site and the return
//! code, which user space prints as bpftrace 0.17 does (`Failed to probe_read: Bad address`);
//! and the choice of the memory-reading helper, whose name those warnings print.

use scry_lang::ast::{Expr, ExprKind, UnOp};
use scry_lang::span::{Location, Span};
use scry_lang::types::Type;

use super::gen::{Gen, R};
use crate::insn::*;
use crate::object::{ActionKind, HelperSite};

/// How a helper's return value in r0 says it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A negative error code (probe reads, map updates and deletes, ...).
    Negative,
    /// Zero: a map lookup found nothing (reported with return code 0).
    Null,
}

/// Failures `-k` leaves out: the value read is zero, which a program can test.
fn reads_zero_on_failure(helper: Helper) -> bool {
    matches!(
        helper,
        Helper::ProbeReadKernel
            | Helper::ProbeReadKernelStr
            | Helper::ProbeReadUser
            | Helper::ProbeReadUserStr
            | Helper::ProbeRead
            | Helper::ProbeReadStr
            | Helper::MapLookupElem
    )
}

impl Gen<'_, '_> {
    /// The helper that reads memory (a string with `str`) in user space (`user`) or else
    /// kernel space. Probes without an address space of their own (BEGIN/END, timers, perf
    /// events, watchpoints) read as bpftrace 0.17 reads there, with the old `probe_read`,
    /// which reads user memory below the user-space limit and kernel memory above it.
    pub(crate) fn read_helper(&self, user: bool, str: bool) -> Helper {
        match (user, str) {
            (true, false) => Helper::ProbeReadUser,
            (true, true) => Helper::ProbeReadUserStr,
            _ if !self.kind.descriptor().has_address_space() => match str {
                false => Helper::ProbeRead,
                true => Helper::ProbeReadStr,
            },
            (false, false) => Helper::ProbeReadKernel,
            (false, true) => Helper::ProbeReadKernelStr,
        }
    }

    /// Where bpftrace 0.17 places expression `e` in a helper failure: its parser locates a
    /// `.field` access at the `.`, a dereference at the `*`, an index from the `[`, `++`/`--`
    /// at the operator, anything else whole (its lexer starts each of these where the run of
    /// characters without white space begins, and a node never holds the parentheses around
    /// it: `Location::of`). Operators are taken to stand right beside their operands.
    pub(crate) fn site_of(e: &Expr) -> Span {
        let before = |s: Span, n: usize| Span::new(s.start.saturating_sub(n), s.start);
        let after = |s: Span, n: usize| Span::new(s.end, s.end + n);
        match &e.kind {
            ExprKind::Field {
                base, arrow: false, ..
            } => after(base.span, 1),
            ExprKind::Unary {
                op: UnOp::Deref,
                operand,
            } => before(operand.span, 1),
            ExprKind::Index { base, index } => Span::new(base.span.end, index.span.end + 1),
            ExprKind::IncDec {
                target,
                prefix: true,
                ..
            } => before(target.span, 2),
            ExprKind::IncDec { target, .. } => after(target.span, 2),
            _ => e.span,
        }
    }

    /// After a call of `helper` made for the expression at `span`: when its result in r0 says
    /// it failed, and `-k`/`-kk` asks for it, sends a [`ActionKind::HelperError`] record.
    /// r0 keeps its value on both paths.
    pub(crate) fn check_helper(&mut self, helper: Helper, failure: Failure, span: Span) -> R<()> {
        let level = self.b.opts.helper_errors;
        if level == 0 || (level == 1 && reads_zero_on_failure(helper)) {
            return Ok(());
        }
        let site = HelperSite {
            helper: helper.name(),
            span,
            location: Location::default(),
        };
        let (id, _, size) = self.b.action(ActionKind::HelperError(site), &[Type::I64]);
        let rec = self.alloc(size, span)?;
        let ok = self.asm.label();
        match failure {
            Failure::Negative => {
                // Helpers return an int in a long: its low 32 bits, sign-extended, are the code.
                self.asm.emit(Insn::mov(R1, R0));
                self.asm.emit(Insn::alu_imm(Alu::Lsh, R1, 32));
                self.asm.emit(Insn::alu_imm(Alu::Arsh, R1, 32));
                self.asm.jump_if_imm(Cond::Sge, R1, 0, ok);
                self.asm
                    .emit(Insn::store(Size::DW, self.frame.fp, rec + 8, R1));
            }
            Failure::Null => {
                self.asm.jump_if_imm(Cond::Ne, R0, 0, ok);
                self.asm
                    .emit(Insn::store_imm(Size::DW, self.frame.fp, rec + 8, 0));
            }
        }
        self.load_const(id);
        self.asm.emit(Insn::store(Size::DW, self.frame.fp, rec, R0));
        self.output_record(rec, size, None)?;
        // The failed call's result, for the code after it.
        self.asm
            .emit(Insn::load(Size::DW, R0, self.frame.fp, rec + 8));
        self.asm.place(ok);
        Ok(())
    }
}
