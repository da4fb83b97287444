//! `cargo xtask fix-wheel`: the 2018 `fix_wheel.sh` repair, done natively and only when the
//! wheel's ELF files show the defect. The decision is the library's repair plan
//! ([`crate::library::plan`]); this command reads the wheels, prints, and writes.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::flags;
use crate::library::analysis::Analysis;
use crate::library::config::Config;
use crate::library::plan::{self, Plan};
use crate::library::text;
use crate::library::wheel::write;

/// Plans every wheel, then applies the plans (unless `--dry-run` or `--check`). Exit 0 when
/// done or nothing to fix, 1 with `--check` when a fix would be applied.
pub fn run(config: &Config, flags: &flags::FixWheel) -> Result<ExitCode> {
    if flags.wheels.is_empty() {
        bail!("no wheel given: cargo xtask fix-wheel <whl>...");
    }
    let change = !(flags.dry_run || flags.check);
    if flags.out_dir.is_some() {
        // Two inputs of one name would land on one file: the second would silently win.
        let mut names = std::collections::BTreeMap::new();
        for path in &flags.wheels {
            if let Some(first) = names.insert(path.file_name(), path) {
                bail!(
                    "{} and {} have the same name: with -o both would be written to one file",
                    text::path(first),
                    text::path(path)
                );
            }
        }
    }
    let limits = flags.read.limits();
    // Plan every wheel before writing any, so one broken input leaves every file as it was.
    let mut plans = Vec::new();
    for path in &flags.wheels {
        let analysis = Analysis::read(path, &limits)?;
        let graph = analysis.graph(&config.runtime_folders);
        let plan =
            plan::plan(&analysis, &graph, config).with_context(|| format!("cannot repair {}", path.display()))?;
        plans.push((path, analysis, plan));
    }
    if let Some(dir) = flags.out_dir.as_ref().filter(|_| change) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut any = false;
    for (path, analysis, plan) in &plans {
        let name = analysis.wheel.file_name();
        match plan {
            Plan::NothingToFix => {
                eprintln!("{name}: nothing to fix (every NEEDED entry resolves inside the wheel)");
                if let Some(dir) = flags.out_dir.as_ref().filter(|_| change) {
                    copy_into(path, dir)?;
                }
            }
            Plan::Move { libs_dir, renames } => {
                any = true;
                let verb = if change { "moving" } else { "would move" };
                eprintln!("{name}: the old auditwheel layout: {verb} {} entries into {libs_dir}/", renames.len());
                if flags.dry_run {
                    print_plan(analysis, renames);
                }
                if !change {
                    continue;
                }
                let dest = match &flags.out_dir {
                    Some(dir) => dir.join(&name),
                    None => path.to_path_buf(),
                };
                write::atomic_write(&dest, |w| write::write_renamed(&analysis.wheel, renames, w))
                    .with_context(|| format!("cannot write {}", text::path(&dest)))?;
                eprintln!("{name}: fixed, written to {}", text::path(&dest));
            }
        }
    }
    Ok(if any && flags.check { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The dry-run listing: each move, then each RECORD row that changes.
fn print_plan(analysis: &Analysis, renames: &std::collections::BTreeMap<String, String>) {
    let p = text::printable;
    for (old, new) in renames {
        println!("move {} -> {}", p(old), p(new));
    }
    for row in &analysis.wheel.record {
        if let Some(new) = renames.get(&row.path) {
            let size = row.size.map(|s| s.to_string()).unwrap_or_default();
            println!("RECORD {},{},{size} -> {}", p(&row.path), p(row.hash.as_deref().unwrap_or("")), p(new));
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
