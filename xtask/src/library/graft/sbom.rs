//! The SBOM of the grafted libraries (PEP 770: `.dist-info/sboms/`), CycloneDX 1.4 as
//! auditwheel writes it: the wheel as the root component, and one component per system
//! package a grafted library came from, as dpkg, rpm or apk name it.

use serde_json::{json, Value};

/// The file the SBOM is written to inside `.dist-info/sboms/`.
pub const FILE_NAME: &str = "xtask.cdx.json";

/// The system package a file belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvidedBy {
    /// `deb`, `rpm` or `apk`.
    pub package_type: String,
    pub name: String,
    pub version: String,
    /// The distribution's ID from /etc/os-release (`debian`, `almalinux`, `alpine`).
    pub distro: Option<String>,
}

impl ProvidedBy {
    /// `pkg:deb/debian/libbz2-1.0@1.0.8-5%2Bb1`, quoted as PURL wants.
    pub fn purl(&self) -> String {
        let mut s = format!("pkg:{}/", self.package_type.to_lowercase());
        if let Some(d) = &self.distro {
            s.push_str(&quote(d));
            s.push('/');
        }
        s.push_str(&quote(&self.name));
        s.push('@');
        s.push_str(&quote(&self.version));
        s
    }
}

/// Python's `urllib.parse.quote(value, safe="")`: everything but letters, digits and `_.-~`
/// percent-encoded as UTF-8.
pub fn quote(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The SBOM for a wheel named `wheel_file` (its final name) of `dist` `version`, from the
/// grafted libraries' paths (as found) and their packages; None when no package is known (as
/// auditwheel writes none then).
pub fn sbom(
    dist: &str,
    version: &str,
    wheel_file: &str,
    provided: &[(String, ProvidedBy)],
    tool_version: &str,
) -> Option<Value> {
    if provided.is_empty() {
        return None;
    }
    let wheel_purl = format!("pkg:pypi/{}@{}?file_name={}", quote(dist), quote(version), quote(wheel_file));
    let root = json!({"type": "library", "bom-ref": wheel_purl, "name": dist, "version": version, "purl": wheel_purl});
    let mut components = vec![root.clone()];
    let mut depends = Vec::new();
    let mut dependencies = Vec::new();
    for (path, p) in provided {
        let bom_ref = format!("{}#{}", p.purl(), super::sha256_hex(path.as_bytes()));
        components.push(
            json!({"type": "library", "bom-ref": bom_ref, "name": p.name, "version": p.version, "purl": p.purl()}),
        );
        depends.push(Value::String(bom_ref.clone()));
        dependencies.push(json!({"ref": bom_ref}));
    }
    dependencies.insert(0, json!({"ref": wheel_purl, "dependsOn": depends}));
    Some(json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.4",
        "version": 1,
        "metadata": {"component": root, "tools": [{"name": "xtask", "version": tool_version}]},
        "components": components,
        "dependencies": dependencies,
    }))
}

/// `dpkg -S <path>` output's package (`libbz2-1.0:amd64: /usr/lib/...` -> `libbz2-1.0:amd64`,
/// as auditwheel's `^([^:]+):` takes it: `libbz2-1.0`).
pub fn dpkg_search_package(out: &str) -> Option<String> {
    let first = out.lines().next()?;
    let (pkg, _) = first.split_once(':')?;
    (!pkg.is_empty()).then(|| pkg.to_string())
}

/// The `Version:` field of `dpkg -s <package>`.
pub fn dpkg_version(out: &str) -> Option<String> {
    out.lines().find_map(|l| l.strip_prefix("Version: ")).map(|v| v.split_whitespace().next().unwrap_or("").to_string())
}

/// `rpm -qf --queryformat "%{NAME} %{VERSION} %{RELEASE} %{ARCH}"` -> (name, version-release).
pub fn rpm_query(out: &str) -> Option<(String, String)> {
    let mut p = out.trim().splitn(4, ' ');
    let (name, version, release) = (p.next()?, p.next()?, p.next()?);
    Some((name.to_string(), format!("{version}-{release}")))
}

/// `apk info --who-owns <path>`: `... is owned by <name>-<version>` (auditwheel's regex: the
/// name has no `-`... up to the first one).
pub fn apk_owner(out: &str) -> Option<(String, String)> {
    let line = out.lines().find(|l| l.contains(" is owned by "))?;
    let owner = line.rsplit(" is owned by ").next()?.trim();
    let (name, version) = owner.split_once('-')?;
    Some((name.to_string(), version.to_string()))
}

/// `ID=` of /etc/os-release (quoted or not).
pub fn os_release_id(text: &str) -> Option<String> {
    text.lines().find_map(|l| l.strip_prefix("ID=")).map(|v| v.trim().trim_matches('"').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_are_quoted_as_auditwheels() {
        let p = ProvidedBy {
            package_type: "deb".into(),
            name: "libbz2-1.0".into(),
            version: "1.0.8-5+b1".into(),
            distro: Some("debian".into()),
        };
        assert_eq!(p.purl(), "pkg:deb/debian/libbz2-1.0@1.0.8-5%2Bb1");
    }

    #[test]
    fn package_tool_outputs() {
        assert_eq!(
            dpkg_search_package("libbz2-1.0:amd64: /usr/lib/x86_64-linux-gnu/libbz2.so.1.0.4\n").as_deref(),
            Some("libbz2-1.0")
        );
        assert_eq!(dpkg_version("Package: x\nStatus: ok\nVersion: 1.0.8-5+b1\n").as_deref(), Some("1.0.8-5+b1"));
        assert_eq!(rpm_query("bzip2-libs 1.0.6 26.el8 x86_64"), Some(("bzip2-libs".into(), "1.0.6-26.el8".into())));
        assert_eq!(
            apk_owner("/usr/lib/libbz2.so.1 is owned by libbz2-1.0.8-r6"),
            Some(("libbz2".into(), "1.0.8-r6".into()))
        );
        assert_eq!(os_release_id("NAME=\"Debian\"\nID=debian\n").as_deref(), Some("debian"));
        assert_eq!(os_release_id("ID=\"almalinux\"").as_deref(), Some("almalinux"));
    }

    #[test]
    fn no_package_no_sbom() {
        assert!(sbom("minik", "0.1", "minik-0.1-cp311-cp311-linux_x86_64.whl", &[], "0.1.0").is_none());
    }
}
