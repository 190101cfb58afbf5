//! What the CLI tells the host, and how it shows what the host says about a source.

use std::io::{IsTerminal, Write};

use scry_ebpf::codegen::CompileOptions;
use scry_ebpf::object::Object;
use scry_lang::check::CheckOptions;
use scry_lang::diag::Diagnostic;
use scry_lang::report::{render_all, RenderOptions};
use scry_runtime::attach::AttachOptions;
use scry_runtime::host::{Checked, HostError, HostOptions, Source};
use scry_runtime::load::LoadOptions;
use scry_runtime::records::ActionOptions;
use scry_runtime::session::SessionOptions;

use crate::cli::Cli;
use crate::ring;
use crate::settings::Settings;

/// The host's options from the command line and the environment.
pub fn host_options(cli: &Cli, settings: &Settings, params: Vec<String>) -> HostOptions {
    let check = CheckOptions {
        params: params.clone(),
        pid: cli.pid,
        has_child: cli.command.is_some(),
        child_binary: cli
            .command
            .as_deref()
            .and_then(|c| c.split_whitespace().next())
            .and_then(|prog| scry_runtime::child::find_program(prog).ok())
            .map(|p| p.display().to_string()),
        unsafe_mode: cli.unsafe_mode,
        strlen: settings.strlen,
        include_dirs: cli.include_dirs.clone(),
        include_files: cli.include.clone(),
    };
    let compile = CompileOptions {
        map_keys_max: settings.map_keys_max,
        // The REPL cannot know what its entries will send; a one-shot program is sized once
        // checked (`ring::size`).
        ringbuf_bytes: ring::bytes(settings, ring::Traffic::PerEvent),
        params,
        uprobe_multi: scry_runtime::uprobe_multi::supported(),
        helper_errors: cli.helper_errors,
    };
    let session = SessionOptions {
        load: LoadOptions {
            log_level: if cli.verbose { 1 } else { 0 },
            log_size: settings.log_size,
        },
        attach: AttachOptions {
            pid: cli.pid,
            cpid: None,
        },
        actions: ActionOptions {
            cat_bytes_max: settings.cat_bytes_max,
            clear_stacks: false,
        },
        cpid: None,
        watch_pid: cli.pid,
        quiet: cli.quiet,
        notify_attached: settings.notify_attached,
        verbose: cli.verbose,
        print_while_detaching: false,
        settle_after_exit: true,
    };
    HostOptions {
        check,
        compile,
        session,
        command: cli.command.clone(),
        max_probes: settings.max_probes,
    }
}

/// Prints diagnostics about `source` on stderr (warnings only without `--no-warnings`).
pub fn report(source: &Source, diags: &[Diagnostic], no_warnings: bool) {
    let shown: Vec<Diagnostic> = diags
        .iter()
        .filter(|d| d.is_error() || !no_warnings)
        .cloned()
        .collect();
    let render = RenderOptions {
        color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        ascii: false,
    };
    let text = render_all(&shown, &source.name, &source.text, render);
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Shows a host error: diagnostics at the source (and the verifier log with `-v`); returns
/// the closing sentence to print as `ERROR:`, if any.
pub fn show_error(source: &Source, e: HostError, cli: &Cli) -> Option<String> {
    let parts = e.into_parts();
    if let (true, Some(log)) = (cli.verbose, parts.log) {
        scry_runtime::eprintln_lossy!("{log}");
    }
    report(source, &parts.diagnostics, cli.no_warnings);
    parts.sentence
}

/// `-d`: the typed program and every program's instructions, with the source lines (a closed
/// output pipe ends scry quietly).
pub fn dump(source: &Source, checked: &Checked, object: &Object) -> Result<(), String> {
    let mut out = scry_lang::dump::dump(&checked.program, &checked.typed);
    let object = checked.preview(object);
    for i in checked.programs.clone() {
        let p = &object.programs[i];
        out += &format!("\n{} ({} instructions)\n", p.name, p.insns.len());
        out += &object.disassemble(i, &source.text);
    }
    crate::pipe::print(&out)
}
