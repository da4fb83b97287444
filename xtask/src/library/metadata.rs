//! A wheel's METADATA, as far as a path is made from it: the version folder of `deploy`. The
//! text is hostile input: only the header block is read, and the name and version are
//! validated (PEP 508, PEP 440) and compared with the file name's before anything uses them.

use anyhow::{anyhow, bail, Result};

use crate::library::names;
use crate::library::text;
use crate::library::wheel::WheelName;

/// The first value of header `key` in METADATA's header block (before the first blank line).
pub fn field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .take_while(|l| !l.trim_end_matches('\r').is_empty())
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(':')).map(|v| v.trim().to_string()))
}

/// The version a wheel's METADATA declares, validated: a PEP 440 version equal to the file
/// name's, with a PEP 508 distribution name equal (normalized) to the file name's. Returns the
/// normalized version, safe as one path component.
pub fn checked_version(wheel: &WheelName, metadata: &[u8]) -> Result<String> {
    let shown = wheel.file_name();
    let text = std::str::from_utf8(metadata).map_err(|_| anyhow!("{shown}: METADATA is not UTF-8"))?;
    let version = field(text, "Version").ok_or_else(|| anyhow!("{shown}: METADATA has no Version"))?;
    let dist = field(text, "Name").ok_or_else(|| anyhow!("{shown}: METADATA has no Name"))?;
    let version = names::check_version(&format!("{shown}: the METADATA version"), &version)?;
    names::check_name(&format!("{shown}: the METADATA name"), &dist)?;
    let file_version =
        names::check_version(&format!("{shown}: the file name's version"), &wheel.version.replace('_', "-"))?;
    if file_version != version {
        bail!("{shown}: METADATA says version {version}, the file name {file_version}");
    }
    if names::normalize(&dist) != names::normalize(&wheel.dist) {
        bail!("{shown}: METADATA names the distribution {}, the file name {}", text::quoted(&dist), wheel.dist);
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name() -> WheelName {
        WheelName::parse("mini_layout-0.1.0-cp311-cp311-linux_x86_64.whl").unwrap()
    }

    #[test]
    fn versions_from_metadata_are_validated() {
        let ok = b"Metadata-Version: 2.1\nName: Mini-Layout\nVersion: 0.1.0\n\nVersion: ../../x\n";
        assert_eq!(checked_version(&name(), ok).unwrap(), "0.1.0");
        for (meta, why) in [
            (&b"Name: mini_layout\nVersion: ../../X\n"[..], "not a PEP 440 version"),
            (b"Name: mini_layout\nVersion: /tmp/victim\n", "not a PEP 440 version"),
            (b"Name: mini_layout\nVersion: 0.2.0\n", "the file name 0.1.0"),
            (b"Name: other\nVersion: 0.1.0\n", "names the distribution"),
            (b"Name: ../x\nVersion: 0.1.0\n", "not a valid distribution name"),
            (b"Name: mini_layout\n", "no Version"),
            (b"\xff\xfe", "not UTF-8"),
        ] {
            let e = checked_version(&name(), meta).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
    }
}
