//! rustyline helper
