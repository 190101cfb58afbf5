//! trace's and argdist's `-I header`: BCC compiles C with the headers named; scry reads kernel
//! types from BTF, so system headers (`-I net/sock.h`) need nothing, and a local header (a
//! path starting with `.` or `/`) is put before the program, where its struct definitions
//! and `#define` constants become the program's (scry's preamble). Include guards, other
//! `#include`s and conditionals are left out (BCC's preprocessor would have applied them).

/// The preamble the `-I` options give.
pub fn preamble(includes: &[String]) -> Result<String, String> {
    let mut text = String::new();
    for header in includes.iter().filter(|h| h.starts_with(['.', '/'])) {
        let body = std::fs::read_to_string(header)
            .map_err(|e| format!("cannot read header {header}: {e}"))?;
        for line in body.lines().filter(|l| kept(l)) {
            text.push_str(line);
            text.push('\n');
        }
    }
    Ok(text)
}

/// Whether a header line goes into the preamble: anything but preprocessor lines, and
/// `#define NAME VALUE` (not a bare `#define GUARD`).
fn kept(line: &str) -> bool {
    let Some(directive) = line.trim_start().strip_prefix('#') else {
        return true;
    };
    let mut words = directive.split_whitespace();
    words.next() == Some("define") && words.nth(1).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_headers_only() {
        let dir = std::env::temp_dir().join(format!("scry-headers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let h = dir.join("point.h");
        std::fs::write(
            &h,
            "#ifndef P_H\n#define P_H\n#include <x.h>\n#define N 4\nstruct point { int x; int y; };\n#endif",
        )
        .unwrap();
        let local = h.display().to_string();
        assert_eq!(
            preamble(&["net/sock.h".into(), local.clone()]).unwrap(),
            "#define N 4\nstruct point { int x; int y; };\n"
        );
        assert!(preamble(&["./no/such.h".into()])
            .unwrap_err()
            .starts_with("cannot read header ./no/such.h: "));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
