//! The wheel library: pure code over a wheel's bytes and the config. Nothing here starts a
//! process, prints or exits; every command computes what it needs once per wheel here and
//! passes it on.
//!
//! - [`wheel`]: a wheel opened and checked (names, RECORD, WHEEL), one parallel pass over
//!   its entries, and writing (raw copy, atomic replace)
//! - [`elf`]: the facts of one ELF file
//! - [`analysis`]: that one pass: every entry inflated once, hashed, read as ELF
//! - [`loader`]: the ld.so simulation over the installed tree
//! - [`policy`]: manylinux/musllinux policies (auditwheel's JSON, embedded) and the tag earned
//! - [`graft`]: the native repair's plan (auditwheel's): which system libraries go into the
//!   wheel and how each ELF file is patched, from a simulation of the build system's loader
//! - [`plan`]: the repair plan (the 2018 old-layout move), decided from the loader graph
//! - [`report`]: check-wheel's verdict on an analysed wheel, each finding with its level
//! - [`pypi`]: what PyPI's upload checks would refuse (its platform tags kept as data)
//! - [`abi3`]: the stable ABI an abi3 wheel's extensions may use (kept as data)
//! - [`config`]: the project config, `xtask/wheels.toml`
//! - [`image`]: docker image references (validated before they reach a command line)
//! - [`text`]: names and paths from input, made safe to print
//! - [`metadata`]: the name and version of a wheel's METADATA, validated
//! - [`names`]: distribution names (PEP 508/503) and versions (PEP 440), validated

pub mod abi3;
pub mod analysis;
pub mod config;
pub mod elf;
pub mod graft;
pub mod image;
pub mod loader;
pub mod metadata;
pub mod names;
pub mod packages;
pub mod plan;
pub mod policy;
pub mod pypi;
pub mod report;
pub mod simple_index;
pub mod text;
pub mod wheel;
pub mod workflows;
