//! Loading and attaching hand-written programs in the real kernel. These tests run as root.

mod common;

use std::time::{Duration, Instant};

use common::*;
use scry_ebpf::insn::{Insn, R0, R1, R10, R2, R3};
use scry_ebpf::object::{MapKind, ProgType, Trigger};
use scry_lang::attach::{Attach, Target};
use scry_lang::probe::ProbeKind;
use scry_runtime::attach::{attach, detach_all, AttachOptions};
use scry_runtime::load::{load, LoadError, LoadOptions};

#[test]
fn tracepoint_program_counts_getppid() {
    let obj = object(
        vec![map("counts", MapKind::Hash, 8, 8, 1024)],
        vec![program(
            "getppid",
            ProgType::Tracepoint,
            Trigger::Attached,
            count_by_tgid(0),
            vec![tracepoint("syscalls", "sys_enter_getppid")],
        )],
    );
    let loaded = load(&obj, LoadOptions::default()).unwrap();
    let prog = &loaded.programs[0];
    assert!(prog.id() > 0);
    let links = attach(prog, &obj.programs[0].attaches, &AttachOptions::default()).unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].probe, "tracepoint:syscalls:sys_enter_getppid");
    const N: u64 = 25;
    for _ in 0..N {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
    detach_all(links);
    let key = u64::from(std::process::id()).to_ne_bytes();
    let value = loaded.maps[0]
        .lookup(&key)
        .unwrap()
        .expect("our pid was counted");
    assert_eq!(u64::from_ne_bytes(value.try_into().unwrap()), N);
    // Detached: further calls are not counted.
    unsafe { libc::getppid() };
    let value = loaded.maps[0].lookup(&key).unwrap().unwrap();
    assert_eq!(u64::from_ne_bytes(value.try_into().unwrap()), N);
    let entries = loaded.maps[0].entries().unwrap();
    assert!(entries.iter().any(|(k, _)| k[..] == key[..]));
    assert_eq!(loaded.maps[0].keys().unwrap().len(), entries.len());
}

#[test]
fn begin_program_runs_with_test_run() {
    let mut insns = vec![
        Insn::mov_imm(R1, 0),
        Insn::store(scry_ebpf::insn::Size::W, R10, -4, R1),
        Insn::mov_imm(R1, 42),
        Insn::store(scry_ebpf::insn::Size::DW, R10, -16, R1),
    ];
    insns.extend(Insn::ld_map(R1, 0));
    insns.extend([
        Insn::mov(R2, R10),
        Insn::alu_imm(scry_ebpf::insn::Alu::Add, R2, -4),
        Insn::mov(R3, R10),
        Insn::alu_imm(scry_ebpf::insn::Alu::Add, R3, -16),
        Insn::mov_imm(scry_ebpf::insn::R4, 0),
        Insn::call(scry_ebpf::insn::Helper::MapUpdateElem),
    ]);
    // Then count the run in a per-CPU array.
    let count = add_to_slot0(1, 1);
    insns.extend(count);
    let obj = object(
        vec![
            map("value", MapKind::Array, 4, 8, 1),
            map("runs", MapKind::PerCpuArray, 4, 8, 1),
        ],
        vec![program(
            "BEGIN",
            ProgType::RawTracepoint,
            Trigger::Begin,
            insns,
            vec![],
        )],
    );
    let loaded = load(&obj, LoadOptions::default()).unwrap();
    assert_eq!(loaded.programs[0].test_run().unwrap(), 0);
    assert_eq!(slot0(&loaded.maps[0]), 42);
    assert_eq!(slot0(&loaded.maps[1]), 1);
    let per_cpu = loaded.maps[1].lookup(&0u32.to_ne_bytes()).unwrap().unwrap();
    assert_eq!(per_cpu.len(), 8 * loaded.possible_cpus() as usize);
    loaded.maps[1]
        .update(&0u32.to_ne_bytes(), &vec![0u8; per_cpu.len()])
        .unwrap();
    assert_eq!(slot0(&loaded.maps[1]), 0);
}

#[test]
fn verifier_rejection_names_instruction_and_reason() {
    let insns = vec![
        Insn::mov_imm(R0, 0),
        Insn::mov_imm(R1, 1),
        Insn::mov_imm(R3, 2),
        Insn::mov(R0, R2),
        Insn::exit(),
    ];
    let obj = object(
        vec![],
        vec![
            program(
                "ok",
                ProgType::Tracepoint,
                Trigger::Attached,
                trivial(),
                vec![],
            ),
            program(
                "bad",
                ProgType::Tracepoint,
                Trigger::Attached,
                insns,
                vec![],
            ),
        ],
    );
    match load(&obj, LoadOptions::default()) {
        Err(LoadError::Verifier {
            program,
            insn,
            reason,
            log,
        }) => {
            assert_eq!(program, 1);
            assert_eq!(insn, Some(3));
            assert_eq!(reason, "R2 !read_ok");
            assert!(log.contains("3: (bf) r0 = r2"), "{log}");
        }
        other => panic!("expected a verifier error, got {other:?}"),
    }
}

#[test]
fn verifier_log_on_success_at_level_2() {
    let obj = object(
        vec![],
        vec![program(
            "ok",
            ProgType::Tracepoint,
            Trigger::Attached,
            trivial(),
            vec![],
        )],
    );
    let opts = LoadOptions {
        log_level: 2,
        ..LoadOptions::default()
    };
    let loaded = load(&obj, opts).unwrap();
    assert!(
        loaded.programs[0].log().contains("processed 2 insns"),
        "{}",
        loaded.programs[0].log()
    );
}

#[test]
fn kprobe_attach_fails_with_one_sentence() {
    let kprobe = Attach {
        kind: ProbeKind::Kprobe,
        name: "kprobe:vfs_read".to_string(),
        target: Target::KernelFunction {
            module: None,
            func: "vfs_read".to_string(),
            offset: 0,
        },
    };
    let obj = object(
        vec![],
        vec![program(
            "kp",
            ProgType::Kprobe,
            Trigger::Attached,
            trivial(),
            vec![kprobe],
        )],
    );
    let loaded = load(&obj, LoadOptions::default()).unwrap();
    let prog = &loaded.programs[0];
    let err = attach(prog, &obj.programs[0].attaches, &AttachOptions::default()).unwrap_err();
    assert_eq!(err.probe, "kprobe:vfs_read");
    assert_eq!(
        err.to_string(),
        "kprobe:vfs_read cannot attach: this kernel was built without CONFIG_KPROBES (no \
         kprobe_events in tracefs), so kprobe and kretprobe probes are unavailable; use \
         tracepoints (scry -l 'tracepoint:*')"
    );
}

/// An fentry program on `vfs_read` either attaches (a kernel with fentry) or, as on this
/// kernel, is refused at load, before the verifier runs, with one sentence.
#[test]
fn kfunc_program_loads_or_is_refused_in_one_sentence() {
    for (kind, name) in [
        (ProbeKind::Kfunc, "kfunc:ksys_read"),
        (ProbeKind::Kretfunc, "kretfunc:ksys_read"),
    ] {
        let a = Attach {
            kind,
            name: name.to_string(),
            target: Target::KernelFunction {
                module: None,
                func: "ksys_read".to_string(),
                offset: 0,
            },
        };
        let mut kf = program(
            "kf",
            ProgType::Tracing,
            Trigger::Attached,
            trivial(),
            vec![a],
        );
        // What the checker reads from BTF with the function's prototype.
        kf.attach_btf_id = scry_lang::catalog::Catalog::kernel_function(
            &scry_runtime::LiveCatalog::new(),
            "ksys_read",
        )
        .expect("BTF")
        .map(|f| f.btf_id);
        assert!(kf.attach_btf_id.is_some(), "BTF describes ksys_read");
        let obj = object(vec![], vec![kf]);
        match load(&obj, LoadOptions::default()) {
            Ok(loaded) => {
                let prog = &loaded.programs[0];
                let links =
                    attach(prog, &obj.programs[0].attaches, &AttachOptions::default()).unwrap();
                detach_all(links);
            }
            Err(e) => {
                let exit = if kind == ProbeKind::Kretfunc {
                    "exit"
                } else {
                    "enter"
                };
                assert_eq!(
                    e.to_string(),
                    format!(
                        "{name} cannot load: this kernel refuses fentry/fexit programs \
                         (BPF_PROG_LOAD fails with EPERM before the verifier runs, even for \
                         root), so kfunc and kretfunc probes are unavailable; use \
                         tracepoint:syscalls:sys_{exit}_read instead"
                    )
                );
            }
        }
    }
}

#[test]
fn hardware_attach_fails_with_one_sentence() {
    let hw = Attach {
        kind: ProbeKind::Hardware,
        name: "hardware:cycles:1000000".to_string(),
        target: Target::PerfEvent {
            event: "cpu-cycles".to_string(),
            config: 0,
            period: 1_000_000,
        },
    };
    let obj = object(
        vec![],
        vec![program(
            "hw",
            ProgType::PerfEvent,
            Trigger::Attached,
            trivial(),
            vec![hw],
        )],
    );
    let loaded = load(&obj, LoadOptions::default()).unwrap();
    let prog = &loaded.programs[0];
    let err = attach(prog, &obj.programs[0].attaches, &AttachOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "hardware:cycles:1000000 cannot attach: this machine has no hardware PMU \
         (perf_event_open returned ENOENT), so hardware probes are unavailable"
    );
}

#[test]
fn missing_tracepoint_fails_with_one_sentence() {
    let obj = object(
        vec![],
        vec![program(
            "tp",
            ProgType::Tracepoint,
            Trigger::Attached,
            trivial(),
            vec![
                tracepoint("syscalls", "sys_enter_getpid"),
                tracepoint("syscalls", "sys_enter_nope"),
            ],
        )],
    );
    let loaded = load(&obj, LoadOptions::default()).unwrap();
    let prog = &loaded.programs[0];
    let err = attach(prog, &obj.programs[0].attaches, &AttachOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tracepoint:syscalls:sys_enter_nope cannot attach: this kernel has no tracepoint \
         syscalls:sys_enter_nope (no events/syscalls/sys_enter_nope in tracefs); list them with \
         scry -l 'tracepoint:syscalls:*'"
    );
}

#[test]
fn profile_program_fires_on_every_cpu() {
    let profile = Attach {
        kind: ProbeKind::Profile,
        name: "profile:hz:1000".to_string(),
        target: Target::Timer {
            unit: "hz".to_string(),
            value: 1000,
        },
    };
    let obj = object(
        vec![map("samples", MapKind::PerCpuArray, 4, 8, 1)],
        vec![program(
            "profile",
            ProgType::PerfEvent,
            Trigger::Attached,
            add_to_slot0(0, 1),
            vec![profile],
        )],
    );
    let loaded = load(&obj, LoadOptions::default()).unwrap();
    let prog = &loaded.programs[0];
    let links = attach(prog, &obj.programs[0].attaches, &AttachOptions::default()).unwrap();
    assert_eq!(
        links.len(),
        scry_runtime::sys::online_cpus().unwrap().len(),
        "one perf event per online CPU"
    );
    let start = Instant::now();
    while slot0(&loaded.maps[0]) < 20 && start.elapsed() < Duration::from_secs(5) {
        std::hint::black_box((0..10_000u64).sum::<u64>());
    }
    detach_all(links);
    assert!(slot0(&loaded.maps[0]) >= 20, "{}", slot0(&loaded.maps[0]));
}

#[test]
fn load_more_shares_the_maps() {
    let obj = object(
        vec![map("value", MapKind::Array, 4, 8, 1)],
        vec![program(
            "BEGIN",
            ProgType::RawTracepoint,
            Trigger::Begin,
            add_to_slot0(0, 40),
            vec![],
        )],
    );
    let mut loaded = load(&obj, LoadOptions::default()).unwrap();
    loaded.programs[0].test_run().unwrap();
    // A REPL line: one more map, and a program using the old map and the new one.
    let new_maps = loaded
        .add_maps(&[map("more", MapKind::Array, 4, 8, 1)])
        .unwrap();
    assert_eq!(new_maps, 1..2);
    let mut insns = add_to_slot0(0, 2);
    insns.pop();
    insns.pop();
    insns.extend(add_to_slot0(1, 5));
    let range = loaded
        .load_more(&programs_after(
            1,
            vec![program(
                "line1",
                ProgType::RawTracepoint,
                Trigger::Begin,
                insns,
                vec![],
            )],
        ))
        .unwrap();
    assert_eq!(range, 1..2);
    loaded.programs[1].test_run().unwrap();
    assert_eq!(slot0(&loaded.maps[0]), 42);
    assert_eq!(slot0(&loaded.maps[1]), 5);
    // A failing REPL line keeps the session as it was.
    let bad = vec![Insn::mov(R0, R2), Insn::exit()];
    let err = loaded
        .load_more(&programs_after(
            2,
            vec![program(
                "line2",
                ProgType::RawTracepoint,
                Trigger::Begin,
                bad,
                vec![],
            )],
        ))
        .unwrap_err();
    assert!(
        matches!(
            err,
            // The index the program would have had among all loaded programs.
            LoadError::Verifier {
                program: 2,
                insn: Some(0),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(loaded.programs.count(), 2);
}
