//! "Did you mean" suggestions for misspelt names.

/// The candidate closest to `word`, if one is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lc = word.to_ascii_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for cand in candidates {
        if cand == word {
            continue;
        }
        let score = strsim::jaro_winkler(&word_lc, &cand.to_ascii_lowercase());
        let dist = strsim::damerau_levenshtein(&word_lc, &cand.to_ascii_lowercase());
        let close = score >= 0.85 || (dist <= 2 && dist < word.len().max(2));
        if close && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, cand));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_typos() {
        assert_eq!(
            closest("prinft", ["printf", "print", "exit"]),
            Some("printf")
        );
        assert_eq!(closest("cmm", ["comm", "cpu", "pid"]), Some("comm"));
        assert_eq!(closest("zzzzzz", ["comm", "cpu", "pid"]), None);
    }
}
