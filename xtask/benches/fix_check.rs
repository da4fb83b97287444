//! Benchmarks, not timed tests: each prints a table and fails only when a tool is missing or
//! a result is wrong. Run them in release mode, one at a time:
//!
//! ```text
//! cargo test -p xtask --release --bench fix_check -- --nocapture --test-threads=1
//! ```
//!
//! - `bench_fix_wheel`: fix-wheel on the 27 MB KLayout wheel in the old auditwheel layout,
//!   side by side with the 2018 shell procedure (unzip, mv, sed, zip -r) and a plain `cp`
//!   (the I/O floor). Goal: at least 20x faster than the shell procedure.
//! - `bench_check_wheel`: check-wheel against `auditwheel show` on KLayout 0.30.12. Goal: at
//!   least 50x faster.
//! - `bench_fix_wheel_profile`: where fix-wheel's time goes (read, inflate, sha256, ELF,
//!   plan, write, fsync), measured through the library.
//! - `bench_loader_attacks`: check-wheel on wheels crafted against the loader simulation (an
//!   RPATH of 10,000 folders with 100 NEEDED, in one module and in four; a chain of 1000
//!   libraries with no extension module). Goal: each judged in under 2 s.

#[path = "../tests/it/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{klayout_wheel, old_layout_wheel, text, tools, TempDir};

/// Repetitions of each contender (the median is reported): the slow ones (the shell
/// procedure, auditwheel) fewer times than the fast ones.
const REPS: usize = 5;
const FAST_REPS: usize = 11;
/// The goals the issues set (README figures come from these runs).
const FIX_GOAL: f64 = 20.0;
const CHECK_GOAL: f64 = 50.0;

/// The 2018 procedure from shared/seed/ (chapter 1, step 4), verbatim but for the names it
/// hard-coded, which come in as environment variables: WHL (the wheel's file name in
/// ../wheelhouse) and DIST_INFO (its `.dist-info` folder). Run from the folder that holds
/// `wheelhouse/`. A fixed literal: nothing is spliced into it.
const FIX_WHEEL_SH: &str = r#"set -e
unzip "wheelhouse/$WHL" -d tempwheel
cd tempwheel/klayout
mv lib_* db_plugins .libs/
cd "../$DIST_INFO/"
sed -i 's/^klayout\/lib_/klayout\/.libs\/lib_/g' RECORD
sed -i 's/^klayout\/db_plugins/klayout\/.libs\/db_plugins/g' RECORD
cd ../
rm -f "../wheelhouse/$WHL"
zip -r "../wheelhouse/$WHL" ./*
cd ..
rm -rf tempwheel
"#;

/// The xtask binary under test: target/release/xtask when run with `--release`.
fn xtask_bin() -> &'static str {
    env!("CARGO_BIN_EXE_xtask")
}

fn warn_if_debug() {
    if cfg!(debug_assertions) {
        eprintln!("WARNING: a debug build; run with --release for figures worth quoting");
    }
    eprintln!("xtask binary: {}", xtask_bin());
}

/// Runs `cmd` to completion (output discarded) and returns its wall time; panics on failure.
fn timed(what: &str, cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let o = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let took = start.elapsed();
    assert!(o.status.success(), "{what} failed: {}", String::from_utf8_lossy(&o.stderr));
    took
}

fn median(v: &[Duration]) -> f64 {
    let mut s: Vec<f64> = v.iter().map(Duration::as_secs_f64).collect();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn min(v: &[Duration]) -> f64 {
    v.iter().map(Duration::as_secs_f64).fold(f64::INFINITY, f64::min)
}

/// Fails with a clear message when a tool the 2018 procedure needs is absent.
fn require_tool(tool: &str) {
    let ok =
        Command::new(tool).arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    assert!(
        ok,
        "`{tool}` is not installed: the 2018 shell procedure needs zip and unzip (apt-get install -y zip unzip)"
    );
}

/// The `.dist-info` folder of a wheel, from its file name (`klayout-0.30.12-...` ->
/// `klayout-0.30.12.dist-info`).
fn dist_info_of(whl: &Path) -> String {
    let name = whl.file_name().unwrap().to_str().unwrap();
    let mut parts = name.split('-');
    format!("{}-{}.dist-info", parts.next().unwrap(), parts.next().unwrap())
}

fn check_healthy(whl: &Path, what: &str) {
    let o = Command::new(xtask_bin()).args(["check-wheel", whl.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{what} is not healthy:\n{}", text(&o));
}

fn print_table(rows: &[(&str, &[Duration])]) {
    eprintln!("{:<34} {:>10} {:>10} {:>10}", "", "median s", "min s", "max s");
    for (name, v) in rows {
        let max = v.iter().map(Duration::as_secs_f64).fold(0.0, f64::max);
        eprintln!("{name:<34} {:>10.3} {:>10.3} {max:>10.3}", median(v), min(v));
    }
}

#[test]
fn bench_fix_wheel() {
    warn_if_debug();
    require_tool("zip");
    require_tool("unzip");
    let old = old_layout_wheel(&klayout_wheel());
    let name = old.file_name().unwrap().to_str().unwrap().to_string();
    let dist_info = dist_info_of(&old);
    let size = std::fs::metadata(&old).unwrap().len();
    eprintln!(
        "wheel: {name} ({:.1} MB, old auditwheel layout); {REPS} runs of the shell procedure, {FAST_REPS} of the others",
        size as f64 / 1e6
    );
    let dir = TempDir::new("bench-fix");

    let (mut shell, mut cp, mut cp_fsync, mut xtask) = (vec![], vec![], vec![], vec![]);
    for rep in 0..FAST_REPS {
        // (a) The 2018 shell procedure, on its own fresh copy in wheelhouse/.
        if rep < REPS {
            let work = dir.path().join(format!("shell-{rep}"));
            std::fs::create_dir_all(work.join("wheelhouse")).unwrap();
            let target = work.join("wheelhouse").join(&name);
            std::fs::copy(&old, &target).unwrap();
            shell.push(timed(
                "the 2018 shell procedure",
                Command::new("bash")
                    .arg("-c")
                    .arg(FIX_WHEEL_SH)
                    .current_dir(&work)
                    .env("WHL", &name)
                    .env("DIST_INFO", &dist_info),
            ));
            if rep == 0 {
                check_healthy(&target, "the shell procedure's wheel");
            }
            std::fs::remove_dir_all(&work).unwrap();
        }

        // (b) A plain copy of the file: the I/O floor. And the same with an fsync, because
        // fix-wheel syncs its output before the rename (cp and zip do not).
        let dest = dir.path().join(format!("cp-{rep}.whl"));
        cp.push(timed("cp", Command::new("cp").arg(&old).arg(&dest)));
        std::fs::remove_file(&dest).unwrap();
        cp_fsync.push(timed(
            "dd conv=fsync",
            Command::new("dd").arg(format!("if={}", old.display())).arg(format!("of={}", dest.display())).args([
                "bs=4M",
                "conv=fsync",
                "status=none",
            ]),
        ));
        std::fs::remove_file(&dest).unwrap();

        // (c) fix-wheel in place, on a fresh copy.
        let work = dir.path().join(format!("xtask-{rep}"));
        std::fs::create_dir_all(&work).unwrap();
        let target = work.join(&name);
        std::fs::copy(&old, &target).unwrap();
        xtask.push(timed("xtask fix-wheel", Command::new(xtask_bin()).arg("fix-wheel").arg(&target)));
        if rep == 0 {
            check_healthy(&target, "fix-wheel's wheel");
        }
        std::fs::remove_dir_all(&work).unwrap();
    }

    eprintln!();
    print_table(&[
        ("(a) 2018 shell (unzip/mv/sed/zip)", &shell),
        ("(b) cp (the I/O floor)", &cp),
        ("    dd conv=fsync (cp + fsync)", &cp_fsync),
        ("(c) xtask fix-wheel", &xtask),
    ]);
    let (s, c, x) = (median(&shell), median(&cp), median(&xtask));
    eprintln!();
    eprintln!(
        "shell / xtask = {:.1}x  (goal >= {FIX_GOAL}x: {})",
        s / x,
        if s / x >= FIX_GOAL { "met" } else { "NOT met" }
    );
    eprintln!("xtask / cp    = {:.1}x", x / c);
    eprintln!("shell / cp    = {:.1}x", s / c);
}

#[test]
fn bench_check_wheel() {
    warn_if_debug();
    let whl = klayout_wheel();
    eprintln!("wheel: {}", whl.file_name().unwrap().to_string_lossy());
    let auditwheel = &tools().auditwheel;
    let tag_of = |out: &[u8], pointer: &str| -> String {
        let v: serde_json::Value = serde_json::from_slice(out).expect("not JSON");
        v.pointer(pointer).and_then(|t| t.as_str()).unwrap_or_default().to_string()
    };

    let mut xtask = Vec::new();
    let mut ours = String::new();
    for _ in 0..FAST_REPS {
        let start = Instant::now();
        let o = Command::new(xtask_bin()).args(["check-wheel", "--json"]).arg(&whl).output().unwrap();
        xtask.push(start.elapsed());
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        ours = tag_of(&o.stdout, "/wheels/0/overall_tag");
    }
    // One run: it takes most of a minute.
    let start = Instant::now();
    let o = Command::new(auditwheel).args(["show", "--json"]).arg(&whl).output().unwrap();
    let aw = vec![start.elapsed()];
    assert!(o.status.success(), "{}", text(&o));
    let theirs = tag_of(&o.stdout, "/overall_tag");
    assert_eq!(ours, theirs, "check-wheel and auditwheel show disagree on the tag");

    eprintln!();
    print_table(&[("auditwheel show --json (1 run)", &aw), ("xtask check-wheel --json", &xtask)]);
    let ratio = median(&aw) / median(&xtask);
    eprintln!();
    eprintln!("tag: {ours} (both agree)");
    eprintln!(
        "auditwheel / xtask = {ratio:.0}x  (goal >= {CHECK_GOAL}x: {})",
        if ratio >= CHECK_GOAL { "met" } else { "NOT met" }
    );
}

/// Where fix-wheel's time goes, stage by stage, through the library (same code the binary
/// runs). Each stage is timed on its own, so the stages overlap: "scan: inflate only" is
/// part of "Analysis::of".
#[test]
fn bench_fix_wheel_profile() {
    use xtask::library::analysis::Analysis;
    use xtask::library::config::Config;
    use xtask::library::elf;
    use xtask::library::plan::{self, Plan};
    use xtask::library::wheel::{record, write, Wheel};

    warn_if_debug();
    let old = old_layout_wheel(&klayout_wheel());
    let dir = TempDir::new("bench-profile");
    let config = Config::default();
    let mut t: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut time = |k: &'static str, f: &mut dyn FnMut()| {
        let s = Instant::now();
        f();
        t.entry(k).or_default().push(s.elapsed());
    };
    let mut unpacked_total = 0u64;
    let mut largest = (String::new(), 0u64);
    for rep in 0..REPS {
        time("01 read file", &mut || drop(std::fs::read(&old).unwrap()));
        let mut wheel: Option<Wheel> = None;
        time("02 Wheel::open (read + central dir + RECORD)", &mut || wheel = Some(Wheel::open(&old).unwrap()));
        let wheel = wheel.unwrap();
        time("03 scan: inflate + sha256 (all cores)", &mut || drop(wheel.scan(|_, b| b.len()).unwrap()));
        // The same inflate on one core: the ratio to stage 03 is the parallel speed-up.
        time("03a inflate only, sequential (1 core)", &mut || {
            for e in wheel.files() {
                std::hint::black_box(wheel.read_entry(&e.name).unwrap());
            }
        });
        // The critical path: no split of one deflate stream, so one core inflates it all.
        let largest_name = wheel.files().max_by_key(|e| e.size).unwrap().name.clone();
        time("03b inflate of the largest entry", &mut || drop(wheel.read_entry(&largest_name).unwrap()));
        let mut bufs: Vec<(String, Vec<u8>)> = Vec::new();
        time("04 scan: inflate + copy out", &mut || {
            bufs = wheel.scan(|e, b| (e.name.clone(), b.to_vec())).unwrap().into_iter().map(|(_, _, x)| x).collect()
        });
        if rep == 0 {
            unpacked_total = bufs.iter().map(|(_, b)| b.len() as u64).sum();
            let big = bufs.iter().max_by_key(|(_, b)| b.len()).unwrap();
            largest = (big.0.clone(), big.1.len() as u64);
        }
        time("05 sha256 only (1 core)", &mut || {
            for (_, b) in &bufs {
                std::hint::black_box(record::hash_of(b));
            }
        });
        time("06 ELF parse only (1 core)", &mut || {
            for (n, b) in &bufs {
                if elf::is_elf(b) {
                    std::hint::black_box(elf::parse(b, n).unwrap());
                }
            }
        });
        time("07 sha256 of the largest entry", &mut || {
            let (_, b) = bufs.iter().max_by_key(|(_, b)| b.len()).unwrap();
            std::hint::black_box(record::hash_of(b));
        });
        time("08 ELF parse of the largest entry", &mut || {
            let (n, b) = bufs.iter().max_by_key(|(_, b)| b.len()).unwrap();
            std::hint::black_box(elf::parse(b, n).unwrap());
        });
        drop(bufs);
        let mut analysis: Option<Analysis> = None;
        time("09 Analysis::of (the whole pass)", &mut || analysis = Some(Analysis::of(&old).unwrap()));
        let analysis = analysis.unwrap();
        let mut plan = None;
        time("10 the loader graph and the repair plan", &mut || {
            let graph = analysis.graph(&config.runtime_folders);
            plan = Some(plan::plan(&analysis, &graph, &config).unwrap())
        });
        let Some(Plan::Move { renames, .. }) = plan else { panic!("the old layout needs a move") };
        time("11 write_renamed into memory", &mut || {
            let mut out = std::io::Cursor::new(Vec::with_capacity(32 << 20));
            write::write_renamed(&analysis.wheel, &renames, &mut out).unwrap();
        });
        let dest = dir.path().join(format!("out-{rep}.whl"));
        time("12 atomic_write to disk (with fsync)", &mut || {
            write::atomic_write(&dest, |w| write::write_renamed(&analysis.wheel, &renames, w)).unwrap()
        });
        std::fs::remove_file(&dest).unwrap();
        time("13 write to disk, no fsync", &mut || {
            let mut w = std::io::BufWriter::new(std::fs::File::create(&dest).unwrap());
            write::write_renamed(&analysis.wheel, &renames, &mut w).unwrap();
            std::io::Write::flush(&mut w).unwrap();
        });
        std::fs::remove_file(&dest).unwrap();
        let target = dir.path().join(old.file_name().unwrap());
        std::fs::copy(&old, &target).unwrap();
        time("14 the binary: fix-wheel end to end", &mut || {
            let o = Command::new(xtask_bin()).arg("fix-wheel").arg(&target).output().unwrap();
            assert!(o.status.success(), "{}", text(&o));
        });
        std::fs::remove_file(&target).unwrap();
    }
    eprintln!(
        "{} unpacked: {:.1} MB in files; largest entry {} ({:.1} MB); cores: {}",
        old.file_name().unwrap().to_string_lossy(),
        unpacked_total as f64 / 1e6,
        largest.0,
        largest.1 as f64 / 1e6,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let rows: Vec<(&str, &[Duration])> = t.iter().map(|(k, v)| (*k, v.as_slice())).collect();
    print_table(&rows);
    let mb = unpacked_total as f64 / 1e6;
    let rate = |k: &str| mb / median(&t[k]);
    eprintln!(
        "inflate + sha256 {:.0} MB/s on all cores, inflate {:.0} MB/s on one; sha256 {:.0} MB/s (1 core)",
        rate("03 scan: inflate + sha256 (all cores)"),
        rate("03a inflate only, sequential (1 core)"),
        rate("05 sha256 only (1 core)")
    );
}

/// A wheel of real ELF files from `cc` and patchelf, packed by `wheel pack`: `libs` tiny
/// libraries in `k/` (when `chain`, each needing the one before it: the head of the chain is the
/// last by name, the order that made the former resolver load every suffix of the chain), and
/// `modules` extension modules
/// with an RPATH of `rpath` folders (`$ORIGIN/0`...) and NEEDED on the first `needed`
/// libraries, which lie in the last of those folders.
fn crafted_wheel(
    dir: &Path,
    name: &str,
    modules: usize,
    rpath: usize,
    needed: usize,
    libs: usize,
    chain: bool,
) -> std::path::PathBuf {
    let tree = dir.join(format!("tree-{name}"));
    let pkg = tree.join("k");
    // Folders named in hex, so that an RPATH of 10,000 of them fits one argument (128 KiB).
    let last = pkg.join(format!("{:x}", rpath.saturating_sub(1)));
    std::fs::create_dir_all(&last).unwrap();
    let c = dir.join("empty.c");
    std::fs::write(&c, "int xtask_bench_symbol(void) { return 1; }\n").unwrap();
    let lib = dir.join("lib.so");
    assert!(Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&lib).arg(&c).status().unwrap().success());
    let patchelf = &tools().patchelf;
    let lib_dir = if rpath > 0 { &last } else { &pkg };
    for i in 0..libs {
        let p = lib_dir.join(format!("lib{i}.so"));
        std::fs::copy(&lib, &p).unwrap();
        let mut cmd = Command::new(patchelf);
        cmd.args(["--set-soname", &format!("lib{i}.so"), "--set-rpath", "$ORIGIN"]);
        if chain && i > 0 {
            cmd.args(["--add-needed", &format!("lib{}.so", i - 1)]);
        }
        assert!(cmd.arg(&p).status().unwrap().success());
    }
    let m = dir.join("mod.c");
    std::fs::write(&m, "void *PyInit_m0(void) { return 0; }\nvoid *PyInit_m1(void) { return 0; }\nvoid *PyInit_m2(void) { return 0; }\nvoid *PyInit_m3(void) { return 0; }\n").unwrap();
    let folders: Vec<String> = (0..rpath).map(|i| format!("$ORIGIN/{i:x}")).collect();
    for k in 0..modules {
        let p = pkg.join(format!("m{k}.so"));
        assert!(Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&p).arg(&m).status().unwrap().success());
        let mut cmd = Command::new(patchelf);
        cmd.args(["--force-rpath", "--set-rpath", &folders.join(":")]);
        for i in 0..needed {
            cmd.args(["--add-needed", &format!("lib{i}.so")]);
        }
        assert!(cmd.arg(&p).status().unwrap().success());
    }
    support::write_dist_info(&tree, "k", "1.0", &["cp311-cp311-linux_x86_64"]);
    support::pack_wheel(&tree, &dir.join(format!("out-{name}")))
}

#[test]
fn bench_loader_attacks() {
    warn_if_debug();
    let dir = TempDir::new("bench-loader");
    let cases = [
        (
            "RPATH of 10,000 folders, 100 NEEDED, 1 module",
            crafted_wheel(dir.path(), "wide1", 1, 10_000, 100, 100, false),
        ),
        (
            "RPATH of 10,000 folders, 100 NEEDED, 4 modules",
            crafted_wheel(dir.path(), "wide4", 4, 10_000, 100, 100, false),
        ),
        ("chain of 1000 libraries, no module", crafted_wheel(dir.path(), "chain", 0, 0, 0, 1000, true)),
    ];
    eprintln!("{:<50} {:>10} {:>8}", "check-wheel on", "median s", "exit");
    for (what, whl) in &cases {
        let mut times = Vec::new();
        let mut code = None;
        for _ in 0..3 {
            let start = Instant::now();
            let o = Command::new(xtask_bin()).args(["check-wheel", whl.to_str().unwrap()]).output().unwrap();
            times.push(start.elapsed());
            code = o.status.code();
            assert!(matches!(code, Some(0) | Some(1)), "{what}: {}", text(&o));
        }
        eprintln!("{what:<50} {:>10.3} {:>8}", median(&times), code.unwrap_or(-1));
        assert!(median(&times) < 2.0, "{what}: {:.3} s, goal under 2 s", median(&times));
    }
}
