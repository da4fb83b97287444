//! Wheel file names (PEP 427): `{dist}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.

use anyhow::{bail, Result};

/// A parsed wheel file name. Each tag part may be a `.`-joined set
/// (`manylinux_2_27_x86_64.manylinux_2_28_x86_64`), kept here as a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelName {
    pub dist: String,
    pub version: String,
    pub build: Option<String>,
    pub python: Vec<String>,
    pub abi: Vec<String>,
    pub platform: Vec<String>,
}

impl WheelName {
    /// Parses a file name (not a path). The message names the file and what is wrong.
    pub fn parse(file_name: &str) -> Result<WheelName> {
        let Some(stem) = file_name.strip_suffix(".whl") else {
            bail!("{file_name} is not a wheel: the name does not end in .whl");
        };
        let parts: Vec<&str> = stem.split('-').collect();
        let (dist, version, build, tags) = match parts.as_slice() {
            [d, v, p, a, pl] => (*d, *v, None, [*p, *a, *pl]),
            [d, v, b, p, a, pl] => (*d, *v, Some(*b), [*p, *a, *pl]),
            _ => bail!(
                "{file_name} is not a wheel name: expected \
                 dist-version(-build)-python-abi-platform.whl, found {} dash-separated parts",
                parts.len()
            ),
        };
        let file_name = crate::library::text::printable(file_name);
        if let Some(b) = build {
            if !b.starts_with(|c: char| c.is_ascii_digit()) || !b.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                bail!("{file_name}: the build tag {b:?} must start with a digit and hold letters, digits and _ only");
            }
        }
        for (what, value) in [("distribution", dist), ("version", version)] {
            if value.is_empty() {
                bail!("{file_name}: the {what} part is empty");
            }
        }
        // PEP 427: the distribution part is the name with every run of other characters
        // written as `_`; the version part is a PEP 440 version (its `-` written as `_`).
        if !dist.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
            bail!("{file_name}: the distribution part {dist:?} holds characters a wheel name cannot");
        }
        crate::library::names::check_version(&format!("{file_name}: the version part"), &version.replace('_', "-"))?;
        let split = |what: &str, s: &str| -> Result<Vec<String>> {
            let set: Vec<String> = s.split('.').map(str::to_string).collect();
            if set.iter().any(|t| t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
                bail!("{file_name}: the {what} tag {s:?} is not a valid tag set");
            }
            Ok(set)
        };
        Ok(WheelName {
            dist: dist.to_string(),
            version: version.to_string(),
            build: build.map(str::to_string),
            python: split("python", tags[0])?,
            abi: split("abi", tags[1])?,
            platform: split("platform", tags[2])?,
        })
    }

    /// The file name this parses back from.
    pub fn file_name(&self) -> String {
        let mut s = format!("{}-{}", self.dist, self.version);
        if let Some(b) = &self.build {
            s.push('-');
            s.push_str(b);
        }
        format!("{s}-{}-{}-{}.whl", self.python.join("."), self.abi.join("."), self.platform.join("."))
    }

    /// The `.dist-info` folder name the wheel must contain.
    pub fn dist_info(&self) -> String {
        format!("{}-{}.dist-info", self.dist, self.version)
    }

    /// The architecture of the platform tags (`x86_64`, `i686`, `aarch64`), if they agree.
    pub fn arch(&self) -> Option<String> {
        let mut archs = self.platform.iter().filter_map(|p| platform_arch(p));
        let first = archs.next()?;
        archs.all(|a| a == first).then(|| first.to_string())
    }
}

/// The architecture part of a platform tag: `manylinux_2_28_x86_64` -> `x86_64`.
pub fn platform_arch(tag: &str) -> Option<&str> {
    const ARCHS: &[&str] =
        &["x86_64", "i686", "aarch64", "ppc64le", "ppc64", "s390x", "armv7l", "riscv64", "loongarch64"];
    ARCHS.iter().copied().find(|a| tag.ends_with(&format!("_{a}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tag_sets_and_round_trips() {
        let n = "klayout-0.30.12-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl";
        let w = WheelName::parse(n).unwrap();
        assert_eq!(w.dist, "klayout");
        assert_eq!(w.version, "0.30.12");
        assert_eq!(w.build, None);
        assert_eq!(w.platform, ["manylinux_2_27_x86_64", "manylinux_2_28_x86_64"]);
        assert_eq!(w.file_name(), n);
        assert_eq!(w.arch().as_deref(), Some("x86_64"));
        assert_eq!(w.dist_info(), "klayout-0.30.12.dist-info");
    }

    #[test]
    fn parses_build_tag() {
        let w = WheelName::parse("pkg-1.0-2b-py2.py3-none-any.whl").unwrap();
        assert_eq!(w.build.as_deref(), Some("2b"));
        assert_eq!(w.python, ["py2", "py3"]);
        assert_eq!(w.arch(), None);
        assert!(WheelName::parse("pkg-1.0-x2-py3-none-any.whl").is_err());
    }

    #[test]
    fn rejects_non_wheels_with_the_name() {
        let e = WheelName::parse("pkg-1.0.tar.gz").unwrap_err().to_string();
        assert!(e.contains("pkg-1.0.tar.gz") && e.contains(".whl"), "{e}");
        let e = WheelName::parse("pkg-1.0-py3.whl").unwrap_err().to_string();
        assert!(e.contains("dash-separated"), "{e}");
        assert!(WheelName::parse("pkg-1.0-py3-none-linux x86.whl").is_err());
        // Names that would become paths or terminal escapes.
        for bad in ["pk\u{1b}[2Jg-1.0-py3-none-any.whl", "pkg-..-py3-none-any.whl", "p/k-1.0-py3-none-any.whl"] {
            let e = WheelName::parse(bad).unwrap_err().to_string();
            assert!(!e.contains('\u{1b}'), "{e}");
        }
        assert!(WheelName::parse("pkg-1.0_rc1-py3-none-any.whl").is_ok(), "PEP 427 writes - as _");
    }
}
