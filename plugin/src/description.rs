//! The run description plugins get (`scry_init`) and the printf formats added after it
//! (`scry_formats`, ABI 1.2), in the layouts of docs/plugins.md.
//!
//! A printf format keeps its number for the whole run: numbers are given in action order as
//! the formats first appear (all at once for a script; entry after entry in the REPL, where a
//! detached entry's numbers are not given again), so a `sink args` plugin told about a format
//! once can read every record of it later.

use std::collections::BTreeMap;

use scry_ebpf::object::{ActionKind, Object};
use scry_lang::format::{Conv, Length, Piece};
use scry_lang::plugin::PluginType;
use scry_lang::types::Type;

use crate::layout::Writer;
use crate::records::map_kind;

/// The printf formats numbered so far.
#[derive(Debug, Default)]
pub struct Formats {
    /// By printf action id: its format number and argument types.
    pub numbers: BTreeMap<usize, (u32, Vec<PluginType>)>,
    /// By number: the format's text and argument types.
    list: Vec<(String, Vec<PluginType>)>,
}

impl Formats {
    /// Numbers the printf actions of `object` not seen yet (in action order); the layout of
    /// the formats added (`u32 formats, format * formats`), `None` when there are none.
    pub fn learn(&mut self, object: &Object) -> Option<Vec<u8>> {
        let first = self.list.len();
        for (id, a) in object.actions.iter() {
            let ActionKind::Printf(pieces) = &a.kind else {
                continue;
            };
            if self.numbers.contains_key(&id) {
                continue;
            }
            let types: Vec<PluginType> = a
                .args
                .iter()
                .map(|f| match &f.ty {
                    Type::Int { signed: true, .. } => PluginType::I64,
                    Type::Int { .. } | Type::Pointer { .. } => PluginType::U64,
                    _ => PluginType::Str,
                })
                .collect();
            self.numbers
                .insert(id, (self.list.len() as u32, types.clone()));
            self.list.push((format_text(pieces), types));
        }
        (self.list.len() > first).then(|| {
            let mut w = Writer::default();
            self.write(&mut w, first);
            w.buf
        })
    }

    /// `u32 formats, (str format, u32 args, u8 type * args) * formats`: the formats from
    /// number `first` on.
    fn write(&self, w: &mut Writer, first: usize) {
        let formats = &self.list[first..];
        w.u32(formats.len() as u32);
        for (text, types) in formats {
            w.str(text.as_bytes());
            w.u32(types.len() as u32);
            for t in types {
                w.u8(match t {
                    PluginType::I64 => 0,
                    PluginType::U64 => 1,
                    PluginType::Str => 2,
                });
            }
        }
    }

    /// The run description (`scry_init`): every format numbered so far, then the maps of
    /// `object` with their kinds (the kernel maps, then the reducer maps in the order of their
    /// numbers).
    pub fn run_description(&self, object: &Object) -> Vec<u8> {
        let mut w = Writer::default();
        self.write(&mut w, 0);
        w.u32((object.user_maps.len() + object.reducer_maps.len()) as u32);
        for m in &object.user_maps {
            w.str(m.name.as_bytes());
            w.u8(map_kind(&m.value));
        }
        for r in &object.reducer_maps {
            w.str(r.name.as_bytes());
            w.u8(4);
        }
        w.buf
    }
}

/// A parsed printf format written back as text (`%%` for a literal `%`).
fn format_text(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Literal(t) => out.push_str(&t.replace('%', "%%")),
            Piece::Spec(s) => {
                out.push('%');
                for (on, c) in [
                    (s.left_align, '-'),
                    (s.zero_pad, '0'),
                    (s.plus, '+'),
                    (s.space, ' '),
                    (s.alternate, '#'),
                ] {
                    if on {
                        out.push(c);
                    }
                }
                if let Some(w) = s.width {
                    out.push_str(&w.to_string());
                }
                if let Some(p) = s.precision {
                    out.push_str(&format!(".{p}"));
                }
                out.push_str(match s.length {
                    Length::Int => "",
                    Length::Char => "hh",
                    Length::Short => "h",
                    Length::Long => "l",
                });
                out.push_str(match s.conv {
                    Conv::Str => "s",
                    Conv::Char => "c",
                    Conv::Signed => "d",
                    Conv::Unsigned => "u",
                    Conv::Octal => "o",
                    Conv::Hex => "x",
                    Conv::HexUpper => "X",
                    Conv::Pointer => "p",
                    Conv::Raw => "r",
                    Conv::RawHex => "rx",
                    Conv::RawHexSpaced => "rh",
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip() {
        for f in ["a %d b %-5s %08.3lx 100%% %rh\n", "%u%c%p"] {
            let pieces = scry_lang::format::parse(f).unwrap();
            assert_eq!(format_text(&pieces), f);
        }
    }
}
