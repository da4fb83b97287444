//! The wheels xtask as a library: the binary (`main.rs`) dispatches to these modules, and the
//! integration tests under `xtask/tests/` call them directly.

pub mod policy;
pub mod tools;
