//! `--info`: the system, the build and what this kernel lets scry do, in bpftrace 0.17's line
//! format (`  name: yes`), which tools such as bpftrace's test runner read. Every kernel answer
//! is probed, not assumed; features scry does not implement (iterators, `skboutput`,
//! kprobe_multi links) are `no`. Unlike 0.17, `kprobe` says whether kprobes can attach (the
//! kprobe PMU exists), not only whether the program type loads.

use std::fmt::Write as _;

use scry_ebpf::insn::Helper;
use scry_ebpf::object::ProgType;
use scry_runtime::features;

/// Prints the report on standard output.
pub fn print() -> Result<(), String> {
    crate::pipe::print(&report())
}

fn report() -> String {
    let (os, arch) = scry_runtime::sys::process::uname();
    let mut out = format!("System\n  OS: {os}\n  Arch: {arch}\n\n");
    section(
        &mut out,
        "Build",
        &[
            ("version", format!("scry v{}", env!("CARGO_PKG_VERSION"))),
            ("LLVM", "none (scry generates BPF code itself)".into()),
            ("unsafe uprobe", yes(false)),
            ("bfd", yes(false)),
            ("libdw (DWARF support)", yes(true)),
        ],
    );
    let helpers = [
        ("probe_read", Helper::ProbeRead),
        ("probe_read_str", Helper::ProbeReadStr),
        ("probe_read_user", Helper::ProbeReadUser),
        ("probe_read_user_str", Helper::ProbeReadUserStr),
        ("probe_read_kernel", Helper::ProbeReadKernel),
        ("probe_read_kernel_str", Helper::ProbeReadKernelStr),
        ("get_current_cgroup_id", Helper::GetCurrentCgroupId),
        ("send_signal", Helper::SendSignal),
        ("override_return", Helper::OverrideReturn),
        ("get_boot_ns", Helper::KtimeGetBootNs),
    ];
    let mut lines: Vec<(&str, String)> = helpers
        .iter()
        .map(|&(name, h)| (name, yes(features::helper(h))))
        .collect();
    lines.push(("dpath", yes(features::dpath())));
    lines.push(("skboutput", yes(false)));
    section(&mut out, "Kernel helpers", &lines);
    section(
        &mut out,
        "Kernel features",
        &[
            (
                "Instruction limit",
                features::instruction_limit().to_string(),
            ),
            ("Loop support", yes(features::loops())),
            ("btf", yes(features::btf())),
            ("map batch", yes(features::map_batch())),
            (
                "uprobe refcount (depends on Build:bcc bpf_attach_uprobe refcount)",
                yes(features::uprobe_refcount()),
            ),
        ],
    );
    let maps: Vec<(&str, String)> = features::map_types()
        .into_iter()
        .map(|(name, ok)| (name, yes(ok)))
        .collect();
    section(&mut out, "Map types", &maps);
    let kprobe =
        features::program_type(ProgType::Kprobe) && scry_runtime::attach::kprobes_available();
    section(
        &mut out,
        "Probe types",
        &[
            ("kprobe", yes(kprobe)),
            (
                "tracepoint",
                yes(features::program_type(ProgType::Tracepoint)),
            ),
            (
                "perf_event",
                yes(features::program_type(ProgType::PerfEvent)),
            ),
            ("kfunc", yes(features::kfunc())),
            ("iter:task", yes(false)),
            ("iter:task_file", yes(false)),
            ("kprobe_multi", yes(false)),
            ("raw_tp_special", yes(features::raw_tp_special())),
        ],
    );
    out
}

/// A titled block of `  name: value` lines and a blank line.
fn section(out: &mut String, title: &str, lines: &[(&str, String)]) {
    out.push_str(title);
    out.push('\n');
    for (name, value) in lines {
        let _ = writeln!(out, "  {name}: {value}");
    }
    out.push('\n');
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}
