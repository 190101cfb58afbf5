//! The function table: one [`Signature`] per function the language knows, read by the checker
//! (arity, argument kinds, probe kinds, unsafe, result type) and by the code generator (the
//! [`Gen`] key it dispatches on). Builtins are [`BUILTINS`]; functions registered from outside
//! (plugins: [`Signature::plugin_function`]) are signatures of the same shape in the checker's
//! `Environment::functions`.
//!
//! Pure data: nothing here checks or generates anything.

use std::borrow::Cow;

use crate::plugin::PluginType;
use crate::probe::ProbeKind;
use crate::types::{AddrSpace, Type};

use Arg::{Int, IntOrPointer, Literal};
use ProbeKind as K;
use Probes::Any;

/// `max_args` of a function that takes any number of arguments after its first ones.
pub const VARIADIC: usize = usize::MAX;

/// What one function is: how it is called, where, what it gives, how it is compiled.
#[derive(Clone, Debug, PartialEq)]
pub struct Signature {
    /// The name calls use (`printf`; `NAME::fn` for a plugin's function).
    pub name: Cow<'static, str>,
    pub min_args: usize,
    /// [`VARIADIC`] for no upper bound.
    pub max_args: usize,
    /// The kind of each argument, by position; positions past the end take [`Arg::Rule`].
    pub args: Cow<'static, [Arg]>,
    /// The probe kinds it may be used in.
    pub probes: Probes,
    /// Whether it needs `--unsafe`.
    pub needs_unsafe: bool,
    pub returns: Returns,
    /// What the checker verifies beyond the above.
    pub rule: Rule,
    /// How the code generator compiles it.
    pub gen: Gen,
    /// For a plugin's function: which one, and its types as the plugin declares them.
    pub plugin: Option<PluginFunction>,
}

/// A plugin's function (`fn NAME(TYPE, ...) -> TYPE` in its descriptor), called in user space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginFunction {
    /// The plugin's name.
    pub plugin: String,
    /// The function's item index in the plugin's descriptor.
    pub item: u32,
    pub params: Vec<PluginType>,
    pub ret: PluginType,
}

impl Signature {
    /// Function `name` (item `item`) of plugin `plugin`, registered as `PLUGIN::NAME`: its
    /// arity and argument kinds from `params`; made in user space ([`Gen::External`]), where
    /// the checker allows it and types its result from `ret`.
    pub fn plugin_function(
        plugin: &str,
        item: u32,
        name: &str,
        params: &[PluginType],
        ret: PluginType,
    ) -> Signature {
        let arg = |p: &PluginType| match p {
            PluginType::Str => Arg::Str,
            PluginType::I64 | PluginType::U64 => Int,
        };
        Signature {
            name: Cow::Owned(format!("{plugin}::{name}")),
            min_args: params.len(),
            max_args: params.len(),
            args: Cow::Owned(params.iter().map(arg).collect()),
            probes: Any,
            needs_unsafe: false,
            returns: Returns::Rule,
            rule: Rule::None,
            gen: Gen::External,
            plugin: Some(PluginFunction {
                plugin: plugin.to_string(),
                item,
                params: params.to_vec(),
                ret,
            }),
        }
    }

    /// The kind of argument `i`.
    pub fn arg(&self, i: usize) -> Arg {
        self.args.get(i).copied().unwrap_or(Arg::Rule)
    }
}

/// The kind of value an argument must be (each kind has its diagnostic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// An integer (or an aggregation read as one).
    Int,
    IntOrPointer,
    Str,
    /// A string literal, named in the message (`format`, `separator`).
    Literal(&'static str),
    /// A symbol name known when the program is compiled: a literal or `str($N)`.
    Symbol,
    /// Any value.
    Any,
    /// Checked by the function's [`Rule`].
    Rule,
}

/// Where a function may be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probes {
    Any,
    /// Only in probes of these kinds.
    Only(Cow<'static, [ProbeKind]>),
    /// Anywhere but BEGIN and END.
    NotBeginEnd,
}

/// A function's result type.
#[derive(Clone, Debug, PartialEq)]
pub enum Returns {
    Type(Type),
    /// Computed by the function's [`Rule`] from its arguments.
    Rule,
}

/// What the checker verifies beyond arity, argument kinds, probe kinds and unsafe: one key per
/// rule that does not fit those (and [`Rule::None`] for functions that need nothing more).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    None,
    /// A printf format literal and its arguments.
    Format,
    /// A whole map (with top and div) or a value.
    Print,
    Str,
    Buf,
    /// The kernel symbol's address, from the catalog.
    Kaddr,
    /// The symbol's address and size in the probe's binary, from the catalog.
    Uaddr,
    /// A pt_regs register name.
    Reg,
    Ntop,
    /// An IPv4 or IPv6 address literal.
    Pton,
    Macaddr,
    Bswap,
    /// The cgroup's id, from the catalog.
    Cgroupid,
    /// The length: a literal or positional parameter.
    Strncmp,
    /// A signal name or number.
    Signal,
    /// The pointer, retyped into an address space.
    Pointer(AddrSpace),
    /// A pointer to a struct path.
    Path,
    /// A map element (a whole map of a map without keys).
    Delete,
    /// A whole map.
    WholeMap,
    /// Stack mode and limit.
    Stack,
    /// Valid only as the value assigned to a map (checked there).
    Aggregation,
    /// Refused: scry does not have it.
    Unsupported,
}

/// How a call is compiled: the key the code generator dispatches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gen {
    // Records to user space.
    Printf,
    System,
    Cat,
    Print,
    Time,
    Clear,
    Zero,
    Exit,
    Join,
    Unwatch,
    // Effects in the kernel.
    Delete,
    Signal,
    Override,
    Debugf,
    // Integers.
    Sizeof,
    Bswap,
    Reg,
    Strncmp,
    Strcontains,
    /// The argument's value (`kptr`, `ksym`): user space gives it meaning by its type.
    Value,
    /// A value the checker computed (`kaddr`, `uaddr`, `cgroupid`), from `constants`.
    Constant,
    Strerror,
    // Values written in memory.
    Pton,
    Ntop,
    CgroupPath,
    Buf,
    Macaddr,
    Path,
    Strftime,
    Str,
    Stack,
    /// An aggregation, compiled as the map update it is assigned by.
    Aggregation,
    /// Refused by the checker; never compiled.
    Unsupported,
    /// A function registered from outside the language (a plugin's): its code generation
    /// belongs to whoever registered it.
    External,
}

/// A function signature in a static table.
#[allow(clippy::too_many_arguments)]
const fn sig(
    name: &'static str,
    min_args: usize,
    max_args: usize,
    args: &'static [Arg],
    probes: Probes,
    needs_unsafe: bool,
    returns: Returns,
    rule: Rule,
    gen: Gen,
) -> Signature {
    Signature {
        name: Cow::Borrowed(name),
        min_args,
        max_args,
        args: Cow::Borrowed(args),
        probes,
        needs_unsafe,
        returns,
        rule,
        gen,
        plugin: None,
    }
}

const fn only(kinds: &'static [ProbeKind]) -> Probes {
    Probes::Only(Cow::Borrowed(kinds))
}

const NONE: Returns = Returns::Type(Type::None);
const U64: Returns = Returns::Type(Type::U64);
const BY_RULE: Returns = Returns::Rule;
const SAFE: bool = false;
const UNSAFE: bool = true;
const REG_PROBES: &[ProbeKind] = &[
    K::Kprobe,
    K::Kretprobe,
    K::Uprobe,
    K::Uretprobe,
    K::Usdt,
    K::Profile,
    K::Interval,
    K::Software,
    K::Hardware,
];
const CHECKED: &[Arg] = &[Arg::Rule];

/// Every builtin function, in the order "did you mean" considers them.
pub static BUILTINS: &[Signature] = &[
    sig(
        "printf",
        1,
        VARIADIC,
        CHECKED,
        Any,
        SAFE,
        NONE,
        Rule::Format,
        Gen::Printf,
    ),
    sig(
        "print",
        1,
        3,
        CHECKED,
        Any,
        SAFE,
        NONE,
        Rule::Print,
        Gen::Print,
    ),
    sig(
        "time",
        0,
        1,
        &[Literal("format")],
        Any,
        SAFE,
        NONE,
        Rule::None,
        Gen::Time,
    ),
    sig(
        "strftime",
        2,
        2,
        &[Literal("format"), Int],
        Any,
        SAFE,
        Returns::Type(Type::Timestamp),
        Rule::None,
        Gen::Strftime,
    ),
    sig(
        "join",
        1,
        2,
        &[IntOrPointer, Literal("separator")],
        Any,
        SAFE,
        NONE,
        Rule::None,
        Gen::Join,
    ),
    sig(
        "str",
        1,
        2,
        CHECKED,
        Any,
        SAFE,
        BY_RULE,
        Rule::Str,
        Gen::Str,
    ),
    sig(
        "buf",
        1,
        2,
        CHECKED,
        Any,
        SAFE,
        BY_RULE,
        Rule::Buf,
        Gen::Buf,
    ),
    sig(
        "ksym",
        1,
        1,
        &[IntOrPointer],
        Any,
        SAFE,
        Returns::Type(Type::Ksym),
        Rule::None,
        Gen::Value,
    ),
    sig(
        "usym",
        1,
        1,
        &[IntOrPointer],
        Any,
        SAFE,
        Returns::Type(Type::Usym),
        Rule::None,
        Gen::Value,
    ),
    sig(
        "kaddr",
        1,
        1,
        &[Arg::Symbol],
        Any,
        SAFE,
        U64,
        Rule::Kaddr,
        Gen::Constant,
    ),
    sig(
        "uaddr",
        1,
        1,
        &[Arg::Symbol],
        only(&[K::Uprobe, K::Uretprobe, K::Usdt]),
        SAFE,
        BY_RULE,
        Rule::Uaddr,
        Gen::Constant,
    ),
    sig(
        "reg",
        1,
        1,
        &[Literal("register name")],
        only(REG_PROBES),
        SAFE,
        U64,
        Rule::Reg,
        Gen::Reg,
    ),
    sig(
        "ntop",
        1,
        2,
        CHECKED,
        Any,
        SAFE,
        Returns::Type(Type::Inet),
        Rule::Ntop,
        Gen::Ntop,
    ),
    sig(
        "pton",
        1,
        1,
        &[Literal("address")],
        Any,
        SAFE,
        BY_RULE,
        Rule::Pton,
        Gen::Pton,
    ),
    sig(
        "macaddr",
        1,
        1,
        CHECKED,
        Any,
        SAFE,
        Returns::Type(Type::Macaddr),
        Rule::Macaddr,
        Gen::Macaddr,
    ),
    sig(
        "bswap",
        1,
        1,
        CHECKED,
        Any,
        SAFE,
        BY_RULE,
        Rule::Bswap,
        Gen::Bswap,
    ),
    sig(
        "cgroupid",
        1,
        1,
        &[Literal("path")],
        Any,
        SAFE,
        U64,
        Rule::Cgroupid,
        Gen::Constant,
    ),
    sig(
        "cgroup_path",
        1,
        2,
        &[Int, Literal("filter")],
        Any,
        SAFE,
        Returns::Type(Type::CgroupPath),
        Rule::None,
        Gen::CgroupPath,
    ),
    sig(
        "strerror",
        1,
        1,
        &[Int],
        Any,
        SAFE,
        Returns::Type(Type::Strerror),
        Rule::None,
        Gen::Strerror,
    ),
    sig(
        "strncmp",
        3,
        3,
        &[Arg::Str, Arg::Str, Arg::Rule],
        Any,
        SAFE,
        U64,
        Rule::Strncmp,
        Gen::Strncmp,
    ),
    sig(
        "strcontains",
        2,
        2,
        &[Arg::Str, Arg::Str],
        Any,
        SAFE,
        U64,
        Rule::None,
        Gen::Strcontains,
    ),
    sig(
        "sizeof",
        1,
        1,
        &[Arg::Any],
        Any,
        SAFE,
        U64,
        Rule::None,
        Gen::Sizeof,
    ),
    sig(
        "system",
        1,
        VARIADIC,
        CHECKED,
        Any,
        UNSAFE,
        NONE,
        Rule::Format,
        Gen::System,
    ),
    sig(
        "cat",
        1,
        VARIADIC,
        CHECKED,
        Any,
        SAFE,
        NONE,
        Rule::Format,
        Gen::Cat,
    ),
    sig(
        "signal",
        1,
        1,
        CHECKED,
        Probes::NotBeginEnd,
        UNSAFE,
        NONE,
        Rule::Signal,
        Gen::Signal,
    ),
    sig(
        "override",
        1,
        1,
        &[Int],
        only(&[K::Kprobe]),
        UNSAFE,
        NONE,
        Rule::None,
        Gen::Override,
    ),
    sig("exit", 0, 0, &[], Any, SAFE, NONE, Rule::None, Gen::Exit),
    sig(
        "kstack",
        0,
        2,
        CHECKED,
        Any,
        SAFE,
        BY_RULE,
        Rule::Stack,
        Gen::Stack,
    ),
    sig(
        "ustack",
        0,
        2,
        CHECKED,
        Any,
        SAFE,
        BY_RULE,
        Rule::Stack,
        Gen::Stack,
    ),
    sig(
        "kptr",
        1,
        1,
        CHECKED,
        Any,
        SAFE,
        BY_RULE,
        Rule::Pointer(AddrSpace::Kernel),
        Gen::Value,
    ),
    sig(
        "uptr",
        1,
        1,
        CHECKED,
        Any,
        SAFE,
        BY_RULE,
        Rule::Pointer(AddrSpace::User),
        Gen::Value,
    ),
    sig(
        "path",
        1,
        1,
        CHECKED,
        only(&[K::Kfunc, K::Kretfunc]),
        SAFE,
        BY_RULE,
        Rule::Path,
        Gen::Path,
    ),
    sig(
        "unwatch",
        1,
        1,
        &[IntOrPointer],
        Any,
        SAFE,
        NONE,
        Rule::None,
        Gen::Unwatch,
    ),
    sig(
        "debugf",
        1,
        VARIADIC,
        CHECKED,
        Any,
        SAFE,
        NONE,
        Rule::Format,
        Gen::Debugf,
    ),
    sig(
        "delete",
        1,
        1,
        CHECKED,
        Any,
        SAFE,
        NONE,
        Rule::Delete,
        Gen::Delete,
    ),
    sig(
        "clear",
        1,
        1,
        CHECKED,
        Any,
        SAFE,
        NONE,
        Rule::WholeMap,
        Gen::Clear,
    ),
    sig(
        "zero",
        1,
        1,
        CHECKED,
        Any,
        SAFE,
        NONE,
        Rule::WholeMap,
        Gen::Zero,
    ),
    aggregation("count", 0),
    aggregation("sum", 1),
    aggregation("avg", 1),
    aggregation("min", 1),
    aggregation("max", 1),
    aggregation("stats", 1),
    aggregation("hist", 1),
    aggregation("lhist", 4),
    sig(
        "skboutput",
        4,
        4,
        CHECKED,
        Any,
        SAFE,
        NONE,
        Rule::Unsupported,
        Gen::Unsupported,
    ),
];

const fn aggregation(name: &'static str, args: usize) -> Signature {
    sig(
        name,
        args,
        args,
        CHECKED,
        Any,
        SAFE,
        BY_RULE,
        Rule::Aggregation,
        Gen::Aggregation,
    )
}

/// The builtin function `name`.
pub fn builtin(name: &str) -> Option<&'static Signature> {
    BUILTINS.iter().find(|s| s.name == name)
}

/// The names of every builtin function, in table order.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|s| s.name.as_ref())
}

/// Whether `name` is an aggregation (valid only as the value assigned to a map).
pub fn is_aggregation(name: &str) -> bool {
    builtin(name).is_some_and(|s| s.rule == Rule::Aggregation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_has_one_signature() {
        let mut names: Vec<&str> = builtin_names().collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        assert_eq!(builtin("strncmp").map(|s| s.gen), Some(Gen::Strncmp));
        assert!(is_aggregation("lhist") && !is_aggregation("print"));
    }
}
