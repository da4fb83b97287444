//! Debian's own CPythons (the current and arm64 stand-ins): installed by debootstrap from the
//! suite's packages, with their `-dev` headers and `-venv` (ensurepip), and linked at
//! `/opt/python/<tag>/bin` as the pypa images have them.

use std::path::Path;

use anyhow::{Context, Result};
use xshell::Shell;

/// Debian's packages of the CPython `minor` ("3.14"): the interpreter, its headers (to build
/// extensions) and its venv module (ensurepip, which the build and test venvs use). Up to 3.11
/// Debian's venv package depends on python3.X-distutils, which only python3-distutils provides (a
/// virtual package debootstrap's resolver does not follow), so that one is named.
pub(super) fn packages(minors: &[&str]) -> Vec<String> {
    let mut p = Vec::new();
    for m in minors {
        p.extend([format!("python{m}"), format!("python{m}-dev"), format!("python{m}-venv")]);
        if super::pyenv::parse_minor(m).is_some_and(|v| v < (3, 12)) {
            p.push("python3-distutils".to_string());
        }
    }
    p
}

/// The `/opt/python` folder of Debian's CPython `minor`: "3.14" is "cp314-cp314".
pub(super) fn tag(minor: &str) -> String {
    let digits: String = minor.chars().filter(char::is_ascii_digit).collect();
    format!("cp{digits}-cp{digits}")
}

/// `/opt/python/<tag>/bin/{python,python3,pythonX.Y}` pointing at Debian's `/usr/bin/pythonX.Y`
/// (sys.prefix stays /usr, where its headers and sysconfig are).
pub(super) fn link_interpreters(sh: &Shell, rootfs: &Path, minors: &[&str]) -> Result<()> {
    for m in minors {
        let target = format!("/usr/bin/python{m}");
        if !rootfs.join(target.trim_start_matches('/')).exists() {
            anyhow::bail!("Debian's {target} is missing from the root filesystem");
        }
        let bin = rootfs.join("opt/python").join(tag(m)).join("bin");
        sh.create_dir(&bin)?;
        for name in ["python".to_string(), "python3".to_string(), format!("python{m}")] {
            let link = bin.join(&name);
            std::os::unix::fs::symlink(&target, &link).with_context(|| format!("cannot link {}", link.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_interpreters_and_their_tags() {
        assert_eq!(tag("3.14"), "cp314-cp314");
        assert_eq!(tag("3.9"), "cp39-cp39");
        assert_eq!(packages(&["3.15"]), ["python3.15", "python3.15-dev", "python3.15-venv"]);
        assert_eq!(packages(&["3.11"]), ["python3.11", "python3.11-dev", "python3.11-venv", "python3-distutils"]);
    }
}
