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

/// The label every container carries: its value is the host work folder.
pub const CONTAINER_LABEL: &str = "xtask.work";

/// Pull attempts and the first back-off (doubled each time): registries' 5xx are routine.
const PULL_ATTEMPTS: u32 = 4;
const PULL_BACKOFF: Duration = Duration::from_secs(3);

/// The package install script run once per container as root. Fixed text: the package lists
/// come in as environment variables. Already installed packages are not fetched again, and
/// each package manager is retried.
const INSTALL_SCRIPT: &str = r#"
set -u
try() { for i in 1 2 3; do "$@" && return 0; echo "retrying: $*" >&2; sleep 5; done; return 1; }
if command -v apt-get >/dev/null 2>&1; then
  [ -z "$XTASK_APT" ] && exit 0
  dpkg -s $XTASK_APT >/dev/null 2>&1 && exit 0
  try apt-get update -qq && try env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $XTASK_APT
elif command -v dnf >/dev/null 2>&1; then
  [ -z "$XTASK_DNF" ] && exit 0
  rpm -q $XTASK_DNF >/dev/null 2>&1 && exit 0
  try dnf install -y $XTASK_DNF
elif command -v yum >/dev/null 2>&1; then
  [ -z "$XTASK_YUM" ] && exit 0
  rpm -q $XTASK_YUM >/dev/null 2>&1 && exit 0
  try yum install -y $XTASK_YUM
elif command -v apk >/dev/null 2>&1; then
  [ -z "$XTASK_APK" ] && exit 0
  apk info -e $XTASK_APK >/dev/null 2>&1 && exit 0
  try apk add --no-cache $XTASK_APK
else
  echo "no known package manager (apt-get, dnf, yum, apk) in the image" >&2; exit 1
fi
"#;

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
    /// Starts a long-lived container of `image` with the repository at /io and the work
    /// folder at /xtask-work; commands run as the invoking user so that what they write into
    /// the mounts is owned by that user, not root.
    pub fn start(sh: &Shell, image: &str, repo: &Path, work: &Path, heartbeat: Duration) -> Result<Container> {
        let name = format!("xtask-{}-{}", std::process::id(), image::slug(image));
        let repo_mount = bind_mount(repo, CONTAINER_REPO)?;
        let work_mount = bind_mount(work, CONTAINER_WORK)?;
        let linux32: &[&str] = if image::is_i686(image) { &["linux32"] } else { &[] };
        let _ = cmd!(sh, "docker rm -f {name}").quiet().ignore_stdout().ignore_stderr().run();
        // The label names the work folder, so leftovers of a run can be found (and tests find
        // their own containers among others).
        let label = format!("{CONTAINER_LABEL}={}", work.display());
        cmd!(sh, "docker run -d --name {name} --label {label} --mount {repo_mount} --mount {work_mount} {image} {linux32...} sleep infinity")
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

    /// Installs the config's packages (compiler cache, build dependencies) as root, once.
    pub fn install_packages(&self, sh: &Shell, packages: &Packages, log: &mut Log) -> Result<()> {
        let root = self.runner.as_root();
        let env = vec![
            ("XTASK_APT".to_string(), packages.apt.join(" ")),
            ("XTASK_DNF".to_string(), packages.dnf.join(" ")),
            ("XTASK_YUM".to_string(), packages.yum.join(" ")),
            ("XTASK_APK".to_string(), packages.apk.join(" ")),
        ];
        let job = root.cmd(sh, "sh", &["-c".into(), INSTALL_SCRIPT.into()], Path::new(CONTAINER_REPO), &env);
        root.run(log, "installing the image's packages", job)
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
    fn bind_mounts_quote_the_source() {
        assert_eq!(bind_mount(Path::new("/a b/c"), "/io").unwrap(), "type=bind,\"source=/a b/c\",target=/io");
        assert_eq!(bind_mount(Path::new("/x,y:z\"q"), "/io").unwrap(), "type=bind,\"source=/x,y:z\"\"q\",target=/io");
        assert!(bind_mount(Path::new("/a\nb"), "/io").is_err());
    }

    /// The install script is valid sh.
    #[test]
    fn install_script_parses() {
        let o = std::process::Command::new("sh").args(["-n", "-c", INSTALL_SCRIPT]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}
