//! manylinux and musllinux policies as data, and the platform tag a wheel earns from what its
//! ELF files need from the system.
//!
//! The policies are auditwheel's own policy JSON (`manylinux-policy.json`,
//! `musllinux-policy.json`, copied unchanged from the auditwheel release [`AUDITWHEEL_VERSION`]),
//! embedded and read once; a test compares them byte for byte with the files of the auditwheel
//! the tools venv pins, so a new pin fails until the files are copied again. [`evaluate`] mirrors
//! auditwheel 6.8.2's `show` (`analyze_wheel_abi` with grafting not allowed), for the checks it
//! can make from a [`Requirements`]:
//!
//! * Symbol versions. auditwheel reads the `.gnu.version_r` of every ELF file in the wheel and
//!   keeps every (library, version name) pair except those on the dynamic loader. The library is
//!   then forgotten: a version name counts by its namespace alone (the text before its first
//!   `_`), whether the library is a system one, one inside the wheel, or one no policy allows.
//!   A policy that lists the namespace for the arch must contain the whole version (its lists are
//!   sets, not maxima: `GLIBC_2.2.5` is not in manylinux1's i686 set); namespaces a policy does
//!   not list are ignored. Every glibc policy lists CXXABI, GCC, GLIBC, GLIBCXX, LIBATOMIC and
//!   ZLIB, so for instance `GLIBC_PRIVATE` or a grafted zlib's `ZLIB_1.2.9` do count.
//! * Libraries. Every needed library that is not the dynamic loader, not inside the wheel and
//!   not in the policy's whitelist fails the policy. The versions that such a library itself needs
//!   only matter to `repair`, which would graft it: with grafting off, the library already caps
//!   the tag below every policy it is not whitelisted by.
//! * Blacklist. An undefined symbol of an ELF file that is in the policy's blacklist for a
//!   library the same file needs directly fails the policy.
//!
//! auditwheel takes, per check, the most compatible policy that passes it, and keeps the least
//! compatible of those results; so does `evaluate`. Not covered here, the caller's business: the
//! x86-64 ISA level check (an ELF marked x86-64-v2 or above earns only `linux_x86_64`), the UCS2
//! and PyFPE_jbuf checks (Python 2 era, also `linux`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use serde::Deserialize;

/// The auditwheel release the embedded policy files come from.
pub const AUDITWHEEL_VERSION: &str = "6.8.2";

/// auditwheel's policy files, as shipped (`auditwheel/policy/*.json`). Android wheels keep
/// the tag they were built with, so `android-policy.json` has nothing for us to compute.
pub const MANYLINUX_JSON: &str = include_str!("manylinux-policy.json");
pub const MUSLLINUX_JSON: &str = include_str!("musllinux-policy.json");

/// Version needs on the dynamic loader are skipped, and the loader is never a missing library:
/// auditwheel matches `ld-linux` anywhere in the name (x86, arm, aarch64, riscv...), and the exact
/// names ppc64le (`ld64.so.2`) and s390x (`ld64.so.1`) use.
const LOADER_MARK: &str = "ld-linux";
const LOADER_SONAMES: &[&str] = &["ld64.so.1", "ld64.so.2"];

/// The musllinux whitelists name musl's libc `libc.so`; auditwheel replaces that with the
/// soname musl really has on each arch before checking a wheel, so `libc.so` itself is not
/// allowed.
const MUSL_LIBC_PLACEHOLDER: &str = "libc.so";
const MUSL_LIBC_SONAMES: &[(&str, &str)] = &[
    ("x86_64", "libc.musl-x86_64.so.1"),
    ("i686", "libc.musl-x86.so.1"),
    ("aarch64", "libc.musl-aarch64.so.1"),
    ("s390x", "libc.musl-s390x.so.1"),
    ("ppc64le", "libc.musl-ppc64le.so.1"),
    ("armv7l", "libc.musl-armv7.so.1"),
    ("riscv64", "libc.musl-riscv64.so.1"),
    ("loongarch64", "libc.musl-loongarch64.so.1"),
];

/// The tag every wheel earns, whatever it needs, is `linux_<arch>`.
const LINUX: &str = "linux";

/// Architectures that auditwheel maps onto another one's policies: x86-64 microarchitecture
/// levels (the ISA check is separate) and Android's name for aarch64.
const ARCH_BASELINES: &[(&str, &str)] =
    &[("x86_64_v2", "x86_64"), ("x86_64_v3", "x86_64"), ("x86_64_v4", "x86_64"), ("arm64_v8a", "aarch64")];

/// The C library a policy (and a wheel) is built against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Libc {
    Glibc,
    Musl,
}

impl Libc {
    /// The first word of this family's tags: "manylinux" or "musllinux".
    pub fn tag_prefix(self) -> &'static str {
        match self {
            Libc::Glibc => "manylinux",
            Libc::Musl => "musllinux",
        }
    }
}

/// A namespace ("GLIBC") -> the versions a policy allows in it ("2.17"...), on one arch.
pub type Namespaces = BTreeMap<String, Vec<String>>;

/// One policy of auditwheel's JSON (minus the `linux` pseudo-policy).
#[derive(Debug, Deserialize)]
pub struct Policy {
    /// The PEP 600 name, e.g. "manylinux_2_17" or "musllinux_1_2".
    pub name: String,
    /// Legacy names, e.g. "manylinux2014".
    pub aliases: Vec<String>,
    /// Higher is more compatible (older); `linux` is 0.
    pub priority: u32,
    /// Which file the policy came from.
    #[serde(skip, default = "glibc")]
    pub libc: Libc,
    /// The arches the policy exists for, each with its allowed versions per namespace.
    pub symbol_versions: BTreeMap<String, Namespaces>,
    /// Sonames that may stay outside the wheel.
    pub lib_whitelist: Vec<String>,
    /// Per library, symbols a wheel must not import from it ("*" would mean all).
    pub blacklist: BTreeMap<String, Vec<String>>,
}

fn glibc() -> Libc {
    Libc::Glibc
}

impl Policy {
    /// Whether the policy exists for `arch` (manylinux1 has no aarch64, for instance).
    pub fn supports_arch(&self, arch: &str) -> bool {
        self.namespaces(arch).is_some()
    }

    /// The namespaces and versions allowed on `arch`, or None when the policy has no such arch.
    pub fn namespaces(&self, arch: &str) -> Option<&Namespaces> {
        self.symbol_versions.get(baseline_arch(arch))
    }

    /// Whether a wheel may leave `soname` to the system, on any arch. musl's libc counts under
    /// each arch's own soname (`libc.musl-x86_64.so.1`), as auditwheel rewrites it.
    pub fn allows_library(&self, soname: &str) -> bool {
        self.whitelists(soname, |musl| MUSL_LIBC_SONAMES.iter().any(|(_, s)| *s == musl))
    }

    /// Like [`Policy::allows_library`], with musl's libc soname taken for `arch` only.
    fn allows_library_on(&self, arch: &str, soname: &str) -> bool {
        self.whitelists(soname, |musl| MUSL_LIBC_SONAMES.contains(&(arch, musl)))
    }

    /// The whitelist check, with `is_musl_libc` telling which sonames stand for musl's
    /// `libc.so` placeholder. auditwheel replaces the placeholder by the arch's soname only; a
    /// library that NEEDs plain `libc.so` (linked against upstream musl, as Rust's musl targets
    /// are) is musl's own loader too: musl's ld.so answers to that name itself.
    fn whitelists(&self, soname: &str, is_musl_libc: impl Fn(&str) -> bool) -> bool {
        let musl = self.libc == Libc::Musl;
        is_loader(soname)
            || self.lib_whitelist.iter().any(|lib| {
                if musl && lib == MUSL_LIBC_PLACEHOLDER {
                    is_musl_libc(soname) || soname == MUSL_LIBC_PLACEHOLDER
                } else {
                    lib == soname
                }
            })
    }

    /// Whether `namespace_version` ("GLIBC_2.17") is allowed on `arch`. auditwheel's rule: the
    /// versions of a namespace the policy lists must be in its set; other namespaces are
    /// ignored. A policy that does not exist for `arch` allows nothing.
    pub fn allows_symbol_version(&self, arch: &str, namespace: &str, version: &str) -> bool {
        let Some(namespaces) = self.namespaces(arch) else {
            return false;
        };
        match namespaces.get(namespace) {
            Some(versions) => versions.iter().any(|v| v == version),
            None => true,
        }
    }

    /// [`Policy::allows_symbol_version`] for a whole version name as ELF files carry it.
    pub fn allows_version_name(&self, arch: &str, version_name: &str) -> bool {
        let (namespace, version) = split_version_name(version_name);
        self.allows_symbol_version(arch, namespace, version)
    }

    /// Whether importing `symbol` from `lib` is forbidden by this policy.
    pub fn blacklisted(&self, lib: &str, symbol: &str) -> bool {
        self.blacklist.get(lib).is_some_and(|symbols| symbols.iter().any(|s| s == symbol || s == "*"))
    }

    /// The platform tag of this policy on `arch`, e.g. "manylinux_2_17_x86_64".
    pub fn tag(&self, arch: &str) -> String {
        format!("{}_{}", self.name, baseline_arch(arch))
    }

    /// Why a wheel with these requirements does not meet this policy's own tables, one line
    /// each; empty when it does. (The musl version rule of [`evaluate`] is not applied here.)
    pub fn failures(&self, req: &Requirements) -> Vec<String> {
        let arch = baseline_arch(&req.arch);
        let Some(namespaces) = self.namespaces(arch) else {
            return vec![format!("{} has no {arch} variant", self.name)];
        };
        let mut out = self.symbol_failures(namespaces, req);
        out.extend(self.library_failures(arch, req));
        out.extend(self.blacklist_failures(req));
        out
    }

    /// Version names outside the sets this policy lists for their namespaces.
    fn symbol_failures(&self, namespaces: &Namespaces, req: &Requirements) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (lib, version_name, file) in &req.symbol_versions {
            if is_loader(lib) || !seen.insert((file.as_str(), version_name.as_str())) {
                continue;
            }
            let (namespace, version) = split_version_name(version_name);
            let Some(allowed) = namespaces.get(namespace) else {
                continue;
            };
            if allowed.iter().any(|v| v == version) {
                continue;
            }
            let why = match highest_version(allowed) {
                None => format!("{} allows no {namespace} versions", self.name),
                Some(max) if version_key(version).is_some_and(|v| Some(v) > version_key(max)) => {
                    format!("{} allows up to {namespace}_{max}", self.name)
                }
                Some(_) => format!("{version_name} is not among {}'s {namespace} versions", self.name),
            };
            out.push(format!("{file} needs {version_name} ({why})"));
        }
        out
    }

    /// System libraries this policy does not whitelist.
    fn library_failures(&self, arch: &str, req: &Requirements) -> Vec<String> {
        let mut seen = HashSet::new();
        req.external_libs
            .iter()
            .filter(|(soname, file)| seen.insert((soname.as_str(), file.as_str())))
            .filter(|(soname, _)| !self.allows_library_on(arch, soname))
            .map(|(soname, file)| format!("{file} needs {soname}: not in the wheel and not allowed by {}", self.name))
            .collect()
    }

    /// Blacklisted symbols imported by a file that needs the blacklisting library directly.
    fn blacklist_failures(&self, req: &Requirements) -> Vec<String> {
        let mut undefined: HashMap<&str, HashSet<&str>> = HashMap::new();
        for (symbol, file) in &req.undefined_symbols {
            undefined.entry(file.as_str()).or_default().insert(symbol.as_str());
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (lib, file) in &req.external_libs {
            if !seen.insert((lib.as_str(), file.as_str())) {
                continue;
            }
            let Some(symbols) = self.blacklist.get(lib) else {
                continue;
            };
            let imported = undefined.get(file.as_str());
            for symbol in symbols.iter() {
                if symbol == "*" {
                    out.push(format!("{file} needs {lib}, which {} blacklists entirely", self.name));
                } else if imported.is_some_and(|set| set.contains(symbol.as_str())) {
                    out.push(format!("{file} uses {symbol} from {lib}, blacklisted by {}", self.name));
                }
            }
        }
        out
    }
}

/// What one wheel needs from the system, gathered by the caller from its ELF files.
#[derive(Debug, Clone, Default)]
pub struct Requirements {
    /// "x86_64", "i686", "aarch64"...
    pub arch: String,
    /// None = unknown or no ELF (glibc policies are then used, as auditwheel does on a glibc
    /// host); see [`detect_libc`] for auditwheel's rule.
    pub libc: Option<Libc>,
    /// Versioned symbol requirements: (library soname, version name like "GLIBC_2.17", the file
    /// that needs it). Give every `.gnu.version_r` entry of every ELF file in the wheel, on any
    /// library: `evaluate` drops the loader's and ignores namespaces no policy lists.
    pub symbol_versions: Vec<(String, String, String)>,
    /// System libraries needed (NEEDED not satisfied inside the wheel): (soname, file that
    /// needs it).
    pub external_libs: Vec<(String, String)>,
    /// Undefined symbols imported (symbol name, file) for the blacklist check. auditwheel only
    /// counts non-weak undefined `.dynsym` symbols of the file that needs the library directly.
    pub undefined_symbols: Vec<(String, String)>,
}

/// Why a policy was not earned: one human line, naming the file and the symbol or library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub policy: &'static str,
    pub reason: String,
}

/// The tag a wheel earns and why it does not earn a better one.
#[derive(Debug)]
pub struct Verdict {
    /// The most compatible policy earned; None means only `linux_<arch>`.
    pub best: Option<&'static Policy>,
    /// e.g. "manylinux_2_17_x86_64" or "linux_x86_64".
    pub best_tag: String,
    /// For each policy of the same libc family more compatible than `best`, nearest first, the
    /// reasons it was not earned.
    pub limits: Vec<Limit>,
}

/// Every policy, manylinux ones first, each family most compatible first, read from the
/// embedded JSON on first use.
pub fn all() -> &'static [Policy] {
    static POLICIES: OnceLock<Vec<Policy>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        let mut out = Vec::new();
        for (json, libc) in [(MANYLINUX_JSON, Libc::Glibc), (MUSLLINUX_JSON, Libc::Musl)] {
            // The files are part of this crate, read by a unit test: they always parse.
            let policies: Vec<Policy> = serde_json::from_str(json).unwrap_or_default();
            out.extend(policies.into_iter().filter(|p| p.name != LINUX).map(|p| Policy { libc, ..p }));
        }
        out
    })
}

/// The policy named `name` or having it as an alias ("manylinux2014").
pub fn by_name(name: &str) -> Option<&'static Policy> {
    all().iter().find(|p| p.name == name || p.aliases.iter().any(|a| a == name))
}

/// The policy of a platform tag ("manylinux2014_x86_64", "manylinux_2_17_x86_64",
/// "manylinux1_i686", "musllinux_1_2_x86_64"), or None when it names no known policy or the
/// policy has no such arch.
pub fn by_tag(tag: &str) -> Option<&'static Policy> {
    let (name, arch) = split_platform_tag(tag)?;
    by_name(name).filter(|p| p.supports_arch(arch))
}

/// Splits a platform tag into (policy name or alias, arch): "manylinux_2_28_x86_64" ->
/// ("manylinux_2_28", "x86_64"), "manylinux2014_aarch64" -> ("manylinux2014", "aarch64"),
/// "linux_x86_64" -> ("linux", "x86_64"). None for tags of other platforms.
pub fn split_platform_tag(tag: &str) -> Option<(&str, &str)> {
    let is_number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let name_len = if let Some(rest) = [Libc::Glibc, Libc::Musl]
        .iter()
        .find_map(|libc| tag.strip_prefix(libc.tag_prefix()).and_then(|r| r.strip_prefix('_')))
    {
        // PEP 600 / 656: <family>_<major>_<minor>_<arch>.
        let mut parts = rest.splitn(3, '_');
        let (major, minor) = (parts.next()?, parts.next()?);
        if !is_number(major) || !is_number(minor) {
            return None;
        }
        tag.len() - rest.len() + major.len() + 1 + minor.len()
    } else if let Some(rest) = tag.strip_prefix(Libc::Glibc.tag_prefix()) {
        // Legacy aliases: manylinux1, manylinux2010, manylinux2014.
        let (year, _) = rest.split_once('_')?;
        if !is_number(year) {
            return None;
        }
        tag.len() - rest.len() + year.len()
    } else if tag.starts_with(LINUX) {
        LINUX.len()
    } else {
        return None;
    };
    let (name, arch) = (&tag[..name_len], tag[name_len..].strip_prefix('_')?);
    (!arch.is_empty()).then_some((name, arch))
}

/// The policies of `libc` that exist for `arch`, most compatible first.
pub fn policies_for(libc: Libc, arch: &str) -> Vec<&'static Policy> {
    let mut out: Vec<_> = all().iter().filter(|p| p.libc == libc && p.supports_arch(arch)).collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.priority));
    out
}

/// The manylinux policies that exist for `arch`, most compatible first.
pub fn glibc_policies_for_arch(arch: &str) -> Vec<&'static Policy> {
    policies_for(Libc::Glibc, arch)
}

/// The fallback tag every wheel earns: "linux_x86_64".
pub fn linux_tag(arch: &str) -> String {
    format!("{LINUX}_{}", baseline_arch(arch))
}

/// auditwheel's libc of one ELF file (lddtree.py): a PT_INTERP `ld-musl-*` means musl and any
/// other interpreter glibc; else a NEEDED `libc.musl-*` / `ld-musl-*` means musl and `libc.so.6`
/// / `ld-linux-*` / `ld64.so.*` glibc; else the extension's file name (`-linux-musl.so`, or
/// `-linux-gnu.so` for CPython 3.11 and later, which started naming musl builds apart). None when
/// nothing tells. auditwheel takes the wheel's libc from its file name's tag when it has one,
/// else from the first ELF that tells, and ignores ELF files of the other libc.
pub fn detect_libc(file_name: &str, interpreter: Option<&str>, needed: &[String]) -> Option<Libc> {
    if let Some(interp) = interpreter {
        let base = interp.rsplit('/').next().unwrap_or(interp);
        return Some(if base.starts_with("ld-musl-") { Libc::Musl } else { Libc::Glibc });
    }
    for soname in needed {
        // Plain `libc.so` is what musl's own loader is called when a library links it directly.
        if soname.starts_with("libc.musl-") || soname.starts_with("ld-musl-") || soname == "libc.so" {
            return Some(Libc::Musl);
        }
        if soname == "libc.so.6" || soname.starts_with("ld-linux-") || soname.starts_with("ld64.so.") {
            return Some(Libc::Glibc);
        }
    }
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    if base.ends_with("-arm-linux-musleabihf.so") || base.ends_with("-linux-musl.so") {
        return Some(Libc::Musl);
    }
    if base.ends_with("-arm-linux-gnueabihf.so") || base.ends_with("-linux-gnu.so") {
        // "mod.cpython-311-x86_64-linux-gnu.so": the SOABI is the last dotted part of the stem.
        let stem = base.strip_suffix(".so").unwrap_or(base);
        let mut soabi = stem.rsplit('.').next().unwrap_or(stem).split('-');
        let is_cpython = soabi.next() == Some("cpython");
        let minor = soabi.next().and_then(|v| v.strip_prefix('3')).and_then(|m| m.get(..2));
        if is_cpython && minor.and_then(|m| m.parse::<u32>().ok()).is_some_and(|m| m >= 11) {
            return Some(Libc::Glibc);
        }
    }
    None
}

/// The tag a wheel with these requirements earns, as auditwheel 6.8.2's `show` would give it
/// (bar the checks listed in the module comment), and why it earns no better one.
///
/// musl has no symbol versions, so nothing in a wheel tells a musl 1.1 build from a 1.2 one:
/// auditwheel only tries the musllinux policy of the host's musl, or the newest one
/// (musllinux_1_2) on a host without musl. `evaluate` does the latter, and lists the older
/// musllinux policies as limits.
pub fn evaluate(req: &Requirements) -> Verdict {
    let arch = baseline_arch(&req.arch);
    let libc = req.libc.unwrap_or(Libc::Glibc);
    let mut candidates = policies_for(libc, arch);
    let mut unreachable = Vec::new();
    if libc == Libc::Musl && candidates.len() > 1 {
        unreachable = candidates.drain(..candidates.len() - 1).collect();
    }

    // Per check, the most compatible policy passing it; then the least compatible of those.
    let checks: [fn(&Policy, &str, &Requirements) -> bool; 3] = [
        |p, _, r| p.namespaces(&r.arch).is_some_and(|ns| p.symbol_failures(ns, r).is_empty()),
        |p, a, r| p.library_failures(a, r).is_empty(),
        |p, _, r| p.blacklist_failures(r).is_empty(),
    ];
    let best = checks
        .iter()
        .map(|passes| candidates.iter().copied().find(|p| passes(p, arch, req)))
        .min_by_key(|p| p.map_or(0, |p| p.priority))
        .flatten();
    let best_priority = best.map_or(0, |p| p.priority);

    let mut limits = Vec::new();
    for policy in candidates.iter().filter(|p| p.priority > best_priority) {
        let mut reasons = policy.failures(req);
        if reasons.is_empty() {
            // Only possible if a policy file stopped nesting its sets; the tables test checks
            // that they nest.
            reasons.push(format!(
                "{} passes each check, but auditwheel keeps the least compatible per-check result",
                policy.name
            ));
        }
        limits.extend(reasons.into_iter().map(|reason| (*policy, reason)));
    }
    for policy in unreachable.iter().filter(|p| p.priority > best_priority) {
        let reason =
            format!("musl has no symbol versions, so auditwheel grants {} only on a host with that musl", policy.name);
        limits.push((*policy, reason));
    }
    // Nearest to `best` first: that is the policy a fix would earn next.
    limits.sort_by_key(|(policy, _)| policy.priority);

    Verdict {
        best,
        best_tag: best.map_or_else(|| linux_tag(arch), |p| p.tag(arch)),
        limits: limits.into_iter().map(|(policy, reason)| Limit { policy: &policy.name, reason }).collect(),
    }
}

/// The arch whose policies apply to `arch` (x86_64_v3 -> x86_64).
pub fn baseline_arch(arch: &str) -> &str {
    ARCH_BASELINES.iter().find(|(a, _)| *a == arch).map_or(arch, |(_, base)| base)
}

/// Whether `soname` is the dynamic loader, which auditwheel never treats as a library.
fn is_loader(soname: &str) -> bool {
    soname.contains(LOADER_MARK) || LOADER_SONAMES.contains(&soname)
}

/// "GLIBC_2.17" -> ("GLIBC", "2.17"); "CXXABI_TM_1" -> ("CXXABI", "TM_1"). Like auditwheel's
/// `partition("_")`, a name without `_` is all namespace.
fn split_version_name(name: &str) -> (&str, &str) {
    name.split_once('_').unwrap_or((name, ""))
}

/// "2.17" -> [2, 17], for messages only; None for versions like "TM_1".
fn version_key(version: &str) -> Option<Vec<u64>> {
    version.split('.').map(|part| part.parse().ok()).collect()
}

/// The highest numeric version of a set, for "allows up to" messages.
fn highest_version(versions: &[String]) -> Option<&str> {
    versions.iter().filter_map(|v| Some((version_key(v)?, v.as_str()))).max().map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const EXT: &str = "lib_tl.cpython-311-x86_64-linux-gnu.so";

    /// An x86_64 glibc extension needing `versions` from libc and `libs` from the system.
    fn glibc_req(versions: &[&str], libs: &[&str]) -> Requirements {
        Requirements {
            arch: "x86_64".into(),
            libc: Some(Libc::Glibc),
            symbol_versions: versions.iter().map(|v| ("libc.so.6".into(), v.to_string(), EXT.into())).collect(),
            external_libs: libs.iter().map(|l| (l.to_string(), EXT.into())).collect(),
            undefined_symbols: Vec::new(),
        }
    }

    fn reasons(verdict: &Verdict, policy: &str) -> Vec<String> {
        verdict.limits.iter().filter(|l| l.policy == policy).map(|l| l.reason.clone()).collect()
    }

    #[test]
    fn glibc_2_17_and_libz_earn_manylinux_2_17() {
        let req = glibc_req(&["GLIBC_2.2.5", "GLIBC_2.17"], &["libc.so.6", "libz.so.1"]);
        let verdict = evaluate(&req);
        assert_eq!(verdict.best.map(|p| p.name.as_str()), Some("manylinux_2_17"));
        assert_eq!(verdict.best_tag, "manylinux_2_17_x86_64");
        assert_eq!(
            reasons(&verdict, "manylinux_2_12"),
            [format!("{EXT} needs GLIBC_2.17 (manylinux_2_12 allows up to GLIBC_2.12)")]
        );
        assert_eq!(verdict.limits.first().map(|l| l.policy), Some("manylinux_2_12"));
        assert!(verdict.limits.iter().all(|l| l.policy == "manylinux_2_12" || l.policy == "manylinux_2_5"));
    }

    #[test]
    fn glibc_2_28_earns_manylinux_2_28_and_names_the_file() {
        let req = glibc_req(&["GLIBC_2.17", "GLIBC_2.28"], &["libc.so.6", "libz.so.1"]);
        let verdict = evaluate(&req);
        assert_eq!(verdict.best_tag, "manylinux_2_28_x86_64");
        assert_eq!(verdict.limits.first().map(|l| l.policy), Some("manylinux_2_27"));
        assert_eq!(
            reasons(&verdict, "manylinux_2_27"),
            [format!("{EXT} needs GLIBC_2.28 (manylinux_2_27 allows up to GLIBC_2.27)")]
        );
        assert_eq!(
            reasons(&verdict, "manylinux_2_17"),
            [format!("{EXT} needs GLIBC_2.28 (manylinux_2_17 allows up to GLIBC_2.17)")]
        );
    }

    #[test]
    fn a_library_outside_every_whitelist_gives_linux() {
        let req = glibc_req(&["GLIBC_2.17"], &["libc.so.6", "libcurl.so.4"]);
        let verdict = evaluate(&req);
        assert!(verdict.best.is_none());
        assert_eq!(verdict.best_tag, "linux_x86_64");
        assert_eq!(verdict.limits.first().map(|l| l.policy), Some("manylinux_2_41"));
        assert_eq!(
            reasons(&verdict, "manylinux_2_28"),
            [format!("{EXT} needs libcurl.so.4: not in the wheel and not allowed by manylinux_2_28")]
        );
    }

    #[test]
    fn libexpat_is_allowed_from_manylinux2010() {
        let (m1, m2010) = (by_name("manylinux1").unwrap(), by_name("manylinux2010").unwrap());
        assert!(!m1.allows_library("libexpat.so.1"));
        assert!(m2010.allows_library("libexpat.so.1"));
        let verdict = evaluate(&glibc_req(&["GLIBC_2.5"], &["libexpat.so.1"]));
        assert_eq!(verdict.best_tag, "manylinux_2_12_x86_64");
        assert_eq!(
            reasons(&verdict, "manylinux_2_5"),
            [format!("{EXT} needs libexpat.so.1: not in the wheel and not allowed by manylinux_2_5")]
        );
        // libmvec only from manylinux_2_24 on.
        assert_eq!(evaluate(&glibc_req(&[], &["libmvec.so.1"])).best_tag, "manylinux_2_24_x86_64");
    }

    #[test]
    fn blacklisted_symbols_fail_the_policies_that_list_them() {
        let m1 = by_name("manylinux1").unwrap();
        assert!(m1.blacklisted("libz.so.1", "longest_match"));
        assert!(!m1.blacklisted("libz.so.1", "inflate"));
        assert!(!by_name("manylinux_2_41").unwrap().blacklisted("libz.so.1", "longest_match"));

        // longest_match is blacklisted up to manylinux_2_35 only.
        let mut req = glibc_req(&["GLIBC_2.17"], &["libz.so.1"]);
        req.undefined_symbols = vec![("inflate".into(), EXT.into()), ("longest_match".into(), EXT.into())];
        let verdict = evaluate(&req);
        assert_eq!(verdict.best_tag, "manylinux_2_36_x86_64");
        assert_eq!(
            reasons(&verdict, "manylinux_2_35"),
            [format!("{EXT} uses longest_match from libz.so.1, blacklisted by manylinux_2_35")]
        );

        // z_errmsg is blacklisted by every policy.
        req.undefined_symbols.push(("z_errmsg".into(), EXT.into()));
        assert_eq!(evaluate(&req).best_tag, "linux_x86_64");

        // A symbol of another file that does not need libz does not count.
        req.undefined_symbols = vec![("z_errmsg".into(), "other.so".into())];
        assert_eq!(evaluate(&req).best_tag, "manylinux_2_17_x86_64");
    }

    #[test]
    fn versions_are_sets_and_unlisted_namespaces_are_ignored() {
        let m1 = by_name("manylinux1").unwrap();
        // Below manylinux1's highest i686 GLIBC version, yet not in its set.
        assert!(!m1.allows_symbol_version("i686", "GLIBC", "2.2.5"));
        assert!(m1.allows_symbol_version("x86_64", "GLIBC", "2.2.5"));
        assert!(!m1.allows_version_name("x86_64", "LIBATOMIC_1.0"));
        assert!(m1.allows_version_name("x86_64", "FOO_1.0"));
        assert!(!m1.allows_version_name("aarch64", "FOO_1.0"));
        assert!(by_name("manylinux2014").unwrap().allows_version_name("x86_64", "CXXABI_TM_1"));

        let mut req = glibc_req(&["GLIBC_2.5"], &[]);
        // A library inside the wheel with its own namespace, and the loader: both ignored.
        req.symbol_versions.push(("libfoo.so.1".into(), "FOO_1.0".into(), EXT.into()));
        req.symbol_versions.push(("ld-linux-x86-64.so.2".into(), "GLIBC_2.35".into(), EXT.into()));
        assert_eq!(evaluate(&req).best_tag, "manylinux_2_5_x86_64");
        // A listed namespace counts whichever library it comes from (ZLIB_1.2.9 is in
        // manylinux_2_27 on).
        req.symbol_versions.push(("libz-0123abcd.so.1.3".into(), "ZLIB_1.2.9".into(), EXT.into()));
        assert_eq!(evaluate(&req).best_tag, "manylinux_2_27_x86_64");
        req.symbol_versions.push(("libc.so.6".into(), "GLIBC_PRIVATE".into(), EXT.into()));
        let verdict = evaluate(&req);
        assert_eq!(verdict.best_tag, "linux_x86_64");
        assert!(reasons(&verdict, "manylinux_2_41").contains(&format!(
            "{EXT} needs GLIBC_PRIVATE (GLIBC_PRIVATE is not among manylinux_2_41's GLIBC versions)"
        )));
    }

    #[test]
    fn by_tag_resolves_aliases_and_arches() {
        assert_eq!(by_tag("manylinux2014_x86_64").map(|p| p.name.as_str()), Some("manylinux_2_17"));
        assert_eq!(by_tag("manylinux_2_17_x86_64").map(|p| p.name.as_str()), Some("manylinux_2_17"));
        assert_eq!(by_tag("manylinux1_i686").map(|p| p.name.as_str()), Some("manylinux_2_5"));
        assert_eq!(by_tag("manylinux2010_x86_64").map(|p| p.priority), Some(90));
        assert_eq!(by_tag("musllinux_1_2_x86_64").map(|p| p.libc), Some(Libc::Musl));
        assert_eq!(by_tag("manylinux_2_36_loongarch64").map(|p| p.name.as_str()), Some("manylinux_2_36"));
        assert!(by_tag("manylinux1_aarch64").is_none());
        assert!(by_tag("linux_x86_64").is_none());
        assert!(by_tag("manylinux_2_99_x86_64").is_none());
        assert_eq!(by_name("manylinux_2_28").unwrap().tag("x86_64"), "manylinux_2_28_x86_64");
    }

    #[test]
    fn split_platform_tag_keeps_underscored_arches() {
        assert_eq!(split_platform_tag("musllinux_1_2_aarch64"), Some(("musllinux_1_2", "aarch64")));
        assert_eq!(split_platform_tag("linux_x86_64"), Some(("linux", "x86_64")));
        assert_eq!(split_platform_tag("manylinux_2_28_x86_64"), Some(("manylinux_2_28", "x86_64")));
        assert_eq!(split_platform_tag("manylinux2014_ppc64le"), Some(("manylinux2014", "ppc64le")));
        assert_eq!(split_platform_tag("manylinux1_i686"), Some(("manylinux1", "i686")));
        assert_eq!(split_platform_tag("manylinux_2_x86_64"), None);
        assert_eq!(split_platform_tag("manylinux_2_17"), None);
        assert_eq!(split_platform_tag("macosx_11_0_arm64"), None);
        assert_eq!(split_platform_tag("win_amd64"), None);
    }

    #[test]
    fn musl_wheels_earn_the_newest_musllinux() {
        let req = Requirements {
            arch: "x86_64".into(),
            libc: Some(Libc::Musl),
            symbol_versions: Vec::new(),
            external_libs: vec![("libc.musl-x86_64.so.1".into(), EXT.into()), ("libz.so.1".into(), EXT.into())],
            undefined_symbols: vec![("inflate".into(), EXT.into())],
        };
        let verdict = evaluate(&req);
        assert_eq!(verdict.best_tag, "musllinux_1_2_x86_64");
        assert_eq!(verdict.limits.iter().map(|l| l.policy).collect::<Vec<_>>(), ["musllinux_1_1"]);

        // musl's whitelist is libc and libz only; and libc under another arch's name is not it.
        let mut cxx = req.clone();
        cxx.external_libs.push(("libstdc++.so.6".into(), EXT.into()));
        let verdict = evaluate(&cxx);
        assert_eq!(verdict.best_tag, "linux_x86_64");
        assert_eq!(verdict.limits.first().map(|l| l.policy), Some("musllinux_1_2"));
        let musl = by_name("musllinux_1_2").unwrap();
        assert!(musl.allows_library("libc.musl-aarch64.so.1"));
        assert!(!musl.allows_library_on("x86_64", "libc.musl-aarch64.so.1"));
        assert!(musl.allows_library("libc.so"), "musl's loader by its plain name");
        assert!(!by_name("manylinux_2_17").unwrap().allows_library("libc.so"));
    }

    #[test]
    fn libc_detection_follows_lddtree() {
        let needed = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(detect_libc("a", Some("/lib/ld-musl-x86_64.so.1"), &[]), Some(Libc::Musl));
        assert_eq!(detect_libc("a", Some("/lib64/ld-linux-x86-64.so.2"), &[]), Some(Libc::Glibc));
        assert_eq!(detect_libc("a.so", None, &needed(&["libc.musl-x86_64.so.1"])), Some(Libc::Musl));
        assert_eq!(detect_libc("a.so", None, &needed(&["libm.so.6", "libc.so.6"])), Some(Libc::Glibc));
        assert_eq!(
            detect_libc("a.so", None, &needed(&["libc.so"])),
            Some(Libc::Musl),
            "musl's loader by its plain name"
        );
        assert_eq!(detect_libc("a.so", None, &needed(&["libm.so"])), None);
        assert_eq!(detect_libc("m.cpython-312-x86_64-linux-musl.so", None, &[]), Some(Libc::Musl));
        assert_eq!(detect_libc("m.cpython-311-x86_64-linux-gnu.so", None, &[]), Some(Libc::Glibc));
        assert_eq!(detect_libc("m.cpython-310-x86_64-linux-gnu.so", None, &[]), None);
    }

    #[test]
    fn the_embedded_files_parse_and_nest_and_names_are_unique() {
        for json in [MANYLINUX_JSON, MUSLLINUX_JSON] {
            serde_json::from_str::<Vec<Policy>>(json).unwrap();
        }
        assert_eq!(all().len(), 18, "16 manylinux policies (manylinux_2_5 to _2_41) and 2 musllinux");
        let mut names = HashSet::new();
        for p in all() {
            assert!(names.insert(p.name.as_str()), "{} twice", p.name);
            for alias in &p.aliases {
                assert!(names.insert(alias), "{alias} twice");
            }
        }
        for libc in [Libc::Glibc, Libc::Musl] {
            let arches: BTreeSet<_> =
                all().iter().filter(|p| p.libc == libc).flat_map(|p| p.symbol_versions.keys()).collect();
            for arch in arches {
                let family = policies_for(libc, arch);
                for pair in family.windows(2) {
                    let (older, newer) = (pair[0], pair[1]);
                    assert!(older.priority > newer.priority, "{} and {}", older.name, newer.name);
                    // Newer policies allow everything older ones do: `evaluate`'s limits rely on it.
                    assert!(older.lib_whitelist.iter().all(|l| newer.lib_whitelist.contains(l)));
                    for (ns, versions) in older.namespaces(arch).into_iter().flatten() {
                        assert!(versions.iter().all(|v| newer.allows_symbol_version(arch, ns, v)));
                    }
                    for (lib, symbols) in &newer.blacklist {
                        assert!(symbols.iter().all(|s| older.blacklisted(lib, s)), "{lib} in {}", newer.name);
                    }
                }
            }
        }
        assert!(by_name("manylinux_2_17").unwrap().supports_arch("ppc64"));
        assert!(by_name("musllinux_1_2").unwrap().supports_arch("loongarch64"));
    }
}
