//! The policies check-wheel judges by are auditwheel's own policy files, embedded: they must
//! be exactly the files of the auditwheel the tools venv pins.

use xshell::Shell;
use xtask::library::policy::{AUDITWHEEL_VERSION, MANYLINUX_JSON, MUSLLINUX_JSON};
use xtask::processes::tools::{AUDITWHEEL, TOOL_REQUIREMENTS};

use crate::support::tools;

#[test]
fn the_embedded_policies_are_the_pinned_auditwheels_files() {
    assert_eq!(AUDITWHEEL, format!("auditwheel=={AUDITWHEEL_VERSION}"), "the pin and the embedded files' release");
    assert!(TOOL_REQUIREMENTS.contains(&AUDITWHEEL));
    let sh = Shell::new().unwrap();
    let dir = tools().auditwheel_policy_dir(&sh).unwrap();
    for (file, embedded) in [("manylinux-policy.json", MANYLINUX_JSON), ("musllinux-policy.json", MUSLLINUX_JSON)] {
        let installed = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(
            installed == embedded,
            "xtask/src/library/policy/{file} differs from {}: copy the installed file over it",
            dir.join(file).display()
        );
    }
}
