//! Function watchpoints (`watchpoint:fn+argN:len:mode`): the address to watch is an argument
//! of a function of the traced process, known only when the function runs. A uprobe on the
//! function (the setup program) sends the address and the pid in an [`ActionKind::Watch`]
//! record; user space then opens the breakpoint event for that process and attaches the
//! watchpoint's own program to it. A `watchpoint` (not `asyncwatchpoint`) stops the process
//! until then (SIGSTOP; user space sends SIGCONT), so that no access slips by unwatched.

use std::collections::HashMap;

use scry_lang::attach::{Attach, FuncArg, Target};
use scry_lang::probe::ProbeKind;
use scry_lang::types::Type;

use super::error;
use super::frame::Frame;
use super::gen::{Gen, R};
use super::Builder;
use crate::asm::Asm;
use crate::insn::*;
use crate::object::{ActionKind, ProgramSpec, Trigger};
use scry_lang::arch::{pt_regs_offset, ARG_REGS};

/// `SIGSTOP` on x86-64.
const SIGSTOP: i32 = 19;

/// The function of a function watchpoint, `None` for other attach points.
pub(crate) fn watched_function(a: &Attach) -> Option<&FuncArg> {
    match &a.target {
        Target::Watchpoint {
            func_arg: Some(f), ..
        } => Some(f),
        _ => None,
    }
}

/// The setup program of function watchpoint `watch`, whose own program is
/// `Object::programs[program]`: a uprobe on the function that reports the address.
pub(crate) fn setup_program(
    b: &mut Builder,
    probe: &scry_lang::ast::Probe,
    block: usize,
    watch: &Attach,
    program: usize,
) -> R<ProgramSpec> {
    let span = probe.attach_points.first().map_or(probe.span, |a| a.span);
    let func = watched_function(watch)
        .ok_or_else(|| error(span, "not a function watchpoint"))?
        .clone();
    let reg = ARG_REGS
        .get(func.arg as usize)
        .and_then(|r| pt_regs_offset(r))
        .ok_or_else(|| error(span, format!("x86_64 doesn't support arg{}", func.arg)))?;
    let mut asm = Asm::new();
    let exit = asm.label();
    let mut g = Gen {
        b,
        asm,
        frame: Frame::default(),
        kind: ProbeKind::Uprobe,
        tp_fields: None,
        tp_category: None,
        probe_id: None,
        probe_slot: None,
        vars: HashMap::new(),
        loops: Vec::new(),
        exit,
        usdt_args: None,
        site: span,
    };
    g.asm.span = span;
    g.asm.emit(Insn::mov(R6, R1));
    let (id, fields, size) =
        g.b.action(ActionKind::Watch(program), &[Type::U64, Type::U64]);
    let rec = g.alloc(size, span)?;
    g.load_const(id);
    g.asm.emit(Insn::store(Size::DW, g.frame.fp, rec, R0));
    g.asm.emit(Insn::load(Size::DW, R0, R6, reg));
    g.asm.emit(Insn::store(
        Size::DW,
        g.frame.fp,
        rec + fields[0].offset as i16,
        R0,
    ));
    g.asm.emit(Insn::call(Helper::GetCurrentPidTgid));
    g.asm.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
    g.asm.emit(Insn::store(
        Size::DW,
        g.frame.fp,
        rec + fields[1].offset as i16,
        R0,
    ));
    // Lost: the process must not stop, nobody would wake it.
    g.output_record(rec, size, Some(exit))?;
    if watch.kind.descriptor().stops_process {
        g.asm.emit(Insn::mov_imm(R1, SIGSTOP));
        g.asm.emit(Insn::call(Helper::SendSignal));
    }
    g.asm.place(exit);
    g.asm.emit(Insn::mov_imm(R0, 0));
    g.asm.emit(Insn::exit());
    let (insns, spans) = g
        .asm
        .finish()
        .map_err(|_| error(span, "the watchpoint's setup program is too long"))?;
    let attach = Attach {
        kind: ProbeKind::Uprobe,
        name: format!("uprobe:{}:{}", func.path, func.func),
        target: Target::User {
            path: func.path.clone(),
            symbol: Some(func.func.clone()),
            address: func.address,
            offset: 0,
            file_offset: func.file_offset,
        },
    };
    Ok(ProgramSpec {
        name: format!("p{block}_{}_setup", g.b.obj.programs.end()),
        prog_type: crate::object::ProgType::Kprobe,
        trigger: Trigger::WatchSetup,
        insns,
        spans,
        uprobe_multi: super::uprobe_multi(g.b.opts, [&attach]),
        attach_btf_id: None,
        attaches: vec![attach],
        probe_block: block,
        actions: 0..0,
        scratch_map: None,
        fan_in: None,
    })
}
