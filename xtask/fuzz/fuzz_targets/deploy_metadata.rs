//! Any bytes as a wheel's METADATA, through what `deploy` makes of it before the version becomes
//! a folder name: the header block, PEP 508 and PEP 440 validation. An error is fine; a panic,
//! or a version that is accepted but is no plain path component, is a bug.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use xtask::library::metadata;
use xtask::library::wheel::WheelName;

fn name() -> &'static WheelName {
    static N: OnceLock<WheelName> = OnceLock::new();
    N.get_or_init(|| WheelName::parse("fuzz-1.0-py3-none-any.whl").expect("the fixed name is valid"))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(version) = metadata::checked_version(name(), data) {
        assert!(!version.is_empty() && version != "." && version != "..");
        assert!(version.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '!' | '+')), "{version:?}");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = metadata::field(text, "Version");
        if let Ok(v) = xtask::library::names::check_version("v", text) {
            assert!(!v.contains('/'), "{v:?}");
        }
        let _ = xtask::library::names::check_name("n", text);
        let _ = WheelName::parse(text);
    }
});
