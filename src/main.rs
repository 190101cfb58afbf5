//! scry: the command-line entry point.

mod cli;

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::Parser;
use scry_lang::check::CheckOptions;
use scry_lang::report::{render_all, RenderOptions};

/// The front end recurses over the program; this much stack makes any input that passed the
/// lexer's nesting limit safe.
const FRONT_END_STACK: usize = 256 << 20;

/// Default and maximum of BPFTRACE_STRLEN.
const STRLEN_DEFAULT: usize = 64;
const STRLEN_MAX: usize = 200;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("ERROR: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: cli::Cli) -> Result<ExitCode, String> {
    let mut args = cli.args.clone();
    let (name, src) = match &cli.program {
        Some(p) => ("stdin".to_string(), p.clone()),
        None => {
            if args.is_empty() {
                return Err(
                    "no program given: use -e 'PROGRAM' or a file name (the REPL comes later)"
                        .into(),
                );
            }
            let file = args.remove(0);
            (file.clone(), read_program(&file)?)
        }
    };
    let opts = CheckOptions {
        params: args,
        pid: cli.pid,
        has_child: cli.command.is_some(),
        unsafe_mode: cli.unsafe_mode,
        strlen: strlen_from_env()?,
    };
    let dry_run = cli.dry_run;
    let params = opts.params.clone();
    let no_warnings = cli.no_warnings;
    let worker = std::thread::Builder::new()
        .stack_size(FRONT_END_STACK)
        .spawn(move || {
            let catalog = scry_runtime::LiveCatalog::new();
            let compiled = scry_lang::compile(&src, &catalog, &opts);
            let render = RenderOptions {
                color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
                ascii: false,
            };
            let shown: Vec<_> = compiled
                .diagnostics
                .iter()
                .filter(|d| d.is_error() || !no_warnings)
                .cloned()
                .collect();
            eprint!("{}", render_all(&shown, &name, &src, render));
            if !compiled.ok() {
                return ExitCode::FAILURE;
            }
            if dry_run {
                print!("{}", scry_lang::dump::dump(&compiled.program, &compiled.typed));
                let opts = scry_ebpf::codegen::CompileOptions {
                    params: params.clone(),
                    ..Default::default()
                };
                match scry_ebpf::codegen::compile(&compiled.program, &compiled.typed, &opts) {
                    Ok(obj) => {
                        for (i, p) in obj.programs.iter().enumerate() {
                            println!("\n{} ({} instructions)", p.name, p.insns.len());
                            print!("{}", obj.disassemble(i, &src));
                        }
                    }
                    Err(d) => {
                        eprint!("{}", render_all(&[d], &name, &src, render));
                        return ExitCode::FAILURE;
                    }
                }
                return ExitCode::SUCCESS;
            }
            eprintln!("ERROR: running programs is not built yet; scry -d checks a program without running it");
            ExitCode::FAILURE
        })
        .map_err(|e| format!("cannot start the compiler thread: {e}"))?;
    worker
        .join()
        .map_err(|_| "internal error in the front end".to_string())
}

fn read_program(file: &str) -> Result<String, String> {
    let bytes = if file == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read the program from standard input: {e}"))?;
        buf
    } else {
        std::fs::read(file).map_err(|e| format!("cannot read program file '{file}': {e}"))?
    };
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        format!("program file '{file}' is not valid UTF-8 (first bad byte at offset {at})")
    })
}

fn strlen_from_env() -> Result<usize, String> {
    let Ok(v) = std::env::var("BPFTRACE_STRLEN") else {
        return Ok(STRLEN_DEFAULT);
    };
    let n: usize = v
        .trim()
        .parse()
        .map_err(|_| format!("BPFTRACE_STRLEN must be a number of bytes, not '{v}'"))?;
    if n > STRLEN_MAX {
        return Err(format!(
            "'BPFTRACE_STRLEN' {n} exceeds the current maximum of {STRLEN_MAX} bytes."
        ));
    }
    Ok(n.max(1))
}
