//! `scry_guest`: the guest side of the scry plugin ABI 1.2 for Rust (docs/plugins.md).
//!
//! A plugin is a type implementing [`Plugin`] and one [`plugin!`] line that exports the hooks
//! it implements; this crate reads the data layouts ([`read`]), writes results ([`Writer`]),
//! wraps the `scry` imports ([`host`]) and turns an `Err` or a panic into `scry.error`.
//!
//! The crate is `no_std` (with `alloc`) and is the plugin's allocator ([`Heap`]). Plugins are
//! built with Debian's rustc and its `wasm32-unknown-unknown` std, whose panic machinery
//! imports nothing, so a plugin's only imports are the `scry` functions it calls. Text and
//! numbers written with [`Writer`] (`text`, `dec`, `udec`) need no `core::fmt`, which keeps a
//! plugin small (scry compiles it at its first load in time that grows with its size):
//!
//! ```text
//! rustc --edition 2021 --target wasm32-unknown-unknown -O -C panic=abort \
//!   --crate-type rlib --crate-name scry_guest plugins/guest/src/lib.rs -o out/libscry_guest.rlib
//! rustc --edition 2021 --target wasm32-unknown-unknown -O -C panic=abort \
//!   --crate-type cdylib -L out --extern scry_guest=out/libscry_guest.rlib my.rs -o my.wasm
//! ```
#![no_std]

extern crate alloc;

pub mod glue;
mod heap;
pub mod host;
pub mod read;
mod states;
mod write;

pub use read::{Bucket, Entry, Kind, Map, Reader, Record, Run, Tagged, Type, Updates, Value};
pub use heap::Heap;
pub use states::States;
pub use write::Writer;

use alloc::string::String;

/// Every allocation of a plugin built with this crate: [`Heap`], much smaller than std's.
#[global_allocator]
static HEAP: Heap = Heap;

/// A hook's failure: the message scry reports as `plugin NAME: HOOK ITEM failed: MESSAGE`.
#[derive(Debug)]
pub struct Error(pub String);

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Error(message.into())
    }
}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Error(message)
    }
}

impl From<core::fmt::Error> for Error {
    fn from(_: core::fmt::Error) -> Self {
        Error("formatting failed".into())
    }
}

/// The result of a hook.
pub type Result<T = ()> = core::result::Result<T, Error>;

/// A plugin: its descriptor and the hooks it implements. Hooks not listed in [`plugin!`] are
/// not exported; their default bodies are never called.
pub trait Plugin: Default + 'static {
    /// The descriptor after its `abi 1.2` line: `"reducer quantiles(i64) weighted\n"`.
    const DESCRIPTOR: &'static str;

    /// `scry_init`: the run description (the program's printf formats and maps).
    fn init(&mut self, _run: &Run) -> Result {
        Ok(())
    }

    /// `scry_formats` (ABI 1.2): printf formats a later REPL entry added, `run.formats[first..]`
    /// (already in the run `sink` reads records with).
    fn formats(&mut self, _run: &Run, _first: usize) -> Result {
        Ok(())
    }

    /// `scry_call`: `count` calls of function `item`; write `count` results to `out`.
    fn call(&mut self, _item: u32, _args: &mut Reader, _count: u32, _out: &mut Writer) -> Result {
        Err("no functions".into())
    }

    /// `scry_reduce`: fold `updates` (key number, value, weight) into map `map`.
    fn reduce(&mut self, _item: u32, _map: u32, _updates: Updates) -> Result {
        Err("no reducers".into())
    }

    /// `scry_render`: one key's value as text, or as one JSON value when `json`.
    fn render(&mut self, _item: u32, _map: u32, _key: u32, _json: bool, _out: &mut Writer) -> Result {
        Err("no reducers".into())
    }

    /// `scry_reset`: forget (`keep` false: `delete`, `clear`) or empty (`keep` true: `zero`)
    /// one key's state, or every key's when `key` is `None`.
    fn reset(&mut self, _item: u32, _map: u32, _key: Option<u32>, _keep: bool) -> Result {
        Err("no reducers".into())
    }

    /// `scry_format`: the text printed in place of `map`.
    fn format(&mut self, _item: u32, _map: &Map, _out: &mut Writer) -> Result {
        Err("no formatters".into())
    }

    /// `scry_sink`: one batch of output records.
    fn sink(&mut self, _records: &[Record]) -> Result {
        Err("no sink".into())
    }

    /// `scry_finish`: after the last records of the run.
    fn finish(&mut self) -> Result {
        Ok(())
    }
}

/// Exports a plugin: `scry_guest::plugin!(Quantiles: reduce, render, reset);`.
///
/// Always exports `scry_plugin` (the descriptor; it also installs a panic hook that reports
/// the panic through `scry.error` before the module traps) and `scry_alloc`; then one export
/// per hook named: `init`, `formats`, `call`, `reduce`, `render`, `reset`, `format`, `sink`,
/// `finish`.
/// The plugin value is created with `Default` at the first hook.
#[macro_export]
macro_rules! plugin {
    ($ty:ty $(: $($hook:ident),* $(,)?)?) => {
        static mut SCRY_PLUGIN: Option<$ty> = None;

        fn scry_state() -> &'static mut $ty {
            // Safety: a wasm instance runs one hook at a time, on one thread.
            unsafe { SCRY_PLUGIN.get_or_insert_with(Default::default) }
        }

        #[no_mangle]
        pub extern "C" fn scry_plugin() -> i64 {
            ::std::panic::set_hook(::std::boxed::Box::new(|info| $crate::glue::panicked(info)));
            $crate::glue::descriptor::<$ty>()
        }

        #[no_mangle]
        pub extern "C" fn scry_alloc(size: i32) -> i32 {
            $crate::glue::alloc(size)
        }

        $($($crate::__scry_hook!($hook);)*)?
    };
}

/// One hook export of [`plugin!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __scry_hook {
    (init) => {
        #[no_mangle]
        pub extern "C" fn scry_init(ptr: i32, len: i32) -> i32 {
            $crate::glue::init(scry_state(), ptr, len)
        }
    };
    (formats) => {
        #[no_mangle]
        pub extern "C" fn scry_formats(ptr: i32, len: i32) -> i32 {
            $crate::glue::formats(scry_state(), ptr, len)
        }
    };
    (call) => {
        #[no_mangle]
        pub extern "C" fn scry_call(item: i32, ptr: i32, len: i32, count: i32) -> i64 {
            $crate::glue::call(scry_state(), item, ptr, len, count)
        }
    };
    (reduce) => {
        #[no_mangle]
        pub extern "C" fn scry_reduce(item: i32, map: i32, ptr: i32, len: i32, count: i32) -> i32 {
            $crate::glue::reduce(scry_state(), item, map, ptr, len, count)
        }
    };
    (render) => {
        #[no_mangle]
        pub extern "C" fn scry_render(item: i32, map: i32, key: i32, format: i32) -> i64 {
            $crate::glue::render(scry_state(), item, map, key, format)
        }
    };
    (reset) => {
        #[no_mangle]
        pub extern "C" fn scry_reset(item: i32, map: i32, key: i32, mode: i32) -> i32 {
            $crate::glue::reset(scry_state(), item, map, key, mode)
        }
    };
    (format) => {
        #[no_mangle]
        pub extern "C" fn scry_format(item: i32, ptr: i32, len: i32) -> i64 {
            $crate::glue::format(scry_state(), item, ptr, len)
        }
    };
    (sink) => {
        #[no_mangle]
        pub extern "C" fn scry_sink(ptr: i32, len: i32, count: i32) -> i32 {
            $crate::glue::sink(scry_state(), ptr, len, count)
        }
    };
    (finish) => {
        #[no_mangle]
        pub extern "C" fn scry_finish() -> i32 {
            $crate::glue::finish(scry_state())
        }
    };
}
