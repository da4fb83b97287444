//! The real KLayout wheels from PyPI (facts.md section 2), end to end:
//!
//! - 0.30.12 cp311 (auditwheel 6.x): fix-wheel leaves it byte-identical; check-wheel finds it
//!   healthy with the tag `auditwheel show` gives (manylinux_2_27_x86_64).
//! - 0.30.2 manylinux2014: healthy with its own tag.
//! - 0.26.12 cp37m manylinux1 (built in 2019 with the author's patched auditwheel): analysed
//!   without error.
//! - 0.30.12 rearranged into the old auditwheel (< 3.2) layout: it does not import; fix-wheel
//!   repairs it; the result passes check-wheel, `wheel unpack`, and imports in a fresh venv,
//!   where it writes a GDS file and reads it back (which needs the db_plugins).
//!
//! The wheels are downloaded once into target/test-cache/pypi/, the old-layout copy is built
//! once into target/test-cache/old-layout/ (see crate::support::old_layout_wheel).

use std::path::{Path, PathBuf};

use serde_json::Value;
use xshell::{cmd, Shell};

use crate::support::{
    bytes, copy_to, install_and_run, klayout_wheel, old_layout_wheel, pypi_wheel, python311, text, tools, xtask,
    TempDir,
};

/// The tag KLayout 0.30.12 cp311 earns: libgssapi_krb5 (grafted) needs GLIBC_2.27.
const TAG_0_30_12: &str = "manylinux_2_27_x86_64";
/// The tag KLayout 0.30.2 manylinux2014 earns.
const TAG_0_30_2: &str = "manylinux_2_17_x86_64";

/// The smoke test a fixed wheel must pass: the three pymod modules import, and a layout
/// written as GDS reads back (the GDS reader and writer live in db_plugins/, which lib_db
/// loads from its own folder: this fails when the plugins are not beside it).
const SMOKE_PY: &str = "import os, sys
import klayout.db as db
import klayout.tl as tl
import klayout.rdb as rdb
p = os.path.join(sys.argv[1], 'smoke.gds')
ly = db.Layout()
t = ly.create_cell('TOP')
l = ly.layer(1, 0)
t.shapes(l).insert(db.Box(0, 0, 100, 100))
ly.write(p)
ly2 = db.Layout()
ly2.read(p)
assert ly2.top_cell().name == 'TOP', ly2.top_cell().name
assert ly2.top_cell().shapes(ly2.layer(1, 0)).size() == 1
assert rdb.ReportDatabase('smoke').create_category('cat').name() == 'cat'
assert tl.Timer is not None
print('klayout', db.__file__, 'ok')
";

fn wheel_0_30_2() -> PathBuf {
    pypi_wheel("klayout==0.30.2", "3.11", "manylinux2014_x86_64", None)
}

fn wheel_0_26_12() -> PathBuf {
    pypi_wheel("klayout==0.26.12", "3.7", "manylinux1_x86_64", Some("cp37m"))
}

/// `check-wheel --json` on one wheel: the exit code and the wheel's report.
fn check_json(whl: &Path) -> (Option<i32>, Value) {
    let (code, doc) = crate::support::check_json(&[whl]);
    (code, doc["wheels"][0].clone())
}

#[test]
fn klayout_0_30_12_is_left_byte_identical() {
    let dir = TempDir::new("kl-30-12-fix");
    let whl = copy_to(&klayout_wheel(), dir.path());
    let before = bytes(&whl);
    let o = xtask(&["fix-wheel", whl.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("nothing to fix"), "{}", text(&o));
    assert!(bytes(&whl) == before, "fix-wheel changed a healthy wheel");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "no stray files: {names:?}");
    // --check agrees: nothing would be applied.
    let o = xtask(&["fix-wheel", "--check", whl.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn klayout_0_30_12_is_healthy_with_auditwheels_tag() {
    let whl = klayout_wheel();
    let o = xtask(&["check-wheel", whl.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("healthy"), "{}", text(&o));
    let (code, report) = check_json(&whl);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["overall_tag"], TAG_0_30_12, "{report:#}");
    assert_eq!(report["pure"], false);
    assert!(report["problems"].as_array().unwrap().is_empty(), "{report:#}");

    // The independent answer (45-75 s on this machine: done once, here).
    let sh = Shell::new().unwrap();
    let auditwheel = &tools().auditwheel;
    let shown = cmd!(sh, "{auditwheel} show --json {whl}").quiet().read().unwrap();
    let shown: Value = serde_json::from_str(&shown).unwrap_or_else(|e| panic!("auditwheel show --json: {e}:\n{shown}"));
    let theirs = shown["overall_policy"]["name"].as_str().or_else(|| shown["overall_tag"].as_str());
    assert_eq!(theirs, Some(TAG_0_30_12), "auditwheel show says:\n{shown:#}");
    assert_eq!(report["overall_tag"].as_str(), theirs);
}

#[test]
fn klayout_0_30_2_manylinux2014_is_healthy_with_its_tag() {
    let whl = wheel_0_30_2();
    assert!(whl.to_string_lossy().contains("manylinux2014_x86_64"), "{}", whl.display());
    let (code, report) = check_json(&whl);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["verdict"], "healthy", "{report:#}");
    assert_eq!(report["overall_tag"], TAG_0_30_2, "{report:#}");
    let claimed: Vec<&str> = report["claimed_tags"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(claimed.contains(&TAG_0_30_2) && claimed.contains(&"manylinux2014_x86_64"), "{claimed:?}");
}

#[test]
fn klayout_0_26_12_cp37m_manylinux1_is_analysed() {
    let whl = wheel_0_26_12();
    let (code, report) = check_json(&whl);
    assert!(matches!(code, Some(0) | Some(1)), "exit {code:?} (2 means unusable):\n{report:#}");
    assert!(report.get("error").is_none(), "{report:#}");
    assert_ne!(report["verdict"], "unusable", "{report:#}");
    assert!(report["overall_tag"].as_str().is_some_and(|t| t.starts_with("manylinux_")), "{report:#}");
    eprintln!(
        "klayout 0.26.12 cp37m: exit {code:?}, verdict {}, overall_tag {}, problems {}, limited_by {}",
        report["verdict"], report["overall_tag"], report["problems"], report["limited_by"]
    );
}

#[test]
fn klayout_old_layout_does_not_import_and_fix_wheel_repairs_it() {
    let Some(py311) = python311("klayout_old_layout_does_not_import_and_fix_wheel_repairs_it") else { return };
    let old = old_layout_wheel(&klayout_wheel());
    let dir = TempDir::new("kl-old-layout");

    // The old layout is broken, and check-wheel says where: the extension modules look in
    // klayout/.libs, and the lib_* they need are beside them.
    let o = xtask(&["check-wheel", old.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("dbcore.cpython-311-x86_64-linux-gnu.so needs lib_db.cpython-311-x86_64-linux-gnu.so")
            && t.contains("klayout/.libs"),
        "check-wheel must name the misplaced libs:\n{t}"
    );
    // ... and their one cause, with the command that repairs it.
    let fix = format!("  fix: `cargo xtask fix-wheel {}` moves ", old.display());
    assert!(t.contains(&fix) && t.contains("entries into klayout/.libs/"), "no fix line:\n{t}");

    // ... and pip installs it, but it does not import.
    let o = install_and_run(&py311, &old, &dir.path().join("broken"), SMOKE_PY);
    assert!(!o.status.success(), "the old layout must not import:\n{}", text(&o));
    assert!(text(&o).contains("cannot open shared object file"), "{}", text(&o));

    // --check and --dry-run see the fix and change nothing.
    let whl = copy_to(&old, dir.path());
    let before = bytes(&whl);
    let o = xtask(&["fix-wheel", "--check", whl.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = xtask(&["fix-wheel", "--dry-run", whl.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(
            "move klayout/db_plugins/lib_gds2_dbpi.cpython-311-x86_64-linux-gnu.so -> klayout/.libs/db_plugins/lib_gds2_dbpi.cpython-311-x86_64-linux-gnu.so"
        ),
        "{}",
        text(&o)
    );
    assert!(bytes(&whl) == before, "--check / --dry-run changed the wheel");

    // The fix, in place.
    let o = xtask(&["fix-wheel", whl.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(bytes(&whl) != before, "fix-wheel did not change the wheel");
    let names: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).filter(|n| n != "broken").collect();
    assert_eq!(names.len(), 1, "no stray files: {names:?}");

    // Healthy now, with the same tag, and RECORD verifies independently.
    let (code, report) = check_json(&whl);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["overall_tag"], TAG_0_30_12, "{report:#}");
    let sh = Shell::new().unwrap();
    let python = &tools().python;
    let unpacked = dir.path().join("unpacked");
    cmd!(sh, "{python} -m wheel unpack {whl} -d {unpacked}").quiet().ignore_stdout().run().unwrap();
    let pkg = std::fs::read_dir(&unpacked).unwrap().next().unwrap().unwrap().path();
    assert!(pkg.join("klayout/.libs/lib_db.cpython-311-x86_64-linux-gnu.so").is_file());
    assert!(pkg.join("klayout/.libs/db_plugins/lib_gds2_dbpi.cpython-311-x86_64-linux-gnu.so").is_file());
    assert!(!pkg.join("klayout/db_plugins").exists());
    std::fs::remove_dir_all(&unpacked).unwrap();

    // A second run is a no-op.
    let fixed = bytes(&whl);
    let o = xtask(&["fix-wheel", whl.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("nothing to fix"), "{}", text(&o));
    assert!(bytes(&whl) == fixed, "the second fix-wheel changed the wheel");

    // It imports in a fresh venv and reads back the GDS file it wrote.
    let o = install_and_run(&py311, &whl, &dir.path().join("fixed"), SMOKE_PY);
    assert!(o.status.success(), "the fixed wheel must import and read GDS:\n{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("ok"), "{}", text(&o));
}

/// fix-wheel killed (SIGKILL) at random moments while it writes KLayout's 27 MB wheel: the
/// wheel is always the old one or the fixed one, never half of either, and the next run in
/// that folder removes the temporary files the killed runs left.
#[test]
fn fix_wheel_killed_at_random_leaves_whole_wheels_and_no_leftovers_after_the_next_run() {
    let old = old_layout_wheel(&klayout_wheel());
    let dir = TempDir::new("kl-kill");
    let whl = copy_to(&old, dir.path());
    let before = bytes(&whl);
    // How long one run takes here, to spread the kills over it.
    let start = std::time::Instant::now();
    let o = xtask(&["fix-wheel", "-o", dir.path().join("probe").to_str().unwrap(), whl.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let fixed = bytes(&crate::support::list_wheels(&dir.path().join("probe"))[0]);
    let span = start.elapsed();
    let mut seed = 0x2545_f491_4f6c_dd1du64 ^ u64::from(std::process::id());
    let mut left = 0;
    for _ in 0..8 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let at = span.mul_f64((seed % 1000) as f64 / 1000.0);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["fix-wheel", whl.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        let _ = child.kill();
        let _ = child.wait();
        let now = bytes(&whl);
        assert!(
            now == before || now == fixed,
            "after a kill at {at:?} the wheel is neither the old one nor the fixed one"
        );
        left += std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(".xtask-tmp-"))
            .count();
        // Put the old layout back for the next round.
        std::fs::write(&whl, &before).unwrap();
    }
    eprintln!("{left} temporary files left by 8 killed runs");
    let o = xtask(&["fix-wheel", whl.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".xtask-tmp-"))
        .collect();
    assert!(names.is_empty(), "leftovers after the next run: {names:?}");
}

/// A full disk (a 4 MiB tmpfs, mounted by the test as root): fix-wheel fails with the
/// write's error, leaves nothing in the folder, and the zip writer prints nothing of its own.
#[test]
fn a_full_disk_is_a_clear_error_and_leaves_nothing() {
    let old = old_layout_wheel(&klayout_wheel());
    let dir = TempDir::new("kl-full");
    let small = dir.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted =
        std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"]).arg(&small).output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        let why = mounted.map(|o| text(&o)).unwrap_or_else(|e| e.to_string());
        let Some(()) = crate::support::skip(
            "a_full_disk_is_a_clear_error_and_leaves_nothing",
            &format!("cannot mount a tmpfs (needs root): {why}"),
        ) else {
            return;
        };
    }
    let o = xtask(&["fix-wheel", "-o", small.to_str().unwrap(), old.to_str().unwrap()]);
    let listing: Vec<_> = std::fs::read_dir(&small).unwrap().map(|e| e.unwrap().file_name()).collect();
    let _ = std::process::Command::new("umount").arg(&small).status();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("No space left on device"), "{}", text(&o));
    assert!(!text(&o).contains("ZipWriter"), "{}", text(&o));
    assert!(listing.is_empty(), "left on the full disk: {listing:?}");
}
