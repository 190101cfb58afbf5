//! scry-lang: the scry language front end. Source text becomes a typed, checked program, and
//! every problem becomes a [`Diagnostic`] anchored at the source. This crate does no I/O of its
//! own: what it needs to know about the live system comes through the [`catalog::Catalog`] trait.

#![forbid(unsafe_code)]

pub mod arch;
pub mod ast;
pub mod attach;
pub mod catalog;
pub mod cdefs;
pub mod check;
pub mod diag;
pub mod dump;
pub mod format;
pub mod functions;
pub mod glob;
pub mod headers;
pub mod int;
pub mod lexer;
pub mod parser;
pub mod plugin;
pub mod probe;
pub mod report;
pub mod span;
pub mod suggest;
pub mod token;
pub mod tracepoint_format;
pub mod types;
pub mod usdt;

pub use diag::{Diagnostic, Severity};
pub use parser::{parse, parse_with};
pub use span::Span;

/// A program taken through the whole front end.
pub struct Compiled {
    pub program: ast::Program,
    pub typed: check::TypedProgram,
    /// Every error and warning, parse and check alike.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    /// Whether the program can go on to code generation.
    pub fn ok(&self) -> bool {
        !diag::has_errors(&self.diagnostics)
    }
}

/// Parses and checks a program. Syntax errors stop before checking (all of them are reported).
pub fn compile(src: &str, catalog: &dyn catalog::Catalog, opts: &check::CheckOptions) -> Compiled {
    compile_in(src, catalog, opts, &check::Environment::default())
}

/// Parses and checks a program against what earlier sources of a session fixed.
pub fn compile_in(
    src: &str,
    catalog: &dyn catalog::Catalog,
    opts: &check::CheckOptions,
    env: &check::Environment,
) -> Compiled {
    let (mut program, mut diagnostics) = parse(src);
    if !program.preamble.includes.is_empty() || !opts.include_files.is_empty() {
        let (mut macros, mut read) = headers::read(
            &program.preamble.includes,
            &opts.include_files,
            &opts.include_dirs,
            catalog,
        );
        // Builtins and functions are never a header's macro, as in bpftrace (its lexer
        // matches them before identifiers).
        macros.retain(|name| {
            check::builtin_type(name).is_none() && functions::builtin(name).is_none()
        });
        if !macros.is_empty() {
            (program, diagnostics) = parser::parse_with(src, &macros);
        }
        diagnostics.append(&mut read);
    }
    if diag::has_errors(&diagnostics) {
        return Compiled {
            program,
            typed: check::TypedProgram::default(),
            diagnostics,
        };
    }
    let (typed, mut more) = check::check_in(&program, catalog, opts, env);
    diagnostics.append(&mut more);
    Compiled {
        program,
        typed,
        diagnostics,
    }
}
