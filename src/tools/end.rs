//! How a tool ends when it does not end normally, and what each way prints and returns.

use std::process::ExitCode;

/// A tool's early end.
#[derive(Debug)]
pub enum End {
    /// `-h`/`--help` was printed: exit status 0.
    Help,
    /// A usage error (argparse's): the usage line and `PROG: error: MESSAGE` on stderr,
    /// exit status 2.
    Usage {
        /// The tool's name.
        prog: String,
        /// The usage line, without `usage: `.
        usage: String,
        /// What was wrong.
        message: String,
    },
    /// A runtime error in the tool's words (a bad probe, nothing matched, an attach failure):
    /// the message on stderr, exit status 1.
    Error(String),
    /// The problem was already shown (diagnostics): exit status 1.
    Shown,
}

impl End {
    /// Prints what this end prints and returns its exit status.
    pub fn report(self) -> ExitCode {
        match self {
            End::Help => ExitCode::SUCCESS,
            End::Usage {
                prog,
                usage,
                message,
            } => {
                scry_runtime::eprintln_lossy!("usage: {usage}\n{prog}: error: {message}");
                ExitCode::from(2)
            }
            End::Error(message) => {
                scry_runtime::eprintln_lossy!("{message}");
                ExitCode::FAILURE
            }
            End::Shown => ExitCode::FAILURE,
        }
    }
}

impl From<String> for End {
    fn from(message: String) -> Self {
        End::Error(message)
    }
}
