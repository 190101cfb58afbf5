//! quantiles: the reducer of quantiles.c, in Rust, with the same sketch and the same output
//! digit for digit (see quantiles.c for the sketch and its error bound: 1/128 of the value).

use scry_guest::{Plugin, Result, States, Updates, Writer};

const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;

/// One key's state: counts of the signed bucket indexes `lo ..`.
#[derive(Default)]
struct Sketch {
    n: u64,
    min: i64,
    max: i64,
    lo: i32,
    counts: Vec<u64>,
}

/// The bucket index of a magnitude `u >= 1`.
fn index_of(u: u64) -> i32 {
    if u < SUB {
        return u as i32;
    }
    let e = 63 - u.leading_zeros();
    (((e - SUB_BITS + 1) << SUB_BITS) + ((u >> (e - SUB_BITS)) & (SUB - 1)) as u32) as i32
}

fn signed_index(v: i64) -> i32 {
    match v {
        0 => 0,
        v if v > 0 => index_of(v as u64),
        v => -index_of(v.unsigned_abs()),
    }
}

/// The middle of bucket `idx >= 1` as a magnitude.
fn middle(idx: i32) -> u64 {
    let k = idx as u32 >> SUB_BITS;
    if k == 0 {
        return idx as u64;
    }
    let width = 1u64 << (k - 1);
    let low = (SUB + (idx as u64 & (SUB - 1))) << (k - 1);
    low + (width - 1) / 2
}

impl Sketch {
    /// The value reported for bucket `idx`, clamped to what was seen.
    fn estimate(&self, idx: i32) -> i64 {
        let v = match idx {
            0 => 0,
            idx if idx > 0 => i64::try_from(middle(idx)).unwrap_or(i64::MAX),
            idx => match middle(-idx) {
                m if m >= 1 << 63 => i64::MIN,
                m => -(m as i64),
            },
        };
        v.clamp(self.min, self.max)
    }

    /// Folds `v`, seen `w` times.
    fn add(&mut self, v: i64, w: u64) {
        let idx = signed_index(v);
        if self.counts.is_empty() {
            self.lo = idx;
            self.counts.push(0);
        } else if idx < self.lo {
            let grow = (self.lo - idx) as usize;
            self.counts.splice(0..0, core::iter::repeat(0).take(grow));
            self.lo = idx;
        } else if idx >= self.lo + self.counts.len() as i32 {
            self.counts.resize((idx - self.lo + 1) as usize, 0);
        }
        self.counts[(idx - self.lo) as usize] += w;
        if self.n == 0 || v < self.min {
            self.min = v;
        }
        if self.n == 0 || v > self.max {
            self.max = v;
        }
        self.n += w;
    }

    /// The value of rank floor((n-1) * num / den).
    fn quantile(&self, num: u64, den: u64) -> i64 {
        let last = self.n - 1;
        let rank = last / den * num + last % den * num / den;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen > rank {
                return self.estimate(self.lo + i as i32);
            }
        }
        self.max
    }
}

const POINTS: [(&str, u64, u64); 4] =
    [("p50", 50, 100), ("p90", 90, 100), ("p99", 99, 100), ("p99.9", 999, 1000)];

/// The sketches of each map, by key number.
#[derive(Default)]
struct Quantiles {
    sketches: States<Sketch>,
}

impl Plugin for Quantiles {
    // Weighted: the sketch is a count per bucket, whatever the order; values may arrive
    // rounded to their bucket (7 significant bits: the exponent and SUB_BITS more), which
    // changes no count, and the exact smallest and largest still arrive.
    const DESCRIPTOR: &'static str = "reducer quantiles(i64) weighted rounded 7\n";

    fn reduce(&mut self, _item: u32, map: u32, updates: Updates) -> Result {
        for update in updates {
            let (key, value, weight) = update?;
            self.sketches.get(map, key).add(value as i64, weight);
        }
        Ok(())
    }

    fn render(&mut self, _item: u32, map: u32, key: u32, json: bool, out: &mut Writer) -> Result {
        let s = self.sketches.get(map, key);
        let (open, sep) = if json { ("{\"", "\": ") } else { ("", "=") };
        // Text and numbers through Writer, not write!: no core::fmt in the module (smaller,
        // and faster for scry to compile at load).
        let field = |out: &mut Writer, start: &str, name: &str, value: i64| {
            out.text(start);
            out.text(name);
            out.text(sep);
            out.dec(value);
        };
        out.text(open);
        out.text("n");
        out.text(sep);
        out.udec(s.n);
        if s.n > 0 {
            let gap = if json { ", \"" } else { " " };
            field(out, gap, "min", s.min);
            for (name, num, den) in POINTS {
                field(out, gap, name, s.quantile(num, den));
            }
            field(out, gap, "max", s.max);
        }
        if json {
            out.text("}");
        }
        Ok(())
    }

    fn reset(&mut self, _item: u32, map: u32, key: Option<u32>, _keep: bool) -> Result {
        // Forgetting and emptying are the same for a sketch: no counts.
        self.sketches.reset(map, key);
        Ok(())
    }
}

scry_guest::plugin!(Quantiles: reduce, render, reset);
