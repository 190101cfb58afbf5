//! Headers: `#include` in the preamble and `--include FILE` (with `-I DIR`). bpftrace runs
//! clang's preprocessor over them; scry reads only their object-like `#define` constants, so
//! that `EPERM` of `<errno.h>` means what it means in C. The files come through the
//! [`Catalog`] (this crate does no I/O); nested `#include`s are followed, each file once,
//! within [`MAX_DEPTH`] levels and [`MAX_BYTES`] in all. Conditionals are not evaluated (see
//! [`table`] for what that costs), and types and functions are ignored: struct definitions
//! in the program and kernel BTF give the types.

mod constant;
mod directives;
mod table;
mod value;

use std::collections::HashSet;

use crate::ast::Include;
use crate::catalog::Catalog;
use crate::diag::Diagnostic;
use crate::lexer::HeaderMacros;
use crate::span::Span;
use directives::{directives, Directive};
use table::Collected;

/// Deepest chain of nested `#include`s followed.
pub const MAX_DEPTH: usize = 32;
/// Most bytes of header text read for one program.
pub const MAX_BYTES: usize = 16 << 20;

/// Reads the headers `includes` (the preamble's) and `files` (`--include`, read first, as
/// bpftrace includes them before the program) name, searching `dirs` (`-I`). An `#include`
/// that names no file, or a file that is not found, is an error at its span; one that brings
/// no constant a warning (its types are ignored).
pub fn read(
    includes: &[Include],
    files: &[String],
    dirs: &[String],
    catalog: &dyn Catalog,
) -> (HeaderMacros, Vec<Diagnostic>) {
    let mut reader = Reader {
        catalog,
        dirs,
        seen: HashSet::new(),
        bytes: 0,
        incomplete: None,
        collected: Collected::default(),
    };
    let mut diags = Vec::new();
    // Command-line files have no span of their own: diagnostics point at the program's start.
    let requests = files
        .iter()
        .map(|f| (f.as_str(), true, format!("--include {f}"), Span::new(0, 0)))
        .chain(includes.iter().filter_map(|inc| {
            let path = inc.path.as_str();
            let named = match (path.strip_prefix('"'), path.strip_prefix('<')) {
                (Some(q), _) => q.strip_suffix('"').map(|n| (n, true)),
                (_, Some(a)) => a.strip_suffix('>').map(|n| (n, false)),
                _ => None,
            };
            if named.is_none() {
                diags.push(Diagnostic::error(
                    inc.span,
                    "#include expects \"FILENAME\" or <FILENAME>",
                ));
            }
            named.map(|(n, q)| (n, q, format!("#include {path}"), inc.span))
        }))
        .collect::<Vec<_>>();
    for (name, quoted, what, span) in requests {
        let Some(path) = catalog.find_header(name, quoted, Some("."), dirs) else {
            let flag = if what.starts_with("--") {
                " (--include)"
            } else {
                ""
            };
            diags.push(
                Diagnostic::error(span, format!("'{name}' file not found{flag}")).with_hint(
                    "#include searches -I directories, /usr/include and the kernel's headers (quoted names the current directory first)",
                ),
            );
            continue;
        };
        let before = reader.collected.constants();
        let new = !reader.seen.contains(&path);
        let complete = reader.incomplete.is_none();
        reader.file(&path, 0);
        if let (true, Some(why)) = (complete, &reader.incomplete) {
            diags.push(Diagnostic::warning(span, format!("{what}: {why}")).with_hint(
                "every macro of the headers is an error where used: the definitions not read could change it",
            ));
        } else if complete && new && reader.collected.constants() == before {
            diags.push(
                Diagnostic::warning(span, format!("{what}: no #define constants read"))
                    .with_hint("scry reads only the #define constants of headers: struct definitions in the program and kernel BTF give the types"),
            );
        }
    }
    let incomplete = reader.incomplete.clone();
    (reader.collected.finish(incomplete.as_deref()), diags)
}

/// The walk over the headers of one program.
struct Reader<'a> {
    catalog: &'a dyn Catalog,
    dirs: &'a [String],
    /// Files read (by the path the catalog found), so each is read once.
    seen: HashSet<String>,
    bytes: usize,
    /// Why the walk stopped before reading every header it should have.
    incomplete: Option<String>,
    collected: Collected,
}

impl Reader<'_> {
    /// Reads the header at `path` and, depth first, the headers it includes. A nested header
    /// that is not found is skipped: a conditional the preprocessor did not take may name it.
    fn file(&mut self, path: &str, depth: usize) {
        if self.incomplete.is_some() || !self.seen.insert(path.to_string()) {
            return;
        }
        if depth > MAX_DEPTH {
            self.incomplete = Some(format!(
                "the headers were not all read (#include nests more than {MAX_DEPTH} levels deep at {path})"
            ));
            return;
        }
        let text = match self.catalog.read_header(path, MAX_BYTES - self.bytes) {
            Ok(text) => text,
            Err(e) => {
                self.incomplete = Some(format!(
                    "the headers were not all read ({e}; scry reads at most {} MiB of headers for a program)",
                    MAX_BYTES >> 20
                ));
                return;
            }
        };
        self.bytes += text.len();
        let dir = path.rsplit_once('/').map_or(".", |(d, _)| d);
        for d in directives(&text) {
            match d {
                Directive::Define { name, params, body } => {
                    self.collected.define(&name, params.as_deref(), &body, path)
                }
                Directive::Include { name, quoted } => {
                    let from = if dir.is_empty() { "/" } else { dir };
                    if let Some(found) =
                        self.catalog
                            .find_header(&name, quoted, Some(from), self.dirs)
                    {
                        self.file(&found, depth + 1);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::MemoryCatalog;
    use crate::lexer::HeaderMacro;

    #[test]
    fn bounds_refuse_every_macro() {
        let mut c = MemoryCatalog::new();
        for i in 0..=MAX_DEPTH + 1 {
            c.add_header_text(
                &format!("/inc/h{i}.h"),
                &format!("#define H{i} {i}\n#include <h{}.h>\n", i + 1),
            );
        }
        let include = Include {
            path: "<h0.h>".into(),
            span: Span::new(0, 15),
        };
        let (macros, diags) = read(&[include], &[], &["/inc".into()], &c);
        assert!(
            diags[0].message.contains("more than 32 levels"),
            "{diags:?}"
        );
        assert!(matches!(
            macros.get("H0"),
            Some(HeaderMacro::Refused { .. })
        ));
    }
}
