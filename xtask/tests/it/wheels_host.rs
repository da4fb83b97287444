//! `cargo xtask wheels --host` end to end on the miniature, with the real auditwheel, pip,
//! venvs and ccache of this machine.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{broken_for_312, list_wheels, repo_root, report, target, text, walk, TempDir, Wheels};

/// Reads the run's stderr until `ready` says so, waits 1.5 s, sends SIGINT, and checks that
/// the run failed saying it was interrupted; returns everything it printed.
fn interrupt_when(mut child: std::process::Child, mut ready: impl FnMut(&str) -> bool) -> String {
    use std::io::{BufRead, BufReader};
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if ready(&line) {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    seen.extend(lines.map_while(Result::ok));
    let status = child.wait().unwrap();
    let t = seen.join("\n");
    assert!(!status.success(), "{t}");
    assert!(t.contains("interrupted"), "{t}");
    t
}

/// No process still runs with the work folder `w` on its command line.
fn assert_no_process_in(w: &Path) {
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    let stray: Vec<String> = String::from_utf8_lossy(&ps.stdout)
        .lines()
        .filter(|l| l.contains(w.to_str().unwrap()))
        .map(String::from)
        .collect();
    assert!(stray.is_empty(), "stray processes: {stray:?}");
}

/// Runs `cargo xtask wheels --host` with its work folder (runs, cache, venvs) in `work`.
fn wheels(work: &Path, args: &[&str]) -> Output {
    // A heartbeat every 3 s instead of every minute, so that a build shows one.
    Wheels::host(work).args(args).env("XTASK_HEARTBEAT_SECS", "3").output()
}

/// The miniature's translation units that include Python.h (the extension modules); the
/// rest must hit the cache from the second interpreter on.
fn python_free_units() -> u64 {
    let src = repo_root().join("testdata/minilayout/src");
    let mut all = 0;
    let mut with_python = 0;
    for dir in walk(&src) {
        if dir.extension().is_some_and(|e| e == "cc") {
            all += 1;
            if std::fs::read_to_string(&dir).unwrap().contains("Python.h")
                || std::fs::read_to_string(&dir).unwrap().contains("pymod_common.h")
            {
                with_python += 1;
            }
        }
    }
    assert!(all > with_python && with_python > 0, "the miniature has {all} units, {with_python} with Python.h");
    all - with_python
}

/// Two interpreters of different flag groups (3.11 injects -fwrapv, 3.12 -fno-strict-overflow)
/// from a cold cache: both wheels land, repaired, checked and tested; the second build hits
/// the cache for every translation unit without Python.h; a second run of the same commit
/// gives byte-identical wheels.
#[test]
fn two_interpreters_cold_cache_then_reproducible() {
    let work = TempDir::new("wheels-two");
    let out = work.path().join("wheelhouse");
    let json = work.path().join("report.json");
    let o = wheels(
        &work.path().join("w"),
        &["--python", "cp311", "--python", "cp312", "-o", out.to_str().unwrap(), "--json", json.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let landed = list_wheels(&out);
    assert_eq!(landed.len(), 2, "{landed:?}\n{}", text(&o));
    // A long build shows it is alive and how far it got (ccache's counters).
    let progress: Vec<u64> = text(&o)
        .lines()
        .filter(|l| l.starts_with("[host-cp311-cp311] ... the build still running ("))
        .filter_map(|l| l.split("; ").nth(1)?.strip_suffix(" compiles so far, 0 from the cache")?.parse().ok())
        .collect();
    assert!(progress.iter().any(|&n| n > 0), "no heartbeat with progress:\n{}", text(&o));
    for w in &landed {
        let name = w.file_name().unwrap().to_string_lossy();
        assert!(name.contains("manylinux_"), "the native repair tagged it: {name}");
        let c = crate::support::xtask(&["check-wheel", w.to_str().unwrap()]);
        assert!(c.status.success(), "{}", text(&c));
        // The native repair grafted libbz2 next to the package.
        let a = xtask::library::analysis::Analysis::of(w).unwrap();
        assert!(a.elf.keys().any(|k| k.starts_with("minilayout.libs/libbz2")), "{:?}", a.elf.keys());
    }
    // What auditwheel repairs from the same built wheel is the same (the oracle).
    let built = list_wheels(&work.path().join("w/runs/host-cp311-cp311/dist"));
    let oracle = crate::support::auditwheel_repair(&built[0], &work.path().join("oracle"), &[]);
    let native = landed.iter().find(|p| p.to_string_lossy().contains("-cp311-")).unwrap();
    crate::support::assert_same_repair(native, &oracle);
    let targets = report(&json);
    for tag in ["cp311-cp311", "cp312-cp312"] {
        let t = target(&targets, tag);
        assert_eq!(t["result"], "ok", "{t}");
        let steps: Vec<&str> = t["steps"].as_array().unwrap().iter().map(|s| s[0].as_str().unwrap()).collect();
        assert_eq!(steps, ["prepare", "build", "graft", "repair", "check", "test"]);
        // One read of the built wheel (the native repair), one of the repaired (fix-wheel and check).
        assert_eq!(t["wheel_reads"], 2, "{t}");
    }
    let log = std::fs::read_to_string(target(&targets, "cp312-cp312")["log"].as_str().unwrap()).unwrap();
    assert!(log.contains("import_db.py") && log.contains("OK"), "the tests ran and passed:\n{log}");
    // The test venv holds the wheel as an install would, its data file included.
    assert!(!log.contains("already exists"), "pip left part of the wheel out:\n{log}");
    assert!(work.path().join("w/runs/host-cp312-cp312/testenv/minilayout/py.typed").exists());
    // The build venv's pip is the interpreter's own pip wheel, unpacked (ensurepip would have
    // written bin/pip): it runs, and it installed the build requirements.
    let first = std::fs::read_to_string(target(&targets, "cp311-cp311")["log"].as_str().unwrap()).unwrap();
    assert!(first.contains("-m venv --without-pip") && first.contains("zipfile.ZipFile(found[0])"), "{first}");
    let venv = work.path().join("w/venvs/host/cp312-cp312");
    assert!(!venv.join("bin/pip").exists() && venv.join("bin/python").exists());
    let pip = std::process::Command::new(venv.join("bin/python")).args(["-m", "pip", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&pip.stdout);
    assert!(pip.status.success() && listed.contains("setuptools") && listed.contains("pip "), "{}", text(&pip));
    // pyenv's interpreters link with "-Wl,-rpath,<prefix>/lib" and the miniature, like KLayout,
    // does not strip it: the build step's own wheel (before auditwheel, which cleans only the
    // files it grafts for) carries no search path outside the package (wheels/link.rs).
    for tag in ["cp311-cp311", "cp312-cp312"] {
        let built = list_wheels(&work.path().join(format!("w/runs/host-{tag}/dist")));
        let a = xtask::library::analysis::Analysis::of(&built[0]).unwrap();
        let outside = a.graph(&[]).outside;
        assert!(a.elf.len() == 7 && outside.is_empty(), "{tag}: {outside:?}");
    }

    let first = &target(&targets, "cp311-cp311")["cache"];
    let second = &target(&targets, "cp312-cp312")["cache"];
    let free = python_free_units();
    assert_eq!(
        first["direct_hits"].as_u64().unwrap() + first["preprocessed_hits"].as_u64().unwrap(),
        0,
        "cold cache: {first}"
    );
    let hits = second["direct_hits"].as_u64().unwrap() + second["preprocessed_hits"].as_u64().unwrap();
    assert_eq!(hits, free, "cp312 must hit every Python-free unit ({free}): {second}");

    // Same commit, same interpreter: byte-identical wheel.
    let out2 = work.path().join("wheelhouse2");
    let o = wheels(&work.path().join("w"), &["--python", "cp311", "-o", out2.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let again = list_wheels(&out2);
    let before = landed.iter().find(|w| w.to_string_lossy().contains("cp311")).unwrap();
    assert_eq!(again[0].file_name(), before.file_name());
    assert!(crate::support::bytes(&again[0]) == crate::support::bytes(before), "two runs of one commit differ");
}

/// One target fails to compile, another lacks venv: the third still lands its wheel, the
/// summary names the failed steps and shows the compiler's error, the exit code is 1.
#[test]
fn a_failing_target_costs_no_other_its_wheel() {
    let work = TempDir::new("wheels-fail");
    let project = broken_for_312(work.path());
    let out = work.path().join("wheelhouse");
    let json = work.path().join("report.json");
    // A work folder given relative to where the command runs (the repository root) works too.
    let relative = work.path().join("w");
    let relative = relative.strip_prefix(repo_root()).expect("test folders are under the repository");
    let o = wheels(
        relative,
        &[
            "--project",
            project.to_str().unwrap(),
            "--python",
            "cp312",
            "--python",
            "cp27",
            "--python",
            "cp311",
            "--jobs",
            "2",
            "-o",
            out.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    // cp27 first and alone, then cp311 and cp312 side by side: the failure stays cp312's.
    assert!(t.contains("the other 2 targets, up to 2 at a time"), "{t}");
    let landed = list_wheels(&out);
    assert_eq!(landed.len(), 1, "{landed:?}\n{t}");
    assert!(landed[0].to_string_lossy().contains("cp311-cp311"));
    let targets = report(&json);
    assert_eq!(target(&targets, "cp312-cp312")["result"], "build");
    assert_eq!(target(&targets, "cp311-cp311")["result"], "ok");
    let cp27 = target(&targets, "cp27-cp27mu");
    assert_eq!(cp27["result"], "prepare");
    assert!(cp27["error"].as_str().unwrap().contains("no venv module"), "{cp27}");
    assert!(t.contains("deliberately broken for 3.12"), "the summary shows the compiler's last lines:\n{t}");
    assert!(t.contains("FAILED: build"), "{t}");
}

/// Without canonical flags the same wheels pass the same tests, the cache misses across the
/// two flag groups, and the run says why in a hint.
#[test]
fn without_canonical_flags_the_tests_pass_and_a_hint_names_the_flags() {
    let work = TempDir::new("wheels-plain");
    let out = work.path().join("wheelhouse");
    let json = work.path().join("report.json");
    let o = wheels(
        &work.path().join("w"),
        &[
            "--python",
            "cp311",
            "--python",
            "cp312",
            "--no-canonical-flags",
            "-o",
            out.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert_eq!(list_wheels(&out).len(), 2);
    let targets = report(&json);
    for tag in ["cp311-cp311", "cp312-cp312"] {
        assert_eq!(target(&targets, tag)["result"], "ok");
    }
    let second = &target(&targets, "cp312-cp312")["cache"];
    assert_eq!(second["direct_hits"].as_u64().unwrap() + second["preprocessed_hits"].as_u64().unwrap(), 0, "{second}");
    let hint =
        t.lines().find(|l| l.starts_with("hint: cp312-cp312: 0% hits")).unwrap_or_else(|| panic!("no hint:\n{t}"));
    assert!(
        hint.contains("-fno-strict-overflow") && hint.contains("-fwrapv") && hint.contains("canonical flags are off"),
        "{hint}"
    );
}

#[test]
fn bad_input_gives_clear_errors() {
    let work = TempDir::new("wheels-bad");
    let o = wheels(work.path(), &["--project", "/nonexistent/project", "--all"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("/nonexistent/project"), "{}", text(&o));
    let o = wheels(work.path(), &["--python", "cp399"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("matches no interpreter") && text(&o).contains("cp311-cp311"), "{}", text(&o));
    let o = wheels(work.path(), &["--python", "cp311;rm"]);
    assert_eq!(o.status.code(), Some(2));
    let o = wheels(work.path(), &["--project", work.path().to_str().unwrap(), "--all"]);
    assert!(text(&o).contains("neither setup.py nor pyproject.toml"), "{}", text(&o));
    let o = wheels(work.path(), &[]);
    assert!(text(&o).contains("no interpreter selected"), "{}", text(&o));
    let o = Wheels::host(work.path()).args(&["--python", "cp311"]).env("XTASK_HEARTBEAT_SECS", "soon").output();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("XTASK_HEARTBEAT_SECS=\"soon\""), "{}", text(&o));
}

/// Ctrl-C during a build: the run stops, no wheel (whole or half) lands, no process of the
/// build is left.
#[test]
fn ctrl_c_mid_build_leaves_nothing_behind() {
    let work = TempDir::new("wheels-sigint");
    let out = work.path().join("wheelhouse");
    let w = work.path().join("w");
    let child = Wheels::host(&w).args(&["--python", "cp311", "-o", out.to_str().unwrap()]).spawn();
    interrupt_when(child, |line| line.contains("pip wheel"));
    assert!(list_wheels(&out).is_empty(), "no wheel lands after Ctrl-C");
    if out.exists() {
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "nothing half-written in the wheelhouse");
    }
    assert_no_process_in(&w);
}

/// A package that grafts nothing (one C extension, no library outside the policy): auditwheel
/// then patches no file, so whatever RPATH the build wrote stays in the published wheel. With
/// the interpreter's link line as pyenv wrote it (forced through the config's `build_env`,
/// which the build step honours as it is) check-wheel refuses the wheel and names the folder;
/// with the build step's own link line (wheels/link.rs) the same package lands, clean.
#[test]
fn a_package_that_grafts_nothing_lands_without_the_interpreters_rpath() {
    let python = crate::support::pyenv_python("3.11").expect("pyenv's 3.11 (the machine's interpreters)");
    let ask = "import sysconfig; print(sysconfig.get_config_var('LDSHARED'))";
    let ldshared = text(&Command::new(&python).args(["-c", ask]).output().unwrap()).trim().to_string();
    let prefix = python.parent().unwrap().parent().unwrap().join("lib");
    assert!(ldshared.contains(&format!("-Wl,-rpath,{}", prefix.display())), "pyenv's LDSHARED: {ldshared}");

    let work = TempDir::new("wheels-tiny");
    let project = crate::support::tiny_project(work.path());
    let run = |config: &str, out: &str| {
        let toml = work.path().join(format!("{out}.toml"));
        std::fs::write(&toml, config).unwrap();
        let out = work.path().join(out);
        let o = Wheels::host(&work.path().join("w"))
            .config(&toml)
            .args(&["--python", "cp311", "--project", project.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .output();
        (o, list_wheels(&out))
    };
    let base = "[tests]\nscripts = []\n";

    let forced = format!("{base}[project.build_env]\nLDSHARED = \"{ldshared}\"\n");
    let (o, landed) = run(&forced, "forced");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(landed.is_empty(), "{landed:?}");
    assert!(
        text(&o).contains(&format!("search path entry \"{}\", which points outside the wheel", prefix.display())),
        "{}",
        text(&o)
    );

    let (o, landed) = run(base, "own");
    assert!(o.status.success(), "{}", text(&o));
    let a = xtask::library::analysis::Analysis::of(&landed[0]).unwrap();
    assert!(a.elf.len() == 1 && a.graph(&[]).outside.is_empty(), "{:?}", a.elf.keys());
}

/// Folder names a user may have: a space, quotes, `$`, a non-ASCII letter and `,` in the work
/// folder, the project folder and the output folder: the build works (the compiler wrappers go
/// by name on PATH, so no path is split into words). A `:` in the work folder, which PATH
/// cannot hold, and a name that is not UTF-8 are clear errors; a work folder inside the
/// project is not copied into itself; a selector with many alternatives is answered at once.
#[test]
fn odd_folder_names_work_or_are_refused_clearly() {
    use std::os::unix::ffi::OsStrExt;
    let work = TempDir::new("wheels-paths");
    let odd = work.path().join("my wheels 'q\" $HOME é,x");
    let project = crate::support::tiny_project(&odd);
    let toml = work.path().join("tiny.toml");
    std::fs::write(&toml, "[tests]\nscripts = []\n").unwrap();
    let out = odd.join("wheel house");
    let o = Wheels::host(&odd.join("work dir"))
        .config(&toml)
        .args(&["--python", "cp311", "--project", project.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .output();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(list_wheels(&out).len(), 1, "{}", text(&o));

    // A work folder inside the project: built, and not copied into the target's source copy.
    let inside = project.join("w");
    let o = Wheels::host(&inside)
        .config(&toml)
        .args(&["--python", "cp311", "--project", project.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .output();
    assert!(o.status.success(), "{}", text(&o));
    let src = inside.join("runs/host-cp311-cp311/src");
    assert!(src.join("tiny.c").exists() && !src.join("w").exists(), "the work folder was copied into itself");

    let colon = work.path().join("a:b");
    let o = Wheels::host(&colon)
        .config(&toml)
        .args(&["--python", "cp311", "--project", project.to_str().unwrap()])
        .output();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("which PATH cannot hold"), "{}", text(&o));

    let bytes = work.path().join(std::ffi::OsStr::from_bytes(b"w\xff"));
    let o = Wheels::host(&bytes)
        .config(&toml)
        .args(&["--python", "cp311", "--project", project.to_str().unwrap()])
        .output();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is not UTF-8") && !text(&o).contains("panicked"), "{}", text(&o));

    let start = std::time::Instant::now();
    let wide = format!("cp3{}", "{1,2}*".repeat(20));
    let o = Wheels::host(work.path()).args(&["--python", &wide]).output();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("matches no interpreter"), "{}", text(&o));
    assert!(start.elapsed() < std::time::Duration::from_secs(30), "a selector took {:?}", start.elapsed());
}

/// The miniature's abi3 variant (`MINILAYOUT_ABI3=cp310` through the config's build_env): the
/// cp310 target builds one `cp310-abi3` wheel, and cp311 and cp312 test that same file (same
/// sha256) in fresh venvs instead of building; abi3audit finds it inside the stable ABI.
#[test]
fn an_abi3_wheel_is_built_once_and_tested_under_later_interpreters() {
    let work = TempDir::new("wheels-abi3");
    let config = work.path().join("abi3.toml");
    let text_cfg = std::fs::read_to_string(repo_root().join("xtask/wheels.toml")).unwrap();
    let with_env = "build_requires = [\"setuptools\", \"wheel\"]\nbuild_env = { MINILAYOUT_ABI3 = \"cp310\" }";
    std::fs::write(&config, text_cfg.replace("build_requires = [\"setuptools\", \"wheel\"]", with_env)).unwrap();
    let out = work.path().join("wheelhouse");
    let json = work.path().join("report.json");
    // As under GitHub Actions: the summary is appended to the step summary file too.
    let step_summary = work.path().join("step-summary.md");
    std::fs::write(&step_summary, "earlier content\n").unwrap();
    let o = Wheels::host(&work.path().join("w"))
        .config(&config)
        .env("GITHUB_STEP_SUMMARY", &step_summary)
        .args(&["--python", "cp31{0,1,2}", "-o", out.to_str().unwrap(), "--json", json.to_str().unwrap()])
        .output();
    assert!(o.status.success(), "{}", text(&o));
    let landed = list_wheels(&out);
    assert_eq!(landed.len(), 1, "one wheel for three interpreters: {landed:?}");
    let name = landed[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("minilayout-0.1.0-cp310-abi3-manylinux_"), "{name}");
    let targets = report(&json);
    let builder = target(&targets, "cp310-cp310");
    assert!(builder["built_by"].is_null() && builder["steps"].as_array().unwrap().len() == 6, "{builder}");
    for tag in ["cp311-cp311", "cp312-cp312"] {
        let t = target(&targets, tag);
        assert_eq!(t["result"], "ok", "{t}");
        assert_eq!(t["built_by"], "host-cp310-cp310", "{t}");
        assert_eq!(t["sha256"], builder["sha256"], "the same file under {tag}");
        let steps: Vec<&str> = t["steps"].as_array().unwrap().iter().map(|s| s[0].as_str().unwrap()).collect();
        assert_eq!(steps, ["prepare", "test"], "nothing built for {tag}");
        // The tests ran against the abi3 wheel's files, installed under this interpreter.
        let site = work.path().join(format!("w/runs/host-{tag}/testenv/lib"));
        let py = std::fs::read_dir(&site).unwrap().next().unwrap().unwrap().path();
        assert!(py.join("site-packages/minilayout/tlcore.abi3.so").exists(), "{}", py.display());
    }
    assert!(text(&o).contains("(built by host-cp310-cp310, tested here)"), "{}", text(&o));
    let md = std::fs::read_to_string(&step_summary).unwrap();
    assert!(md.starts_with("earlier content\n## cargo xtask wheels\n"), "appended: {md}");
    assert!(md.contains("| host-cp311-cp311 | ok |") && md.contains("(built by host-cp310-cp310) |"), "{md}");
    assert!(md.contains("```mermaid\ngantt\n") && md.contains("  section host-cp310-cp310\n  prepare :"), "{md}");
    assert!(md.contains("  build :") && md.matches("  section ").count() == 3, "{md}");
    let audit = Command::new(crate::support::tools().venv.join("bin/abi3audit")).arg(&landed[0]).output().unwrap();
    assert!(audit.status.success(), "abi3audit: {}", text(&audit));
}

/// `--jobs 2` against `--jobs 1`, each from an empty work folder at the same path (debug info
/// records the build folder's path): the same wheels to the byte, the
/// targets after the first really ran side by side, and each one's cache counters are its own
/// (ccache's per-build stats log): every Python-free unit hits, whatever ran beside it.
#[test]
fn parallel_targets_land_the_same_bytes_as_one_at_a_time() {
    let work = TempDir::new("wheels-jobs");
    let free = python_free_units();
    let mut runs = Vec::new();
    for jobs in ["1", "2"] {
        let out = work.path().join(format!("wheelhouse-{jobs}"));
        let json = work.path().join(format!("report-{jobs}.json"));
        let mut args = vec!["--jobs", jobs];
        for p in ["cp311", "cp312", "cp313"] {
            args.extend(["--python", p]);
        }
        let (o_s, j_s) = (out.to_str().unwrap().to_string(), json.to_str().unwrap().to_string());
        args.extend(["-o", &o_s, "--json", &j_s]);
        let w = work.path().join("w");
        let _ = std::fs::remove_dir_all(&w);
        let o = wheels(&w, &args);
        assert!(o.status.success(), "--jobs {jobs}: {}", text(&o));
        runs.push((text(&o), report(&json), list_wheels(&out)));
    }
    let (serial, parallel) = (&runs[0], &runs[1]);
    assert!(parallel.0.contains("the other 2 targets, up to 2 at a time: cp312-cp312, cp313-cp313"), "{}", parallel.0);
    assert!(!serial.0.contains("at a time"), "{}", serial.0);
    let names = |w: &[std::path::PathBuf]| w.iter().map(|p| p.file_name().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(names(&serial.2), names(&parallel.2));
    assert_eq!(serial.2.len(), 3);
    for (a, b) in serial.2.iter().zip(&parallel.2) {
        assert!(crate::support::bytes(a) == crate::support::bytes(b), "{} differs between --jobs 1 and 2", a.display());
    }
    let order =
        |r: &[serde_json::Value]| r.iter().map(|t| t["interpreter"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(order(&serial.1), order(&parallel.1), "the summary keeps the targets' order");
    let span = |t: &serde_json::Value| {
        let start = t["started"].as_f64().unwrap();
        (start, start + t["seconds"].as_f64().unwrap())
    };
    let (a, b) = (span(target(&parallel.1, "cp312-cp312")), span(target(&parallel.1, "cp313-cp313")));
    assert!(a.0 < b.1 && b.0 < a.1, "cp312 {a:?} and cp313 {b:?} overlap in time");
    let (first, second) = (span(target(&parallel.1, "cp311-cp311")), a.0.min(b.0));
    assert!(first.1 <= second, "the first target ran alone: cp311 {first:?}, the others from {second}");
    for tag in ["cp312-cp312", "cp313-cp313"] {
        for (label, r) in [("--jobs 1", &serial.1), ("--jobs 2", &parallel.1)] {
            let c = &target(r, tag)["cache"];
            let hits = c["direct_hits"].as_u64().unwrap() + c["preprocessed_hits"].as_u64().unwrap();
            assert_eq!(hits, free, "{label} {tag}: {c}");
            assert_eq!(hits + c["misses"].as_u64().unwrap(), free + 3, "{label} {tag}: its own compiles only: {c}");
        }
    }
}

/// Ctrl-C while two targets build side by side: both stop, no process is left, no wheel of
/// theirs lands and nothing half-written is left in the wheelhouse.
#[test]
fn ctrl_c_during_parallel_targets_stops_them_all() {
    let work = TempDir::new("wheels-sigint-jobs");
    let out = work.path().join("wheelhouse");
    let w = work.path().join("w");
    let child = Wheels::host(&w)
        .args(&[
            "--jobs",
            "2",
            "--python",
            "cp311",
            "--python",
            "cp312",
            "--python",
            "cp313",
            "-o",
            out.to_str().unwrap(),
        ])
        .spawn();
    let mut builds = 0;
    interrupt_when(child, |line| {
        builds += usize::from(line.contains("pip wheel") && (line.contains("cp312") || line.contains("cp313")));
        builds == 2
    });
    let landed = list_wheels(&out);
    assert!(landed.iter().all(|p| p.to_string_lossy().contains("cp311")), "only the first target's wheel: {landed:?}");
    if out.exists() {
        for e in std::fs::read_dir(&out).unwrap() {
            let p = e.unwrap().path();
            assert!(p.extension().is_some_and(|x| x == "whl"), "half-written {}", p.display());
        }
    }
    assert_no_process_in(&w);
}

/// The prepare step keeps a target's project copy between runs: a rerun of unchanged sources
/// copies nothing and compiles nothing (and lands the same bytes); a changed file is copied
/// alone and is the only unit that misses the compile cache; a file gone from the
/// project is gone from the copy; another interpreter or config starts from a fresh copy.
#[test]
fn prepare_copies_only_what_changed() {
    let work = TempDir::new("wheels-incremental");
    let project = work.path().join("minilayout");
    crate::support::copy_dir(&repo_root().join("testdata/minilayout"), &project);
    std::fs::write(project.join("notes.txt"), "a file that will leave the project\n").unwrap();
    let w = work.path().join("w");
    let json = work.path().join("report.json");
    let run = |out: &str| {
        let out = work.path().join(out);
        let args = [
            "--project",
            project.to_str().unwrap(),
            "--python",
            "cp311",
            "-o",
            out.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ];
        let o = wheels(&w, &args);
        assert!(o.status.success(), "{}", text(&o));
        let t = target(&report(&json), "cp311-cp311").clone();
        let log = std::fs::read_to_string(t["log"].as_str().unwrap()).unwrap();
        let copied: usize = log
            .lines()
            .find_map(|l| l.split(" (").nth(1)?.strip_suffix(" files copied)")?.parse().ok())
            .expect("the prepare step says how many files it copied");
        let c = &t["cache"];
        let compiles = c["direct_hits"].as_u64().unwrap()
            + c["preprocessed_hits"].as_u64().unwrap()
            + c["misses"].as_u64().unwrap();
        (copied, compiles, c["misses"].as_u64().unwrap(), list_wheels(&out))
    };
    let (first, compiles, _, one) = run("o1");
    assert!(first > 20 && compiles == 13, "{first} files, {compiles} compiles");
    let (copied, compiles, _, two) = run("o2");
    assert_eq!((copied, compiles), (0, 0), "an unchanged rerun copies and compiles nothing");
    assert!(crate::support::bytes(&one[0]) == crate::support::bytes(&two[0]), "the same wheel");
    assert!(w.join("runs/host-cp311-cp311/src/notes.txt").exists());

    // One source changes (a new symbol: new object code), one file leaves.
    let cc = project.join("src/tl/tl_string.cc");
    let mut text_cc = std::fs::read_to_string(&cc).unwrap();
    text_cc.push_str("int minilayout_test_marker = 1;\n");
    std::fs::write(&cc, text_cc).unwrap();
    std::fs::remove_file(project.join("notes.txt")).unwrap();
    let (copied, compiles, misses, _) = run("o3");
    assert_eq!(copied, 1, "only the changed file is copied");
    // setuptools rebuilds lib_tl and every extension that links it (their `depends`); every
    // unit but the changed one comes from the compile cache.
    assert_eq!(misses, 1, "only the changed unit misses the cache ({compiles} compiles)");
    assert!(
        !w.join("runs/host-cp311-cp311/src/notes.txt").exists(),
        "a file gone from the project is gone from the copy"
    );

    // Another config (here: no canonical flags) starts from a fresh copy.
    let out = work.path().join("o4");
    let args = [
        "--project",
        project.to_str().unwrap(),
        "--python",
        "cp311",
        "--no-canonical-flags",
        "-o",
        out.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ];
    let o = wheels(&w, &args);
    assert!(o.status.success(), "{}", text(&o));
    let log = std::fs::read_to_string(target(&report(&json), "cp311-cp311")["log"].as_str().unwrap()).unwrap();
    assert!(log.contains("copied ") && !log.contains("updated the copy"), "{log}");
}

/// `[project] linker`: the links use it where the compiler can (the miniature's libraries
/// carry gold's version note), and a linker that is not installed leaves the compiler's
/// default with a warning, the wheel still landing.
#[test]
fn a_configured_linker_links_where_it_is_installed() {
    let work = TempDir::new("wheels-linker");
    let text_cfg = std::fs::read_to_string(repo_root().join("xtask/wheels.toml")).unwrap();
    let mut notes = Vec::new();
    for linker in ["gold", "no-such-ld"] {
        let config = work.path().join(format!("{linker}.toml"));
        let line = format!("build = \"pip-wheel\"\nlinker = \"{linker}\"");
        std::fs::write(&config, text_cfg.replace("build = \"pip-wheel\"", &line)).unwrap();
        let out = work.path().join(format!("wheelhouse-{linker}"));
        let o = Wheels::host(&work.path().join("w"))
            .config(&config)
            .args(&["--python", "cp311", "-o", out.to_str().unwrap()])
            .output();
        assert!(o.status.success(), "{linker}: {}", text(&o));
        let warned = text(&o).contains("warning: no-such-ld is not usable by");
        assert_eq!(warned, linker == "no-such-ld", "{}", text(&o));
        let wheel = &list_wheels(&out)[0];
        let mut zip = zip::ZipArchive::new(std::fs::File::open(wheel).unwrap()).unwrap();
        let names: Vec<String> = zip.file_names().filter_map(|n| n.ok()).map(|n| n.to_string()).collect();
        let name = names.into_iter().find(|n| n.contains("lib_tl.") && n.ends_with(".so")).unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut zip.by_name(&name).unwrap(), &mut bytes).unwrap();
        let elf = goblin::elf::Elf::parse(&bytes).unwrap();
        let gold =
            elf.section_headers.iter().any(|h| elf.shdr_strtab.get_at(h.sh_name) == Some(".note.gnu.gold-version"));
        notes.push((linker, gold));
    }
    assert_eq!(notes, [("gold", true), ("no-such-ld", false)]);
    // Not a linker's name: refused when the config loads.
    let bad = work.path().join("bad.toml");
    std::fs::write(
        &bad,
        text_cfg.replace("build = \"pip-wheel\"", "build = \"pip-wheel\"\nlinker = \"gold; rm -rf /\""),
    )
    .unwrap();
    let o = Wheels::host(&work.path().join("w")).config(&bad).args(&["--python", "cp311"]).output();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("project.linker \"gold; rm -rf /\" is not a linker's name"), "{}", text(&o));
}
