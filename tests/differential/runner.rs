//! Loading, running and comparing the cases of the differential suite (`tests/differential.rs`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use scry_cases::Outcome;
use scry_fuzz::process::{run, Run};
use std::thread;
use std::time::Duration;

/// How long one tool may take on one case before it is killed.
const TIMEOUT: Duration = Duration::from_secs(30);

/// One `NNN_name.bt` file and its header.
#[derive(Debug)]
pub struct Case {
    /// The file name without `.bt`.
    pub name: String,
    /// The program file.
    pub path: PathBuf,
    /// Options put before the program file.
    pub options: Vec<String>,
    /// Positional parameters put after the program file.
    pub params: Vec<String>,
    /// `// differs:` reason: scry's output is compared with the `.expected` file.
    pub differs: Option<String>,
    /// `// skip:` reason: a known scry bug; the case is not run.
    pub skip: Option<String>,
}

impl Case {
    /// The file holding scry's intended output of a `differs` case.
    pub fn expected_path(&self) -> PathBuf {
        self.path.with_extension("expected")
    }

    /// The argv after the tool's name: options, the program file, then the parameters. When a
    /// parameter other than `--` itself starts with `-`, a `--` goes before the file (else
    /// bpftrace reads the parameter as an option).
    fn argv(&self) -> Vec<String> {
        let mut argv = self.options.clone();
        if self.params.iter().any(|p| p.starts_with('-') && p != "--") {
            argv.push("--".into());
        }
        argv.push(self.path.display().to_string());
        argv.extend(self.params.iter().cloned());
        argv
    }
}

/// Fails, saying how to fix it, when the suite cannot run here: bpftrace missing or not 0.17,
/// or not root.
pub fn check_environment() -> Result<(), String> {
    let out = Command::new("bpftrace")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            format!(
                "the differential suite compares scry with bpftrace 0.17, which cannot be run \
                 here ({e}). Install it with `apt-get install bpftrace` (Debian 12 ships \
                 0.17), or run scripts/test.sh, which installs it."
            )
        })?;
    let version = String::from_utf8_lossy(&out.stdout);
    if !version.contains("v0.17.") {
        return Err(format!(
            "the differential suite needs bpftrace 0.17, found {:?}",
            version.trim()
        ));
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(
            "the differential suite loads BPF programs with scry and bpftrace: run it as root \
             (e.g. `sudo -E cargo test --test differential`, or scripts/test.sh)"
                .into(),
        );
    }
    Ok(())
}

/// Every `*.bt` file of `dir`, sorted by name, with its header parsed.
pub fn load_cases(dir: &Path) -> std::io::Result<Vec<Case>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "bt"));
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)?;
            parse_case(path, &text)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        })
        .collect()
}

/// Parses the header: the leading `//` lines (blank lines allowed between them).
fn parse_case(path: PathBuf, text: &str) -> Result<Case, String> {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut case = Case {
        name,
        path,
        options: Vec::new(),
        params: Vec::new(),
        differs: None,
        skip: None,
    };
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            continue;
        }
        let Some(comment) = line.strip_prefix("//") else {
            break;
        };
        let comment = comment.trim();
        if let Some(args) = comment.strip_prefix("args:") {
            let words = split_words(args)
                .map_err(|e| format!("{}: bad `// args:` line: {e}", case.name))?;
            let mut words = words.into_iter();
            for w in words.by_ref() {
                if w == "--" {
                    break;
                }
                case.options.push(w);
            }
            case.params.extend(words);
        } else if let Some(why) = comment.strip_prefix("differs:") {
            case.differs = Some(why.trim().to_string());
        } else if let Some(why) = comment.strip_prefix("skip:") {
            case.skip = Some(why.trim().to_string());
        }
    }
    Ok(case)
}

/// Splits on whitespace, with single or double quotes grouping words (no escapes).
fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    words.extend(word);
    Ok(words)
}

/// Runs one case under both tools and compares.
pub fn run_case(scry: &Path, case: &Case) -> Outcome {
    if let Some(why) = &case.skip {
        if !scry_cases::run_skipped() {
            return Outcome::Skip(why.clone());
        }
    }
    let argv = case.argv();
    let (ours, theirs) = thread::scope(|s| {
        let theirs = s.spawn(|| run(Path::new("bpftrace"), &argv, TIMEOUT));
        let ours = run(scry, &argv, TIMEOUT);
        (ours, theirs.join().expect("bpftrace runner thread"))
    });
    let outcome = compare(case, &ours, &theirs, scry_cases::bless());
    match (&case.skip, outcome) {
        (Some(_), Outcome::Pass) => {
            Outcome::Skip("marked skip, but passes now: drop its `// skip:` line".into())
        }
        (Some(why), Outcome::Fail(report)) => {
            Outcome::Fail(format!("(marked skip: {why}; still failing)\n{report}"))
        }
        (_, outcome) => outcome,
    }
}

fn compare(case: &Case, ours: &Run, theirs: &Run, bless: bool) -> Outcome {
    let mut report = String::new();
    if theirs.timed_out || ours.timed_out {
        let _ = writeln!(
            report,
            "timed out after {TIMEOUT:?} (bpftrace: {}, scry: {})",
            theirs.timed_out, ours.timed_out
        );
    }
    let want = match &case.differs {
        None => theirs.stdout.clone(),
        Some(why) => {
            let path = case.expected_path();
            if bless {
                if let Err(e) = std::fs::write(&path, &ours.stdout) {
                    return Outcome::Fail(format!("writing {}: {e}", path.display()));
                }
            }
            let expected = match std::fs::read(&path) {
                Ok(e) => e,
                Err(e) => {
                    return Outcome::Fail(format!(
                        "case says `differs: {why}` but {} cannot be read ({e}); write it \
                         (SCRY_BLESS=1 writes scry's output)",
                        path.display()
                    ))
                }
            };
            if expected == theirs.stdout {
                let _ = writeln!(
                    report,
                    "marked `differs: {why}`, but bpftrace prints the expected output: drop \
                     the header and {}",
                    path.display()
                );
            }
            expected
        }
    };
    if ours.stdout != want {
        let source = if case.differs.is_some() {
            "expected (.expected file)"
        } else {
            "bpftrace"
        };
        let _ = writeln!(report, "stdout differs from {source}:");
        report.push_str(&diff(&want, &ours.stdout, source));
    }
    let ok = |r: &Run| r.code == Some(0);
    // An intended difference may be one where bpftrace refuses what scry runs.
    if case.differs.is_none() && ok(ours) != ok(theirs) {
        let _ = writeln!(
            report,
            "exit status differs: bpftrace {:?}, scry {:?}",
            theirs.code, ours.code
        );
    }
    if report.is_empty() {
        return Outcome::Pass;
    }
    let _ = writeln!(report, "argv: {}", case.argv().join(" "));
    for (tool, r) in [("bpftrace", theirs), ("scry", ours)] {
        let stderr = tool_stderr(&r.stderr);
        if !stderr.is_empty() {
            let _ = writeln!(report, "{tool} stderr:\n{}", stderr.trim_end());
        }
    }
    Outcome::Fail(report)
}

/// A tool's stderr without bpftrace's harmless RLIMIT_MEMLOCK complaint, cut to 40 lines.
fn tool_stderr(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("RLIMIT_MEMLOCK"))
        .collect();
    let mut out = lines
        .iter()
        .take(40)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > 40 {
        let _ = write!(out, "\n... ({} more lines)", lines.len() - 40);
    }
    out
}

/// Both outputs line by line, escaped, with the first differing line marked.
fn diff(want: &[u8], got: &[u8], source: &str) -> String {
    let split = |b: &[u8]| -> Vec<String> {
        b.split_inclusive(|&c| c == b'\n')
            .map(|l| l.escape_ascii().to_string())
            .collect()
    };
    let (want, got) = (split(want), split(got));
    let first = want
        .iter()
        .zip(&got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let mut out = String::new();
    let _ = writeln!(out, "first difference at line {}", first + 1);
    for (title, lines) in [(source, &want), ("scry", &got)] {
        let _ = writeln!(out, "  {title}:");
        for (i, l) in lines.iter().enumerate().take(first + 30) {
            let mark = if i == first { '>' } else { ' ' };
            let _ = writeln!(out, "  {mark} {l}");
        }
        if lines.len() > first + 30 {
            let _ = writeln!(out, "    ... ({} more lines)", lines.len() - first - 30);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let c = parse_case(
            PathBuf::from("/x/001_a.bt"),
            "// args: -f json -q -- 5 'a b'\n\n// differs: why\n// skip: bug\nBEGIN { exit(); }\n\
             // args: -v\n",
        )
        .unwrap();
        assert_eq!(c.name, "001_a");
        assert_eq!(c.options, ["-f", "json", "-q"]);
        assert_eq!(c.params, ["5", "a b"]);
        assert_eq!(c.differs.as_deref(), Some("why"));
        assert_eq!(c.skip.as_deref(), Some("bug"));
        assert_eq!(c.argv(), ["-f", "json", "-q", "/x/001_a.bt", "5", "a b"]);
        assert_eq!(c.expected_path(), PathBuf::from("/x/001_a.expected"));
        let c = parse_case(PathBuf::from("b.bt"), "// args: -- 1 -2\n").unwrap();
        assert_eq!(c.argv(), ["--", "b.bt", "1", "-2"]);
        let c = parse_case(PathBuf::from("b.bt"), "// args: -q -- -- 1\n").unwrap();
        assert_eq!(c.argv(), ["-q", "b.bt", "--", "1"]);
        assert_eq!(split_words("a \"\" b").unwrap(), ["a", "", "b"]);
        assert!(split_words("'a").is_err());
    }
}
