//! `fix-wheel` and `check-wheel` end to end on fixtures made at test time: a miniature
//! KLayout-like package, `minik`, compiled with `cc` from the C sources in tests/fixtures/,
//! packed into wheels with `wheel pack`, and repaired with the real auditwheel.
//!
//! The package is laid out as KLayout's (facts.md section 2): implementation libraries
//! `minik/lib_tl*.so` and `minik/lib_db*.so` (SONAME = file name), extension modules
//! `minik/tlcore*.so` and `minik/dbcore*.so` (real CPython 3.11 modules), and one plugin
//! `minik/db_plugins/lib_gds2_dbpi*.so` that lib_db dlopens from the folder beside its own
//! file when it loads (no ELF tag records that edge). `dbcore.plugins()` says how many
//! plugins registered, so a test in a fresh venv sees whether the plugins were found.
//!
//! The wheels:
//! - the old auditwheel (< 3.2) layout: extension modules with RPATH `$ORIGIN/.libs` alone, a
//!   grafted `minik/.libs/libgraft-1a2b3c4d.so.1` that lib_tl needs, lib_* and db_plugins
//!   still in `minik/`: broken, fix-wheel must repair it;
//! - today's layout: a `linux_x86_64` build whose lib_tl needs the system libbz2, repaired by
//!   the real `auditwheel repair`: healthy, fix-wheel must leave it alone;
//! - problem wheels for check-wheel: a tag the wheel does not earn, a too-new GLIBC symbol, a
//!   UCS2 extension in a cp27mu wheel, an extension suffix for another Python, a tampered
//!   RECORD, unsafe archive names, db_plugins away from lib_db.
//!
//! Everything is compiled and packed once per test binary (see [`minik`]) into
//! target/test-tmp/minik-fixtures-<pid>/; folders left by earlier runs are removed. A machine
//! without `cc`, CPython 3.11, or the libbz2 and pidfd headers skips these tests with one line
//! each.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::{
    bytes, check_json, copy_to, install_and_run, pack_wheel, pyenv_python, target_dir, text, tools, tools_path,
    write_dist_info, xtask, TempDir,
};
use serde_json::Value;
use xshell::{cmd, Shell};

/// The extension suffix of CPython 3.11 on x86_64 Linux, which every library of the package
/// carries as KLayout's do.
const EXT: &str = ".cpython-311-x86_64-linux-gnu.so";
/// The grafted library of the old layout, named as auditwheel named its grafts.
const GRAFT: &str = "libgraft-1a2b3c4d.so.1";
/// The name the grafted library had before auditwheel renamed it.
const GRAFT_SYSTEM: &str = "libgraft.so.1";
/// The system library today's lib_tl needs (Debian's libbz2-dev), which no manylinux policy
/// whitelists, so auditwheel grafts it.
const BZ2: &str = "libbz2.so.1.0";
/// The tag the fixture libraries earn: only GLIBC_2.2.5 symbols (glibc_compat.h binds the dl*
/// functions to it), so the old-layout wheel can carry manylinux1 as the 2018 wheels did.
const OLD_TAG: &str = "cp311-cp311-manylinux1_x86_64";
/// DT_RPATH, as the wheels of the auditwheel < 3.2 era had.
const OLD_DTAGS: &str = "-Wl,--disable-new-dtags";
/// DT_RUNPATH, today's default of the host linker.
const NEW_DTAGS: &str = "-Wl,--enable-new-dtags";
/// The folder of the C sources.
const SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures");
/// Link flags every fixture library gets. `--no-as-needed` because some compilers (this
/// machine's gcc among them) link with `--as-needed` by default, which drops libc.so.6 from
/// libraries that call nothing in it; real builds always need libc, and auditwheel detects
/// the wheel's libc from that entry.
const LINK: &[&str] = &["-shared", "-fPIC", "-O2", "-Wl,--no-as-needed"];

/// What the wheel's extension modules print in a fresh venv when everything loads:
/// `plugins() value() value()`.
pub(crate) const IMPORT_PY: &str = "import minik.dbcore as db, minik.tlcore as tl
print(db.plugins(), db.value(), tl.value())
";

/// Rewrites a zip with Python's zipfile, which lets a test make what our reader must refuse or
/// flag: `replace NAME DATA` changes one entry's bytes (RECORD stays as it was), `add NAME
/// DATA` appends an entry under any name (`..`, absolute, backslash, duplicate). Entries keep
/// their ZipInfo (name, time, mode, compression).
const ZIP_EDIT_PY: &str = "import sys, warnings, zipfile
warnings.simplefilter('ignore')
src, dst, op, name, data = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].encode()
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w') as zout:
    for info in zin.infolist():
        body = zin.read(info)
        if op == 'replace' and info.filename == name:
            body = data
        zout.writestr(info, body)
    if op == 'add':
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        zout.writestr(info, data)
";

/// Lists a zip's entries with Python's zipfile (a reader independent of ours): one JSON array
/// of `[name, unix mode]` in archive order.
const ZIP_LIST_PY: &str = "import json, sys, zipfile
print(json.dumps([[i.filename, i.external_attr >> 16] for i in zipfile.ZipFile(sys.argv[1]).infolist()]))
";

// ---------------------------------------------------------------------------------------------
// The fixtures.

/// The wheels built once per test binary. Tests copy the ones they change into their own
/// temporary folder.
pub(crate) struct Minik {
    /// The folder the fixtures are built in.
    pub(crate) root: PathBuf,
    /// CPython 3.11, for the include folder and the fresh venvs.
    pub(crate) python: PathBuf,
    /// The old auditwheel (< 3.2) layout, tagged manylinux1: does not import.
    pub(crate) old: PathBuf,
    /// The old layout where lib_tl still needs the graft's system name (auditwheel < 4.0 did
    /// not rewrite the NEEDED entries of non-extension files).
    pub(crate) old_unpatched: PathBuf,
    /// Today's build, `linux_x86_64`, lib_tl needs the system libbz2.
    pub(crate) linux: PathBuf,
    /// The same files, tagged `manylinux_2_17_x86_64`, which they do not earn (libbz2).
    pub(crate) claimed: PathBuf,
    /// The same files in a cp312 wheel: the extensions' `cpython-311` suffix contradicts it.
    pub(crate) cp312: PathBuf,
    /// lib_db moved to `minik/.libs/` with db_plugins left in `minik/`, every NEEDED entry
    /// still resolving: only the runtime folder rule sees it.
    pub(crate) plugins_apart: PathBuf,
    /// An extension that calls pidfd_open (GLIBC_2.36), tagged `manylinux_2_28_x86_64`.
    pub(crate) glibc: PathBuf,
    /// A Python 2 extension importing `PyUnicodeUCS2_AsUTF8String`, in a cp27mu wheel.
    pub(crate) ucs2_mu: PathBuf,
    /// The same extension in a cp27m (narrow unicode) wheel, where it belongs.
    pub(crate) ucs2_m: PathBuf,
}

/// The fixtures, built on first use; when the machine lacks what they need, the one skip
/// rule applies (`support::skip`: a failure under CI).
pub(crate) fn minik(test: &str) -> Option<&'static Minik> {
    static MINIK: OnceLock<Result<Minik, String>> = OnceLock::new();
    match MINIK.get_or_init(build_minik) {
        Ok(m) => Some(m),
        Err(why) => crate::support::skip(test, why),
    }
}

/// The wheel `auditwheel repair` makes from [`Minik::linux`], made once.
pub(crate) fn repaired(m: &Minik) -> &'static Path {
    static REPAIRED: OnceLock<PathBuf> = OnceLock::new();
    REPAIRED.get_or_init(|| {
        let out = m.root.join("repaired");
        std::fs::create_dir_all(&out).unwrap();
        let o = Command::new(&tools().auditwheel)
            .arg("repair")
            .arg("-w")
            .arg(&out)
            .arg(&m.linux)
            .env("PATH", tools_path())
            .output()
            .unwrap();
        assert!(o.status.success(), "auditwheel repair failed:\n{}", text(&o));
        let wheels = crate::support::list_wheels(&out);
        assert_eq!(wheels.len(), 1, "auditwheel repair made {wheels:?}:\n{}", text(&o));
        wheels[0].clone()
    })
}

/// What is missing for the fixtures, if anything.
fn missing_prerequisite() -> Option<String> {
    if std::env::consts::ARCH != "x86_64" {
        return Some(format!("the fixtures are x86_64 wheels, this machine is {}", std::env::consts::ARCH));
    }
    if Command::new("cc").arg("--version").output().map_or(true, |o| !o.status.success()) {
        return Some("no C compiler `cc` on PATH".into());
    }
    let header = |dirs: &[&str], name: &str| dirs.iter().any(|d| Path::new(d).join(name).exists());
    if !header(&["/usr/include"], "bzlib.h") {
        return Some("no bzlib.h (install libbz2-dev)".into());
    }
    if !header(&["/usr/include", "/usr/include/x86_64-linux-gnu"], "sys/pidfd.h") {
        return Some("no sys/pidfd.h (glibc >= 2.36 headers)".into());
    }
    None
}

/// CPython 3.11: from pyenv, else the tools venv's Python when it is 3.11.
fn python311() -> Option<PathBuf> {
    pyenv_python("3.11").or_else(|| {
        let py = &tools().python;
        let v = Command::new(py).args(["-c", "import sys; print(sys.version_info[:2] == (3, 11))"]).output().ok()?;
        (String::from_utf8_lossy(&v.stdout).trim() == "True").then(|| py.clone())
    })
}

fn build_minik() -> Result<Minik, String> {
    if let Some(why) = missing_prerequisite() {
        return Err(why);
    }
    let python = python311().ok_or("no CPython 3.11 (from pyenv or the tools venv)")?;
    let root = fixtures_root();
    let sh = Shell::new().unwrap();
    let include =
        cmd!(sh, "{python} -c 'import sysconfig; print(sysconfig.get_paths()[\"include\"])'").quiet().read().unwrap();
    let b = Builder { dir: root.join("build"), include: format!("-I{}", include.trim()) };

    // The old layout: DT_RPATH, as in the wheels of the auditwheel < 3.2 era; lib_tl needs the
    // grafted library under its grafted name, or (`unpatched`) under its system name.
    b.cc("old", GRAFT, "graft.c", &[&format!("-Wl,-soname,{GRAFT}")]);
    b.cc("sys", GRAFT_SYSTEM, "graft.c", &[&format!("-Wl,-soname,{GRAFT_SYSTEM}")]);
    b.package("old", OLD_DTAGS, &["-DMINIK_GRAFT", &format!("-l:{GRAFT}")], "$ORIGIN/.libs");
    b.package("unpatched", OLD_DTAGS, &["-DMINIK_GRAFT", "-L../sys", &format!("-l:{GRAFT_SYSTEM}")], "$ORIGIN/.libs");
    // Today's host build: the linker's default DT_RUNPATH, which auditwheel repair turns into
    // DT_RPATH; lib_tl needs the system libbz2.
    b.package("new", NEW_DTAGS, &["-DMINIK_BZ2", "-lbz2"], "$ORIGIN");
    b.cc("misc", &so("pidfd"), "pidfd.c", &[]);
    b.cc("misc", "ucsmod.so", "ucsmod.c", &[]);

    let init = root.join("__init__.py");
    std::fs::write(&init, "\"\"\"minik: a miniature KLayout.\"\"\"\n").unwrap();
    // (file built in `variant`/, its entry in the wheel) for minik's files.
    let package = |variant: &str, entries: [(&str, &str); 5]| -> Vec<(PathBuf, String)> {
        let mut files = vec![(init.clone(), "minik/__init__.py".to_string())];
        files.extend(
            entries.iter().map(|(lib, folder)| (b.dir.join(variant).join(so(lib)), format!("{folder}/{}", so(lib)))),
        );
        files
    };
    let klayout_layout = [
        ("tlcore", "minik"),
        ("dbcore", "minik"),
        ("lib_tl", "minik"),
        ("lib_db", "minik"),
        ("lib_gds2_dbpi", "minik/db_plugins"),
    ];
    let wheel = |label: &str, dist: &str, files: &[(PathBuf, String)], tag: &str| {
        assemble(&root.join("trees").join(label), &root.join("wheels").join(label), dist, files, tag)
    };
    let graft = (b.dir.join("old").join(GRAFT), format!("minik/.libs/{GRAFT}"));

    let mut old = package("old", klayout_layout);
    old.push(graft.clone());
    let mut old_unpatched = old.clone();
    old_unpatched[3].0 = b.dir.join("unpatched").join(so("lib_tl"));
    let new = package("new", klayout_layout);

    // lib_db in minik/.libs/ with search paths that still reach every library, db_plugins left
    // in minik/: lib_db looks for its plugins in minik/.libs/db_plugins/ and finds none.
    let patchelf = &tools().patchelf;
    for (lib, rpath) in [
        ("dbcore", "$ORIGIN/.libs:$ORIGIN"),
        ("lib_db", "$ORIGIN:$ORIGIN/.."),
        ("lib_gds2_dbpi", "$ORIGIN/..:$ORIGIN/../.libs"),
    ] {
        let (src, dest) = (b.dir.join("new").join(so(lib)), b.dir.join("apart").join(so(lib)));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(src, &dest).unwrap();
        cmd!(sh, "{patchelf} --force-rpath --set-rpath {rpath} {dest}").quiet().run().unwrap();
    }
    let mut apart = new.clone();
    for (file, entry) in apart.iter_mut() {
        if ["dbcore", "lib_db", "lib_gds2_dbpi"].iter().any(|l| entry.ends_with(&so(l))) {
            *file = b.dir.join("apart").join(file.file_name().unwrap());
        }
        if entry.ends_with(&so("lib_db")) {
            *entry = format!("minik/.libs/{}", so("lib_db"));
        }
    }

    let ucs = [(b.dir.join("misc/ucsmod.so"), "ucsmod.so".to_string())];
    Ok(Minik {
        old: wheel("old", "minik", &old, OLD_TAG),
        old_unpatched: wheel("old_unpatched", "minik", &old_unpatched, OLD_TAG),
        linux: wheel("linux", "minik", &new, "cp311-cp311-linux_x86_64"),
        claimed: wheel("claimed", "minik", &new, "cp311-cp311-manylinux_2_17_x86_64"),
        cp312: wheel("cp312", "minik", &new, "cp312-cp312-linux_x86_64"),
        plugins_apart: wheel("apart", "minik", &apart, "cp311-cp311-linux_x86_64"),
        glibc: wheel(
            "glibc",
            "newglibc",
            &[(b.dir.join("misc").join(so("pidfd")), format!("newglibc/{}", so("pidfd")))],
            "cp311-cp311-manylinux_2_28_x86_64",
        ),
        ucs2_mu: wheel("ucs2_mu", "ucs", &ucs, "cp27-cp27mu-linux_x86_64"),
        ucs2_m: wheel("ucs2_m", "ucs", &ucs, "cp27-cp27m-linux_x86_64"),
        python,
        root,
    })
}

/// A library's file name: `lib_tl` -> `lib_tl.cpython-311-x86_64-linux-gnu.so`.
fn so(name: &str) -> String {
    format!("{name}{EXT}")
}

/// The folder of this process's fixtures; folders of earlier (finished) test processes are
/// removed first, since a static is never dropped.
fn fixtures_root() -> PathBuf {
    let parent = target_dir().join("test-tmp");
    std::fs::create_dir_all(&parent).unwrap();
    for e in std::fs::read_dir(&parent).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("minik-fixtures-") {
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let root = parent.join(format!("minik-fixtures-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// Compiles the fixture libraries, each variant in its own subfolder of `dir`, where the
/// links find the libraries they need by file name.
struct Builder {
    dir: PathBuf,
    /// `-I` of CPython 3.11's headers.
    include: String,
}

impl Builder {
    /// minik's five libraries into `variant`/, as KLayout links them: lib_tl and lib_db with
    /// SONAME = file name and RPATH `$ORIGIN`, the plugin with `$ORIGIN/..`, the extension
    /// modules with `ext_rpath`. `tl` are lib_tl's extra flags (its defines and libraries);
    /// `dtags` picks DT_RPATH or DT_RUNPATH.
    fn package(&self, variant: &str, dtags: &str, tl: &[&str], ext_rpath: &str) {
        let soname = |lib: &str| format!("-Wl,-soname,{}", so(lib));
        let needs = |lib: &str| format!("-l:{}", so(lib));
        let mut tl_args = vec![soname("lib_tl")];
        tl_args.extend(tl.iter().map(|a| a.to_string()));
        let libs: [(&str, &str, &str, Vec<String>); 5] = [
            ("lib_tl", "lib_tl.c", "$ORIGIN", tl_args),
            ("lib_db", "lib_db.c", "$ORIGIN", vec![soname("lib_db"), needs("lib_tl")]),
            ("lib_gds2_dbpi", "gds2_plugin.c", "$ORIGIN/..", vec![needs("lib_db")]),
            ("tlcore", "tlcore.c", ext_rpath, vec![self.include.clone(), needs("lib_tl")]),
            ("dbcore", "dbcore.c", ext_rpath, vec![self.include.clone(), needs("lib_db")]),
        ];
        for (lib, source, rpath, mut args) in libs {
            args.push(dtags.to_string());
            args.push(format!("-Wl,-rpath,{rpath}"));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            self.cc(variant, &so(lib), source, &args);
        }
    }

    /// `cc` of one source into `<variant>/<out>`, with `args` after the source (defines,
    /// SONAME, libraries, RPATH: passed as arguments, so `$ORIGIN` stays literal).
    fn cc(&self, variant: &str, out: &str, source: &str, args: &[&str]) {
        let dir = self.dir.join(variant);
        std::fs::create_dir_all(&dir).unwrap();
        let sh = Shell::new().unwrap();
        let _d = sh.push_dir(&dir);
        let src = Path::new(SOURCES).join(source);
        let link = LINK;
        let o = cmd!(sh, "cc {link...} -I{SOURCES} -o {out} {src} -L. -Wl,-rpath-link,. {args...}")
            .quiet()
            .ignore_status()
            .output()
            .unwrap();
        assert!(o.status.success(), "cc of {source} into {variant}/{out} failed:\n{}", text(&o));
    }
}

/// Copies `files` (source, entry name) into a fresh `tree`, writes its dist-info with `tag`,
/// and packs it with `wheel pack` into `out`.
fn assemble(tree: &Path, out: &Path, dist: &str, files: &[(PathBuf, String)], tag: &str) -> PathBuf {
    let _ = std::fs::remove_dir_all(tree);
    for (src, entry) in files {
        let dest = tree.join(entry);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(src, &dest).unwrap();
    }
    write_dist_info(tree, dist, "1.0", &[tag]);
    pack_wheel(tree, out)
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Creates a folder (and its parents) and returns it.
fn mkdir(dir: PathBuf) -> PathBuf {
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn file_name(p: &Path) -> &str {
    p.file_name().unwrap().to_str().unwrap()
}

/// The names in a folder, sorted.
fn dir_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// `check-wheel` on one wheel: exit code, the human report, and the JSON report.
fn check(whl: &Path) -> (Option<i32>, String, Value) {
    let o = xtask(&["check-wheel", s(whl)]);
    let (code, doc) = check_json(&[whl]);
    assert_eq!(o.status.code(), code, "the report and --json disagree on the exit code:\n{}\n{doc:#}", text(&o));
    (code, text(&o), doc["wheels"][0].clone())
}

/// The problems of a JSON report.
fn problems(report: &Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no problems array in {report:#}"))
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

/// `auditwheel show --json` on a wheel.
fn auditwheel_show(whl: &Path) -> Value {
    let o =
        Command::new(&tools().auditwheel).args(["show", "--json"]).arg(whl).env("PATH", tools_path()).output().unwrap();
    assert!(o.status.success(), "auditwheel show {} failed:\n{}", file_name(whl), text(&o));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("auditwheel show --json is not JSON ({e}):\n{}", text(&o)))
}

/// Asserts that check-wheel's earned tag is auditwheel's.
fn assert_same_tag_as_auditwheel(whl: &Path, report: &Value) {
    let theirs = auditwheel_show(whl);
    assert_eq!(
        report["overall_tag"],
        theirs["overall_tag"],
        "{}: check-wheel and auditwheel show disagree on the tag\ncheck-wheel: {report:#}\nauditwheel: {theirs:#}",
        file_name(whl)
    );
}

/// Rewrites `src` into `dst` with [`ZIP_EDIT_PY`].
fn zip_edit(src: &Path, dst: &Path, op: &str, name: &str, data: &str) {
    let o = Command::new(&tools().python)
        .args(["-c", ZIP_EDIT_PY])
        .arg(src)
        .arg(dst)
        .args([op, name, data])
        .output()
        .unwrap();
    assert!(o.status.success(), "cannot rewrite {}:\n{}", file_name(src), text(&o));
}

/// A wheel's entries and unix modes, read with Python's zipfile.
fn zip_list(whl: &Path) -> Vec<(String, u32)> {
    let o = Command::new(&tools().python).args(["-c", ZIP_LIST_PY]).arg(whl).output().unwrap();
    assert!(o.status.success(), "cannot list {}:\n{}", file_name(whl), text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The entry names of the old layout that fix-wheel must move: (old, new).
fn old_layout_moves() -> Vec<(String, String)> {
    ["lib_tl", "lib_db"]
        .iter()
        .map(|n| (format!("minik/{n}{EXT}"), format!("minik/.libs/{n}{EXT}")))
        .chain(std::iter::once((
            format!("minik/db_plugins/lib_gds2_dbpi{EXT}"),
            format!("minik/.libs/db_plugins/lib_gds2_dbpi{EXT}"),
        )))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. The old auditwheel layout.

#[test]
fn old_layout_does_not_import_before_the_fix() {
    let Some(m) = minik("old_layout_does_not_import_before_the_fix") else {
        return;
    };
    let dir = TempDir::new("fx-old-import");
    let o = install_and_run(&m.python, &m.old, dir.path(), IMPORT_PY);
    assert!(!o.status.success(), "the old-layout fixture must not import, but it did:\n{}", text(&o));
    assert!(
        text(&o).contains(&format!("lib_db{EXT}: cannot open shared object file")),
        "the import must fail on the misplaced lib_db:\n{}",
        text(&o)
    );
}

#[test]
fn old_layout_check_and_dry_run_change_nothing() {
    let Some(m) = minik("old_layout_check_and_dry_run_change_nothing") else {
        return;
    };
    let dir = TempDir::new("fx-old-dry");
    let whl = copy_to(&m.old, dir.path());
    let before = bytes(&whl);

    let o = xtask(&["fix-wheel", "--check", s(&whl)]);
    assert_eq!(o.status.code(), Some(1), "--check must exit 1 on the old layout:\n{}", text(&o));
    assert!(bytes(&whl) == before, "--check changed the wheel:\n{}", text(&o));

    let o = xtask(&["fix-wheel", "--dry-run", s(&whl)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    for (old, new) in old_layout_moves() {
        assert!(
            out.lines().any(|l| l.starts_with("move ") && l.contains(&old) && l.contains(&new)),
            "--dry-run must print the move {old} -> {new}:\n{}",
            text(&o)
        );
        assert!(
            out.lines().any(|l| l.starts_with("RECORD ") && l.contains(&format!("{old},sha256=")) && l.ends_with(&new)),
            "--dry-run must print the RECORD row of {old} -> {new}:\n{}",
            text(&o)
        );
    }
    assert!(!out.contains("__init__.py") && !out.contains(GRAFT), "--dry-run must list only what moves:\n{}", text(&o));
    assert!(bytes(&whl) == before, "--dry-run changed the wheel:\n{}", text(&o));
    assert_eq!(dir_names(dir.path()), [file_name(&whl)], "no file is left beside the wheel");
}

#[test]
fn fix_wheel_repairs_the_old_layout_in_place() {
    let Some(m) = minik("fix_wheel_repairs_the_old_layout_in_place") else {
        return;
    };
    let dir = TempDir::new("fx-old-fix");
    let inbox = dir.path().join("in");
    std::fs::create_dir_all(&inbox).unwrap();
    let whl = copy_to(&m.old, &inbox);
    let before = bytes(&whl);

    let o = xtask(&["fix-wheel", s(&whl)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let fixed = bytes(&whl);
    assert!(fixed != before, "fix-wheel did not change the old layout:\n{}", text(&o));
    assert_eq!(dir_names(&inbox), [file_name(&whl)], "no temporary or marker file is left beside the wheel");

    // An independent check of RECORD: `wheel unpack` verifies every hash and size.
    let unpacked = dir.path().join("unpacked");
    let u =
        Command::new(&tools().python).args(["-m", "wheel", "unpack", "-d"]).arg(&unpacked).arg(&whl).output().unwrap();
    assert!(u.status.success(), "wheel unpack refuses the fixed wheel:\n{}", text(&u));
    for (_, new) in old_layout_moves() {
        assert!(unpacked.join("minik-1.0").join(&new).is_file(), "{new} is not in the fixed wheel");
    }

    // Entries: the same as before under their new names (no marker file), same unix modes,
    // .dist-info last.
    let renames: BTreeMap<String, String> = old_layout_moves().into_iter().collect();
    let old_entries = zip_list(&m.old);
    let new_entries = zip_list(&whl);
    let expected: BTreeMap<String, u32> =
        old_entries.iter().map(|(n, mode)| (renames.get(n).cloned().unwrap_or_else(|| n.clone()), *mode)).collect();
    let got: BTreeMap<String, u32> = new_entries.iter().cloned().collect();
    assert_eq!(got, expected, "the fixed wheel must hold the same entries, renamed, with the same unix modes");
    assert!(
        expected.values().any(|m| m & 0o111 != 0),
        "the fixture has executable entries, so the mode check means something: {expected:?}"
    );
    let first_dist_info =
        new_entries.iter().position(|(n, _)| n.starts_with("minik-1.0.dist-info/")).expect("no .dist-info entry");
    assert!(
        new_entries[first_dist_info..].iter().all(|(n, _)| n.starts_with("minik-1.0.dist-info/")),
        ".dist-info entries must come last: {new_entries:?}"
    );
    assert_eq!(new_entries.last().map(|(n, _)| n.as_str()), Some("minik-1.0.dist-info/RECORD"), "RECORD comes last");

    // check-wheel finds it healthy.
    let (code, report_text, report) = check(&whl);
    assert_eq!(code, Some(0), "the fixed wheel must be healthy:\n{report_text}");
    assert_eq!(report["overall_tag"], "manylinux_2_5_x86_64", "{report:#}");

    // It installs and imports, with the plugin found.
    let o = install_and_run(&m.python, &whl, &dir.path().join("venv"), IMPORT_PY);
    assert!(o.status.success(), "the fixed wheel does not import:\n{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "1 42 42", "plugins() must be 1:\n{}", text(&o));

    // A second run has nothing to do and leaves it byte-identical.
    let o = xtask(&["fix-wheel", s(&whl)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("nothing to fix"), "{}", text(&o));
    assert!(bytes(&whl) == fixed, "the second run changed the wheel:\n{}", text(&o));
    let o = xtask(&["fix-wheel", "--check", s(&whl)]);
    assert_eq!(o.status.code(), Some(0), "--check on the fixed wheel:\n{}", text(&o));
    assert_eq!(dir_names(&inbox), [file_name(&whl)], "no file is left beside the wheel");
}

#[test]
fn fix_wheel_out_dir_keeps_the_input_and_is_deterministic() {
    let Some(m) = minik("fix_wheel_out_dir_keeps_the_input_and_is_deterministic") else {
        return;
    };
    let dir = TempDir::new("fx-old-out");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let input = copy_to(&m.old, &a);
    let out = dir.path().join("out");

    let o = xtask(&["fix-wheel", "-o", s(&out), s(&input)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(bytes(&input) == bytes(&m.old), "-o must leave the input unchanged:\n{}", text(&o));
    assert_eq!(dir_names(&out), [file_name(&input)], "-o writes the fixed wheel, under its name, and nothing else");
    let first = bytes(&out.join(file_name(&input)));
    assert!(first != bytes(&m.old), "-o wrote the wheel unfixed:\n{}", text(&o));

    // The same input fixed later (past the zip format's 2 s time resolution) in place: the
    // same bytes.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let copy = copy_to(&m.old, &b);
    let o = xtask(&["fix-wheel", s(&copy)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(bytes(&copy) == first, "fixing two identical copies must give byte-identical wheels");
}

#[test]
fn old_layout_check_wheel_names_the_searched_folder() {
    let Some(m) = minik("old_layout_check_wheel_names_the_searched_folder") else {
        return;
    };
    let (code, out, report) = check(&m.old);
    assert_eq!(code, Some(1), "{out}");
    let p = problems(&report);
    for lib in ["lib_tl", "lib_db"] {
        let needle = format!("needs {lib}{EXT}: not found through its search path (minik/.libs)");
        assert!(
            p.iter().any(|l| l.contains(&needle) && l.contains(&format!("it is at minik/{lib}{EXT}"))),
            "no problem line with {needle:?}:\n{out}"
        );
        assert!(out.contains(&needle), "the human report must show it too:\n{out}");
    }
    let fix = report["fix_wheel"].as_str().unwrap_or_else(|| panic!("no fix_wheel in the report:\n{report:#}"));
    assert!(fix.contains("into minik/.libs/"), "{fix}");
    assert!(out.contains("fix: `cargo xtask fix-wheel"), "{out}");
}

#[test]
fn fixed_old_layout_that_still_needs_the_system_graft_is_caught() {
    // auditwheel < 4.0 grafted the library but left lib_tl's NEEDED at the system name: the
    // moved wheel loads the host's library in the build container and fails elsewhere
    // (facts.md section 3). fix-wheel's move is still right; check-wheel must see the rest.
    let Some(m) = minik("fixed_old_layout_that_still_needs_the_system_graft_is_caught") else {
        return;
    };
    let dir = TempDir::new("fx-old-unpatched");
    let whl = copy_to(&m.old_unpatched, dir.path());
    let o = xtask(&["fix-wheel", s(&whl)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (code, out, report) = check(&whl);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        problems(&report)
            .iter()
            .any(|l| l.contains("claims manylinux1_x86_64")
                && l.contains(&format!("lib_tl{EXT} needs {GRAFT_SYSTEM}"))),
        "check-wheel must name lib_tl's need of the system {GRAFT_SYSTEM}:\n{out}"
    );
    assert_same_tag_as_auditwheel(&whl, &report);
}

// ---------------------------------------------------------------------------------------------
// 2. Today's layout, repaired by the real auditwheel.

#[test]
fn auditwheel_repaired_wheel_is_left_alone_and_healthy() {
    let Some(m) = minik("auditwheel_repaired_wheel_is_left_alone_and_healthy") else {
        return;
    };
    let repaired = repaired(m);
    let dir = TempDir::new("fx-repaired");
    let whl = copy_to(repaired, dir.path());
    let before = bytes(&whl);
    assert!(
        zip_list(&whl).iter().any(|(n, _)| n.starts_with("minik.libs/libbz2")),
        "auditwheel must have grafted libbz2 into minik.libs/: {:?}",
        zip_list(&whl)
    );

    let o = xtask(&["fix-wheel", s(&whl)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("nothing to fix"), "{}", text(&o));
    assert!(bytes(&whl) == before, "fix-wheel changed a wheel from today's auditwheel");
    let o = xtask(&["fix-wheel", "--check", s(&whl)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(dir_names(dir.path()), [file_name(&whl)], "no file is left beside the wheel");

    let (code, out, report) = check(&whl);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("healthy"), "{out}");
    assert_same_tag_as_auditwheel(&whl, &report);

    let o = install_and_run(&m.python, &whl, &dir.path().join("venv"), IMPORT_PY);
    assert!(o.status.success(), "the repaired wheel does not import:\n{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "1 42 42", "plugins() must be 1:\n{}", text(&o));
}

#[test]
fn unrepaired_linux_wheel_is_healthy_as_linux() {
    let Some(m) = minik("unrepaired_linux_wheel_is_healthy_as_linux") else {
        return;
    };
    let (code, out, report) = check(&m.linux);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(report["overall_tag"], "linux_x86_64", "{report:#}");
    assert!(
        report["external_libs"][BZ2]
            .as_array()
            .is_some_and(|v| v.iter().any(|f| f.as_str().is_some_and(|f| f.ends_with(&format!("lib_tl{EXT}"))))),
        "external_libs must name lib_tl as needing {BZ2}: {report:#}"
    );
    assert_same_tag_as_auditwheel(&m.linux, &report);
}

#[test]
fn json_versioned_symbols_match_auditwheels() {
    // On the repaired wheel: every library is inside, so both tools read the same files.
    let Some(m) = minik("json_versioned_symbols_match_auditwheels") else {
        return;
    };
    let whl = repaired(m);
    let (_, _, report) = check(whl);
    let theirs = auditwheel_show(whl);
    assert!(
        report["versioned_symbols"]["libc.so.6"].is_array(),
        "the repaired wheel needs versioned libc symbols: {report:#}"
    );
    assert_eq!(
        report["versioned_symbols"], theirs["versioned_symbols"],
        "check-wheel: {report:#}\nauditwheel: {theirs:#}"
    );
}

#[test]
fn json_external_libs_match_auditwheels() {
    // check-wheel's report says its field names follow `auditwheel show --json` where they
    // mean the same thing; auditwheel's external_libs are the libraries no policy whitelists
    // (the ones `repair` would graft).
    let Some(m) = minik("json_external_libs_match_auditwheels") else {
        return;
    };
    for whl in [m.linux.as_path(), repaired(m)] {
        let (_, _, report) = check(whl);
        let theirs = auditwheel_show(whl);
        let keys = |v: &Value| -> BTreeSet<String> {
            v["external_libs"]
                .as_object()
                .unwrap_or_else(|| panic!("no external_libs: {v:#}"))
                .keys()
                .cloned()
                .collect()
        };
        assert_eq!(
            keys(&report),
            keys(&theirs),
            "{}: external_libs differ\ncheck-wheel: {report:#}\nauditwheel: {theirs:#}",
            file_name(whl)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. check-wheel's problem fixtures.

#[test]
fn claimed_tag_that_needs_libbz2_is_a_problem() {
    let Some(m) = minik("claimed_tag_that_needs_libbz2_is_a_problem") else {
        return;
    };
    let (code, out, report) = check(&m.claimed);
    assert_eq!(code, Some(1), "{out}");
    let p = problems(&report);
    assert!(
        p.iter().any(|l| l.contains("manylinux_2_17_x86_64") && l.contains(BZ2) && l.contains(&format!("lib_tl{EXT}"))),
        "a problem must name the claimed tag, {BZ2} and lib_tl:\n{out}"
    );
    assert_eq!(report["overall_tag"], "linux_x86_64", "{report:#}");
    assert_same_tag_as_auditwheel(&m.claimed, &report);
}

#[test]
fn too_new_glibc_symbol_is_a_problem() {
    let Some(m) = minik("too_new_glibc_symbol_is_a_problem") else {
        return;
    };
    let (code, out, report) = check(&m.glibc);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        problems(&report).iter().any(|l| l.contains("manylinux_2_28_x86_64")
            && l.contains("GLIBC_2.36")
            && l.contains(&format!("pidfd{EXT}"))),
        "a problem must name the claimed tag, GLIBC_2.36 and the file:\n{out}"
    );
    assert_eq!(report["overall_tag"], "manylinux_2_36_x86_64", "{report:#}");
    assert_same_tag_as_auditwheel(&m.glibc, &report);
}

#[test]
fn ucs2_extension_in_a_cp27mu_wheel_is_a_problem() {
    let Some(m) = minik("ucs2_extension_in_a_cp27mu_wheel_is_a_problem") else {
        return;
    };
    let (code, out, report) = check(&m.ucs2_mu);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        problems(&report)
            .iter()
            .any(|l| l.contains("ucsmod.so") && l.contains("PyUnicodeUCS2_AsUTF8String") && l.contains("cp27mu")),
        "a problem must name the file, the symbol and cp27mu:\n{out}"
    );
    assert_eq!(report["ucs2"], true, "{report:#}");
    let (code, out, _) = check(&m.ucs2_m);
    assert_eq!(code, Some(0), "the same extension in a cp27m wheel is where it belongs:\n{out}");
}

#[test]
fn ucs2_wheels_earn_auditwheels_tag() {
    // auditwheel gives any wheel with a Python 2 extension importing PyUnicodeUCS2_* the
    // plain linux tag, whatever its ABI tag (facts.md section 4: the UCS2 check is part of
    // the tag).
    let Some(m) = minik("ucs2_wheels_earn_auditwheels_tag") else {
        return;
    };
    for whl in [&m.ucs2_mu, &m.ucs2_m] {
        let (_, _, report) = check(whl);
        let theirs = auditwheel_show(whl);
        assert_eq!(
            theirs["ucs2"], true,
            "auditwheel must see the UCS2 import, or this test proves nothing: {theirs:#}"
        );
        assert_eq!(report["ucs2"], true, "{report:#}");
        assert_eq!(
            report["overall_tag"],
            theirs["overall_tag"],
            "{}: check-wheel and auditwheel show disagree on the tag\ncheck-wheel: {report:#}\nauditwheel: {theirs:#}",
            file_name(whl)
        );
    }
}

#[test]
fn extension_suffix_must_match_the_python_tag() {
    let Some(m) = minik("extension_suffix_must_match_the_python_tag") else {
        return;
    };
    let (code, out, report) = check(&m.cp312);
    assert_eq!(code, Some(1), "{out}");
    let p = problems(&report);
    for ext in ["tlcore", "dbcore"] {
        assert!(
            p.iter().any(|l| l.contains(&format!("{ext}{EXT}")) && l.contains("cp311") && l.contains("cp312")),
            "a problem must name {ext}{EXT}, cp311 and cp312:\n{out}"
        );
    }
    assert_same_tag_as_auditwheel(&m.cp312, &report);
    // The same files tagged cp311: no such problem.
    let (code, out, _) = check(&m.linux);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn suffix_check_concerns_extension_modules_only() {
    // lib_tl, lib_db and the plugin carry the interpreter's suffix as KLayout's do, but Python
    // never imports them (they export no PyInit_ function): their suffix is a file name.
    let Some(m) = minik("suffix_check_concerns_extension_modules_only") else {
        return;
    };
    let (_, out, report) = check(&m.cp312);
    let p = problems(&report);
    for lib in ["lib_tl", "lib_db", "lib_gds2_dbpi"] {
        assert!(
            !p.iter().any(|l| l.starts_with(&format!("{lib}{EXT}"))),
            "{lib} is not an extension module, whatever its suffix:\n{out}"
        );
    }
}

#[test]
fn tampered_record_is_named_and_refused() {
    let Some(m) = minik("tampered_record_is_named_and_refused") else {
        return;
    };
    let dir = TempDir::new("fx-tampered");
    let whl = dir.path().join(file_name(&m.old));
    zip_edit(&m.old, &whl, "replace", "minik/__init__.py", "import os  # tampered\n");
    let before = bytes(&whl);

    let (code, out, report) = check(&whl);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        problems(&report).iter().any(|l| l.contains("minik/__init__.py") && l.contains("hash")),
        "a problem must name the tampered file:\n{out}"
    );
    assert!(
        report["record"]["mismatched"]
            .as_array()
            .is_some_and(|v| v.iter().any(|x| x.as_str().is_some_and(|x| x.contains("minik/__init__.py")))),
        "{report:#}"
    );

    let o = xtask(&["fix-wheel", s(&whl)]);
    assert_eq!(o.status.code(), Some(2), "fix-wheel must refuse a wheel whose RECORD does not match:\n{}", text(&o));
    assert!(
        text(&o).contains(file_name(&whl)) && text(&o).contains("minik/__init__.py"),
        "the error must name the wheel and the entry:\n{}",
        text(&o)
    );
    assert!(bytes(&whl) == before, "fix-wheel changed a wheel it refused");
    assert_eq!(dir_names(dir.path()), [file_name(&whl)], "no file is left beside the wheel");
}

/// The unsafe names and how each must be named in an error (`{:?}` escapes the backslash).
fn unsafe_names() -> Vec<(&'static str, String)> {
    ["minik/../evil.py", "/tmp/evil.py", "minik\\evil.py"].into_iter().map(|n| (n, format!("{n:?}"))).collect()
}

#[test]
fn unsafe_archives_are_refused_by_both_commands() {
    let Some(m) = minik("unsafe_archives_are_refused_by_both_commands") else {
        return;
    };
    for (i, (name, shown)) in unsafe_names().into_iter().enumerate() {
        let dir = TempDir::new(&format!("fx-unsafe-{i}"));
        let whl = dir.path().join(file_name(&m.old));
        zip_edit(&m.old, &whl, "add", name, "print('evil')\n");
        let before = bytes(&whl);
        for command in ["check-wheel", "fix-wheel"] {
            let o = xtask(&[command, s(&whl)]);
            assert_eq!(o.status.code(), Some(2), "{command} must refuse an entry named {name:?}:\n{}", text(&o));
            assert!(text(&o).contains(&shown), "{command} must name the entry {name:?}:\n{}", text(&o));
            assert!(bytes(&whl) == before, "{command} changed a wheel it refused");
        }
        assert_eq!(dir_names(dir.path()), [file_name(&whl)], "no file is left beside the wheel");
    }
}

#[test]
fn duplicate_entry_names_are_refused_by_both_commands() {
    // Python's zipfile (and so pip) extracts both entries, the later one winning; a reader that
    // keeps one of them checks bytes that are not the ones installed.
    let Some(m) = minik("duplicate_entry_names_are_refused_by_both_commands") else {
        return;
    };
    let dir = TempDir::new("fx-duplicate");
    let whl = dir.path().join(file_name(&m.old));
    zip_edit(&m.old, &whl, "add", "minik/__init__.py", "print('evil')\n");
    let names: Vec<String> = zip_list(&whl).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names.iter().filter(|n| *n == "minik/__init__.py").count(),
        2,
        "the fixture must hold the name twice: {names:?}"
    );
    let before = bytes(&whl);
    for command in ["check-wheel", "fix-wheel"] {
        let o = xtask(&[command, s(&whl)]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{command} must refuse a wheel with two entries named minik/__init__.py:\n{}",
            text(&o)
        );
        assert!(text(&o).contains("minik/__init__.py"), "{command} must name the entry:\n{}", text(&o));
        assert!(bytes(&whl) == before, "{command} changed a wheel it refused");
    }
}

#[test]
fn one_broken_wheel_leaves_every_input_unchanged() {
    let Some(m) = minik("one_broken_wheel_leaves_every_input_unchanged") else {
        return;
    };
    let dir = TempDir::new("fx-several");
    let (good_dir, bad_dir) = (dir.path().join("good"), dir.path().join("bad"));
    std::fs::create_dir_all(&good_dir).unwrap();
    std::fs::create_dir_all(&bad_dir).unwrap();
    // The good one first, so a tool that writes as it goes would have rewritten it already.
    let good = copy_to(&m.old, &good_dir);
    let linux = copy_to(&m.linux, &good_dir);
    let bad = bad_dir.join(file_name(&m.old));
    zip_edit(&m.old, &bad, "add", "minik/../evil.py", "print('evil')\n");
    let inputs = [&good, &linux, &bad];
    let before: Vec<Vec<u8>> = inputs.iter().map(|p| bytes(p)).collect();

    let o = xtask(&["fix-wheel", s(&good), s(&linux), s(&bad)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("minik/../evil.py"), "the error must name the entry:\n{}", text(&o));
    for (p, b) in inputs.iter().zip(&before) {
        assert!(bytes(p) == *b, "{} changed although another input was broken:\n{}", p.display(), text(&o));
    }
    assert_eq!(dir_names(&good_dir).len(), 2, "no file is left beside the good wheels: {:?}", dir_names(&good_dir));
    // And with -o, nothing is written at all.
    let out = dir.path().join("out");
    let o = xtask(&["fix-wheel", "-o", s(&out), s(&good), s(&bad)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!out.exists() || dir_names(&out).is_empty(), "-o wrote {:?} although an input was broken", dir_names(&out));
}

#[test]
fn db_plugins_away_from_lib_db_is_a_problem() {
    let Some(m) = minik("db_plugins_away_from_lib_db_is_a_problem") else {
        return;
    };
    let (code, out, report) = check(&m.plugins_apart);
    assert_eq!(code, Some(1), "{out}");
    let p = problems(&report);
    assert!(
        p.iter().any(|l| l.contains("db_plugins")
            && l.contains(&format!("minik/.libs/lib_db{EXT}"))
            && l.contains("minik/db_plugins/")),
        "a problem must say db_plugins/ is not beside minik/.libs/lib_db:\n{out}"
    );
    assert_eq!(p.len(), 1, "every NEEDED entry resolves: the folder rule is the only problem:\n{out}");
    // fix-wheel does not guess at a layout that is not the old auditwheel one.
    let dir = TempDir::new("fx-apart");
    let whl = copy_to(&m.plugins_apart, &mkdir(dir.path().join("in")));
    let o = xtask(&["fix-wheel", s(&whl)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("db_plugins/ is not beside"), "fix-wheel must say why it refuses:\n{}", text(&o));
    assert!(bytes(&whl) == bytes(&m.plugins_apart), "fix-wheel changed a wheel it refused");
    // The defect is real: installed, lib_db finds no plugin.
    let o = install_and_run(&m.python, &m.plugins_apart, dir.path(), IMPORT_PY);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "0 42 42",
        "lib_db must find no plugin in this layout:\n{}",
        text(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// 4. The JSON report.

#[test]
fn check_wheel_json_has_the_documented_fields() {
    let Some(m) = minik("check_wheel_json_has_the_documented_fields") else {
        return;
    };
    let (code, doc) = check_json(&[&m.old, &m.linux]);
    assert_eq!(code, Some(1), "the worst verdict decides the exit code: {doc:#}");
    assert_eq!(doc["version"], 1, "{doc:#}");
    let wheels = doc["wheels"].as_array().unwrap_or_else(|| panic!("no wheels array: {doc:#}"));
    assert_eq!(wheels.len(), 2, "{doc:#}");
    // The linux_x86_64 wheel loads, but PyPI takes no linux_x86_64 wheels: verdict "pypi".
    for (r, whl, verdict) in [(&wheels[0], &m.old, "problems"), (&wheels[1], &m.linux, "pypi")] {
        assert_eq!(r["wheel"], file_name(whl), "{r:#}");
        assert_eq!(r["verdict"], verdict, "{r:#}");
        assert!(r["problems"].is_array() && r["pypi"].is_array() && r["warnings"].is_array(), "{r:#}");
        let findings = r["findings"].as_array().unwrap_or_else(|| panic!("no findings array: {r:#}"));
        assert!(
            findings.iter().all(|f| ["error", "pypi", "warning"].contains(&f["level"].as_str().unwrap_or(""))),
            "each finding carries its level: {r:#}"
        );
        assert!(r["overall_tag"].is_string(), "{r:#}");
        assert!(r["external_libs"].is_object(), "{r:#}");
        let vs =
            r["versioned_symbols"].as_object().unwrap_or_else(|| panic!("versioned_symbols is not an object: {r:#}"));
        assert!(
            vs.values().all(|v| v.as_array().is_some_and(|a| a.iter().all(Value::is_string))),
            "versioned_symbols maps a library to version names: {r:#}"
        );
        for field in ["missing", "unlisted", "mismatched"] {
            assert!(
                r["record"][field].as_array().is_some_and(Vec::is_empty),
                "record.{field} must be an empty array: {r:#}"
            );
        }
    }
    assert!(!problems(&wheels[0]).is_empty(), "{doc:#}");
    assert!(problems(&wheels[1]).is_empty(), "{doc:#}");
    assert!(
        wheels[1]["pypi"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("PyPI accepts no linux_x86_64")),
        "{doc:#}"
    );
    assert_eq!(wheels[0]["overall_tag"], "manylinux_2_5_x86_64", "{doc:#}");
    assert!(
        wheels[1]["versioned_symbols"]["libc.so.6"].as_array().is_some_and(|v| v.iter().any(|x| x == "GLIBC_2.2.5")),
        "{doc:#}"
    );
}

/// fix-wheel keeps the original's mode and owner (run as root, as CI runs), and a symlinked
/// input stays a link: the file it points to is replaced, in its own folder.
#[test]
fn fix_wheel_keeps_mode_owner_and_links() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Some(m) = minik("fix_wheel_keeps_mode_owner_and_links") else {
        return;
    };
    let dir = TempDir::new("fx-modes");
    for mode in [0o600, 0o444, 0o640] {
        let folder = mkdir(dir.path().join(format!("m{mode:o}")));
        let whl = copy_to(&m.old, &folder);
        std::fs::set_permissions(&whl, std::fs::Permissions::from_mode(mode)).unwrap();
        let root = std::fs::metadata(&folder).unwrap().uid() == 0;
        if root {
            std::os::unix::fs::chown(&whl, Some(4242), Some(4343)).unwrap();
        }
        let o = xtask(&["fix-wheel", s(&whl)]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let meta = std::fs::metadata(&whl).unwrap();
        assert_eq!(meta.mode() & 0o7777, mode, "the mode of a {mode:o} wheel");
        if root {
            assert_eq!((meta.uid(), meta.gid()), (4242, 4343), "the owner and group");
        }
        assert_eq!(dir_names(&folder), [file_name(&whl)], "no temporary file is left");
    }
    // A link to the wheel in another folder: the link stays, the real file is fixed.
    let real_dir = mkdir(dir.path().join("real"));
    let real = copy_to(&m.old, &real_dir);
    let links = mkdir(dir.path().join("links"));
    let link = links.join(file_name(&real));
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let before = bytes(&real);
    let o = xtask(&["fix-wheel", s(&link)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is still a link");
    assert!(bytes(&real) != before, "the file the link points to was fixed");
    assert_eq!(dir_names(&real_dir), [file_name(&real)], "no temporary file is left beside the real file");
}

/// `-o DIR` with two inputs of one name would write both to one file: refused, nothing written.
#[test]
fn fix_wheel_refuses_two_inputs_of_one_name_for_one_folder() {
    let Some(m) = minik("fix_wheel_refuses_two_inputs_of_one_name_for_one_folder") else {
        return;
    };
    let dir = TempDir::new("fx-dup-out");
    let a = copy_to(&m.old, &mkdir(dir.path().join("a")));
    let b = copy_to(&m.old, &mkdir(dir.path().join("b")));
    let out = dir.path().join("out");
    let o = xtask(&["fix-wheel", "-o", s(&out), s(&a), s(&b)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("have the same name"), "{}", text(&o));
    assert!(!out.exists(), "nothing was written");
}

/// An extension module whose RPATH is `$ORIGIN/__init__.py`: the old-layout move would put the
/// libraries into a folder named like a file the wheel has. fix-wheel refuses it and changes
/// nothing (it never makes a file that is also a folder).
#[test]
fn fix_wheel_never_makes_a_file_that_is_also_a_folder() {
    let Some(m) = minik("fix_wheel_never_makes_a_file_that_is_also_a_folder") else {
        return;
    };
    let dir = TempDir::new("fx-file-folder");
    let tree = dir.path().join("tree");
    let o = crate::support::python(
        "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
        &[s(&m.old), s(&tree)],
    );
    assert!(o.status.success(), "{}", text(&o));
    let pkg = tree.join("minik");
    for e in std::fs::read_dir(&pkg).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".so") && !name.starts_with("lib_") {
            let o = Command::new(&tools().patchelf)
                .args(["--force-rpath", "--set-rpath", "$ORIGIN/__init__.py"])
                .arg(&p)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", text(&o));
        }
    }
    std::fs::write(pkg.join("__init__.py"), "").unwrap();
    std::fs::remove_dir_all(tree.join(".libs")).ok();
    let di = tree.join("minik-1.0.dist-info");
    std::fs::remove_file(di.join("RECORD")).unwrap();
    let whl = crate::support::pack_wheel(&tree, &dir.path().join("out"));
    let before = bytes(&whl);
    let o = xtask(&["fix-wheel", s(&whl)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("a file and a folder at once"), "{}", text(&o));
    assert!(bytes(&whl) == before, "the wheel was not changed");
}
