//! check-wheel on real wheels it was not written for: 33 wheels from PyPI (`corpus/wheels.txt`,
//! each pinned by sha256, about 120 MB, downloaded once into target/test-cache/corpus/),
//! chosen so that every defect class of the check-wheel issue shows in at least one: a Rust
//! abi3 wheel with a weak `__cxa_thread_atexit_impl`, WHEEL files with one compressed Tag
//! line, cp27m and cp27mu wheels (their UCS2 imports typed NOTYPE), musllinux_1_1 wheels (one
//! NEEDing plain `libc.so`), scipy's build-machine RPATH, cp314t wheels, abi3 wheels, aarch64,
//! armv7l, i686, ppc64le and s390x wheels, macOS and Windows wheels; and popular C/C++ ones.
//!
//! - Every tag equals auditwheel's (its answers are golden, `corpus/golden.tsv`), but for the
//!   differences listed in [`DIFFERENCES`], each with its reason (and in the README).
//! - No wheel gets an error-level finding; every x86_64 glibc wheel for CPython 3.11 installs
//!   (with its dependencies, from PyPI) into one fresh venv, and its modules import.
//! - auditwheel is run live on a few, so the golden file cannot drift from it unnoticed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{python311, target_dir, text, tools, xtask, TempDir};

/// Where the corpus's list, golden answers and fetch script live.
fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/corpus")
}

/// Where the wheels are cached.
fn cache() -> PathBuf {
    target_dir().join("test-cache/corpus")
}

/// Where check-wheel and auditwheel part ways, and why (the README says the same).
const DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "orjson-3.9.10-cp311-cp311-musllinux_1_1_x86_64.whl",
        "musllinux_1_2_x86_64",
        "its libraries NEED plain libc.so (upstream musl's soname, which Rust's musl target links), \
         musl's own loader; auditwheel, run on a glibc host, opens the host's libc.so (a linker script) \
         and stops with \"Magic number does not match\"",
    ),
    (
        "markupsafe-3.0.3-cp311-cp311-macosx_11_0_arm64.whl",
        "macosx_11_0_arm64",
        "a macOS wheel: auditwheel finds no ELF file and calls it no platform wheel; check-wheel says \
         \"not a Linux wheel: not checked\" and keeps its tag",
    ),
    ("markupsafe-3.0.3-cp311-cp311-win_amd64.whl", "win_amd64", "a Windows wheel: as the macOS one"),
];

/// The wheels of the list: file name -> (project, sha256).
fn listed() -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(corpus_dir().join("wheels.txt")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut f = l.split_whitespace();
            let (project, name, sha) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            (name.to_string(), (project.to_string(), sha.to_string()))
        })
        .collect()
}

/// The golden answers: file name -> auditwheel's tag, or "refused".
fn golden() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(corpus_dir().join("golden.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, tag) = l.split_once('\t').unwrap();
            (name.to_string(), tag.to_string())
        })
        .collect()
}

/// The corpus, downloaded once (each wheel checked against its sha256).
fn wheels() -> Vec<PathBuf> {
    static FETCHED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    FETCHED.get_or_init(|| {
        let o = Command::new(&tools().python)
            .arg(corpus_dir().join("fetch.py"))
            .arg(corpus_dir().join("wheels.txt"))
            .arg(cache())
            .output()
            .unwrap();
        assert!(o.status.success(), "cannot fetch the corpus from PyPI:\n{}", text(&o));
    });
    listed().keys().map(|n| cache().join(n)).collect()
}

/// auditwheel's answer, run now.
fn auditwheel_tag(whl: &Path) -> String {
    let path = format!("{}:{}", tools().venv.join("bin").display(), std::env::var("PATH").unwrap_or_default());
    let o = Command::new(&tools().auditwheel).args(["show", "--json"]).arg(whl).env("PATH", path).output().unwrap();
    serde_json::from_slice::<Value>(&o.stdout)
        .ok()
        .and_then(|v| v["overall_tag"].as_str().map(str::to_string))
        .unwrap_or_else(|| "refused".into())
}

#[test]
fn every_tag_is_auditwheels_but_the_documented_differences() {
    let wheels = wheels();
    assert!(wheels.len() >= 30, "{} wheels", wheels.len());
    let total: u64 = wheels.iter().map(|w| std::fs::metadata(w).unwrap().len()).sum();
    assert!(total < 300 << 20, "the corpus is {} MB", total >> 20);
    if std::env::var_os("XTASK_REGENERATE_GOLDEN").is_some() {
        let mut out = std::fs::read_to_string(corpus_dir().join("golden.tsv"))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect::<String>();
        for w in &wheels {
            out.push_str(&format!("{}\t{}\n", w.file_name().unwrap().to_string_lossy(), auditwheel_tag(w)));
        }
        std::fs::write(corpus_dir().join("golden.tsv"), out).unwrap();
    }
    let golden = golden();
    let mut args = vec!["check-wheel", "--json"];
    args.extend(wheels.iter().map(|w| w.to_str().unwrap()));
    let o = xtask(&args);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    let mut disagree = Vec::new();
    for r in doc["wheels"].as_array().unwrap() {
        let name = r["wheel"].as_str().unwrap();
        let ours = r["overall_tag"].as_str().unwrap();
        let theirs = golden.get(name).unwrap_or_else(|| panic!("{name} has no golden answer: regenerate golden.tsv"));
        let errors: Vec<&str> = r["problems"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert!(errors.is_empty(), "{name}: an error-level finding on a published wheel: {errors:?}");
        assert_ne!(r["verdict"], "unusable", "{name}: {r:#}");
        match DIFFERENCES.iter().find(|(n, _, _)| *n == name) {
            Some((_, expected, why)) => {
                assert_eq!(ours, *expected, "{name}: the documented difference changed ({why})");
                disagree.push(name.to_string());
            }
            None => assert_eq!(ours, theirs, "{name}: check-wheel and auditwheel disagree: {r:#}"),
        }
    }
    assert!(disagree.len() <= 3, "{disagree:?}");
    // The defect classes the corpus was chosen for show as they should.
    let by_name: BTreeMap<&str, &Value> =
        doc["wheels"].as_array().unwrap().iter().map(|r| (r["wheel"].as_str().unwrap(), r)).collect();
    let scipy = by_name["scipy-1.16.2-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"];
    assert!(
        scipy["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("/opt/_internal")),
        "{scipy:#}"
    );
    let mac = by_name["markupsafe-3.0.3-cp311-cp311-macosx_11_0_arm64.whl"];
    assert!(mac["note"].as_str().unwrap().contains("not a Linux wheel"), "{mac:#}");
    assert_eq!(by_name["simplejson-3.17.6-cp27-cp27m-manylinux1_x86_64.whl"]["verdict"], "healthy");
}

/// auditwheel itself, now, on a few of them: the golden answers have not drifted.
#[test]
fn auditwheel_live_agrees_with_the_golden_answers() {
    let wheels = wheels();
    let golden = golden();
    for name in [
        "orjson-3.9.10-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "simplejson-3.17.6-cp27-cp27mu-manylinux1_x86_64.whl",
        "cryptography-44.0.0-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    ] {
        let whl = wheels.iter().find(|w| w.ends_with(name)).unwrap();
        assert_eq!(auditwheel_tag(whl), golden[name], "{name}: auditwheel's answer drifted: regenerate golden.tsv");
    }
}

/// Every x86_64 glibc wheel for CPython 3.11 (or abi3) installs, with its dependencies from
/// PyPI, into one fresh venv, and its modules (extensions among them) import: none of them got
/// an error from check-wheel, and none of them should have.
#[test]
fn the_x86_64_glibc_wheels_install_and_import() {
    let Some(python) = python311("the_x86_64_glibc_wheels_install_and_import") else { return };
    let wheels = wheels();
    let installable: Vec<&PathBuf> = wheels
        .iter()
        .filter(|w| {
            let n = w.file_name().unwrap().to_string_lossy().into_owned();
            n.contains("x86_64") && n.contains("manylinux") && (n.contains("-cp311-") || n.contains("-abi3-"))
                // One of the two cryptography wheels (the same release): pip takes one.
                && !n.starts_with("cryptography-44.0.0-cp39-abi3-manylinux_2_17")
        })
        .collect();
    assert!(installable.len() >= 15, "{installable:?}");
    let dir = TempDir::new("corpus-venv");
    let venv = dir.path().join("venv");
    assert!(Command::new(&python).args(["-m", "venv"]).arg(&venv).status().unwrap().success());
    let py = venv.join("bin/python");
    let o = Command::new(&py)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--only-binary=:all:"])
        .args(installable.iter().map(|w| w.as_os_str()))
        .output()
        .unwrap();
    assert!(o.status.success(), "pip install:\n{}", text(&o));
    let modules = "charset_normalizer cryptography.hazmat.bindings._rust kiwisolver klayout.db lxml.etree markupsafe \
                   matplotlib.ft2font msgpack numpy orjson pandas PIL._imaging psutil pydantic_core yaml._yaml regex \
                   scipy.special ujson";
    let script = format!("import importlib\nfor m in {:?}.split():\n    importlib.import_module(m)\nprint('imported', len({:?}.split()))", modules, modules);
    let o = Command::new(&py).args(["-c", &script]).current_dir(dir.path()).output().unwrap();
    assert!(o.status.success(), "import:\n{}", text(&o));
}
