//! The repair plan of the 2018 `fix_wheel.sh`, decided from the loader graph: auditwheel
//! before 3.2 replaced the extension modules' RPATH with `$ORIGIN/.libs`, so the package's own
//! `lib_*` beside them were no longer found. The repair moves them (and the plugin folders
//! that travel with them) into that libs folder. Applied to a wheel from today's auditwheel the
//! move breaks it, so only a wheel whose graph shows the defect gets a move, and only one that
//! makes the graph whole.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};

use crate::library::analysis::Analysis;
use crate::library::config::{glob_match, Config};
use crate::library::loader::{self, parent, Graph};
use crate::library::wheel;

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

/// Decides what to do with one wheel: refuses input it cannot trust, then resolves the loader
/// graph; moves only when that shows the defect, and only when the move makes it whole.
/// `graph` is the analysis's own loader graph (computed once by the caller and shared with
/// the report).
pub fn plan(analysis: &Analysis, graph: &Graph, config: &Config) -> Result<Plan> {
    if !analysis.record.is_clean() {
        bail!("RECORD does not match the wheel: {}", analysis.record.lines().join("; "));
    }
    if let Some((entry, why)) = analysis.elf_errors.iter().next() {
        bail!("{entry}: {why}");
    }
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
    let moved = analysis.wheel.entries.iter().map(|e| renames.get(&e.name).unwrap_or(&e.name).as_str());
    if let Some(name) = wheel::file_and_folder(moved) {
        bail!("moving into {libs_dir}/ would make {name} a file and a folder at once: refusing");
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
