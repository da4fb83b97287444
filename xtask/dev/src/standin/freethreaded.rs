//! The current stand-in's free-threaded CPython 3.14, built from Debian's source of python3.14
//! inside the root filesystem (`./configure --disable-gil`, no PGO, Debian's own `OPT` flags and
//! compiler names so the compile-cache comparison with Debian's GIL build is honest), installed at
//! `/opt/_internal/cpython-<version>-nogil` and linked from `/opt/python/cp314-cp314t` as in the
//! pypa images. The build takes minutes on 2 cores, so its installed tree is kept under
//! `target/xtask-standin/builds/`, keyed by everything it was made from: a machine builds it
//! once, and a new image recipe unpacks it again.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use xshell::{cmd, Shell};

use super::rootfs::{chroot_env, last_lines, remove_entry, unmount_below};

/// The `/opt/python` folder name, as the pypa images have it.
pub(super) const TAG: &str = "cp314-cp314t";

/// The upstream version in Debian's source package. The mirror reachable here serves the
/// source of python3.14 3.14.7-1 (its .dsc names this tarball and hash); the binary packages
/// of the testing release are 3.14.8. The patch releases differ in bug fixes only, not in the
/// headers' ABI or the flags extensions compile with.
const VERSION: &str = "3.14.7";

/// Debian's original tarball of python3.14 3.14.7-1 and its sha256 (from
/// `python3.14_3.14.7-1.dsc`, read on 2026-12-03).
const SOURCE_URL: &str = "http://deb.debian.org/debian/pool/main/p/python3.14/python3.14_3.14.7.orig.tar.xz";
const SOURCE_SHA256: &str = "3b48dac8fb59f62eaa67ac83c1eb12bda1b7a08406dd286e252c11a66be27f81";

/// Where the build is installed inside the image.
const PREFIX: &str = "/opt/_internal/cpython-3.14.7-nogil";

/// What configure needs to build the standard library's extension modules (ssl, ctypes,
/// sqlite3, lzma, bz2, readline, curses, uuid; zlib and bz2 headers are common packages).
pub(super) const BUILD_PACKAGES: &[&str] = &[
    "pkgconf",
    "libssl-dev",
    "libffi-dev",
    "liblzma-dev",
    "libsqlite3-dev",
    "libreadline-dev",
    "libncurses-dev",
    "uuid-dev",
];

/// configure's options besides `OPT`.
const CONFIGURE: &str = "--disable-gil --with-ensurepip=install --without-static-libpython";

/// The lines the build adds to the image's inputs hash.
pub(super) fn inputs() -> String {
    format!("freethreaded {VERSION} {SOURCE_SHA256} {PREFIX} {CONFIGURE} OPT,CC,CXX from Debian's python3.14\n")
}

/// Builds (or unpacks the kept build of) the free-threaded interpreter into `rootfs` and links
/// it at `/opt/python/cp314-cp314t`. `root` is `target/xtask-standin`; `platform` names the
/// suite and architecture for the cache key.
pub(super) fn install(sh: &Shell, rootfs: &Path, root: &Path, platform: &str) -> Result<()> {
    let script = "import sysconfig; print('\\n'.join(sysconfig.get_config_var(v) for v in ('OPT', 'CC', 'CXX')))";
    let debian = chroot_env(sh, cmd!(sh, "chroot {rootfs} /usr/bin/python3.14 -c {script}"))
        .quiet()
        .read()
        .context("cannot ask Debian's python3.14 for its OPT, CC and CXX")?;
    let mut lines = debian.lines();
    let (Some(opt), Some(cc), Some(cxx)) = (lines.next(), lines.next(), lines.next()) else {
        bail!("Debian's python3.14 printed {debian:?} for OPT, CC and CXX");
    };
    let debian = Debian { opt: configure_opt(opt), cc: cc.trim().to_string(), cxx: cxx.trim().to_string() };
    let key: String = Sha256::digest(format!("{}{platform}\n{debian:?}\n", inputs()).as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    let builds = root.join("builds");
    sh.create_dir(&builds)?;
    let kept = builds.join(format!("cpython-{VERSION}-nogil-{key}.tar"));
    let inside = rootfs.join(PREFIX.trim_start_matches('/'));
    if kept.is_file() {
        eprintln!("stand-in: free-threaded CPython {VERSION}: unpacking the build kept in {}", kept.display());
        cmd!(sh, "tar -C {rootfs} -xf {kept}").run().context("cannot unpack the kept free-threaded build")?;
    } else {
        let source = fetch_source(sh, root)?;
        build(sh, rootfs, &source, &debian)?;
        // Kept under a temporary name first, so an interrupted pack never passes for a build.
        let partial = builds.join(format!(".cpython-{VERSION}-nogil-{key}.tar.partial"));
        let prefix_rel = PREFIX.trim_start_matches('/');
        cmd!(sh, "tar --numeric-owner -C {rootfs} -cf {partial} {prefix_rel}")
            .run()
            .context("cannot keep the build")?;
        std::fs::rename(&partial, &kept).with_context(|| format!("cannot rename {}", partial.display()))?;
    }
    if !inside.join("bin/python3.14t").exists() {
        bail!("the free-threaded build has no {PREFIX}/bin/python3.14t");
    }
    let bin = inside.join("bin");
    for name in ["python", "python3"] {
        if !bin.join(name).exists() {
            std::os::unix::fs::symlink("python3.14t", bin.join(name))?;
        }
    }
    let link = rootfs.join("opt/python").join(TAG);
    sh.create_dir(link.parent().unwrap())?;
    std::os::unix::fs::symlink(PREFIX, &link).with_context(|| format!("cannot link {}", link.display()))?;
    Ok(())
}

/// What the free-threaded build takes from Debian's own python3.14: the compiler drivers by
/// the names Debian's sysconfig gives them (ccache hashes the driver's name, so `gcc` and
/// `x86_64-linux-gnu-gcc` would never share an object) and `OPT` (see [`configure_opt`]).
#[derive(Debug)]
struct Debian {
    opt: String,
    cc: String,
    cxx: String,
}

/// The `OPT` to give configure for the flags Debian's build reports: configure puts
/// `-DNDEBUG` in front of a given `OPT` itself (a release build), so it is taken out here, or
/// the free-threaded build's CFLAGS would carry it twice where Debian's carry it once.
fn configure_opt(debian_opt: &str) -> String {
    debian_opt.split_whitespace().filter(|w| *w != "-DNDEBUG").collect::<Vec<_>>().join(" ")
}

/// Debian's tarball, downloaded once into `target/xtask-standin/sources/` and checked against
/// its pinned sha256 every time it is used.
fn fetch_source(sh: &Shell, root: &Path) -> Result<PathBuf> {
    let dir = root.join("sources");
    sh.create_dir(&dir)?;
    let file = dir.join(SOURCE_URL.rsplit('/').next().unwrap());
    if !file.is_file() {
        eprintln!("stand-in: downloading {SOURCE_URL}");
        let partial = dir.join(".download.partial");
        cmd!(sh, "curl -fsSL --retry 3 -o {partial} {SOURCE_URL}")
            .run()
            .context("cannot download Debian's python3.14 source")?;
        std::fs::rename(&partial, &file)?;
    }
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let got: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    if got != SOURCE_SHA256 {
        remove_entry(&file)?;
        bail!("{} has sha256 {got}, not the pinned {SOURCE_SHA256}; removed, try again", file.display());
    }
    Ok(file)
}

/// configure, make and make install inside the root filesystem (with /proc mounted for the
/// build), then the parts no build reads dropped.
fn build(sh: &Shell, rootfs: &Path, source: &Path, debian: &Debian) -> Result<()> {
    let Debian { opt, cc, cxx } = debian;
    let started = Instant::now();
    let src = rootfs.join("tmp/cpython-build");
    remove_entry(&src)?;
    sh.create_dir(&src)?;
    cmd!(sh, "tar -C {src} --strip-components=1 -xJf {source}").run().context("cannot unpack the source")?;
    let jobs = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).to_string();
    eprintln!(
        "stand-in: building free-threaded CPython {VERSION} (configure {CONFIGURE} CC={cc} CXX={cxx} OPT=\"{opt}\", make -j{jobs}); \
         several minutes, log in {}",
        src.join("build.log").display()
    );
    let script = format!(
        "cd /tmp/cpython-build && ./configure --prefix={PREFIX} {CONFIGURE} CC=\"$XTASK_CC\" CXX=\"$XTASK_CXX\" OPT=\"$XTASK_OPT\" >build.log 2>&1 \
         && make -j{jobs} >>build.log 2>&1 && make install >>build.log 2>&1"
    );
    let proc_dir = rootfs.join("proc");
    cmd!(sh, "mount -t proc proc {proc_dir}").run().context("cannot mount /proc in the root filesystem")?;
    let result = chroot_env(sh, cmd!(sh, "chroot {rootfs} /bin/sh -c {script}"))
        .env("XTASK_OPT", opt)
        .env("XTASK_CC", cc)
        .env("XTASK_CXX", cxx)
        .quiet()
        .run();
    unmount_below(sh, &proc_dir)?;
    if result.is_err() {
        let log = std::fs::read_to_string(src.join("build.log")).unwrap_or_default();
        bail!("building the free-threaded CPython failed; the end of its log:\n{}", last_lines(&log, 40));
    }
    remove_entry(&src)?;
    let stdlib = rootfs.join(PREFIX.trim_start_matches('/')).join("lib/python3.14t");
    for d in ["test", "idlelib/idle_test"] {
        remove_entry(&stdlib.join(d))?;
    }
    eprintln!("stand-in: free-threaded CPython {VERSION} built in {:.0?}", started.elapsed());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configure_gets_debians_opt_without_the_ndebug_it_adds_itself() {
        assert_eq!(configure_opt("-DNDEBUG -g -O2 -Wall\n"), "-g -O2 -Wall");
        assert_eq!(configure_opt("-g -O2"), "-g -O2");
    }
}
