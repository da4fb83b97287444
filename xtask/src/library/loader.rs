//! A simulation of the dynamic loader (ld.so) over a wheel's installed tree: for every
//! NEEDED entry of every ELF file, where would it be found once the wheel is installed?
//!
//! The tree is the wheel's files at their installed paths, relative to site-packages. Roots
//! are what Python itself loads (extension modules) and what libraries load at run time
//! without any ELF tag recording it (the config's runtime folders, such as KLayout's
//! `db_plugins/` beside `lib_db`). Each root is loaded as in a fresh process, so the result
//! does not depend on import order.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use crate::library::elf::ElfInfo;

/// A folder of libraries that a library loads at run time from its own folder (dladdr +
/// dlopen), which no ELF tag records: `folder` must sit beside the library whose file name
/// starts with `beside` (KLayout: `db_plugins` beside `lib_db`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct RuntimeFolder {
    pub folder: String,
    pub beside: String,
}

/// The wheel's installed tree: every file, and the facts of each ELF file.
#[derive(Debug, Default, Clone)]
pub struct Tree {
    pub files: BTreeSet<String>,
    pub objects: BTreeMap<String, ElfInfo>,
}

/// Where one NEEDED entry was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resolution {
    /// Found in the wheel through the search path (or already loaded by that name).
    InWheel(String),
    /// Not in the wheel: the system must provide it (the policy says whether it may).
    System,
    /// In the wheel, but not where the search path looks: these are the files it would be.
    Misplaced(Vec<String>),
}

/// One NEEDED entry of one object, and where the loader finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub object: String,
    pub name: String,
    pub resolution: Resolution,
    /// The in-wheel folders that were searched, in order.
    pub searched: Vec<String>,
}

/// The whole answer for a tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    /// Every (object, NEEDED) pair, the worst resolution over all roots.
    pub needs: Vec<Need>,
    /// Runtime folders that are not beside their library: one line each.
    pub folder_problems: Vec<String>,
    /// Search path entries that point outside the wheel: (object, entry as written).
    pub outside: Vec<(String, String)>,
    /// The roots that were loaded (extension modules, runtime-loaded plugins, orphans).
    pub roots: Vec<String>,
}

impl Graph {
    /// The needs that are in the wheel but out of the loader's reach.
    pub fn misplaced(&self) -> impl Iterator<Item = &Need> {
        self.needs.iter().filter(|n| matches!(n.resolution, Resolution::Misplaced(_)))
    }

    /// The system libraries the wheel needs, with the first object that needs each.
    pub fn system_needs(&self) -> impl Iterator<Item = &Need> {
        self.needs.iter().filter(|n| n.resolution == Resolution::System)
    }

    /// True when every in-wheel need is reachable and every runtime folder is in place.
    pub fn is_whole(&self) -> bool {
        self.misplaced().next().is_none() && self.folder_problems.is_empty()
    }

    /// One line per defect, naming the object and what it misses.
    pub fn problem_lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .misplaced()
            .map(|n| {
                let Resolution::Misplaced(at) = &n.resolution else { unreachable!() };
                let searched =
                    if n.searched.is_empty() { "nothing in the wheel".to_string() } else { n.searched.join(", ") };
                format!(
                    "{} needs {}: not found through its search path ({searched}); it is at {}",
                    n.object,
                    n.name,
                    at.join(", ")
                )
            })
            .collect();
        out.extend(self.folder_problems.iter().cloned());
        out
    }
}

/// The folder of an installed path (`""` for the top).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// The file name of an installed path.
pub fn base(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, b)| b)
}

/// Expands one RPATH/RUNPATH entry for an object in folder `origin`. `Some(folder)` when it
/// lands inside the tree (`""` is site-packages itself), `None` when it points outside
/// (absolute paths, `..` above site-packages, `$LIB`/`$PLATFORM` tokens).
pub fn expand(entry: &str, origin: &str) -> Option<String> {
    let rest = entry.strip_prefix("$ORIGIN").or_else(|| entry.strip_prefix("${ORIGIN}"))?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let mut parts: Vec<&str> = origin.split('/').filter(|s| !s.is_empty()).collect();
    for c in rest.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c if c.contains('$') => return None,
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

/// Joins a folder and a name into an installed path.
fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Resolves the whole tree.
pub fn resolve(tree: &Tree, runtime: &[RuntimeFolder]) -> Graph {
    let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
    for (path, info) in &tree.objects {
        by_name.entry(base(path)).or_default().push(path);
        if let Some(s) = &info.soname {
            if s != base(path) {
                by_name.entry(s).or_default().push(path);
            }
        }
    }
    let mut graph = Graph::default();
    let mut worst: BTreeMap<(String, String), Need> = BTreeMap::new();
    let mut visited: BTreeSet<String> = BTreeSet::new();

    // Python loads extension modules; every other ELF file comes in through them.
    let mut roots: Vec<(String, Vec<String>)> =
        tree.objects.iter().filter(|(_, i)| i.python_init.is_some()).map(|(p, _)| (p.clone(), vec![])).collect();
    // Runtime folders: each plugin is dlopened by its library, whose closure is loaded first.
    for rule in runtime {
        let owners: Vec<&String> = tree.objects.keys().filter(|p| is_library_named(base(p), &rule.beside)).collect();
        let folders: BTreeSet<String> = tree.files.iter().filter_map(|f| folder_named(f, &rule.folder)).collect();
        for owner in &owners {
            let dir = join(parent(owner), &rule.folder);
            if folders.contains(&dir) {
                for plugin in tree.objects.keys().filter(|p| parent(p) == dir) {
                    roots.push((plugin.clone(), vec![(*owner).clone()]));
                }
            } else if !folders.is_empty() {
                graph.folder_problems.push(format!(
                    "{}/ is not beside {}: {} loads the plugins from its own folder, but they are at {}",
                    rule.folder,
                    owner,
                    base(owner),
                    folders.iter().map(|f| format!("{f}/")).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    let mut queue: VecDeque<(String, Vec<String>)> = roots.into();
    loop {
        while let Some((root, preload)) = queue.pop_front() {
            graph.roots.push(root.clone());
            for need in load_from(tree, &by_name, &root, &preload, &mut visited) {
                let key = (need.object.clone(), need.name.clone());
                match worst.get(&key) {
                    Some(old) if old.resolution >= need.resolution => {}
                    _ => {
                        worst.insert(key, need);
                    }
                }
            }
        }
        // Objects no root reached are checked as roots of their own.
        match tree.objects.keys().find(|p| !visited.contains(*p)) {
            Some(orphan) => queue.push_back((orphan.clone(), vec![])),
            None => break,
        }
    }
    for (path, info) in &tree.objects {
        for e in info.rpath.iter().chain(&info.runpath) {
            if expand(e, parent(path)).is_none() {
                graph.outside.push((path.clone(), e.clone()));
            }
        }
    }
    graph.needs = worst.into_values().collect();
    graph
}

/// `lib_db.cpython-311-x86_64-linux-gnu.so` is the library named `lib_db`; `lib_dbx.so` is not.
fn is_library_named(file: &str, name: &str) -> bool {
    file.strip_prefix(name).is_some_and(|rest| rest.starts_with('.'))
}

/// The folder path of `file` if one of its ancestors is named `folder`: the nearest one.
fn folder_named(file: &str, folder: &str) -> Option<String> {
    let mut dir = parent(file);
    while !dir.is_empty() {
        if base(dir) == folder {
            return Some(dir.to_string());
        }
        dir = parent(dir);
    }
    None
}

/// Loads `root` as ld.so would in a fresh process where `preload` (and their closures) are
/// already loaded, breadth first. Returns every need met on the way.
fn load_from(
    tree: &Tree,
    by_name: &HashMap<&str, Vec<&str>>,
    root: &str,
    preload: &[String],
    visited: &mut BTreeSet<String>,
) -> Vec<Need> {
    // Loaded objects: path -> the chain of loaders above it (for DT_RPATH inheritance).
    let mut loaded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut out = Vec::new();
    let mut queue: VecDeque<(String, Vec<String>)> = VecDeque::new();
    for p in preload {
        queue.push_back((p.clone(), vec![]));
    }
    let mut recording = preload.is_empty();
    let mut root_pending = !preload.is_empty();
    if recording {
        queue.push_back((root.to_string(), vec![]));
    }
    loop {
        let Some((obj, chain)) = queue.pop_front() else {
            if root_pending {
                // The preloaded closure is in place: now the root itself, dlopened by the
                // first preloaded library.
                root_pending = false;
                recording = true;
                queue.push_back((root.to_string(), preload.to_vec()));
                continue;
            }
            break;
        };
        if loaded.contains_key(&obj) {
            continue;
        }
        loaded.insert(obj.clone(), chain.clone());
        if recording {
            visited.insert(obj.clone());
        }
        let Some(info) = tree.objects.get(&obj) else {
            continue;
        };
        let mut child_chain = vec![obj.clone()];
        child_chain.extend(chain.iter().cloned());
        for name in &info.needed {
            let (found, searched) = find(tree, &loaded, &obj, info, &chain, name);
            let resolution = match found {
                Some(p) => {
                    if !loaded.contains_key(&p) {
                        queue.push_back((p.clone(), child_chain.clone()));
                    }
                    Resolution::InWheel(p)
                }
                None => match by_name.get(name.as_str()) {
                    Some(at) => Resolution::Misplaced(at.iter().map(|s| s.to_string()).collect()),
                    None => Resolution::System,
                },
            };
            if recording {
                out.push(Need { object: obj.clone(), name: name.clone(), resolution, searched });
            }
        }
    }
    out
}

/// ld.so's search for one NEEDED entry of `obj`: an object already loaded under that name,
/// then DT_RPATH of the object and of its loaders (when the object has no DT_RUNPATH), then
/// DT_RUNPATH of the object alone. Returns the path found and the in-wheel folders searched.
fn find(
    tree: &Tree,
    loaded: &BTreeMap<String, Vec<String>>,
    obj: &str,
    info: &ElfInfo,
    chain: &[String],
    name: &str,
) -> (Option<String>, Vec<String>) {
    if let Some(p) =
        loaded.keys().find(|p| base(p) == name || tree.objects.get(*p).and_then(|i| i.soname.as_deref()) == Some(name))
    {
        return (Some(p.clone()), vec![]);
    }
    if name.contains('/') {
        return (None, vec![]);
    }
    let mut dirs: Vec<String> = Vec::new();
    if info.runpath.is_empty() {
        for o in std::iter::once(obj).chain(chain.iter().map(String::as_str)) {
            let Some(i) = tree.objects.get(o) else {
                continue;
            };
            // An object with DT_RUNPATH has its DT_RPATH ignored, for itself and for what it loads.
            if !i.runpath.is_empty() {
                continue;
            }
            dirs.extend(i.rpath.iter().filter_map(|e| expand(e, parent(o))));
        }
    } else {
        dirs.extend(info.runpath.iter().filter_map(|e| expand(e, parent(obj))));
    }
    let mut searched = Vec::new();
    for d in dirs {
        let candidate = join(&d, name);
        if tree.files.contains(&candidate) {
            return (Some(candidate), searched);
        }
        let shown = if d.is_empty() { ".".to_string() } else { d };
        if !searched.contains(&shown) {
            searched.push(shown);
        }
    }
    (None, searched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(needed: &[&str], rpath: &[&str], runpath: &[&str], ext: bool) -> ElfInfo {
        ElfInfo {
            needed: needed.iter().map(|s| s.to_string()).collect(),
            rpath: rpath.iter().map(|s| s.to_string()).collect(),
            runpath: runpath.iter().map(|s| s.to_string()).collect(),
            python_init: ext.then(|| "PyInit_x".to_string()),
            ..Default::default()
        }
    }

    fn tree(objs: Vec<(&str, ElfInfo)>) -> Tree {
        let mut t = Tree::default();
        for (p, i) in objs {
            t.files.insert(p.to_string());
            t.objects.insert(p.to_string(), i);
        }
        t
    }

    fn plugins() -> Vec<RuntimeFolder> {
        vec![RuntimeFolder { folder: "db_plugins".into(), beside: "lib_db".into() }]
    }

    #[test]
    fn expands_origin() {
        assert_eq!(expand("$ORIGIN", "k").as_deref(), Some("k"));
        assert_eq!(expand("${ORIGIN}/../k.libs", "k").as_deref(), Some("k.libs"));
        assert_eq!(expand("$ORIGIN/..", "k/db_plugins").as_deref(), Some("k"));
        assert_eq!(expand("$ORIGIN/../..", "k"), None);
        assert_eq!(expand("/usr/lib", "k"), None);
        assert_eq!(expand("$ORIGINAL", "k"), None);
        assert_eq!(expand("$ORIGIN/$LIB", "k"), None);
    }

    #[test]
    fn healthy_klayout_layout_resolves() {
        let t = tree(vec![
            ("k/tlcore.so", obj(&["lib_tl.so", "libc.so.6"], &["$ORIGIN", "$ORIGIN/../k.libs"], &[], true)),
            ("k/lib_tl.so", obj(&["libcurl-ab12cd34.so.4"], &["$ORIGIN", "$ORIGIN/../k.libs"], &[], false)),
            ("k/lib_db.so", obj(&["lib_tl.so"], &["$ORIGIN"], &[], false)),
            ("k/dbcore.so", obj(&["lib_db.so"], &["$ORIGIN"], &[], true)),
            ("k/db_plugins/lib_gds2.so", obj(&["lib_db.so"], &["$ORIGIN/.."], &[], false)),
            ("k.libs/libcurl-ab12cd34.so.4", obj(&[], &[], &[], false)),
        ]);
        let g = resolve(&t, &plugins());
        assert!(g.is_whole(), "{:?}", g.problem_lines());
        assert_eq!(g.system_needs().map(|n| n.name.as_str()).collect::<Vec<_>>(), ["libc.so.6"]);
        assert!(g.roots.contains(&"k/db_plugins/lib_gds2.so".to_string()));
    }

    #[test]
    fn old_auditwheel_layout_is_misplaced() {
        let t = tree(vec![
            ("k/tlcore.so", obj(&["lib_tl.so"], &["$ORIGIN/.libs"], &[], true)),
            ("k/lib_tl.so", obj(&["libz-1234.so.1"], &["$ORIGIN"], &[], false)),
            ("k/.libs/libz-1234.so.1", obj(&[], &[], &[], false)),
        ]);
        let g = resolve(&t, &plugins());
        assert!(!g.is_whole());
        let lines = g.problem_lines();
        assert!(
            lines.iter().any(|l| l.contains("k/tlcore.so needs lib_tl.so") && l.contains("(k/.libs)")),
            "{lines:?}"
        );
    }

    #[test]
    fn rpath_is_inherited_but_runpath_is_not() {
        // tlcore's RPATH reaches k.libs for lib_tl's needs; with RUNPATH it would not.
        let with_rpath = tree(vec![
            ("k/tlcore.so", obj(&["lib_tl.so"], &["$ORIGIN", "$ORIGIN/../k.libs"], &[], true)),
            ("k/lib_tl.so", obj(&["libx.so"], &[], &[], false)),
            ("k.libs/libx.so", obj(&[], &[], &[], false)),
        ]);
        assert!(resolve(&with_rpath, &[]).is_whole());
        let with_runpath = tree(vec![
            ("k/tlcore.so", obj(&["lib_tl.so"], &[], &["$ORIGIN", "$ORIGIN/../k.libs"], true)),
            ("k/lib_tl.so", obj(&["libx.so"], &[], &[], false)),
            ("k.libs/libx.so", obj(&[], &[], &[], false)),
        ]);
        let g = resolve(&with_runpath, &[]);
        assert_eq!(g.misplaced().count(), 1, "{:?}", g.needs);
    }

    #[test]
    fn runtime_folder_must_sit_beside_its_library() {
        let t = tree(vec![
            ("k/dbcore.so", obj(&["lib_db.so"], &["$ORIGIN/.libs"], &[], true)),
            ("k/.libs/lib_db.so", obj(&[], &["$ORIGIN"], &[], false)),
            ("k/db_plugins/lib_gds2.so", obj(&["lib_db.so"], &["$ORIGIN/.."], &[], false)),
        ]);
        let g = resolve(&t, &plugins());
        assert_eq!(g.folder_problems.len(), 1, "{g:?}");
        assert!(g.folder_problems[0].contains("k/db_plugins/"), "{:?}", g.folder_problems);
    }

    #[test]
    fn outside_paths_are_listed() {
        let t = tree(vec![("k/x.so", obj(&[], &["/opt/python/lib", "$ORIGIN"], &[], true))]);
        assert_eq!(resolve(&t, &[]).outside, vec![("k/x.so".to_string(), "/opt/python/lib".to_string())]);
    }
}
