//! Symbolization of the addresses programs record.

pub mod kernel;
pub mod user;
