//! How the REPL shows what went wrong with an entry: ariadne reports at the entry's own text,
//! named `entry N`.

use scry_lang::diag::Diagnostic;
use scry_lang::report::{render_all, RenderOptions};
use scry_runtime::host::{HostError, Source};

use crate::console::Console;
use crate::entry;

/// Renders diagnostics and errors.
#[derive(Clone, Copy, Debug)]
pub struct Reporter {
    /// `--no-warnings`.
    pub no_warnings: bool,
    /// `-v`: the verifier's whole log with a rejection.
    pub verbose: bool,
    /// Colour the reports.
    pub color: bool,
}

impl Reporter {
    /// Warnings about `source` (which wraps `shown` when given).
    pub fn warnings(
        &self,
        console: &Console,
        source: &Source,
        shown: Option<&str>,
        diags: &[Diagnostic],
    ) {
        if !self.no_warnings {
            self.render(console, source, shown, diags);
        }
    }

    /// An error about `source` (which wraps `shown` when given).
    pub fn error(&self, console: &Console, source: &Source, shown: Option<&str>, e: HostError) {
        let parts = e.into_parts();
        if let (true, Some(log)) = (self.verbose, parts.log) {
            console.say(&format!("{log}\n"));
        }
        let shown_diags: Vec<Diagnostic> = parts
            .diagnostics
            .into_iter()
            .filter(|d| d.is_error() || !self.no_warnings)
            .collect();
        self.render(console, source, shown, &shown_diags);
        if let Some(s) = parts.sentence {
            console.say(&format!("ERROR: {s}\n"));
        }
    }

    fn render(
        &self,
        console: &Console,
        source: &Source,
        shown: Option<&str>,
        diags: &[Diagnostic],
    ) {
        if diags.is_empty() {
            return;
        }
        let opts = RenderOptions {
            color: self.color,
            ascii: false,
        };
        let text = match shown {
            Some(text) => {
                let moved: Vec<Diagnostic> = diags
                    .iter()
                    .map(|d| entry::unwrap(d.clone(), text.len()))
                    .collect();
                render_all(&moved, &source.name, text, opts)
            }
            None => render_all(diags, &source.name, &source.text, opts),
        };
        console.say(&text);
    }
}
