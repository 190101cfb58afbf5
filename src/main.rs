//! scry: the command-line entry point.

#![forbid(unsafe_code)]

mod cli;
mod frontend;
mod include;
mod info;
mod list;
mod pipe;
mod plugins;
mod repl;
mod ring;
mod settings;
mod tools;
mod trace;

use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any thread starts: SIGINT/SIGTERM/SIGUSR1 are read from a signalfd.
    if let Err(e) = scry_runtime::wait::block_signals() {
        scry_runtime::eprintln_lossy!("ERROR: cannot set up signal handling: {e}");
        return ExitCode::FAILURE;
    }
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = tools::dispatch(&argv) {
        return code;
    }
    let cli = cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(msg) => {
            scry_runtime::eprintln_lossy!("ERROR: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: cli::Cli) -> Result<ExitCode, String> {
    let settings = settings::Settings::from_env()?;
    if cli.info {
        info::print()?;
        return Ok(ExitCode::SUCCESS);
    }
    if cli.list {
        list::list(cli.args.first().map(String::as_str), cli.verbose, cli.pid)?;
        return Ok(ExitCode::SUCCESS);
    }
    include::check(&cli.include, &cli.include_dirs)?;
    let mut args = cli.args.clone();
    let (name, src) = match &cli.program {
        Some(p) => ("stdin".to_string(), p.clone()),
        None => {
            if args.is_empty() {
                if cli.dry_run {
                    return Err("no program given: use -e 'PROGRAM' or a file name".into());
                }
                return repl::run(&cli, &settings);
            }
            let file = args.remove(0);
            (file.clone(), read_program(&file)?)
        }
    };
    let source = scry_runtime::host::Source { name, text: src };
    trace::run(source, &cli, &settings, args)
}

fn read_program(file: &str) -> Result<String, String> {
    let bytes = if file == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read the program from standard input: {e}"))?;
        buf
    } else {
        std::fs::read(file).map_err(|e| {
            let reason = e.to_string();
            let reason = reason.split(" (os error").next().unwrap_or_default();
            format!("failed to open file '{file}': {reason}")
        })?
    };
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        format!("program file '{file}' is not valid UTF-8 (first bad byte at offset {at})")
    })
}
