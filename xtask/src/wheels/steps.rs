//! The steps of one target, each a plain function that takes the previous step's value and
//! returns its own: source > built > repaired > fixed > checked > tested > landed. A step
//! builds its commands through the runner (host or container alike) and runs them into the
//! target's log.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::Shell;

use super::link;
use crate::library::analysis::Analysis;
use crate::library::config::{glob_match, BuildMethod, Config, RepairTool};
use crate::library::graft::search::SystemFs;
use crate::library::loader::Graph;
use crate::library::plan::{self, Plan};
use crate::library::report;
use crate::library::wheel::{write, Wheel};
use crate::processes::compile_cache::{self, Cache, CC_WRAPPER};
use crate::processes::interpreters::Interpreter;
use crate::processes::log::Log;
use crate::processes::repair::{self as native, Options as RepairOptions, Tools as RepairTools};
use crate::processes::runner::Runner;
use crate::processes::sysfs::{self, ContainerFs, HostFs};
use crate::processes::tools::Auditwheel;

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
    pub auditwheel: &'a Auditwheel,
    /// patchelf on the host, for the native repair (None with `tool = "auditwheel"`).
    pub patchelf: Option<&'a Path>,
    /// How many compile jobs the build may run ([project] parallel_env).
    pub build_jobs: usize,
    /// Folders the project's copy leaves out, should they lie inside it: the run's own.
    pub not_copied: &'a [PathBuf],
}

impl Ctx<'_> {
    fn path(&self, p: &Path) -> String {
        self.runner.path(p)
    }

    fn venv_python(&self, venv: &Path) -> String {
        self.path(&venv.join("bin/python"))
    }

    /// The folder of the group's build venvs: a place to run a command from that exists
    /// before the target's own folder does (a venv can be made before its target starts).
    fn venvs_dir(&self) -> PathBuf {
        self.build_venv.parent().unwrap_or(&self.build_venv).to_path_buf()
    }

    /// Where ccache counts this target's compiles (in its own folder, on the host's side of
    /// the mount): the per-target counters stay right when several targets build at once.
    pub fn stats_log(&self) -> PathBuf {
        self.work.join(compile_cache::STATS_LOG)
    }
}

/// The project's copy in the target's folder, ready to build.
pub struct Source {
    pub dir: PathBuf,
}

/// The wheel the build wrote.
pub struct Built {
    pub wheel: PathBuf,
}

/// The wheel after the graft step (or the built one, when it has no ELF file).
pub struct Repaired {
    pub wheel: PathBuf,
}

/// The wheel after fix-wheel's plan, read once: its analysis and loader graph go on to the
/// check.
pub struct Fixed {
    pub wheel: PathBuf,
    pub analysis: Analysis,
    pub graph: Graph,
}

/// A wheel check-wheel found healthy, and the tag it earns.
pub struct Checked {
    pub wheel: PathBuf,
    pub tag: String,
}

/// A wheel that passed the tests in a fresh venv.
pub struct Tested {
    pub wheel: PathBuf,
    pub tag: String,
}

/// A wheel in the output folder, and the tested copy in the target's folder (which
/// containers see: the output folder may lie outside their mounts).
pub struct Landed {
    pub wheel: PathBuf,
    pub tested: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub tag: String,
}

/// An abi3 wheel one target built, landed and tested, which serves the later interpreters
/// of its group that its tag admits: they test this same file instead of building.
#[derive(Debug, Clone)]
pub struct Served {
    /// The tested copy in the builder's folder, and where it landed.
    pub wheel: PathBuf,
    pub landed: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub tag: String,
    /// The target that built it.
    pub built_by: String,
    /// The oldest CPython its tag names (`cp310` as (3, 10)).
    pub min: (u32, u32),
}

impl Served {
    /// The landed wheel when its ABI tag is `abi3` (one CPython tag, `cp3XX`).
    pub fn from_landed(landed: &Landed, built_by: &str) -> Option<Served> {
        let file = landed.wheel.file_name()?.to_str()?;
        let name = crate::library::wheel::name::WheelName::parse(file).ok()?;
        if name.abi != ["abi3"] || name.python.len() != 1 {
            return None;
        }
        let minor = name.python[0].strip_prefix("cp3")?.parse().ok()?;
        Some(Served {
            wheel: landed.tested.clone(),
            landed: landed.wheel.clone(),
            size: landed.size,
            sha256: landed.sha256.clone(),
            tag: landed.tag.clone(),
            built_by: built_by.to_string(),
            min: (3, minor),
        })
    }

    /// Whether it serves `interp`: a CPython with a GIL, at or above its oldest version (abi3
    /// wheels do not install on free-threaded builds).
    pub fn serves(&self, interp: &Interpreter) -> bool {
        let mut v = interp.version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let version = (v.next().unwrap_or(0), v.next().unwrap_or(0));
        interp.implementation == "CPython" && !interp.free_threaded() && version >= self.min
    }
}

/// A reusing target's preparation: its build venv only (whose pip installs the wheel into
/// the test venv), and the served wheel checked to be the very file that landed.
pub fn prepare_venv(ctx: &Ctx, log: &mut Log, served: &Served) -> Result<()> {
    let bytes = std::fs::read(&served.wheel).with_context(|| format!("cannot read {}", served.wheel.display()))?;
    if sha256_hex(&bytes) != served.sha256 {
        bail!("{} changed since {} tested it", served.wheel.display(), served.built_by);
    }
    log.note(&format!("testing {} (sha256 {}) built by {}", served.wheel.display(), served.sha256, served.built_by));
    std::fs::create_dir_all(&ctx.work)?;
    ensure_build_venv(ctx, log)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The file in a target's folder that says what its kept project copy was made for.
const PREPARED: &str = "prepared";

/// What a kept project copy (and the build folder inside it) depends on besides its files: the
/// interpreter, the config, this tool's version. A different key means a fresh copy.
fn copy_key(ctx: &Ctx) -> String {
    let config = serde_json::to_string(ctx.config).unwrap_or_default();
    let key = format!(
        "{}\n{}\n{}\n{}\n{config}",
        env!("CARGO_PKG_VERSION"),
        ctx.interp.tag,
        ctx.interp.python,
        ctx.project.display()
    );
    sha256_hex(key.as_bytes())
}

/// Empties the target's folder for a new run, keeping the project copy (`src/`, with its build
/// folder) when it was made for the same interpreter, config and tool version: the next
/// prepare then copies only what changed, and the build skips what is up to date.
pub fn clear_outputs(ctx: &Ctx) {
    let key_file = ctx.work.join(PREPARED);
    if std::fs::read_to_string(&key_file).ok().as_deref() != Some(copy_key(ctx).as_str()) {
        let _ = std::fs::remove_dir_all(&ctx.work);
        return;
    }
    let Ok(entries) = std::fs::read_dir(&ctx.work) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        if name == "src" || name == PREPARED {
            continue;
        }
        let _ = if e.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(e.path())
        } else {
            std::fs::remove_file(e.path())
        };
    }
}

/// Brings the target's copy of the project up to date (leaving out build outputs and VCS
/// folders, so targets never share a build folder and the user's tree stays as it was):
/// only files whose size or modification time changed are copied, with their time kept, and
/// what left the project leaves the copy; and makes the interpreter's build venv once.
pub fn prepare(ctx: &Ctx, log: &mut Log) -> Result<Source> {
    let dir = ctx.work.join("src");
    let key_file = ctx.work.join(PREPARED);
    let kept = dir.exists() && key_file.exists();
    let _ = std::fs::remove_file(&key_file);
    // Compared as they are now: the output folder may have appeared since the last target.
    let skip: Vec<PathBuf> = ctx.not_copied.iter().filter_map(|p| p.canonicalize().ok()).collect();
    let mut copied = 0;
    sync_tree(&ctx.project, &dir, &ctx.config.project.exclude, &skip, &mut copied)
        .with_context(|| format!("cannot copy {} into {}", ctx.project.display(), dir.display()))?;
    std::fs::write(&key_file, copy_key(ctx))?;
    log.note(&format!(
        "{} {} into {} ({copied} files copied)",
        if kept { "updated the copy of" } else { "copied" },
        ctx.project.display(),
        dir.display()
    ));
    ensure_build_venv(ctx, log)?;
    Ok(Source { dir })
}

/// Makes `to` a copy of `from`: files, folders and symbolic links (as links); the names the
/// config excludes and the folders in `skip` (canonical paths) are left out, as is anything
/// that is neither file, folder nor link (a FIFO or a socket in a project is no source). A
/// file of the same size and modification time is not copied again; an entry of `to` that
/// `from` no longer has is removed, unless the config excludes its name (build outputs).
fn sync_tree(from: &Path, to: &Path, exclude: &[String], skip: &[PathBuf], copied: &mut usize) -> Result<()> {
    std::fs::create_dir_all(to)?;
    let excluded = |name: &str| exclude.iter().any(|p| glob_match(p, name));
    let mut seen = std::collections::HashSet::new();
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if excluded(&name) {
            continue;
        }
        let ty = entry.file_type()?;
        let dest = to.join(entry.file_name());
        let existing = std::fs::symlink_metadata(&dest).ok();
        if ty.is_dir() {
            if entry.path().canonicalize().is_ok_and(|p| skip.contains(&p)) {
                continue;
            }
            seen.insert(entry.file_name());
            if existing.as_ref().is_some_and(|m| !m.is_dir()) {
                std::fs::remove_file(&dest)?;
            }
            sync_tree(&entry.path(), &dest, exclude, skip, copied)?;
        } else if ty.is_symlink() {
            seen.insert(entry.file_name());
            let target = std::fs::read_link(entry.path())?;
            if std::fs::read_link(&dest).ok().as_ref() == Some(&target) {
                continue;
            }
            remove_any(&dest, existing.as_ref())?;
            std::os::unix::fs::symlink(target, dest)?;
        } else if ty.is_file() {
            seen.insert(entry.file_name());
            let meta = entry.metadata()?;
            let same = existing
                .as_ref()
                .is_some_and(|m| m.is_file() && m.len() == meta.len() && m.modified().ok() == meta.modified().ok());
            if same {
                continue;
            }
            if existing.as_ref().is_some_and(|m| !m.is_file()) {
                remove_any(&dest, existing.as_ref())?;
            }
            std::fs::copy(entry.path(), &dest)?;
            std::fs::File::options().write(true).open(&dest)?.set_modified(meta.modified()?)?;
            *copied += 1;
        }
    }
    for entry in std::fs::read_dir(to)? {
        let entry = entry?;
        let name = entry.file_name();
        if !seen.contains(&name) && !excluded(&name.to_string_lossy()) {
            remove_any(&entry.path(), std::fs::symlink_metadata(entry.path()).ok().as_ref())?;
        }
    }
    Ok(())
}

/// Removes a file, link or folder tree (nothing when it is missing).
fn remove_any(path: &Path, meta: Option<&std::fs::Metadata>) -> Result<()> {
    match meta {
        Some(m) if m.is_dir() => std::fs::remove_dir_all(path)?,
        Some(_) => std::fs::remove_file(path)?,
        None => {}
    }
    Ok(())
}

/// Puts pip into a venv made `--without-pip`: the interpreter's own pip wheel (the one
/// ensurepip would install, from the distribution's wheel folder or ensurepip's bundled one)
/// unpacked into site-packages, which is what installing a pure-Python wheel amounts to. It
/// saves ensurepip's run of pip installing itself and compiling all of it (4 of a venv's 7 s
/// on this machine); `python -m pip` needs no script in bin/. Where no wheel is found,
/// ensurepip itself runs.
const BOOTSTRAP_PIP: &str = "\
import glob, os, sysconfig, zipfile, ensurepip
dirs = [getattr(ensurepip, '_WHEEL_PKG_DIR', None), os.path.join(os.path.dirname(ensurepip.__file__), '_bundled')]
found = [w for d in dirs if d for w in sorted(glob.glob(os.path.join(d, 'pip-*-py3-none-any.whl')))]
if found:
    zipfile.ZipFile(found[0]).extractall(sysconfig.get_path('purelib'))
else:
    ensurepip.bootstrap()
";

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
    let here = ctx.venvs_dir();
    std::fs::create_dir_all(&here)?;
    let make = ctx.runner.cmd(ctx.sh, python, &["-m".into(), "venv".into(), "--without-pip".into(), venv], &here, &[]);
    ctx.runner.run(log, "making the build venv", make)?;
    let venv_python = ctx.venv_python(&ctx.build_venv);
    let boot = ctx.runner.cmd(ctx.sh, &venv_python, &["-c".into(), BOOTSTRAP_PIP.into()], &here, &[]);
    ctx.runner.run(log, "putting pip into the build venv", boot)?;
    // No bytecode compiled at install: what the build imports is compiled on first use.
    let mut args: Vec<String> =
        ["-m", "pip", "install", "--no-compile", "--disable-pip-version-check"].map(String::from).to_vec();
    args.extend(ctx.config.project.build_requires.iter().cloned());
    let install = ctx.runner.cmd(ctx.sh, &venv_python, &args, &here, &[]);
    ctx.runner.run(log, "installing the build requirements", install)?;
    std::fs::write(&marker, wanted)?;
    Ok(())
}

/// An interpreter without venv and ensurepip cannot build or test: say so plainly. (pip
/// itself comes into the build venv from ensurepip: a distribution's interpreter without pip
/// of its own, such as Debian's python3.14, builds as well as the pypa images' ones.)
fn check_interpreter(i: &Interpreter) -> Result<()> {
    if !i.venv {
        bail!(
            "{} ({}) has no venv module (or no ensurepip): install it (e.g. python3-venv) or skip this interpreter",
            i.tag,
            i.python
        );
    }
    Ok(())
}

/// Builds the wheel in the target's copy of the project, into `dist/`; ccache counts its
/// compiles in the target's own stats log ([`Ctx::stats_log`]), read for the heartbeat's progress.
pub fn build_wheel(ctx: &Ctx, log: &mut Log, source: &Source) -> Result<Built> {
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
    let mut env = ctx.cache.build_env(
        ctx.runner,
        &ctx.config.compile_cache,
        &ctx.runs,
        &ctx.interp.cc,
        &ctx.interp.cxx,
        &ctx.stats_log(),
    );
    if let Some(t) = &ctx.source_date_epoch {
        env.push(("SOURCE_DATE_EPOCH".into(), t.clone()));
    }
    let own = &ctx.config.project.build_env;
    if !own.contains_key("LDSHARED") && !own.contains_key("LDCXXSHARED") {
        let i = ctx.interp;
        env.extend(link::build_env(&i.ldshared, &i.ldcxxshared, &i.cc, CC_WRAPPER));
    }
    if !ctx.config.project.parallel_env.is_empty() {
        env.push((ctx.config.project.parallel_env.clone(), ctx.build_jobs.to_string()));
    }
    let linker = &ctx.config.project.linker;
    let cc = ctx.interp.cc.split_whitespace().next().unwrap_or_default();
    let with_linker = !linker.is_empty() && linker_runs(ctx, cc, linker);
    if with_linker {
        // Appended to what LDFLAGS the build would have had: the config's, or on the host the
        // caller's environment.
        let host = ctx.runner.is_host().then(|| std::env::var("LDFLAGS").ok()).flatten();
        let base = own.get("LDFLAGS").cloned().or(host).unwrap_or_default();
        env.push(("LDFLAGS".into(), format!("{base} -fuse-ld={linker}").trim_start().to_string()));
        log.note(&format!("linking with {linker} (-fuse-ld={linker} in LDFLAGS)"));
    } else if !linker.is_empty() {
        let why = format!("{linker} is not usable by {cc} where the build runs: linking with its default");
        eprintln!("[{}] warning: {why}", log.target);
        log.note(&format!("warning: {why}"));
    }
    env.extend(own.iter().filter(|(k, _)| !(with_linker && *k == "LDFLAGS")).map(|(k, v)| (k.clone(), v.clone())));
    // Each heartbeat says how many compiles finished, from ccache's counters.
    let progress = || {
        ctx.cache.ccache.as_ref().map(|_| {
            let n = compile_cache::stats_of(&ctx.stats_log());
            format!("{} compiles so far, {} from the cache", n.hits() + n.misses, n.hits())
        })
    };
    let job = ctx.runner.cmd(ctx.sh, &ctx.venv_python(&ctx.build_venv), &args, &source.dir, &env);
    ctx.runner.run_with_progress(log, "the build", job, &progress)?;
    Ok(Built { wheel: single_wheel(&dist)? })
}

/// Whether `cc`, the interpreter's compiler, links with `linker` where the build runs
/// (`-fuse-ld` and the linker's `--version`, which needs no input).
fn linker_runs(ctx: &Ctx, cc: &str, linker: &str) -> bool {
    if cc.is_empty() {
        return false;
    }
    let args = [format!("-fuse-ld={linker}"), "-Wl,--version".to_string()];
    let job = ctx.runner.cmd(ctx.sh, cc, &args, &ctx.venvs_dir(), &[]);
    job.cmd.quiet().ignore_stdout().ignore_stderr().run().is_ok()
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

/// Grafts the system libraries the wheel needs into it, into `repaired/`, with the config's
/// tool; a wheel with no ELF file needs nothing (told by the first bytes of each entry,
/// without reading the wheel whole).
pub fn graft(ctx: &Ctx, log: &mut Log, built: Built) -> Result<Repaired> {
    if !Wheel::open(&built.wheel)?.has_elf()? {
        log.note("no ELF file in the wheel: nothing to graft");
        return Ok(Repaired { wheel: built.wheel });
    }
    match (ctx.config.repair.tool, ctx.patchelf) {
        (RepairTool::Native, Some(patchelf)) => native_repair(ctx, log, built, patchelf),
        _ => auditwheel_repair(ctx, log, built),
    }
}

/// The native repair (`cargo xtask repair`'s): the logic runs here, the build system's files
/// are read where the build ran (a container's through one long-lived shell in it), patchelf
/// runs on the host over copies. The platform is the build system's `AUDITWHEEL_PLAT` (the
/// pypa images set it), else the best the wheel earns.
fn native_repair(ctx: &Ctx, log: &mut Log, built: Built, patchelf: &Path) -> Result<Repaired> {
    let out = ctx.work.join("repaired");
    let container;
    let fs: &dyn SystemFs = if ctx.runner.is_host() {
        &HostFs
    } else {
        container = ContainerFs::start(ctx.sh, ctx.runner, &ctx.work)?;
        &container
    };
    let plat = fs.env("AUDITWHEEL_PLAT").filter(|p| !p.is_empty());
    let packages = |paths: &[String]| sysfs::packages_of(ctx.sh, ctx.runner, &ctx.work, paths).unwrap_or_default();
    let tools = RepairTools { patchelf, scratch: &ctx.work, packages: &packages };
    let opts = RepairOptions { plat: plat.clone(), exclude: ctx.config.repair.exclude.clone(), only_plat: false };
    log.note(&format!(
        "native repair of {} (plat {}, patchelf {})",
        built.wheel.display(),
        plat.as_deref().unwrap_or("auto"),
        patchelf.display()
    ));
    let done = native::repair(ctx.config, &built.wheel, &out, &opts, fs, &tools)?;
    log.note(&format!(
        "grafted: {}; tags: {}; seconds: {}",
        if done.grafted.is_empty() { "nothing".to_string() } else { done.grafted.join(", ") },
        done.platforms.join("."),
        done.phase_line()
    ));
    Ok(Repaired { wheel: done.wheel })
}

/// `auditwheel repair` into `repaired/`, where the target builds.
fn auditwheel_repair(ctx: &Ctx, log: &mut Log, built: Built) -> Result<Repaired> {
    let out = ctx.work.join("repaired");
    std::fs::create_dir_all(&out)?;
    let mut env = ctx.auditwheel.env.clone();
    if let Some(t) = &ctx.source_date_epoch {
        env.push(("SOURCE_DATE_EPOCH".into(), t.clone()));
    }
    let args = vec!["repair".into(), "-w".into(), ctx.path(&out), ctx.path(&built.wheel)];
    let job = ctx.runner.cmd(ctx.sh, &ctx.auditwheel.program, &args, &ctx.work, &env);
    ctx.runner.run(log, "auditwheel repair", job)?;
    Ok(Repaired { wheel: single_wheel(&out)? })
}

/// fix-wheel: the 2018 repair, applied only when the loader graph shows the defect. The wheel
/// is read once here; a move renames entries without changing their bytes, so the analysis of
/// the moved wheel is the same one under the new names.
pub fn repair(ctx: &Ctx, log: &mut Log, repaired: Repaired) -> Result<Fixed> {
    let analysis = Analysis::of(&repaired.wheel)?;
    let graph = analysis.graph(&ctx.config.runtime_folders);
    match plan::plan(&analysis, &graph, ctx.config)? {
        Plan::NothingToFix => {
            log.note("fix-wheel: nothing to fix");
            Ok(Fixed { wheel: repaired.wheel, analysis, graph })
        }
        Plan::Move { libs_dir, renames } => {
            log.note(&format!("fix-wheel: moving {} entries into {libs_dir}/", renames.len()));
            let mut bytes = std::io::Cursor::new(Vec::new());
            write::write_renamed(&analysis.wheel, &renames, &mut bytes)?;
            let bytes = bytes.into_inner();
            write::atomic_write(&repaired.wheel, |w| Ok(std::io::Write::write_all(w, &bytes)?))?;
            let moved = analysis.renamed(&renames, bytes)?;
            let graph = moved.graph(&ctx.config.runtime_folders);
            Ok(Fixed { wheel: repaired.wheel, analysis: moved, graph })
        }
    }
}

/// check-wheel on the repair step's analysis: any problem fails the target.
pub fn check(ctx: &Ctx, log: &mut Log, fixed: Fixed) -> Result<Checked> {
    let report = report::report(ctx.config, &fixed.analysis, &fixed.graph);
    log.note(&format!("check-wheel: {:?} ({})", report.verdict, report.overall_tag));
    if !report.is_healthy() {
        bail!("check-wheel found {} problem(s):\n    {}", report.problems.len(), report.messages().join("\n    "));
    }
    Ok(Checked { wheel: fixed.wheel, tag: report.overall_tag })
}

/// Installs the exact wheel into a fresh venv and runs the config's test scripts from a
/// neutral folder, so the source tree cannot shadow the installed package.
pub fn test_wheel(ctx: &Ctx, log: &mut Log, checked: Checked) -> Result<Tested> {
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
    ctx.runner.run(log, "making the test venv", ctx.runner.cmd(ctx.sh, python, &make, &neutral, &[]))?;
    let vpy = ctx.venv_python(&venv);
    let mut install: Vec<String> =
        ["-m", "pip", "install", "--no-index", "--no-deps", "--disable-pip-version-check", "--prefix"]
            .map(String::from)
            .to_vec();
    install.extend([ctx.path(&venv), ctx.path(&checked.wheel)]);
    let job = ctx.runner.cmd(ctx.sh, &ctx.venv_python(&ctx.build_venv), &install, &neutral, &[]);
    ctx.runner.run(log, "installing the wheel", job)?;
    if ctx.config.tests.scripts.is_empty() {
        log.note("no test scripts configured");
    }
    for script in &ctx.config.tests.scripts {
        let path = ctx.repo.join(script);
        if !path.exists() {
            bail!("the test script {} (from the config) does not exist", path.display());
        }
        let job = ctx.runner.cmd(ctx.sh, &vpy, &[ctx.path(&path)], &neutral, &[]);
        ctx.runner.run(log, &format!("the test {script}"), job)?;
    }
    Ok(Tested { wheel: checked.wheel, tag: checked.tag })
}

/// Moves a copy of the wheel into the output folder, atomically: the folder never holds half a
/// wheel.
pub fn land(tested: Tested, out_dir: &Path) -> Result<Landed> {
    let wheel = write::copy_into_folder(&tested.wheel, out_dir)?;
    let bytes = std::fs::read(&wheel).with_context(|| format!("cannot read {}", wheel.display()))?;
    Ok(Landed { wheel, tested: tested.wheel, size: bytes.len() as u64, sha256: sha256_hex(&bytes), tag: tested.tag })
}
