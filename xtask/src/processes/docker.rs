//! The container side of `wheels`: the engine check, image names validated, pulls retried,
//! one long-lived container per image with the repository at `/io` and the work folder
//! (compile cache, build venvs, target folders) at `/xtask-work`, and the container removed
//! after success, failure and Ctrl-C.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use super::interrupt;
use super::log::Log;
use super::runner::{Place, Runner, CONTAINER_REPO, CONTAINER_WORK};
use crate::library::config::Packages;
use crate::library::image;
use crate::library::packages::{explain_failure, Manager, ATTEMPTS, DETECT_SCRIPT};

/// The label every container carries: its value is the host work folder.
pub const CONTAINER_LABEL: &str = "xtask.work";

/// Pull attempts and the first back-off (doubled each time): registries' 5xx are routine.
const PULL_ATTEMPTS: u32 = 4;
const PULL_BACKOFF: Duration = Duration::from_secs(3);

/// The first wait before an install command is tried again (doubled each time).
const INSTALL_BACKOFF: Duration = Duration::from_secs(5);

/// When to pull.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Pull {
    Always,
    #[default]
    Missing,
    Never,
}

/// The engine answers, or a clear error says what to do.
pub fn check_engine(sh: &Shell) -> Result<()> {
    let format = "{{.ServerVersion}}";
    match cmd!(sh, "docker info --format {format}").quiet().ignore_stderr().read() {
        Ok(_) => Ok(()),
        Err(_) => bail!(
            "the Docker engine is not reachable (`docker info` fails): start the docker daemon \
             (or check that you may use it), or build on this machine with --host"
        ),
    }
}

/// Makes the image available as `pull` says, retrying registry errors with back-off.
pub fn pull(sh: &Shell, image: &str, pull: Pull) -> Result<()> {
    let format = "{{.Id}}";
    let present = cmd!(sh, "docker image inspect --format {format} {image}")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok();
    match pull {
        Pull::Never if present => return Ok(()),
        Pull::Never => bail!("the image {image} is not present and --pull never forbids fetching it"),
        Pull::Missing if present => return Ok(()),
        _ => {}
    }
    let mut wait = PULL_BACKOFF;
    for attempt in 1..=PULL_ATTEMPTS {
        eprintln!("xtask: docker pull {image} (attempt {attempt} of {PULL_ATTEMPTS})");
        match cmd!(sh, "docker pull {image}").quiet().ignore_status().output() {
            Ok(o) if o.status.success() => return Ok(()),
            Ok(o) => {
                let why = String::from_utf8_lossy(&o.stderr).trim().to_string();
                if attempt == PULL_ATTEMPTS || interrupt::interrupted() {
                    bail!("cannot pull {image} after {attempt} attempts: {why}");
                }
                eprintln!("xtask: pull failed ({why}); retrying in {} s", wait.as_secs());
            }
            Err(e) => bail!("cannot run docker pull: {e}"),
        }
        std::thread::sleep(wait);
        wait *= 2;
    }
    unreachable!("the loop returns or bails")
}

/// Where the ccache binary is mounted in every container (read-only).
pub const CONTAINER_CCACHE: &str = "/opt/xtask-ccache/ccache";

/// The machine (`uname -m` spelling) an image is built for, from the engine's record of it.
pub fn image_machine(sh: &Shell, image: &str) -> Result<String> {
    let format = "{{.Architecture}}";
    let arch = cmd!(sh, "docker image inspect --format {format} {image}")
        .quiet()
        .read()
        .with_context(|| format!("cannot ask the engine for the architecture of {image}"))?;
    Ok(machine_of(arch.trim()).to_string())
}

/// Docker's architecture names in `uname -m`'s spelling.
pub fn machine_of(docker_arch: &str) -> &str {
    match docker_arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "386" => "i686",
        "arm" => "armv7l",
        other => other,
    }
}

/// How this machine runs an image's binaries: None natively (its own machine, or i686 on
/// x86_64 under linux32), Some(handler) through a qemu-user binfmt handler registered with
/// the fix-binary flag (which containers need: the emulator is opened at registration). An
/// image no handler covers is refused with what to install.
pub fn emulation(image: &str, machine: &str) -> Result<Option<String>> {
    let host = std::env::consts::ARCH;
    if machine == host || (host == "x86_64" && machine == "i686") {
        return Ok(None);
    }
    let handler = format!("qemu-{machine}");
    let entry = Path::new("/proc/sys/fs/binfmt_misc").join(&handler);
    let text = std::fs::read_to_string(&entry).unwrap_or_default();
    let enabled = text.lines().next() == Some("enabled");
    let fix_binary = text.lines().any(|l| l.strip_prefix("flags:").is_some_and(|f| f.contains('F')));
    match (enabled, fix_binary) {
        (true, true) => Ok(Some(handler)),
        (true, false) => bail!(
            "{image} is a {machine} image and this machine is {host}: the {handler} binfmt handler is registered \
             without the fix-binary flag (F), so containers cannot use it; install Debian's qemu-user-static \
             (its handlers have it) or run on a {machine} machine"
        ),
        _ => bail!(
            "{image} is a {machine} image and this machine is {host}, with no {handler} binfmt handler to run it: \
             install qemu-user-static (`apt-get install qemu-user-static`, see ci-scripts/setup-host.sh) or \
             run on a {machine} machine"
        ),
    }
}

/// `--mount`'s value for a bind mount of `host` at `inside`. The source is a CSV field in
/// double quotes (a `"` doubled), so a path with `,` or `:` works, which `-v` cannot take. A
/// path that is not UTF-8 or holds a line break cannot be written so: refused.
pub fn bind_mount(host: &Path, inside: &str) -> Result<String> {
    let Some(source) = host.to_str().filter(|s| !s.contains(['\n', '\r'])) else {
        bail!("{} cannot be mounted into a container (not UTF-8, or a line break)", crate::library::text::path(host));
    };
    Ok(format!("type=bind,\"source={}\",target={inside}", source.replace('"', "\"\"")))
}

/// A running container, removed when dropped (unless kept for debugging after a failure).
pub struct Container {
    pub name: String,
    pub runner: Runner,
    pub keep: bool,
}

impl Container {
    /// Starts a long-lived container of `image` with the repository at /io, the work folder
    /// at /xtask-work and the ccache binary (when given) at [`CONTAINER_CCACHE`], on the config's
    /// network (`--network`, when one is set); commands run
    /// as the invoking user so that what they write into the mounts is owned by that user,
    /// not root.
    pub fn start(
        sh: &Shell,
        image: &str,
        repo: &Path,
        work: &Path,
        ccache: Option<&Path>,
        network: &str,
        heartbeat: Duration,
    ) -> Result<Container> {
        let name = format!("xtask-{}-{}", std::process::id(), image::slug(image));
        let repo_mount = bind_mount(repo, CONTAINER_REPO)?;
        let work_mount = bind_mount(work, CONTAINER_WORK)?;
        let mut ccache_mount = Vec::new();
        if let Some(binary) = ccache {
            ccache_mount = vec!["--mount".to_string(), format!("{},readonly", bind_mount(binary, CONTAINER_CCACHE)?)];
        }
        let network: Vec<String> =
            if network.is_empty() { Vec::new() } else { vec!["--network".to_string(), network.to_string()] };
        let linux32: &[&str] = if image::is_i686(image) { &["linux32"] } else { &[] };
        let _ = cmd!(sh, "docker rm -f {name}").quiet().ignore_stdout().ignore_stderr().run();
        // The label names the work folder, so leftovers of a run can be found (and tests find
        // their own containers among others).
        let label = format!("{CONTAINER_LABEL}={}", work.display());
        cmd!(sh, "docker run -d --name {name} --label {label} {network...} --mount {repo_mount} --mount {work_mount} {ccache_mount...} {image} {linux32...} sleep infinity")
            .quiet()
            .ignore_stdout()
            .run()
            .with_context(|| format!("cannot start a container of {image}"))?;
        let uid = cmd!(sh, "id -u").quiet().read()?;
        let gid = cmd!(sh, "id -g").quiet().read()?;
        let place = Place::Container {
            id: name.clone(),
            mounts: vec![(work.to_path_buf(), CONTAINER_WORK.into()), (repo.to_path_buf(), CONTAINER_REPO.into())],
            linux32: image::is_i686(image),
            user: Some(format!("{}:{}", uid.trim(), gid.trim())),
        };
        let runner = Runner { place, heartbeat };
        Ok(Container { name, runner, keep: false })
    }

    /// Installs the config's build dependencies as root, once, with the image's package
    /// manager (the command lines are `library::packages`'): packages already there are not
    /// fetched again, each command is tried up to three times, and a failure names the
    /// packages still missing and the repositories and packages the manager complained of.
    pub fn install_packages(&self, sh: &Shell, packages: &Packages, log: &mut Log) -> Result<()> {
        let root = self.runner.as_root();
        let quiet_ok = |argv: &[String]| {
            let job = root.cmd(sh, &argv[0], &argv[1..], Path::new(CONTAINER_REPO), &[]);
            job.cmd.quiet().ignore_stdout().ignore_stderr().run().is_ok()
        };
        let detect = root.cmd(sh, "sh", &["-c".into(), DETECT_SCRIPT.into()], Path::new(CONTAINER_REPO), &[]);
        let detected =
            detect.cmd.quiet().ignore_stderr().read().context("cannot ask the image for its package manager")?;
        let Some(manager) = Manager::from_detected(&detected) else {
            let lists = [&packages.apt, &packages.dnf, &packages.yum, &packages.apk];
            if lists.iter().all(|l| l.is_empty()) {
                return Ok(());
            }
            bail!("the image has no known package manager (apt-get, dnf, yum, apk) to install the config's [docker.packages]");
        };
        let wanted = manager.packages(packages);
        if wanted.is_empty() || quiet_ok(&manager.installed(wanted)) {
            log.note(&format!("{}: the config's packages are installed", manager.name()));
            return Ok(());
        }
        for argv in manager.install(wanted) {
            let mut wait = INSTALL_BACKOFF;
            for attempt in 1..=ATTEMPTS {
                let from = std::fs::metadata(&log.path).map(|m| m.len()).unwrap_or(0);
                let job = root.cmd(sh, &argv[0], &argv[1..], Path::new(CONTAINER_REPO), &[]);
                let what = format!("{} (attempt {attempt} of {ATTEMPTS})", argv[..2].join(" "));
                match root.run(log, &what, job) {
                    Ok(()) => break,
                    Err(_) if attempt < ATTEMPTS && !interrupt::interrupted() => {
                        eprintln!("[{}] {what} failed; retrying in {} s", log.target, wait.as_secs());
                        std::thread::sleep(wait);
                        wait *= 2;
                    }
                    Err(e) => {
                        let text = std::fs::read(&log.path).unwrap_or_default();
                        let output = String::from_utf8_lossy(text.get(from as usize..).unwrap_or_default());
                        let missing: Vec<&str> = wanted
                            .iter()
                            .filter(|p| !quiet_ok(&manager.installed(std::slice::from_ref(p))))
                            .map(String::as_str)
                            .collect();
                        let mut why = explain_failure(manager, &output);
                        if why.is_empty() {
                            why.push(format!("{e:#}"));
                        }
                        bail!(
                            "{} cannot install {} after {ATTEMPTS} attempts:\n  {}",
                            manager.name(),
                            if missing.is_empty() { wanted.join(" ") } else { missing.join(" ") },
                            why.join("\n  ")
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// The line that enters the container, for `--keep-container`.
    pub fn enter_line(&self) -> String {
        format!("docker exec -it {} bash", self.name)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("xtask: the container {} is kept; enter it with: {}", self.name, self.enter_line());
            eprintln!("xtask: remove it with: docker rm -f {}", self.name);
            return;
        }
        let name = &self.name;
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", name])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_and_emulation() {
        assert_eq!(machine_of("arm64"), "aarch64");
        assert_eq!(machine_of("amd64"), "x86_64");
        assert_eq!(machine_of("s390x"), "s390x");
        assert_eq!(emulation("x", std::env::consts::ARCH).unwrap(), None);
        // A machine no binfmt handler is ever registered for: refused, with what to install.
        let e = emulation("ghcr.io/x/y", "loongarch64").unwrap_err().to_string();
        assert!(e.contains("loongarch64 image") && e.contains("qemu-user-static"), "{e}");
    }

    #[test]
    fn bind_mounts_quote_the_source() {
        assert_eq!(bind_mount(Path::new("/a b/c"), "/io").unwrap(), "type=bind,\"source=/a b/c\",target=/io");
        assert_eq!(bind_mount(Path::new("/x,y:z\"q"), "/io").unwrap(), "type=bind,\"source=/x,y:z\"\"q\",target=/io");
        assert!(bind_mount(Path::new("/a\nb"), "/io").is_err());
    }
}
