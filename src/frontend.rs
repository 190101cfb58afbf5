//! From program text to a compiled object, with diagnostics rendered on stderr.

use std::io::{IsTerminal, Write};

use scry_ebpf::codegen::CompileOptions;
use scry_ebpf::object::Object;
use scry_lang::check::CheckOptions;
use scry_lang::diag::Diagnostic;
use scry_lang::report::{render_all, RenderOptions};

use crate::cli::Cli;
use crate::settings::Settings;

/// The front end recurses over the program; this much stack makes any input that passed the
/// lexer's nesting limit safe.
const FRONT_END_STACK: usize = 256 << 20;

/// The program text and the name diagnostics give it (`stdin` for `-e`).
pub struct Source {
    pub name: String,
    pub text: String,
}

impl Source {
    /// Prints diagnostics about this source on stderr.
    pub fn report(&self, diags: &[Diagnostic]) {
        let render = RenderOptions {
            color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            ascii: false,
        };
        let text = render_all(diags, &self.name, &self.text, render);
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
}

/// Checks and compiles the program; `None` when it has errors (already reported). With `-d`
/// prints the typed program and the instructions.
pub fn compile(
    source: &Source,
    cli: &Cli,
    settings: &Settings,
    params: Vec<String>,
) -> Result<Option<Object>, String> {
    let check = CheckOptions {
        params: params.clone(),
        pid: cli.pid,
        has_child: cli.command.is_some(),
        child_binary: cli
            .command
            .as_deref()
            .and_then(|c| c.split_whitespace().next())
            .and_then(|prog| crate::child::find_program(prog).ok())
            .map(|p| p.display().to_string()),
        unsafe_mode: cli.unsafe_mode,
        strlen: settings.strlen,
        include_dirs: cli.include_dirs.clone(),
    };
    let codegen = CompileOptions {
        map_keys_max: settings.map_keys_max,
        ringbuf_bytes: settings.ringbuf_bytes(),
        params,
        uprobe_multi: scry_runtime::uprobe_multi::supported(),
    };
    let (dry_run, no_warnings) = (cli.dry_run, cli.no_warnings);
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(FRONT_END_STACK)
            .spawn_scoped(scope, || {
                let catalog = scry_runtime::LiveCatalog::new();
                let compiled = scry_lang::compile(&source.text, &catalog, &check);
                let shown: Vec<_> = compiled
                    .diagnostics
                    .iter()
                    .filter(|d| d.is_error() || !no_warnings)
                    .cloned()
                    .collect();
                source.report(&shown);
                if !compiled.ok() {
                    return None;
                }
                let object =
                    match scry_ebpf::codegen::compile(&compiled.program, &compiled.typed, &codegen)
                    {
                        Ok(o) => o,
                        Err(d) => {
                            source.report(&[d]);
                            return None;
                        }
                    };
                if dry_run {
                    let mut out = scry_lang::dump::dump(&compiled.program, &compiled.typed);
                    for (i, p) in object.programs.iter().enumerate() {
                        out += &format!("\n{} ({} instructions)\n", p.name, p.insns.len());
                        out += &object.disassemble(i, &source.text);
                    }
                    if let Err(e) = crate::pipe::print(&out) {
                        scry_runtime::eprintln_lossy!("ERROR: {e}");
                        return None;
                    }
                }
                Some(object)
            })
            .map_err(|e| format!("cannot start the compiler thread: {e}"))?
            .join()
            .map_err(|_| "internal error in the front end".to_string())
    })
}
