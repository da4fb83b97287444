//! Everything that starts a process or waits for one: where a command runs (the host or a
//! container) and how (its log, heartbeat and Ctrl-C), the docker engine, the interpreters a
//! runner has, the compile cache, and the tools venv.
//!
//! - [`runner`]: host or container; runs a command into a log with a heartbeat, stops its
//!   process group on Ctrl-C
//! - [`interrupt`]: the Ctrl-C handler and the flag every loop checks
//! - [`log`]: a target's log file, and CI log folding
//! - [`output`]: standard output for data, quiet on a closed pipe
//! - [`docker`]: the engine check, pulls with retries, one long-lived container per image
//! - [`interpreters`]: the interpreters a runner has, each asked for its tag; `--python` selection
//! - [`compile_cache`]: ccache behind the compiler wrapper that makes it hit across interpreters
//! - [`repair`]: the native repair carried out: graft plan, patchelf on copies, tags, writing
//! - [`sysfs`]: the build system's files for the repair (host, or a container through one
//!   long-lived shell), and which package each grafted library came from
//! - [`tools`]: the tools venv, and the one table of tool pins

pub mod compile_cache;
pub mod docker;
pub mod index;
pub mod interpreters;
pub mod interrupt;
pub mod log;
pub mod output;
pub mod repair;
pub mod runner;
pub mod sysfs;
pub mod tools;
