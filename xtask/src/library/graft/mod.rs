//! The native repair's plan: what `auditwheel repair` (6.8) would graft into a wheel and how
//! it would patch each ELF file, decided here in one pass over the wheel's ELF facts and the
//! build system's libraries ([`search`]), without touching a file. The process layer copies
//! the libraries, runs patchelf with [`Edit::patchelf_args`], and writes the wheel.
//!
//! What auditwheel does, and so what this does:
//! - every ELF file of the wheel is a root; its libraries are found as [`search`] says;
//! - for the chosen policy, a root's external libraries are those it needs, directly or
//!   through libraries that are not whitelisted, that the policy does not whitelist and that
//!   were not found inside the wheel; a `libpython` need is removed instead;
//! - each external library is copied once to `<dist>.libs/<base>-<8 hex of its sha256>.<ext>`
//!   (the hash of the system file, the name of its real path), its SONAME set to that name;
//! - each root with external libraries gets every such NEEDED replaced and its RPATH set to
//!   its entries that stay inside the wheel plus `$ORIGIN/<relative path to the libs folder>`;
//! - each grafted library that needs another grafted one gets those NEEDED replaced and RPATH
//!   `$ORIGIN`; the others lose their RPATH.

pub mod sbom;
pub mod search;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};

use crate::library::config::glob_match;
use crate::library::elf::{ElfInfo, Platform};
use crate::library::policy::Policy;
use search::{expand_entry, find_on_system, Found, LdPaths, Place, SystemFs};

/// The folder suffix auditwheel's `--lib-sdir` defaults to.
pub const LIB_SDIR: &str = ".libs";
/// How deep a chain of libraries is followed (a real tree is a few levels deep).
const MAX_DEPTH: usize = 64;
/// How many distinct libraries one root may pull in (KLayout: about 60).
const MAX_LIBRARIES: usize = 4096;

/// `libpython3.11.so.1.0`, `libpython3.8m.so` (auditwheel's `LIBPYTHON_RE`).
pub fn is_libpython(soname: &str) -> bool {
    let Some(rest) = soname.strip_prefix("libpython") else { return false };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let Some((version, tail)) = rest.split_once(".so") else { return false };
    let version = version.strip_suffix('m').unwrap_or(version);
    let Some((major, minor)) = version.split_once('.') else { return false };
    digits(major) && digits(minor) && tail.split('.').skip(1).all(digits) && (tail.is_empty() || tail.starts_with('.'))
}

/// The loader itself, never grafted.
fn is_loader(soname: &str) -> bool {
    soname.contains("ld-linux") || soname == "ld64.so.2" || soname == "ld64.so.1"
}

/// What the wheel holds: every file's archive path, and the ELF facts of those that are ELF.
pub struct WheelFiles<'a> {
    pub files: &'a BTreeSet<String>,
    pub elf: &'a BTreeMap<String, ElfInfo>,
    /// The distribution part of the wheel's file name (`minik`): the libs folder is
    /// `<dist>.libs`.
    pub dist: &'a str,
}

/// One library of a root's tree.
#[derive(Debug, Clone)]
enum Lib {
    /// Found at a place, with the NEEDED entries it brings (excluded names dropped).
    Found { place: Place, fullpath: String, needed: Vec<String> },
    /// Not found anywhere searched; `by` needs it directly.
    Missing { by: String },
    /// `libpython`: never resolved, removed by the repair.
    Python,
    /// Whitelisted by the policy (or the loader): the system provides it, nothing under it
    /// matters to the repair.
    System,
}

/// A system library that goes into the wheel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graft {
    /// The name the wheel's files need it by.
    pub soname: String,
    pub found: Found,
    /// `<base>-<hash>.<ext>`: its file name and new SONAME.
    pub new_name: String,
    /// Its NEEDED entries, as the system file has them.
    pub needed: Vec<String>,
}

/// What patchelf does to one file, in auditwheel's order of arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edit {
    pub soname: Option<String>,
    pub remove_needed: Vec<String>,
    pub replace_needed: Vec<(String, String)>,
    pub rpath: Option<String>,
    pub clear_rpath: bool,
}

impl Edit {
    /// patchelf's arguments (the file to patch goes last); empty when nothing changes.
    pub fn patchelf_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(s) = &self.soname {
            args.extend(["--set-soname".to_string(), s.clone()]);
        }
        for n in &self.remove_needed {
            args.extend(["--remove-needed".to_string(), n.clone()]);
        }
        for (old, new) in &self.replace_needed {
            args.extend(["--replace-needed".to_string(), old.clone(), new.clone()]);
        }
        if self.clear_rpath && self.rpath.is_none() {
            args.push("--remove-rpath".into());
        }
        if let Some(r) = &self.rpath {
            args.extend(["--force-rpath".to_string(), "--set-rpath".to_string(), r.clone()]);
        }
        args
    }
}

/// The whole plan.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// `<dist>.libs`.
    pub libs_dir: String,
    /// By new name.
    pub grafts: BTreeMap<String, Graft>,
    /// Wheel entry -> its edit.
    pub entry_edits: BTreeMap<String, Edit>,
    /// Grafted library (new name) -> its edit (always at least its SONAME).
    pub graft_edits: BTreeMap<String, Edit>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.grafts.is_empty() && self.entry_edits.values().all(|e| e.patchelf_args().is_empty())
    }
}

/// The system side of a plan: where to look, and the libraries' facts (read once each).
pub struct System<'a> {
    pub fs: &'a dyn SystemFs,
    pub ld: LdPaths,
    /// Real path -> its header, its ELF facts and the sha256 of its bytes.
    cache: BTreeMap<String, Option<(ElfInfo, String)>>,
}

impl<'a> System<'a> {
    pub fn new(fs: &'a dyn SystemFs, ld: LdPaths) -> System<'a> {
        System { fs, ld, cache: BTreeMap::new() }
    }

    /// The ELF facts and sha256 of a system file; None when it is no readable ELF file.
    fn facts(&mut self, real: &str) -> Option<(ElfInfo, String)> {
        if let Some(c) = self.cache.get(real) {
            return c.clone();
        }
        let got = self.fs.read(real).ok().and_then(|bytes| {
            let info = crate::library::elf::parse(&bytes, real).ok()?;
            Some((info, sha256_hex(&bytes)))
        });
        self.cache.insert(real.to_string(), got.clone());
        got
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds the plan for `policy`'s whitelist, leaving out libraries whose SONAME or real path
/// matches an `exclude` glob (auditwheel's `--exclude`).
pub fn plan(wheel: &WheelFiles, sys: &mut System, policy: &Policy, exclude: &[String]) -> Result<Plan> {
    let libs_dir = format!("{}{LIB_SDIR}", wheel.dist);
    let mut plan = Plan { libs_dir: libs_dir.clone(), ..Plan::default() };
    // soname -> new name, for the grafted libraries' own NEEDED fix-up.
    let mut soname_map: BTreeMap<String, String> = BTreeMap::new();
    if let Some(e) = wheel.elf.keys().find(|e| in_data(e, "purelib")) {
        bail!("{e} is a shared library in purelib: the wheel must be platlib to be repaired");
    }
    for (entry, info) in wheel.elf {
        let tree = ldd(wheel, sys, entry, info, policy, exclude)?;
        let external = external_refs(&tree, info, policy, exclude);
        if external.is_empty() {
            continue;
        }
        if in_data(entry, "scripts") {
            bail!("{entry} is an ELF script that needs libraries from the system: not supported (auditwheel moves it behind a shim)");
        }
        let mut edit = Edit::default();
        for soname in &external {
            match tree.get(soname) {
                Some(Lib::Python) => edit.remove_needed.push(soname.clone()),
                Some(Lib::Found { place: Place::System(real), fullpath, needed }) => {
                    // Read (and cached) when it was found.
                    let Some((_, sha)) = sys.facts(real) else { bail!("cannot read {real} again") };
                    let new_name = graft_name(real, &sha);
                    soname_map.insert(soname.clone(), new_name.clone());
                    plan.grafts.entry(new_name.clone()).or_insert_with(|| Graft {
                        soname: soname.clone(),
                        found: Found { fullpath: fullpath.clone(), realpath: real.clone() },
                        new_name: new_name.clone(),
                        needed: needed.clone(),
                    });
                    edit.replace_needed.push((soname.clone(), new_name));
                }
                other => {
                    let through = match other {
                        Some(Lib::Missing { by }) if by != entry => format!(" (through {by}, which needs it)"),
                        _ => String::new(),
                    };
                    bail!(
                        "cannot repair: {entry} needs {soname}{through}, which is found nowhere the loader \
                         looks (RPATH/RUNPATH, LD_LIBRARY_PATH, ld.so.conf, /lib, /usr/lib)"
                    )
                }
            }
        }
        // auditwheel replaces with all pairs of the tree; patchelf ignores absent names, so
        // only the ones this file needs are kept.
        edit.replace_needed.retain(|(old, _)| info.needed.contains(old));
        let rel = relpath(&libs_dir, crate::library::loader::parent(entry));
        let new_rpath = if rel == "." { "$ORIGIN".to_string() } else { format!("$ORIGIN/{rel}") };
        let old = if info.runpath.is_empty() { &info.rpath } else { &info.runpath };
        let origin = Place::Wheel(crate::library::loader::parent(entry).to_string());
        let mut rpaths: Vec<String> = Vec::new();
        for r in old.iter().chain(std::iter::once(&new_rpath)) {
            let inside =
                r == &new_rpath || (is_token_path(r) && matches!(expand_entry(r, &origin), Some(Place::Wheel(_))));
            if inside && !rpaths.contains(r) {
                rpaths.push(r.clone());
            }
        }
        edit.rpath = Some(rpaths.join(":"));
        plan.entry_edits.insert(entry.clone(), edit);
    }
    for (name, graft) in &plan.grafts {
        let replacements: Vec<(String, String)> =
            graft.needed.iter().filter_map(|n| soname_map.get(n).map(|new| (n.clone(), new.clone()))).collect();
        let mut edit = Edit { soname: Some(name.clone()), ..Edit::default() };
        if replacements.is_empty() {
            edit.clear_rpath = true;
        } else {
            edit.rpath = Some("$ORIGIN".into());
            edit.replace_needed = replacements;
        }
        plan.graft_edits.insert(name.clone(), edit);
    }
    Ok(plan)
}

/// Whether an entry lies in `<dist>.data/<scheme>/`.
fn in_data(entry: &str, scheme: &str) -> bool {
    let mut parts = entry.split('/');
    parts.next().is_some_and(|d| d.ends_with(".data")) && parts.next() == Some(scheme)
}

/// An RPATH entry auditwheel can resolve to an absolute path: `$ORIGIN`-based or absolute
/// (empty and relative entries are dropped).
fn is_token_path(entry: &str) -> bool {
    entry.starts_with("$ORIGIN") || entry.starts_with("${ORIGIN}")
}

/// `<base>-<first 8 hex>.<ext>` of the real path's file name, split at its first dot; a name
/// already carrying that hash stays.
pub fn graft_name(realpath: &str, sha256: &str) -> String {
    let file = realpath.rsplit('/').next().unwrap_or(realpath);
    let short = &sha256[..8.min(sha256.len())];
    let (base, ext) = file.split_once('.').unwrap_or((file, ""));
    if base.ends_with(&format!("-{short}")) {
        return file.to_string();
    }
    format!("{base}-{short}.{ext}")
}

/// `os.path.relpath(to, from)` for two folders of the wheel (`""` is its root).
pub fn relpath(to: &str, from: &str) -> String {
    let t: Vec<&str> = to.split('/').filter(|s| !s.is_empty()).collect();
    let f: Vec<&str> = from.split('/').filter(|s| !s.is_empty()).collect();
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; f.len() - common];
    parts.extend(&t[common..]);
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// The libraries of one root, by SONAME (auditwheel's `ldd`): first resolution wins.
fn ldd(
    wheel: &WheelFiles,
    sys: &mut System,
    entry: &str,
    info: &ElfInfo,
    policy: &Policy,
    exclude: &[String],
) -> Result<BTreeMap<String, Lib>> {
    let origin = Place::Wheel(entry.to_string()).dir();
    let (rpaths, runpaths) = search_paths(wheel, sys, info, &origin);
    let mut all = BTreeMap::new();
    walk(wheel, sys, info, entry, &origin, (&rpaths, &runpaths), policy, exclude, &mut all, 0)?;
    Ok(all)
}

/// An object's RPATH (dropped when it has a RUNPATH, as the loader does) and RUNPATH, each
/// entry expanded and kept when it is a folder.
fn search_paths(wheel: &WheelFiles, sys: &System, info: &ElfInfo, origin: &Place) -> (Vec<Place>, Vec<Place>) {
    let expand = |list: &[String]| -> Vec<Place> {
        let mut out: Vec<Place> = Vec::new();
        for e in list {
            if let Some(p) = expand_entry(e, origin).filter(|p| is_dir(wheel, sys, p)) {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    };
    let runpaths = expand(&info.runpath);
    let rpaths = if runpaths.is_empty() && info.runpath.is_empty() { expand(&info.rpath) } else { Vec::new() };
    (rpaths, runpaths)
}

fn is_dir(wheel: &WheelFiles, sys: &System, place: &Place) -> bool {
    match place {
        Place::Wheel(d) if d.is_empty() => true,
        Place::Wheel(d) => {
            let prefix = format!("{d}/");
            wheel.files.range(prefix.clone()..).next().is_some_and(|f| f.starts_with(&prefix))
        }
        Place::System(d) => sys.fs.is_dir(d),
    }
}

#[allow(clippy::too_many_arguments)]
fn walk(
    wheel: &WheelFiles,
    sys: &mut System,
    info: &ElfInfo,
    requester: &str,
    origin: &Place,
    root: (&[Place], &[Place]),
    policy: &Policy,
    exclude: &[String],
    all: &mut BTreeMap<String, Lib>,
    depth: usize,
) -> Result<()> {
    if depth > MAX_DEPTH || all.len() > MAX_LIBRARIES {
        bail!("the library tree is deeper than {MAX_DEPTH} levels or wider than {MAX_LIBRARIES} libraries");
    }
    let (rpaths, runpaths) = search_paths(wheel, sys, info, origin);
    let system = |dirs: &[String]| dirs.iter().map(|d| Place::System(d.clone())).collect::<Vec<_>>();
    let dirs: Vec<Place> =
        [root.0.to_vec(), rpaths, runpaths, system(&sys.ld.env), root.1.to_vec(), system(&sys.ld.conf)].concat();
    for soname in &info.needed {
        if all.contains_key(soname) || exclude.iter().any(|e| glob_match(e, soname)) {
            continue;
        }
        if is_libpython(soname) {
            all.insert(soname.clone(), Lib::Python);
            continue;
        }
        if is_loader(soname) || policy.allows_library(soname) {
            all.insert(soname.clone(), Lib::System);
            continue;
        }
        let Some((place, fullpath, lib_info)) = find(wheel, sys, soname, &dirs, &info.platform) else {
            all.insert(soname.clone(), Lib::Missing { by: requester.to_string() });
            continue;
        };
        if let Place::System(real) = &place {
            if exclude.iter().any(|e| glob_match(e, real)) {
                continue;
            }
        }
        let needed: Vec<String> =
            lib_info.needed.iter().filter(|n| !exclude.iter().any(|e| glob_match(e, n))).cloned().collect();
        all.insert(soname.clone(), Lib::Found { place: place.clone(), fullpath, needed });
        let next = match &place {
            Place::Wheel(p) | Place::System(p) => p.clone(),
        };
        walk(wheel, sys, &lib_info, &next, &place.dir(), root, policy, exclude, all, depth + 1)?;
    }
    Ok(())
}

/// The first compatible file named `soname` in `dirs`: its place, its path as searched, and
/// its ELF facts.
fn find(
    wheel: &WheelFiles,
    sys: &mut System,
    soname: &str,
    dirs: &[Place],
    want: &Platform,
) -> Option<(Place, String, ElfInfo)> {
    for dir in dirs {
        match dir {
            Place::Wheel(d) => {
                let path = if d.is_empty() { soname.to_string() } else { format!("{d}/{soname}") };
                if let Some(info) = wheel.elf.get(&path).filter(|i| want.is_compatible(&i.platform)) {
                    return Some((Place::Wheel(path.clone()), path, info.clone()));
                }
            }
            Place::System(d) => {
                let fs = sys.fs;
                let mut headers = |real: &str| sys.facts(real).map(|(i, _)| i.platform);
                if let Some(found) = find_on_system(fs, soname, std::slice::from_ref(d), want, &mut headers) {
                    let (info, _) = sys.facts(&found.realpath)?;
                    return Some((Place::System(found.realpath), found.fullpath, info));
                }
            }
        }
    }
    None
}

/// A root's external libraries for `policy` (auditwheel's `lddtree_external_references`):
/// its needs that are not whitelisted, closed over the needs of those, minus what was found
/// inside the wheel.
fn external_refs(
    tree: &BTreeMap<String, Lib>,
    root: &ElfInfo,
    policy: &Policy,
    exclude: &[String],
) -> BTreeSet<String> {
    let keep = |n: &&String| {
        !is_loader(n) && !policy.allows_library(n) && !exclude.iter().any(|e| glob_match(e, n)) && tree.contains_key(*n)
    };
    let mut todo: Vec<String> = root.needed.iter().filter(keep).cloned().collect();
    let mut reqs = BTreeSet::new();
    while let Some(lib) = todo.pop() {
        if !reqs.insert(lib.clone()) {
            continue;
        }
        if let Some(Lib::Found { needed, .. }) = tree.get(&lib) {
            todo.extend(needed.iter().filter(keep).filter(|n| !reqs.contains(*n)).cloned());
        }
    }
    reqs.retain(|l| !matches!(tree.get(l), Some(Lib::Found { place: Place::Wheel(_), .. })));
    reqs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpython_names_are_auditwheels() {
        for yes in ["libpython3.11.so.1.0", "libpython3.8m.so", "libpython3.12.so", "libpython2.7.so.1.0"] {
            assert!(is_libpython(yes), "{yes}");
        }
        for no in ["libpython3.so", "libpython3.11t.so.1.0", "libpythonx.so", "libpython3.11.so.1.a"] {
            assert!(!is_libpython(no), "{no}");
        }
    }

    #[test]
    fn graft_names_keep_the_real_files_extension() {
        let sha = "1a2b3c4d5e6f";
        assert_eq!(graft_name("/lib/x86_64-linux-gnu/libbz2.so.1.0.4", sha), "libbz2-1a2b3c4d.so.1.0.4");
        assert_eq!(graft_name("/x/libfoo-1a2b3c4d.so.1", sha), "libfoo-1a2b3c4d.so.1");
        assert_eq!(graft_name("/x/noext", sha), "noext-1a2b3c4d.");
    }

    #[test]
    fn relpaths_are_pythons() {
        assert_eq!(relpath("minik.libs", "minik"), "../minik.libs");
        assert_eq!(relpath("minik.libs", ""), "minik.libs");
        assert_eq!(relpath("minik.libs", "minik/db_plugins"), "../../minik.libs");
        assert_eq!(relpath("a", "a"), ".");
    }

    #[test]
    fn patchelf_arguments_in_auditwheels_order() {
        let e = Edit {
            soname: Some("libz-1.so".into()),
            remove_needed: vec!["libpython3.11.so.1.0".into()],
            replace_needed: vec![("libz.so.1".into(), "libz-1.so".into())],
            rpath: Some("$ORIGIN".into()),
            clear_rpath: false,
        };
        assert_eq!(
            e.patchelf_args().join(" "),
            "--set-soname libz-1.so --remove-needed libpython3.11.so.1.0 --replace-needed libz.so.1 libz-1.so \
             --force-rpath --set-rpath $ORIGIN"
        );
        assert_eq!(Edit { clear_rpath: true, ..Edit::default() }.patchelf_args(), ["--remove-rpath"]);
    }
}
