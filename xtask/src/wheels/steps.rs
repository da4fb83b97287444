//! The steps of one target, each a plain function: it builds its command through the
//! runner (host or container alike) and runs it into the target's log.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::Shell;

use super::compile_cache::{Cache, Stats};
use super::interpreters::Interpreter;
use super::link;
use super::log::Log;
use super::runner::Runner;
use crate::analysis::Analysis;
use crate::check_wheel;
use crate::config::{glob_match, BuildMethod, Config};
use crate::fix_wheel::{self, Plan};
use crate::wheel::write;

/// Everything a step of one target needs.
pub struct Ctx<'a> {
    pub sh: &'a Shell,
    pub runner: &'a Runner,
    pub config: &'a Config,
    pub cache: &'a Cache,
    pub interp: &'a Interpreter,
    /// The target's own folder (host path); nothing outside it is written by a step.
    pub work: PathBuf,
    /// The folder above every target's folder: ccache's base dir.
    pub runs: PathBuf,
    /// This interpreter's build venv (kept between runs).
    pub build_venv: PathBuf,
    pub repo: PathBuf,
    pub project: PathBuf,
    pub source_date_epoch: Option<String>,
    /// How auditwheel is run: the program and extra environment (PATH for patchelf).
    pub auditwheel: (String, Vec<(String, String)>),
}

impl Ctx<'_> {
    fn path(&self, p: &Path) -> String {
        self.runner.path(p)
    }

    fn venv_python(&self, venv: &Path) -> String {
        self.path(&venv.join("bin/python"))
    }
}

/// Copies the project into the target's folder, leaving out build outputs and VCS folders,
/// so targets never share a build folder and the user's tree stays as it was.
pub fn prepare_source(ctx: &Ctx, log: &mut Log) -> Result<PathBuf> {
    let src = ctx.work.join("src");
    copy_tree(&ctx.project, &src, &ctx.config.project.exclude)
        .with_context(|| format!("cannot copy {} into {}", ctx.project.display(), src.display()))?;
    log.note(&format!("copied {} into {}", ctx.project.display(), src.display()));
    Ok(src)
}

fn copy_tree(from: &Path, to: &Path, exclude: &[String]) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if exclude.iter().any(|p| glob_match(p, &name)) {
            continue;
        }
        let ty = entry.file_type()?;
        let dest = to.join(&name);
        if ty.is_dir() {
            copy_tree(&entry.path(), &dest, exclude)?;
        } else if ty.is_symlink() {
            let target = std::fs::read_link(entry.path())?;
            let _ = std::fs::remove_file(&dest);
            std::os::unix::fs::symlink(target, dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

/// Makes (once) the interpreter's build venv with the config's build requirements, so
/// builds run offline and without isolation. A marker written last holds the list.
pub fn ensure_build_venv(ctx: &Ctx, log: &mut Log) -> Result<()> {
    let marker = ctx.build_venv.join(".xtask-build-requires");
    let wanted = ctx.config.project.build_requires.join("\n");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    check_interpreter(ctx.interp)?;
    let _ = std::fs::remove_dir_all(&ctx.build_venv);
    let venv = ctx.path(&ctx.build_venv);
    let python = &ctx.interp.python;
    log.run(
        "making the build venv",
        ctx.runner.cmd(ctx.sh, python, &["-m".into(), "venv".into(), venv], &ctx.work, &[]),
    )?;
    let mut args: Vec<String> = ["-m", "pip", "install", "--disable-pip-version-check"].map(String::from).to_vec();
    args.extend(ctx.config.project.build_requires.iter().cloned());
    log.run(
        "installing the build requirements",
        ctx.runner.cmd(ctx.sh, &ctx.venv_python(&ctx.build_venv), &args, &ctx.work, &[]),
    )?;
    std::fs::write(&marker, wanted)?;
    Ok(())
}

/// An interpreter without venv or pip cannot build or test: say so plainly.
fn check_interpreter(i: &Interpreter) -> Result<()> {
    if !i.venv {
        bail!(
            "{} ({}) has no venv module (or no ensurepip): install it (e.g. python3-venv) or skip this interpreter",
            i.tag,
            i.python
        );
    }
    if !i.pip {
        bail!("{} ({}) has no pip: install it (python -m ensurepip) or skip this interpreter", i.tag, i.python);
    }
    Ok(())
}

/// Builds the wheel in the target's copy of the project, into `dist/`. `before` is ccache's
/// counters when the step began, for the heartbeat's progress.
pub fn build_wheel(ctx: &Ctx, log: &mut Log, src: &Path, before: &Stats) -> Result<PathBuf> {
    let dist = ctx.work.join("dist");
    std::fs::create_dir_all(&dist)?;
    let out = ctx.path(&dist);
    let args: Vec<String> = match ctx.config.project.build {
        BuildMethod::PipWheel => {
            ["-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--disable-pip-version-check", "-w", &out, "."]
                .map(String::from)
                .to_vec()
        }
        BuildMethod::SetupPy => ["setup.py", "bdist_wheel", "-d", &out].map(String::from).to_vec(),
    };
    let mut env =
        ctx.cache.build_env(ctx.runner, &ctx.config.compile_cache, &ctx.runs, &ctx.interp.cc, &ctx.interp.cxx);
    if let Some(t) = &ctx.source_date_epoch {
        env.push(("SOURCE_DATE_EPOCH".into(), t.clone()));
    }
    let own = &ctx.config.project.build_env;
    if !own.contains_key("LDSHARED") && !own.contains_key("LDCXXSHARED") {
        let (i, wrapper) = (ctx.interp, ctx.cache.cc_wrapper(ctx.runner));
        env.extend(link::build_env(&i.ldshared, &i.ldcxxshared, &i.cc, &wrapper));
    }
    env.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    // Each heartbeat says how many compiles finished, from ccache's counters.
    let progress = || {
        ctx.cache.ccache.then(|| {
            let n = ctx.cache.stats(ctx.sh, ctx.runner, &ctx.config.compile_cache).since(before);
            format!("{} compiles so far, {} from the cache", n.hits() + n.misses, n.hits())
        })
    };
    let job = ctx.runner.cmd(ctx.sh, &ctx.venv_python(&ctx.build_venv), &args, src, &env);
    log.run_with_progress("the build", job, &progress)?;
    single_wheel(&dist)
}

/// The one wheel a step wrote into its own folder.
fn single_wheel(dir: &Path) -> Result<PathBuf> {
    let wheels: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    match wheels.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("no wheel in {}", dir.display()),
        many => bail!("{} wheels in {} where one was expected", many.len(), dir.display()),
    }
}

/// `auditwheel repair` into `repaired/`; a wheel with no ELF file needs none.
pub fn auditwheel_repair(ctx: &Ctx, log: &mut Log, wheel: &Path) -> Result<PathBuf> {
    if Analysis::of(wheel)?.elf.is_empty() {
        log.note("no ELF file in the wheel: auditwheel has nothing to repair");
        return Ok(wheel.to_path_buf());
    }
    let out = ctx.work.join("repaired");
    std::fs::create_dir_all(&out)?;
    let (program, env) = &ctx.auditwheel;
    let mut env = env.clone();
    if let Some(t) = &ctx.source_date_epoch {
        env.push(("SOURCE_DATE_EPOCH".into(), t.clone()));
    }
    let args = vec!["repair".into(), "-w".into(), ctx.path(&out), ctx.path(wheel)];
    log.run("auditwheel repair", ctx.runner.cmd(ctx.sh, program, &args, &ctx.work, &env))?;
    single_wheel(&out)
}

/// fix-wheel: the 2018 repair, applied only when the loader graph shows the defect.
pub fn repair(ctx: &Ctx, log: &mut Log, wheel: &Path) -> Result<()> {
    let analysis = Analysis::of(wheel)?;
    match fix_wheel::plan(&analysis, ctx.config)? {
        Plan::NothingToFix => log.note("fix-wheel: nothing to fix"),
        Plan::Move { libs_dir, renames } => {
            log.note(&format!("fix-wheel: moving {} entries into {libs_dir}/", renames.len()));
            write::atomic_write(wheel, |w| write::write_renamed(&analysis.wheel, &renames, w))?;
        }
    }
    Ok(())
}

/// check-wheel: any problem fails the target. Returns the tag the wheel earns.
pub fn check(ctx: &Ctx, log: &mut Log, wheel: &Path) -> Result<String> {
    let report = check_wheel::report(ctx.config, &Analysis::of(wheel)?);
    log.note(&format!("check-wheel: {} ({})", report.verdict, report.overall_tag));
    if !report.problems.is_empty() {
        bail!("check-wheel found {} problem(s):\n    {}", report.problems.len(), report.problems.join("\n    "));
    }
    Ok(report.overall_tag)
}

/// Installs the exact wheel into a fresh venv and runs the config's test scripts from a
/// neutral folder, so the source tree cannot shadow the installed package.
pub fn test_wheel(ctx: &Ctx, log: &mut Log, wheel: &Path) -> Result<()> {
    check_interpreter(ctx.interp)?;
    let venv = ctx.work.join("testenv");
    let neutral = ctx.work.join("testrun");
    std::fs::create_dir_all(&neutral)?;
    // A venv without pip takes 0.1 s where one with pip takes 5: the build venv's pip (same
    // interpreter) installs into it with `--prefix`, which lays the wheel out as an install
    // into that venv would. (`--target` differs: it drops a wheel's `.data/data/` files when
    // their folder has the package's name, as KLayout's py.typed has.)
    let python = &ctx.interp.python;
    let make = ["-m", "venv", "--without-pip", &ctx.path(&venv)].map(String::from);
    log.run("making the test venv", ctx.runner.cmd(ctx.sh, python, &make, &neutral, &[]))?;
    let vpy = ctx.venv_python(&venv);
    let mut install: Vec<String> =
        ["-m", "pip", "install", "--no-index", "--no-deps", "--disable-pip-version-check", "--prefix"]
            .map(String::from)
            .to_vec();
    install.extend([ctx.path(&venv), ctx.path(wheel)]);
    log.run(
        "installing the wheel",
        ctx.runner.cmd(ctx.sh, &ctx.venv_python(&ctx.build_venv), &install, &neutral, &[]),
    )?;
    if ctx.config.tests.scripts.is_empty() {
        log.note("no test scripts configured");
    }
    for script in &ctx.config.tests.scripts {
        let path = ctx.repo.join(script);
        if !path.exists() {
            bail!("the test script {} (from the config) does not exist", path.display());
        }
        log.run(&format!("the test {script}"), ctx.runner.cmd(ctx.sh, &vpy, &[ctx.path(&path)], &neutral, &[]))?;
    }
    Ok(())
}
