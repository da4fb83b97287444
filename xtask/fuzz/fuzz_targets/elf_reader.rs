//! Any bytes through the ELF reader: an error is fine, a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The name gives the module name whose PyInit_ the reader looks for.
    let _ = xtask::library::elf::parse(data, "pkg/mod.cpython-311-x86_64-linux-gnu.so");
});
