//! `scry completions bash|zsh|fish|elvish|powershell` and `scry manpages DIR`, generated from
//! the clap definitions of scry and of its tools (as `scry TOOL` and under their own names).

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use clap::{Command, CommandFactory};
use clap_complete::Shell;

/// scry's command with the tools as subcommands.
fn tree() -> Command {
    crate::cli::Cli::command()
        .args_conflicts_with_subcommands(true)
        .disable_help_subcommand(true)
        .subcommands(tools())
}

fn tools() -> [Command; 4] {
    [
        super::funccount::command(),
        super::stackcount::command(),
        super::trace::command(),
        super::argdist::command(),
    ]
}

/// Prints the completion script of `SHELL` for scry and for each tool's own name.
pub fn completions(args: &[OsString]) -> ExitCode {
    let shell = match args {
        [name] => name.to_str().and_then(|n| n.parse::<Shell>().ok()),
        _ => None,
    };
    let Some(shell) = shell else {
        scry_runtime::eprintln_lossy!("usage: scry completions bash|zsh|fish|elvish|powershell");
        return ExitCode::from(2);
    };
    let mut out = std::io::stdout();
    clap_complete::generate(shell, &mut tree(), "scry", &mut out);
    for mut tool in tools() {
        let name = tool.get_name().to_string();
        clap_complete::generate(shell, &mut tool, name, &mut out);
    }
    ExitCode::SUCCESS
}

/// Writes `scry.1` and one page per tool (`scry-funccount.1`, ...) into DIR.
pub fn manpages(args: &[OsString]) -> ExitCode {
    let [dir] = args else {
        scry_runtime::eprintln_lossy!("usage: scry manpages DIR");
        return ExitCode::from(2);
    };
    let dir = Path::new(dir);
    let written = std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(tree(), dir));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            scry_runtime::eprintln_lossy!(
                "ERROR: cannot write the manual pages to {}: {e}",
                dir.display()
            );
            ExitCode::FAILURE
        }
    }
}
