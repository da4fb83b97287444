//! The integration tests, one crate (one binary to link): every command end to end against
//! real tools (auditwheel, patchelf, pip, venvs, the Docker engine, a package index).
//!
//! A test that lacks a tool on this machine follows one rule (`support::skip`): under `CI`
//! or `XTASK_NO_SKIP` it fails; elsewhere it prints one `skipped: ...` line.

// Test helpers are shared by the modules and the benchmarks; not each uses every one.
#![allow(dead_code)]

mod support;

mod ci_files;
mod cli;
mod corpus;
mod deploy_ci;
mod fixtures;
mod fuzz_regressions;
mod hostile;
mod klayout_wheels;
mod layers;
mod miniature;
mod native_repair;
mod policy_files;
mod remote_cache;
mod standin;
mod todays_images;
mod trust;
mod wheels_docker;
mod wheels_host;
