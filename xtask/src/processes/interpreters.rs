//! The interpreters a runner has, each asked for its own tag (never guessed from a folder
//! name), and the selection `--python` / `--all` makes of them.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use xshell::{cmd, Shell};

use super::runner::{Place, Runner};
use crate::library::config::glob;
use crate::library::names;

/// Asks an interpreter for its tag and what it can do. Python 2.7 compatible on purpose: it
/// runs on every interpreter found, including the ones the user will skip.
const PROBE: &str = r#"
import json, platform, sys, sysconfig
v = sys.version_info
abi = getattr(sys, "abiflags", None)
if abi is None:
    abi = ""
    if sysconfig.get_config_var("Py_DEBUG"): abi += "d"
    if sysconfig.get_config_var("WITH_PYMALLOC"): abi += "m"
    if sysconfig.get_config_var("Py_UNICODE_SIZE") == 4: abi += "u"
impl = platform.python_implementation()
if impl == "CPython":
    py = "cp%d%d" % (v[0], v[1]); tag = "%s-%s%s" % (py, py, abi)
elif impl == "PyPy":
    pp = sys.pypy_version_info
    py = "pp%d%d" % (v[0], v[1]); tag = "%s-pypy%d%d_pp%d%d" % (py, v[0], v[1], pp[0], pp[1])
else:
    py = impl.lower(); tag = py
def has(m):
    try:
        __import__(m); return True
    except Exception:
        return False
cv = sysconfig.get_config_var
print(json.dumps({"tag": tag, "version": "%d.%d.%d" % (v[0], v[1], v[2]), "executable": sys.executable,
                  "implementation": impl, "prefix": sys.prefix,
                  "pip": has("pip"), "venv": has("venv") and has("ensurepip"),
                  "cc": cv("CC") or "gcc", "cxx": cv("CXX") or "g++", "cflags": cv("CFLAGS") or "",
                  "ldshared": cv("LDSHARED") or "", "ldcxxshared": cv("LDCXXSHARED") or ""}))
"#;

/// One interpreter.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Interpreter {
    /// `cp311-cp311`, `cp27-cp27mu`, `cp313-cp313t`.
    pub tag: String,
    pub version: String,
    /// "CPython", "PyPy".
    #[serde(default)]
    pub implementation: String,
    /// Its `sys.prefix`, as the runner sees it.
    #[serde(default)]
    pub prefix: String,
    /// The path to run, as the runner sees it.
    #[serde(skip)]
    pub python: String,
    pub pip: bool,
    pub venv: bool,
    /// The compilers and flags the interpreter's sysconfig injects into every build.
    pub cc: String,
    pub cxx: String,
    pub cflags: String,
    /// The link lines setuptools uses (see link.rs for what the build does with them).
    #[serde(default)]
    pub ldshared: String,
    #[serde(default)]
    pub ldcxxshared: String,
}

impl Interpreter {
    /// The Python part of the tag (`cp311`).
    pub fn python_tag(&self) -> &str {
        self.tag.split('-').next().unwrap_or(&self.tag)
    }

    /// A free-threaded build (`cp314-cp314t`).
    pub fn free_threaded(&self) -> bool {
        names::free_threaded(&self.tag)
    }
}

/// Every interpreter the runner has: `/opt/python/*/bin/python` (the manylinux layout), else
/// pyenv's versions, else `python3.X` / `python2.7` on PATH (host only).
pub fn discover(sh: &Shell, runner: &Runner) -> Result<Vec<Interpreter>> {
    let candidates = candidates(sh, runner)?;
    if candidates.is_empty() {
        bail!("no Python interpreter found (looked in /opt/python/*/bin, $(pyenv root)/versions/*/bin, and python3.X on PATH)");
    }
    let mut found: Vec<Interpreter> = Vec::new();
    for python in candidates {
        match probe(sh, runner, &python) {
            Ok(i) if !found.iter().any(|f| f.tag == i.tag) => found.push(i),
            Ok(_) => {}
            Err(e) => eprintln!("xtask: skipping {python}: {e:#}"),
        }
    }
    found.sort_by_key(order);
    Ok(found)
}

/// Interpreters in version order, a GIL build before its free-threaded twin (whatever their
/// patch releases: a distribution may ship 3.14.8 beside a free-threaded 3.14.7).
fn order(i: &Interpreter) -> (Vec<u32>, bool, Vec<u32>) {
    let v = version_key(&i.version);
    (v.iter().take(2).copied().collect(), i.free_threaded(), v)
}

fn version_key(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

fn candidates(sh: &Shell, runner: &Runner) -> Result<Vec<String>> {
    match &runner.place {
        Place::Container { .. } => {
            // The image's own listing: the pypa layout is the contract.
            let job = runner.cmd(
                sh,
                "sh",
                &["-c".into(), "ls -d /opt/python/*/bin/python 2>/dev/null || true".into()],
                Path::new("/"),
                &[],
            );
            let out = job.cmd.quiet().read().context("cannot list /opt/python in the container")?;
            Ok(out.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
        }
        Place::Host => {
            let opt = glob_bins(Path::new("/opt/python"));
            if !opt.is_empty() {
                return Ok(opt);
            }
            let pyenv_root = std::env::var_os("PYENV_ROOT").map(PathBuf::from).or_else(|| {
                cmd!(sh, "pyenv root").quiet().ignore_stderr().read().ok().map(|s| PathBuf::from(s.trim()))
            });
            if let Some(root) = pyenv_root {
                let pyenv = glob_bins(&root.join("versions"));
                if !pyenv.is_empty() {
                    return Ok(pyenv);
                }
            }
            let mut on_path = Vec::new();
            let names = ["python2.7".to_string()]
                .into_iter()
                .chain((6..=MAX_MINOR).map(|m| format!("python3.{m}")))
                .chain((FIRST_FREE_THREADED..=MAX_MINOR).map(|m| format!("python3.{m}t")));
            for name in names {
                if let Ok(p) = cmd!(sh, "which {name}").quiet().ignore_stderr().read() {
                    on_path.push(p.trim().to_string());
                }
            }
            Ok(on_path)
        }
    }
}

/// The newest CPython 3 minor version looked for on PATH (`python3.15`), and the first with a
/// free-threaded build (`python3.13t`).
const MAX_MINOR: u32 = 15;
const FIRST_FREE_THREADED: u32 = 13;

/// `<dir>/*/bin/python` that exist, sorted.
fn glob_bins(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin/python"))
                .filter(|p| p.exists())
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Asks one interpreter who it is.
pub fn probe(sh: &Shell, runner: &Runner, python: &str) -> Result<Interpreter> {
    let job = runner.cmd(sh, python, &["-c".into(), PROBE.into()], Path::new("/"), &[]);
    let out = job.cmd.quiet().ignore_stderr().read().with_context(|| format!("{python} does not run"))?;
    let mut i: Interpreter = serde_json::from_str(out.trim()).with_context(|| format!("{python} gave no tag"))?;
    i.python = python.to_string();
    Ok(i)
}

/// The interpreters selected: `--python` selectors (tags and globs, `{a,b}` alternatives),
/// or with `all` every one not in `skip`. A selector that matches nothing is an error that
/// lists what exists.
pub fn select(found: &[Interpreter], selectors: &[String], all: bool, skip: &[String]) -> Result<Vec<Interpreter>> {
    let listing = || found.iter().map(|i| i.tag.as_str()).collect::<Vec<_>>().join(", ");
    if selectors.is_empty() {
        if !all {
            bail!("no interpreter selected: pass --all or --python SEL (found: {})", listing());
        }
        let skips = skip.iter().map(|s| glob(s)).collect::<Result<Vec<_>>>().context("the config's skip list")?;
        let chosen: Vec<Interpreter> = found.iter().filter(|i| !skips.iter().any(|s| matches(s, i))).cloned().collect();
        if chosen.is_empty() {
            bail!("--all leaves no interpreter: every one found ({}) is in the config's skip list", listing());
        }
        return Ok(chosen);
    }
    let mut chosen: Vec<Interpreter> = Vec::new();
    for sel in selectors {
        validate_selector(sel)?;
        let matcher = glob(sel)?;
        let matched: Vec<&Interpreter> = found.iter().filter(|i| matches(&matcher, i)).collect();
        if matched.is_empty() {
            bail!("--python {sel} matches no interpreter here; there are: {}", listing());
        }
        for m in matched {
            if !chosen.contains(m) {
                chosen.push(m.clone());
            }
        }
    }
    chosen.sort_by_key(order);
    Ok(chosen)
}

/// How an image's interpreters differ from what the config says it ships, in words; None
/// when they are the same set.
pub fn drift(expected: &[String], found: &[String]) -> Option<String> {
    let missing: Vec<&str> = expected.iter().filter(|t| !found.contains(t)).map(String::as_str).collect();
    let extra: Vec<&str> = found.iter().filter(|t| !expected.contains(t)).map(String::as_str).collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("the config lists {} but the image lacks them", missing.join(", ")));
    }
    if !extra.is_empty() {
        parts.push(format!("the image has {} which the config does not list", extra.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The longest `--python` selector taken.
const MAX_SELECTOR_LEN: usize = 128;

/// Selectors reach command lines and file names: only tag characters and glob syntax, a
/// bounded length, and a valid glob.
pub fn validate_selector(sel: &str) -> Result<()> {
    if sel.is_empty()
        || sel.len() > MAX_SELECTOR_LEN
        || !sel.chars().all(|c| c.is_ascii_alphanumeric() || "_-*?{},.".contains(c))
    {
        bail!(
            "--python {} is not a tag or glob (letters, digits, _ - * ? {{ }} , only; at most {MAX_SELECTOR_LEN} characters)",
            crate::library::text::quoted(sel)
        );
    }
    glob(sel).with_context(|| format!("--python {sel}"))?;
    Ok(())
}

/// A selector matches the whole tag or the short one: `cp311` matches `cp311-cp311`,
/// `cp314t` (or `cp31?t`) the free-threaded `cp314-cp314t` and `cp314` only its GIL twin.
fn matches(sel: &globset::GlobMatcher, i: &Interpreter) -> bool {
    names::tag_matches(sel, &i.tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interp(tag: &str, version: &str) -> Interpreter {
        Interpreter {
            tag: tag.into(),
            version: version.into(),
            implementation: "CPython".into(),
            prefix: format!("/x/{tag}"),
            python: format!("/x/{tag}"),
            pip: true,
            venv: true,
            cc: "gcc".into(),
            cxx: "g++".into(),
            cflags: String::new(),
            ldshared: String::new(),
            ldcxxshared: String::new(),
        }
    }

    fn found() -> Vec<Interpreter> {
        vec![
            interp("cp27-cp27mu", "2.7.18"),
            interp("cp38-cp38", "3.8.18"),
            interp("cp310-cp310", "3.10.13"),
            interp("cp311-cp311", "3.11.7"),
            interp("cp312-cp312", "3.12.1"),
            interp("cp314-cp314t", "3.14.7"),
            interp("cp314-cp314", "3.14.8"),
        ]
    }

    fn tags(v: &[Interpreter]) -> Vec<&str> {
        v.iter().map(|i| i.tag.as_str()).collect()
    }

    #[test]
    fn selectors() {
        let f = found();
        assert_eq!(tags(&select(&f, &["cp311".into()], false, &[]).unwrap()), ["cp311-cp311"]);
        assert_eq!(tags(&select(&f, &["cp311-cp311".into()], false, &[]).unwrap()), ["cp311-cp311"]);
        assert_eq!(tags(&select(&f, &["cp3{10,11}*".into()], false, &[]).unwrap()), ["cp310-cp310", "cp311-cp311"]);
        assert_eq!(
            tags(&select(&f, &["cp312".into(), "cp38".into()], false, &[]).unwrap()),
            ["cp38-cp38", "cp312-cp312"]
        );
        assert_eq!(tags(&select(&f, &[], true, &["cp27-*".into()]).unwrap()).len(), 6);
        // Free-threaded builds are apart from their GIL twins, and come after them.
        assert_eq!(tags(&select(&f, &["cp314".into()], false, &[]).unwrap()), ["cp314-cp314"]);
        assert_eq!(tags(&select(&f, &["cp314t".into()], false, &[]).unwrap()), ["cp314-cp314t"]);
        assert_eq!(tags(&select(&f, &["cp31?t".into()], false, &[]).unwrap()), ["cp314-cp314t"]);
        assert_eq!(tags(&select(&f, &["cp314*".into()], false, &[]).unwrap()), ["cp314-cp314", "cp314-cp314t"]);
        assert_eq!(tags(&select(&f, &[], true, &["*t".into()]).unwrap()).len(), 6);
        assert_eq!(tags(&select(&f, &[], true, &["cp314t".into(), "cp2*".into()]).unwrap()).len(), 5);
        let e = select(&f, &["cp39".into()], false, &[]).unwrap_err().to_string();
        assert!(e.contains("cp39") && e.contains("cp311-cp311"), "{e}");
        assert!(select(&f, &[], false, &[]).is_err());
        assert!(select(&f, &["cp311; rm -rf /".into()], false, &[]).is_err());
    }

    #[test]
    fn drift_between_config_and_image() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(drift(&v(&["cp313-cp313"]), &v(&["cp313-cp313"])), None);
        let d = drift(&v(&["cp38-cp38", "cp313-cp313"]), &v(&["cp313-cp313", "cp314-cp314t"])).unwrap();
        assert!(d.contains("lists cp38-cp38 but the image lacks") && d.contains("has cp314-cp314t which"), "{d}");
    }

    #[test]
    fn braces_and_long_selectors() {
        let f = found();
        assert_eq!(tags(&select(&f, &["cp{27,38}*".into()], false, &[]).unwrap()), ["cp27-cp27mu", "cp38-cp38"]);
        assert_eq!(tags(&select(&f, &["cp3{10,12}".into()], false, &[]).unwrap()), ["cp310-cp310", "cp312-cp312"]);
        // Many alternatives and stars: matched in linear time, refused above the length limit.
        let wide = format!("cp3{{{}}}*", (0..30).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
        assert_eq!(
            tags(&select(&f, &[wide], false, &[]).unwrap()),
            ["cp38-cp38", "cp310-cp310", "cp311-cp311", "cp312-cp312", "cp314-cp314", "cp314-cp314t"]
        );
        let stars = "*c*p*3*1*1*".repeat(11);
        assert!(validate_selector(&stars).is_ok());
        assert!(select(&f, &[stars], false, &[]).is_err(), "matches nothing, quickly");
        assert!(validate_selector(&"*".repeat(129)).is_err());
        assert!(validate_selector("cp3{10,11").is_err(), "an unclosed brace is refused");
    }
}
