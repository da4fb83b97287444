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

/// The stable-ABI list is abi3info's, as the tools venv pins it.
#[test]
fn the_embedded_stable_abi_is_the_pinned_abi3infos() {
    use xtask::library::abi3::STABLE_ABI_JSON;
    use xtask::processes::tools::ABI3INFO;
    let embedded: serde_json::Value = serde_json::from_str(STABLE_ABI_JSON).unwrap();
    assert_eq!(format!("abi3info=={}", embedded["source"]["version"].as_str().unwrap()), ABI3INFO);
    let script = "import json, abi3info\nprint(json.dumps({s.name: str(o.added) for d in (abi3info.FUNCTIONS, abi3info.DATAS) for s, o in d.items()}))";
    let o = crate::support::python(script, &[]);
    assert!(o.status.success(), "{}", crate::support::text(&o));
    let installed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(embedded["symbols"], installed, "xtask/src/library/stable-abi.json differs from the installed abi3info");
}
