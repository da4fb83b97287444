//! The wheels xtask as a library: the binary (`main.rs`) dispatches to these modules, and the
//! integration tests under `xtask/tests/` call them directly.

pub mod analysis;
pub mod check_wheel;
pub mod ci;
pub mod config;
pub mod deploy;
pub mod elf;
pub mod fix_wheel;
pub mod loader;
pub mod policy;
pub mod standin;
pub mod tools;
pub mod wheel;
pub mod wheels;
