//! A simulation of the dynamic loader (ld.so) over a wheel's installed tree: for every
//! NEEDED entry of every ELF file, where would it be found once the wheel is installed?
//!
//! The tree is the wheel's files at their installed paths, relative to site-packages. Roots
//! are what Python itself loads (extension modules) and what libraries load at run time
//! without any ELF tag recording it (the config's runtime folders, such as KLayout's
//! `db_plugins/` beside `lib_db`). Each root is loaded as in a fresh process, so the result
//! does not depend on import order.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

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

/// How many in-wheel folders a need's message lists at most (a hostile RPATH may hold
/// thousands; the first few say where the loader looked).
const MAX_SEARCHED: usize = 32;

/// Resolves the whole tree.
pub fn resolve(tree: &Tree, runtime: &[RuntimeFolder]) -> Graph {
    resolve_counting(tree, runtime).0
}

/// [`resolve`], and how many elementary steps it took (a test asserts the count grows about
/// linearly with the input: hostile wheels must not buy quadratic time).
pub fn resolve_counting(tree: &Tree, runtime: &[RuntimeFolder]) -> (Graph, u64) {
    let mut r = Resolver::new(tree);
    let mut graph = Graph::default();
    // Python loads extension modules; every other ELF file comes in through them.
    let mut roots: Vec<(usize, Option<usize>)> =
        (0..r.objs.len()).filter(|&o| r.objs[o].info.python_init.is_some()).map(|o| (o, None)).collect();
    // Runtime folders: each plugin is dlopened by its library, whose closure is loaded first.
    for rule in runtime {
        let owners: Vec<usize> =
            (0..r.objs.len()).filter(|&o| is_library_named(&r.objs[o].base, &rule.beside)).collect();
        let folders: BTreeSet<String> = tree.files.iter().filter_map(|f| folder_named(f, &rule.folder)).collect();
        for &owner in &owners {
            let dir = join(&r.objs[owner].dir, &rule.folder);
            if folders.contains(&dir) {
                for plugin in (0..r.objs.len()).filter(|&p| r.objs[p].dir == dir) {
                    roots.push((plugin, Some(owner)));
                }
            } else if !folders.is_empty() {
                graph.folder_problems.push(format!(
                    "{}/ is not beside {}: {} loads the plugins from its own folder, but they are at {}",
                    rule.folder,
                    r.objs[owner].path,
                    r.objs[owner].base,
                    folders.iter().map(|f| format!("{f}/")).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    for (root, preload) in roots {
        graph.roots.push(r.objs[root].path.clone());
        r.load(root, preload);
    }
    // Objects no root reached are checked as roots of their own: first those nothing needs
    // (the heads of chains, whose loads reach the rest), then whatever is left (cycles).
    let needed: HashSet<&str> = r.objs.iter().flat_map(|o| o.info.needed.iter().map(String::as_str)).collect();
    let is_source =
        |o: &Obj| !needed.contains(o.base.as_str()) && !o.info.soname.as_deref().is_some_and(|s| needed.contains(s));
    let sources: Vec<usize> = (0..r.objs.len()).filter(|&o| is_source(&r.objs[o])).collect();
    for o in sources.into_iter().chain(0..r.objs.len()) {
        if !r.visited[o] {
            graph.roots.push(r.objs[o].path.clone());
            r.load(o, None);
        }
    }
    for o in &r.objs {
        for e in o.info.rpath.iter().chain(&o.info.runpath) {
            r.ops += 1;
            if expand(e, &o.dir).is_none() {
                graph.outside.push((o.path.clone(), e.clone()));
            }
        }
    }
    graph.needs = std::mem::take(&mut r.worst).into_values().collect();
    (graph, r.ops)
}

/// One ELF file, with its search paths expanded once.
struct Obj<'a> {
    path: String,
    dir: String,
    base: String,
    info: &'a ElfInfo,
    /// DT_RPATH folders inside the tree, in order, each once: folder id -> its position.
    rpath: Vec<usize>,
    rpath_pos: HashMap<usize, usize>,
    /// DT_RUNPATH folders inside the tree (a non-empty DT_RUNPATH, even one that points only
    /// outside, switches DT_RPATH off).
    runpath: Vec<usize>,
    runpath_pos: HashMap<usize, usize>,
    has_runpath: bool,
}

/// A place in a loader chain: an object, and the chain node of the object that loaded it.
/// Nodes are shared by every root that loads the same object through the same chain.
struct Node {
    obj: usize,
    parent: Option<usize>,
    /// The nearest node at or above this one whose DT_RPATH is searched for its children's
    /// needs: an object with DT_RPATH folders and no DT_RUNPATH.
    up: Option<usize>,
}

/// What one search found: the file, or nothing in the wheel.
type Found = Option<String>;

struct Resolver<'a> {
    tree: &'a Tree,
    objs: Vec<Obj<'a>>,
    by_path: HashMap<&'a str, usize>,
    /// Object ids by file name and SONAME, for "in the wheel, but not where the loader looks".
    by_name: HashMap<&'a str, Vec<usize>>,
    /// Folder names, interned.
    dirs: Vec<String>,
    /// A file name -> the folders (ids) holding a file of that name, and its installed path.
    files: HashMap<&'a str, Vec<(usize, &'a str)>>,
    nodes: Vec<Node>,
    node_ids: HashMap<(usize, Option<usize>), usize>,
    /// (chain node where a DT_RPATH search starts, name) -> what it finds.
    memo: HashMap<(usize, &'a str), Found>,
    /// Objects recorded by some root (an orphan root is only needed for the others).
    visited: Vec<bool>,
    worst: BTreeMap<(String, String), Need>,
    ops: u64,
}

impl<'a> Resolver<'a> {
    fn new(tree: &'a Tree) -> Resolver<'a> {
        let mut dir_ids: HashMap<String, usize> = HashMap::new();
        let mut dirs: Vec<String> = Vec::new();
        let mut intern = |d: &str, dirs: &mut Vec<String>| -> usize {
            if let Some(&id) = dir_ids.get(d) {
                return id;
            }
            dirs.push(d.to_string());
            dir_ids.insert(d.to_string(), dirs.len() - 1);
            dirs.len() - 1
        };
        let mut ops = 0u64;
        let mut files: HashMap<&str, Vec<(usize, &str)>> = HashMap::new();
        for f in &tree.files {
            let id = intern(parent(f), &mut dirs);
            files.entry(base(f)).or_default().push((id, f.as_str()));
            ops += 1;
        }
        let mut objs = Vec::with_capacity(tree.objects.len());
        for (path, info) in &tree.objects {
            let dir = parent(path).to_string();
            let mut expand_all = |entries: &[String], ops: &mut u64| {
                let mut list = Vec::new();
                let mut pos = HashMap::new();
                for e in entries {
                    *ops += 1;
                    if let Some(d) = expand(e, &dir) {
                        let id = intern(&d, &mut dirs);
                        if let std::collections::hash_map::Entry::Vacant(v) = pos.entry(id) {
                            v.insert(list.len());
                            list.push(id);
                        }
                    }
                }
                (list, pos)
            };
            let (rpath, rpath_pos) = expand_all(&info.rpath, &mut ops);
            let (runpath, runpath_pos) = expand_all(&info.runpath, &mut ops);
            objs.push(Obj {
                path: path.clone(),
                base: base(path).to_string(),
                dir,
                info,
                rpath,
                rpath_pos,
                runpath,
                runpath_pos,
                has_runpath: !info.runpath.is_empty(),
            });
        }
        let mut by_path = HashMap::new();
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, (path, info)) in tree.objects.iter().enumerate() {
            by_path.insert(path.as_str(), i);
            by_name.entry(base(path)).or_default().push(i);
            if let Some(s) = info.soname.as_deref().filter(|s| *s != base(path)) {
                by_name.entry(s).or_default().push(i);
            }
        }
        let n = objs.len();
        Resolver {
            tree,
            objs,
            by_path,
            by_name,
            dirs,
            files,
            nodes: Vec::new(),
            node_ids: HashMap::new(),
            memo: HashMap::new(),
            visited: vec![false; n],
            worst: BTreeMap::new(),
            ops,
        }
    }

    /// The chain node of `obj` loaded by the object of node `parent`.
    fn node(&mut self, obj: usize, parent: Option<usize>) -> usize {
        self.ops += 1;
        if let Some(&id) = self.node_ids.get(&(obj, parent)) {
            return id;
        }
        let o = &self.objs[obj];
        let contributes = !o.has_runpath && !o.rpath.is_empty();
        let up = if contributes { Some(self.nodes.len()) } else { parent.and_then(|p| self.nodes[p].up) };
        self.nodes.push(Node { obj, parent, up });
        self.node_ids.insert((obj, parent), self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    /// The first of `cands` (folder ids holding the name) in `list`, by `list`'s order.
    fn first_in(&mut self, list: &[usize], pos: &HashMap<usize, usize>, cands: &[(usize, &'a str)]) -> Found {
        if cands.len() < list.len() {
            let mut best: Option<(usize, &str)> = None;
            for (d, path) in cands {
                self.ops += 1;
                if let Some(&p) = pos.get(d) {
                    if best.is_none_or(|(bp, _)| p < bp) {
                        best = Some((p, path));
                    }
                }
            }
            best.map(|(_, path)| path.to_string())
        } else {
            for d in list {
                self.ops += 1;
                if let Some((_, path)) = cands.iter().find(|(c, _)| c == d) {
                    return Some(path.to_string());
                }
            }
            None
        }
    }

    /// ld.so's search for `name`, needed by the object of node `at`: DT_RPATH of the object
    /// and of its loaders up the chain (when the object has no DT_RUNPATH; loaders with a
    /// DT_RUNPATH add nothing), else the object's own DT_RUNPATH. Memoized per chain node.
    fn search(&mut self, at: usize, name: &'a str) -> Found {
        let obj = self.nodes[at].obj;
        let Some(cands) = self.files.get(name).cloned() else {
            self.ops += 1;
            return None;
        };
        if self.objs[obj].has_runpath {
            let (list, pos) = (self.objs[obj].runpath.clone(), self.objs[obj].runpath_pos.clone());
            return self.first_in(&list, &pos, &cands);
        }
        let mut walk = Vec::new();
        let mut n = self.nodes[at].up;
        let mut found = None;
        while let Some(id) = n {
            self.ops += 1;
            if let Some(f) = self.memo.get(&(id, name)) {
                found = f.clone();
                break;
            }
            walk.push(id);
            let o = self.nodes[id].obj;
            let (list, pos) = (std::mem::take(&mut self.objs[o].rpath), std::mem::take(&mut self.objs[o].rpath_pos));
            let hit = self.first_in(&list, &pos, &cands);
            self.objs[o].rpath = list;
            self.objs[o].rpath_pos = pos;
            if hit.is_some() {
                found = hit;
                break;
            }
            n = self.nodes[id].parent.and_then(|p| self.nodes[p].up);
        }
        for id in walk {
            self.memo.insert((id, name), found.clone());
        }
        found
    }

    /// The in-wheel folders the search for a need of node `at` looked in, in order, each once,
    /// at most [`MAX_SEARCHED`] (for the message of a need that was not found).
    fn searched(&mut self, at: usize) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        let obj = self.nodes[at].obj;
        let mut push = |d: usize, out: &mut Vec<String>, ops: &mut u64| {
            *ops += 1;
            if seen.insert(d) {
                let name = &self.dirs[d];
                out.push(if name.is_empty() { ".".to_string() } else { name.clone() });
            }
        };
        if self.objs[obj].has_runpath {
            for &d in self.objs[obj].runpath.iter().take(MAX_SEARCHED) {
                push(d, &mut out, &mut self.ops);
            }
            return out;
        }
        let mut n = self.nodes[at].up;
        while let Some(id) = n {
            for &d in &self.objs[self.nodes[id].obj].rpath {
                if out.len() >= MAX_SEARCHED {
                    return out;
                }
                push(d, &mut out, &mut self.ops);
            }
            n = self.nodes[id].parent.and_then(|p| self.nodes[p].up);
        }
        out
    }

    /// Loads `root` as ld.so would in a fresh process where `preload` (and its closure) is
    /// already loaded, breadth first, recording every need met from the root on.
    fn load(&mut self, root: usize, preload: Option<usize>) {
        // Per process: the objects loaded (object -> its chain node), and the names they answer to.
        let mut loaded: HashMap<usize, usize> = HashMap::new();
        let mut names: HashMap<&'a str, usize> = HashMap::new();
        let mut queue: VecDeque<(usize, Option<usize>)> = VecDeque::new();
        let (first, record_from_root) = match preload {
            Some(p) => (p, false),
            None => (root, true),
        };
        queue.push_back((first, None));
        let mut recording = record_from_root;
        loop {
            let Some((obj, parent)) = queue.pop_front() else {
                if !recording {
                    // The preloaded closure is in place: now the root itself, dlopened by the
                    // preloaded library.
                    recording = true;
                    let owner = preload.and_then(|p| loaded.get(&p).copied());
                    queue.push_back((root, owner));
                    continue;
                }
                break;
            };
            self.ops += 1;
            if loaded.contains_key(&obj) {
                continue;
            }
            let at = self.node(obj, parent);
            loaded.insert(obj, at);
            let o = &self.objs[obj];
            let info = o.info;
            names.entry(self.tree.objects.get_key_value(&o.path).map_or("", |(k, _)| base(k))).or_insert(obj);
            if let Some(s) = info.soname.as_deref() {
                names.entry(s).or_insert(obj);
            }
            if recording {
                self.visited[obj] = true;
            }
            for name in &info.needed {
                self.ops += 1;
                let name: &'a str = name.as_str();
                let found = if let Some(&already) = names.get(name) {
                    Some(self.objs[already].path.clone())
                } else if name.contains('/') {
                    None
                } else {
                    self.search(at, name)
                };
                let (resolution, searched) = match found {
                    Some(p) => {
                        if let Some(&next) = self.by_path.get(p.as_str()) {
                            if !loaded.contains_key(&next) {
                                queue.push_back((next, Some(at)));
                            }
                        }
                        (Resolution::InWheel(p), Vec::new())
                    }
                    None => match self.by_name.get(name) {
                        Some(at_paths) => {
                            let paths = at_paths.iter().map(|&i| self.objs[i].path.clone()).collect();
                            (Resolution::Misplaced(paths), self.searched(at))
                        }
                        None => (Resolution::System, Vec::new()),
                    },
                };
                if recording {
                    let object = self.objs[obj].path.clone();
                    let key = (object.clone(), name.to_string());
                    match self.worst.get(&key) {
                        Some(old) if old.resolution >= resolution => {}
                        _ => {
                            self.worst.insert(key, Need { object, name: name.to_string(), resolution, searched });
                        }
                    }
                }
            }
        }
    }
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

    // ---------------------------------------------------------------------------------------
    // Time: the resolver's step count grows about linearly with the input, and it agrees with
    // a naive resolver (ld.so's walk, written plainly) on random small graphs.

    /// A graph of the size `n` of one family: (tree, input size in objects + NEEDED entries +
    /// search-path entries).
    fn family(kind: &str, n: usize) -> Tree {
        let mut objs: Vec<(String, ElfInfo)> = Vec::new();
        let lib = |i: usize| format!("lib{i}.so");
        match kind {
            // Four modules with an RPATH of n folders (half of them in the wheel) and n/50
            // needs each, found in the last folder (the hostile RPATH of 10,000 entries).
            "wide-rpath" => {
                let rpath: Vec<String> = (0..n).map(|i| format!("$ORIGIN/d{i}")).collect();
                for m in 0..4 {
                    let needed: Vec<String> = (0..n / 50).map(lib).chain(["libc.so.6".to_string()]).collect();
                    objs.push((
                        format!("k/m{m}.so"),
                        ElfInfo {
                            needed,
                            rpath: rpath.clone(),
                            python_init: Some("PyInit_m".into()),
                            ..Default::default()
                        },
                    ));
                }
                for i in 0..n / 2 {
                    objs.push((format!("k/d{}/other{i}.so", i * 2), ElfInfo::default()));
                }
                for i in 0..n / 50 {
                    objs.push((format!("k/d{}/{}", n - 1, lib(i)), ElfInfo::default()));
                }
            }
            // A chain of n libraries and no extension module (each is an orphan root).
            "chain" => {
                for i in 0..n {
                    let needed = if i + 1 < n { vec![lib(i + 1)] } else { vec!["libc.so.6".into()] };
                    objs.push((
                        format!("k/{}", lib(i)),
                        ElfInfo { needed, rpath: vec!["$ORIGIN".into()], ..Default::default() },
                    ));
                }
            }
            // A deep chain under one module whose RPATH alone reaches every folder.
            "inherited" => {
                let rpath: Vec<String> = (0..n).map(|i| format!("$ORIGIN/d{i}")).collect();
                objs.push((
                    "k/m.so".into(),
                    ElfInfo { needed: vec![lib(0)], rpath, python_init: Some("PyInit_m".into()), ..Default::default() },
                ));
                for i in 0..n {
                    let needed = if i + 1 < n { vec![lib(i + 1)] } else { vec![] };
                    objs.push((format!("k/d{i}/{}", lib(i)), ElfInfo { needed, ..Default::default() }));
                }
            }
            // Many modules, each needing many system libraries and each other's libraries.
            "many-needs" => {
                for m in 0..n / 10 {
                    let needed: Vec<String> = (0..10)
                        .map(|j| format!("libsys{j}.so"))
                        .chain((0..10).map(|j| lib((m + j) % (n / 10))))
                        .collect();
                    objs.push((
                        format!("k/m{m}.so"),
                        ElfInfo {
                            needed,
                            rpath: vec!["$ORIGIN".into()],
                            python_init: Some("PyInit_m".into()),
                            ..Default::default()
                        },
                    ));
                    objs.push((
                        format!("k/{}", lib(m)),
                        ElfInfo { rpath: vec!["$ORIGIN".into()], ..Default::default() },
                    ));
                }
            }
            _ => unreachable!(),
        }
        let mut t = Tree::default();
        for (p, i) in objs {
            t.files.insert(p.clone());
            t.objects.insert(p, i);
        }
        t
    }

    #[test]
    fn the_step_count_grows_linearly() {
        for kind in ["wide-rpath", "chain", "inherited", "many-needs"] {
            let counts: Vec<u64> =
                [1000, 2000, 4000].iter().map(|&n| resolve_counting(&family(kind, n), &[]).1).collect();
            for pair in counts.windows(2) {
                let ratio = pair[1] as f64 / pair[0] as f64;
                assert!(ratio <= 2.2, "{kind}: doubling the input took {ratio:.2}x the steps ({counts:?})");
            }
            // And the answers are right: every need of these families resolves.
            let g = resolve(&family(kind, 1000), &[]);
            assert!(g.is_whole(), "{kind}: {:?}", g.problem_lines().first());
        }
    }

    /// ld.so's walk as plainly as it can be written: for every need, the object's DT_RPATH and
    /// its loaders' (unless it has DT_RUNPATH), else its DT_RUNPATH, folder by folder.
    fn naive(tree: &Tree, runtime: &[RuntimeFolder]) -> Vec<(String, String, Resolution)> {
        let mut worst: BTreeMap<(String, String), Resolution> = BTreeMap::new();
        let find = |obj: &str, chain: &[String], name: &str| -> Option<String> {
            let info = &tree.objects[obj];
            let dirs: Vec<String> = if info.runpath.is_empty() {
                std::iter::once(obj.to_string())
                    .chain(chain.iter().cloned())
                    .filter(|o| tree.objects[o].runpath.is_empty())
                    .flat_map(|o| {
                        tree.objects[&o].rpath.iter().filter_map(|e| expand(e, parent(&o))).collect::<Vec<_>>()
                    })
                    .collect()
            } else {
                info.runpath.iter().filter_map(|e| expand(e, parent(obj))).collect()
            };
            dirs.iter().map(|d| join(d, name)).find(|c| tree.files.contains(c))
        };
        let mut load = |root: &str, preload: Option<&str>, visited: &mut BTreeSet<String>| {
            let mut loaded: Vec<(String, Vec<String>)> = Vec::new();
            let mut queue: VecDeque<(String, Vec<String>, bool)> = VecDeque::new();
            if let Some(p) = preload {
                queue.push_back((p.to_string(), vec![], false));
            } else {
                queue.push_back((root.to_string(), vec![], true));
            }
            let mut root_pending = preload.is_some();
            loop {
                let Some((obj, chain, rec)) = queue.pop_front() else {
                    if root_pending {
                        root_pending = false;
                        queue.push_back((root.to_string(), vec![preload.unwrap().to_string()], true));
                        continue;
                    }
                    break;
                };
                if loaded.iter().any(|(o, _)| *o == obj) {
                    continue;
                }
                loaded.push((obj.clone(), chain.clone()));
                if rec {
                    visited.insert(obj.clone());
                }
                let info = &tree.objects[&obj];
                let mut child = vec![obj.clone()];
                child.extend(chain.iter().cloned());
                for name in &info.needed {
                    let by_name = loaded.iter().map(|(o, _)| o).find(|o| {
                        base(o) == name.as_str() || tree.objects[*o].soname.as_deref() == Some(name.as_str())
                    });
                    let found =
                        by_name.cloned().or_else(|| if name.contains('/') { None } else { find(&obj, &chain, name) });
                    let resolution = match found {
                        Some(p) => {
                            if tree.objects.contains_key(&p) {
                                queue.push_back((p.clone(), child.clone(), rec));
                            }
                            Resolution::InWheel(p)
                        }
                        None => {
                            let at: Vec<String> = tree
                                .objects
                                .iter()
                                .filter(|(p, i)| base(p) == name.as_str() || i.soname.as_deref() == Some(name.as_str()))
                                .map(|(p, _)| p.clone())
                                .collect();
                            if at.is_empty() {
                                Resolution::System
                            } else {
                                Resolution::Misplaced(at)
                            }
                        }
                    };
                    if rec {
                        let e = worst.entry((obj.clone(), name.clone())).or_insert(resolution.clone());
                        if resolution > *e {
                            *e = resolution;
                        }
                    }
                }
            }
        };
        let mut visited = BTreeSet::new();
        for (p, i) in &tree.objects {
            if i.python_init.is_some() {
                load(p, None, &mut visited);
            }
        }
        for rule in runtime {
            for owner in tree.objects.keys().filter(|p| is_library_named(base(p), &rule.beside)) {
                let dir = join(parent(owner), &rule.folder);
                for plugin in tree.objects.keys().filter(|p| parent(p) == dir) {
                    load(plugin, Some(owner), &mut visited);
                }
            }
        }
        let needed: BTreeSet<&str> = tree.objects.values().flat_map(|i| i.needed.iter().map(String::as_str)).collect();
        let sources: Vec<&String> = tree
            .objects
            .iter()
            .filter(|(p, i)| !needed.contains(base(p)) && !i.soname.as_deref().is_some_and(|s| needed.contains(s)))
            .map(|(p, _)| p)
            .collect();
        for o in sources.into_iter().chain(tree.objects.keys()) {
            if !visited.contains(o) {
                load(o, None, &mut visited);
            }
        }
        worst.into_iter().map(|((o, n), r)| (o, n, r)).collect()
    }

    /// A small random graph: a few folders, objects needing each other and the system, search
    /// paths of every kind ($ORIGIN, parents, other folders, absolute), some SONAMEs.
    fn random_tree(seed: u64) -> Tree {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut next = |m: u64| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        let dirs = ["k", "k/.libs", "k.libs", "k/db_plugins", "k/sub"];
        let n = 2 + next(7) as usize;
        let names: Vec<String> = (0..n).map(|i| format!("lib{i}.so")).collect();
        let entries = [
            "$ORIGIN",
            "$ORIGIN/..",
            "$ORIGIN/.libs",
            "$ORIGIN/../k.libs",
            "$ORIGIN/sub",
            "/usr/lib",
            "${ORIGIN}/../..",
        ];
        let mut t = Tree::default();
        for (i, name) in names.iter().enumerate() {
            let dir = dirs[next(dirs.len() as u64) as usize];
            let mut info = ElfInfo::default();
            for _ in 0..next(4) {
                let need = if next(4) == 0 { "libc.so.6".to_string() } else { names[next(n as u64) as usize].clone() };
                if !info.needed.contains(&need) {
                    info.needed.push(need);
                }
            }
            for _ in 0..next(3) {
                info.rpath.push(entries[next(entries.len() as u64) as usize].to_string());
            }
            if next(5) == 0 {
                info.runpath.push(entries[next(entries.len() as u64) as usize].to_string());
            }
            if next(3) == 0 {
                info.python_init = Some("PyInit_x".into());
            }
            if next(6) == 0 {
                info.soname = Some(names[next(n as u64) as usize].clone());
            }
            let path = if i % 4 == 3 { format!("{dir}/mod{i}.so") } else { format!("{dir}/{name}") };
            t.files.insert(path.clone());
            t.objects.entry(path).or_insert(info);
        }
        t
    }

    #[test]
    fn agrees_with_a_naive_resolver_on_random_graphs() {
        for seed in 0..3000 {
            let t = random_tree(seed);
            let got: Vec<(String, String, Resolution)> =
                resolve(&t, &plugins()).needs.into_iter().map(|n| (n.object, n.name, n.resolution)).collect();
            let want = naive(&t, &plugins());
            assert_eq!(got, want, "seed {seed}: {t:#?}");
        }
    }
}
