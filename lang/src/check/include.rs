//! `#include`: scry reads no headers (struct definitions in the program and kernel BTF give
//! the types), so a header that exists is ignored with a warning; one that does not is an
//! error, as the C preprocessor makes it.

use crate::ast::Include;
use crate::catalog::Catalog;
use crate::diag::Diagnostic;

/// Checks each `#include` of the preamble; `dirs` are the `-I` directories.
pub(super) fn check(
    includes: &[Include],
    catalog: &dyn Catalog,
    dirs: &[String],
    diags: &mut Vec<Diagnostic>,
) {
    for inc in includes {
        let path = inc.path.as_str();
        let header = match (path.strip_prefix('"'), path.strip_prefix('<')) {
            (Some(q), _) => q.strip_suffix('"').map(|n| (n, true)),
            (_, Some(a)) => a.strip_suffix('>').map(|n| (n, false)),
            _ => None,
        };
        let d = match header {
            None => Diagnostic::error(inc.span, "#include expects \"FILENAME\" or <FILENAME>"),
            Some((name, quoted)) if !catalog.header_exists(name, quoted, dirs) => {
                Diagnostic::error(inc.span, format!("'{name}' file not found")).with_hint(
                    "#include searches -I directories, /usr/include and the kernel's headers (quoted names the current directory first)",
                )
            }
            Some(_) => Diagnostic::warning(inc.span, format!("#include {path} ignored"))
                .with_hint("scry needs no headers: struct definitions in the program and kernel BTF give the types"),
        };
        diags.push(d);
    }
}
