//! The end-to-end case runner: parses `tests/runtime/*.case` (format in
//! `tests/runtime/README.md`), builds the C fixtures, runs the real `scry` binary against the
//! real kernel, and checks what it printed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use regex_automata::meta::Regex;

/// The line scry prints on stderr once its probes are attached when
/// `__BPFTRACE_NOTIFY_PROBES_ATTACHED` is set; the runner starts the steps when it appears.
pub const ATTACHED: &str = "__BPFTRACE_NOTIFY_PROBES_ATTACHED";

/// Seconds a case may run when it does not say (`TIMEOUT`).
const DEFAULT_TIMEOUT: f64 = 10.0;

/// One step run in order once the probes are attached.
#[derive(Clone, Debug)]
pub enum Step {
    /// `RUN words`: run a command to completion (the workload).
    Run(Vec<String>),
    /// `SIGNAL name`: send a signal to scry.
    Signal(i32),
    /// `WAIT regex`: wait until the combined output matches.
    Wait(String),
    /// `RELEASE`: close the standard input of the `BEFORE` process.
    Release,
    /// `SLEEP ms`.
    Sleep(u64),
    /// `SEND text`: write a line to scry's standard input (the REPL's next entry).
    Send(String),
    /// `CLOSE`: close scry's standard input (the REPL's session ends).
    Close,
}

/// What `EXPECT_FILE` checks.
#[derive(Clone, Debug)]
pub struct FileExpect {
    /// The file (after substitution).
    pub path: String,
    /// A regex searched in the file's contents.
    pub regex: String,
}

/// A parsed `.case` file.
#[derive(Clone, Debug, Default)]
pub struct Case {
    /// The file name without `.case`.
    pub name: String,
    /// `PROG` lines joined with newlines.
    pub prog: Option<String>,
    /// `PROG_FILE`: a program file (relative to the repository root).
    pub prog_file: Option<String>,
    /// `SUBST from to`: text replacements in the program.
    pub substs: Vec<(String, String)>,
    /// `ARGS`: options before the program.
    pub args: Vec<String>,
    /// `PARAMS`: positional parameters after the program.
    pub params: Vec<String>,
    /// `ENV K=V`.
    pub env: Vec<(String, String)>,
    /// `FIXTURE name`.
    pub fixture: Option<String>,
    /// `AS name`: run scry through a link called `name` (a BCC tool's name).
    pub argv0: Option<String>,
    /// `BEFORE words`: started before scry.
    pub before: Option<Vec<String>>,
    /// `READY words`: a command retried until it succeeds before scry starts (the `BEFORE`
    /// process has set itself up).
    pub ready: Option<Vec<String>>,
    /// `STDIN text`: lines given to scry on standard input.
    pub stdin: Option<String>,
    /// Steps after attach.
    pub steps: Vec<Step>,
    /// `TIMEOUT secs`.
    pub timeout: f64,
    /// `SKIP reason`.
    pub skip: Option<String>,
    /// `EXIT n`.
    pub exit: i32,
    /// `WILL_FAIL`: any non-zero exit status.
    pub will_fail: bool,
    /// `EXPECT`.
    pub expect: Vec<String>,
    /// `EXPECT_NONE`.
    pub expect_none: Vec<String>,
    /// `EXPECT_EXACT` ... `END`: the exact standard output.
    pub expect_exact: Option<String>,
    /// `EXPECT_FILE path regex`.
    pub expect_file: Vec<FileExpect>,
    /// `HEAD n`: read only this many bytes of standard output, then close the pipe.
    pub head: Option<usize>,
}

impl Case {
    /// Whether steps write to scry's standard input (`SEND`).
    pub fn sends(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::Send(_)))
    }
}

/// Splits a line into words: white space separates, single or double quotes group (no
/// escapes inside single quotes; `\"` and `\\` inside double quotes).
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err(format!("unterminated ' in: {s}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err(format!("unterminated \" in: {s}")),
                        },
                        Some(c) => cur.push(c),
                        None => return Err(format!("unterminated \" in: {s}")),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

fn signal_number(name: &str) -> Result<i32, String> {
    Ok(match name.trim_start_matches("SIG") {
        "INT" => libc::SIGINT,
        "TERM" => libc::SIGTERM,
        "USR1" => libc::SIGUSR1,
        "KILL" => libc::SIGKILL,
        "HUP" => libc::SIGHUP,
        "STOP" => libc::SIGSTOP,
        "CONT" => libc::SIGCONT,
        _ => return Err(format!("unknown signal '{name}'")),
    })
}

/// Parses one case file.
pub fn parse_case(name: &str, text: &str) -> Result<Case, String> {
    let mut case = Case {
        name: name.to_string(),
        timeout: DEFAULT_TIMEOUT,
        ..Case::default()
    };
    let mut lines = text.lines().enumerate();
    while let Some((no, line)) = lines.next() {
        let at = |msg: String| format!("{name}.case:{}: {msg}", no + 1);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
        let words = || split_words(rest).map_err(at);
        match key {
            "PROG" => {
                let p = case.prog.get_or_insert_with(String::new);
                if !p.is_empty() {
                    p.push('\n');
                }
                p.push_str(rest);
            }
            "PROG_FILE" => case.prog_file = Some(rest.trim().to_string()),
            "SUBST" => {
                let w = words()?;
                let [from, to] = w.as_slice() else {
                    return Err(at("SUBST needs two words".into()));
                };
                case.substs.push((from.clone(), to.clone()));
            }
            "ARGS" => case.args.extend(words()?),
            "PARAMS" => case.params.extend(words()?),
            "ENV" => {
                let (k, v) = rest
                    .split_once('=')
                    .ok_or_else(|| at("ENV needs K=V".into()))?;
                case.env.push((k.trim().to_string(), v.to_string()));
            }
            "FIXTURE" => case.fixture = Some(rest.trim().to_string()),
            "AS" => case.argv0 = Some(rest.trim().to_string()),
            "BEFORE" => case.before = Some(words()?),
            "READY" => case.ready = Some(words()?),
            "STDIN" => {
                let s = case.stdin.get_or_insert_with(String::new);
                s.push_str(rest);
                s.push('\n');
            }
            "RUN" => case.steps.push(Step::Run(words()?)),
            "SIGNAL" => case
                .steps
                .push(Step::Signal(signal_number(rest.trim()).map_err(at)?)),
            "WAIT" => case.steps.push(Step::Wait(rest.to_string())),
            "RELEASE" => case.steps.push(Step::Release),
            "SEND" => case.steps.push(Step::Send(rest.to_string())),
            "CLOSE" => case.steps.push(Step::Close),
            "SLEEP" => case.steps.push(Step::Sleep(
                rest.trim()
                    .parse()
                    .map_err(|_| at("SLEEP needs milliseconds".into()))?,
            )),
            "TIMEOUT" => {
                case.timeout = rest
                    .trim()
                    .parse()
                    .map_err(|_| at("TIMEOUT needs seconds".into()))?
            }
            "SKIP" => case.skip = Some(rest.trim().to_string()),
            "EXIT" => {
                case.exit = rest
                    .trim()
                    .parse()
                    .map_err(|_| at("EXIT needs a number".into()))?
            }
            "WILL_FAIL" => case.will_fail = true,
            "HEAD" => {
                case.head = Some(
                    rest.trim()
                        .parse()
                        .map_err(|_| at("HEAD needs a number of bytes".into()))?,
                )
            }
            "EXPECT" => case.expect.push(rest.to_string()),
            "EXPECT_NONE" => case.expect_none.push(rest.to_string()),
            "EXPECT_FILE" => {
                let (path, regex) = rest
                    .split_once(' ')
                    .ok_or_else(|| at("EXPECT_FILE needs a path and a regex".into()))?;
                case.expect_file.push(FileExpect {
                    path: path.to_string(),
                    regex: regex.to_string(),
                });
            }
            "EXPECT_EXACT" => {
                let mut block = String::new();
                loop {
                    match lines.next() {
                        Some((_, "END")) => break,
                        Some((_, l)) => {
                            block.push_str(l);
                            block.push('\n');
                        }
                        None => return Err(at("EXPECT_EXACT without END".into())),
                    }
                }
                case.expect_exact = Some(block);
            }
            _ => return Err(at(format!("unknown directive '{key}'"))),
        }
    }
    if case.prog.is_some() && case.prog_file.is_some() {
        return Err(format!("{name}.case: both PROG and PROG_FILE"));
    }
    Ok(case)
}

/// Reads every `*.case` file of `dir`, sorted by name.
pub fn load_cases(dir: &Path) -> Result<Vec<Case>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "case"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let name = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let text = std::fs::read_to_string(p).map_err(|e| format!("{name}: {e}"))?;
            parse_case(&name, &text)
        })
        .collect()
}

/// The C fixtures, compiled once into a directory of their own.
pub struct Fixtures {
    /// The directory holding the built fixtures (`{{fixtures}}`).
    pub dir: PathBuf,
    /// Fixture name → binary.
    pub bins: BTreeMap<String, PathBuf>,
}

/// One `cc` run: the output's name and the extra arguments.
struct Build {
    name: String,
    source: PathBuf,
    extra: Vec<String>,
}

/// The builds a fixture source asks for: one per `//! build NAME ARGS...` line (`{{dir}}` in
/// ARGS is the fixture directory), or a plain build named after the file.
fn builds_of(source: &Path, dir: &Path) -> Result<Vec<Build>, String> {
    let text = std::fs::read_to_string(source)
        .map_err(|e| format!("cannot read {}: {e}", source.display()))?;
    let mut builds: Vec<Build> = text
        .lines()
        .filter_map(|l| l.strip_prefix("//! build "))
        .filter_map(|rest| {
            let mut words = rest.split_whitespace();
            let name = words.next()?.to_string();
            let extra = words
                .map(|w| w.replace("{{dir}}", &dir.display().to_string()))
                .collect();
            Some(Build {
                name,
                source: source.to_path_buf(),
                extra,
            })
        })
        .collect();
    if builds.is_empty() {
        builds.push(Build {
            name: source
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string(),
            source: source.to_path_buf(),
            extra: Vec::new(),
        });
    }
    Ok(builds)
}

impl Fixtures {
    /// Compiles every `src/*.c` with `cc` into `dir`: libraries (`lib*` outputs) first, then
    /// the programs, which may link them. Libraries lose their execute bits, as some
    /// distributions install them: every uprobe case on them checks that they still attach.
    pub fn build(src: &Path, dir: &Path) -> Result<Fixtures, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let mut bins = BTreeMap::new();
        let sources: Vec<PathBuf> = std::fs::read_dir(src)
            .map_err(|e| format!("cannot read {}: {e}", src.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "c"))
            .collect();
        let mut all = Vec::new();
        for s in &sources {
            all.extend(builds_of(s, dir)?);
        }
        let (libs, programs): (Vec<Build>, Vec<Build>) =
            all.into_iter().partition(|b| b.name.starts_with("lib"));
        for phase in [libs, programs] {
            let running: Vec<_> = phase
                .into_iter()
                .map(|b| {
                    let bin = dir.join(&b.name);
                    let child = Command::new("cc")
                        .args(["-O1", "-g", "-Wall", "-pthread", "-o"])
                        .arg(&bin)
                        .arg(&b.source)
                        .args(&b.extra)
                        .stderr(Stdio::piped())
                        .spawn()
                        .map_err(|e| format!("cannot run cc: {e}"));
                    (b.name, bin, child)
                })
                .collect();
            for (name, bin, child) in running {
                let out = child?.wait_with_output().map_err(|e| e.to_string())?;
                if !out.status.success() {
                    return Err(format!(
                        "cc failed on fixture {name}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
                if name.starts_with("lib") {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o644))
                        .map_err(|e| format!("cannot chmod {name}: {e}"))?;
                }
                bins.insert(name, bin);
            }
        }
        Ok(Fixtures {
            dir: dir.to_path_buf(),
            bins,
        })
    }
}

/// Escapes regex metacharacters so a substituted path matches itself.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Values of `{{...}}` placeholders for one case.
#[derive(Clone, Debug, Default)]
struct Vars(Vec<(String, String)>);

impl Vars {
    fn apply(&self, s: &str, escape: bool) -> String {
        let mut out = s.to_string();
        for (k, v) in &self.0 {
            let v = if escape { regex_escape(v) } else { v.clone() };
            out = out.replace(&format!("{{{{{k}}}}}"), &v);
        }
        out
    }

    fn set(&mut self, k: &str, v: String) {
        self.0.retain(|(key, _)| key != k);
        self.0.push((k.to_string(), v));
    }
}

/// Output collected from scry's pipes as it arrives.
#[derive(Default)]
struct Output {
    stdout: String,
    stderr: String,
    /// Both pipes reached end of file.
    closed: usize,
}

type Shared = Arc<(Mutex<Output>, Condvar)>;

/// Reads `r` into the shared output until end of file, or until `limit` bytes (then the pipe
/// is closed, as `| head -c limit` closes it).
fn pump(mut r: impl Read + Send + 'static, shared: Shared, is_err: bool, limit: Option<usize>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        let mut left = limit.unwrap_or(usize::MAX);
        loop {
            let n = r.read(&mut buf[..left.min(8192)]).unwrap_or(0);
            left -= n;
            let (m, cv) = &*shared;
            let mut o = m.lock().unwrap();
            if n == 0 {
                o.closed += 1;
                cv.notify_all();
                return;
            }
            let text = String::from_utf8_lossy(&buf[..n]);
            if is_err {
                o.stderr.push_str(&text);
            } else {
                o.stdout.push_str(&text);
            }
            cv.notify_all();
        }
    });
}

/// The combined output cases match against: stdout, then stderr without the attach note.
fn combined(o: &Output) -> String {
    let err: String = o
        .stderr
        .lines()
        .filter(|l| *l != ATTACHED)
        .map(|l| format!("{l}\n"))
        .collect();
    format!("{}{}", o.stdout, err)
}

/// Everything a case run needs from the suite.
pub struct Env {
    /// The scry binary.
    pub scry: PathBuf,
    /// The repository root (PROG_FILE paths are relative to it).
    pub root: PathBuf,
    /// The built fixtures.
    pub fixtures: Arc<Fixtures>,
    /// A scratch directory for this suite run.
    pub scratch: PathBuf,
}

/// A short process name for case number `index`, unique within the run, at most 15 bytes
/// (the kernel's `comm` length).
pub fn comm_for(index: usize, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let mut comm = format!("e{index:03}{clean}");
    comm.truncate(15);
    comm
}

fn compile_regex(pattern: &str) -> Result<Regex, String> {
    let full = format!("(?m){pattern}");
    Regex::new(&full).map_err(|e| format!("bad regex /{pattern}/: {e}"))
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on a pid this runner started and has not reaped.
    unsafe { libc::kill(pid as libc::pid_t, sig) };
}

/// Runs one case (`index` makes its fixtures' comm names unique).
pub fn run_case(env: &Env, index: usize, case: &Case) -> scry_cases::Outcome {
    if let Some(why) = &case.skip {
        return scry_cases::Outcome::Skip(why.clone());
    }
    let mut failures = Vec::new();
    if let Err(e) = run_case_inner(env, index, case, &mut failures) {
        failures.push(e);
    }
    if failures.is_empty() {
        scry_cases::Outcome::Pass
    } else {
        scry_cases::Outcome::Fail(failures.join("\n"))
    }
}

fn run_case_inner(
    env: &Env,
    index: usize,
    case: &Case,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    let tmp = env.scratch.join(&case.name);
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let comm = comm_for(index, &case.name);
    let mut vars = Vars::default();
    vars.set("tmp", tmp.display().to_string());
    vars.set("root", env.root.display().to_string());
    vars.set("comm", comm.clone());
    vars.set("fixtures", env.fixtures.dir.display().to_string());
    vars.set("scry", env.scry.display().to_string());
    if let Some(fx) = &case.fixture {
        let bin = env
            .fixtures
            .bins
            .get(fx)
            .ok_or_else(|| format!("no fixture '{fx}' in tests/fixtures"))?;
        // A copy under the case's own name: `comm` then identifies this case's workload.
        let copy = tmp.join(&comm);
        std::fs::copy(bin, &copy).map_err(|e| format!("cannot copy fixture: {e}"))?;
        vars.set("fixture", copy.display().to_string());
    }

    let mut before: Option<Child> = None;
    if let Some(words) = &case.before {
        let words: Vec<String> = words.iter().map(|w| vars.apply(w, false)).collect();
        // Another case's thread forking while the fixture copy was open for writing holds
        // the file open in its child until that execs: ETXTBSY for a moment.
        let mut tries = 0;
        let child = loop {
            let spawned = Command::new(&words[0])
                .args(&words[1..])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            match spawned {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(10));
                }
                other => break other,
            }
        }
        .map_err(|e| format!("cannot start BEFORE {}: {e}", words[0]))?;
        vars.set("before_pid", child.id().to_string());
        before = Some(child);
    }
    if let Some(words) = &case.ready {
        let words: Vec<String> = words.iter().map(|w| vars.apply(w, false)).collect();
        let ready = || {
            Command::new(&words[0])
                .args(&words[1..])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !ready() {
            if Instant::now() > deadline {
                if let Some(mut b) = before {
                    let _ = b.kill();
                    let _ = b.wait();
                }
                return Err(format!("READY {} never succeeded", words.join(" ")));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let result = run_scry(env, case, &vars, &mut before, failures);
    if let Some(mut b) = before {
        drop(b.stdin.take());
        if let Ok(None) = b.try_wait() {
            let _ = b.kill();
        }
        let _ = b.wait();
    }
    result
}

fn run_scry(
    env: &Env,
    case: &Case,
    vars: &Vars,
    before: &mut Option<Child>,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    let mut argv: Vec<String> = case.args.iter().map(|a| vars.apply(a, false)).collect();
    if let Some(p) = &case.prog {
        let mut text = vars.apply(p, false);
        for (from, to) in &case.substs {
            text = text.replace(from, &vars.apply(to, false));
        }
        argv.push("-e".into());
        argv.push(text);
    } else if let Some(f) = &case.prog_file {
        let path = env.root.join(vars.apply(f, false));
        if case.substs.is_empty() {
            argv.push(path.display().to_string());
        } else {
            let mut text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            for (from, to) in &case.substs {
                text = text.replace(from, &vars.apply(to, false));
            }
            let copy = PathBuf::from(vars.apply("{{tmp}}/program.bt", false));
            std::fs::write(&copy, text).map_err(|e| e.to_string())?;
            argv.push(copy.display().to_string());
        }
    }
    argv.extend(case.params.iter().map(|a| vars.apply(a, false)));

    let program = match &case.argv0 {
        Some(name) => {
            let link = PathBuf::from(vars.apply("{{tmp}}", false)).join(name);
            std::os::unix::fs::symlink(&env.scry, &link)
                .map_err(|e| format!("cannot link {}: {e}", link.display()))?;
            link
        }
        None => env.scry.clone(),
    };
    let mut cmd = Command::new(&program);
    cmd.args(&argv)
        .env(ATTACHED, "1")
        .env_remove("BPFTRACE_STRLEN")
        .env_remove("BPFTRACE_MAP_KEYS_MAX")
        .env_remove("BPFTRACE_PERF_RB_PAGES")
        .env("NO_COLOR", "1")
        .current_dir(vars.apply("{{tmp}}", false))
        .stdin(if case.stdin.is_some() || case.sends() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &case.env {
        cmd.env(k, vars.apply(v, false));
    }
    let mut scry = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", env.scry.display()))?;
    // Kept open for `SEND` steps until `CLOSE` (or the end of the steps).
    let mut stdin = scry.stdin.take();
    if let (Some(text), Some(pipe)) = (&case.stdin, stdin.as_mut()) {
        let _ = pipe.write_all(vars.apply(text, false).as_bytes());
    }
    if !case.sends() {
        drop(stdin.take());
    }
    let shared: Shared = Arc::new((Mutex::new(Output::default()), Condvar::new()));
    pump(
        scry.stdout.take().unwrap(),
        shared.clone(),
        false,
        case.head,
    );
    pump(scry.stderr.take().unwrap(), shared.clone(), true, None);
    let deadline = Instant::now() + Duration::from_secs_f64(case.timeout);

    let steps = run_steps(case, vars, &mut scry, &shared, before, &mut stdin, deadline);
    drop(stdin);

    // Wait for scry to exit (both pipes closed and the process reaped) or the deadline.
    let status = loop {
        if let Ok(Some(st)) = scry.try_wait() {
            break Some(st);
        }
        if Instant::now() >= deadline {
            break None;
        }
        let (m, cv) = &*shared;
        let g = m.lock().unwrap();
        let _ = cv.wait_timeout(g, Duration::from_millis(20)).unwrap();
    };
    let status = match status {
        Some(s) => s,
        None => {
            let _ = scry.kill();
            let s = scry.wait().map_err(|e| e.to_string())?;
            failures.push(format!("timed out after {}s; killed", case.timeout));
            s
        }
    };
    // Let the pumps see end of file (a -c child may hold the pipes a little longer).
    {
        let (m, cv) = &*shared;
        let mut g = m.lock().unwrap();
        let until = Instant::now() + Duration::from_secs(2);
        while g.closed < 2 && Instant::now() < until {
            g = cv.wait_timeout(g, Duration::from_millis(20)).unwrap().0;
        }
    }
    let out = {
        let g = shared.0.lock().unwrap();
        Output {
            stdout: g.stdout.clone(),
            stderr: g.stderr.clone(),
            closed: g.closed,
        }
    };
    if let Err(e) = steps {
        failures.push(e);
    }
    check(case, vars, status, &out, failures);
    if !failures.is_empty() {
        let mut report = String::new();
        let _ = writeln!(report, "command: scry {}", shell_words(&argv));
        let _ = writeln!(report, "exit status: {status}");
        let _ = writeln!(report, "--- stdout ---\n{}", clip(&out.stdout));
        let _ = write!(report, "--- stderr ---\n{}", clip(&out.stderr));
        failures.push(report);
    }
    Ok(())
}

fn clip(s: &str) -> String {
    const MAX: usize = 6000;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut head = MAX / 2;
    while !s.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = s.len() - MAX / 2;
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n[... {} bytes ...]\n{}",
        &s[..head],
        tail - head,
        &s[tail..]
    )
}

fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Waits until `pred` holds of the output, scry exits, or the deadline passes.
fn wait_for(
    shared: &Shared,
    scry: &mut Child,
    deadline: Instant,
    what: &str,
    pred: impl Fn(&Output) -> bool,
) -> Result<(), String> {
    let (m, cv) = &**shared;
    let mut g = m.lock().unwrap();
    loop {
        if pred(&g) {
            return Ok(());
        }
        if g.closed == 2 || matches!(scry.try_wait(), Ok(Some(_))) {
            // One more look: the last output may have arrived with the exit.
            drop(g);
            std::thread::sleep(Duration::from_millis(50));
            g = m.lock().unwrap();
            if pred(&g) {
                return Ok(());
            }
            return Err(format!("scry exited while waiting for {what}"));
        }
        if Instant::now() >= deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        g = cv.wait_timeout(g, Duration::from_millis(20)).unwrap().0;
    }
}

fn run_steps(
    case: &Case,
    vars: &Vars,
    scry: &mut Child,
    shared: &Shared,
    before: &mut Option<Child>,
    stdin: &mut Option<std::process::ChildStdin>,
    deadline: Instant,
) -> Result<(), String> {
    if case.steps.is_empty() {
        return Ok(());
    }
    wait_for(shared, scry, deadline, "the probes to attach", |o| {
        o.stderr.lines().any(|l| l == ATTACHED)
    })?;
    for step in &case.steps {
        match step {
            Step::Run(words) => {
                let words: Vec<String> = words.iter().map(|w| vars.apply(w, false)).collect();
                let st = Command::new(&words[0])
                    .args(&words[1..])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .map_err(|e| format!("cannot RUN {}: {e}", words[0]))?;
                if !st.success() {
                    return Err(format!("RUN {} failed: {st}", words.join(" ")));
                }
            }
            Step::Signal(sig) => {
                if let Ok(None) = scry.try_wait() {
                    signal(scry.id(), *sig);
                }
            }
            Step::Wait(pattern) => {
                let re = compile_regex(&vars.apply(pattern, true))?;
                wait_for(shared, scry, deadline, &format!("/{pattern}/"), |o| {
                    re.is_match(combined(o).as_str())
                })?;
            }
            Step::Release => {
                if let Some(b) = before.as_mut() {
                    drop(b.stdin.take());
                }
            }
            Step::Sleep(ms) => std::thread::sleep(Duration::from_millis(*ms)),
            Step::Send(text) => {
                let pipe = stdin.as_mut().ok_or("SEND after CLOSE")?;
                pipe.write_all(format!("{}\n", vars.apply(text, false)).as_bytes())
                    .map_err(|e| format!("cannot SEND: {e}"))?;
            }
            Step::Close => drop(stdin.take()),
        }
    }
    Ok(())
}

fn check(
    case: &Case,
    vars: &Vars,
    status: std::process::ExitStatus,
    out: &Output,
    failures: &mut Vec<String>,
) {
    let code = status.code();
    if case.will_fail {
        if code == Some(0) || code.is_none() {
            failures.push(format!(
                "expected a non-zero exit status (WILL_FAIL), got {status}"
            ));
        }
    } else if code != Some(case.exit) {
        failures.push(format!("expected exit status {}, got {status}", case.exit));
    }
    let all = combined(out);
    for pattern in &case.expect {
        match compile_regex(&vars.apply(pattern, true)) {
            Ok(re) if re.is_match(all.as_str()) => {}
            Ok(_) => failures.push(format!("EXPECT /{pattern}/ did not match")),
            Err(e) => failures.push(e),
        }
    }
    for pattern in &case.expect_none {
        match compile_regex(&vars.apply(pattern, true)) {
            Ok(re) if !re.is_match(all.as_str()) => {}
            Ok(_) => failures.push(format!("EXPECT_NONE /{pattern}/ matched")),
            Err(e) => failures.push(e),
        }
    }
    if let Some(exact) = &case.expect_exact {
        let exact = vars.apply(exact, false);
        if exact != out.stdout {
            failures.push(format!(
                "EXPECT_EXACT differs from stdout:\n--- expected ---\n{exact}--- first difference at byte {} ---",
                exact
                    .bytes()
                    .zip(out.stdout.bytes())
                    .take_while(|(a, b)| a == b)
                    .count()
            ));
        }
    }
    for fe in &case.expect_file {
        let path = vars.apply(&fe.path, false);
        match std::fs::read_to_string(&path) {
            Ok(text) => match compile_regex(&vars.apply(&fe.regex, true)) {
                Ok(re) if re.is_match(text.as_str()) => {}
                Ok(_) => failures.push(format!(
                    "EXPECT_FILE {path} /{}/ did not match; the file holds:\n{}",
                    fe.regex,
                    clip(&text)
                )),
                Err(e) => failures.push(e),
            },
            Err(e) => failures.push(format!("EXPECT_FILE: cannot read {path}: {e}")),
        }
    }
}
