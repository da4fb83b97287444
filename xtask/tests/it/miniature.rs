//! The miniature in testdata/ (the testdata issue's acceptance): on every interpreter from 3.8
//! up it builds, auditwheel grafts libbz2 into `minilayout.libs/`, the repaired wheel passes
//! the pymod tests in a fresh venv, its lib_tl loads libbz2 from the wheel (ldd), and the
//! plugin test really depends on `db_plugins/` sitting beside lib_db.

use std::path::Path;
use std::process::Command;

use crate::support::{list_wheels, repo_root, text, TempDir, Wheels};
use serde_json::Value;

#[test]
fn every_interpreter_from_3_8_builds_repairs_and_passes() {
    let work = TempDir::new("miniature");
    let out = work.path().join("wheelhouse");
    let json = work.path().join("report.json");
    let w = work.path().join("w");
    // The config's skip list follows the 2026 images (3.10 and up); the miniature builds from
    // 3.8, so the older two are named.
    let o = Wheels::host(&w)
        .args(&["--python", "cp3{8,9,10,11,12,13}", "-o", out.to_str().unwrap(), "--json", json.to_str().unwrap()])
        .output();
    assert!(o.status.success(), "{}", text(&o));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let targets = doc["targets"].as_array().unwrap();
    let tags: Vec<&str> = targets.iter().map(|t| t["interpreter"].as_str().unwrap()).collect();
    for minor in 8..=13 {
        let tag = format!("cp3{minor}-cp3{minor}");
        assert!(tags.contains(&tag.as_str()), "{tag} was built: {tags:?}");
    }
    assert_eq!(list_wheels(&out).len(), targets.len());

    // Every interpreter after the first hit the cache for all Python-free units (10 of 13).
    for t in &targets[1..] {
        let c = &t["cache"];
        let hits = c["direct_hits"].as_u64().unwrap() + c["preprocessed_hits"].as_u64().unwrap();
        assert!(hits >= 10, "{}: {c}", t["interpreter"]);
    }

    // The pipeline's test venv of the last target holds the installed wheel.
    let last = targets.last().unwrap()["target"].as_str().unwrap();
    let site = glob_one(&w.join("runs").join(last).join("testenv/lib"), "site-packages");
    let pkg = site.join("minilayout");
    let lib_tl = std::fs::read_dir(&pkg)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("lib_tl."))
        .unwrap();
    let ldd = Command::new("ldd").arg(&lib_tl).output().unwrap();
    let ldd = String::from_utf8_lossy(&ldd.stdout).into_owned();
    let bz2 = ldd.lines().find(|l| l.contains("libbz2")).unwrap_or_else(|| panic!("no libbz2 in ldd:\n{ldd}"));
    assert!(bz2.contains("minilayout.libs/libbz2-"), "libbz2 comes from the wheel: {bz2}");

    // Without db_plugins beside lib_db, import_db.py fails; with it back, it passes.
    let python = site.ancestors().nth(3).unwrap().join("bin/python");
    let run_db = || {
        Command::new(&python)
            .arg(repo_root().join("testdata/pymod/import_db.py"))
            .current_dir(work.path())
            .output()
            .unwrap()
    };
    assert!(run_db().status.success());
    std::fs::rename(pkg.join("db_plugins"), site.join("elsewhere")).unwrap();
    let o = run_db();
    assert!(!o.status.success(), "import_db.py must fail without the plugins: {}", text(&o));
    std::fs::rename(site.join("elsewhere"), pkg.join("db_plugins")).unwrap();
    assert!(run_db().status.success());
}

fn glob_one(dir: &Path, leaf: &str) -> std::path::PathBuf {
    let py = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("python"))
        .unwrap();
    py.join(leaf)
}
