//! The stable ABI: an `abi3` wheel's extensions may use only what CPython's stable ABI holds,
//! and only what it held in the oldest version the wheel's Python tag names (`cp39-abi3`: 3.9).
//! The symbols and the version each entered the stable ABI are data (`stable-abi.json`, from
//! abi3info, which ships CPython's `Misc/stable_abi.toml`); abi3audit, the same package's
//! auditor, is the oracle the tests compare with.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::library::analysis::Analysis;
use crate::library::loader::base;

/// The embedded list.
pub const STABLE_ABI_JSON: &str = include_str!("stable-abi.json");

#[derive(Deserialize)]
struct StableAbi {
    /// Symbol -> the version it entered the stable ABI ("3.2").
    symbols: BTreeMap<String, String>,
}

fn stable() -> &'static BTreeMap<String, (u32, u32)> {
    static S: OnceLock<BTreeMap<String, (u32, u32)>> = OnceLock::new();
    S.get_or_init(|| {
        // The file is part of this crate, read by a unit test: it always parses.
        let data: StableAbi = serde_json::from_str(STABLE_ABI_JSON).expect("stable-abi.json parses");
        data.symbols.into_iter().filter_map(|(k, v)| Some((k, version(&v)?))).collect()
    })
}

/// "3.12" -> (3, 12).
fn version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The oldest CPython an abi3 wheel's Python tags name (`cp39` -> 3.9), if it is abi3.
pub fn baseline(a: &Analysis) -> Option<(u32, u32)> {
    let n = &a.wheel.name;
    if !n.abi.iter().any(|t| t == "abi3" || t == "abi3t") {
        return None;
    }
    n.python
        .iter()
        .filter_map(|t| t.strip_prefix("cp"))
        .filter_map(|d| d.get(..1).zip(d.get(1..)).and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?))))
        .min()
}

/// One line per extension symbol outside the stable ABI, or in it only from a later version
/// than the wheel's baseline (abi3audit's rules: undefined and exported `Py*`/`_Py*` symbols,
/// module init functions left out).
pub fn problems(a: &Analysis) -> Vec<String> {
    let Some(base_version) = baseline(a) else { return Vec::new() };
    let tag = format!("cp{}{}-abi3", base_version.0, base_version.1);
    let mut out = Vec::new();
    for (entry, info) in &a.elf {
        if info.python_init.is_none() {
            continue;
        }
        let file = base(entry);
        let names = info.imports.iter().map(|i| i.name.as_str()).chain(info.py_exports.iter().map(String::as_str));
        let mut outside = Vec::new();
        let mut later: BTreeMap<(u32, u32), Vec<&str>> = BTreeMap::new();
        for name in names {
            match stable().get(name) {
                Some(&added) if added > base_version => later.entry(added).or_default().push(name),
                Some(_) => {}
                None if (name.starts_with("Py") || name.starts_with("_Py")) && !name.starts_with("PyInit_") => {
                    outside.push(name)
                }
                None => {}
            }
        }
        outside.sort_unstable();
        outside.dedup();
        if !outside.is_empty() {
            out.push(format!(
                "{file} uses {} outside the stable ABI, but the wheel is tagged {tag}: {}",
                if outside.len() == 1 { "a symbol" } else { "symbols" },
                short(&outside)
            ));
        }
        if let Some(((major, minor), names)) = later.iter().next_back() {
            out.push(format!(
                "{file} uses the stable ABI of CPython {major}.{minor} ({}), but the wheel is tagged {tag}",
                short(names)
            ));
        }
    }
    out
}

/// At most five names, then how many more.
fn short(names: &[&str]) -> String {
    let mut s = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    if names.len() > 5 {
        s.push_str(&format!(" and {} more", names.len() - 5));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_list_parses() {
        assert!(stable().len() > 900, "{}", stable().len());
        assert_eq!(stable().get("PyArg_ParseTuple"), Some(&(3, 2)));
        assert!(stable().get("_PyObject_GC_New").is_none() || stable()["_PyObject_GC_New"] >= (3, 2));
        assert!(stable().get("PyUnicode_AsUTF8AndSize").is_some_and(|v| *v == (3, 10)));
    }
}
