//! Builtin variables: their types and the probes they exist in.

use crate::probe::{ArgN, Args, Func, ProbeKind, Retval};
use crate::types::{AddrSpace, StackMode, Type};

/// Names of every builtin variable, for "did you mean".
pub const BUILTIN_NAMES: &[&str] = &[
    "pid", "tid", "uid", "gid", "username", "nsecs", "elapsed", "cpu", "numaid", "comm", "kstack",
    "ustack", "arg0", "arg1", "arg2", "arg3", "arg4", "arg5", "sarg0", "sarg1", "sarg2", "args",
    "retval", "func", "probe", "curtask", "cgroup", "rand", "cpid", "ctx",
];

/// Default frame limit of `kstack`/`ustack`.
pub const DEFAULT_STACK_LIMIT: u32 = 127;

/// Why a builtin cannot be used in a probe, as a message.
pub type ContextError = String;

/// The type of builtin `name`, or `None` if there is no such builtin. The check of the probe
/// context is separate ([`context_error`]).
pub fn builtin_type(name: &str) -> Option<Type> {
    Some(match name {
        "pid" | "tid" | "uid" | "gid" | "nsecs" | "elapsed" | "cpu" | "numaid" | "cgroup"
        | "rand" => Type::U64,
        "username" => Type::Username,
        "comm" => Type::Str(16),
        "kstack" => Type::KStack {
            mode: StackMode::Bpftrace,
            limit: DEFAULT_STACK_LIMIT,
        },
        "ustack" => Type::UStack {
            mode: StackMode::Bpftrace,
            limit: DEFAULT_STACK_LIMIT,
        },
        "retval" => Type::U64,
        "probe" => Type::Probe,
        "curtask" => Type::Pointer {
            to: Box::new(Type::Record("struct task_struct".into())),
            space: AddrSpace::Kernel,
        },
        "cpid" => Type::U32,
        "ctx" => Type::U64,
        "args" => Type::Args,
        "func" => Type::Ksym,
        _ => {
            if arg_index(name, "arg").is_some() || arg_index(name, "sarg").is_some() {
                Type::U64
            } else {
                return None;
            }
        }
    })
}

/// `arg3` with prefix `arg` gives 3.
pub fn arg_index(name: &str, prefix: &str) -> Option<u32> {
    let digits = name.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) || digits.len() > 3 {
        return None;
    }
    digits.parse().ok()
}

fn kinds_named(kinds: &[&str]) -> String {
    match kinds {
        [one] => format!("'{one}' probes"),
        [init @ .., last] => format!(
            "{} and '{last}' probes",
            init.iter()
                .map(|k| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        [] => String::new(),
    }
}

/// Why builtin `name` cannot be used in a probe of `kind`, or `None` if it can.
pub fn context_error(name: &str, kind: ProbeKind) -> Option<ContextError> {
    let d = kind.descriptor();
    let cx = d.context;
    if let Some(n) = arg_index(name, "arg") {
        if cx.arg_n == ArgN::None {
            return Some(format!(
                "The {name} builtin can only be used with {}",
                kinds_named(&["kprobes", "uprobes", "usdt"])
            ));
        }
        if n > 5 && cx.arg_n == ArgN::Registers {
            return Some(format!("x86_64 doesn't support {name}"));
        }
        return None;
    }
    if arg_index(name, "sarg").is_some() {
        return (!cx.sarg).then(|| {
            format!(
                "The {name} builtin can only be used with {}",
                kinds_named(&["kprobes", "uprobes"])
            )
        });
    }
    match name {
        "retval" if cx.retval == Retval::None => Some(format!(
            "The retval builtin can only be used with {}",
            kinds_named(&["kretprobe", "uretprobe", "kretfunc"])
        )),
        "func" if d.is_special() => Some(format!(
            "The func builtin can not be used with '{}' probes",
            kind.name()
        )),
        "func" if cx.func == Func::None => Some(format!(
            "The func builtin can only be used with {}",
            kinds_named(&[
                "kprobe",
                "kretprobe",
                "uprobe",
                "uretprobe",
                "kfunc",
                "kretfunc"
            ])
        )),
        "args" if cx.args == Args::None => Some(format!(
            "The args builtin can only be used with {}",
            kinds_named(&["tracepoint", "kfunc", "kretfunc", "uprobe"])
        )),
        "ctx" if cx.args == Args::Tracepoint => {
            Some("Use args instead of ctx in tracepoint".to_string())
        }
        "ctx" if d.is_special() => Some(format!(
            "invalid program type: '{}' probes have no ctx",
            kind.name()
        )),
        _ => None,
    }
}
