//! A simple delta-debugging minimiser: removes lines, then characters, as long as the input
//! still fails the same way.

use std::time::Instant;

/// Limits on how long minimisation may take.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Most test runs.
    pub tests: usize,
    /// Latest moment to stop.
    pub deadline: Instant,
}

impl Budget {
    /// Whether `used` tests, or the time, exhaust the budget.
    pub fn spent(&self, used: usize) -> bool {
        used >= self.tests || Instant::now() >= self.deadline
    }
}

/// Minimises `input` for `fails` (true when a candidate still shows the finding).
pub fn minimise(input: &str, budget: Budget, fails: &mut dyn FnMut(&str) -> bool) -> String {
    let mut used = 0usize;
    let input = shrink_runs(input, budget, &mut used, fails);
    let lines: Vec<String> = input.split_inclusive('\n').map(str::to_string).collect();
    let lines = ddmin(lines, budget, &mut used, fails);
    let chars: Vec<String> = lines.concat().chars().map(String::from).collect();
    let chars = ddmin(chars, budget, &mut used, fails);
    chars.concat()
}

/// Classic complement-removal ddmin over `units`, counting tests in `used`.
pub fn ddmin(
    mut cur: Vec<String>,
    budget: Budget,
    used: &mut usize,
    fails: &mut dyn FnMut(&str) -> bool,
) -> Vec<String> {
    let mut n = 2usize;
    while cur.len() >= 2 && !budget.spent(*used) {
        let chunk = cur.len().div_ceil(n);
        let mut reduced = false;
        let mut i = 0;
        while i < cur.len() && !budget.spent(*used) {
            let end = (i + chunk).min(cur.len());
            let cand: String = cur[..i].concat() + &cur[end..].concat();
            *used += 1;
            if fails(&cand) {
                cur.drain(i..end);
                reduced = true;
            } else {
                i += chunk;
            }
        }
        if reduced {
            n = (n - 1).max(2);
        } else {
            if n >= cur.len() {
                break;
            }
            n = (n * 2).min(cur.len());
        }
    }
    cur
}

/// Shrinks repetitions (`!!!!...`, `1 ? 2 : 1 ? 2 : ...`): for each period up to 16
/// characters, finds the longest run of one repeated unit and removes as many copies as it
/// can, halving the cut when the input stops failing. Deep-nesting findings need thousands
/// of repetitions, which ddmin alone removes slowly.
fn shrink_runs(
    input: &str,
    budget: Budget,
    used: &mut usize,
    fails: &mut dyn FnMut(&str) -> bool,
) -> String {
    let mut cur: Vec<char> = input.chars().collect();
    for period in 1..=16usize {
        while let Some((start, reps)) = longest_run(&cur, period) {
            if reps < 4 {
                break;
            }
            let mut cut = reps / 2;
            let mut shrunk = false;
            while cut >= 1 && !budget.spent(*used) {
                let mut cand = cur.clone();
                cand.drain(start..start + cut * period);
                *used += 1;
                if fails(&cand.iter().collect::<String>()) {
                    cur = cand;
                    shrunk = true;
                    break;
                }
                cut /= 2;
            }
            if !shrunk || budget.spent(*used) {
                break;
            }
        }
    }
    cur.into_iter().collect()
}

/// The start and repetition count of the longest run of a `period`-character unit.
fn longest_run(s: &[char], period: usize) -> Option<(usize, usize)> {
    if s.len() < 2 * period {
        return None;
    }
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i + period <= s.len() {
        let mut reps = 1;
        while i + (reps + 1) * period <= s.len()
            && s[i + reps * period..i + (reps + 1) * period] == s[i..i + period]
        {
            reps += 1;
        }
        if reps > 1 && best.is_none_or(|(_, r)| reps > r) {
            best = Some((i, reps));
        }
        i += if reps > 1 { (reps - 1) * period + 1 } else { 1 };
    }
    best
}
