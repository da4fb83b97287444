//! Where a step's commands run: on the host, or in a long-lived container through
//! `docker exec`. Step functions build the same command for both; the runner wraps it.

use std::path::{Path, PathBuf};

use xshell::{cmd, Cmd, Shell};

/// The mount points inside a container (the 2018 layout: the repository at /io).
pub const CONTAINER_REPO: &str = "/io";
pub const CONTAINER_CACHE: &str = "/xtask-cache";

/// Where commands run.
#[derive(Debug, Clone)]
pub enum Runner {
    Host,
    Container {
        /// The container's id or name.
        id: String,
        /// The host folder mounted at `/io` (the repository root).
        repo: PathBuf,
        /// The host folder mounted at `/xtask-cache` (compile cache and wrapper scripts).
        cache: PathBuf,
        /// Prefix every command with `linux32` (i686 images on an x86_64 host).
        linux32: bool,
    },
}

impl Runner {
    /// A short name for messages and target names.
    pub fn is_host(&self) -> bool {
        matches!(self, Runner::Host)
    }

    /// How a host path is seen where the command runs.
    pub fn path(&self, host: &Path) -> String {
        match self {
            Runner::Host => host.display().to_string(),
            Runner::Container { repo, cache, .. } => {
                if let Ok(rest) = host.strip_prefix(cache) {
                    return join(CONTAINER_CACHE, rest);
                }
                if let Ok(rest) = host.strip_prefix(repo) {
                    return join(CONTAINER_REPO, rest);
                }
                host.display().to_string()
            }
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
            Runner::Container { id, linux32, .. } => {
                let workdir = self.path(cwd);
                let mut env_args = Vec::new();
                for (k, v) in env {
                    env_args.push("-e".to_string());
                    env_args.push(format!("{k}={v}"));
                }
                let linux32: &[&str] = if *linux32 { &["linux32"] } else { &[] };
                Job {
                    cmd: cmd!(sh, "docker exec -w {workdir} {env_args...} {id} {linux32...} {program} {args...}"),
                    cwd: None,
                }
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
            repo: PathBuf::from("/home/u/klayout"),
            cache: PathBuf::from("/home/u/klayout/target/xtask-wheels/cache/img"),
            linux32: true,
        };
        assert_eq!(
            r.path(Path::new("/home/u/klayout/target/x")),
            "/io/target/x"
        );
        assert_eq!(
            r.path(Path::new(
                "/home/u/klayout/target/xtask-wheels/cache/img/ccache"
            )),
            "/xtask-cache/ccache"
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
            "docker exec -w /io/src -e A=1 xtask-1 linux32 /opt/python/cp311-cp311/bin/python -V"
        );
        let h = Runner::Host.cmd(&sh, "python3", &["-V".into()], Path::new("/tmp"), &[]);
        assert_eq!(h.to_string(), "python3 -V");
        assert_eq!(h.cwd.as_deref(), Some(Path::new("/tmp")));
    }
}
