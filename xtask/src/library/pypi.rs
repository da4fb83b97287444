//! What PyPI's upload checks would refuse, checked before an upload (so `deploy` never learns
//! it from a rejected upload and `wheels` never lands such a wheel): the archive's form beyond
//! what makes it unreadable (data descriptors, a comment, data before or after the archive, a
//! second end record, duplicate extra fields, a zip that is also a tar), WHEEL's tags against
//! the file name's, METADATA's version and fields, License-File entries, entry_points.txt, and
//! the platform tag against PyPI's list.
//!
//! The list of platform tags PyPI accepts is data (`pypi-platforms.json`), read from
//! warehouse's `forklift/legacy.py` at the commit it names; to refresh it, read that file at a
//! newer commit (`_allowed_platforms` and the arch sets below it) and update the JSON.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::library::analysis::Analysis;
use crate::library::metadata;
use crate::library::names;
use crate::library::report::{Finding, Level};
use crate::library::wheel::structure;

/// The Metadata-Version values PyPI accepts (warehouse's `SUPPORTED_METADATA_VERSIONS`).
const METADATA_VERSIONS: &[&str] = &["1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5"];
/// The longest Summary PyPI takes.
const MAX_SUMMARY: usize = 512;

/// PyPI's accepted platform tags, as data.
#[derive(Debug, Deserialize)]
pub struct Platforms {
    pub allowed: BTreeSet<String>,
    pub macosx_arches: BTreeSet<String>,
    pub macosx_major_versions: BTreeSet<String>,
    pub ios_arches: BTreeSet<String>,
    pub android_arches: BTreeSet<String>,
    pub manylinux_arches: BTreeSet<String>,
    pub musllinux_arches: BTreeSet<String>,
}

/// The embedded list (`pypi-platforms.json`).
pub const PLATFORMS_JSON: &str = include_str!("pypi-platforms.json");

fn platforms() -> &'static Platforms {
    static P: OnceLock<Platforms> = OnceLock::new();
    // The file is part of this crate, read by a unit test: it always parses.
    P.get_or_init(|| serde_json::from_str(PLATFORMS_JSON).expect("pypi-platforms.json parses"))
}

/// `<prefix>_<major>_<minor>_<rest>` as (major, minor, rest), both numbers.
fn numbered<'a>(tag: &'a str, prefix: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let rest = tag.strip_prefix(prefix)?;
    let mut parts = rest.splitn(3, '_');
    let (major, minor, tail) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(major) && digits(minor)).then_some((major, minor, tail))
}

/// Whether PyPI accepts a platform tag (warehouse's `_valid_platform_tag`).
pub fn accepted_platform(tag: &str) -> bool {
    let p = platforms();
    if p.allowed.contains(tag) {
        return true;
    }
    if let Some((major, minor, arch)) = numbered(tag, "macosx_") {
        if major == "10" && p.macosx_arches.contains(arch) {
            return true;
        }
        if p.macosx_major_versions.contains(major) && minor == "0" && p.macosx_arches.contains(arch) {
            return true;
        }
    }
    if let Some((_, _, arch)) = numbered(tag, "musllinux_") {
        return p.musllinux_arches.contains(arch);
    }
    if let Some((_, _, arch)) = numbered(tag, "manylinux_") {
        return p.manylinux_arches.contains(arch);
    }
    if let Some((_, _, rest)) = numbered(tag, "ios_") {
        for sdk in ["_iphoneos", "_iphonesimulator"] {
            if rest.strip_suffix(sdk).is_some_and(|arch| p.ios_arches.contains(arch)) {
                return true;
            }
        }
    }
    if let Some(rest) = tag.strip_prefix("android_") {
        if let Some((api, arch)) = rest.split_once('_') {
            if !api.is_empty() && api.bytes().all(|b| b.is_ascii_digit()) && p.android_arches.contains(arch) {
                return true;
            }
        }
    }
    numbered(tag, "pyemscripten_").is_some_and(|(_, _, arch)| arch == "wasm32")
}

/// Every (python, abi, platform) a wheel's file name stands for.
fn file_tags(a: &Analysis) -> BTreeSet<String> {
    let n = &a.wheel.name;
    let mut out = BTreeSet::new();
    for py in &n.python {
        for abi in &n.abi {
            for plat in &n.platform {
                out.insert(format!("{py}-{abi}-{plat}"));
            }
        }
    }
    out
}

/// WHEEL's `Tag:` lines, each expanded (a part may be a `.`-joined set).
fn declared_tags(a: &Analysis) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for tag in a.wheel.declared_tags() {
        let parts: Vec<&str> = tag.split('-').collect();
        let [py, abi, plat] = parts.as_slice() else {
            out.insert(tag.clone());
            continue;
        };
        for p in py.split('.') {
            for b in abi.split('.') {
                for l in plat.split('.') {
                    out.insert(format!("{p}-{b}-{l}"));
                }
            }
        }
    }
    out
}

/// PyPI's checks, as findings of level [`Level::Pypi`].
pub fn findings(a: &Analysis) -> Vec<Finding> {
    let mut out: Vec<String> = Vec::new();
    out.extend(structure::pypi_problems(a.wheel.bytes(), &a.wheel.archive));
    for plat in &a.wheel.name.platform {
        if !accepted_platform(plat) {
            out.push(format!("platform tag: PyPI accepts no {plat} wheels (warehouse's list of platform tags)"));
        }
    }
    let (file, declared) = (file_tags(a), declared_tags(a));
    if declared.is_empty() {
        out.push("WHEEL: no Tag lines".into());
    } else if file != declared {
        let only_file: Vec<&String> = file.difference(&declared).collect();
        let only_wheel: Vec<&String> = declared.difference(&file).collect();
        out.push(format!(
            "WHEEL: its Tag lines and the file name's tags differ (only in the file name: {}; only in WHEEL: {})",
            join(&only_file),
            join(&only_wheel)
        ));
    }
    out.extend(metadata_problems(a));
    out.extend(entry_point_problems(a));
    out.into_iter().map(|m| Finding { level: Level::Pypi, message: m }).collect()
}

fn join(v: &[&String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// METADATA: a Metadata-Version PyPI supports, a valid Name and Version, and every License-File
/// present where PEP 639 puts it (`<dist-info>/licenses/<path>`).
fn metadata_problems(a: &Analysis) -> Vec<String> {
    let name = format!("{}/METADATA", a.wheel.dist_info);
    let bytes = match a.wheel.read_entry(&name) {
        Ok(b) => b,
        Err(_) => return vec![format!("METADATA: {name} is missing")],
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return vec!["METADATA: not UTF-8".into()];
    };
    let mut out = Vec::new();
    let quoted = crate::library::text::quoted;
    let version = metadata::field(text, "Metadata-Version");
    match &version {
        None => out.push("METADATA: no Metadata-Version".into()),
        Some(v) if !METADATA_VERSIONS.contains(&v.as_str()) => out.push(format!(
            "METADATA: Metadata-Version {} is not one PyPI supports ({})",
            quoted(v),
            METADATA_VERSIONS.join(", ")
        )),
        Some(_) => {}
    }
    match metadata::checked_version(&a.wheel.name, &bytes) {
        Err(e) => out.push(format!("METADATA: {e}")),
        Ok(v) if v.contains('+') => out.push(format!("METADATA: the local version {v} (PyPI takes no local versions)")),
        Ok(_) => {}
    }
    if metadata::field(text, "Summary").is_some_and(|s| s.chars().count() > MAX_SUMMARY) {
        out.push(format!("METADATA: Summary is longer than {MAX_SUMMARY} characters"));
    }
    // PEP 639 (Metadata-Version 2.4) puts each License-File under the dist-info's licenses/, and
    // PyPI looks for it there. (Older METADATA carried License-File too, pointing elsewhere:
    // PyPI takes those wheels, so they are not held against them.)
    let from_2_4 = version.as_deref().and_then(|v| names::check_version("", v).ok()).is_some_and(|v| {
        let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (2, 4)
    });
    for line in text.lines().take_while(|l| !l.trim_end_matches('\r').is_empty()) {
        let Some(file) = line.strip_prefix("License-File:").map(str::trim) else { continue };
        let at = format!("{}/licenses/{file}", a.wheel.dist_info);
        if from_2_4 && !a.wheel.entries.iter().any(|e| e.name == at) {
            out.push(format!("METADATA: License-File {} is not in the wheel at {at}", quoted(file)));
        }
    }
    out
}

/// entry_points.txt: an INI file with `=` as delimiter; console and GUI script names of word
/// characters, `.` and `-` only (warehouse's `_validate_entrypoints`).
fn entry_point_problems(a: &Analysis) -> Vec<String> {
    let name = format!("{}/entry_points.txt", a.wheel.dist_info);
    if !a.wheel.entries.iter().any(|e| e.name == name) {
        return Vec::new();
    }
    let Ok(bytes) = a.wheel.read_entry(&name) else {
        return vec![format!("entry_points.txt: cannot be read")];
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return vec!["entry_points.txt: not UTF-8".into()];
    };
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    let mut seen_sections = BTreeSet::new();
    let mut seen_keys = BTreeSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let lineno = i + 1;
        if line.trim().is_empty() || line.trim_start().starts_with(['#', ';']) {
            continue;
        }
        if raw.starts_with([' ', '\t']) && section.is_some() {
            // A continuation of the value above (configparser allows it).
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(s) = rest.strip_suffix(']') else {
                out.push(format!("entry_points.txt line {lineno}: a section header without `]`"));
                continue;
            };
            if !seen_sections.insert(s.to_string()) {
                out.push(format!("entry_points.txt line {lineno}: section [{s}] appears twice"));
            }
            section = Some(s.to_string());
            seen_keys.clear();
            continue;
        }
        let Some(s) = &section else {
            out.push(format!("entry_points.txt line {lineno}: an entry before any [section]"));
            continue;
        };
        let Some((key, _value)) = line.split_once('=') else {
            out.push(format!("entry_points.txt line {lineno}: no `=` in {}", crate::library::text::quoted(line)));
            continue;
        };
        let key = key.trim();
        if !seen_keys.insert(key.to_string()) {
            out.push(format!(
                "entry_points.txt line {lineno}: {} appears twice in [{s}]",
                crate::library::text::quoted(key)
            ));
        }
        let word = |c: char| c.is_alphanumeric() || c == '_' || c == '.' || c == '-';
        if (s == "console_scripts" || s == "gui_scripts") && (key.is_empty() || !key.chars().all(word)) {
            out.push(format!(
                "entry_points.txt: the script name {} in [{s}] is not a plain name",
                crate::library::text::quoted(key)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_tags_follow_warehouse() {
        serde_json::from_str::<Platforms>(PLATFORMS_JSON).unwrap();
        for ok in [
            "any",
            "manylinux_2_28_x86_64",
            "manylinux2014_aarch64",
            "musllinux_1_2_aarch64",
            "manylinux_2_17_ppc64",
            "macosx_10_9_x86_64",
            "macosx_11_0_arm64",
            "win_amd64",
            "ios_13_0_arm64_iphoneos",
            "android_21_arm64_v8a",
            "pyemscripten_2026_0_wasm32",
            "linux_armv7l",
        ] {
            assert!(accepted_platform(ok), "{ok}");
        }
        for bad in [
            "linux_x86_64",
            "musllinux_1_2_ppc64",
            "manylinux_2_36_loongarch64",
            "macosx_11_1_arm64",
            "manylinux_2_x86_64",
            "android_x_arm64_v8a",
        ] {
            assert!(!accepted_platform(bad), "{bad}");
        }
    }
}
