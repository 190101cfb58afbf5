//! The macros of included headers as the lexer sees them: for each name, the constant a use
//! expands to, or why a use is an error (the front end's header reader fills the table).

use std::collections::BTreeMap;

/// What a header macro's name stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderMacro {
    /// A constant: the body the lexer substitutes (tokens one space apart).
    Constant { body: String, header: String },
    /// A use is an error: the sentence that says why, and advice.
    Refused { why: String, hint: &'static str },
}

/// The macros of every header read for one program.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderMacros {
    macros: BTreeMap<String, HeaderMacro>,
}

impl HeaderMacros {
    /// No macros.
    pub const fn new() -> Self {
        HeaderMacros {
            macros: BTreeMap::new(),
        }
    }

    /// What `name` stands for, when a header defines it.
    pub fn get(&self, name: &str) -> Option<&HeaderMacro> {
        self.macros.get(name)
    }

    pub fn is_empty(&self) -> bool {
        self.macros.is_empty()
    }

    /// Keeps only the names `keep` accepts.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.macros.retain(|name, _| keep(name));
    }
}

impl FromIterator<(String, HeaderMacro)> for HeaderMacros {
    fn from_iter<I: IntoIterator<Item = (String, HeaderMacro)>>(iter: I) -> Self {
        HeaderMacros {
            macros: iter.into_iter().collect(),
        }
    }
}
