//! Names taken from a wheel, validated before they become a path or a command-line word: the
//! distribution name (PEP 508's rule, compared after PEP 503 normalization) and the version
//! (PEP 440, parsed and normalized by `pep440_rs`).

use std::str::FromStr;

use anyhow::{bail, Result};

use crate::library::text::quoted;

/// The longest name or version taken (PyPI's own limits are far below).
const MAX_LEN: usize = 200;

/// PEP 503's normal form: lowercase, every run of `-`, `_` and `.` one `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A distribution name as PEP 508 allows it: ASCII letters and digits, with `.`, `_`, `-`
/// inside (`^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`, case-insensitive).
pub fn check_name(what: &str, name: &str) -> Result<()> {
    let inner_ok = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let ends_ok =
        name.starts_with(|c: char| c.is_ascii_alphanumeric()) && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > MAX_LEN || !inner_ok || !ends_ok {
        bail!("{what} {} is not a valid distribution name (PEP 508: letters, digits, and . _ - inside)", quoted(name));
    }
    Ok(())
}

/// A PEP 440 version, in its normal form (`1.0-RC1` -> `1.0rc1`). Nothing else is accepted:
/// the result is safe as one path component (digits, letters, `.`, `!`, `+`).
pub fn check_version(what: &str, version: &str) -> Result<String> {
    if version.len() > MAX_LEN {
        bail!("{what} {} is not a PEP 440 version (too long)", quoted(version));
    }
    match pep440_rs::Version::from_str(version.trim()) {
        Ok(v) => {
            let normal = v.to_string();
            debug_assert!(normal.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '!' | '+')));
            Ok(normal)
        }
        Err(e) => bail!("{what} {} is not a PEP 440 version: {e}", quoted(version)),
    }
}

/// An interpreter tag (`cp314-cp314t`, `pp311-pypy311_pp73`) is free-threaded when its ABI
/// part is CPython's and ends in `t`.
pub fn free_threaded(tag: &str) -> bool {
    tag.rsplit_once('-').is_some_and(|(_, abi)| abi.starts_with("cp") && abi.ends_with('t'))
}

/// The short name selectors and skip lists match besides the whole tag: the Python part
/// (`cp314`), with a `t` for a free-threaded build (`cp314t`), so `cp314` never names the
/// free-threaded twin.
pub fn short_tag(tag: &str) -> String {
    let python = tag.split('-').next().unwrap_or(tag);
    if free_threaded(tag) {
        format!("{python}t")
    } else {
        python.to_string()
    }
}

/// A glob over interpreters matches the whole tag or its short name.
pub fn tag_matches(glob: &globset::GlobMatcher, tag: &str) -> bool {
    glob.is_match(tag) || glob.is_match(short_tag(tag))
}

/// An interpreter tag as it may reach YAML and command lines: letters, digits, `_`, `-`.
pub fn check_interpreter_tag(what: &str, tag: &str) -> Result<()> {
    let ok =
        !tag.is_empty() && tag.len() <= 64 && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        bail!("{what} {} is not an interpreter tag", quoted(tag));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreter_tags() {
        assert!(free_threaded("cp314-cp314t") && !free_threaded("cp314-cp314") && !free_threaded("cp27-cp27mu"));
        assert!(!free_threaded("pp311-pypy311_pp73"));
        assert_eq!(short_tag("cp314-cp314t"), "cp314t");
        assert_eq!(short_tag("cp314-cp314"), "cp314");
        let g = crate::library::config::glob("cp31?t").unwrap();
        assert!(tag_matches(&g, "cp315-cp315t") && !tag_matches(&g, "cp315-cp315"));
        assert!(check_interpreter_tag("t", "cp311-cp311").is_ok());
        assert!(check_interpreter_tag("t", "cp311\nscript: x").is_err());
    }

    #[test]
    fn names_normalize_and_validate() {
        assert_eq!(normalize("KLayout_Python.Tools"), "klayout-python-tools");
        assert_eq!(normalize("a--b__c"), "a-b-c");
        for ok in ["klayout", "Mini_Layout", "a", "x.y-z"] {
            check_name("name", ok).unwrap();
        }
        for bad in ["", "-a", "a-", "../x", "a/b", "a b", "é", "a\u{1b}b", "/abs"] {
            assert!(check_name("name", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn versions_are_pep_440_and_normalized() {
        assert_eq!(check_version("v", "0.30.12").unwrap(), "0.30.12");
        assert_eq!(check_version("v", "1.0-RC1").unwrap(), "1.0rc1");
        assert_eq!(check_version("v", "1!2.0.post3+local.7").unwrap(), "1!2.0.post3+local.7");
        for bad in ["../../X", "/tmp/x", "1.0/..", "", "..", "1.0\u{1b}[2J", "latest"] {
            assert!(check_version("v", bad).is_err(), "{bad:?}");
        }
    }
}
