//! How big the ring buffer is when BPFTRACE_PERF_RB_PAGES does not say: by what the program
//! sends through it. Every record of a session goes through one ring buffer; a record it
//! cannot take is lost (counted, `Lost N events`). A printf in a probe that fires on events
//! sends one record per event, and a burst of events outruns the reader whenever it is off
//! the CPU for a few milliseconds (100,000 `getppid` calls take ~50 ms; 512 KiB holds ~11,000
//! of the benchmark's 48-byte records), so such a program gets a large ring. A program that
//! only counts into maps sends a handful of records (`exit()`, map prints), so it gets a small
//! one; and output from BEGIN and END only, which user space reads right after each runs,
//! keeps bpftrace's size (64 pages per CPU).

use std::ops::Range;

use scry_ebpf::object::{ActionKind, Object, Trigger};
use scry_runtime::host::Checked;

use crate::settings::Settings;

/// What a program sends through the ring buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Traffic {
    /// Only control records: `exit()`, `print(@map)`, `clear`, `zero`, the first event of a
    /// process whose user stacks are kept, watchpoints set and removed.
    Control,
    /// Output (printf, `print(value)`, `time`, `cat`, `system`, `join`) from BEGIN and END
    /// blocks only.
    Once,
    /// Output from probes that fire on events (attached probes, `interval`, `profile`, ...).
    PerEvent,
}

/// The ring buffer of a program that sends only control records.
pub const CONTROL_BYTES: u32 = 64 << 10;
/// The ring buffer of a program whose probes print on events, and of the REPL, which cannot
/// know what its entries will send: ~170,000 records of 48 bytes, so a burst of ~200,000
/// printf events on this 2-CPU machine arrives whole while the reader shares a loaded CPU.
pub const PER_EVENT_BYTES: u32 = 8 << 20;

/// The ring buffer's size for a checked one-shot program (the session is created with it).
pub fn size(checked: &Checked, settings: &Settings) -> u32 {
    bytes(settings, traffic(&checked.added, checked.programs.clone()))
}

/// The ring buffer's size in bytes for a program that sends `traffic`: BPFTRACE_PERF_RB_PAGES
/// exactly when it is set, else [`default_bytes`].
pub fn bytes(settings: &Settings, traffic: Traffic) -> u32 {
    if settings.rb_pages_set {
        settings.ringbuf_bytes()
    } else {
        default_bytes(traffic, settings.ringbuf_bytes())
    }
}

/// The ring buffer's size for `traffic` when BPFTRACE_PERF_RB_PAGES is not set;
/// `pages_default` is the size of its default (64 pages per CPU), never undercut for output.
pub fn default_bytes(traffic: Traffic, pages_default: u32) -> u32 {
    match traffic {
        Traffic::Control => CONTROL_BYTES.min(pages_default),
        Traffic::Once => pages_default,
        Traffic::PerEvent => PER_EVENT_BYTES.max(pages_default),
    }
}

/// What the programs `programs` of `object` send, by the actions (record kinds) each one's
/// code sends ([`scry_ebpf::object::ProgramSpec::actions`]).
pub fn traffic(object: &Object, programs: Range<usize>) -> Traffic {
    let mut traffic = Traffic::Control;
    for (_, p) in object.programs.range(programs) {
        let prints = (object.actions.range(p.actions.clone())).any(|(_, a)| is_output(&a.kind));
        if prints {
            if !matches!(p.trigger, Trigger::Begin | Trigger::End) {
                return Traffic::PerEvent;
            }
            traffic = Traffic::Once;
        }
    }
    traffic
}

/// Whether records of this kind are output, as many as the probe's events.
fn is_output(kind: &ActionKind) -> bool {
    match kind {
        ActionKind::Printf(_)
        | ActionKind::System(_)
        | ActionKind::Cat(_)
        | ActionKind::PrintValue
        | ActionKind::Time(_)
        | ActionKind::Join(_)
        // A reducer's update is one record per event, a failed helper (-k) one per failure.
        | ActionKind::Reduce(_)
        | ActionKind::HelperError(_) => true,
        ActionKind::PrintMap(_)
        | ActionKind::Clear(_)
        | ActionKind::Zero(_)
        | ActionKind::Exit
        | ActionKind::UserPid
        | ActionKind::Watch(_)
        | ActionKind::Unwatch
        | ActionKind::PrintReducer(_)
        | ActionKind::ClearReducer(_)
        | ActionKind::ZeroReducer(_)
        | ActionKind::DeleteReducer(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_ebpf::codegen::{compile, CompileOptions};
    use scry_lang::catalog::MemoryCatalog;
    use scry_lang::check::CheckOptions;

    /// What `text` sends, compiled as a one-shot program.
    fn of(text: &str) -> Traffic {
        let compiled =
            scry_lang::compile(text, &MemoryCatalog::default(), &CheckOptions::default());
        assert!(compiled.ok(), "{text}: {:?}", compiled.diagnostics);
        let object = compile(
            &compiled.program,
            &compiled.typed,
            &CompileOptions::default(),
        )
        .expect("compiles");
        traffic(&object, 0..object.programs.end())
    }

    #[test]
    fn counting_programs_send_only_control_records() {
        assert_eq!(
            of("interval:s:1 { @c = count(); print(@c); clear(@c); exit(); }"),
            Traffic::Control
        );
        assert_eq!(
            of("BEGIN { @x[1] = 2; zero(@x); exit(); }"),
            Traffic::Control
        );
    }

    #[test]
    fn output_from_begin_and_end_only_is_once() {
        assert_eq!(
            of(
                r#"BEGIN { printf("Tracing...\n"); } interval:s:1 { @c = count(); } END { time("%H\n"); }"#
            ),
            Traffic::Once
        );
    }

    #[test]
    fn output_from_probes_on_events_is_per_event() {
        assert_eq!(
            of(r#"interval:s:1 { printf("tick\n"); }"#),
            Traffic::PerEvent
        );
        assert_eq!(
            of("interval:s:1 { @x[1] = 1; print(@x[1]); }"),
            Traffic::PerEvent
        );
        assert_eq!(
            of("BEGIN { exit(); } interval:s:1 { print(5); }"),
            Traffic::PerEvent
        );
        // A block on BEGIN and on events prints on events.
        assert_eq!(
            of(r#"BEGIN, interval:s:1 { printf("x\n"); }"#),
            Traffic::PerEvent
        );
    }

    #[test]
    fn sizes_follow_the_traffic() {
        let pages_default = 512 << 10;
        assert_eq!(default_bytes(Traffic::Control, pages_default), 64 << 10);
        assert_eq!(default_bytes(Traffic::Once, pages_default), 512 << 10);
        assert_eq!(default_bytes(Traffic::PerEvent, pages_default), 8 << 20);
        // Many CPUs: output never gets less than the default; control never more.
        assert_eq!(default_bytes(Traffic::PerEvent, 16 << 20), 16 << 20);
        assert_eq!(default_bytes(Traffic::Control, 32 << 10), 32 << 10);
    }
}
