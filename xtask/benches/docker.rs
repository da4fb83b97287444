//! A benchmark, not a timed test: `cargo xtask wheels` in the local stand-in image side by
//! side with cibuildwheel from PyPI, pointed at the same image, in one run. It prints a table
//! and fails only when a contender cannot run or produces the wrong wheels.
//!
//! ```text
//! cargo test -p xtask --release --bench docker -- --nocapture
//! ```
//!
//! Same miniature (testdata/minilayout), same three interpreters (cp311, cp312, cp313), same
//! tests (testdata/pymod/import_*.py run against the installed wheel), cold and then warm:
//!
//! - this tool: `xtask wheels --image <stand-in> --pull never --python cp311 --python cp312
//!   --python cp313 -o DIR`; cold = a fresh `XTASK_WHEELS_DIR` (no compile cache, no build
//!   venvs), warm = the same folder again with the source unchanged.
//! - cibuildwheel ([`CIBW_VERSION`], installed once into a venv under target/), with
//!   `CIBW_MANYLINUX_X86_64_IMAGE`, `CIBW_BUILD`, `CIBW_ARCHS=x86_64`, `CIBW_TEST_COMMAND`, a
//!   copy of the miniature as its package folder. It has no compile cache, so its warm run is
//!   just a second run.
//!
//! What cibuildwheel needs to run against the stand-in (see [`cibw_env`]):
//!
//! - **A `cp39-cp39` interpreter.** cibuildwheel reads the container's environment with a
//!   hard-coded `/opt/python/cp39-cp39/bin/python` (`OCIContainer.UTILITY_PYTHON`,
//!   `cibuildwheel/oci_container.py` line 226 in 4.3.3; `platforms/linux.py` line 213 puts it
//!   on PATH for `before-all`). The stand-in ships cp311, cp312 and cp313 only, so every build
//!   stops at "Setting up build environment..." with
//!   `Command ['/opt/python/cp39-cp39/bin/python', '-c', 'import sys, json, os; ...'] failed
//!   with code 127`. The benchmark gives cibuildwheel a derived image (`docker commit` of one
//!   symlink `/opt/python/cp39-cp39 -> cp311-cp311`, nothing else changed); this tool runs on
//!   the stand-in itself.
//! - **Its build frontend.** cibuildwheel's default frontend is `build` (`python -m build`),
//!   which the pypa images preinstall in every `/opt/python/*` and the stand-in does not (pip
//!   only). `CIBW_BUILD_FRONTEND=pip` makes it run `pip wheel` with build isolation, which
//!   fetches setuptools and wheel from PyPI inside the container (reachable from containers
//!   here), as the `build` frontend would.
//! - **No pull.** The image exists only locally. cibuildwheel 4.3.3 passes `--pull=never` by
//!   itself when `docker image inspect` shows an image of the right platform
//!   (`OCIContainer._get_platform_args`); `CIBW_CONTAINER_ENGINE="docker; create_args:
//!   --pull=never"` says so explicitly (the create args come after its own `--pull=`, and the
//!   docker CLI takes the last one).
//!
//! cibuildwheel 4.3.4 and 4.3.5 require `certifi>=2026.10.19`, newer than the package index
//! reachable here holds (2026.10.18), so 4.3.3 is the newest that installs.

#[path = "../tests/it/support.rs"]
#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use serde_json::Value;
use support::{list_wheels, repo_root, target_dir, text, tools, TempDir, Wheels};

/// The cibuildwheel release compared against (pinned; see the module doc for why not newer).
const CIBW_VERSION: &str = "4.3.3";
/// The interpreters of both contenders.
const PYTHONS: [&str; 3] = ["cp311", "cp312", "cp313"];
/// The goals of issue 6: warm at least 3x faster than cibuildwheel's warm run, cold no slower.
const WARM_GOAL: f64 = 3.0;
const COLD_GOAL: f64 = 1.0;

fn warn_if_debug() {
    if cfg!(debug_assertions) {
        eprintln!("WARNING: a debug build; run with --release for figures worth quoting");
    }
    eprintln!("xtask binary: {}", env!("CARGO_BIN_EXE_xtask"));
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn load1() -> String {
    loadavg().split_whitespace().next().unwrap_or("?").to_string()
}

fn docker_ok(args: &[&str]) -> bool {
    Command::new("docker").args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Runs `cmd` with stdout and stderr into one file `log` (in the order written), returning
/// whether it succeeded, its wall time, and the log's text.
fn timed_to_log(cmd: &mut Command, log: &Path) -> (bool, f64, String) {
    let file = std::fs::File::create(log).unwrap();
    cmd.stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file);
    let start = Instant::now();
    let status = cmd.status().unwrap();
    let seconds = start.elapsed().as_secs_f64();
    (status.success(), seconds, std::fs::read_to_string(log).unwrap_or_default())
}

fn run_checked(what: &str, cmd: &mut Command) -> Output {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(o.status.success(), "{what} failed:\n{}", text(&o));
    o
}

/// The stand-in plus one symlink `/opt/python/cp39-cp39 -> cp311-cp311`, for cibuildwheel's
/// hard-coded utility interpreter. Made once per stand-in tag (a second's work).
fn cibw_image(standin: &str) -> String {
    let tag = standin.rsplit(':').next().unwrap();
    let image = format!("xtask-standin-cibw:{tag}");
    if docker_ok(&["image", "inspect", &image]) {
        return image;
    }
    let name = format!("xtask-bench-cibw-shim-{}", std::process::id());
    run_checked(
        "docker run (cibuildwheel shim)",
        Command::new("docker").args([
            "run",
            "--name",
            &name,
            standin,
            "ln",
            "-s",
            "/opt/python/cp311-cp311",
            "/opt/python/cp39-cp39",
        ]),
    );
    let commit = Command::new("docker")
        .args(["commit", "--change", r#"CMD ["/bin/bash"]"#, &name, &image])
        .output()
        .expect("docker commit");
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    assert!(commit.status.success(), "docker commit failed:\n{}", text(&commit));
    image
}

/// cibuildwheel in its own venv under target/, made once (made from the tools venv's Python,
/// which is 3.11: cibuildwheel needs >= 3.11).
fn cibuildwheel() -> PathBuf {
    let root = target_dir().join("bench-cibw");
    std::fs::create_dir_all(&root).unwrap();
    let lock = std::fs::File::create(root.join(".lock")).unwrap();
    lock.lock().unwrap();
    let venv = root.join(format!("venv-{CIBW_VERSION}"));
    let exe = venv.join("bin/cibuildwheel");
    let marker = venv.join(".complete");
    if marker.exists() {
        return exe;
    }
    let _ = std::fs::remove_dir_all(&venv);
    run_checked("python -m venv", Command::new(&tools().python).arg("-m").arg("venv").arg(&venv));
    run_checked(
        "pip install cibuildwheel",
        Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("cibuildwheel=={CIBW_VERSION}"),
        ]),
    );
    assert!(exe.exists(), "no {} after pip install", exe.display());
    std::fs::write(&marker, CIBW_VERSION).unwrap();
    exe
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        let n = name.to_string_lossy();
        if n == "build" || n == "__pycache__" || n.ends_with(".egg-info") {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(&name));
        } else {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

/// cibuildwheel's project: the miniature and its tests in the repository's layout
/// (`testdata/minilayout`, `testdata/pymod`), nothing else (cibuildwheel copies its whole
/// working folder into the container).
fn cibw_project(dir: &Path) -> PathBuf {
    let project = dir.join("cibw-project");
    copy_dir(&repo_root().join("testdata/minilayout"), &project.join("testdata/minilayout"));
    copy_dir(&repo_root().join("testdata/pymod"), &project.join("testdata/pymod"));
    project
}

/// The settings cibuildwheel runs with (printed with the results).
fn cibw_env(image: &str) -> Vec<(&'static str, String)> {
    let build: Vec<String> = PYTHONS.iter().map(|p| format!("{p}-manylinux_x86_64")).collect();
    let tests: Vec<String> =
        ["tl", "db", "rdb"].iter().map(|m| format!("python {{project}}/testdata/pymod/import_{m}.py")).collect();
    vec![
        ("CIBW_PLATFORM", "linux".into()),
        ("CIBW_ARCHS", "x86_64".into()),
        ("CIBW_BUILD", build.join(" ")),
        ("CIBW_MANYLINUX_X86_64_IMAGE", image.into()),
        ("CIBW_CONTAINER_ENGINE", "docker; create_args: --pull=never".into()),
        ("CIBW_BUILD_FRONTEND", "pip".into()),
        ("CIBW_TEST_COMMAND", tests.join(" && ")),
    ]
}

struct Run {
    seconds: f64,
    /// The load averages (1, 5, 15 min) before the run, and the 1-minute one after it.
    load: String,
    load_after: String,
    /// (step, seconds summed over the targets)
    steps: Vec<(String, f64)>,
}

fn add_step(steps: &mut Vec<(String, f64)>, name: &str, secs: f64) {
    match steps.iter_mut().find(|(s, _)| s == name) {
        Some((_, t)) => *t += secs,
        None => steps.push((name.to_string(), secs)),
    }
}

fn run_xtask(image: &str, work: &Path, out: &Path, json: &Path, log: &Path) -> Run {
    let load = loadavg();
    let (out_s, json_s) = (out.display().to_string(), json.display().to_string());
    let mut args: Vec<&str> = vec!["--image", image, "--pull", "never"];
    for p in PYTHONS {
        args.extend(["--python", p]);
    }
    args.extend(["-o", &out_s, "--json", &json_s]);
    eprintln!("$ XTASK_WHEELS_DIR={} xtask wheels {}   (load {load})", work.display(), args.join(" "));
    let (ok, seconds, t) = timed_to_log(&mut Wheels::docker(work).args(&args).command(), log);
    assert!(ok, "xtask wheels failed (log {}):\n{}", log.display(), tail(&t, 60));
    assert_eq!(list_wheels(out).len(), PYTHONS.len(), "xtask wheels: {:?}", list_wheels(out));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let mut steps = Vec::new();
    let mut hits = Vec::new();
    for t in doc["targets"].as_array().unwrap() {
        assert_eq!(t["result"], "ok", "{t}");
        for s in t["steps"].as_array().unwrap() {
            add_step(&mut steps, s[0].as_str().unwrap(), s[1].as_f64().unwrap());
        }
        let h = t["cache"]["direct_hits"].as_u64().unwrap_or(0) + t["cache"]["preprocessed_hits"].as_u64().unwrap_or(0);
        hits.push(format!(
            "{} {h}/{}",
            t["interpreter"].as_str().unwrap(),
            h + t["cache"]["misses"].as_u64().unwrap_or(0)
        ));
        add_step(&mut steps, "(targets)", t["seconds"].as_f64().unwrap());
    }
    eprintln!("  {seconds:.1} s; compile-cache hits {}", hits.join(", "));
    Run { seconds, load, load_after: load1(), steps }
}

fn run_cibw(exe: &Path, project: &Path, env: &[(&str, String)], out: &Path, log: &Path) -> Run {
    let load = loadavg();
    eprintln!(
        "$ (cd {}; cibuildwheel --output-dir {} testdata/minilayout)   (load {load})",
        project.display(),
        out.display()
    );
    let mut cmd = Command::new(exe);
    cmd.args(["--output-dir", out.to_str().unwrap(), "testdata/minilayout"]).current_dir(project);
    // Nothing from the caller's environment steers it: only the settings above.
    for (k, _) in std::env::vars() {
        if k.starts_with("CIBW_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (ok, seconds, t) = timed_to_log(&mut cmd, log);
    assert!(ok, "cibuildwheel failed (log {}):\n{}", log.display(), tail(&t, 60));
    assert_eq!(list_wheels(out).len(), PYTHONS.len(), "cibuildwheel wheels: {:?}", list_wheels(out));
    let steps = cibw_steps(&t);
    eprintln!("  {seconds:.1} s");
    Run { seconds, load, load_after: load1(), steps }
}

/// cibuildwheel's per-step seconds from its log: a step is a line "Name..." at the left
/// margin, its time the next "✓ 1.23s" line.
fn cibw_steps(log: &str) -> Vec<(String, f64)> {
    let mut steps = Vec::new();
    let mut current: Option<String> = None;
    for line in log.lines() {
        let step_line =
            line.ends_with("...") && line.starts_with(|c: char| c.is_ascii_uppercase()) && !line.starts_with("info:");
        if step_line {
            let name = line.trim_end_matches("...");
            // "Starting container image <image>" -> "Starting container image"
            let name = if name.starts_with("Starting container") { "Starting container image" } else { name };
            current = Some(name.to_string());
            continue;
        }
        let l = line.trim();
        let secs = l
            .strip_prefix("✓ ")
            .or_else(|| l.strip_prefix("✕ "))
            .and_then(|rest| rest.strip_suffix('s'))
            .and_then(|s| s.parse::<f64>().ok());
        if let Some(secs) = secs {
            if let Some(name) = current.take() {
                add_step(&mut steps, &name, secs);
            }
        }
    }
    steps
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn print_steps(name: &str, run: &Run) {
    let steps: Vec<String> = run.steps.iter().map(|(s, t)| format!("{s} {t:.1}")).collect();
    eprintln!("  {name:<18} {}", steps.join(", "));
}

#[test]
fn bench_docker_vs_cibuildwheel() {
    warn_if_debug();
    assert!(docker_ok(&["info"]), "no Docker engine answers: the benchmark needs one");
    let sh = xshell::Shell::new().unwrap();
    let standin = xtask_dev::standin::ensure_image(&sh, &target_dir(), &xtask_dev::standin::Options::default())
        .expect("cannot build the stand-in image");
    let shim = cibw_image(&standin);
    let cibw = cibuildwheel();
    let env = cibw_env(&shim);
    eprintln!(
        "stand-in image: {standin}; cibuildwheel {CIBW_VERSION} on {shim} (the stand-in + /opt/python/cp39-cp39)"
    );
    for (k, v) in &env {
        eprintln!("  {k}={v:?}");
    }

    let dir = TempDir::new("bench-docker");
    let d = dir.path();
    let project = cibw_project(d);
    let work = d.join("xtask-work");
    let json = d.join("xtask-report.json");

    // Cold, then warm, alternating the contenders so that a burst of other load on the
    // machine does not fall on one of them only.
    let x_cold = run_xtask(&standin, &work, &d.join("xtask-cold"), &json, &d.join("xtask-cold.log"));
    let c_cold = run_cibw(&cibw, &project, &env, &d.join("cibw-cold"), &d.join("cibw-cold.log"));
    let x_warm = run_xtask(&standin, &work, &d.join("xtask-warm"), &json, &d.join("xtask-warm.log"));
    let c_warm = run_cibw(&cibw, &project, &env, &d.join("cibw-warm"), &d.join("cibw-warm.log"));

    let warm_ratio = c_warm.seconds / x_warm.seconds;
    let cold_ratio = c_cold.seconds / x_cold.seconds;
    let load = |r: &Run| format!("{} -> {}", r.load, r.load_after);
    eprintln!();
    eprintln!(
        "{} interpreters ({}), the miniature, 2 cores; load averages (1, 5, 15 min) before each run -> 1 min after",
        PYTHONS.len(),
        PYTHONS.join(", ")
    );
    eprintln!("{:<20} {:>7} {:>7}   {:<24} {:<24}", "tool", "cold s", "warm s", "load (cold run)", "load (warm run)");
    for (name, cold, warm) in
        [("xtask wheels".to_string(), &x_cold, &x_warm), (format!("cibuildwheel {CIBW_VERSION}"), &c_cold, &c_warm)]
    {
        eprintln!("{name:<20} {:>7.1} {:>7.1}   {:<24} {:<24}", cold.seconds, warm.seconds, load(cold), load(warm));
    }
    let verdict = |r: f64, goal: f64| if r >= goal { "goal met" } else { "GOAL MISSED" };
    eprintln!(
        "warm: cibuildwheel / xtask = {warm_ratio:.2}x (goal >= {WARM_GOAL}x: {})",
        verdict(warm_ratio, WARM_GOAL)
    );
    eprintln!(
        "cold: cibuildwheel / xtask = {cold_ratio:.2}x (goal >= {COLD_GOAL}x, no slower: {})",
        verdict(cold_ratio, COLD_GOAL)
    );
    eprintln!();
    eprintln!("seconds per step, summed over the three targets:");
    print_steps("xtask cold", &x_cold);
    print_steps("xtask warm", &x_warm);
    print_steps("cibuildwheel cold", &c_cold);
    print_steps("cibuildwheel warm", &c_warm);
    eprintln!("(logs: {} with XTASK_KEEP_TEST_TMP=1)", d.display());
}

/// The step times are read from cibuildwheel's log as it prints it (a plain test, not ignored:
/// it needs no engine).
#[test]
fn cibw_step_times_are_read_from_its_log() {
    let log = "Starting container image xtask-standin-cibw:abc...\n\
info: This container will host the build for cp311-manylinux_x86_64...\n\
    + /bin/true\n\
                                                                       \u{2713} 0.59s\n\
Building wheel...\n\
\n\
    + rm -rf /tmp/cibuildwheel/built_wheel\n\
Building wheels for collected packages: minilayout\n\
                                                                      \u{2713} 15.01s\n\
Testing wheel...\n\
....\n\
OK\n\
                                                                       \u{2713} 6.31s\n\
\u{2713} cp311-manylinux_x86_64 finished in 23 seconds\n\
Building wheel...\n\
                                                                      \u{2713} 1.00s\n";
    let steps = cibw_steps(log);
    let want = [("Starting container image", 0.59), ("Building wheel", 16.01), ("Testing wheel", 6.31)];
    assert_eq!(steps.len(), want.len(), "{steps:?}");
    for ((name, secs), (want_name, want_secs)) in steps.iter().zip(want) {
        assert_eq!(name, want_name);
        assert!((secs - want_secs).abs() < 1e-9, "{name}: {secs}");
    }
}
