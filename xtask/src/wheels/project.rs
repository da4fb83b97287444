//! The project a run builds: the folder, and the `SOURCE_DATE_EPOCH` its wheels carry.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use xshell::{cmd, Shell};

use crate::flags;
use crate::library::config::{glob_match, repo_root, Config};

/// The project to build: `--project`, else the config's path, else the repository root.
pub fn project_dir(config: &Config, opts: &flags::Wheels) -> Result<PathBuf> {
    let dir = match &opts.project {
        Some(p) => p.clone(),
        None => repo_root().join(&config.project.path),
    };
    let dir =
        dir.canonicalize().map_err(|e| anyhow::anyhow!("the project folder {} cannot be used: {e}", dir.display()))?;
    if !dir.join("setup.py").exists() && !dir.join("pyproject.toml").exists() {
        bail!("{} has neither setup.py nor pyproject.toml: not a Python project (use --project DIR)", dir.display());
    }
    Ok(dir)
}

/// SOURCE_DATE_EPOCH: the user's, else the time of the last commit that touched the project
/// folder, else (a folder git does not track, such as an unpacked sdist, even one that lies
/// inside another repository's ignored `target/`) the newest modification time among the
/// files the prepare step copies: an sdist's files keep the times its tarball gives them.
pub fn source_date_epoch(sh: &Shell, project: &Path, exclude: &[String]) -> Option<String> {
    if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
        return Some(v);
    }
    cmd!(sh, "git -C {project} log -1 --format=%ct -- .")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| newest_mtime(project, exclude).map(|t| t.to_string()))
}

/// The newest modification time (seconds since the epoch) of the files below `dir`, leaving
/// out the names the config excludes, as the prepare step's copy does.
fn newest_mtime(dir: &Path, exclude: &[String]) -> Option<u64> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if exclude.iter().any(|p| glob_match(p, &name)) {
            continue;
        }
        let Ok(ty) = entry.file_type() else { continue };
        let t = if ty.is_dir() {
            newest_mtime(&entry.path(), exclude)
        } else {
            let modified = entry.metadata().and_then(|m| m.modified()).ok();
            modified.and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_secs())
        };
        newest = newest.max(t);
    }
    newest
}

#[cfg(test)]
mod tests {
    /// A tracked project folder gets its last commit's time; an untracked folder inside the
    /// same repository (an unpacked sdist under target/) gets its newest file's time, the
    /// excluded names left out.
    #[test]
    fn source_date_epoch_comes_from_the_project_folders_own_commits() {
        if std::env::var_os("SOURCE_DATE_EPOCH").is_some() {
            return; // the user's value wins, by design; nothing to compare
        }
        let sh = xshell::Shell::new().unwrap();
        let dir = std::env::temp_dir().join(format!("xtask-sde-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pkg")).unwrap();
        std::fs::create_dir_all(dir.join("unpacked")).unwrap();
        std::fs::write(dir.join("pkg/setup.py"), "").unwrap();
        std::fs::write(dir.join("unpacked/setup.py"), "").unwrap();
        let git = |args: &[&str]| {
            let ok = std::process::Command::new("git").arg("-C").arg(&dir).args(args).output().unwrap();
            assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        };
        git(&["init", "-q"]);
        git(&["add", "pkg"]);
        git(&["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "p", "--date", "@1700000000"]);
        let at = |path: &str, secs: u64| {
            let f = std::fs::File::options().write(true).create(true).truncate(false).open(dir.join(path)).unwrap();
            f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs)).unwrap();
        };
        std::fs::create_dir_all(dir.join("unpacked/src")).unwrap();
        std::fs::create_dir_all(dir.join("unpacked/build")).unwrap();
        at("unpacked/setup.py", 1_600_000_000);
        at("unpacked/src/a.cc", 1_650_000_000);
        at("unpacked/build/a.o", 1_690_000_000); // a build output: excluded
        let exclude = ["build".to_string()];
        let t = super::source_date_epoch(&sh, &dir.join("pkg"), &exclude);
        let u = super::source_date_epoch(&sh, &dir.join("unpacked"), &exclude);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(t.is_some_and(|t| t.parse::<u64>().unwrap() > 1_690_000_000), "the commit's time, now");
        assert_eq!(u.as_deref(), Some("1650000000"));
    }
}
