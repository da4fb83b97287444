//! Any bytes as a loader graph (objects in folders, NEEDED entries, RPATH/RUNPATH entries,
//! SONAMEs, extension modules), through the ld.so simulation. A panic is a bug, and so is a
//! step count far beyond the input's size: hostile wheels must not buy quadratic time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xtask::library::elf::ElfInfo;
use xtask::library::loader::{resolve_counting, RuntimeFolder, Tree};

const DIRS: &[&str] = &["k", "k/.libs", "k.libs", "k/db_plugins", "k/a/b", ""];
const ENTRIES: &[&str] =
    &["$ORIGIN", "$ORIGIN/..", "$ORIGIN/.libs", "$ORIGIN/../k.libs", "${ORIGIN}/a/b", "/usr/lib", "$ORIGIN/../../..", "$LIB"];

fuzz_target!(|data: &[u8]| {
    // Each 4-byte record adds an object or decorates the last one.
    let mut tree = Tree::default();
    let mut last: Option<String> = None;
    for (i, r) in data.chunks_exact(4).enumerate() {
        let (op, a, b, c) = (r[0] % 6, r[1] as usize, r[2] as usize, r[3]);
        match (op, &last) {
            (0, _) | (_, None) => {
                let name = if c % 2 == 0 { format!("lib{}.so", a % 64) } else { format!("lib_db.so.{}", a % 4) };
                let path = if DIRS[b % DIRS.len()].is_empty() { name } else { format!("{}/{name}", DIRS[b % DIRS.len()]) };
                let info = ElfInfo { python_init: (c % 3 == 0).then(|| format!("PyInit_{i}")), ..Default::default() };
                tree.files.insert(path.clone());
                tree.objects.insert(path.clone(), info);
                last = Some(path);
            }
            (1, Some(p)) => tree.objects.get_mut(p).unwrap().needed.push(format!("lib{}.so", a % 64)),
            (2, Some(p)) => tree.objects.get_mut(p).unwrap().rpath.push(ENTRIES[a % ENTRIES.len()].to_string()),
            (3, Some(p)) => tree.objects.get_mut(p).unwrap().runpath.push(ENTRIES[a % ENTRIES.len()].to_string()),
            (4, Some(p)) => tree.objects.get_mut(p).unwrap().soname = Some(format!("lib{}.so", a % 64)),
            (_, Some(_)) => {
                tree.files.insert(format!("{}/lib{}.so", DIRS[b % DIRS.len()], a % 64));
            }
        }
    }
    let runtime = [RuntimeFolder { folder: "db_plugins".into(), beside: "lib_db".into() }];
    let (graph, steps) = resolve_counting(&tree, &runtime);
    let size = (data.len() as u64 + 1) * (tree.objects.len() as u64 + 1);
    assert!(steps <= 64 * size + 4096, "{steps} steps for {} bytes", data.len());
    let _ = graph.problem_lines();
});
