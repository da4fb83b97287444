//! check-wheel's verdict on a wheel: from one analysis and its loader graph, every finding
//! (loader graph, policy tag, Python ABI, RECORD, hygiene), each with its level, the tag the
//! wheel earns and why no better one. The `check-wheel` command prints it; the pipeline's check
//! step and `deploy` refuse a wheel on it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::library::abi3;
use crate::library::analysis::Analysis;
use crate::library::config::Config;
use crate::library::loader::{base as base_name, Graph};
use crate::library::plan::{self, Plan};
use crate::library::policy::{self, Libc, Requirements};
use crate::library::pypi;
use crate::library::wheel::{self, Limits, RecordReport};

/// What a report says of a wheel as a whole: the worst level among its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    #[default]
    Healthy,
    /// Hygiene only (see [`Level::Warning`]).
    Warnings,
    /// PyPI's upload checks would refuse it; it loads where its tags promise.
    Pypi,
    /// It will not load or install where its tags promise (or RECORD is wrong).
    Problems,
    /// The wheel cannot (or must not) be read.
    Unusable,
}

/// How much a finding weighs: the one table of levels every command uses.
///
/// | level | meaning | check-wheel exit | the pipeline's check step, deploy |
/// |---|---|---|---|
/// | unusable | cannot or must not be read | 2 | refused |
/// | error | will not load or install where its tags promise; a tag it does not earn; RECORD wrong; Python ABI mismatch | 1 | refused |
/// | pypi | PyPI's upload checks would refuse it | 0, or 1 with `--pypi` | refused |
/// | warning | hygiene: a search path outside the wheel in a file that still resolves, an unknown libc, names that collide on case-insensitive or Unicode-normalizing file systems | 0, or 1 with `--strict` | refused |
///
/// (Unusable is a verdict, not a finding: the wheel was not read.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Warning,
    Pypi,
    Error,
}

/// One thing found in a wheel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub level: Level,
    pub message: String,
}

impl Finding {
    fn new(level: Level, message: String) -> Finding {
        Finding { level, message }
    }
}

/// Which levels besides errors refuse a wheel (check-wheel's `--pypi` and `--strict`; the
/// pipeline and deploy run [`Strictness::ALL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Strictness {
    pub pypi: bool,
    pub warnings: bool,
}

impl Strictness {
    /// Every finding refuses.
    pub const ALL: Strictness = Strictness { pypi: true, warnings: true };
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
    /// Set when the wheel was read but not judged (a wheel for another platform).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Every finding, with its level.
    pub findings: Vec<Finding>,
    /// The error-level findings' messages.
    pub problems: Vec<String>,
    /// What PyPI's upload checks would refuse ("PyPI would refuse: ...").
    pub pypi: Vec<String>,
    /// The warnings' messages.
    pub warnings: Vec<String>,
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

impl Report {
    /// True when nothing at all was found.
    pub fn is_healthy(&self) -> bool {
        self.verdict == Verdict::Healthy
    }

    /// Whether the wheel is refused when `strict` says which levels count.
    pub fn refused(&self, strict: Strictness) -> bool {
        match self.verdict {
            Verdict::Healthy => false,
            Verdict::Warnings => strict.warnings,
            Verdict::Pypi => strict.pypi || strict.warnings && self.findings.iter().any(|f| f.level == Level::Warning),
            Verdict::Problems | Verdict::Unusable => true,
        }
    }

    /// check-wheel's exit code: 2 unusable, 1 refused, 0 otherwise.
    pub fn exit_code(&self, strict: Strictness) -> u8 {
        match self.verdict {
            Verdict::Unusable => 2,
            _ if self.refused(strict) => 1,
            _ => 0,
        }
    }

    /// Every finding's message, its level first (for a refusal that lists them).
    pub fn messages(&self) -> Vec<String> {
        self.findings.iter().map(|f| format!("{}: {}", level_word(f.level), f.message)).collect()
    }

    fn with_findings(mut self, findings: Vec<Finding>) -> Report {
        let of =
            |level: Level| findings.iter().filter(|f| f.level == level).map(|f| f.message.clone()).collect::<Vec<_>>();
        self.problems = of(Level::Error);
        self.pypi = of(Level::Pypi);
        self.warnings = of(Level::Warning);
        self.verdict = match findings.iter().map(|f| f.level).max() {
            None => Verdict::Healthy,
            Some(Level::Warning) => Verdict::Warnings,
            Some(Level::Pypi) => Verdict::Pypi,
            Some(Level::Error) => Verdict::Problems,
        };
        self.findings = findings;
        self
    }
}

/// The word for a level in messages and the human report.
pub fn level_word(level: Level) -> &'static str {
    match level {
        Level::Warning => "warning",
        Level::Pypi => "pypi",
        Level::Error => "error",
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

/// Platform-tag prefixes of Linux wheels: the only ones this tool judges.
const LINUX_PREFIXES: &[&str] = &["linux_", "manylinux", "musllinux_"];

/// Whether a platform tag is a Linux one.
fn is_linux_tag(tag: &str) -> bool {
    LINUX_PREFIXES.iter().any(|p| tag.starts_with(p))
}

/// The report on an analysed wheel, from its loader graph (`a.graph(..)`, computed once by the
/// caller and shared with the repair plan).
pub fn report(config: &Config, a: &Analysis, graph: &Graph) -> Report {
    let name = &a.wheel.name;
    let pure = a.elf.is_empty() && a.elf_errors.is_empty();
    let RecordReport { missing, unlisted, mismatched } = a.record.clone();
    let base = Report {
        wheel: a.wheel.file_name(),
        path: a.wheel.path.clone(),
        pure,
        claimed_tags: name.platform.clone(),
        record: RecordJson {
            missing,
            unlisted,
            mismatched: mismatched.iter().map(|(p, why)| format!("{p}: {why}")).collect(),
        },
        ..Report::default()
    };
    let error = |m: String| Finding::new(Level::Error, m);
    let warning = |m: String| Finding::new(Level::Warning, m);
    // What every wheel is checked for, whatever its platform.
    let mut findings: Vec<Finding> = a.record.lines().into_iter().map(error).collect();
    if let Some(n) = wheel::file_and_folder(a.wheel.entries.iter().map(|e| e.name.as_str())) {
        findings
            .push(error(format!("{n} is a file and a folder of other entries at once: pip cannot install the wheel")));
    }
    if let Some((x, y)) = case_collision(a.wheel.entries.iter().map(|e| e.name.as_str())) {
        findings.push(warning(format!(
            "{x} and {y} are one name on a case-insensitive or Unicode-normalizing file system"
        )));
    }
    findings.extend(pypi::findings(a));
    let linux = name.platform.iter().any(|t| is_linux_tag(t));
    if !linux && !name.platform.iter().all(|t| t == "any") {
        // An Android, iOS, macOS, Windows or Emscripten wheel: its loader and libraries are
        // not Linux's, and nothing here can say whether it loads.
        let note = format!("not a Linux wheel ({}): not checked", name.platform.join("."));
        return Report { note: Some(note), overall_tag: name.platform.join("."), ..base }.with_findings(findings);
    }
    if pure {
        return Report { overall_tag: "any".into(), ..base }.with_findings(findings);
    }
    for (entry, why) in &a.elf_errors {
        findings.push(error(format!("{entry}: {why}")));
    }
    findings.extend(graph.problem_lines().into_iter().map(error));
    for (object, entry) in &graph.outside {
        // The file still resolves inside the wheel (else the graph says so): the entry only
        // makes the loader look on the user's machine first.
        findings.push(warning(format!("{object} has search path entry {entry:?}, which points outside the wheel")));
    }

    let arch = wheel_arch(a);
    for (entry, info) in &a.elf {
        if let Some(why) = &info.arch_problem {
            findings.push(error(format!("{entry} is {why}")));
        } else if !arch.is_empty() && info.arch != arch && name.arch().is_some() {
            findings.push(error(format!("{entry} is built for {}, but the wheel is tagged {arch}", info.arch)));
        }
    }
    let libc = wheel_libc(a);
    if libc.is_none() {
        findings.push(warning(
            "no ELF file shows its C library (no NEEDED libc, no interpreter, no extension suffix that tells): \
             judged as glibc"
                .into(),
        ));
    }
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
    let abi = python_abi(a);
    let mut limits = abi.limits.clone();
    // A file no wheel architecture names (soft-float ARM, an unknown machine) loads nowhere a
    // manylinux or musllinux tag promises.
    for (entry, info) in &a.elf {
        if let Some(why) = &info.arch_problem {
            limits.push(format!("{} is {why}", base_name(entry)));
        }
    }
    // auditwheel's machine check: a file that needs an x86-64 level above the baseline earns
    // only the plain linux tag.
    for (entry, info) in &a.elf {
        if let Some(level) = info.isa_level {
            limits.push(format!("{} needs the x86-64-v{level} instruction set", base_name(entry)));
        }
    }
    if !limits.is_empty() {
        verdict.best = None;
        verdict.best_tag = policy::linux_tag(&arch);
        for reason in limits.iter().rev() {
            verdict.limits.insert(0, policy::Limit { policy: "manylinux", reason: reason.clone() });
        }
    }
    findings.extend(claimed_tag_problems(a, &req, &verdict, &limits).into_iter().map(error));
    findings.extend(abi.problems.into_iter().map(error));
    findings.extend(abi3::problems(a).into_iter().map(error));

    // Many of those lines can have one cause: the old layout, which fix-wheel can name.
    let broken = findings.iter().any(|f| f.level == Level::Error);
    let plan = if broken { plan::plan(a, graph, config).ok() } else { None };
    let fix_wheel = match plan {
        Some(Plan::Move { libs_dir, renames }) => Some(format!(
            "moves {} entries into {libs_dir}/, where the extension modules look (the old auditwheel layout)",
            renames.len()
        )),
        _ => None,
    };
    Report {
        fix_wheel,
        overall_tag: verdict.best_tag.clone(),
        limited_by: verdict.limits.iter().map(|l| format!("{}: {}", l.policy, l.reason)).collect(),
        ucs2: abi.ucs2,
        versioned_symbols,
        external_libs,
        ..base
    }
    .with_findings(findings)
}

/// Two entry names that differ only by case (`pkg/A.py`, `pkg/a.py`) or Unicode normal form
/// (`é` composed or decomposed): one file on macOS's and Windows' file systems.
fn case_collision<'a>(names: impl Iterator<Item = &'a str>) -> Option<(String, String)> {
    use unicode_normalization::UnicodeNormalization;
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for n in names {
        let folded: String = n.trim_end_matches('/').nfd().collect::<String>().to_lowercase();
        match seen.get(&folded) {
            Some(first) if *first != n.trim_end_matches('/') => return Some((first.to_string(), n.to_string())),
            _ => {
                seen.insert(folded, n.trim_end_matches('/'));
            }
        }
    }
    None
}

/// The wheel's architecture: from its tags, else from its first ELF file.
fn wheel_arch(a: &Analysis) -> String {
    a.wheel.name.arch().or_else(|| a.elf.values().map(|i| i.arch.clone()).find(|x| !x.is_empty())).unwrap_or_default()
}

/// The wheel's libc: from its tags, else from the first ELF file that tells (auditwheel's rule).
pub fn wheel_libc(a: &Analysis) -> Option<Libc> {
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
        let file = base_name(entry).to_string();
        for (lib, version) in &info.version_needs {
            req.symbol_versions.push((lib.clone(), version.clone(), file.clone()));
            versioned_symbols.entry(lib.clone()).or_default().insert(version.clone());
        }
        // Weak imports are bound to nothing when absent: they need nothing of the system.
        for sym in info.undefined() {
            req.undefined_symbols.push((sym.to_string(), file.clone()));
        }
    }
    for need in graph.system_needs() {
        req.external_libs.push((need.name.clone(), base_name(&need.object).to_string()));
    }
    (req, versioned_symbols)
}

/// The platform tags a wheel claims: its file name's, and every platform of WHEEL's `Tag:`
/// lines (each part of a tag may be a `.`-joined set, as maturin wrote them until 1.8).
fn claimed_platforms(a: &Analysis) -> BTreeSet<String> {
    let mut claimed: BTreeSet<String> = a.wheel.name.platform.iter().cloned().collect();
    for tag in a.wheel.declared_tags() {
        if let Some(platforms) = tag.rsplit('-').next() {
            claimed.extend(platforms.split('.').map(str::to_string));
        }
    }
    claimed
}

/// Every Linux platform tag the file name or WHEEL claims must be earned.
fn claimed_tag_problems(a: &Analysis, req: &Requirements, verdict: &policy::Verdict, limits: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for tag in claimed_platforms(a) {
        if tag.starts_with("linux_") || !is_linux_tag(&tag) {
            continue;
        }
        let Some(p) = policy::by_tag(&tag) else {
            out.push(format!("the platform tag {tag} names no known policy"));
            continue;
        };
        let earned = match verdict.best {
            // musl has no symbol versions: nothing in a wheel tells musl 1.1 from 1.2, so a
            // musllinux tag is earned when its library and blacklist checks pass.
            Some(best) if best.libc == Libc::Musl && p.libc == Libc::Musl => p.failures(req).is_empty(),
            Some(best) => best.libc == p.libc && best.priority >= p.priority,
            None => false,
        };
        if !earned {
            let mut why = limits.to_vec();
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

/// What the extensions say of the wheel's Python ABI.
struct Abi {
    /// Mismatches with the wheel's tags (errors).
    problems: Vec<String>,
    /// A Python 2 extension imports the UCS2 API as a function (auditwheel's `ucs2`).
    ucs2: bool,
    /// Why auditwheel allows only the linux tag (UCS2 and PyFPE imports).
    limits: Vec<String>,
}

/// Extensions must fit the wheel's Python ABI: no UCS2 API in a UCS4 (`cp27mu`) wheel or the
/// reverse (any symbol type: such an import is often `NOTYPE`); no `cpython-XY` suffix other
/// than the wheel's Python tag; a free-threaded suffix (`cpython-314t`) exactly where the ABI
/// tag is free-threaded (`cp314t`). Also auditwheel's tag limits: a Python 2 extension that
/// imports a UCS2 *function*, and an extension importing PyFPE_jbuf, earn only `linux`.
fn python_abi(a: &Analysis) -> Abi {
    let name = &a.wheel.name;
    let mut out = Abi { problems: Vec::new(), ucs2: false, limits: Vec::new() };
    let abi_tags = name.abi.join(".");
    for (entry, info) in &a.elf {
        let file = base_name(entry);
        let Some(init) = &info.python_init else {
            // Only extension modules are imported by Python.
            continue;
        };
        let py2 = !init.starts_with("PyInit_");
        let strong = |prefix: &str| info.imports.iter().find(|i| !i.weak && i.name.starts_with(prefix));
        if let Some(sym) =
            info.imports.iter().find(|i| PYFPE_SYMBOLS.contains(&i.name.as_str()) && (i.func || i.notype))
        {
            out.limits.push(format!(
                "{file} references {}, which only old interpreters built with --with-fpectl have",
                sym.name
            ));
        }
        if let Some(sym) = info.imports.iter().find(|i| i.func && i.name.contains("PyUnicodeUCS2_")).filter(|_| py2) {
            out.ucs2 = true;
            out.limits.push(format!("{file} references {} (the UCS2 unicode API)", sym.name));
        }
        if let Some(sym) = strong("PyUnicodeUCS2_").filter(|_| py2) {
            if name.abi.iter().any(|t| t.starts_with("cp27") && t.ends_with('u')) {
                out.problems.push(format!(
                    "{file} references {}: it was built against a narrow-unicode (UCS2) Python 2, but the wheel is \
                     tagged {abi_tags} for wide-unicode (UCS4) interpreters, where importing it fails with \
                     \"undefined symbol: {}\" (the 2018 cp27mu failure)",
                    sym.name, sym.name
                ));
            }
        }
        if let Some(sym) = strong("PyUnicodeUCS4_").filter(|_| py2) {
            if name.abi.iter().any(|t| t.starts_with("cp27") && !t.ends_with('u')) {
                out.problems.push(format!(
                    "{file} references {}: it was built against a wide-unicode (UCS4) Python 2, but the wheel is \
                     tagged {abi_tags} for narrow-unicode (UCS2) interpreters, where importing it fails with \
                     \"undefined symbol: {}\"",
                    sym.name, sym.name
                ));
            }
        }
        if let Some((version, threaded)) = cpython_suffix(file) {
            let tag = format!("cp{version}");
            let abi3 = name.abi.iter().any(|t| t == "abi3" || t == "abi3t");
            if !name.python.contains(&tag) || abi3 {
                out.problems.push(format!(
                    "{file} is built for CPython {} ({tag}), but the wheel is tagged {}-{abi_tags}: it cannot be \
                     imported where the wheel installs",
                    dotted(version),
                    name.python.join("."),
                ));
            } else {
                let wants_t = name.abi.iter().any(|t| t == &format!("{tag}t"));
                let plain = name.abi.iter().any(|t| t.starts_with(&tag) && !t.ends_with('t'));
                if threaded && !wants_t {
                    out.problems.push(format!(
                        "{file} is a free-threaded extension ({tag}t), but the wheel's ABI tag is {abi_tags}: \
                         interpreters with the GIL cannot import it"
                    ));
                } else if !threaded && wants_t && !plain {
                    out.problems.push(format!(
                        "{file} is built for the GIL build of CPython {}, but the wheel's ABI tag is {abi_tags} \
                         (free-threaded): it cannot be imported there",
                        dotted(version)
                    ));
                }
            }
        }
    }
    out
}

/// Symbols that tie an extension to interpreters built with --with-fpectl.
const PYFPE_SYMBOLS: &[&str] = &["PyFPE_jbuf", "PyFPE_dummy", "PyFPE_counter"];

/// `tlcore.cpython-311-x86_64-linux-gnu.so` -> (`311`, false); `cpython-314t-...` -> (`314`, true).
fn cpython_suffix(file: &str) -> Option<(&str, bool)> {
    let soabi = file.strip_suffix(".so")?.rsplit('.').next()?;
    let digits = soabi.strip_prefix("cpython-")?.split('-').next()?;
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    (end >= 2).then(|| (&digits[..end], digits[end..].contains('t')))
}

fn dotted(version: &str) -> String {
    format!("{}.{}", &version[..1], &version[1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_suffix_versions() {
        assert_eq!(cpython_suffix("tlcore.cpython-311-x86_64-linux-gnu.so"), Some(("311", false)));
        assert_eq!(cpython_suffix("x.cpython-313t-x86_64-linux-gnu.so"), Some(("313", true)));
        assert_eq!(cpython_suffix("x.cpython-36m-x86_64-linux-gnu.so"), Some(("36", false)));
        assert_eq!(cpython_suffix("x.abi3.so"), None);
        assert_eq!(cpython_suffix("libz.so.1"), None);
        assert_eq!(dotted("311"), "3.11");
    }

    #[test]
    fn case_collisions() {
        assert_eq!(case_collision(["p/A.py", "p/b.py"].into_iter()), None);
        assert_eq!(case_collision(["p/A.py", "p/a.py"].into_iter()), Some(("p/A.py".into(), "p/a.py".into())));
        assert_eq!(case_collision(["p/", "p/x"].into_iter()), None);
        // "é" composed (U+00E9) and decomposed (e + U+0301): one name on APFS and HFS+.
        let (nfc, nfd) = ("p/caf\u{e9}.py", "p/cafe\u{301}.py");
        assert_eq!(case_collision([nfc, nfd].into_iter()), Some((nfc.into(), nfd.into())));
        assert_eq!(case_collision(["p/caf\u{e9}.py", "p/cafe.py"].into_iter()), None);
    }
}
