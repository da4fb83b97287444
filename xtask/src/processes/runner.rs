//! Where a step's commands run, and running them: on the host, or in a long-lived container
//! through `docker exec`. Step functions build the same command for both; the runner wraps
//! it, runs it into the target's log in its own process group, prints a heartbeat while it
//! runs long, and stops the whole group on Ctrl-C.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use xshell::{cmd, Cmd, Shell};

use super::interrupt::{interrupted, stop_group};
use super::log::Log;

/// The mount points inside a container: the repository at /io (the 2018 layout), the work
/// folder (compile cache, build venvs, target folders) at a fixed path.
pub const CONTAINER_REPO: &str = "/io";
pub const CONTAINER_WORK: &str = "/xtask-work";

/// The heartbeat's variable, and its period when unset.
pub const HEARTBEAT_VAR: &str = "XTASK_HEARTBEAT_SECS";
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(60);

/// How many lines of the log a failure shows.
const TAIL_LINES: usize = 25;

/// How often a running command is polled for its end and for Ctrl-C.
const POLL: Duration = Duration::from_millis(100);

/// How often a running command says it is alive: a minute, or `XTASK_HEARTBEAT_SECS` (a whole
/// number of seconds above 0; anything else is an error naming the variable). Read once per
/// run, before the first target starts, and handed to every runner.
pub fn heartbeat_from_env() -> Result<Duration> {
    match std::env::var(HEARTBEAT_VAR) {
        Err(_) => Ok(DEFAULT_HEARTBEAT),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(s) if s > 0 => Ok(Duration::from_secs(s)),
            _ => bail!("{HEARTBEAT_VAR}={v:?} is not a number of seconds above 0 (unset it for a minute)"),
        },
    }
}

/// Where commands run.
#[derive(Debug, Clone)]
pub enum Place {
    Host,
    Container {
        /// The container's name.
        id: String,
        /// Host folder -> where the container sees it, most specific first.
        mounts: Vec<(PathBuf, String)>,
        /// Prefix every command with `linux32` (i686 images on an x86_64 host).
        linux32: bool,
        /// `uid:gid` to run as (None: the image's user, root).
        user: Option<String>,
    },
}

/// A place to run commands, and how often a long command reports that it is alive.
#[derive(Debug, Clone)]
pub struct Runner {
    pub place: Place,
    pub heartbeat: Duration,
}

impl Runner {
    /// This machine.
    pub fn host(heartbeat: Duration) -> Runner {
        Runner { place: Place::Host, heartbeat }
    }

    pub fn is_host(&self) -> bool {
        matches!(self.place, Place::Host)
    }

    /// How a host path is seen where the command runs.
    pub fn path(&self, host: &Path) -> String {
        match &self.place {
            Place::Host => host.display().to_string(),
            Place::Container { mounts, .. } => {
                for (from, to) in mounts {
                    if let Ok(rest) = host.strip_prefix(from) {
                        return join(to, rest);
                    }
                }
                host.display().to_string()
            }
        }
    }

    /// The same runner, running as root (the package install).
    pub fn as_root(&self) -> Runner {
        let place = match &self.place {
            Place::Container { id, mounts, linux32, .. } => {
                Place::Container { id: id.clone(), mounts: mounts.clone(), linux32: *linux32, user: None }
            }
            Place::Host => Place::Host,
        };
        Runner { place, heartbeat: self.heartbeat }
    }

    /// `program args...` run in folder `cwd` (a host path) with `env`: a [`Job`]. On the host
    /// the folder is set on the process; in a container, through `docker exec -w -e`.
    pub fn cmd<'a>(
        &self,
        sh: &'a Shell,
        program: &str,
        args: &[String],
        cwd: &Path,
        env: &[(String, String)],
    ) -> Job<'a> {
        self.job(sh, program, args, cwd, env, false)
    }

    /// [`Runner::cmd`] for a process that reads its standard input (a container's gets `-i`).
    pub fn cmd_with_stdin<'a>(
        &self,
        sh: &'a Shell,
        program: &str,
        args: &[String],
        cwd: &Path,
        env: &[(String, String)],
    ) -> Job<'a> {
        self.job(sh, program, args, cwd, env, true)
    }

    fn job<'a>(
        &self,
        sh: &'a Shell,
        program: &str,
        args: &[String],
        cwd: &Path,
        env: &[(String, String)],
        stdin: bool,
    ) -> Job<'a> {
        match &self.place {
            Place::Host => Job {
                cmd: cmd!(sh, "{program} {args...}").envs(env.iter().map(|(k, v)| (k, v))),
                cwd: Some(cwd.to_path_buf()),
            },
            Place::Container { id, linux32, user, .. } => {
                let workdir = self.path(cwd);
                let mut opts = vec!["-w".to_string(), workdir];
                if stdin {
                    opts.push("-i".to_string());
                }
                if let Some(u) = user {
                    // A user without an entry in the image's passwd has no home: give it one.
                    opts.extend(["-u".to_string(), u.clone(), "-e".to_string(), "HOME=/tmp".to_string()]);
                }
                for (k, v) in env {
                    opts.push("-e".to_string());
                    opts.push(format!("{k}={v}"));
                }
                let linux32: &[&str] = if *linux32 { &["linux32"] } else { &[] };
                Job { cmd: cmd!(sh, "docker exec {opts...} {id} {linux32...} {program} {args...}"), cwd: None }
            }
        }
    }

    /// Runs `job` with its output going to `log`; echoes it; errors carry the log's tail.
    pub fn run(&self, log: &mut Log, what: &str, job: Job<'_>) -> Result<()> {
        self.run_with_progress(log, what, job, &|| None)
    }

    /// `run`, with `progress` asked at each heartbeat for a few words on how far it got
    /// (the build step: how many compiles finished).
    pub fn run_with_progress(
        &self,
        log: &mut Log,
        what: &str,
        job: Job<'_>,
        progress: &dyn Fn() -> Option<String>,
    ) -> Result<()> {
        let shown = job.to_string();
        eprintln!("[{}] $ {shown}", log.target);
        log.note(&format!("$ {shown}"));
        if interrupted() {
            bail!("interrupted before {what}");
        }
        let mut command: Command = job.command();
        command.stdin(Stdio::null()).stdout(log.sink()?).stderr(log.sink()?);
        // Its own process group, so that on Ctrl-C the whole tree under it can be stopped.
        command.process_group(0);
        let start = Instant::now();
        let mut child = command.spawn().map_err(|e| anyhow!("cannot start {shown}: {e}"))?;
        let mut next_beat = self.heartbeat;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if interrupted() {
                stop_group(child.id());
                let _ = child.wait();
                bail!("interrupted during {what}");
            }
            std::thread::sleep(POLL);
            if start.elapsed() >= next_beat {
                let secs = start.elapsed().as_secs();
                let elapsed = if secs < 60 { format!("{secs} s") } else { format!("{} min", secs / 60) };
                let far = progress().map(|p| format!("; {p}")).unwrap_or_default();
                eprintln!("[{}] ... {what} still running ({elapsed}{far}; log: {})", log.target, log.path.display());
                next_beat += self.heartbeat;
            }
        };
        if !status.success() {
            let code = status.code().map_or("a signal".to_string(), |c| format!("exit code {c}"));
            bail!("{what} failed ({code}); the last lines of {}:\n{}", log.path.display(), log.tail(TAIL_LINES));
        }
        Ok(())
    }
}

/// A command and the host folder it runs in (None: the command sets its own, as `docker exec -w`).
pub struct Job<'a> {
    pub cmd: Cmd<'a>,
    pub cwd: Option<PathBuf>,
}

impl Job<'_> {
    /// The process to spawn.
    pub fn command(self) -> Command {
        let mut c: Command = self.cmd.into();
        if let Some(d) = self.cwd {
            c.current_dir(d);
        }
        c
    }
}

impl std::fmt::Display for Job<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.cmd.fmt(f)
    }
}

fn join(root: &str, rest: &Path) -> String {
    let rest = rest.display().to_string();
    if rest.is_empty() {
        root.to_string()
    } else {
        format!("{root}/{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_commands_map_paths_and_env() {
        let sh = Shell::new().unwrap();
        let place = Place::Container {
            id: "xtask-1".into(),
            mounts: vec![
                (PathBuf::from("/home/u/klayout/target/xtask-wheels"), CONTAINER_WORK.into()),
                (PathBuf::from("/home/u/klayout"), CONTAINER_REPO.into()),
            ],
            linux32: true,
            user: Some("1000:1000".into()),
        };
        let r = Runner { place, heartbeat: Duration::from_secs(60) };
        assert_eq!(r.path(Path::new("/home/u/klayout/testdata/pymod")), "/io/testdata/pymod");
        assert_eq!(
            r.path(Path::new("/home/u/klayout/target/xtask-wheels/cache/x/ccache")),
            "/xtask-work/cache/x/ccache"
        );
        let c = r.cmd(
            &sh,
            "/opt/python/cp311-cp311/bin/python",
            &["-V".into()],
            Path::new("/home/u/klayout/src"),
            &[("A".into(), "1".into())],
        );
        assert!(c.cwd.is_none());
        assert_eq!(
            c.to_string(),
            "docker exec -w /io/src -u 1000:1000 -e HOME=/tmp -e A=1 xtask-1 linux32 /opt/python/cp311-cp311/bin/python -V"
        );
        let server = r.cmd_with_stdin(&sh, "sh", &[], Path::new("/home/u/klayout"), &[]);
        assert_eq!(server.to_string(), "docker exec -w /io -i -u 1000:1000 -e HOME=/tmp xtask-1 linux32 sh");
        let root = r.as_root().cmd(&sh, "id", &[], Path::new("/home/u/klayout"), &[]);
        assert_eq!(root.to_string(), "docker exec -w /io xtask-1 linux32 id");
        let h = Runner::host(Duration::from_secs(60)).cmd(&sh, "python3", &["-V".into()], Path::new("/tmp"), &[]);
        assert_eq!(h.to_string(), "python3 -V");
        assert_eq!(h.cwd.as_deref(), Some(Path::new("/tmp")));
    }
}
