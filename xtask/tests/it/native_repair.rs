//! `cargo xtask repair`, the native repair, against the real `auditwheel repair` as the
//! oracle, on the minik fixtures (see fixtures.rs): the same grafts (names with their hashes),
//! the same NEEDED/SONAME/RPATH in every ELF file, the same tags, `auditwheel show` saying the
//! same, a size within 2 %, and the wheel importing in a fresh venv. Then the inputs it must
//! refuse, each named.

use std::path::Path;
use std::process::Command;

use crate::fixtures::{minik, repaired, IMPORT_PY};
use crate::support::{assert_same_repair, bytes, install_and_run, list_wheels, text, tools, xtask, TempDir};

/// `cargo xtask repair <whl> -w <dir> <args>`; the one wheel it wrote.
fn native(whl: &Path, dir: &Path, args: &[&str]) -> std::path::PathBuf {
    let mut a = vec!["repair", whl.to_str().unwrap(), "-w", dir.to_str().unwrap()];
    a.extend(args);
    let o = xtask(&a);
    assert!(o.status.success(), "cargo xtask repair failed:\n{}", text(&o));
    let w = list_wheels(dir);
    assert_eq!(w.len(), 1, "{w:?}");
    w[0].clone()
}

#[test]
fn native_repair_equals_auditwheels_and_imports() {
    let Some(m) = minik("native_repair_equals_auditwheels_and_imports") else {
        return;
    };
    let dir = TempDir::new("native-repair");
    let out = native(&m.linux, &dir.path().join("a"), &[]);
    assert!(
        crate::support::repair_facts(&out).0.files.iter().any(|f| f.starts_with("minik.libs/libbz2-")),
        "libbz2 must be grafted"
    );
    assert_same_repair(&out, repaired(m));
    let o = install_and_run(&m.python, &out, &dir.path().join("venv"), IMPORT_PY);
    assert!(o.status.success(), "the natively repaired wheel does not import:\n{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "1 42 42", "{}", text(&o));
    // check-wheel finds it healthy, and the input is untouched.
    let c = xtask(&["check-wheel", out.to_str().unwrap()]);
    assert!(c.status.success(), "{}", text(&c));

    // Reproducible: the same input gives the same bytes.
    let again = native(&m.linux, &dir.path().join("b"), &[]);
    assert!(bytes(&out) == bytes(&again), "two repairs of one wheel differ");
}

#[test]
fn native_repair_to_a_requested_platform_equals_auditwheels() {
    let Some(m) = minik("native_repair_to_a_requested_platform_equals_auditwheels") else {
        return;
    };
    let dir = TempDir::new("native-plat");
    for (i, args) in [vec!["--plat", "manylinux_2_17_x86_64"], vec!["--exclude", "libbz2.so.1.0"]].iter().enumerate() {
        let n = native(&m.linux, &dir.path().join(format!("n{i}")), args);
        let o = crate::support::auditwheel_repair(&m.linux, &dir.path().join(format!("o{i}")), args);
        assert_same_repair(&n, &o);
    }
    // --plat from the environment, as auditwheel's AUDITWHEEL_PLAT.
    let o = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["repair", m.linux.to_str().unwrap(), "-w"])
        .arg(dir.path().join("env"))
        .env("AUDITWHEEL_PLAT", "manylinux_2_17_x86_64")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let name = list_wheels(&dir.path().join("env"))[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.contains("manylinux_2_17_x86_64") && name.contains("manylinux2014_x86_64"), "{name}");
}

#[test]
fn native_repair_runs_without_python() {
    let Some(m) = minik("native_repair_runs_without_python") else {
        return;
    };
    // PATH holds patchelf and nothing else: no python, no auditwheel.
    let dir = TempDir::new("native-nopython");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(&tools().patchelf, bin.join("patchelf")).unwrap();
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["repair", m.linux.to_str().unwrap(), "-w", out.to_str().unwrap()])
        .env("PATH", &bin)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_same_repair(&list_wheels(&out)[0], repaired(m));
}

#[test]
fn native_repair_refuses_what_it_cannot_repair() {
    let Some(m) = minik("native_repair_refuses_what_it_cannot_repair") else {
        return;
    };
    let dir = TempDir::new("native-refuse");
    let out = dir.path().join("out");
    let fails = |args: &[&str], says: &[&str]| {
        let mut a = vec!["repair"];
        a.extend(args);
        a.extend(["-w", out.to_str().unwrap()]);
        let o = xtask(&a);
        assert_eq!(o.status.code(), Some(2), "{args:?}:\n{}", text(&o));
        for s in says {
            assert!(text(&o).contains(s), "{args:?} must say {s:?}:\n{}", text(&o));
        }
    };
    // lib_tl needs libgraft.so.1, which no folder of this system has (auditwheel fails too).
    fails(&[m.old_unpatched.to_str().unwrap()], &["libgraft.so.1", "found nowhere", "lib_tl"]);
    fails(&[m.linux.to_str().unwrap(), "--plat", "manylinux_9_99_x86_64"], &["manylinux_9_99_x86_64"]);
    fails(&[m.linux.to_str().unwrap(), "--plat", "manylinux_2_17_aarch64"], &["x86_64", "manylinux_2_17_aarch64"]);
    fails(&[m.linux.to_str().unwrap(), "--plat", "musllinux_1_2_x86_64"], &["musllinux_1_2_x86_64"]);
    // Too recent for the requested tag: the pidfd library needs GLIBC_2.36 or so.
    fails(&[m.glibc.to_str().unwrap(), "--plat", "manylinux_2_17_x86_64"], &["manylinux_2_17_x86_64", "GLIBC"]);
    fails(&[m.linux.to_str().unwrap(), "--exclude", "["], &["exclude", "not a glob"]);
    let not_a_wheel = dir.path().join("x.whl");
    std::fs::write(&not_a_wheel, b"PK\x03\x04 not a zip").unwrap();
    fails(&[not_a_wheel.to_str().unwrap()], &["x.whl"]);
    assert!(!out.exists() || list_wheels(&out).is_empty(), "nothing written for refused input");
    // A wheel folder that is a file: named, and the file stays as it was.
    let file = dir.path().join("afile");
    std::fs::write(&file, b"mine").unwrap();
    let o = xtask(&["repair", m.linux.to_str().unwrap(), "-w", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("cannot create the wheel folder"), "{}", text(&o));
    assert_eq!(std::fs::read(&file).unwrap(), b"mine");
}

/// A wheel is hostile: an RPATH to /etc and a NEEDED `passwd` must not get /etc/passwd (no
/// library) grafted into the output; the repair refuses, naming the need, and writes nothing.
#[test]
fn a_wheel_cannot_make_the_repair_graft_what_is_no_library() {
    let Some(m) = minik("a_wheel_cannot_make_the_repair_graft_what_is_no_library") else {
        return;
    };
    let dir = TempDir::new("native-hostile");
    let tree = dir.path().join("tree");
    let o = Command::new(&tools().python).args(["-m", "zipfile", "-e"]).arg(&m.linux).arg(&tree).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let lib = std::fs::read_dir(tree.join("minik"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("lib_tl"))
        .unwrap();
    let o = Command::new(&tools().patchelf)
        .args(["--add-needed", "passwd", "--set-rpath", "/etc"])
        .arg(&lib)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let hostile = crate::support::pack_wheel(&tree, &dir.path().join("in"));
    let out = dir.path().join("out");
    let o = xtask(&["repair", hostile.to_str().unwrap(), "-w", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("passwd") && text(&o).contains("found nowhere"), "{}", text(&o));
    assert!(!out.exists() || list_wheels(&out).is_empty(), "nothing written");
}
