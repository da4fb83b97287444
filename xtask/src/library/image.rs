//! Docker image references, as the config and the command line give them: validated before
//! they reach a command line or a YAML file, and shortened to a slug for folder and target
//! names.

use anyhow::{bail, Result};

/// The longest image reference taken (docker's own limit for a repository name is 255).
const MAX_LEN: usize = 255;

/// Image references reach command lines: registry/name[:tag][@sha256:digest], nothing else.
pub fn validate(image: &str) -> Result<()> {
    let ok = !image.is_empty()
        && !image.starts_with('-')
        && image.len() <= MAX_LEN
        && image.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/:@".contains(c));
    if !ok {
        bail!("{image:?} is not a docker image reference (lowercase registry/name[:tag][@sha256:digest])");
    }
    Ok(())
}

/// A short name for targets and folders: `quay.io/pypa/manylinux2014_x86_64:2024-01-01` ->
/// `manylinux2014_x86_64`.
pub fn slug(image: &str) -> String {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    let name = last.split(':').next().unwrap_or(last);
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' { c } else { '_' }).collect()
}

/// Whether the image needs `linux32` (32-bit x86 images on a 64-bit host).
pub fn is_i686(image: &str) -> bool {
    slug(image).contains("i686")
}

/// The machine a pypa image's name says it is for (`..._aarch64` -> `aarch64`), when it says.
pub fn arch(image: &str) -> Option<String> {
    let slug = slug(image);
    ["x86_64", "aarch64", "i686", "ppc64le", "s390x", "armv7l", "riscv64", "loongarch64"]
        .into_iter()
        .find(|a| slug.ends_with(&format!("_{a}")))
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names() {
        for ok in [
            "quay.io/pypa/manylinux2014_x86_64",
            "quay.io/pypa/manylinux_2_28_x86_64:2025.08.01",
            "xtask-standin:3f2a9c1b0d4e",
            "quay.io/pypa/musllinux_1_2_x86_64@sha256:0123abcd",
        ] {
            validate(ok).unwrap();
        }
        for bad in ["", "-v /:/host", "Quay.io/x", "img;rm -rf /", "img name"] {
            assert!(validate(bad).is_err(), "{bad}");
        }
        assert_eq!(slug("quay.io/pypa/manylinux2014_x86_64:2024-01-01"), "manylinux2014_x86_64");
        assert_eq!(slug("quay.io/pypa/manylinux1_i686@sha256:abc"), "manylinux1_i686");
        assert!(is_i686("quay.io/pypa/manylinux1_i686"));
        assert!(!is_i686("quay.io/pypa/manylinux1_x86_64"));
        assert_eq!(arch("quay.io/pypa/musllinux_1_2_aarch64").as_deref(), Some("aarch64"));
        assert_eq!(arch("xtask-standin:abc"), None);
    }
}
