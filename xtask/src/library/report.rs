//! check-wheel's verdict on a wheel: from one analysis and its loader graph, every finding
//! (loader graph, policy tag, Python ABI, RECORD, hygiene), each with its level, the tag the
//! wheel earns and why no better one. The `check-wheel` command prints it; the pipeline's check
//! step and `deploy` refuse a wheel on it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::library::analysis::Analysis;
use crate::library::config::Config;
use crate::library::loader::{base, Graph};
use crate::library::plan::{self, Plan};
use crate::library::policy::{self, Libc, Requirements};
use crate::library::wheel::{self, Limits, RecordReport};

/// What a report says of a wheel as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    #[default]
    Healthy,
    Problems,
    /// The wheel cannot (or must not) be read.
    Unusable,
}

impl Verdict {
    /// check-wheel's exit code: 0 healthy, 1 problems, 2 unusable.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Healthy => 0,
            Verdict::Problems => 1,
            Verdict::Unusable => 2,
        }
    }
}

/// How much a finding weighs. Every finding today is an error: the wheel will not load or
/// install where its tags promise, or its RECORD is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
}

/// One thing wrong with a wheel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub level: Level,
    pub message: String,
}

impl Finding {
    fn error(message: String) -> Finding {
        Finding { level: Level::Error, message }
    }
}

/// The report on one wheel. Field names follow `auditwheel show --json` where they mean the
/// same thing (`wheel`, `pure`, `overall_tag`, `ucs2`, `versioned_symbols`, `external_libs`).
#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub wheel: String,
    /// Serialized as text (a path that is not UTF-8 shows its bytes escaped).
    #[serde(serialize_with = "crate::library::text::serialize_path")]
    pub path: PathBuf,
    pub verdict: Verdict,
    /// Set when the wheel could not be read at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The findings' messages (the JSON keeps auditwheel-style plain strings).
    #[serde(serialize_with = "messages")]
    pub problems: Vec<Finding>,
    /// When the problems are the old auditwheel layout that fix-wheel repairs: what it would
    /// move, and where (fix-wheel's own plan, which also checks the moved tree resolves).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_wheel: Option<String>,
    /// No ELF file inside.
    pub pure: bool,
    /// The best tag the wheel earns.
    pub overall_tag: String,
    /// Why it earns no more compatible tag (nearest policy first).
    pub limited_by: Vec<String>,
    /// The platform tags the file name claims.
    pub claimed_tags: Vec<String>,
    /// An extension references the UCS2 unicode API.
    pub ucs2: bool,
    /// Library -> version names needed from it, over all ELF files.
    pub versioned_symbols: BTreeMap<String, BTreeSet<String>>,
    /// System libraries the wheel needs -> the files that need them.
    pub external_libs: BTreeMap<String, BTreeSet<String>>,
    pub record: RecordJson,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct RecordJson {
    pub missing: Vec<String>,
    pub unlisted: Vec<String>,
    pub mismatched: Vec<String>,
}

fn messages<S: serde::Serializer>(findings: &[Finding], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(findings.iter().map(|f| &f.message))
}

impl Report {
    /// True when nothing was found.
    pub fn is_healthy(&self) -> bool {
        self.verdict == Verdict::Healthy
    }

    /// The findings' messages.
    pub fn messages(&self) -> Vec<&str> {
        self.problems.iter().map(|f| f.message.as_str()).collect()
    }
}

/// Checks one wheel file; unreadable input gives a report with verdict [`Verdict::Unusable`].
pub fn check(config: &Config, path: &Path, limits: &Limits) -> Report {
    match Analysis::read(path, limits) {
        Ok(a) => report(config, &a, &a.graph(&config.runtime_folders)),
        Err(e) => Report {
            wheel: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            path: path.to_path_buf(),
            verdict: Verdict::Unusable,
            error: Some(format!("{e:#}")),
            ..Report::default()
        },
    }
}

/// The report on an analysed wheel, from its loader graph (`a.graph(..)`, computed once by the
/// caller and shared with the repair plan).
pub fn report(config: &Config, a: &Analysis, graph: &Graph) -> Report {
    let name = &a.wheel.name;
    let mut problems = Vec::new();
    for (entry, why) in &a.elf_errors {
        problems.push(format!("{entry}: {why}"));
    }
    problems.extend(graph.problem_lines());
    if let Some(name) = wheel::file_and_folder(a.wheel.entries.iter().map(|e| e.name.as_str())) {
        problems.push(format!("{name} is a file and a folder of other entries at once: pip cannot install the wheel"));
    }
    for (object, entry) in &graph.outside {
        problems.push(format!("{object} has search path entry {entry:?}, which points outside the wheel"));
    }

    let arch = wheel_arch(a);
    for (entry, info) in &a.elf {
        if !arch.is_empty() && info.arch != arch && name.arch().is_some() {
            problems.push(format!("{entry} is built for {}, but the wheel is tagged {arch}", info.arch));
        }
    }
    let libc = wheel_libc(a);
    let (req, versioned_symbols) = requirements(a, graph, &arch, libc);
    // As auditwheel's field: the system libraries no policy of the wheel's family allows.
    let most_permissive = policy::policies_for(libc.unwrap_or(Libc::Glibc), &arch).into_iter().last();
    let mut external_libs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for need in graph.system_needs() {
        if most_permissive.is_some_and(|p| !p.allows_library(&need.name)) {
            external_libs.entry(need.name.clone()).or_default().insert(need.object.clone());
        }
    }
    let mut verdict = policy::evaluate(&req);
    let (abi_problems, ucs2, abi_limits) = python_abi_problems(a);
    if !abi_limits.is_empty() {
        // auditwheel gives a Python 2 extension that imports the UCS2 API (or PyFPE_jbuf)
        // only the plain linux tag, whatever its ABI tag says.
        verdict.best = None;
        verdict.best_tag = policy::linux_tag(&arch);
        for reason in abi_limits.iter().rev() {
            verdict.limits.insert(0, policy::Limit { policy: "manylinux", reason: reason.clone() });
        }
    }
    let pure = a.elf.is_empty();
    if !pure {
        problems.extend(claimed_tag_problems(a, &req, &verdict, &abi_limits));
    }
    problems.extend(abi_problems);
    problems.extend(a.record.lines());

    // Many of those lines can have one cause: the old layout, which fix-wheel can name.
    let plan = if problems.is_empty() { None } else { plan::plan(a, graph, config).ok() };
    let fix_wheel = match plan {
        Some(Plan::Move { libs_dir, renames }) => Some(format!(
            "moves {} entries into {libs_dir}/, where the extension modules look (the old auditwheel layout)",
            renames.len()
        )),
        _ => None,
    };
    let RecordReport { missing, unlisted, mismatched } = a.record.clone();
    Report {
        wheel: a.wheel.file_name(),
        path: a.wheel.path.clone(),
        verdict: if problems.is_empty() { Verdict::Healthy } else { Verdict::Problems },
        error: None,
        problems: problems.into_iter().map(Finding::error).collect(),
        fix_wheel,
        pure,
        overall_tag: if pure { "any".into() } else { verdict.best_tag.clone() },
        limited_by: verdict.limits.iter().map(|l| format!("{}: {}", l.policy, l.reason)).collect(),
        claimed_tags: name.platform.clone(),
        ucs2,
        versioned_symbols,
        external_libs,
        record: RecordJson {
            missing,
            unlisted,
            mismatched: mismatched.into_iter().map(|(p, why)| format!("{p}: {why}")).collect(),
        },
    }
}

/// The wheel's architecture: from its tags, else from its first ELF file.
fn wheel_arch(a: &Analysis) -> String {
    a.wheel.name.arch().or_else(|| a.elf.values().next().map(|i| i.arch.clone())).unwrap_or_default()
}

/// The wheel's libc: from its tags, else from the first ELF file that tells (auditwheel's rule).
fn wheel_libc(a: &Analysis) -> Option<Libc> {
    let tag_libc = a.wheel.name.platform.iter().find_map(|t| {
        if t.starts_with("musllinux_") {
            Some(Libc::Musl)
        } else if t.starts_with("manylinux") {
            Some(Libc::Glibc)
        } else {
            None
        }
    });
    tag_libc.or_else(|| a.elf.iter().find_map(|(p, i)| policy::detect_libc(p, i.interpreter.as_deref(), &i.needed)))
}

/// What the wheel's ELF files need from the system, for the policies; and, as auditwheel's
/// field, library -> the version names needed from it.
fn requirements(
    a: &Analysis,
    graph: &Graph,
    arch: &str,
    libc: Option<Libc>,
) -> (Requirements, BTreeMap<String, BTreeSet<String>>) {
    let mut req = Requirements { arch: arch.to_string(), libc, ..Requirements::default() };
    let mut versioned_symbols: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (entry, info) in &a.elf {
        let file = base(entry).to_string();
        for (lib, version) in &info.version_needs {
            req.symbol_versions.push((lib.clone(), version.clone(), file.clone()));
            versioned_symbols.entry(lib.clone()).or_default().insert(version.clone());
        }
        for sym in &info.undefined {
            req.undefined_symbols.push((sym.clone(), file.clone()));
        }
    }
    for need in graph.system_needs() {
        req.external_libs.push((need.name.clone(), base(&need.object).to_string()));
    }
    (req, versioned_symbols)
}

/// Every platform tag the file name or WHEEL claims must be earned.
fn claimed_tag_problems(
    a: &Analysis,
    req: &Requirements,
    verdict: &policy::Verdict,
    abi_limits: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    let mut claimed: BTreeSet<String> = a.wheel.name.platform.iter().cloned().collect();
    for tag in a.wheel.declared_tags() {
        let platform = tag.rsplit('-').next().unwrap_or(&tag).to_string();
        if !a.wheel.name.platform.contains(&platform) {
            out.push(format!("WHEEL declares the tag {tag}, which the file name does not carry"));
        }
        claimed.insert(platform);
    }
    for tag in &claimed {
        if tag.starts_with("linux_") {
            continue;
        }
        let Some(p) = policy::by_tag(tag) else {
            out.push(format!("the platform tag {tag} names no known policy"));
            continue;
        };
        let earned = match verdict.best {
            Some(best) => best.libc == p.libc && best.priority >= p.priority,
            None => false,
        };
        if !earned {
            let mut why = abi_limits.to_vec();
            why.extend(p.failures(req));
            if let Some(best) = verdict.best.filter(|b| b.libc != p.libc) {
                why.insert(0, format!("its ELF files are built for {}", best.libc.tag_prefix()));
            }
            if why.is_empty() {
                why.push(format!("the wheel earns only {}", verdict.best_tag));
            }
            out.push(format!("claims {tag} but earns only {}: {}", verdict.best_tag, why.join("; ")));
        }
    }
    out
}

/// Extensions must fit the wheel's Python ABI: no UCS2 API in a UCS4 (`cp27mu`) wheel or the
/// reverse, and no `cpython-XY` suffix other than the wheel's Python tag. Returns the
/// problems, whether a Python 2 extension imports the UCS2 API, and the reasons (UCS2,
/// PyFPE) for which auditwheel allows only the linux tag.
fn python_abi_problems(a: &Analysis) -> (Vec<String>, bool, Vec<String>) {
    let name = &a.wheel.name;
    let mut out = Vec::new();
    let mut ucs2 = false;
    let mut limits = Vec::new();
    for (entry, info) in &a.elf {
        let file = base(entry);
        let Some(init) = &info.python_init else {
            // Only extension modules are imported by Python.
            continue;
        };
        let py2 = !init.starts_with("PyInit_");
        if let Some(sym) = info.undefined.iter().find(|s| PYFPE_SYMBOLS.contains(&s.as_str())) {
            limits.push(format!("{file} references {sym}, which only old interpreters built with --with-fpectl have"));
        }
        let ucs2_sym = info.undefined.iter().find(|s| s.starts_with("PyUnicodeUCS2_")).filter(|_| py2);
        if let Some(sym) = ucs2_sym {
            limits.push(format!("{file} references {sym} (the UCS2 unicode API)"));
        }
        if let Some(sym) = ucs2_sym {
            ucs2 = true;
            if name.abi.iter().any(|t| t.starts_with("cp27") && t.ends_with('u')) {
                out.push(format!(
                    "{file} references {sym}: it was built against a narrow-unicode (UCS2) Python 2, \
                     but the wheel is tagged {} for wide-unicode (UCS4) interpreters, where importing it \
                     fails with \"undefined symbol: {sym}\" (the 2018 cp27mu failure)",
                    name.abi.join(".")
                ));
            }
        }
        if let Some(sym) = info.undefined.iter().find(|s| s.starts_with("PyUnicodeUCS4_")) {
            if name.abi.iter().any(|t| t.starts_with("cp27") && !t.ends_with('u')) {
                out.push(format!(
                    "{file} references {sym}: it was built against a wide-unicode (UCS4) Python 2, \
                     but the wheel is tagged {} for narrow-unicode (UCS2) interpreters, where importing it \
                     fails with \"undefined symbol: {sym}\"",
                    name.abi.join(".")
                ));
            }
        }
        if let Some(version) = cpython_suffix_version(file) {
            let tag = format!("cp{version}");
            if !name.python.contains(&tag) || name.abi.iter().any(|t| t == "abi3") {
                out.push(format!(
                    "{file} is built for CPython {} ({tag}), but the wheel is tagged {}-{}: it cannot be \
                     imported where the wheel installs",
                    dotted(version),
                    name.python.join("."),
                    name.abi.join(".")
                ));
            }
        }
    }
    (out, ucs2, limits)
}

/// Symbols that tie an extension to interpreters built with --with-fpectl.
const PYFPE_SYMBOLS: &[&str] = &["PyFPE_jbuf", "PyFPE_dummy", "PyFPE_counter"];

/// `tlcore.cpython-311-x86_64-linux-gnu.so` -> `311`; `cpython-313t-...` -> `313`.
fn cpython_suffix_version(file: &str) -> Option<&str> {
    let soabi = file.strip_suffix(".so")?.rsplit('.').next()?;
    let digits = soabi.strip_prefix("cpython-")?.split('-').next()?;
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    (end >= 2).then(|| &digits[..end])
}

fn dotted(version: &str) -> String {
    format!("{}.{}", &version[..1], &version[1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_suffix_versions() {
        assert_eq!(cpython_suffix_version("tlcore.cpython-311-x86_64-linux-gnu.so"), Some("311"));
        assert_eq!(cpython_suffix_version("x.cpython-313t-x86_64-linux-gnu.so"), Some("313"));
        assert_eq!(cpython_suffix_version("x.cpython-36m-x86_64-linux-gnu.so"), Some("36"));
        assert_eq!(cpython_suffix_version("x.abi3.so"), None);
        assert_eq!(cpython_suffix_version("libz.so.1"), None);
        assert_eq!(dotted("311"), "3.11");
    }
}
