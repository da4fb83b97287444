//! `cargo xtask deploy`: the wheels that passed go to `deploy/dist-pymod/<version>/` (the 2018
//! layout) with a SHA256SUMS file, and with `--upload` to a package index through twine.
//!
//! Every wheel is checked again first; the version comes from the wheels' METADATA and must be
//! one. The deploy folder is built beside its final name and swapped in, so it is either
//! complete or as it was. Credentials are read by twine itself from TWINE_USERNAME and
//! TWINE_PASSWORD: they never appear on a command line, and the password is masked in
//! anything printed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use xshell::{cmd, Shell};

use crate::flags;
use crate::library::analysis::Analysis;
use crate::library::config::{target_dir, Config};
use crate::library::report;
use crate::processes::tools;

/// The 2018 deploy layout under the deploy folder.
pub const DIST_DIR: &str = "dist-pymod";
/// The checksum file of a deploy folder, in `sha256sum -c` format.
pub const SUMS_FILE: &str = "SHA256SUMS";

/// Deploys: every wheel checked, one version, the folder swapped in, then the upload.
pub fn run(sh: &Shell, config: &Config, opts: &flags::Deploy) -> Result<ExitCode> {
    let wheels = collect(&opts.from)?;
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut refused = Vec::new();
    for w in &wheels {
        let analysis = Analysis::of(w)?;
        let report = report::report(config, &analysis, &analysis.graph(&config.runtime_folders));
        if !report.is_healthy() {
            refused.push(format!("{}: {}", report.wheel, report.messages().join("; ")));
        }
        versions.entry(metadata_version(&analysis)?).or_default().push(report.wheel);
    }
    if !refused.is_empty() {
        bail!("check-wheel refuses {} wheel(s), nothing was deployed:\n  {}", refused.len(), refused.join("\n  "));
    }
    if versions.len() > 1 {
        let listing: Vec<String> = versions.iter().map(|(v, w)| format!("{v}: {}", w.join(", "))).collect();
        bail!(
            "the wheels in {} are of {} versions; deploy one version at a time:\n  {}",
            opts.from.display(),
            versions.len(),
            listing.join("\n  ")
        );
    }
    let version = versions.into_keys().next().unwrap_or_default();
    let dest = opts.to.join(DIST_DIR).join(&version);
    if opts.dry_run {
        for w in &wheels {
            println!("copy {} -> {}", w.display(), dest.display());
        }
        println!("write {}", dest.join(SUMS_FILE).display());
        if opts.upload {
            println!("upload {} wheel(s) to {} with twine upload --skip-existing", wheels.len(), repository_name(opts));
        }
        return Ok(ExitCode::SUCCESS);
    }
    publish_folder(&wheels, &dest)?;
    eprintln!("deploy: {} wheel(s) of version {version} in {}", wheels.len(), dest.display());
    if opts.upload {
        upload(sh, opts, &dest, &wheels)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The `.whl` files of a folder, sorted; none is an error.
fn collect(from: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(from).with_context(|| format!("cannot read the wheel folder {}", from.display()))?;
    let mut wheels: Vec<PathBuf> =
        rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "whl")).collect();
    wheels.sort();
    if wheels.is_empty() {
        bail!("no wheel in {}: run cargo xtask wheels first", from.display());
    }
    Ok(wheels)
}

/// `Version:` from the wheel's METADATA (the file name may be normalised differently).
fn metadata_version(a: &Analysis) -> Result<String> {
    let name = format!("{}/METADATA", a.wheel.dist_info);
    let text = String::from_utf8(a.wheel.read_entry(&name)?).map_err(|_| anyhow!("{name} is not UTF-8"))?;
    text.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("Version:").map(|v| v.trim().to_string()))
        .ok_or_else(|| anyhow!("{}: {name} has no Version", a.wheel.file_name()))
}

/// The SHA256SUMS text (`sha256sum -c` format) for the files of `dir`, sorted by name.
pub fn sums(dir: &Path) -> Result<String> {
    let mut names: BTreeSet<String> = BTreeSet::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".whl") {
            names.insert(name);
        }
    }
    let mut out = String::new();
    for n in names {
        let digest = Sha256::digest(std::fs::read(dir.join(&n))?);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        out.push_str(&format!("{hex}  {n}\n"));
    }
    Ok(out)
}

/// Builds the complete folder (what was there, plus the new wheels, plus SHA256SUMS) beside
/// `dest`, then swaps it in; on any error `dest` is as it was.
fn publish_folder(wheels: &[PathBuf], dest: &Path) -> Result<()> {
    let parent = dest.parent().ok_or_else(|| anyhow!("{} has no parent folder", dest.display()))?;
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = parent.join(format!(".{name}.new-{}", std::process::id()));
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = (|| -> Result<()> {
        std::fs::create_dir_all(&tmp)?;
        if dest.exists() {
            for e in std::fs::read_dir(dest)? {
                let e = e?;
                if e.file_name() != SUMS_FILE {
                    std::fs::copy(e.path(), tmp.join(e.file_name()))?;
                }
            }
        }
        for w in wheels {
            let file = w.file_name().ok_or_else(|| anyhow!("{} has no file name", w.display()))?;
            std::fs::copy(w, tmp.join(file)).with_context(|| format!("cannot copy {}", w.display()))?;
        }
        std::fs::write(tmp.join(SUMS_FILE), sums(&tmp)?)?;
        for e in std::fs::read_dir(&tmp)? {
            std::fs::File::open(e?.path())?.sync_all()?;
        }
        if dest.exists() {
            std::fs::rename(dest, &old)?;
        }
        if let Err(e) = std::fs::rename(&tmp, dest) {
            let _ = std::fs::rename(&old, dest);
            return Err(e.into());
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = std::fs::remove_dir_all(&old);
    result.with_context(|| format!("cannot deploy into {}", dest.display()))
}

fn repository_name(opts: &flags::Deploy) -> String {
    opts.repository_url.clone().unwrap_or_else(|| "PyPI".to_string())
}

/// `twine upload --skip-existing` of the deployed wheels. twine reads the credentials from the
/// environment; its output is captured and the password masked before it is shown.
fn upload(sh: &Shell, opts: &flags::Deploy, dest: &Path, wheels: &[PathBuf]) -> Result<()> {
    let password = std::env::var("TWINE_PASSWORD").unwrap_or_default();
    if password.is_empty() || std::env::var("TWINE_USERNAME").map_or(true, |u| u.is_empty()) {
        bail!("--upload needs TWINE_USERNAME and TWINE_PASSWORD in the environment (for a token: TWINE_USERNAME=__token__)");
    }
    let tools = tools::ensure(sh, &target_dir())?;
    let twine = tools.venv.join("bin/twine");
    let files: Vec<PathBuf> = wheels.iter().filter_map(|w| w.file_name()).map(|n| dest.join(n)).collect();
    let repo: Vec<String> = match &opts.repository_url {
        Some(url) => vec!["--repository-url".into(), url.clone()],
        None => vec![],
    };
    eprintln!("deploy: uploading {} wheel(s) to {}", files.len(), repository_name(opts));
    let out = cmd!(sh, "{twine} upload --non-interactive --skip-existing --disable-progress-bar {repo...} {files...}")
        .quiet()
        .ignore_status()
        .output()
        .context("cannot run twine")?;
    let text =
        mask(&format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)), &password);
    eprintln!("{}", text.trim_end());
    if !out.status.success() {
        let why =
            if text.contains("403") || text.contains("401") || text.contains("nvalid or non-existent authentication") {
                "the repository refused the credentials (TWINE_USERNAME / TWINE_PASSWORD)".to_string()
            } else if text.contains("Connection") || text.contains("connection") || text.contains("Max retries") {
                format!("cannot reach {}", repository_name(opts))
            } else {
                "twine failed".to_string()
            };
        bail!("upload to {} failed: {why}; the deploy folder {} is complete", repository_name(opts), dest.display());
    }
    Ok(())
}

/// Replaces every occurrence of `secret` (also URL-encoded) in `text`.
pub fn mask(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_string();
    }
    let encoded: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    text.replace(secret, "****").replace(&encoded, "****")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_plain_and_url_encoded() {
        assert_eq!(mask("user:p@ss w0rd! and p%40ss%20w0rd%21", "p@ss w0rd!"), "user:**** and ****");
        assert_eq!(mask("nothing", ""), "nothing");
    }
}
