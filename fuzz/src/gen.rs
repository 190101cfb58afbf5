//! A grammar-aware random program generator: mostly-valid programs with odd corners, so the
//! checker (not only the parser) sees a lot of input.

use crate::rng::Rng;

/// Every provider with its aliases.
pub const PROVIDERS: &[&str] = &[
    "tracepoint",
    "t",
    "rawtracepoint",
    "rt",
    "kprobe",
    "k",
    "kretprobe",
    "kr",
    "uprobe",
    "u",
    "uretprobe",
    "ur",
    "usdt",
    "U",
    "profile",
    "p",
    "interval",
    "i",
    "software",
    "s",
    "hardware",
    "h",
    "watchpoint",
    "w",
    "asyncwatchpoint",
    "aw",
    "kfunc",
    "f",
    "fentry",
    "kretfunc",
    "fr",
    "fexit",
    "iter",
    "it",
    "BEGIN",
    "END",
    "bogus",
];

/// Builtin variables.
pub const BUILTINS: &[&str] = &[
    "pid", "tid", "uid", "gid", "username", "nsecs", "elapsed", "cpu", "numaid", "comm", "kstack",
    "ustack", "arg0", "arg1", "arg2", "arg3", "arg4", "arg5", "arg9", "sarg0", "sarg1", "sarg2",
    "args", "retval", "func", "probe", "curtask", "cgroup", "rand", "cpid", "ctx", "nosuch",
];

/// Every function of the language (the checker's list) and one that does not exist.
pub static FUNCTIONS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    let mut all: Vec<&str> = scry_lang::functions::builtin_names().collect();
    all.push("nosuchfn");
    all
});

const TYPES: &[&str] = &[
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "u8",
    "s64",
    "char",
    "int",
    "long",
    "unsigned long",
    "void",
    "bool",
    "string",
    "struct foo",
    "struct foo *",
    "struct task_struct *",
    "union u *",
    "enum e",
    "int8[4]",
    "char *",
    "struct nosuch *",
    "uint8 **",
];

const BINOPS: &[&str] = &[
    "+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "<", "<=", ">", ">=", "==", "!=", "&&",
    "||",
];

const ASSIGN_OPS: &[&str] = &[
    "=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=",
];

const STRINGS: &[&str] = &[
    "\"\"",
    "\"hello\"",
    "\"%d %s\\n\"",
    "\"%-10s %6d %llu %x %p %c %%\\n\"",
    "\"\\x41\\101\\t\\\"\\\\\"",
    "\"\\xZZ\"",
    "\"\\777\"",
    "\"\\q\"",
    "\"%\"",
    "\"%*d\"",
    "\"%5.3f\"",
    "\"%s %s %s %s %s %s %s %s\"",
    "\"é🦀\"",
    "\"a\\\nb\"",
    "\"%H:%M:%S\"",
    "\"%r %rx %rh\"",
    "\"\\0\"",
    "\"\\x\"",
    "\"%ld %lu %hhd %zd\"",
    "\"unterminated",
];

const INTS: &[&str] = &[
    "0",
    "1",
    "42",
    "0x10",
    "0XfF",
    "010",
    "1_000_000",
    "1e3",
    "5u",
    "5ul",
    "7LL",
    "18446744073709551615",
    "0b101",
    "18446744073709551616",
    "99999999999999999999999999999999",
    "0x",
    "0xFFFFFFFFFFFFFFFFF",
    "1k",
    "4294967296",
    "9223372036854775808",
    "-1",
    "08",
    "1__0",
];

const IDENTS: &[&str] = &[
    "x", "foo", "A", "B", "bar", "__x", "_", "filename", "ret", "count",
];

/// How large and how deep generated programs may get.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Deepest expression recursion.
    pub depth: usize,
}

/// The generator: a random source and the current nesting depth.
pub struct Gen<'a> {
    rng: &'a mut Rng,
    /// Odd mode: lexically broken literals, bad preamble lines, garbage attach points. In
    /// clean mode programs mostly get past the parser, so the checker sees them.
    odd: bool,
    limits: Limits,
    out: String,
}

impl<'a> Gen<'a> {
    /// A generator drawing from `rng`.
    pub fn new(rng: &'a mut Rng, limits: Limits) -> Self {
        let odd = rng.one_in(4);
        Gen {
            rng,
            odd,
            limits,
            out: String::new(),
        }
    }

    /// One of `items`: in clean mode only from the first `clean` (the well-formed ones).
    fn choose(&mut self, items: &[&'static str], clean: usize) -> &'static str {
        if self.odd {
            self.rng.s(items)
        } else {
            self.rng.s(&items[..clean.min(items.len())])
        }
    }

    /// Generates one whole program.
    pub fn program(mut self) -> String {
        if self.rng.one_in(4) {
            self.out.push_str("#!/usr/bin/env bpftrace\n");
        }
        let pre = self.rng.below(4);
        for _ in 0..pre {
            self.preamble_line();
        }
        let probes = self.rng.range(usize::from(!self.odd), 4);
        for _ in 0..probes {
            self.probe();
            if self.rng.one_in(6) {
                self.preamble_line();
            }
        }
        if self.rng.one_in(if self.odd { 4 } else { 30 }) {
            self.chain();
        }
        self.out
    }

    fn preamble_line(&mut self) {
        let r = if self.odd {
            self.rng.below(12)
        } else {
            *self.rng.pick(&[0, 2, 5, 7, 8])
        };
        let line = match r {
            0 => "#include <linux/sched.h>\n".to_string(),
            1 => "#include \"foo.h\"\n".to_string(),
            2 => format!(
                "#define {} {}\n",
                self.rng.pick(&["N", "X", "MAX", "A"]),
                self.choose(INTS, 12)
            ),
            3 => "#define R R\n#define S R S\n".to_string(),
            4 => "#define\n".to_string(),
            5 => format!(
                "struct foo {{ int a; char b[16]; struct foo *next; {} c; }}\n",
                self.rng.pick(TYPES)
            ),
            6 => "struct foo { int a; unsigned long long b; char name[TASK_COMM_LEN]; int (*fp)(void); }\n".to_string(),
            7 => format!("enum e {{ A, B = {}, C }};\n", self.choose(INTS, 12)),
            8 => "union u { int a; char c[8]; };\n".to_string(),
            9 => "struct bar;\nstruct { int x; }\n".to_string(),
            10 => "#pragma once\n#\n#if 0\n".to_string(),
            _ => "enum { X = 1 << 3, Y = X + 1, };\n".to_string(),
        };
        self.out.push_str(&line);
    }

    fn attach_point(&mut self) -> String {
        let prov = *self.rng.pick(PROVIDERS);
        let args: &[&str] = match prov {
            "tracepoint" | "t" => &[
                ":syscalls:sys_enter_openat",
                ":syscalls:sys_exit_read",
                ":syscalls:sys_enter_*",
                ":sched:sched_switch",
                ":block:block_rq_issue",
                ":*:*",
                ":syscalls",
                ":nosuch:event",
                "",
            ],
            "rawtracepoint" | "rt" => &[":sched_switch", ":sched:sched_switch", ":", ""],
            "kprobe" | "k" | "kretprobe" | "kr" => &[
                ":vfs_read",
                ":vfs_*",
                ":do_sys_openat2+0x10",
                ":vfs_read+99999999999999999999",
                ":nosuch",
                ":module:vfs_read",
                ":*",
                "",
            ],
            "uprobe" | "u" | "uretprobe" | "ur" => &[
                ":/bin/bash:readline",
                ":/bin/bash:0x1234",
                ":/bin/bash:read*",
                ":bash:readline",
                ":c:malloc",
                ":/bin/bash:\"a b\"",
                ":/bin/bash:cpp:foo",
                ":/nosuch:foo",
                ":/bin/bash:readline+4",
                ":/bin/bash",
            ],
            "usdt" | "U" => &[
                ":/bin/bash:prov:probe",
                ":/bin/bash:probe",
                ":/bin/bash:*",
                ":/bin/bash:prov:*",
                ":/nosuch:a:b",
                "",
            ],
            "profile" | "p" | "interval" | "i" => &[
                ":hz:99",
                ":s:1",
                ":ms:100",
                ":us:0",
                ":99",
                ":hz:0",
                ":ns:5",
                ":hz:18446744073709551616",
                ":",
                ":s:-1",
            ],
            "software" | "s" => &[
                ":cs:100",
                ":cpu-clock:1000",
                ":page-faults",
                ":faults:1",
                ":dummy:",
                ":nosuch:1",
            ],
            "hardware" | "h" => &[
                ":cycles:1000000",
                ":instructions",
                ":branch-instructions:100",
                ":cache-misses:x",
            ],
            "watchpoint" | "w" | "asyncwatchpoint" | "aw" => &[
                ":0x1000:8:rw",
                ":0x1000:4:x",
                ":0:0:",
                ":0x1000:3:rwx",
                ":/bin/bash:readline+1:8:w",
                ":0x1000",
            ],
            "kfunc" | "f" | "fentry" | "kretfunc" | "fr" | "fexit" => {
                &[":vfs_read", ":mod:vfs_read", ":*", ":nosuch", ""]
            }
            "iter" | "it" => &[":task", ":task_file", ":task_vma", ":nosuch", ":task:pin"],
            _ => &["", ":x", "::", "*"],
        };
        let arg = self.choose(args, 2);
        format!("{prov}{arg}")
    }

    fn probe(&mut self) {
        let n = if self.rng.one_in(5) {
            self.rng.range(2, 4)
        } else {
            1
        };
        for i in 0..n {
            if i > 0 {
                self.out
                    .push_str(if self.rng.one_in(6) { "," } else { ",\n" });
            }
            let ap = self.attach_point();
            self.out.push_str(&ap);
        }
        self.out.push('\n');
        if self.rng.one_in(3) {
            self.out.push('/');
            self.expr(0);
            self.out.push_str("/\n");
        }
        self.block(0);
        self.out.push('\n');
    }

    fn block(&mut self, depth: usize) {
        self.out.push_str("{\n");
        let n = self.rng.range(0, 5);
        for i in 0..n {
            self.stmt(depth + 1);
            if i + 1 < n || self.rng.one_in(2) {
                self.out.push_str(";\n");
            } else {
                self.out.push('\n');
            }
        }
        self.out.push('}');
    }

    fn stmt(&mut self, depth: usize) {
        let deep = depth >= self.limits.depth;
        match self.rng.below(if deep { 6 } else { 16 }) {
            0 | 1 => {
                self.lvalue(depth);
                let op = *self.rng.pick(ASSIGN_OPS);
                self.out.push_str(&format!(" {op} "));
                self.expr(depth);
            }
            2 => {
                self.out.push('@');
                self.ident();
                self.out.push_str(" = ");
                self.call(depth, true);
            }
            3 => self.call(depth, false),
            4 => {
                let pre = self.rng.one_in(2);
                let op = if self.rng.one_in(2) { "++" } else { "--" };
                if pre {
                    self.out.push_str(op);
                }
                self.lvalue(depth);
                if !pre {
                    self.out.push_str(op);
                }
            }
            5 => {
                let s = *self.rng.pick(&["break", "continue", "return", ""]);
                self.out.push_str(s);
            }
            6 | 7 => {
                self.out.push_str("if (");
                self.expr(depth + 1);
                self.out.push_str(") ");
                self.block(depth + 1);
                if self.rng.one_in(2) {
                    self.out.push_str(" else ");
                    if self.rng.one_in(2) {
                        self.stmt(depth + 1);
                    } else {
                        self.block(depth + 1);
                    }
                }
            }
            8 => {
                self.out.push_str("while (");
                self.expr(depth + 1);
                self.out.push_str(") ");
                self.block(depth + 1);
            }
            9 => {
                self.out.push_str("unroll (");
                if self.rng.one_in(2) {
                    let w = self.choose(INTS, 12);
                    self.out.push_str(w);
                } else {
                    self.expr(depth + 1);
                }
                self.out.push_str(") ");
                self.block(depth + 1);
            }
            10 => {
                self.out.push('$');
                self.ident();
                self.out.push_str(" = (");
                let t = *self.rng.pick(TYPES);
                self.out.push_str(t);
                self.out.push(')');
                self.expr(depth + 1);
            }
            11 if self.odd => self.block(depth + 1),
            12 => {
                let f = *self.rng.pick(&["delete", "clear", "zero", "print"]);
                self.out.push_str(f);
                self.out.push_str("(@");
                self.ident();
                if self.rng.one_in(2) {
                    self.out.push('[');
                    self.expr(depth + 1);
                    self.out.push(']');
                }
                if self.rng.one_in(4) {
                    self.out.push_str(", ");
                    self.expr(depth + 1);
                }
                self.out.push(')');
            }
            13 => {
                self.out.push_str("printf(");
                let w = self.choose(STRINGS, 5);
                self.out.push_str(w);
                for _ in 0..self.rng.below(5) {
                    self.out.push_str(", ");
                    self.expr(depth + 1);
                }
                self.out.push(')');
            }
            _ => self.expr(depth),
        }
    }

    fn ident(&mut self) {
        let s = *self.rng.pick(IDENTS);
        self.out.push_str(s);
    }

    fn lvalue(&mut self, depth: usize) {
        match self.rng.below(4) {
            0 => {
                self.out.push('$');
                self.ident();
            }
            1 => {
                self.out.push('@');
                if !self.rng.one_in(4) {
                    self.ident();
                }
            }
            2 => {
                self.out.push('@');
                self.ident();
                self.map_keys(depth);
            }
            _ => {
                self.expr(depth + 1);
            }
        }
    }

    fn map_keys(&mut self, depth: usize) {
        self.out.push('[');
        let lo = if self.odd && self.rng.one_in(8) { 0 } else { 1 };
        let n = self.rng.range(lo, 3);
        for i in 0..n {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.expr(depth + 1);
        }
        self.out.push(']');
    }

    fn call(&mut self, depth: usize, aggregate: bool) {
        let name = if aggregate {
            *self.rng.pick(&[
                "count", "hist", "lhist", "sum", "avg", "min", "max", "stats", "str", "nsecs",
            ])
        } else {
            *self.rng.pick(&FUNCTIONS)
        };
        self.out.push_str(name);
        self.out.push('(');
        let hi = if self.rng.one_in(10) { 12 } else { 4 };
        let n = self.rng.range(0, hi);
        for i in 0..n {
            if i > 0 {
                self.out.push_str(", ");
            }
            if i == 0 && self.rng.one_in(3) {
                let w = self.choose(STRINGS, 5);
                self.out.push_str(w);
            } else if self.odd && self.rng.one_in(8) {
                self.out.push_str(self.rng.s(TYPES));
            } else {
                self.expr(depth + 1);
            }
        }
        self.out.push(')');
    }

    /// One expression.
    pub fn expr(&mut self, depth: usize) {
        if depth >= self.limits.depth {
            self.atom();
            return;
        }
        match self.rng.below(20) {
            0..=4 => self.atom(),
            5..=7 => {
                self.expr(depth + 1);
                let op = *self.rng.pick(BINOPS);
                self.out.push_str(&format!(" {op} "));
                self.expr(depth + 1);
            }
            8 => {
                let op = self.choose(&["-", "!", "~", "*", "&", "+", "++", "--"], 4);
                self.out.push_str(op);
                self.expr(depth + 1);
            }
            9 => {
                self.out.push('(');
                self.expr(depth + 1);
                self.out.push(')');
            }
            10 => {
                self.expr(depth + 1);
                self.out.push_str(" ? ");
                self.expr(depth + 1);
                self.out.push_str(" : ");
                self.expr(depth + 1);
            }
            11 => {
                self.out.push('(');
                self.out.push_str(self.rng.s(TYPES));
                self.out.push(')');
                self.expr(depth + 1);
            }
            12 | 13 => self.call(depth, false),
            14 => {
                self.out.push('@');
                self.ident();
                self.map_keys(depth);
            }
            15 => {
                self.expr(depth + 1);
                let f = self.choose(
                    &[
                        ".filename",
                        "->filename",
                        "->comm",
                        "->pid",
                        ".0",
                        ".1",
                        "->next->next",
                        ".a",
                        "->parent->pid",
                        ".99999999999999999999",
                    ],
                    9,
                );
                self.out.push_str(f);
            }
            16 => {
                self.out.push('(');
                let n = self.rng.range(1, 4);
                for i in 0..n {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.expr(depth + 1);
                }
                if n == 1 && self.odd {
                    self.out.push(',');
                }
                self.out.push(')');
            }
            17 => {
                self.expr(depth + 1);
                self.out.push('[');
                self.expr(depth + 1);
                self.out.push(']');
            }
            18 => {
                self.out.push_str("sizeof(");
                if self.rng.one_in(2) {
                    self.out.push_str(self.rng.s(TYPES));
                } else {
                    self.expr(depth + 1);
                }
                self.out.push(')');
            }
            _ => {
                self.out.push_str("args.");
                self.out
                    .push_str(self.rng.s(&["filename", "__syscall_nr", "ret", "nosuch"]));
            }
        }
    }

    fn atom(&mut self) {
        match self.rng.below(9) {
            0 | 1 => {
                let w = self.choose(INTS, 12);
                self.out.push_str(w);
            }
            2 => {
                let w = self.choose(STRINGS, 5);
                self.out.push_str(w);
            }
            3 | 4 => self.out.push_str(self.rng.s(BUILTINS)),
            5 => {
                self.out.push('$');
                self.ident();
            }
            6 => {
                let p = self.choose(&["$1", "$2", "$#", "$0", "$99999999999", "$"], 3);
                self.out.push_str(p);
            }
            7 => {
                self.out.push('@');
                self.ident();
            }
            _ => self.ident(),
        }
    }

    /// Very long flat chains (binary operators, unary operators, else-if, field accesses,
    /// ternaries, statements): deep trees that bracket-nesting limits do not catch.
    fn chain(&mut self) {
        let n = *self.rng.pick(&[100usize, 500, 1000, 3000, 10_000, 50_000]);
        let kind = self.rng.below(10);
        self.out.push_str("BEGIN { ");
        match kind {
            0 => {
                self.out.push_str("$x = 1");
                for _ in 0..n {
                    let op = *self.rng.pick(BINOPS);
                    self.out.push_str(op);
                    self.out.push('1');
                }
            }
            1 => {
                self.out.push_str("$x = ");
                let op = *self.rng.pick(&["!", "-", "~", "*", "- ", "!~"]);
                self.out.push_str(&op.repeat(n));
                self.out.push('1');
            }
            2 => {
                self.out.push_str("if (1) { } ");
                for _ in 0..n {
                    self.out.push_str("else if (1) { } ");
                }
            }
            3 => {
                self.out.push_str("$x = curtask");
                for _ in 0..n {
                    self.out.push_str("->parent");
                }
            }
            4 => {
                self.out.push_str("$x = ");
                for _ in 0..n {
                    self.out.push_str("1 ? 2 : ");
                }
                self.out.push('3');
            }
            5 => {
                for _ in 0..n {
                    self.out.push_str("@x = 1; ");
                }
            }
            6 => {
                self.out.push_str("$x = ");
                for _ in 0..n.min(5000) {
                    self.out.push_str("(int8)");
                }
                self.out.push('1');
            }
            7 => {
                self.out.push_str("$x = (1,2)");
                for _ in 0..n {
                    self.out.push_str(".0");
                }
            }
            8 => {
                self.out.push_str("$x = \"");
                for _ in 0..n {
                    self.out
                        .push_str(self.rng.s(&["\\x41", "%d", "\\n", "a", "%"]));
                }
                self.out.push('"');
            }
            _ => {
                self.out.push_str("$x = 1");
                for _ in 0..n {
                    self.out.push_str(" = 1");
                }
            }
        }
        self.out.push_str(" }\n");
    }
}
