//! Where the build system's loader finds a library, as auditwheel 6.8's `lddtree` decides it:
//! the search path of each object (its own RPATH/RUNPATH, the root's, `LD_LIBRARY_PATH`, the
//! loader's configuration, the trusted folders), the first file of a compatible machine, and
//! symbolic links followed on the last component only (auditwheel's `readlink`).
//!
//! The system is seen through [`SystemFs`]: the host's own files ([`HostFs`]), or a
//! container's, asked through the runner (the process layer's implementation). The wheel's
//! own files are never looked up on disk: they are the archive's entries.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::library::elf::Platform;
use crate::library::policy::Libc;

/// The trusted folders glibc's loader searches after its configuration (auditwheel appends
/// them, spelled so, to the parsed ld.so.conf).
const GLIBC_TRUSTED: &[&str] = &["/lib", "/lib64/", "/usr/lib", "/usr/lib64"];
/// musl's default path when `/etc/ld-musl-<arch>.path` is missing.
const MUSL_DEFAULT: &[&str] = &["/lib", "/usr/local/lib", "/usr/lib"];
/// How deep `include` lines of ld.so.conf may nest, and how many symbolic links one lookup
/// follows (a loop in the system's files must end).
const MAX_NESTING: usize = 16;
const MAX_LINKS: usize = 40;
/// The largest system library read (libraries are a few MB; a bigger file is no library).
pub const MAX_LIBRARY: u64 = 1 << 30;

/// What a path is on the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// A symbolic link, with its target as written.
    Link(String),
}

/// The build system's files, read-only.
pub trait SystemFs: Sync {
    /// What `path` is, without following a link at its last component; None when missing.
    fn kind(&self, path: &str) -> Option<Kind>;
    /// Whether `path` is a folder, following links.
    fn is_dir(&self, path: &str) -> bool;
    /// The bytes of a regular file (through links), at most [`MAX_LIBRARY`].
    fn read(&self, path: &str) -> Result<Vec<u8>>;
    /// The names in a folder (for ld.so.conf's `include` globs); empty when it is none.
    fn list(&self, dir: &str) -> Vec<String>;
    /// A variable of the environment the build ran in (`LD_LIBRARY_PATH`).
    fn env(&self, name: &str) -> Option<String>;
}

/// The host's own files and environment.
pub struct HostFs;

impl SystemFs for HostFs {
    fn kind(&self, path: &str) -> Option<Kind> {
        let m = std::fs::symlink_metadata(path).ok()?;
        if m.file_type().is_symlink() {
            let target = std::fs::read_link(path).ok()?;
            return Some(Kind::Link(target.to_string_lossy().into_owned()));
        }
        Some(if m.is_dir() { Kind::Dir } else { Kind::File })
    }

    fn is_dir(&self, path: &str) -> bool {
        Path::new(path).is_dir()
    }

    fn read(&self, path: &str) -> Result<Vec<u8>> {
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {path}"))?;
        if !meta.is_file() {
            bail!("{path} is not a regular file");
        }
        if meta.len() > MAX_LIBRARY {
            bail!("{path} is {} bytes: larger than any library this reads", meta.len());
        }
        std::fs::read(path).with_context(|| format!("cannot read {path}"))
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
        let mut names: Vec<String> =
            rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// Normalizes a `/`-separated path as Python's `os.path.normpath` does (`.` and `..`
/// resolved lexically, repeated slashes folded; an absolute path stays absolute).
pub fn normpath(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// The folder part of a path (`/usr/lib` of `/usr/lib/libz.so.1`).
pub fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => "",
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Follows `path` through symbolic links at its last component, as auditwheel's `readlink`
/// does (a link in a folder above stays as written: `/lib/x86_64-linux-gnu/libbz2.so.1.0.4`,
/// not `/usr/lib/...`). None when it does not exist (or the links loop).
pub fn readlink(fs: &dyn SystemFs, path: &str) -> Option<String> {
    let mut path = path.to_string();
    for _ in 0..MAX_LINKS {
        match fs.kind(&path)? {
            Kind::Link(target) => {
                path = if target.starts_with('/') { target } else { join(dirname(&path), &target) };
            }
            _ => return Some(normpath(&path)),
        }
    }
    None
}

/// The loader's configured folders (`conf`) and the environment's (`env`), as auditwheel's
/// `load_ld_paths` reads them for one libc.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LdPaths {
    pub env: Vec<String>,
    pub conf: Vec<String>,
}

impl LdPaths {
    pub fn load(fs: &dyn SystemFs, libc: Libc) -> LdPaths {
        let env_value: Vec<String> = ["AUDITWHEEL_LD_LIBRARY_PATH", "LD_LIBRARY_PATH"]
            .iter()
            .filter_map(|v| fs.env(v))
            .filter(|v| !v.is_empty())
            .collect();
        let env = if env_value.is_empty() { Vec::new() } else { parse_plain(fs, &env_value.join(":")) };
        let conf = match libc {
            Libc::Musl => {
                let files: Vec<String> =
                    fs.list("/etc").into_iter().filter(|n| n.starts_with("ld-musl-") && n.ends_with(".path")).collect();
                match files.first().and_then(|f| fs.read(&format!("/etc/{f}")).ok()) {
                    Some(text) => String::from_utf8_lossy(&text)
                        .split(':')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(String::from)
                        .collect(),
                    None => MUSL_DEFAULT.iter().map(|s| s.to_string()).collect(),
                }
            }
            Libc::Glibc => {
                let mut paths = Vec::new();
                parse_ld_so_conf(fs, "/etc/ld.so.conf", 0, &mut paths);
                let mut conf: Vec<String> = dedupe(paths).into_iter().filter(|p| fs.is_dir(p)).collect();
                conf.extend(GLIBC_TRUSTED.iter().map(|s| s.to_string()));
                conf
            }
        };
        LdPaths { env, conf }
    }
}

/// A colon-separated list without `$ORIGIN` (the environment's): empty entries are the
/// current folder, which for a repair means nothing of the system's, so they are dropped.
fn parse_plain(fs: &dyn SystemFs, list: &str) -> Vec<String> {
    dedupe(list.split(':').filter(|p| !p.is_empty()).map(normpath).collect())
        .into_iter()
        .filter(|p| fs.is_dir(p))
        .collect()
}

/// ld.so.conf: comments, blank lines, `include` globs (relative to the including file's
/// folder), and folders.
fn parse_ld_so_conf(fs: &dyn SystemFs, file: &str, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_NESTING {
        return;
    }
    let Ok(bytes) = fs.read(file) else { return };
    for raw in String::from_utf8_lossy(&bytes).lines() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(pattern) = line.strip_prefix("include ") {
            let pattern = pattern.trim();
            let pattern =
                if pattern.starts_with('/') { pattern.to_string() } else { format!("{}/{pattern}", dirname(file)) };
            for path in glob(fs, &pattern) {
                parse_ld_so_conf(fs, &path, depth + 1, out);
            }
        } else {
            out.push(normpath(line));
        }
    }
}

/// A glob whose wildcards are in the last component only (ld.so.conf's `include
/// /etc/ld.so.conf.d/*.conf`), sorted as Python's `glob` returns them on most file systems:
/// by name.
fn glob(fs: &dyn SystemFs, pattern: &str) -> Vec<String> {
    let (dir, name) = (dirname(pattern), &pattern[dirname(pattern).len()..].trim_start_matches('/'));
    if !name.contains(['*', '?', '[']) {
        return if fs.kind(pattern).is_some() { vec![pattern.to_string()] } else { Vec::new() };
    }
    fs.list(dir)
        .into_iter()
        .filter(|n| !n.starts_with('.') && crate::library::config::glob_match(name, n))
        .map(|n| join(dir, &n))
        .collect()
}

fn dedupe(items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.into_iter().filter(|i| seen.insert(i.clone())).collect()
}

/// A place a library can be: one of the wheel's entries, or a file of the system.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Place {
    /// A path relative to the wheel's root (`minik/lib_tl.so`, or `""` for the root folder).
    Wheel(String),
    /// An absolute path on the build system.
    System(String),
}

impl Place {
    pub fn dir(&self) -> Place {
        match self {
            Place::Wheel(p) => Place::Wheel(crate::library::loader::parent(p).to_string()),
            Place::System(p) => Place::System(dirname(p).to_string()),
        }
    }
}

/// Expands one RPATH/RUNPATH entry of an object at `origin_dir`: `$ORIGIN` / `${ORIGIN}`
/// become its folder; a wheel path that climbs above the wheel's root names nothing (the
/// folder the wheel was unpacked into is no place of the installed tree); an empty entry is
/// the current folder, the wheel's root for a repair (auditwheel works from there).
pub fn expand_entry(entry: &str, origin_dir: &Place) -> Option<Place> {
    if entry.is_empty() {
        return Some(Place::Wheel(String::new()));
    }
    let rest = entry.strip_prefix("$ORIGIN").or_else(|| entry.strip_prefix("${ORIGIN}"));
    match (rest, origin_dir) {
        (Some(rest), Place::Wheel(dir)) => {
            let joined = format!("{dir}/{rest}");
            let norm = normpath(&joined);
            if norm == ".." || norm.starts_with("../") {
                return None;
            }
            Some(Place::Wheel(if norm == "." { String::new() } else { norm }))
        }
        (Some(rest), Place::System(dir)) => Some(Place::System(normpath(&format!("{dir}/{rest}")))),
        (None, _) if entry.starts_with('/') => Some(Place::System(normpath(entry))),
        // A relative entry is relative to the current folder: the wheel's root.
        (None, _) => Some(Place::Wheel(normpath(entry)).filter_root()),
    }
}

impl Place {
    fn filter_root(self) -> Place {
        match self {
            Place::Wheel(p) if p == "." => Place::Wheel(String::new()),
            p => p,
        }
    }
}

/// A library found on the system: the path as searched (`fullpath`) and where its links lead
/// (`realpath`, which is what is copied and hashed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub fullpath: String,
    pub realpath: String,
}

/// The first file named `name` in `dirs` whose platform is compatible with `want`.
/// `platform_of` reads a system file's header (cached by the caller).
pub fn find_on_system(
    fs: &dyn SystemFs,
    name: &str,
    dirs: &[String],
    want: &Platform,
    platform_of: &mut dyn FnMut(&str) -> Option<Platform>,
) -> Option<Found> {
    for dir in dirs {
        let full = join(dir, name);
        let Some(real) = readlink(fs, &full) else { continue };
        if fs.kind(&real) != Some(Kind::File) {
            continue;
        }
        if platform_of(&real).is_some_and(|p| want.is_compatible(&p)) {
            return Some(Found { fullpath: normpath(&full), realpath: real });
        }
    }
    None
}

/// A folder tree in memory, for tests and for a container's files listed once.
#[derive(Debug, Default, Clone)]
pub struct MemFs {
    pub entries: BTreeMap<String, (Kind, Vec<u8>)>,
    pub vars: BTreeMap<String, String>,
}

impl MemFs {
    pub fn file(&mut self, path: &str, bytes: &[u8]) {
        self.entries.insert(path.to_string(), (Kind::File, bytes.to_vec()));
        let mut dir = dirname(path).to_string();
        while dir != "/" && !dir.is_empty() && !self.entries.contains_key(&dir) {
            self.entries.insert(dir.clone(), (Kind::Dir, Vec::new()));
            dir = dirname(&dir).to_string();
        }
    }

    pub fn link(&mut self, path: &str, target: &str) {
        self.entries.insert(path.to_string(), (Kind::Link(target.to_string()), Vec::new()));
    }
}

impl SystemFs for MemFs {
    fn kind(&self, path: &str) -> Option<Kind> {
        let p = if path.len() > 1 { path.trim_end_matches('/') } else { path };
        if p == "/" {
            return Some(Kind::Dir);
        }
        self.entries.get(p).map(|(k, _)| k.clone())
    }

    fn is_dir(&self, path: &str) -> bool {
        match readlink(self, path.trim_end_matches('/')) {
            Some(p) => p == "/" || matches!(self.entries.get(&p), Some((Kind::Dir, _))),
            None => false,
        }
    }

    fn read(&self, path: &str) -> Result<Vec<u8>> {
        let real = readlink(self, path).with_context(|| format!("cannot read {path}"))?;
        match self.entries.get(&real) {
            Some((Kind::File, b)) => Ok(b.clone()),
            _ => bail!("{path} is not a regular file"),
        }
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        self.entries
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('/'))
            .map(String::from)
            .collect()
    }

    fn env(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normpath_is_pythons() {
        assert_eq!(normpath("/lib64/"), "/lib64");
        assert_eq!(normpath("/usr/lib/../lib64//x"), "/usr/lib64/x");
        assert_eq!(normpath("a/./b/.."), "a");
        assert_eq!(normpath("../a"), "../a");
        assert_eq!(normpath(""), ".");
        assert_eq!(normpath("/.."), "/");
    }

    #[test]
    fn links_are_followed_at_the_last_component_only() {
        let mut fs = MemFs::default();
        fs.file("/usr/lib/x86_64-linux-gnu/libbz2.so.1.0.4", b"x");
        fs.link("/lib", "usr/lib");
        fs.link("/usr/lib/x86_64-linux-gnu/libbz2.so.1.0", "libbz2.so.1.0.4");
        assert_eq!(
            readlink(&fs, "/usr/lib/x86_64-linux-gnu/libbz2.so.1.0").as_deref(),
            Some("/usr/lib/x86_64-linux-gnu/libbz2.so.1.0.4")
        );
        fs.link("/a", "/b");
        fs.link("/b", "/a");
        assert_eq!(readlink(&fs, "/a"), None, "a loop ends");
    }

    #[test]
    fn ld_so_conf_includes_and_trusted_folders() {
        let mut fs = MemFs::default();
        fs.file("/etc/ld.so.conf", b"# comment\ninclude /etc/ld.so.conf.d/*.conf\n");
        fs.file("/etc/ld.so.conf.d/b.conf", b"/opt/b/lib\n/missing\n");
        fs.file("/etc/ld.so.conf.d/a.conf", b"/usr/local/lib # trailing\ninclude /etc/ld.so.conf\n");
        fs.file("/opt/b/lib/x", b"");
        fs.file("/usr/local/lib/y", b"");
        fs.vars.insert("LD_LIBRARY_PATH".into(), "/opt/b/lib::/nowhere".into());
        let p = LdPaths::load(&fs, Libc::Glibc);
        assert_eq!(p.conf, ["/usr/local/lib", "/opt/b/lib", "/lib", "/lib64/", "/usr/lib", "/usr/lib64"]);
        assert_eq!(p.env, ["/opt/b/lib"]);
    }

    #[test]
    fn musl_reads_its_path_file() {
        let mut fs = MemFs::default();
        assert_eq!(LdPaths::load(&fs, Libc::Musl).conf, MUSL_DEFAULT);
        fs.file("/etc/ld-musl-x86_64.path", b"/lib:/usr/lib\n:/opt/x\n");
        assert_eq!(LdPaths::load(&fs, Libc::Musl).conf, ["/lib", "/usr/lib", "/opt/x"]);
    }

    #[test]
    fn rpath_entries_expand_inside_the_wheel_or_on_the_system() {
        let lib = Place::Wheel("minik".into());
        assert_eq!(expand_entry("$ORIGIN/../minik.libs", &lib), Some(Place::Wheel("minik.libs".into())));
        assert_eq!(expand_entry("${ORIGIN}", &lib), Some(Place::Wheel("minik".into())));
        assert_eq!(expand_entry("$ORIGIN/../..", &lib), None);
        assert_eq!(expand_entry("/usr/local/lib/", &lib), Some(Place::System("/usr/local/lib".into())));
        let sys = Place::System("/usr/lib".into());
        assert_eq!(expand_entry("$ORIGIN/x", &sys), Some(Place::System("/usr/lib/x".into())));
    }
}
