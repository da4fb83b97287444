//! The real KLayout through the xtask (the real-KLayout issue's benchmark; it takes about
//! 40 minutes on 2 cores, so it is run by hand, after `bash ci-scripts/setup-host.sh --klayout`):
//!
//!     cargo test -p xtask --release --bench klayout -- --nocapture bench_klayout
//!
//! KLayout's sdist from PyPI, unpacked under target/ (never committed), built with the
//! documented alternative config xtask/klayout.toml: cp311 from a cold compile cache, then
//! cp312 (another flag group), then cp311 again (its target folder kept, so nothing to
//! compile where nothing changed). The figures are read off
//! the summaries' step times and ccache's counters.
//!
//! The same in the stand-in container, for one interpreter (as long again, cold):
//!
//!     cargo test -p xtask --release --bench klayout -- --nocapture in_the_container
//!
//! Today's interpreters in the current stand-in (Debian's CPython 3.13-3.15 and a
//! free-threaded 3.14), one cold cache, each target's build time, cache hits and what the
//! free-threaded interpreter does with KLayout's modules (about 45 minutes):
//!
//!     cargo test -p xtask --release --bench klayout -- --nocapture in_the_current_standin

#[path = "../tests/it/support.rs"]
#[allow(dead_code)]
mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{repo_root, target, target_dir, text, Wheels};

const VERSION: &str = "0.30.12";

fn wheels(work: &Path, project: &Path, pythons: &[&str], json: &Path) -> Vec<Value> {
    wheels_on(&["--host"], work, project, pythons, json)
}

/// `cargo xtask --config xtask/klayout.toml wheels <runner> --project ...`, which must pass.
fn wheels_on(runner: &[&str], work: &Path, project: &Path, pythons: &[&str], json: &Path) -> Vec<Value> {
    wheels_with(Path::new("xtask/klayout.toml"), runner, work, project, pythons, json)
}

/// The same with another config file.
fn wheels_with(
    config: &Path,
    runner: &[&str],
    work: &Path,
    project: &Path,
    pythons: &[&str],
    json: &Path,
) -> Vec<Value> {
    let out = work.join("wheelhouse");
    let mut args: Vec<&str> = runner.to_vec();
    args.extend(["--project", project.to_str().unwrap()]);
    for p in pythons {
        args.extend(["--python", p]);
    }
    args.extend(["-o", out.to_str().unwrap(), "--json", json.to_str().unwrap()]);
    let status = Wheels::docker(&work.join("xtask")).config(config).args(&args).status();
    assert!(status.success(), "the KLayout build failed: see the logs under {}", work.join("xtask/logs").display());
    support::report(json)
}

fn build(t: &Value) -> f64 {
    t["steps"].as_array().unwrap().iter().find(|s| s[0] == "build").map(|s| s[1].as_f64().unwrap()).unwrap()
}

fn cache(t: &Value) -> String {
    let c = &t["cache"];
    let hits = c["direct_hits"].as_u64().unwrap() + c["preprocessed_hits"].as_u64().unwrap();
    format!("{hits}/{}", hits + c["misses"].as_u64().unwrap())
}

/// KLayout's sdist from PyPI, unpacked under `work` (once).
fn sdist(work: &Path) -> std::path::PathBuf {
    let project = work.join(format!("klayout-{VERSION}"));
    if !project.join("setup.py").exists() {
        std::fs::create_dir_all(work).unwrap();
        let python = &support::tools().python;
        let spec = format!("klayout=={VERSION}");
        let o = Command::new(python)
            .args(["-m", "pip", "download", "--no-deps", "--no-binary", ":all:", &spec, "-d"])
            .arg(work)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        let tarball = work.join(format!("klayout-{VERSION}.tar.gz"));
        assert!(Command::new("tar").arg("-C").arg(work).arg("-xzf").arg(&tarball).status().unwrap().success());
    }
    project
}

#[test]
fn bench_klayout_cold_other_interpreter_warm() {
    let work = target_dir().join("bench-klayout");
    let project = sdist(&work);
    let _ = std::fs::remove_dir_all(work.join("xtask"));
    let cold = wheels(&work, &project, &["cp311", "cp312"], &work.join("cold.json"));
    let warm = wheels(&work, &project, &["cp311"], &work.join("warm.json"));
    let (a, b, c) = (target(&cold, "cp311-cp311"), target(&cold, "cp312-cp312"), target(&warm, "cp311-cp311"));
    println!(
        "\nKLayout {VERSION}, xtask/klayout.toml, {}",
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!("cp311 cold:            build {:8.1} s  cache {}", build(a), cache(a));
    println!(
        "cp312 after cp311:     build {:8.1} s  cache {}  {:.3}x (goal 0.1x)",
        build(b),
        cache(b),
        build(b) / build(a)
    );
    println!(
        "cp311 again, kept:     build {:8.1} s  cache {}  {:.3}x (goal 0.05x)",
        build(c),
        cache(c),
        build(c) / build(a)
    );
}

/// The docker path holds for a project of this size: KLayout for cp312 in the stand-in image
/// (Debian's packages installed into the container by the config's `[docker.packages]`), a
/// cold compile cache of its own, repaired, checked and smoke-tested inside the container.
#[test]
fn in_the_container() {
    let work = target_dir().join("bench-klayout");
    let project = sdist(&work);
    let sh = xshell::Shell::new().unwrap();
    let image = xtask_dev::standin::ensure_image(&sh, &target_dir(), &xtask_dev::standin::Options::default()).unwrap();
    let dir = work.join("docker");
    let _ = std::fs::remove_dir_all(dir.join("xtask"));
    let json = dir.join("report.json");
    let targets = wheels_on(&["--image", &image, "--pull", "never"], &dir, &project, &["cp312"], &json);
    let t = &targets[0];
    assert_eq!(t["result"], "ok", "{t}");
    let landed = support::list_wheels(&dir.join("wheelhouse"));
    assert_eq!(landed.len(), 1, "{landed:?}");
    let config = repo_root().join("xtask/klayout.toml");
    let c = support::xtask(&["--config", config.to_str().unwrap(), "check-wheel", landed[0].to_str().unwrap()]);
    assert!(c.status.success(), "{}", text(&c));
    let log = std::fs::read_to_string(t["log"].as_str().unwrap()).unwrap();
    assert!(
        log.contains("smoke.py") && log.contains("Ran 4 tests") && log.contains("\nOK"),
        "the smoke test ran:\n{log}"
    );
    println!(
        "\nKLayout {VERSION} in {image}, cp312 cold: build {:.1} s, cache {}, total {:.1} s, {}",
        build(t),
        cache(t),
        t["seconds"].as_f64().unwrap_or_default(),
        t["tag"].as_str().unwrap_or_default()
    );
}

/// KLayout for cp313, cp314, cp314t and cp315 in the current stand-in from one cold cache.
/// A target may fail (the free-threaded one is the first KLayout has met): the others still
/// report, and the failure is printed with its step.
#[test]
fn in_the_current_standin() {
    use xtask_dev::standin::{Kind, Options};
    let work = target_dir().join("bench-klayout");
    let project = sdist(&work);
    let sh = xshell::Shell::new().unwrap();
    let image = xtask_dev::standin::ensure_image(&sh, &target_dir(), &Options::of(Kind::Current)).unwrap();
    let dir = work.join("current");
    let _ = std::fs::remove_dir_all(dir.join("xtask"));
    let json = dir.join("report.json");
    let out = dir.join("wheelhouse");
    let _ = std::fs::remove_dir_all(&out);
    let mut args = vec!["--image", image.as_str(), "--pull", "never", "--project", project.to_str().unwrap()];
    for p in ["cp313", "cp314", "cp314t", "cp315"] {
        args.extend(["--python", p]);
    }
    args.extend(["-o", out.to_str().unwrap(), "--json", json.to_str().unwrap()]);
    let status = Wheels::docker(&dir.join("xtask")).config(Path::new("xtask/klayout.toml")).args(&args).status();
    let targets = support::report(&json);
    println!(
        "\nKLayout {VERSION} in {image} (current stand-in), exit {status}, {}",
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    let first = targets.first().map(build).unwrap_or(1.0);
    for t in &targets {
        let log = std::fs::read_to_string(t["log"].as_str().unwrap_or_default()).unwrap_or_default();
        let gil = log.lines().find(|l| l.contains("KLAYOUT-GIL")).unwrap_or("").trim().to_string();
        let warning =
            log.lines().find(|l| l.contains("has been enabled to load module")).unwrap_or("").trim().to_string();
        let b = t["steps"].as_array().unwrap().iter().find(|s| s[0] == "build").map(|s| s[1].as_f64().unwrap());
        println!(
            "{:14} {:6} build {:8.1} s ({:.3}x)  cache {:9}  total {:7.1} s  {}  {}",
            t["interpreter"].as_str().unwrap_or_default(),
            t["result"].as_str().unwrap_or_default(),
            b.unwrap_or(0.0),
            b.unwrap_or(0.0) / first,
            cache(t),
            t["seconds"].as_f64().unwrap_or_default(),
            gil,
            warning
        );
        if t["result"] != "ok" {
            println!("  failed: {}", t["error"].as_str().unwrap_or("see the log"));
        }
    }
    for whl in support::list_wheels(&out) {
        let c = support::xtask(&["--config", "xtask/klayout.toml", "check-wheel", whl.to_str().unwrap()]);
        println!("check-wheel {}: exit {:?}", whl.file_name().unwrap().to_string_lossy(), c.status.code());
    }
}

/// The native repair against `auditwheel repair` on KLayout's unrepaired wheel (the one
/// `bench_klayout` leaves in its cp311 target folder): each three times, alternating, the same
/// output facts (grafts with their hashes, NEEDED/SONAME/RPATH, tags, `auditwheel show`,
/// size). Takes a few minutes once that wheel exists (`XTASK_BENCH_WHEEL` names another copy):
///
///     cargo test -p xtask --release --bench klayout -- --nocapture native_repair_vs_auditwheel
#[test]
fn native_repair_vs_auditwheel() {
    // The wheel bench_klayout's cp311 target built, or XTASK_BENCH_WHEEL (a later run of the
    // target empties its folder: keep a copy).
    let dist = match std::env::var_os("XTASK_BENCH_WHEEL") {
        Some(w) => std::path::PathBuf::from(w).parent().unwrap().to_path_buf(),
        None => target_dir().join("bench-klayout/xtask/runs/host-cp311-cp311/dist"),
    };
    let built: Vec<_> =
        support::list_wheels(&dist).into_iter().filter(|w| w.to_string_lossy().contains("linux_x86_64")).collect();
    assert_eq!(built.len(), 1, "run bench_klayout first: no unrepaired wheel in {}", dist.display());
    let input = &built[0];
    let dir = support::TempDir::new("bench-repair");
    let (mut native, mut oracle) = (Vec::new(), Vec::new());
    let (mut n_out, mut o_out) = (None, None);
    for round in 0..3 {
        let out = dir.path().join(format!("a{round}"));
        let start = std::time::Instant::now();
        o_out = Some(support::auditwheel_repair(input, &out, &[]));
        oracle.push(start.elapsed().as_secs_f64());
        let out = dir.path().join(format!("n{round}"));
        let start = std::time::Instant::now();
        let o = support::xtask(&["repair", input.to_str().unwrap(), "-w", out.to_str().unwrap()]);
        native.push(start.elapsed().as_secs_f64());
        assert!(o.status.success(), "{}", text(&o));
        n_out = support::list_wheels(&out).into_iter().next();
    }
    let (n, o) = (n_out.unwrap(), o_out.unwrap());
    support::assert_same_repair(&n, &o);
    let (nf, _) = support::repair_facts(&n);
    let grafts = nf.files.iter().filter(|f| f.starts_with("klayout.libs/")).count();
    let best = |v: &[f64]| v.iter().cloned().fold(f64::MAX, f64::min);
    println!(
        "\nKLayout {VERSION} cp311, unrepaired wheel {} bytes, {grafts} libraries grafted",
        std::fs::metadata(input).unwrap().len()
    );
    println!("auditwheel repair: {:?} s (best {:.2})", oracle, best(&oracle));
    println!("cargo xtask repair: {:?} s (best {:.2})", native, best(&native));
    println!("native / auditwheel: {:.3}x (goal <= 0.1x)", best(&native) / best(&oracle));
    println!(
        "sizes: native {} bytes, auditwheel {} bytes",
        std::fs::metadata(&n).unwrap().len(),
        std::fs::metadata(&o).unwrap().len()
    );
}

/// A warm KLayout target: cp312 again in a fresh target folder (its build folder and copy
/// gone), with the compile cache `bench_klayout` left warm, and the native repair: every
/// step's seconds (goal: the whole target within 30 s). Then the same with the target folder
/// kept (the incremental prepare: nothing to compile), and a fresh folder again with the
/// compiler's default linker instead of the config's mold (`setup-host.sh --klayout` installs
/// mold; without it, both fresh runs link with GNU ld).
///
///     cargo test -p xtask --release --bench klayout -- --nocapture warm_target
#[test]
fn warm_target() {
    let work = target_dir().join("bench-klayout");
    let project = sdist(&work);
    let runs = work.join("xtask/runs/host-cp312-cp312");
    assert!(work.join("xtask/cache").exists(), "run bench_klayout first: no warm compile cache");
    let _ = std::fs::remove_dir_all(&runs);
    let fresh = wheels(&work, &project, &["cp312"], &work.join("warm-fresh.json"));
    let kept = wheels(&work, &project, &["cp312"], &work.join("warm-kept.json"));
    let mut rows = vec![("fresh target folder", fresh[0].clone()), ("target folder kept", kept[0].clone())];
    // The same fresh folder with the compiler's default linker (GNU ld): the config without
    // its `linker` line.
    let _ = std::fs::remove_dir_all(&runs);
    let config = work.join("klayout-gnu-ld.toml");
    let text = std::fs::read_to_string(repo_root().join("xtask/klayout.toml")).unwrap();
    assert!(
        text.contains("linker = \"mold\""),
        "xtask/klayout.toml no longer names mold: the comparison would be mold against mold"
    );
    std::fs::write(&config, text.replace("linker = \"mold\"", "")).unwrap();
    let gnu = wheels_with(&config, &["--host"], &work, &project, &["cp312"], &work.join("warm-gnu-ld.json"));
    rows.push(("fresh target folder, GNU ld (no linker in the config)", gnu[0].clone()));
    println!(
        "\nKLayout {VERSION}, xtask/klayout.toml, {}",
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    for (label, t) in &rows {
        let steps: Vec<String> = t["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| format!("{} {:.1}", s[0].as_str().unwrap(), s[1].as_f64().unwrap()))
            .collect();
        println!(
            "cp312 warm, {label}: {:.1} s (goal <= 30 s), cache {}; {}",
            t["seconds"].as_f64().unwrap(),
            cache(t),
            steps.join(", ")
        );
    }
}
