//! The one place a vendoring project edits: `xtask/wheels.toml`. Every name specific to the
//! package (its import folder, the files that travel together, the tests) comes from here;
//! the code knows no package by name. When the file is absent, the embedded default below
//! applies (KLayout's rules).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::loader::RuntimeFolder;

/// Where the config lives, relative to the repository root.
pub const CONFIG_PATH: &str = "xtask/wheels.toml";

/// The whole config file.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub fix_wheel: FixWheel,
    /// Folders of plugins that a library loads from its own folder at run time, which no ELF
    /// tag records; check-wheel verifies them and fix-wheel moves them with their library.
    pub runtime_folders: Vec<RuntimeFolder>,
}

/// The 2018 repair's rules.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FixWheel {
    /// Names (globs with `*`) in the package folder that move into the libs folder the
    /// extension modules' RPATH points to, when the wheel shows the old auditwheel defect.
    pub move_to_libs: Vec<String>,
}

impl Default for FixWheel {
    fn default() -> Self {
        FixWheel {
            move_to_libs: vec!["lib_*".into(), "db_plugins".into()],
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            fix_wheel: FixWheel::default(),
            runtime_folders: vec![RuntimeFolder {
                folder: "db_plugins".into(),
                beside: "lib_db".into(),
            }],
        }
    }
}

impl Config {
    /// Reads `path`; the embedded default when `path` is the default location and absent.
    pub fn load(path: &Path, explicit: bool) -> Result<Config> {
        if !explicit && !path.exists() {
            return Ok(Config::default());
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("the config {} is not valid", path.display()))
    }
}

/// The repository root: the folder above this crate.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Matches a name against a glob with `*` (any run of characters) and `?` (one character).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(
            "lib_*",
            "lib_tl.cpython-311-x86_64-linux-gnu.so"
        ));
        assert!(!glob_match("lib_*", "libz.so"));
        assert!(glob_match("cp3?-*", "cp39-cp39"));
        assert!(glob_match("db_plugins", "db_plugins"));
    }

    #[test]
    fn default_matches_documented_file() {
        let parsed: Config = toml::from_str(
            "[fix_wheel]\nmove_to_libs = [\"lib_*\", \"db_plugins\"]\n\
             [[runtime_folders]]\nfolder = \"db_plugins\"\nbeside = \"lib_db\"\n",
        )
        .unwrap();
        assert_eq!(parsed, Config::default());
        assert!(
            toml::from_str::<Config>("[fix_wheel]\nmove = []\n").is_err(),
            "unknown keys are refused"
        );
    }
}
