//! `cargo xtask deploy`: the wheels that passed go to `deploy/dist-pymod/<version>/` (the 2018
//! layout) with a SHA256SUMS file, and with `--upload` to a package index through twine: only
//! the wheels the index does not have yet (asked through its simple API, compared by sha256).
//!
//! Every wheel is checked again first; every name taken from it is validated before it becomes
//! a path (the distribution by PEP 508, the version by PEP 440, both matching the file name);
//! the version must be one. The deploy folder is built beside its final name and swapped in
//! under a journal, so a kill at any moment leaves the old folder or the new one, and the next
//! run finishes or undoes the swap. Credentials are read by twine itself from TWINE_USERNAME and
//! TWINE_PASSWORD: they never appear on a command line (a URL carrying them is refused), and the
//! password is masked in anything printed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use xshell::{cmd, Shell};

use crate::flags;
use crate::library::analysis::Analysis;
use crate::library::config::{target_dir, Config};
use crate::library::metadata;
use crate::library::names;
use crate::library::report;
use crate::library::simple_index::{self, Decision};
use crate::library::text;
use crate::library::wheel::name::WheelName;
use crate::library::wheel::write;
use crate::processes::{index, tools};

/// The 2018 deploy layout under the deploy folder.
pub const DIST_DIR: &str = "dist-pymod";
/// The checksum file of a deploy folder, in `sha256sum -c` format.
pub const SUMS_FILE: &str = "SHA256SUMS";
/// The journal of a folder swap, beside the version folders: while it exists, a swap may be
/// half done, and the next deploy finishes or undoes it.
pub const JOURNAL: &str = ".xtask-deploy-journal";
/// A password shorter than this could stand anywhere in twine's output by chance: with one,
/// twine's output is not shown at all (masking would hide unrelated text and reveal the
/// secret's length and places).
const MIN_MASKED_SECRET: usize = 8;
/// Set to `deploy-between-renames` by a test, the process aborts between the two renames of
/// the swap, as a kill would: the test then checks that the next run recovers.
const FAULT_VAR: &str = "XTASK_FAULT";

/// Deploys: every wheel checked, one version, the folder swapped in, then the upload.
pub fn run(sh: &Shell, config: &Config, opts: &flags::Deploy) -> Result<ExitCode> {
    for url in opts.repository_url.iter().chain(&opts.check_url) {
        check_url(url)?;
    }
    if opts.upload && !opts.dry_run {
        credentials()?;
    }
    let wheels = collect(&opts.from)?;
    let limits = opts.read.limits();
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut refused = Vec::new();
    for w in &wheels {
        let analysis = Analysis::read(w, &limits)?;
        let report = report::report(config, &analysis, &analysis.graph(&config.runtime_folders));
        if !report.is_healthy() {
            refused.push(format!("{}: {}", report.wheel, report.messages().join("; ")));
        }
        versions.entry(checked_version(&analysis)?).or_default().push(report.wheel);
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
            println!("copy {} -> {}", text::path(w), text::path(&dest));
        }
        println!("write {}", text::path(&dest.join(SUMS_FILE)));
        if opts.upload {
            println!(
                "upload {} wheel(s) to {} with twine upload, skipping those {} lists with the same sha256",
                wheels.len(),
                repository_name(opts),
                check_url_of(opts)
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    publish_folder(&wheels, &opts.to.join(DIST_DIR), &version)?;
    eprintln!("deploy: {} wheel(s) of version {version} in {}", wheels.len(), text::path(&dest));
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

/// A URL that carries credentials (`https://user:pass@host/`) would print them and put them
/// on a command line: refused, pointing to the variables twine reads.
fn check_url(url: &str) -> Result<()> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        bail!(
            "--repository-url carries credentials (user@ or user:password@): give the URL without them, \
             and the credentials in TWINE_USERNAME and TWINE_PASSWORD"
        );
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        bail!("--repository-url {} is not a URL", text::quoted(url));
    }
    Ok(())
}

/// The credentials twine will read: both must be set before anything is written.
fn credentials() -> Result<String> {
    let password = std::env::var("TWINE_PASSWORD").unwrap_or_default();
    if password.is_empty() || std::env::var("TWINE_USERNAME").map_or(true, |u| u.is_empty()) {
        bail!("--upload needs TWINE_USERNAME and TWINE_PASSWORD in the environment (for a token: TWINE_USERNAME=__token__); nothing was written");
    }
    Ok(password)
}

/// The wheel's version, from METADATA, validated (see [`metadata::checked_version`]).
fn checked_version(a: &Analysis) -> Result<String> {
    let name = format!("{}/METADATA", a.wheel.dist_info);
    let text = a.wheel.read_entry(&name)?;
    metadata::checked_version(&a.wheel.name, &text)
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

/// Builds the complete folder `<dist>/<version>` (what was there, plus the new wheels, plus
/// SHA256SUMS) beside it, then swaps it in under a journal; on any error the folder is as it
/// was. Nothing is written outside `dist` (`version` is a normalized PEP 440 version, one
/// path component).
fn publish_folder(wheels: &[PathBuf], dist: &Path, version: &str) -> Result<()> {
    std::fs::create_dir_all(dist).with_context(|| format!("cannot create {}", text::path(dist)))?;
    recover(dist)?;
    write::remove_stale_temps(dist);
    let dest = dist.join(version);
    let tmp = write::create_temp_dir(dist, version)?;
    let filled = (|| -> Result<()> {
        if dest.is_dir() {
            for e in std::fs::read_dir(&dest)? {
                let e = e?;
                if e.file_name() != SUMS_FILE && e.file_type()?.is_file() {
                    std::fs::copy(e.path(), tmp.join(e.file_name()))?;
                }
            }
        }
        for w in wheels {
            let file = w.file_name().ok_or_else(|| anyhow!("{} has no file name", text::path(w)))?;
            std::fs::copy(w, tmp.join(file)).with_context(|| format!("cannot copy {}", text::path(w)))?;
        }
        std::fs::write(tmp.join(SUMS_FILE), sums(&tmp)?)?;
        for e in std::fs::read_dir(&tmp)? {
            std::fs::File::open(e?.path())?.sync_all()?;
        }
        std::fs::File::open(&tmp)?.sync_all()?;
        Ok(())
    })();
    if let Err(e) = filled {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e.context(format!("cannot deploy into {}", text::path(&dest))));
    }
    swap(dist, version, &tmp).with_context(|| format!("cannot deploy into {}", text::path(&dest)))
}

/// What a swap is doing, written before its first rename: the version folder, the complete new
/// folder, and where the old one goes. All three are plain names inside `dist`.
struct Journal {
    dest: String,
    new: String,
    old: String,
}

impl Journal {
    fn text(&self) -> String {
        format!("dest={}\nnew={}\nold={}\n", self.dest, self.new, self.old)
    }

    fn parse(text: &str) -> Option<Journal> {
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .filter(|v| !v.is_empty() && !v.contains('/') && *v != "." && *v != "..")
                .map(str::to_string)
        };
        Some(Journal { dest: get("dest")?, new: get("new")?, old: get("old")? })
    }
}

/// Swaps the complete folder `new` in as `dist/version`: journal, old folder aside, new in
/// place, journal and old folder gone. A kill between any two of these is repaired by
/// [`recover`].
fn swap(dist: &Path, version: &str, new: &Path) -> Result<()> {
    let name = |p: &Path| p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    let old = write::create_temp_dir(dist, &format!("old-{version}"))?;
    std::fs::remove_dir(&old)?;
    let journal = Journal { dest: version.to_string(), new: name(new), old: name(&old) };
    write::atomic_write(&dist.join(JOURNAL), |w| Ok(std::io::Write::write_all(w, journal.text().as_bytes())?))?;
    let dest = dist.join(version);
    if dest.exists() {
        std::fs::rename(&dest, &old)?;
    }
    if std::env::var(FAULT_VAR).as_deref() == Ok("deploy-between-renames") {
        std::process::abort();
    }
    std::fs::rename(new, &dest)?;
    sync_dir(dist);
    std::fs::remove_file(dist.join(JOURNAL))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// Finishes or undoes a swap a killed run left half done: when the version folder is missing,
/// the complete new folder goes in (it was complete before the journal was written), else the
/// old one comes back; then the leftovers and the journal go.
fn recover(dist: &Path) -> Result<()> {
    let path = dist.join(JOURNAL);
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(()) };
    let Some(j) = Journal::parse(&text) else {
        bail!("{} is not a deploy journal: remove it by hand after checking {}", text::path(&path), text::path(dist));
    };
    let (dest, new, old) = (dist.join(&j.dest), dist.join(&j.new), dist.join(&j.old));
    if !dest.exists() {
        if new.is_dir() {
            std::fs::rename(&new, &dest)?;
            eprintln!("deploy: an interrupted deploy of {} was finished", j.dest);
        } else if old.is_dir() {
            std::fs::rename(&old, &dest)?;
            eprintln!("deploy: an interrupted deploy of {} was undone", j.dest);
        }
    }
    sync_dir(dist);
    let _ = std::fs::remove_dir_all(&new);
    let _ = std::fs::remove_dir_all(&old);
    std::fs::remove_file(&path)?;
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn repository_name(opts: &flags::Deploy) -> String {
    opts.repository_url.clone().unwrap_or_else(|| "PyPI".to_string())
}

/// The simple index asked what the index has: `--check-url`, else PyPI's for PyPI (and
/// TestPyPI's for TestPyPI), else the repository URL + `simple/` (pypiserver, devpi, ...).
fn check_url_of(opts: &flags::Deploy) -> String {
    if let Some(u) = &opts.check_url {
        return u.clone();
    }
    match opts.repository_url.as_deref().map(|u| u.trim_end_matches('/')) {
        None | Some("https://upload.pypi.org/legacy") => "https://pypi.org/simple/".to_string(),
        Some("https://test.pypi.org/legacy") => "https://test.pypi.org/simple/".to_string(),
        Some(u) => format!("{u}/simple/"),
    }
}

/// The deployed wheels the index does not have yet: one it has with the same sha256 is
/// skipped, one it has with other bytes is an error naming both hashes (as `uv publish
/// --check-url` does), so a re-run of a release never depends on what the uploader does with
/// existing files.
fn to_upload(sh: &Shell, opts: &flags::Deploy, python: &Path, dest: &Path, wheels: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let simple = check_url_of(opts);
    // The index's own credentials, for indexes that want them for reading too; never PyPI's.
    let (user, password) = (std::env::var("TWINE_USERNAME").unwrap_or_default(), credentials()?);
    let public = simple.starts_with("https://pypi.org/") || simple.starts_with("https://test.pypi.org/");
    let creds = (!public).then_some((user.as_str(), password.as_str()));
    let mut pages: BTreeMap<String, Vec<simple_index::Listed>> = BTreeMap::new();
    let mut out = Vec::new();
    for w in wheels {
        let Some(file) = w.file_name().and_then(|n| n.to_str()) else { continue };
        let project = names::normalize(&WheelName::parse(file)?.dist);
        if !pages.contains_key(&project) {
            let listed = match index::project_page(sh, python, &simple, &project, creds)? {
                Some((ctype, body)) => simple_index::parse(&ctype, &body)?,
                None => Vec::new(),
            };
            pages.insert(project.clone(), listed);
        }
        let path = dest.join(file);
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let sha: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        match simple_index::decide(&pages[&project], file, &sha)? {
            Decision::Skip => eprintln!("deploy: skipping {file}: {simple} has it with the same sha256"),
            Decision::Upload => out.push(path),
        }
    }
    Ok(out)
}

/// `twine upload` of the deployed wheels the index does not have yet. twine reads the
/// credentials from the environment; its output is captured and the password masked before it
/// is shown.
fn upload(sh: &Shell, opts: &flags::Deploy, dest: &Path, wheels: &[PathBuf]) -> Result<()> {
    let password = credentials()?;
    let tools = tools::ensure(sh, &target_dir())?;
    let twine = tools.venv.join("bin/twine");
    let files = to_upload(sh, opts, &tools.python, dest, wheels)?;
    if files.is_empty() {
        eprintln!(
            "deploy: nothing to upload: {} has all {} wheel(s) with the same sha256",
            check_url_of(opts),
            wheels.len()
        );
        return Ok(());
    }
    let repo: Vec<String> = match &opts.repository_url {
        Some(url) => vec!["--repository-url".into(), url.clone()],
        None => vec![],
    };
    eprintln!("deploy: uploading {} wheel(s) to {}", files.len(), repository_name(opts));
    let out = cmd!(sh, "{twine} upload --non-interactive --disable-progress-bar {repo...} {files...}")
        .quiet()
        .ignore_status()
        .output()
        .context("cannot run twine")?;
    let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let text = mask(&output, &password);
    match &text {
        Some(t) => eprintln!("{}", text::printable(t.trim_end())),
        None => eprintln!(
            "deploy: twine's output is not shown: the password is shorter than {MIN_MASKED_SECRET} characters"
        ),
    }
    let text = text.unwrap_or_default();
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

/// `text` with every whole occurrence of `secret` (also URL-encoded) replaced; None when the
/// secret is too short to mask safely (then nothing of the text may be shown).
pub fn mask(text: &str, secret: &str) -> Option<String> {
    if secret.is_empty() {
        return Some(text.to_string());
    }
    if secret.chars().count() < MIN_MASKED_SECRET {
        return None;
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
    Some(text.replace(secret, "****").replace(&encoded, "****"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_plain_and_url_encoded() {
        assert_eq!(mask("user:p@ss w0rd! and p%40ss%20w0rd%21", "p@ss w0rd!").unwrap(), "user:**** and ****");
        assert_eq!(mask("nothing", "").unwrap(), "nothing");
        assert_eq!(mask("403 Forbidden", "abc"), None, "a short secret hides the whole output");
    }

    #[test]
    fn urls_with_credentials_are_refused() {
        assert!(check_url("https://user:pass@host/legacy/").is_err());
        assert!(check_url("https://token@host/").is_err());
        check_url("https://upload.pypi.org/legacy/").unwrap();
        check_url("http://127.0.0.1:8080/?a=b@c").unwrap();
    }

    #[test]
    fn journals_name_plain_folders_only() {
        let j = Journal::parse("dest=0.1.0\nnew=.xtask-tmp-1-ab-0.1.0\nold=.xtask-tmp-1-cd-old-0.1.0\n").unwrap();
        assert_eq!((j.dest.as_str(), j.old.as_str()), ("0.1.0", ".xtask-tmp-1-cd-old-0.1.0"));
        assert!(Journal::parse("dest=../x\nnew=a\nold=b\n").is_none());
        assert!(Journal::parse("dest=..\nnew=a\nold=b\n").is_none());
        assert!(Journal::parse("dest=a\nnew=/etc\nold=b\n").is_none());
    }
}
