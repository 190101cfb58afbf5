//! The per-program generator: prologue, predicate, statements and epilogue.

use std::collections::HashMap;

use scry_lang::arch::syscalls;
use scry_lang::ast::{Block, Expr, ExprKind, Probe, Stmt, StmtKind};
use scry_lang::attach::Attach;
use scry_lang::diag::Diagnostic;
use scry_lang::functions::Gen as FnGen;
use scry_lang::probe::{Args, Attachment, ProbeKind};
use scry_lang::span::Span;
use scry_lang::tracepoint_format::TracepointField;
use scry_lang::types::Type;

use super::frame::Frame;
use super::{error, prog_type, Builder, Group};
use crate::asm::{Asm, Label};
use crate::insn::*;
use crate::layout;
use crate::object::{FanInCall, ProgramSpec, SyscallFanIn, Trigger};

pub(crate) type R<T> = Result<T, Diagnostic>;

/// The immediate of the scratch prologue's `r9 += ...` until the frame's size is known.
const SCRATCH_END: i32 = i32::MAX;

/// Generates one program.
pub(crate) struct Gen<'g, 'a> {
    pub b: &'g mut Builder<'a>,
    pub asm: Asm,
    pub frame: Frame,
    pub kind: ProbeKind,
    /// Tracepoint record fields, when the group reads `args`.
    pub tp_fields: Option<Vec<TracepointField>>,
    /// The tracepoint category (pointers of `syscalls` records point to user memory).
    pub tp_category: Option<String>,
    /// A constant probe id, when the group has one attach point that is not a tracepoint.
    pub probe_id: Option<u64>,
    /// In a raw_syscalls fan-in program: the stack slot holding the probe id.
    pub probe_slot: Option<i16>,
    /// Stack slot of each scratch variable.
    pub vars: HashMap<String, i16>,
    /// (continue, break) targets of the enclosing loops.
    pub loops: Vec<(Label, Label)>,
    /// The epilogue.
    pub exit: Label,
    /// The argument specification of the group's USDT probes (all of the group share it).
    pub usdt_args: Option<String>,
    /// Where a helper failing in the expression being evaluated is reported (`-k`): the
    /// expression as bpftrace 0.17 locates it ([`Gen::site_of`]).
    pub site: Span,
}

impl<'g, 'a> Gen<'g, 'a> {
    /// Compiles probe `index` of the source being compiled, block `block` of the object, for
    /// the attach points of `group`. Its values live on the BPF stack; a program that needs
    /// more than the stack is compiled again over a scratch map (what the first attempt added
    /// to the object is dropped first).
    pub fn compile_program(
        b: &'g mut Builder<'a>,
        probe: &Probe,
        ids: (usize, usize),
        group: Group,
    ) -> R<ProgramSpec> {
        let at = b.obj.lengths();
        let mut overflowed = false;
        match Gen::compile_in(b, probe, ids, &group, Frame::default(), &mut overflowed) {
            Err(_) if overflowed => {
                b.obj.truncate(&at);
                Gen::compile_in(b, probe, ids, &group, Frame::scratch(), &mut overflowed)
            }
            r => r,
        }
    }

    /// [`Gen::compile_program`] in `frame`; on error, `overflowed` says whether the frame was
    /// too small.
    fn compile_in(
        b: &'g mut Builder<'a>,
        probe: &Probe,
        (index, block): (usize, usize),
        group: &Group,
        frame: Frame,
        overflowed: &mut bool,
    ) -> R<ProgramSpec> {
        let raw_tp = raw_fan_in(group, probe);
        let kind = if raw_tp {
            ProbeKind::RawTracepoint
        } else {
            group.kind
        };
        let prog_type = prog_type(kind).map_err(|m| error(group_span(probe), m))?;
        let first = group.attaches[0];
        let (tp_fields, tp_category) = match &first.target {
            scry_lang::attach::Target::Tracepoint { category, event } => (
                b.typed
                    .tracepoints
                    .get(&format!("{category}:{event}"))
                    .map(|f| f.fields.clone()),
                Some(category.clone()),
            ),
            scry_lang::attach::Target::KernelFunction { func, .. }
                if group.kind.descriptor().context.args == Args::Btf =>
            {
                (b.typed.kernel_functions.get(func).map(kfunc_fields), None)
            }
            scry_lang::attach::Target::User {
                path,
                symbol: Some(func),
                ..
            } if group.kind.descriptor().context.args == Args::Dwarf => (
                b.typed
                    .user_functions
                    .get(&(path.clone(), func.clone()))
                    .map(uprobe_fields),
                None,
            ),
            _ => (None, None),
        };
        // `probe` is a constant unless the program serves a raw_syscalls fan-in.
        let probe_id = group.fan_in.is_none().then(|| b.probe_id(&first.name));
        let mut asm = Asm::new();
        let exit = asm.label();
        let mut g = Gen {
            b,
            asm,
            frame,
            kind: group.kind,
            tp_fields,
            tp_category,
            probe_id,
            probe_slot: None,
            vars: HashMap::new(),
            loops: Vec::new(),
            exit,
            usdt_args: match &first.target {
                scry_lang::attach::Target::Usdt { arguments, .. } => Some(arguments.clone()),
                _ => None,
            },
            site: probe.span,
        };
        let fan_in = match g.body(probe, index, group) {
            Ok(fan_in) => fan_in,
            Err(d) => {
                *overflowed = g.frame.overflowed();
                return Err(d);
            }
        };
        let (mut insns, spans) = g
            .asm
            .finish()
            .map_err(|_| error(probe.span, "this probe's code is too long: a jump exceeds the 32767-instruction reach of BPF jumps"))?;
        let scratch_map = g
            .frame
            .is_scratch()
            .then(|| size_scratch(g.b.obj, g.frame.peak, &mut insns))
            .flatten();
        let trigger = match group.kind.descriptor().attach {
            Attachment::RunAtStart => Trigger::Begin,
            Attachment::RunAtEnd => Trigger::End,
            _ => Trigger::Attached,
        };
        let name = format!("p{block}_{}", g.b.obj.programs.end());
        Ok(ProgramSpec {
            name,
            prog_type,
            trigger,
            insns,
            spans,
            uprobe_multi: super::uprobe_multi(g.b.opts, group.attaches.iter().copied()),
            attach_btf_id: match &first.target {
                scry_lang::attach::Target::KernelFunction { func, .. }
                    if prog_type == crate::object::ProgType::Tracing =>
                {
                    g.b.typed.kernel_functions.get(func).map(|f| f.btf_id)
                }
                _ => None,
            },
            attaches: group.attaches.iter().map(|a| (*a).clone()).collect(),
            probe_block: block,
            actions: 0..0,
            scratch_map,
            fan_in,
        })
    }

    /// The program from its first instruction to its exit; the raw_syscalls fan-in it
    /// serves, if any.
    fn body(&mut self, probe: &Probe, index: usize, group: &Group) -> R<Option<SyscallFanIn>> {
        self.asm.span = probe.span;
        self.asm.emit(Insn::mov(R6, R1));
        if self.frame.is_scratch() {
            self.scratch_prologue();
        }
        let fan_in = match &group.fan_in {
            Some((event, calls)) => {
                Some(self.fan_in_prologue(event, calls, probe, raw_fan_in(group, probe))?)
            }
            None => None,
        };
        // A uprobe_multi link's cookie is the probe id of the attach point that fired.
        if self.b.opts.uprobe_multi
            && group.kind.descriptor().attach == Attachment::Uprobe
            && group.attaches.len() > 1
            && super::uses_ident(probe, "probe")
        {
            for a in &group.attaches {
                self.b.probe_id(&a.name);
            }
            let slot = self.alloc(8, probe.span)?;
            self.asm.emit(Insn::mov(R1, R6));
            self.asm.emit(Insn::call(Helper::GetAttachCookie));
            self.asm
                .emit(Insn::store(Size::DW, self.frame.fp, slot, R0));
            self.probe_slot = Some(slot);
        }
        self.alloc_vars(index, probe)?;
        if let Some(pred) = &probe.predicate {
            self.asm.span = pred.span;
            self.jump_if_false(pred, self.exit)?;
        }
        self.block(&probe.body)?;
        self.asm.span = probe.body.span;
        self.asm.place(self.exit);
        self.asm.emit(Insn::mov_imm(R0, 0));
        self.asm.emit(Insn::exit());
        Ok(fan_in)
    }

    /// Makes r9 the frame pointer of a program whose frame is a scratch map value: the end of
    /// this CPU's value (the immediate is set to the frame's size once it is known).
    fn scratch_prologue(&mut self) {
        let map = self.b.obj.maps.len();
        self.b.obj.maps.push(crate::object::MapSpec {
            name: format!("scratch{}", self.b.obj.programs.end()),
            kind: crate::object::MapKind::PerCpuArray,
            key_size: 4,
            value_size: super::frame::SCRATCH_SIZE as u32,
            max_entries: 1,
        });
        self.asm.emit(Insn::store_imm(Size::W, R10, -8, 0));
        self.asm.emit_all(Insn::ld_map(R1, map as u32));
        self.asm.emit(Insn::mov(R2, R10));
        self.asm.emit(Insn::alu_imm(Alu::Add, R2, -8));
        self.asm.emit(Insn::call(Helper::MapLookupElem));
        self.asm.jump_if_imm(Cond::Eq, R0, 0, self.exit);
        self.asm.emit(Insn::mov(R9, R0));
        self.asm.emit(Insn::alu_imm(Alu::Add, R9, SCRATCH_END));
    }

    /// The start of a raw_syscalls program standing for many `syscalls:` tracepoints: look the
    /// call's number up in the filter map; go on only for traced calls, keeping the probe id.
    /// With `raw_tp` the program is a raw tracepoint program (its context the tracepoint's
    /// arguments: the registers, then the call's number, at the same offset 8).
    fn fan_in_prologue(
        &mut self,
        event: &str,
        calls: &[(u32, u64)],
        probe: &Probe,
        raw_tp: bool,
    ) -> R<SyscallFanIn> {
        let filter_map = self.b.obj.maps.len();
        self.b.obj.maps.push(crate::object::MapSpec {
            name: format!("{event}_filter"),
            kind: crate::object::MapKind::Array,
            key_size: 4,
            value_size: 8,
            max_entries: syscalls::MAX_NUMBER,
        });
        let key = self.alloc(8, probe.span)?;
        let slot = self.alloc(8, probe.span)?;
        self.asm.emit(Insn::load(Size::DW, R1, R6, 8));
        self.asm
            .jump_if_imm(Cond::Ge, R1, syscalls::MAX_NUMBER as i32, self.exit);
        self.asm.emit(Insn::store(Size::W, self.frame.fp, key, R1));
        self.asm.emit_all(Insn::ld_map(R1, filter_map as u32));
        self.asm.emit(Insn::mov(R2, self.frame.fp));
        self.asm.emit(Insn::alu_imm(Alu::Add, R2, key as i32));
        self.asm.emit(Insn::call(Helper::MapLookupElem));
        self.asm.jump_if_imm(Cond::Eq, R0, 0, self.exit);
        self.asm.emit(Insn::load(Size::DW, R0, R0, 0));
        self.asm.jump_if_imm(Cond::Eq, R0, 0, self.exit);
        self.asm
            .emit(Insn::store(Size::DW, self.frame.fp, slot, R0));
        self.probe_slot = Some(slot);
        Ok(SyscallFanIn {
            raw: if raw_tp {
                Attach {
                    kind: ProbeKind::RawTracepoint,
                    name: format!("rawtracepoint:{event}"),
                    target: scry_lang::attach::Target::RawTracepoint {
                        event: event.to_string(),
                    },
                }
            } else {
                Attach {
                    kind: ProbeKind::Tracepoint,
                    name: format!("tracepoint:raw_syscalls:{event}"),
                    target: scry_lang::attach::Target::Tracepoint {
                        category: "raw_syscalls".into(),
                        event: event.to_string(),
                    },
                }
            },
            filter_map,
            calls: calls
                .iter()
                .enumerate()
                .map(|(attach, &(nr, tracepoint_id))| FanInCall {
                    nr,
                    attach,
                    tracepoint_id,
                })
                .collect(),
        })
    }

    /// Gives every scratch variable its stack slot, zeroed so the verifier sees it written.
    fn alloc_vars(&mut self, index: usize, probe: &Probe) -> R<()> {
        let vars = self.b.typed.probes[index].vars.clone();
        for (name, ty) in vars {
            let size = layout::size_of(&ty).max(8);
            let off = self.alloc(size, probe.span)?;
            self.zero(off, size);
            self.vars.insert(name, off);
        }
        Ok(())
    }

    /// A frame slot of `bytes`, or an error at `span` when the frame is full.
    pub fn alloc(&mut self, bytes: usize, span: scry_lang::span::Span) -> R<i16> {
        // Only a scratch frame's overflow is reported: a stack frame's makes the program
        // compile again over a scratch map.
        self.frame.alloc(bytes).ok_or_else(|| {
            error(
                span,
                format!(
                    "this probe needs more than the {} bytes a per-CPU scratch map value may hold for its values (at least {} here)",
                    self.frame.capacity(),
                    self.frame.peak
                ),
            )
            .with_hint("use fewer or smaller values at once (str(x, N) limits a string), or split the work over several probes")
        })
    }

    /// Stores zeros over `size` bytes at `off` (r10-relative).
    pub fn zero(&mut self, off: i16, size: usize) {
        for i in (0..size).step_by(8) {
            self.asm
                .emit(Insn::store_imm(Size::DW, self.frame.fp, off + i as i16, 0));
        }
    }

    pub fn ty(&self, e: &Expr) -> Type {
        self.b.typed.type_of(e.id).clone()
    }

    /// How call `e` is compiled: the key of the signature the checker resolved it to.
    pub fn call_gen(&self, e: &Expr) -> R<FnGen> {
        self.b
            .typed
            .calls
            .get(&e.id)
            .copied()
            .ok_or_else(|| error(e.span, "internal error: a call the checker did not resolve"))
    }

    pub fn block(&mut self, block: &Block) -> R<()> {
        for s in &block.stmts {
            let mark = self.frame.mark();
            self.stmt(s)?;
            self.frame.release(mark);
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> R<()> {
        self.asm.span = s.span;
        match &s.kind {
            StmtKind::Expr(e) => self.effect(e),
            StmtKind::Assign { target, op, value } => self.assign(target, *op, value),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.asm.span = cond.span;
                self.branch(
                    cond,
                    |g| g.block(then),
                    |g| otherwise.as_ref().map_or(Ok(()), |o| g.block(o)),
                )
            }
            StmtKind::While { cond, body } => {
                let top = self.asm.label();
                let end = self.asm.label();
                self.asm.place(top);
                self.asm.span = cond.span;
                self.jump_if_false(cond, end)?;
                self.loops.push((top, end));
                self.block(body)?;
                self.loops.pop();
                self.asm.jump(top);
                self.asm.place(end);
                Ok(())
            }
            StmtKind::Unroll { count, body } => {
                let n = match &count.kind {
                    ExprKind::Int(n) => *n,
                    ExprKind::Param(p) => self.param(*p).parse().unwrap_or(0),
                    _ => 0,
                };
                for _ in 0..n {
                    self.block(body)?;
                }
                Ok(())
            }
            StmtKind::Break | StmtKind::Continue => {
                let Some(&(cont, brk)) = self.loops.last() else {
                    return Err(error(s.span, "break/continue outside of a while loop"));
                };
                self.asm.jump(if matches!(s.kind, StmtKind::Break) {
                    brk
                } else {
                    cont
                });
                Ok(())
            }
            StmtKind::Return => {
                self.asm.jump(self.exit);
                Ok(())
            }
        }
    }

    /// `if cond { then } else { otherwise }`: a false condition jumps past `then`.
    pub fn branch(
        &mut self,
        cond: &Expr,
        then: impl FnOnce(&mut Self) -> R<()>,
        otherwise: impl FnOnce(&mut Self) -> R<()>,
    ) -> R<()> {
        let else_l = self.asm.label();
        let end = self.asm.label();
        self.jump_if_false(cond, else_l)?;
        then(self)?;
        self.asm.jump(end);
        self.asm.place(else_l);
        otherwise(self)?;
        self.asm.place(end);
        Ok(())
    }

    /// An expression evaluated for its effect. A ternary runs only its chosen branch, for that
    /// branch's effect (`nsecs ? printf("yes\n") : printf("no\n")`).
    fn effect(&mut self, e: &Expr) -> R<()> {
        match &e.kind {
            ExprKind::Call { args, .. } if self.action_call(e, args)? => return Ok(()),
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => return self.branch(cond, |g| g.effect(then), |g| g.effect(otherwise)),
            _ => {}
        }
        let ty = self.ty(e);
        if is_scalar(&ty) {
            return self.int(e);
        }
        if matches!(ty, Type::None) {
            return Ok(());
        }
        let size = layout::size_of(&ty);
        let off = self.alloc(size, e.span)?;
        self.write_mem(e, off, &ty)
    }

    fn assign(
        &mut self,
        target: &Expr,
        op: Option<scry_lang::token::BinOp>,
        value: &Expr,
    ) -> R<()> {
        match &target.kind {
            ExprKind::Map { name, keys } => {
                if op.is_none() && self.reducer_assign(name, keys, value)? {
                    return Ok(());
                }
                if let (None, ExprKind::Call { name: f, args, .. }) = (op, &value.kind) {
                    if matches!(self.ty(value), Type::Agg(_)) {
                        return self.aggregate(name, keys, f, args, value);
                    }
                }
                self.map_assign(target, name, keys, op, value)
            }
            ExprKind::Var(name) => {
                let slot = self.vars[name];
                let ty = self.ty(target);
                if let Some(op) = op {
                    self.load_var_then(slot, value, op, &ty)?;
                    self.asm
                        .emit(Insn::store(Size::DW, self.frame.fp, slot, R0));
                    return Ok(());
                }
                if ty.is_int() {
                    // Converted to the variable's type, which its first value fixed.
                    self.int(value)?;
                    self.narrow(&ty);
                    self.asm
                        .emit(Insn::store(Size::DW, self.frame.fp, slot, R0));
                    return Ok(());
                }
                self.store_value(value, slot, &ty)
            }
            _ => Err(error(target.span, "cannot assign to this expression")),
        }
    }

    /// Evaluates `value` and stores it at `off` as a value of type `dst_ty`.
    pub fn store_value(&mut self, value: &Expr, off: i16, dst_ty: &Type) -> R<()> {
        let vt = self.ty(value);
        if is_scalar(&vt) || is_scalar(dst_ty) {
            self.int(value)?;
            self.asm.emit(Insn::store(Size::DW, self.frame.fp, off, R0));
            return Ok(());
        }
        self.write_mem(value, off, dst_ty)
    }

    /// The text of positional parameter `n` (empty when missing).
    pub fn param(&self, n: u32) -> String {
        self.b
            .opts
            .params
            .get(n as usize - 1)
            .cloned()
            .unwrap_or_default()
    }
}

/// Sizes the scratch map of the program being added to `obj` to what its frame used at most
/// (`used`), and points its r9 at the value's end; returns the map's index.
fn size_scratch(obj: &mut crate::object::Object, used: usize, insns: &mut [Insn]) -> Option<usize> {
    let used = used.max(8);
    if let Some(end) = insns
        .iter_mut()
        .find(|i| **i == Insn::alu_imm(Alu::Add, R9, SCRATCH_END))
    {
        *end = Insn::alu_imm(Alu::Add, R9, used as i32);
    }
    let name = format!("scratch{}", obj.programs.end());
    let index = obj.maps.iter().rposition(|m| m.name == name)?;
    obj.maps[index].value_size = used as u32;
    Some(index)
}

/// Values that live in one 64-bit register.
pub fn is_scalar(ty: &Type) -> bool {
    matches!(
        ty,
        Type::Int { .. }
            | Type::Probe
            | Type::Username
            | Type::Ksym
            | Type::Strerror
            | Type::Pointer { .. }
            | Type::Agg(_)
    )
}

fn group_span(probe: &Probe) -> scry_lang::span::Span {
    probe.attach_points.first().map_or(probe.span, |a| a.span)
}

/// A kernel function's arguments as record fields: fentry/fexit programs see them as an array
/// of u64, the value in the low bytes of each.
fn kfunc_fields(proto: &scry_lang::catalog::KernelFunction) -> Vec<TracepointField> {
    use scry_lang::tracepoint_format::FieldShape;
    proto
        .params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let pointer = matches!(p.ty, Some(Type::Pointer { .. }));
            TracepointField {
                name: p.name.clone(),
                c_type: p.c_type.clone(),
                offset: 8 * i as u32,
                size: if pointer || p.size > 8 { 8 } else { p.size },
                signed: matches!(p.ty, Some(Type::Int { signed: true, .. })),
                shape: if pointer {
                    FieldShape::Pointer
                } else {
                    FieldShape::Integer
                },
            }
        })
        .collect()
}

/// A user function's register arguments as record fields of the uprobe's `struct pt_regs`
/// (the value in the low bytes of each register); arguments in no register are left out.
pub(crate) fn uprobe_fields(f: &scry_lang::catalog::UserFunction) -> Vec<TracepointField> {
    use scry_lang::tracepoint_format::FieldShape;
    f.params
        .iter()
        .filter_map(|p| {
            let (register, ty) = p.access.as_ref().ok()?;
            let offset = scry_lang::arch::ARG_REGS
                .get(usize::from(*register))
                .and_then(|r| scry_lang::arch::pt_regs_offset(r))?;
            let pointer = matches!(ty, Type::Pointer { .. });
            Some(TracepointField {
                name: p.name.clone(),
                c_type: p.c_type.clone(),
                offset: u32::try_from(offset).ok()?,
                size: if pointer { 8 } else { p.size.min(8) },
                signed: matches!(ty, Type::Int { signed: true, .. }),
                shape: if pointer {
                    FieldShape::Pointer
                } else {
                    FieldShape::Integer
                },
            })
        })
        .collect()
}

/// Whether a fan-in program attaches as a raw tracepoint rather than a tracepoint: for
/// `sys_enter` when the block reads no `args` (the call's number is at offset 8 of both
/// contexts; the arguments are not). Closing a raw tracepoint's link waits for no grace period,
/// a tracepoint's perf event for three (~50-110 ms at exit).
fn raw_fan_in(group: &Group, probe: &Probe) -> bool {
    matches!(&group.fan_in, Some(("sys_enter", _))) && !super::uses_ident(probe, "args")
}
