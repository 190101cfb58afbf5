//! What the checker knows about WebAssembly plugins: the items each declares (pure data, read
//! from the plugin's descriptor by the plugin host; this crate never loads a plugin).

use std::fmt;

/// A value type crossing the plugin boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PluginType {
    I64,
    U64,
    Str,
}

impl PluginType {
    /// The descriptor's spelling (`i64`, `u64`, `str`).
    pub fn as_str(self) -> &'static str {
        match self {
            PluginType::I64 => "i64",
            PluginType::U64 => "u64",
            PluginType::Str => "str",
        }
    }
}

impl fmt::Display for PluginType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one descriptor line declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemKind {
    /// `fn NAME(TYPE, ...) -> TYPE`.
    Function {
        params: Vec<PluginType>,
        ret: PluginType,
    },
    /// `reducer NAME(TYPE) [weighted [rounded BITS]]`: folds values of this type per map key,
    /// one at a time or (ABI 1.1) counted in the kernel and sent with their weight.
    Reducer(PluginType, Folding),
    /// `formatter NAME(KIND)`: renders maps of this kind (`hist`, `lhist`, `scalar`, `stats`,
    /// `any`).
    Formatter(String),
}

/// How a reducer takes its values (docs/plugins.md, "Weighted reducers").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Folding {
    /// One update per event (ABI 1.0).
    PerEvent,
    /// `weighted`: the fold does not depend on the order of the values, so the kernel may
    /// count equal values and send each once with its count (`value` seen `weight` times).
    Weighted,
    /// `weighted rounded BITS`: as `Weighted`, and a value may arrive rounded toward zero to
    /// its `BITS` most significant bits (its log-linear bucket), except that each key's
    /// smallest and largest values arrive exact.
    Rounded(u8),
}

impl fmt::Display for Folding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Folding::PerEvent => Ok(()),
            Folding::Weighted => f.write_str(" weighted"),
            Folding::Rounded(bits) => write!(f, " weighted rounded {bits}"),
        }
    }
}

/// One item of a plugin; its index in [`PluginSignature::items`] is the ABI's `item`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub name: String,
    pub kind: ItemKind,
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ItemKind::Function { params, ret } => {
                let params: Vec<&str> = params.iter().map(|p| p.as_str()).collect();
                write!(f, "fn {}({}) -> {ret}", self.name, params.join(", "))
            }
            ItemKind::Reducer(t, folding) => write!(f, "reducer {}({t}){folding}", self.name),
            ItemKind::Formatter(k) => write!(f, "formatter {}({k})", self.name),
        }
    }
}

/// How a plugin's sink receives output records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkMode {
    /// `sink lines`: printf/time/cat/system/join output as formatted text.
    Lines,
    /// `sink args`: printf as its format id and arguments.
    Args,
}

/// Everything a plugin declares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginSignature {
    /// `fn`, `reducer` and `formatter` lines, in descriptor order.
    pub items: Vec<Item>,
    /// The `sink` line, if any.
    pub sink: Option<SinkMode>,
}

impl PluginSignature {
    /// The item called `name`, with its index.
    pub fn item(&self, name: &str) -> Option<(u32, &Item)> {
        self.items
            .iter()
            .enumerate()
            .find(|(_, i)| i.name == name)
            .map(|(n, i)| (n as u32, i))
    }
}
