//! Folded stacks, the input of flame graphs (flamegraph.pl, inferno): one line per stack,
//! frames from the root to the leaf joined by `;`, then a space and the count (which the
//! caller appends).

use crate::value::Frame;

/// A piece of a folded line.
#[derive(Clone, Copy, Debug)]
pub enum Part<'a> {
    /// A name of its own (a process name, a `-` between kernel and user frames).
    Name(&'a str),
    /// A stack as kept, innermost frame first (it is written root first).
    Stack(&'a [Frame]),
}

/// The frames of `parts` joined by `;` (without the count). A `;` inside a name would split a
/// frame in two, so it becomes `:`; a frame without a symbol is `[unknown]`.
pub fn fold(parts: &[Part]) -> String {
    let mut line = String::new();
    let mut first = true;
    let mut push = |name: &str| {
        if !first {
            line.push(';');
        }
        first = false;
        if name.contains(';') {
            line.extend(name.chars().map(|c| if c == ';' { ':' } else { c }));
        } else {
            line.push_str(name);
        }
    };
    for part in parts {
        match part {
            Part::Name(n) => push(n),
            Part::Stack(frames) => frames
                .iter()
                .rev()
                .for_each(|f| push(f.symbol.as_deref().unwrap_or("[unknown]"))),
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(symbol: Option<&str>) -> Frame {
        Frame {
            addr: 0x1000,
            symbol: symbol.map(Into::into),
            offset: 4,
            module: None,
        }
    }

    #[test]
    fn root_first_with_names() {
        let user = [frame(Some("leaf;x")), frame(None), frame(Some("main"))];
        let kernel = [frame(Some("__schedule")), frame(Some("schedule"))];
        assert_eq!(
            fold(&[
                Part::Name("java"),
                Part::Stack(&user),
                Part::Name("-"),
                Part::Stack(&kernel)
            ]),
            "java;main;[unknown];leaf:x;-;schedule;__schedule"
        );
        // An empty process name keeps its place: the line starts with `;`.
        assert_eq!(
            fold(&[Part::Name(""), Part::Stack(&kernel)]),
            ";schedule;__schedule"
        );
    }
}
