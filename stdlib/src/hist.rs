//! `hist()` and `lhist()` buckets: which bucket a value falls in (the code generator computes
//! the same in BPF) and how each bucket is labelled.
//!
//! Log2 buckets cover the whole range of a signed 64-bit value: index `2 + k` holds
//! `[2^k, 2^(k+1))` for k up to 62. bpftrace 0.17 stops at `[2G, 4G)` (every value of 2^32 or more lands there); we do not
//! copy that bug, so histograms of values from 2^32 on differ from 0.17's on purpose.

/// Number of log2 buckets: `(..., 0)`, `[0]`, `[1]`, then `[2^k, 2^(k+1))` for k in 1..=62.
pub const HIST_BUCKETS: u64 = 65;

/// The log2 bucket of a value: 0 for negatives, 1 for 0, `2 + floor(log2 v)` otherwise.
pub fn hist_bucket(v: i64) -> u64 {
    match v {
        ..0 => 0,
        0 => 1,
        _ => 2 + u64::from(63 - v.leading_zeros()),
    }
}

/// The linear bucket of a value: 0 below `min`, `1 + (max - min) / step` above `max` (and for
/// `max` itself), `1 + (v - min) / step` otherwise. Comparisons are signed, divisions unsigned,
/// as in bpftrace 0.17's generated code.
pub fn lhist_bucket(v: i64, min: i64, max: i64, step: i64) -> u64 {
    let step = (step as u64).max(1);
    if v < min {
        0
    } else if v > max {
        1 + max.wrapping_sub(min) as u64 / step
    } else {
        1 + v.wrapping_sub(min) as u64 / step
    }
}

/// Number of in-range linear buckets (bucket indexes run from 0 to this plus 1).
pub fn lhist_ranges(min: i64, max: i64, step: i64) -> u64 {
    max.wrapping_sub(min) as u64 / (step as u64).max(1)
}

/// The text label of a log2 bucket: `(..., 0)`, `[0]`, `[1]`, `[2, 4)`, `[512, 1K)`, ...
pub fn hist_label(index: u64) -> String {
    match index {
        0 => "(..., 0)".into(),
        1 => "[0]".into(),
        2 => "[1]".into(),
        _ => format!("[{}, {})", power_label(index - 2), power_label(index - 1)),
    }
}

/// `2^power` with bpftrace's suffixes: `512`, `1K`, `4M`, `2G`, `1T` (T stays the largest).
fn power_label(power: u64) -> String {
    let (shift, suffix) = match power {
        40.. => (40, "T"),
        30.. => (30, "G"),
        20.. => (20, "M"),
        10.. => (10, "K"),
        _ => (0, ""),
    };
    format!("{}{suffix}", 1u128 << (power - shift))
}

/// The inclusive value range of a log2 bucket for JSON: `(None, Some(-1))` for negatives,
/// then `[0, 0]`, `[1, 1]`, `[2^k, 2^(k+1) - 1]`.
pub fn hist_range(index: u64) -> (Option<i128>, Option<i128>) {
    match index {
        0 => (None, Some(-1)),
        1 => (Some(0), Some(0)),
        _ => {
            let k = index - 2;
            (Some(1i128 << k), Some((1i128 << (k + 1)) - 1))
        }
    }
}

/// The text label of a linear bucket: `(..., min)`, `[lo, hi)`, `[max, ...)`.
pub fn lhist_label(index: u64, min: i64, max: i64, step: i64) -> String {
    let ranges = lhist_ranges(min, max, step);
    if index == 0 {
        format!("(..., {})", lhist_number(min as i128))
    } else if index == ranges + 1 {
        format!("[{}, ...)", lhist_number(max as i128))
    } else {
        let (lo, hi) = lhist_bounds(index, min, step);
        format!("[{}, {})", lhist_number(lo), lhist_number(hi))
    }
}

/// The inclusive value range of a linear bucket for JSON: `(None, Some(min - 1))` below the
/// range, `(Some(max), None)` above it, `[lo, hi - 1]` inside.
pub fn lhist_range(index: u64, min: i64, max: i64, step: i64) -> (Option<i128>, Option<i128>) {
    let ranges = lhist_ranges(min, max, step);
    if index == 0 {
        (None, Some(min as i128 - 1))
    } else if index == ranges + 1 {
        (Some(max as i128), None)
    } else {
        let (lo, hi) = lhist_bounds(index, min, step);
        (Some(lo), Some(hi - 1))
    }
}

/// `[lo, hi)` of in-range linear bucket `index`.
fn lhist_bounds(index: u64, min: i64, step: i64) -> (i128, i128) {
    let lo = (index as i128 - 1) * step as i128 + min as i128;
    (lo, lo + step as i128)
}

/// bpftrace's lhist label numbers: `0`, multiples of 1048576 as `NM`, of 1024 as `NK`, else
/// decimal.
fn lhist_number(n: i128) -> String {
    const KILO: i128 = 1024;
    const MEGA: i128 = 1024 * 1024;
    if n == 0 {
        "0".into()
    } else if n % MEGA == 0 {
        format!("{}M", n / MEGA)
    } else if n % KILO == 0 {
        format!("{}K", n / KILO)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_buckets() {
        assert_eq!(hist_bucket(-5), 0);
        assert_eq!(hist_bucket(i64::MIN), 0);
        assert_eq!(hist_bucket(0), 1);
        assert_eq!(hist_bucket(1), 2);
        assert_eq!(hist_bucket(2), 3);
        assert_eq!(hist_bucket(3), 3);
        assert_eq!(hist_bucket(4), 4);
        assert_eq!(hist_bucket(700), 11);
        assert_eq!(hist_bucket(1 << 31), 33);
        // 64-bit range (bpftrace 0.17 would put these in [2G, 4G), index 33).
        assert_eq!(hist_bucket(1 << 32), 34);
        assert_eq!(hist_bucket(i64::MAX), 64);
        assert_eq!(HIST_BUCKETS, hist_bucket(i64::MAX) + 1);
    }

    /// bpftrace 0.17's generated log2 (five shift steps, 32 bits), to compare below 2^32.
    fn log2_017(v: i64) -> u64 {
        if v < 0 {
            return 0;
        }
        if v == 0 {
            return 1;
        }
        let (mut n, mut r) = (v as u64, 2u64);
        for i in (0..=4).rev() {
            let shift = u64::from(n >= 1 << (1 << i)) << i;
            n >>= shift;
            r += shift;
        }
        r
    }

    #[test]
    fn log2_matches_bpftrace_below_2_pow_32() {
        let mut v: i64 = -3;
        while v < 1 << 32 {
            assert_eq!(hist_bucket(v), log2_017(v), "value {v}");
            assert_eq!(hist_bucket(v + 1), log2_017(v + 1), "value {}", v + 1);
            v = if v < 70 { v + 1 } else { v * 3 / 2 };
        }
        for k in 1..32 {
            let p = 1i64 << k;
            for v in [p - 1, p, p + 1] {
                assert_eq!(hist_bucket(v), log2_017(v), "value {v}");
            }
        }
    }

    #[test]
    fn log2_labels() {
        // From bpftrace 0.17 output.
        let labels: Vec<_> = [0, 1, 2, 3, 4, 11, 12, 22, 23, 32, 33]
            .into_iter()
            .map(hist_label)
            .collect();
        assert_eq!(
            labels,
            [
                "(..., 0)",
                "[0]",
                "[1]",
                "[2, 4)",
                "[4, 8)",
                "[512, 1K)",
                "[1K, 2K)",
                "[1M, 2M)",
                "[2M, 4M)",
                "[1G, 2G)",
                "[2G, 4G)"
            ]
        );
        assert_eq!(hist_label(42), "[1T, 2T)");
        assert_eq!(hist_label(64), "[4194304T, 8388608T)");
    }

    #[test]
    fn log2_ranges() {
        assert_eq!(hist_range(0), (None, Some(-1)));
        assert_eq!(hist_range(1), (Some(0), Some(0)));
        assert_eq!(hist_range(2), (Some(1), Some(1)));
        assert_eq!(hist_range(3), (Some(2), Some(3)));
        assert_eq!(hist_range(8), (Some(64), Some(127)));
        assert_eq!(hist_range(64), (Some(1 << 62), Some(i64::MAX as i128)));
    }

    #[test]
    fn linear_buckets() {
        // lhist(v, 0, 100, 10) with 5, 55, -3, 1000 (reference §5).
        assert_eq!(lhist_bucket(5, 0, 100, 10), 1);
        assert_eq!(lhist_bucket(55, 0, 100, 10), 6);
        assert_eq!(lhist_bucket(-3, 0, 100, 10), 0);
        assert_eq!(lhist_bucket(1000, 0, 100, 10), 11);
        assert_eq!(lhist_bucket(100, 0, 100, 10), 11);
        assert_eq!(lhist_bucket(99, 0, 100, 10), 10);
        // Non-divisible range: lhist(v, 5, 20, 3); 19 -> [17, 20), 20 -> [20, ...).
        assert_eq!(lhist_bucket(19, 5, 20, 3), 5);
        assert_eq!(lhist_bucket(20, 5, 20, 3), 6);
        assert_eq!(lhist_bucket(9, 0, 10, 3), 4);
        assert_eq!(lhist_ranges(0, 10, 3), 3);
    }

    #[test]
    fn linear_labels() {
        assert_eq!(lhist_label(0, 0, 100, 10), "(..., 0)");
        assert_eq!(lhist_label(1, 0, 100, 10), "[0, 10)");
        assert_eq!(lhist_label(10, 0, 100, 10), "[90, 100)");
        assert_eq!(lhist_label(11, 0, 100, 10), "[100, ...)");
        assert_eq!(lhist_label(2, 1024, 4096, 1024), "[2K, 3K)");
        assert_eq!(lhist_label(3, 1048576, 5242880, 1048576), "[3M, 4M)");
        assert_eq!(lhist_label(1, 5, 20, 3), "[5, 8)");
        assert_eq!(lhist_label(6, 5, 20, 3), "[20, ...)");
        assert_eq!(lhist_label(0, 2048, 4096, 1024), "(..., 2K)");
        assert_eq!(lhist_range(0, 0, 100, 10), (None, Some(-1)));
        assert_eq!(lhist_range(1, 0, 100, 10), (Some(0), Some(9)));
        assert_eq!(lhist_range(11, 0, 100, 10), (Some(100), None));
    }
}
