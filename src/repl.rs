//! `scry` with no program: the REPL (`scry-repl`), with the command line's options.

use std::process::ExitCode;

use scry_repl::Options;
use scry_stdlib::sink::Format;

use crate::cli::{Cli, OutputFormat};
use crate::settings::Settings;
use crate::{frontend, list, plugins, trace};

/// Runs the REPL until the session ends.
pub fn run(cli: &Cli, settings: &Settings) -> Result<ExitCode, String> {
    let opts = Options {
        host: frontend::host_options(cli, settings, Vec::new()),
        format: match cli.format {
            OutputFormat::Text => Format::Text,
            OutputFormat::Json => Format::Json,
        },
        output: match cli.output {
            Some(_) => Some(trace::output(cli)?),
            None => None,
        },
        no_warnings: cli.no_warnings,
        verbose: cli.verbose,
        list: list::listing,
        pid: cli.pid,
        plugins: Some(Box::new(plugins::Session::new(cli)?)),
    };
    scry_repl::run(opts)?;
    Ok(ExitCode::SUCCESS)
}
