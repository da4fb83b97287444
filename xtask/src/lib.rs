//! The wheels xtask as a library: `main.rs` parses the command line and calls one command;
//! the integration tests under `xtask/tests/` call the library directly and run the binary.
//!
//! Three floors, and the imports obey them (a test in `tests/it/layers.rs` reads the sources
//! and fails when they do not):
//!
//! | floor | modules | may use |
//! |---|---|---|
//! | commands | [`wheels`], [`fix_wheel`], [`repair`], [`check_wheel`], [`deploy`], [`ci`] (and [`flags`], the command line) | library, processes |
//! | processes | [`processes`]: the runner (host or container), logs, heartbeat, interrupts, docker, interpreters, the compile cache, the tools venv | library |
//! | library | [`library`]: the wheel model, ELF facts, the loader graph, policies, the analysis pass, the repair plan, the report, the config | itself |
//!
//! No command names another command: what two commands share lives in the library. Library
//! modules neither print nor exit the process; they return values and errors. The stand-in
//! images the docker tests run in are dev-only: they live in the `xtask-dev` crate
//! (`xtask/dev/`), which the product never names.

pub mod flags;

// The commands, one floor.
pub mod check_wheel;
pub mod ci;
pub mod deploy;
pub mod fix_wheel;
pub mod repair;
pub mod wheels;

// Beneath them.
pub mod library;
pub mod processes;
