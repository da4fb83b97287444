//! The pyenv stand-in's interpreters: this machine's pyenv CPythons copied in at their own
//! absolute paths (they are built with `--enable-shared` and carry absolute RPATHs and
//! shebangs), linked from `/opt/python/<tag>`.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};
use xtask::processes::interpreters;
use xtask::processes::runner::Runner;

use super::rootfs::{open_ancestors, remove_entry};

/// What the pyenv interpreters and their lib-dynload modules load at run time, from Debian
/// 12 (found with `ldd` over `bin/python3`, `libpython3.X.so` and `lib-dynload/*.so`, leaving
/// out `_tkinter`), and the Debian ccache the pyenv image has always had beside the mounted one.
pub(super) const RUNTIME_PACKAGES: &[&str] = &[
    "ccache",
    "libbz2-1.0",
    "libcrypt1",
    "libffi8",
    "libgssapi-krb5-2",
    "liblzma5",
    "libncursesw6",
    "libnsl2",
    "libreadline8",
    "libsqlite3-0",
    "libssl3",
    "libtinfo6",
    "libtirpc3",
    "libuuid1",
    "zlib1g",
];

/// The interpreters of an image when the caller names none.
pub(super) const DEFAULT_PYTHONS: &[&str] = &["3.11", "3.12", "3.13"];

/// Entries of an interpreter's `bin/` that are copied; the rest are scripts of packages that
/// stay behind (the pypa images ship pip and nothing else).
const KEPT_BIN_PREFIXES: &[&str] = &["python", "pip", "pydoc", "2to3"];

/// What of `site-packages` is copied: pip only, as in the pypa images.
const KEPT_SITE_PACKAGES_PREFIXES: &[&str] = &["pip", "README"];

/// Test suites inside the standard library (relative to `lib/pythonX.Y`), dropped from the
/// copies to save space; the top-level `test/` (120 MB) is never copied at all.
const DROPPED_STDLIB_DIRS: &[&str] = &[
    "ctypes/test",
    "distutils/tests",
    "idlelib/idle_test",
    "lib2to3/tests",
    "sqlite3/test",
    "tkinter/test",
    "unittest/test",
];

/// One interpreter as it goes into the image and into the inputs hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Python {
    /// Its full version, as it reports it ("3.11.7").
    version: String,
    /// Its `/opt/python` folder name, as it reports it ("cp311-cp311").
    tag: String,
    /// Its `sys.prefix`: copied to the same absolute path inside the image.
    prefix: PathBuf,
    /// Size and modification time (ns since the epoch) of its `bin/python`: a rebuilt
    /// interpreter of the same version changes them.
    size: u64,
    mtime_ns: u128,
}

/// The newest installed pyenv CPython of each requested minor version, as each reports itself.
pub(super) fn find_pythons(sh: &Shell, minors: &[String]) -> Result<Vec<Python>> {
    let mut minors: Vec<(u32, u32)> = minors
        .iter()
        .map(|m| {
            parse_minor(m).with_context(|| format!("invalid Python version {m:?}: give a minor version like 3.12"))
        })
        .collect::<Result<_>>()?;
    minors.sort();
    minors.dedup();
    if minors.is_empty() {
        bail!("no Python versions given for the stand-in image: name at least one, like 3.12");
    }
    let root = pyenv_root(sh)?;
    let versions = root.join("versions");
    let names: Vec<String> = sh
        .read_dir(&versions)
        .with_context(|| format!("cannot list the pyenv versions in {}", versions.display()))?
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
        .collect();
    let mut pythons = Vec::new();
    for (major, minor) in minors {
        let Some(name) = newest_release(&names, major, minor) else {
            bail!(
                "no pyenv CPython {major}.{minor} under {}: install one with `pyenv install {major}.{minor}`",
                versions.display()
            );
        };
        let python = versions.join(&name).join("bin/python");
        pythons.push(query_python(sh, &python).with_context(|| format!("cannot ask {} what it is", python.display()))?);
    }
    Ok(pythons)
}

/// pyenv's root folder: `$PYENV_ROOT`, else what `pyenv root` says.
fn pyenv_root(sh: &Shell) -> Result<PathBuf> {
    if let Some(root) = sh.var_os("PYENV_ROOT").filter(|r| !r.is_empty()) {
        return Ok(PathBuf::from(root));
    }
    let root = cmd!(sh, "pyenv root").quiet().read().context(
        "cannot find pyenv (neither PYENV_ROOT nor `pyenv root`): the stand-in image copies its interpreters from pyenv",
    )?;
    Ok(PathBuf::from(root.trim()))
}

/// Asks the interpreter (the product's own probe) for its version, tag and prefix.
fn query_python(sh: &Shell, python: &Path) -> Result<Python> {
    let host = Runner::host(std::time::Duration::from_secs(60));
    let r = interpreters::probe(sh, &host, &python.display().to_string())?;
    if r.implementation != "CPython" {
        bail!("{} is {}, not CPython", python.display(), r.implementation);
    }
    let meta = std::fs::metadata(python).with_context(|| format!("cannot stat {}", python.display()))?;
    let mtime_ns = meta.modified()?.duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    Ok(Python { version: r.version, tag: r.tag, prefix: PathBuf::from(r.prefix), size: meta.len(), mtime_ns })
}

/// Copies each interpreter to its own absolute path inside the root filesystem (its RPATH
/// and its scripts' shebangs point there) and links `/opt/python/<tag>` to it.
pub(super) fn copy_interpreters(sh: &Shell, rootfs: &Path, pythons: &[Python]) -> Result<()> {
    for python in pythons {
        eprintln!("stand-in: copying CPython {} ({})", python.version, python.tag);
        copy_interpreter(sh, rootfs, python)
            .with_context(|| format!("cannot copy CPython {} into the image", python.version))?;
        let link = rootfs.join("opt/python").join(&python.tag);
        sh.create_dir(link.parent().unwrap())?;
        std::os::unix::fs::symlink(&python.prefix, &link).with_context(|| format!("cannot link {}", link.display()))?;
        // Containers may run as the invoking user; every folder above the prefix (such as
        // /root for a pyenv in root's home) must let them through.
        open_ancestors(rootfs, &python.prefix)?;
    }
    Ok(())
}

/// The copy itself: everything but the stdlib's test suites, the static libpython (an
/// extension never links it), the site-packages other than pip, and scripts of other
/// packages. Rust picks the entries; `cp -a` keeps modes, links and times.
fn copy_interpreter(sh: &Shell, rootfs: &Path, python: &Python) -> Result<()> {
    let src = &python.prefix;
    let dst = rootfs.join(python.prefix.strip_prefix("/").unwrap_or(&python.prefix));
    let stdlib_name = stdlib_dir_name(&python.version)?;
    let stdlib = src.join("lib").join(&stdlib_name);
    let dst_stdlib = dst.join("lib").join(&stdlib_name);
    let dst_bin = dst.join("bin");
    let dst_lib = dst.join("lib");
    let dst_site = dst_stdlib.join("site-packages");
    for d in [&dst_bin, &dst_site] {
        sh.create_dir(d)?;
    }
    let keep = |dir: &Path, pred: &dyn Fn(&str) -> bool| -> Result<Vec<PathBuf>> {
        Ok(sh.read_dir(dir)?.into_iter().filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(pred)).collect())
    };
    let top = keep(src, &|n| n != "bin" && n != "lib")?;
    let bin = keep(&src.join("bin"), &|n| KEPT_BIN_PREFIXES.iter().any(|k| n.starts_with(k)))?;
    let lib = keep(&src.join("lib"), &|n| n != stdlib_name)?;
    let std = keep(&stdlib, &|n| n != "test" && n != "site-packages")?;
    let site = keep(&stdlib.join("site-packages"), &|n| KEPT_SITE_PACKAGES_PREFIXES.iter().any(|k| n.starts_with(k)))?;
    for (sources, dest) in [(top, &dst), (bin, &dst_bin), (lib, &dst_lib), (std, &dst_stdlib), (site, &dst_site)] {
        if !sources.is_empty() {
            cmd!(sh, "cp -a {sources...} {dest}").quiet().run()?;
        }
    }
    for d in DROPPED_STDLIB_DIRS {
        remove_entry(&dst_stdlib.join(d))?;
    }
    for config in keep(&dst_stdlib, &|n| n.starts_with("config-"))? {
        for a in keep(&config, &|n| n.starts_with("libpython") && n.ends_with(".a"))? {
            remove_entry(&a)?;
        }
    }
    Ok(())
}

/// "3.11" as (3, 11); None for anything else.
pub(super) fn parse_minor(s: &str) -> Option<(u32, u32)> {
    let (major, minor) = s.split_once('.')?;
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || !digits(minor) {
        return None;
    }
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The newest "X.Y.Z" folder among pyenv's version names for X.Y (pre-releases, `-dev`,
/// free-threaded `t` builds and virtualenvs are not taken).
fn newest_release(names: &[String], major: u32, minor: u32) -> Option<String> {
    names
        .iter()
        .filter_map(|n| {
            let mut parts = n.split('.');
            let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || !c.bytes().all(|x| x.is_ascii_digit()) {
                return None;
            }
            let patch: u32 = c.parse().ok()?;
            (parse_minor(&format!("{a}.{b}"))? == (major, minor)).then_some((patch, n))
        })
        .max()
        .map(|(_, n)| n.clone())
}

/// "pythonX.Y", the stdlib folder's name, from a full version.
fn stdlib_dir_name(version: &str) -> Result<String> {
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => Ok(format!("python{a}.{b}")),
        _ => bail!("unexpected Python version {version:?}"),
    }
}

/// The lines the interpreters add to the image's inputs hash.
pub(super) fn inputs(pythons: &[Python]) -> String {
    pythons
        .iter()
        .map(|p| format!("python {} {} {} {} {}\n", p.version, p.tag, p.prefix.display(), p.size, p.mtime_ns))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn py(version: &str, tag: &str, size: u64) -> Python {
        Python {
            version: version.into(),
            tag: tag.into(),
            prefix: PathBuf::from(format!("/root/.pyenv/versions/{version}")),
            size,
            mtime_ns: 1_700_000_000_000_000_000,
        }
    }

    #[test]
    fn the_inputs_see_every_interpreter_detail() {
        let a = vec![py("3.11.7", "cp311-cp311", 17584), py("3.12.1", "cp312-cp312", 17600)];
        let h = inputs(&a);
        assert_eq!(h, inputs(&a.clone()), "same inputs, same lines");
        let mut b = a.clone();
        b[0].size += 1;
        assert_ne!(h, inputs(&b), "a rebuilt interpreter counts");
        let mut c = a.clone();
        c[1].version = "3.12.2".into();
        assert_ne!(h, inputs(&c), "a new patch release counts");
        assert_ne!(h, inputs(&a[..1]), "the set of interpreters counts");
    }

    #[test]
    fn python_versions_are_validated_and_matched_to_pyenv_folders() {
        assert_eq!(parse_minor("3.11"), Some((3, 11)));
        for bad in ["3", "3.11.7", "3.x", "", "3.", "a.b", "3.11;rm"] {
            assert_eq!(parse_minor(bad), None, "{bad:?}");
        }
        let names: Vec<String> = ["3.11.7", "3.11.10", "3.11-dev", "3.11.4t", "3.12.1", "3.110.0", "pypy3.11-7.3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(newest_release(&names, 3, 11).as_deref(), Some("3.11.10"));
        assert_eq!(newest_release(&names, 3, 12).as_deref(), Some("3.12.1"));
        assert_eq!(newest_release(&names, 3, 13), None);
        assert_eq!(stdlib_dir_name("3.13.0").unwrap(), "python3.13");
    }
}
