//! The native repair, carried out: the library's graft plan ([`crate::library::graft`]) over
//! the build system's files ([`super::sysfs`]), patchelf on copies in a scratch folder (one
//! call per file, all at once), the tag the result earns (check-wheel's verdict), and the
//! repaired wheel written atomically with every untouched entry copied raw. What `auditwheel
//! repair` does, in one process and without Python.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};

use crate::library::analysis::Analysis;
use crate::library::config::Config;
use crate::library::elf::{self, ElfInfo};
use crate::library::graft::sbom::{self, ProvidedBy};
use crate::library::graft::search::{LdPaths, SystemFs};
use crate::library::graft::{self, Plan, System, WheelFiles};
use crate::library::policy::{self, Libc, Policy};
use crate::library::report;
use crate::library::wheel::{write, Digest, Wheel, WheelName};

/// The most rounds of plan and verdict: a policy whose whitelist differs from the one planned
/// for means planning again for it (a round or two in practice).
const MAX_ROUNDS: usize = 3;
/// The longest one patchelf call may take (KLayout's largest library: well under a second).
const PATCHELF_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// What the caller asks for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A platform tag (`manylinux_2_28_x86_64`), or None / `auto` for the best the wheel
    /// earns.
    pub plat: Option<String>,
    /// Globs of SONAMEs or real paths to leave on the system (auditwheel's `--exclude`).
    pub exclude: Vec<String>,
    /// Only the requested tag, not also a better one the wheel earns.
    pub only_plat: bool,
}

/// The repaired wheel, and what went into it.
#[derive(Debug, Clone)]
pub struct Repaired {
    pub wheel: PathBuf,
    /// The grafted libraries' file names (`libbz2-1a2b3c4d.so.1.0.4`).
    pub grafted: Vec<String>,
    /// The platform tags written, sorted.
    pub platforms: Vec<String>,
    /// Where the time went: (phase, seconds), in order.
    pub phases: Vec<(&'static str, f64)>,
}

/// Seconds per phase, each from the previous mark (a phase marked twice adds up).
struct Phases(Vec<(&'static str, f64)>, Option<std::time::Instant>);

impl Phases {
    fn mark(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        let secs = self.1.map_or(0.0, |t| now.duration_since(t).as_secs_f64());
        match self.0.iter_mut().find(|(p, _)| *p == phase) {
            Some(entry) => entry.1 += secs,
            None => self.0.push((phase, secs)),
        }
        self.1 = Some(now);
    }
}

impl Repaired {
    /// `read 0.12, plan 0.03, ...`.
    pub fn phase_line(&self) -> String {
        self.phases.iter().map(|(p, s)| format!("{p} {s:.2}")).collect::<Vec<_>>().join(", ")
    }
}

/// The system package of each given path (empty where none is known).
pub type Packages<'a> = dyn Fn(&[String]) -> Vec<(String, ProvidedBy)> + 'a;

/// Where the repair runs its tools: patchelf (a host binary, run on host copies), and the
/// package query for the SBOM.
pub struct Tools<'a> {
    pub patchelf: &'a Path,
    /// The scratch folder's parent (a target's folder, or the output folder).
    pub scratch: &'a Path,
    /// The packages of the given system paths (empty where none is known).
    pub packages: &'a Packages<'a>,
}

/// Repairs `input` into `out_dir`. A wheel without ELF files is an error (nothing to repair:
/// the caller keeps it as it is).
pub fn repair(
    config: &Config,
    input: &Path,
    out_dir: &Path,
    opts: &Options,
    fs: &dyn SystemFs,
    tools: &Tools,
) -> Result<Repaired> {
    let shown = crate::library::text::path(input);
    for e in &opts.exclude {
        if let Err(why) = crate::library::config::glob(e) {
            bail!("the exclude pattern {e:?} is not a glob: {why}");
        }
    }
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create the wheel folder {}", crate::library::text::path(out_dir)))?;
    let mut clock = Phases(Vec::new(), Some(std::time::Instant::now()));
    let mut a = Analysis::of(input)?;
    clock.mark("read");
    if a.elf.is_empty() {
        bail!("{shown} has no ELF file: there is nothing to repair");
    }
    if let Some((entry, why)) = a.elf_errors.iter().next() {
        bail!("{shown}: {entry} cannot be read as ELF: {why}");
    }
    let arch = a
        .wheel
        .name
        .arch()
        .filter(|x| x != "any")
        .or_else(|| a.elf.values().map(|i| i.arch.clone()).find(|x| !x.is_empty()))
        .ok_or_else(|| anyhow!("{shown}: no ELF file names a machine a wheel tag knows"))?;
    // auditwheel's rule: the tags, else the first ELF file that tells, else glibc.
    let libc = report::wheel_libc(&a).unwrap_or(Libc::Glibc);
    let requested = match opts.plat.as_deref().filter(|p| *p != "auto") {
        None => None,
        Some(p) => {
            let policy = policy::by_tag(p)
                .ok_or_else(|| anyhow!("--plat {p}: no manylinux or musllinux policy of that name"))?;
            let (_, p_arch) = policy::split_platform_tag(p).unwrap_or(("", ""));
            if p_arch != arch {
                bail!("cannot repair {shown}, built for {arch}, to {p}");
            }
            if policy.libc != libc {
                bail!("cannot repair {shown}, built against {libc:?}'s C library, to {p}");
            }
            Some(policy)
        }
    };
    let candidates = policy::policies_for(libc, &arch);
    let newest = *candidates.last().ok_or_else(|| anyhow!("no {libc:?} policy exists for {arch}"))?;
    let ld = LdPaths::load(fs, libc);
    let mut system = System::new(fs, ld);
    let original_elf = a.elf.clone();
    let files: BTreeSet<String> = a.digests.keys().cloned().collect();

    let mut planned_for: &Policy = requested.unwrap_or(newest);
    let mut round = 0;
    let (plan, patched, top) = loop {
        round += 1;
        let wheel_files = WheelFiles { files: &files, elf: &original_elf, dist: &a.wheel.name.dist };
        let plan = graft::plan(&wheel_files, &mut system, planned_for, &opts.exclude)
            .with_context(|| format!("cannot repair {shown}"))?;
        clock.mark("plan");
        let patched = patch(&a.wheel, &plan, fs, tools)?;
        clock.mark("patchelf");
        // The verdict on the wheel as it will be: patched files, grafted libraries in it.
        a.elf = original_elf.clone();
        for (entry, (_, info)) in &patched.entries {
            a.elf.insert(entry.clone(), info.clone());
        }
        for (name, (_, info)) in &patched.grafts {
            let entry = format!("{}/{name}", plan.libs_dir);
            a.elf.insert(entry.clone(), info.clone());
            a.digests.insert(entry, Digest { hash: String::new(), size: 0 });
        }
        // Excluded libraries count as the system's, as auditwheel drops them from every tree.
        for info in a.elf.values_mut() {
            info.needed.retain(|n| !opts.exclude.iter().any(|e| crate::library::config::glob_match(e, n)));
        }
        let graph = a.graph(&config.runtime_folders);
        let verdict = report::report(config, &a, &graph);
        let earned = policy::by_tag(&verdict.overall_tag).filter(|p| p.libc == libc);
        let top = match (requested, earned) {
            (Some(r), Some(e)) if e.priority >= r.priority => {
                if opts.only_plat {
                    r
                } else {
                    e
                }
            }
            (Some(r), _) => bail!(
                "cannot repair {shown} to {}: the wheel earns {} ({})",
                r.tag(&arch),
                verdict.overall_tag,
                verdict.limited_by.first().cloned().unwrap_or_else(|| "see check-wheel".into())
            ),
            (None, Some(e)) => e,
            (None, None) => bail!(
                "cannot repair {shown}: it earns no manylinux or musllinux tag ({})",
                verdict.limited_by.first().cloned().unwrap_or_else(|| "see check-wheel".into())
            ),
        };
        if top.lib_whitelist == planned_for.lib_whitelist || round >= MAX_ROUNDS {
            break (plan, patched, top);
        }
        planned_for = top;
    };

    // The tags: the best earned (with its aliases), then the requested one if lower.
    let with_aliases = |p: &Policy| -> Vec<String> {
        let mut v = vec![p.tag(&arch)];
        v.extend(p.aliases.iter().map(|al| format!("{al}_{}", policy::baseline_arch(&arch))));
        v
    };
    let mut abis = with_aliases(top);
    if let Some(r) = requested.filter(|r| r.name != top.name) {
        abis.extend(with_aliases(r));
    }
    let (name, wheel_text) = retag(&a.wheel, &abis, &arch);

    let mut edits = write::Edits::default();
    for (entry, (bytes, _)) in patched.entries {
        edits.replaced.insert(entry, bytes);
    }
    let mut grafted = Vec::new();
    for (new_name, (bytes, _)) in patched.grafts {
        edits.added.push((format!("{}/{new_name}", plan.libs_dir), bytes, 0o755));
        grafted.push(new_name);
    }
    let realpaths: Vec<String> = plan.grafts.values().map(|g| g.found.realpath.clone()).collect();
    let provided = (tools.packages)(&realpaths);
    let file_name = name.file_name();
    if let Some(doc) = sbom::sbom(&name.dist, &name.version, &file_name, &provided, env!("CARGO_PKG_VERSION")) {
        let path = format!("{}/sboms/{}", a.wheel.dist_info, sbom::FILE_NAME);
        edits.added.push((path, serde_json::to_vec(&doc)?, 0o644));
    }
    edits.wheel_text = Some(wheel_text);

    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let dest = out_dir.join(&file_name);
    clock.mark("verdict");
    write::atomic_write(&dest, |w| write::write_edited(&a.wheel, &edits, w))
        .with_context(|| format!("cannot write {}", dest.display()))?;
    let mut platforms = name.platform.clone();
    platforms.sort();
    clock.mark("write");
    Ok(Repaired { wheel: dest, grafted, platforms, phases: clock.0 })
}

/// The new file name and WHEEL text with `abis` added (auditwheel's `add_platforms`): the
/// name's platforms minus `linux_<arch>` (and `any`), plus `abis`, sorted; WHEEL's `Tag`
/// lines of each python-abi pair likewise, written after the other lines.
pub fn retag(wheel: &Wheel, abis: &[String], arch: &str) -> (WheelName, String) {
    let remove = policy::linux_tag(arch);
    let mut platforms: Vec<String> = wheel.name.platform.iter().filter(|t| **t != remove).cloned().collect();
    for a in abis {
        if !platforms.contains(a) {
            platforms.push(a.clone());
        }
    }
    let not_pure = platforms.len() > 1 && platforms.iter().any(|t| t == "any");
    platforms.retain(|t| !(not_pure && t == "any"));
    platforms.sort();
    let mut name = wheel.name.clone();
    name.platform = platforms;

    let tags = wheel.declared_tags();
    let mut pairs: Vec<String> = Vec::new();
    for t in &tags {
        let pair = t.rsplit_once('-').map_or(t.as_str(), |(p, _)| p).to_string();
        if !pairs.contains(&pair) {
            pairs.push(pair);
        }
    }
    let wanted: Vec<String> = pairs.iter().flat_map(|p| abis.iter().map(move |a| format!("{p}-{a}"))).collect();
    let mut removed: Vec<String> = pairs.iter().map(|p| format!("{p}-{remove}")).collect();
    if not_pure {
        removed.extend(pairs.iter().map(|p| format!("{p}-any")));
    }
    let mut updated: Vec<String> = tags.iter().filter(|t| !removed.contains(t)).cloned().collect();
    updated.extend(wanted.into_iter().filter(|t| !tags.contains(t)));
    let mut text = String::new();
    for (k, v) in &wheel.wheel_meta {
        if k == "Tag" {
            continue;
        }
        let v = if not_pure && k == "Root-Is-Purelib" { "false" } else { v.as_str() };
        text.push_str(&format!("{k}: {v}\n"));
    }
    for t in updated {
        text.push_str(&format!("Tag: {t}\n"));
    }
    text.push('\n');
    (name, text)
}

/// The patched files: wheel entry -> (bytes, facts), grafted name -> (bytes, facts).
struct Patched {
    entries: BTreeMap<String, (Vec<u8>, ElfInfo)>,
    grafts: BTreeMap<String, (Vec<u8>, ElfInfo)>,
}

/// Copies every file the plan edits into a scratch folder, runs patchelf on each (all at
/// once, one call per file), reads them back and removes the folder.
fn patch(wheel: &Wheel, plan: &Plan, fs: &dyn SystemFs, tools: &Tools) -> Result<Patched> {
    std::fs::create_dir_all(tools.scratch)
        .with_context(|| format!("cannot create {}", crate::library::text::path(tools.scratch)))?;
    let dir = write::create_temp_dir(tools.scratch, "repair")?;
    let result = (|| -> Result<Patched> {
        // (file in the scratch folder, patchelf arguments, which output slot).
        let mut jobs: Vec<(PathBuf, Vec<String>, bool, String)> = Vec::new();
        for (i, (entry, edit)) in plan.entry_edits.iter().enumerate() {
            let args = edit.patchelf_args();
            if args.is_empty() {
                continue;
            }
            let file = dir.join(format!("e{i}"));
            std::fs::write(&file, wheel.read_entry(entry)?)?;
            jobs.push((file, args, false, entry.clone()));
        }
        for (i, (name, g)) in plan.grafts.iter().enumerate() {
            let file = dir.join(format!("g{i}"));
            std::fs::write(&file, fs.read(&g.found.realpath)?)?;
            let args = plan.graft_edits.get(name).map(|e| e.patchelf_args()).unwrap_or_default();
            jobs.push((file, args, true, name.clone()));
        }
        run_all(tools.patchelf, &jobs)?;
        let mut out = Patched { entries: BTreeMap::new(), grafts: BTreeMap::new() };
        for (file, _, is_graft, name) in jobs {
            let bytes = std::fs::read(&file)?;
            let info = elf::parse(&bytes, &name).with_context(|| format!("patchelf left {name} unreadable"))?;
            if is_graft {
                out.grafts.insert(name, (bytes, info));
            } else {
                out.entries.insert(name, (bytes, info));
            }
        }
        Ok(out)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// One patchelf call, bounded in time (a crafted ELF file must not hang the run) and stopped
/// on Ctrl-C. None when it succeeded, else why not.
fn patch_one(patchelf: &Path, args: &[String], file: &Path) -> std::io::Result<Option<String>> {
    let mut child = Command::new(patchelf)
        .args(args)
        .arg(file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            return Ok((!status.success()).then(|| format!("{status}: {}", err.trim())));
        }
        if start.elapsed() > PATCHELF_TIMEOUT || super::interrupt::interrupted() {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Some(if super::interrupt::interrupted() {
                "interrupted".to_string()
            } else {
                format!("no answer in {} s: stopped", PATCHELF_TIMEOUT.as_secs())
            }));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// patchelf on every job, as many at once as there are cores.
fn run_all(patchelf: &Path, jobs: &[(PathBuf, Vec<String>, bool, String)]) -> Result<()> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let errors = std::sync::Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(jobs.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((file, args, _, name)) = jobs.get(k) else { break };
                if args.is_empty() {
                    continue;
                }
                let failed = match patch_one(patchelf, args, file) {
                    Ok(None) => None,
                    Ok(Some(why)) => Some(format!("patchelf {} {name}: {why}", args.join(" "))),
                    Err(e) => Some(format!("cannot run {}: {e}", patchelf.display())),
                };
                if let Some(f) = failed {
                    errors.lock().unwrap_or_else(|e| e.into_inner()).push(f);
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap_or_default();
    if let Some(first) = errors.first() {
        bail!("{first}");
    }
    Ok(())
}
