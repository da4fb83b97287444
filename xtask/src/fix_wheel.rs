//! `cargo xtask fix-wheel`: the 2018 `fix_wheel.sh` repair, done natively and only when the
//! wheel's ELF files show the defect.
//!
//! auditwheel before 3.2 replaced the extension modules' RPATH with `$ORIGIN/.libs`, so the
//! package's own `lib_*` beside them were no longer found. The repair moves them (and the
//! plugin folders that travel with them) into that libs folder and rewrites RECORD. Applied
//! to a wheel from today's auditwheel the move breaks it, so the loader graph decides: a
//! wheel whose needs all resolve is left byte-identical.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::analysis::Analysis;
use crate::config::{glob_match, Config};
use crate::loader::{self, parent};
use crate::wheel::write;

/// How fix-wheel runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Print the plan, change nothing.
    pub dry_run: bool,
    /// Change nothing; report (exit 1) when a fix would be applied.
    pub check: bool,
    /// Write fixed wheels into this folder instead of in place.
    pub out_dir: Option<PathBuf>,
}

/// What fix-wheel decided for one wheel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    NothingToFix,
    /// Move entries: old name -> new name, into `libs_dir`.
    Move {
        libs_dir: String,
        renames: BTreeMap<String, String>,
    },
}

/// The outcome over all wheels: true when a fix was (or, with --check, would be) applied.
pub fn run(config: &Config, wheels: &[PathBuf], opts: &Options) -> Result<bool> {
    if wheels.is_empty() {
        bail!("no wheel given: cargo xtask fix-wheel <whl>...");
    }
    // Plan every wheel before writing any, so one broken input leaves every file as it was.
    let mut plans = Vec::new();
    for path in wheels {
        let analysis = Analysis::of(path)?;
        let plan = plan(&analysis, config).with_context(|| format!("cannot repair {}", path.display()))?;
        plans.push((path, analysis, plan));
    }
    if let Some(dir) = opts.out_dir.as_ref().filter(|_| !(opts.dry_run || opts.check)) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut any = false;
    for (path, analysis, plan) in &plans {
        let name = analysis.wheel.file_name();
        match plan {
            Plan::NothingToFix => {
                eprintln!("{name}: nothing to fix (every NEEDED entry resolves inside the wheel)");
                if let Some(dir) = &opts.out_dir {
                    if !(opts.dry_run || opts.check) {
                        copy_into(path, dir)?;
                    }
                }
            }
            Plan::Move { libs_dir, renames } => {
                any = true;
                let verb = if opts.dry_run || opts.check { "would move" } else { "moving" };
                eprintln!("{name}: the old auditwheel layout: {verb} {} entries into {libs_dir}/", renames.len());
                if opts.dry_run {
                    print_plan(analysis, renames);
                }
                if opts.dry_run || opts.check {
                    continue;
                }
                let dest = match &opts.out_dir {
                    Some(dir) => dir.join(&name),
                    None => path.to_path_buf(),
                };
                write::atomic_write(&dest, |w| write::write_renamed(&analysis.wheel, renames, w))
                    .with_context(|| format!("cannot write {}", dest.display()))?;
                eprintln!("{name}: fixed, written to {}", dest.display());
            }
        }
    }
    Ok(any)
}

/// Decides what to do with one wheel: refuses input it cannot trust, then resolves the loader
/// graph; moves only when that shows the defect, and only when the move makes it whole.
pub fn plan(analysis: &Analysis, config: &Config) -> Result<Plan> {
    if !analysis.record.is_clean() {
        bail!("RECORD does not match the wheel: {}", analysis.record.lines().join("; "));
    }
    if let Some((entry, why)) = analysis.elf_errors.iter().next() {
        bail!("{entry}: {why}");
    }
    let graph = analysis.graph(&config.runtime_folders);
    if graph.is_whole() {
        return Ok(Plan::NothingToFix);
    }
    let tree = analysis.tree(str::to_string);
    // The libs folder: where the extension modules that miss a library look for it.
    let mut libs_dirs = BTreeSet::new();
    let mut package_dirs = BTreeSet::new();
    for need in graph.misplaced() {
        if tree.objects.get(&need.object).is_some_and(|i| i.python_init.is_some()) {
            package_dirs.insert(parent(&need.object).to_string());
            libs_dirs.extend(need.searched.iter().filter(|d| *d != parent(&need.object)).cloned());
        }
    }
    let problems = graph.problem_lines().join("; ");
    let (Some(libs_dir), Some(package_dir)) = (libs_dirs.first(), package_dirs.first()) else {
        bail!("the loader graph is broken, but not in the old auditwheel way (no extension module looks in a libs folder): {problems}");
    };
    if libs_dirs.len() > 1 || package_dirs.len() > 1 {
        bail!(
            "the extension modules look in several libs folders ({}): refusing to guess; {problems}",
            libs_dirs.iter().chain(&package_dirs).cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let renames = renames(analysis, package_dir, libs_dir, &config.fix_wheel.move_to_libs)?;
    if renames.is_empty() {
        bail!(
            "nothing in {package_dir}/ matches the config's move_to_libs ({}); {problems}",
            config.fix_wheel.move_to_libs.join(", ")
        );
    }
    let after = loader::resolve(
        &analysis.tree(|n| renames.get(n).cloned().unwrap_or_else(|| n.to_string())),
        &config.runtime_folders,
    );
    if !after.is_whole() {
        bail!("moving into {libs_dir}/ would not make the wheel whole: {}", after.problem_lines().join("; "));
    }
    Ok(Plan::Move { libs_dir: libs_dir.clone(), renames })
}

/// The entries to move: top-level names of the package folder matching a pattern, with
/// everything under them, into the libs folder.
fn renames(
    analysis: &Analysis,
    package_dir: &str,
    libs_dir: &str,
    patterns: &[String],
) -> Result<BTreeMap<String, String>> {
    let prefix = if package_dir.is_empty() { String::new() } else { format!("{package_dir}/") };
    let existing: BTreeSet<&str> = analysis.wheel.entries.iter().map(|e| e.name.as_str()).collect();
    let mut out = BTreeMap::new();
    for entry in &analysis.wheel.entries {
        let Some(rest) = entry.name.strip_prefix(&prefix) else {
            continue;
        };
        let top = rest.split('/').next().unwrap_or(rest);
        if top.is_empty() || !patterns.iter().any(|p| glob_match(p, top)) {
            continue;
        }
        let new = format!("{libs_dir}/{rest}");
        if existing.contains(new.as_str()) {
            bail!("cannot move {} to {new}: that entry exists already", entry.name);
        }
        out.insert(entry.name.clone(), new);
    }
    Ok(out)
}

/// The dry-run listing: each move, then each RECORD row that changes.
fn print_plan(analysis: &Analysis, renames: &BTreeMap<String, String>) {
    for (old, new) in renames {
        println!("move {old} -> {new}");
    }
    for row in &analysis.wheel.record {
        if let Some(new) = renames.get(&row.path) {
            let size = row.size.map(|s| s.to_string()).unwrap_or_default();
            println!("RECORD {},{},{size} -> {new}", row.path, row.hash.as_deref().unwrap_or(""));
        }
    }
}

/// With `-o DIR`, a wheel that needs nothing is copied there as it is, so DIR holds every wheel.
fn copy_into(path: &Path, dir: &Path) -> Result<()> {
    if path.parent() != Some(dir) {
        write::copy_into_folder(path, dir)?;
    }
    Ok(())
}
