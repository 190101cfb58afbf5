//! The REPL at a terminal: rustyline on its own thread, the session on this one.
//!
//! The editor thread reads an entry (multi-line until its braces balance), sends it, and
//! waits until the session thread has applied it before it prompts again. Output that
//! arrives meanwhile, or while the user types, is printed above the prompt through
//! rustyline's `ExternalPrinter`, from a printer thread that never blocks this one
//! ([`crate::screen`]).
//!
//! Keys and signals: in the editor's raw mode Ctrl-C is a key (rustyline cancels the line)
//! and Ctrl-D on an empty line ends the session. SIGINT, SIGTERM and SIGUSR1 stay blocked in
//! every thread and are read from the session's signalfd, except that the editor thread
//! unblocks SIGINT while it is inside `readline`: that is how the session thread, when the
//! session ends by itself (SIGTERM, `exit()`, the `-p` process exiting), makes a blocked
//! `readline` return (rustyline's SIGINT handler cancels the line), so the terminal is
//! restored and the history saved before the maps are printed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rustyline::config::{ColorMode, CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Editor, ExternalPrinter};

use crate::channel::{self, Input, Sender};
use crate::console::{Console, ScreenWriter};
use crate::engine::Engine;
use crate::helper::{MapNames, ScryHelper};
use crate::report::Reporter;
use crate::screen::Screen;
use crate::serve::{serve, Front};
use crate::shared_out::Out;
use crate::Options;

/// The prompt.
const PROMPT: &str = "scry> ";

/// Runs the REPL at a terminal until the session ends.
pub fn run(opts: Options) -> Result<(), String> {
    let color = crate::color_wanted();
    // The session first: if it cannot open, no prompt was shown.
    let screen = Screen::new();
    let out: Out = match opts.output {
        Some(file) => file,
        None => Box::new(ScreenWriter::new(screen.clone())),
    };
    let reporter = Reporter {
        no_warnings: opts.no_warnings,
        verbose: opts.verbose,
        color,
    };
    let engine = crate::open(
        opts.host,
        out,
        opts.format,
        Console::Terminal(screen.clone()),
        reporter,
        opts.list,
        opts.pid,
    )?;
    let engine = match opts.plugins {
        Some(p) => engine.with_plugins(p, opts.format),
        None => engine,
    };
    let (tx, rx) = channel::channel().map_err(|e| format!("cannot read entries: {e}"))?;
    ignore_sigint()?;
    let (mut front, printer) = Terminal::start(tx, screen.clone(), color)?;
    let printing = screen.start(printer);
    let result = serve(engine, rx, &mut front);
    screen.close();
    let _ = printing.join();
    result
}

/// The editor, with history loaded, and its printer.
fn start_editor(
    maps: MapNames,
    color: bool,
) -> Result<
    (
        Editor<ScryHelper, FileHistory>,
        impl ExternalPrinter + Send + 'static,
    ),
    String,
> {
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .color_mode(if color {
            ColorMode::Enabled
        } else {
            ColorMode::Disabled
        })
        .build();
    let mut rl: Editor<ScryHelper, FileHistory> =
        Editor::with_config(config).map_err(|e| format!("cannot start the line editor: {e}"))?;
    rl.set_helper(Some(ScryHelper::new(maps, color)));
    if let Some(path) = history_path() {
        let _ = rl.load_history(&path);
    }
    let printer = rl
        .create_external_printer()
        .map_err(|e| format!("cannot start the line editor: {e}"))?;
    Ok((rl, printer))
}

/// Reads entries until Ctrl-D, the session thread going away, or `quit`.
fn edit(
    rl: &mut Editor<ScryHelper, FileHistory>,
    tx: &Sender,
    done: &mpsc::Receiver<()>,
    quit: &AtomicBool,
) {
    loop {
        set_sigint(libc::SIG_UNBLOCK);
        let line = match quit.load(Ordering::SeqCst) {
            true => Err(ReadlineError::Interrupted),
            false => rl.readline(PROMPT),
        };
        set_sigint(libc::SIG_BLOCK);
        if quit.load(Ordering::SeqCst) {
            return;
        }
        match line {
            Ok(text) => {
                if !text.trim().is_empty() {
                    let _ = rl.add_history_entry(text.as_str());
                }
                if !tx.send(Input::Entry(text)) || done.recv().is_err() {
                    return;
                }
            }
            Err(ReadlineError::Interrupted) => {}
            Err(_) => {
                tx.send(Input::End);
                return;
            }
        }
    }
}

/// Writes the history file, creating its directory.
fn save_history(rl: &mut Editor<ScryHelper, FileHistory>) {
    if let Some(path) = history_path() {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = rl.save_history(&path);
    }
}

/// `$XDG_STATE_HOME/scry/history`, by default `~/.local/state/scry/history`.
pub fn history_path() -> Option<PathBuf> {
    let state = match std::env::var_os("XDG_STATE_HOME").filter(|s| !s.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".local/state"),
    };
    Some(state.join("scry/history"))
}

/// Blocks or unblocks SIGINT in the calling thread.
fn set_sigint(how: libc::c_int) {
    // SAFETY: the set is initialised before use; pthread_sigmask only changes this thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(how, &set, std::ptr::null_mut());
    }
}

/// A SIGINT delivered to the editor thread outside `readline` (where rustyline's own handler
/// is not installed) does nothing, instead of ending the process.
fn ignore_sigint() -> Result<(), String> {
    extern "C" fn nothing(_: libc::c_int) {}
    // SAFETY: installs a handler that does nothing (async-signal-safe); the struct is
    // zeroed then filled.
    let rc = unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = nothing as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut())
    };
    match rc {
        0 => Ok(()),
        _ => Err(format!(
            "cannot set up signal handling: {}",
            std::io::Error::last_os_error()
        )),
    }
}

/// The editor thread, seen from the session thread.
struct Terminal {
    screen: Screen,
    /// Dropped to release an editor waiting for its entry to be applied.
    done: Option<mpsc::Sender<()>>,
    /// The editor says it has left (terminal restored, history saved).
    left: mpsc::Receiver<()>,
    quit: Arc<AtomicBool>,
    thread: libc::pthread_t,
    editor: Option<JoinHandle<()>>,
    maps: MapNames,
}

impl Terminal {
    /// Starts the editor thread; returns it and the editor's printer.
    fn start(
        tx: Sender,
        screen: Screen,
        color: bool,
    ) -> Result<(Terminal, impl ExternalPrinter + Send + 'static), String> {
        let (done_tx, done_rx) = mpsc::channel();
        let (left_tx, left_rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let quit = Arc::new(AtomicBool::new(false));
        let maps: MapNames = Arc::default();
        let editor = {
            let (quit, maps) = (quit.clone(), maps.clone());
            std::thread::spawn(move || {
                let mut rl = match start_editor(maps, color) {
                    Ok((rl, printer)) => {
                        // SAFETY: pthread_self has no preconditions.
                        let me = unsafe { libc::pthread_self() };
                        let _ = ready_tx.send(Ok((printer, me)));
                        rl
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                edit(&mut rl, &tx, &done_rx, &quit);
                save_history(&mut rl);
                let _ = left_tx.send(());
            })
        };
        let (printer, thread) = ready_rx
            .recv()
            .map_err(|_| "the line editor did not start".to_string())??;
        let terminal = Terminal {
            screen,
            done: Some(done_tx),
            left: left_rx,
            quit,
            thread,
            editor: Some(editor),
            maps,
        };
        Ok((terminal, printer))
    }
}

impl Front for Terminal {
    fn done(&mut self, engine: &Engine) {
        if let Ok(mut maps) = self.maps.lock() {
            *maps = engine.map_names();
        }
        self.screen.flush();
        if let Some(done) = &self.done {
            let _ = done.send(());
        }
    }

    fn interactive(&self) -> bool {
        true
    }

    fn stop(&mut self) {
        self.quit.store(true, Ordering::SeqCst);
        self.done = None;
        // Until it has left: a SIGINT that arrives just before rustyline installs its
        // handler is lost, so it is sent again.
        while let Err(RecvTimeoutError::Timeout) = self.left.recv_timeout(Duration::from_millis(50))
        {
            // SAFETY: the thread has not said it left, so it is still running.
            unsafe { libc::pthread_kill(self.thread, libc::SIGINT) };
        }
        if let Some(editor) = self.editor.take() {
            let _ = editor.join();
        }
    }
}
