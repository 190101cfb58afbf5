//! Typed generation of `BEGIN { ...; exit(); }` programs over integers: literals of every form,
//! casts to every width and sign, every operator, variables, maps, compound assignment,
//! `++`/`--`, aggregations, `print` and `printf`.
//!
//! The generator tracks the type of what it writes (`docs/integers.md`) so that it steers clear
//! of the listed differences from bpftrace 0.17 (`tests/differential/README.md`): it never
//! negates or complements a narrow signed value, never widens a value into a type of the other
//! signedness, never stores into a variable a value of another type nor updates a narrow
//! variable with `op=`, stores into a map only 64-bit values or values of the map's
//! signedness, divides only by values that cannot be zero, shifts by less than 64, and feeds
//! min/max/hist values in the range 0.17 handles.

use crate::rng::Rng;

/// An integer type: width in bits and signedness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ty {
    pub bits: u8,
    pub signed: bool,
}

impl Ty {
    const I64: Ty = Ty {
        bits: 64,
        signed: true,
    };
    const U64: Ty = Ty {
        bits: 64,
        signed: false,
    };

    fn name(self) -> String {
        format!("{}int{}", if self.signed { "" } else { "u" }, self.bits)
    }

    /// The 64-bit type of a binary operation on `self` and `other` (signed when both are).
    fn both(self, other: Ty) -> Ty {
        Ty {
            bits: 64,
            signed: self.signed && other.signed,
        }
    }

    /// Whether a cast from `self` to `to` is the same in scry and 0.17: narrowing, or
    /// widening within one signedness.
    fn casts_alike(self, to: Ty) -> bool {
        to.bits <= self.bits || to.signed == self.signed
    }
}

const WIDTHS: [u8; 4] = [8, 16, 32, 64];

const LITERALS: &[&str] = &[
    "0",
    "1",
    "2",
    "7",
    "10",
    "100",
    "127",
    "128",
    "255",
    "256",
    "1000",
    "32767",
    "32768",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "0x7f",
    "0xff",
    "0x8000",
    "0xffffffff",
    "0x7fffffffffffffff",
    "0x8000000000000000",
    "0xffffffffffffffff",
    "0x12345678",
    "1000000007",
];

const ARITH: &[&str] = &["+", "-", "*", "&", "|", "^"];
const COMPARE: &[&str] = &["<", "<=", ">", ">=", "==", "!="];
const FORMATS: &[&str] = &[
    "%d", "%u", "%x", "%ld", "%lu", "%lx", "%lld", "%llu", "%5d", "%-6u", "%08x", "%3lu",
];

/// A generator of one program.
pub struct ProgramGen<'r> {
    rng: &'r mut Rng,
    /// Variables defined so far, `$v{i}`, with their types.
    vars: Vec<Ty>,
    /// Plain integer maps `@m{i}` assigned so far, with their signedness.
    maps: Vec<bool>,
    /// Aggregation maps `@a{i}`, by function.
    aggs: Vec<&'static str>,
    /// Keyed integer maps `@k{i}[key]`: signedness and the keys written (deleted at the end:
    /// 0.17 prints entries of equal values in hash order).
    keyed: Vec<(bool, Vec<&'static str>)>,
    lines: Vec<String>,
}

const KEYS: &[&str] = &["0", "1", "2", "-1", "100"];

impl<'r> ProgramGen<'r> {
    /// A generator drawing from `rng`.
    pub fn new(rng: &'r mut Rng) -> Self {
        ProgramGen {
            rng,
            vars: Vec::new(),
            maps: Vec::new(),
            aggs: Vec::new(),
            keyed: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// A whole program: one statement a line, between `BEGIN {` and `exit(); }`.
    pub fn program(mut self, statements: usize) -> String {
        for _ in 0..statements {
            let s = self.statement();
            self.lines.push(format!("  {s}"));
        }
        for (i, (_, keys)) in self.keyed.iter().enumerate() {
            for k in keys {
                self.lines.push(format!("  delete(@k{i}[{k}]);"));
            }
        }
        format!("BEGIN {{\n{}\n  exit();\n}}\n", self.lines.join("\n"))
    }

    /// One expression of at most `depth` levels, over the variables and maps defined so far
    /// (none in a new generator: then it is made of constants).
    pub fn expression(&mut self, depth: usize) -> String {
        self.expr(depth).0
    }

    fn statement(&mut self) -> String {
        match self.rng.below(20) {
            0..=2 => self.new_var(),
            3 if !self.vars.is_empty() => self.store_var(),
            4 if !self.vars.is_empty() => self.update_var(),
            5 if !self.vars.is_empty() => self.incdec_var(),
            6 | 7 => self.store_map(),
            8 => self.update_map(),
            9 | 10 => self.aggregate(),
            11 => {
                let (e, _) = self.expr(3);
                if e.starts_with("@k") {
                    // 0.17 refuses print(@k[key]) (scry prints the value).
                    format!("print({e} | 0);")
                } else {
                    format!("print({e});")
                }
            }
            12 | 13 => {
                let (c, _) = self.expr(3);
                let (a, b) = (self.printf(), self.printf());
                format!("if ({c}) {{ {a} }} else {{ {b} }}")
            }
            14 => self.store_keyed(),
            15 => {
                let i = self.vars.len();
                self.vars.push(Ty::I64);
                let n = self.rng.range(1, 3);
                let body = self.printf();
                format!("$v{i} = 0; while ($v{i} < {n}) {{ {body} $v{i}++; }}")
            }
            _ => self.printf(),
        }
    }

    fn new_var(&mut self) -> String {
        let (mut e, t) = self.expr(3);
        if t.bits < 64 && (e.starts_with('-') || e.starts_with('~')) {
            // 0.17 gives such a variable 64 bits (and the value of the narrow type).
            e = format!("({})({e})", t.name());
        }
        self.vars.push(t);
        format!("$v{} = {e};", self.vars.len() - 1)
    }

    fn store_var(&mut self) -> String {
        let i = self.rng.below(self.vars.len());
        let (e, t) = self.expr(3);
        format!("$v{i} = {};", cast(&e, t, self.vars[i]))
    }

    fn update_var(&mut self) -> String {
        let wide: Vec<usize> = (0..self.vars.len())
            .filter(|i| self.vars[*i].bits == 64)
            .collect();
        if wide.is_empty() {
            return self.incdec_var();
        }
        let i = *self.rng.pick(&wide);
        let (op, rhs, _) = self.operator_and_rhs(2);
        format!("$v{i} {op}= {rhs};")
    }

    fn incdec_var(&mut self) -> String {
        let i = self.rng.below(self.vars.len());
        let op = self.rng.s(&["++", "--"]);
        if self.rng.one_in(2) {
            format!("$v{i}{op};")
        } else {
            format!("{op}$v{i};")
        }
    }

    fn store_map(&mut self) -> String {
        let i = self.rng.below(self.maps.len() + 1);
        let (e, t) = match self.maps.get(i) {
            // A later store: 64-bit, or of the map's signedness.
            Some(&signed) => {
                let (e, t) = self.expr(3);
                if t.bits == 64 || t.signed == signed {
                    (e, t)
                } else {
                    (cast(&e, t, Ty::I64), Ty::I64)
                }
            }
            None => self.expr(3),
        };
        if i == self.maps.len() {
            self.maps.push(t.signed);
        }
        format!("@m{i} = {e};")
    }

    fn store_keyed(&mut self) -> String {
        let i = self.rng.below(self.keyed.len() + 1);
        let key = *self.rng.pick(KEYS);
        let statement = match self.keyed.get(i).map(|k| k.0) {
            Some(_) if self.rng.one_in(3) => {
                let (op, rhs, _) = self.operator_and_rhs(2);
                format!("@k{i}[{key}] {op}= {rhs};")
            }
            Some(signed) => {
                let (e, t) = self.expr(3);
                let e = if t.bits == 64 || t.signed == signed {
                    e
                } else {
                    cast(&e, t, Ty::I64)
                };
                format!("@k{i}[{key}] = {e};")
            }
            None => {
                let (e, t) = self.expr(3);
                self.keyed.push((t.signed, Vec::new()));
                format!("@k{i}[{key}] = {e};")
            }
        };
        if !self.keyed[i].1.contains(&key) {
            self.keyed[i].1.push(key);
        }
        statement
    }

    fn update_map(&mut self) -> String {
        let i = self.rng.below(self.maps.len() + 1);
        if i == self.maps.len() {
            // First written by op= (unsigned) or ++/-- (signed).
            if self.rng.one_in(2) {
                let (op, rhs, _) = self.operator_and_rhs(2);
                self.maps.push(false);
                return format!("@m{i} {op}= {rhs};");
            }
            self.maps.push(true);
            return format!("@m{i}{};", self.rng.s(&["++", "--"]));
        }
        if self.rng.one_in(3) {
            return format!("{}@m{i};", self.rng.s(&["++", "--"]));
        }
        let (op, rhs, _) = self.operator_and_rhs(2);
        format!("@m{i} {op}= {rhs};")
    }

    fn aggregate(&mut self) -> String {
        const FUNCS: &[&str] = &[
            "count", "sum", "avg", "stats", "min", "max", "hist", "lhist",
        ];
        let i = self.rng.below(self.aggs.len() + 1);
        let f = match self.aggs.get(i) {
            Some(f) => *f,
            None => {
                let f = *self.rng.pick(FUNCS);
                self.aggs.push(f);
                f
            }
        };
        let (e, t) = self.expr(3);
        let arg = match f {
            "count" => String::new(),
            // 0.17 loses a max below zero and a min of 2^32 or more.
            "min" | "max" => format!("({e}) & 0xffff"),
            // 0.17 puts every value of 2^32 or more in one bucket.
            "hist" => cast(
                &e,
                t,
                Ty {
                    bits: 32,
                    signed: true,
                },
            ),
            "lhist" => format!("{e}, 0, 1000, 50"),
            _ => e,
        };
        format!("@a{i} = {f}({arg});")
    }

    fn printf(&mut self) -> String {
        let n = self.rng.range(1, 4);
        let (mut specs, mut args) = (Vec::new(), Vec::new());
        for _ in 0..n {
            specs.push(*self.rng.pick(FORMATS));
            args.push(self.expr(4).0);
        }
        let tag = self.lines.len();
        format!(
            "printf(\"{tag}: {}\\n\", {});",
            specs.join(" "),
            args.join(", ")
        )
    }

    /// An operator for `x op= rhs` or `x op rhs`, with a right operand (and its type) that
    /// keeps the operation defined.
    fn operator_and_rhs(&mut self, depth: usize) -> (&'static str, String, Ty) {
        match self.rng.below(10) {
            0 | 1 => {
                let (rhs, t) = self.nonzero(depth);
                (if self.rng.one_in(2) { "/" } else { "%" }, rhs, t)
            }
            2 => {
                let (rhs, t) = self.shift_amount(depth);
                (self.rng.s(&["<<", ">>"]), rhs, t)
            }
            _ => {
                let (rhs, t) = self.expr(depth);
                (*self.rng.pick(ARITH), rhs, t)
            }
        }
    }

    fn nonzero(&mut self, depth: usize) -> (String, Ty) {
        if self.rng.one_in(2) {
            let n = self
                .rng
                .s(&["1", "2", "3", "7", "10", "1000", "0xffffffff"]);
            (n.to_string(), Ty::I64)
        } else {
            let (e, t) = self.expr(depth);
            (format!("(({e}) | 1)"), t.both(Ty::I64))
        }
    }

    fn shift_amount(&mut self, depth: usize) -> (String, Ty) {
        if self.rng.one_in(2) {
            (self.rng.below(64).to_string(), Ty::I64)
        } else {
            let (e, t) = self.expr(depth);
            (format!("(({e}) & 63)"), t.both(Ty::I64))
        }
    }

    /// A random integer expression and its type.
    fn expr(&mut self, depth: usize) -> (String, Ty) {
        if depth == 0 || self.rng.one_in(4) {
            return self.leaf();
        }
        let d = depth - 1;
        match self.rng.below(12) {
            0 | 1 => {
                let (e, t) = self.expr(d);
                let to = Ty {
                    bits: *self.rng.pick(&WIDTHS),
                    signed: self.rng.one_in(2),
                };
                (cast(&e, t, to), to)
            }
            2 => {
                let (e, t) = self.expr(d);
                if t.bits == 64 || !t.signed {
                    (format!("{}({e})", self.rng.s(&["-", "~"])), t)
                } else {
                    (format!("!({e})"), Ty { signed: false, ..t })
                }
            }
            3 => {
                let (e, t) = self.expr(d);
                (format!("!({e})"), Ty { signed: false, ..t })
            }
            4..=6 => {
                let (a, at) = self.expr(d);
                let (op, b, bt) = self.operator_and_rhs(d);
                let t = if matches!(op, "<<" | ">>") {
                    Ty { bits: 64, ..at }
                } else {
                    at.both(bt)
                };
                (format!("({a} {op} {b})"), t)
            }
            7 | 8 => {
                let (a, at) = self.expr(d);
                let (b, bt) = self.expr(d);
                let op = *self.rng.pick(ARITH);
                (format!("({a} {op} {b})"), at.both(bt))
            }
            9 => {
                let (a, at) = self.expr(d);
                let (b, bt) = self.expr(d);
                let op = self.rng.pick(COMPARE);
                (format!("({a} {op} {b})"), at.both(bt))
            }
            10 => {
                let (a, at) = self.expr(d);
                let (b, bt) = self.expr(d);
                let op = self.rng.s(&["&&", "||"]);
                (format!("({a} {op} {b})"), at.both(bt))
            }
            _ => {
                let (c, _) = self.expr(d);
                let (mut a, at) = self.expr(d);
                let (mut b, bt) = self.expr(d);
                // 0.17 extends a narrow branch by the other branch's signedness.
                if at.signed != bt.signed {
                    a = cast(&a, at, Ty { bits: 64, ..at });
                    b = cast(&b, bt, Ty { bits: 64, ..bt });
                }
                (format!("({c} ? {a} : {b})"), Ty { bits: 64, ..at })
            }
        }
    }

    fn leaf(&mut self) -> (String, Ty) {
        match self.rng.below(10) {
            0..=1 if !self.vars.is_empty() => {
                let i = self.rng.below(self.vars.len());
                (format!("$v{i}"), self.vars[i])
            }
            2 if !self.maps.is_empty() => {
                let i = self.rng.below(self.maps.len());
                let signed = self.maps[i];
                (format!("@m{i}"), Ty { bits: 64, signed })
            }
            3 if !self.keyed.is_empty() && self.rng.one_in(2) => {
                let i = self.rng.below(self.keyed.len());
                let signed = self.keyed[i].0;
                (
                    format!("@k{i}[{}]", self.rng.pick(KEYS)),
                    Ty { bits: 64, signed },
                )
            }
            3 => {
                let s = |r: &mut Rng| r.s(&["\"a\"", "\"ab\"", "\"b\"", "\"\""]);
                let (a, b) = (s(self.rng), s(self.rng));
                (format!("({a} {} {b})", self.rng.s(&["==", "!="])), Ty::U64)
            }
            4 => (format!("-{}", self.rng.pick(LITERALS)), Ty::I64),
            5 if self.rng.one_in(4) => {
                let t = Ty {
                    bits: *self.rng.pick(&WIDTHS),
                    signed: self.rng.one_in(2),
                };
                (format!("sizeof({})", t.name()), Ty::U64)
            }
            _ => (self.rng.pick(LITERALS).to_string(), Ty::I64),
        }
    }
}

/// `e` (of type `from`) cast to `to`, through the 64-bit type of `from`'s signedness when a
/// direct cast would widen into the other signedness.
fn cast(e: &str, from: Ty, to: Ty) -> String {
    if from.casts_alike(to) {
        format!("({})({e})", to.name())
    } else {
        let wide = Ty { bits: 64, ..from };
        format!("({})(({})({e}))", to.name(), wide.name())
    }
}
