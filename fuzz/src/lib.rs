//! scry-fuzz's library: the random generator and the minimiser of the front-end fuzzer
//! (`src/main.rs`), a process runner with a time limit, and the differential fuzzer of integer
//! semantics (`diff`), which the fuzzer runs with `--differential` and the test suite runs for
//! a bounded number of programs.

pub mod diff;
pub mod minimise;
pub mod process;
pub mod rng;
