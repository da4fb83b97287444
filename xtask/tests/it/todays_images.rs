//! Today's targets in containers, for real: the current stand-in (Debian's testing release
//! with Debian's CPython 3.13-3.15 and a free-threaded 3.14, the interpreters of the 2026 pypa
//! images) and the arm64 stand-in run under qemu-user emulation. Each image is built once per
//! machine (cached by its inputs); the first run takes minutes (`xtask_dev::standin`).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;
use xtask_dev::standin::{self, Kind, Options};

use crate::support::{list_wheels, report, target, target_dir, text, TempDir, Wheels};

/// The stand-in of `kind`, built once per test process; None (by the one skip rule) when no
/// engine answers.
fn image(kind: Kind) -> Option<String> {
    static IMAGES: Mutex<Option<HashMap<&'static str, String>>> = Mutex::new(None);
    crate::support::docker_engine(&format!("the {} stand-in tests", kind.name()))?;
    let mut images = IMAGES.lock().unwrap_or_else(|e| e.into_inner());
    let images = images.get_or_insert_with(HashMap::new);
    if let Some(r) = images.get(kind.name()) {
        return Some(r.clone());
    }
    let sh = xshell::Shell::new().unwrap();
    let r = standin::ensure_image(&sh, &target_dir(), &Options::of(kind))
        .unwrap_or_else(|e| panic!("cannot build the {} stand-in image: {e:?}", kind.name()));
    images.insert(kind.name(), r.clone());
    Some(r)
}

fn docker(args: &[&str]) -> String {
    let o = Command::new("docker").args(args).output().unwrap();
    assert!(o.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn hits(t: &Value) -> u64 {
    t["cache"]["direct_hits"].as_u64().unwrap() + t["cache"]["preprocessed_hits"].as_u64().unwrap()
}

/// The names of a wheel's entries.
fn entries(whl: &Path) -> Vec<String> {
    let w = xtask::library::wheel::Wheel::open(whl).unwrap();
    w.files().map(|e| e.name.clone()).collect()
}

/// Each stand-in's `/opt/python` is exactly the list its recipe promises, and each entry runs
/// as the interpreter its name says (a free-threaded one with the GIL disabled).
#[test]
fn each_standin_lists_its_own_interpreters() {
    for kind in [Kind::Current, Kind::Arm64] {
        let Some(reference) = image(kind) else { return };
        let listing = docker(&["run", "--rm", &reference, "ls", "/opt/python"]);
        let found: Vec<&str> = listing.split_whitespace().collect();
        let want = Options::of(kind).tags().unwrap();
        assert_eq!(found, want, "{reference} /opt/python");
        for tag in &want {
            let python = format!("/opt/python/{tag}/bin/python");
            let got = docker(&[
                "run",
                "--rm",
                &reference,
                &python,
                "-c",
                "import sys, sysconfig; print('cp%d%d%s' % (sys.version_info[0], sys.version_info[1], \
                 't' if sysconfig.get_config_var('Py_GIL_DISABLED') else ''))",
            ]);
            assert_eq!(got, tag.rsplit('-').next().unwrap(), "{python} in {reference}");
        }
    }
}

/// The miniature in the current stand-in, cp313 + cp314 + cp315 + cp314t from one cold cache:
/// four wheels land and pass check-wheel, their tests pass in fresh venvs in the container,
/// every Python-free unit hits after the first interpreter (ccache's counters, the free-threaded
/// build included), and the free-threaded wheel carries cp314t tags and suffixes.
#[test]
fn current_standin_builds_cp313_to_cp315_and_cp314t_from_one_cold_cache() {
    let Some(reference) = image(Kind::Current) else { return };
    let work = TempDir::new("current-four");
    let out = work.path().join("wheelhouse");
    let json = work.path().join("report.json");
    let w = work.path().join("w");
    let mut args: Vec<&str> = vec!["--image", &reference, "--pull", "never"];
    for sel in ["cp313", "cp314", "cp315", "cp314t"] {
        args.extend(["--python", sel]);
    }
    let (o_str, j_str) = (out.to_str().unwrap().to_string(), json.to_str().unwrap().to_string());
    args.extend(["-o", &o_str, "--json", &j_str]);
    let o = Wheels::docker(&w).args(&args).output();
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let targets = report(&json);
    let order: Vec<&str> = targets.iter().map(|t| t["interpreter"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        ["cp313-cp313", "cp314-cp314", "cp314-cp314t", "cp315-cp315"],
        "the free-threaded build comes after its GIL twin"
    );
    for tag in &order {
        let t = target(&targets, tag);
        assert_eq!(t["result"], "ok", "{t}");
        let log = std::fs::read_to_string(t["log"].as_str().unwrap()).unwrap();
        assert!(log.contains("import_db.py"), "{tag}: the tests ran:\n{log}");
    }
    for tag in ["cp314-cp314", "cp314-cp314t", "cp315-cp315"] {
        let t = target(&targets, tag);
        assert!(hits(t) >= 10, "{tag}: every Python-free unit hits after cp313: {t}");
    }
    assert_eq!(hits(target(&targets, "cp313-cp313")), 0, "the first interpreter starts cold");
    // The free-threaded target's misses are the units that include Python.h (its headers define
    // Py_GIL_DISABLED): no hint calls them a flag problem.
    assert!(!t.lines().any(|l| l.starts_with("hint:") && l.contains("remove_flags")), "{t}");

    let landed = list_wheels(&out);
    assert_eq!(landed.len(), 4, "{landed:?}");
    for whl in &landed {
        let c = crate::support::xtask(&["check-wheel", whl.to_str().unwrap()]);
        assert!(c.status.success(), "{}", text(&c));
    }
    // The native repair against auditwheel in the same image, SBOM included (forky's dpkg
    // knows libbz2 under /usr/lib, so both name its package).
    let built = list_wheels(
        &w.join("runs").join(format!("{}-cp313-cp313", xtask::library::image::slug(&reference))).join("dist"),
    );
    let oracle = crate::support::auditwheel_in_container(&reference, &w, &built[0]);
    let native = landed.iter().find(|p| p.to_string_lossy().contains("-cp313-")).unwrap();
    crate::support::assert_same_repair(native, &oracle);
    assert!(
        crate::support::repair_facts(native).0.sbom.iter().any(|c| c.contains("pkg:deb/debian/libbz2")),
        "the SBOM names libbz2's package"
    );
    let ft: Vec<_> = landed.iter().filter(|p| p.to_string_lossy().contains("-cp314-cp314t-")).collect();
    assert_eq!(ft.len(), 1, "{landed:?}");
    let names = entries(ft[0]);
    assert!(names.iter().any(|n| n.contains(".cpython-314t-x86_64-linux-gnu.so")), "{names:?}");
    assert!(!names.iter().any(|n| n.contains(".cpython-314-x86_64")), "no GIL module in the free-threaded wheel");
    let gil: Vec<_> = landed.iter().filter(|p| p.to_string_lossy().contains("-cp314-cp314-")).collect();
    assert_eq!(gil.len(), 1, "the GIL twin has its own wheel: {landed:?}");
}

/// One aarch64 target in the arm64 stand-in under emulation, with the tiny C package: the
/// image is arm64, `uname -m` inside says aarch64, the wheel is tagged `*_aarch64`, its ELF
/// file is AArch64, check-wheel finds nothing, and its tests pass in the container.
#[test]
fn arm64_standin_builds_an_aarch64_wheel_under_emulation() {
    let Some(reference) = image(Kind::Arm64) else { return };
    assert_eq!(docker(&["image", "inspect", "--format", "{{.Architecture}}", &reference]), "arm64");
    assert_eq!(docker(&["run", "--rm", &reference, "uname", "-m"]), "aarch64");
    let work = TempDir::new("arm64-tinyc");
    let out = work.path().join("wheelhouse");
    let json = work.path().join("report.json");
    let config = crate::support::repo_root().join("testdata/tinyc/wheels.toml");
    let o = Wheels::docker(&work.path().join("w"))
        .config(&config)
        .args(&[
            "--image",
            &reference,
            "--pull",
            "never",
            "--python",
            "cp311",
            "-o",
            out.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ])
        .output();
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("under emulation (qemu-aarch64)"), "the run says it is emulated:\n{t}");
    let targets = report(&json);
    let r = target(&targets, "cp311-cp311");
    assert_eq!(r["result"], "ok", "{r}");
    let log = std::fs::read_to_string(r["log"].as_str().unwrap()).unwrap();
    assert!(log.contains("test_tiny.py"), "the tests ran in the container:\n{log}");
    let landed = list_wheels(&out);
    assert_eq!(landed.len(), 1, "{landed:?}");
    let whl = &landed[0];
    assert!(whl.to_string_lossy().ends_with("_aarch64.whl"), "{}", whl.display());
    let c = crate::support::xtask(&["check-wheel", whl.to_str().unwrap()]);
    assert!(c.status.success(), "{}", text(&c));
    let w = xtask::library::wheel::Wheel::open(whl).unwrap();
    let so: Vec<String> = w.files().map(|e| e.name.clone()).filter(|n| n.ends_with(".so")).collect();
    assert_eq!(so.len(), 1, "{so:?}");
    let bytes = w.read_entry(&so[0]).unwrap();
    // e_machine, bytes 18-19 of a little-endian ELF header: 183 is EM_AARCH64.
    assert_eq!(u16::from_le_bytes([bytes[18], bytes[19]]), 183, "{} is not AArch64", so[0]);
    assert_eq!(xtask::library::elf::parse(&bytes, &so[0]).unwrap().arch, "aarch64");
}
