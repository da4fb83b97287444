//! Where a step's commands run: on the host, or in a long-lived container through
//! `docker exec`. Step functions build the same command for both; the runner wraps it.

use std::path::{Path, PathBuf};

use xshell::{cmd, Cmd, Shell};

/// The mount points inside a container: the repository at /io (the 2018 layout), the work
/// folder (compile cache, build venvs, target folders) at a fixed path.
pub const CONTAINER_REPO: &str = "/io";
pub const CONTAINER_WORK: &str = "/xtask-work";

/// Where commands run.
#[derive(Debug, Clone)]
pub enum Runner {
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

impl Runner {
    /// How a host path is seen where the command runs.
    pub fn path(&self, host: &Path) -> String {
        match self {
            Runner::Host => host.display().to_string(),
            Runner::Container { mounts, .. } => {
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
        match self {
            Runner::Container { id, mounts, linux32, .. } => {
                Runner::Container { id: id.clone(), mounts: mounts.clone(), linux32: *linux32, user: None }
            }
            Runner::Host => Runner::Host,
        }
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
        match self {
            Runner::Host => Job {
                cmd: cmd!(sh, "{program} {args...}").envs(env.iter().map(|(k, v)| (k, v))),
                cwd: Some(cwd.to_path_buf()),
            },
            Runner::Container { id, linux32, user, .. } => {
                let workdir = self.path(cwd);
                let mut opts = vec!["-w".to_string(), workdir];
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
}

/// A command and the host folder it runs in (None: the command sets its own, as `docker exec -w`).
pub struct Job<'a> {
    pub cmd: Cmd<'a>,
    pub cwd: Option<PathBuf>,
}

impl Job<'_> {
    /// The process to spawn.
    pub fn command(self) -> std::process::Command {
        let mut c: std::process::Command = self.cmd.into();
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
        let r = Runner::Container {
            id: "xtask-1".into(),
            mounts: vec![
                (PathBuf::from("/home/u/klayout/target/xtask-wheels"), CONTAINER_WORK.into()),
                (PathBuf::from("/home/u/klayout"), CONTAINER_REPO.into()),
            ],
            linux32: true,
            user: Some("1000:1000".into()),
        };
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
        let root = r.as_root().cmd(&sh, "id", &[], Path::new("/home/u/klayout"), &[]);
        assert_eq!(root.to_string(), "docker exec -w /io xtask-1 linux32 id");
        let h = Runner::Host.cmd(&sh, "python3", &["-V".into()], Path::new("/tmp"), &[]);
        assert_eq!(h.to_string(), "python3 -V");
        assert_eq!(h.cwd.as_deref(), Some(Path::new("/tmp")));
    }
}
