//! Benchmarks of `wheels --host` (run by hand, not timed tests):
//!
//!     cargo test -p xtask --release --bench wheels -- --nocapture --test-threads=1
//!
//! The miniature for four interpreters spanning 3.8-3.13 from a cold compile cache, then the
//! same again with unchanged source, then cold without canonical flags for comparison. The
//! figures are ratios within one run, read off the JSON reports' step times.
//!
//! `bench_jobs`: `wheels --host --all` from an empty work folder (the same path each time, so
//! the wheels can be compared byte for byte), `--jobs 1` and the default `--jobs`, alternating,
//! twice each: wall clock of each whole run, the CPU time it used (its reaped processes' user +
//! system time, from /proc/self/stat), and the sha256 of every wheel. The CPU time bounds the
//! ratio from below: the default run cannot take less than its CPU time over the cores.
//!
//!     cargo test -p xtask --release --bench wheels -- --nocapture bench_jobs

#[path = "../tests/it/support.rs"]
#[allow(dead_code)]
mod support;

use std::path::Path;

use serde_json::Value;
use support::{text, TempDir, Wheels};

const PYTHONS: &[&str] = &["cp38", "cp310", "cp312", "cp313"];

fn run(work: &Path, json: &Path, extra: &[&str]) -> Vec<Value> {
    let out = work.join("wheelhouse");
    let mut args: Vec<&str> = vec!["-o", out.to_str().unwrap(), "--json", json.to_str().unwrap()];
    for p in PYTHONS {
        args.extend(["--python", p]);
    }
    args.extend(extra);
    let o = Wheels::host(work).args(&args).output();
    assert!(o.status.success(), "{}", text(&o));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    doc["targets"].as_array().unwrap().clone()
}

fn step(t: &Value, name: &str) -> f64 {
    t["steps"].as_array().unwrap().iter().find(|s| s[0] == name).map(|s| s[1].as_f64().unwrap()).unwrap_or(0.0)
}

fn total(targets: &[Value]) -> f64 {
    targets.iter().map(|t| t["seconds"].as_f64().unwrap()).sum()
}

fn print(label: &str, targets: &[Value]) {
    let first = step(&targets[0], "build");
    println!("\n{label}");
    println!(
        "{:<22} {:>8} {:>8} {:>9} {:>8} {:>7} {:>8}  {:>10}",
        "target", "prepare", "build", "auditw.", "test", "total", "build/1st", "cache hits"
    );
    for t in targets {
        let c = &t["cache"];
        let hits = c["direct_hits"].as_u64().unwrap() + c["preprocessed_hits"].as_u64().unwrap();
        let all = hits + c["misses"].as_u64().unwrap();
        println!(
            "{:<22} {:>8.1} {:>8.1} {:>9.1} {:>8.1} {:>7.1} {:>8.2}x  {:>6}/{}",
            t["target"].as_str().unwrap(),
            step(t, "prepare"),
            step(t, "build"),
            step(t, "graft"),
            step(t, "test"),
            t["seconds"].as_f64().unwrap(),
            step(t, "build") / first,
            hits,
            all
        );
    }
    println!("{:<22} {:>52.1}", "all targets", total(targets));
}

#[test]
fn bench_wheels_host_cold_then_warm() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    let dir = TempDir::new("bench-wheels");
    let work = dir.path().join("canonical");
    let cold = run(&work, &dir.path().join("cold.json"), &[]);
    let warm = run(&work, &dir.path().join("warm.json"), &[]);
    let plain = run(&dir.path().join("plain"), &dir.path().join("plain.json"), &["--no-canonical-flags"]);
    print("cold compile cache, canonical flags (default)", &cold);
    print("second run, unchanged source", &warm);
    print("cold compile cache, --no-canonical-flags", &plain);
    let worst = cold[1..].iter().map(|t| step(t, "build") / step(&cold[0], "build")).fold(0.0, f64::max);
    println!("\nfurther interpreters' build step: at most {worst:.2}x the first's (goal <= 0.25x)");
    println!("warm run total / cold run total: {:.2}x (goal <= 0.3x)", total(&warm) / total(&cold));
    let plain_worst = plain[1..].iter().map(|t| step(t, "build") / step(&plain[0], "build")).fold(0.0, f64::max);
    println!("without canonical flags: further builds at most {plain_worst:.2}x the first's");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", load.trim());
}

/// The CPU seconds (user + system) of this process's children that have been waited for,
/// with their own waited-for descendants: the `cutime` and `cstime` fields of /proc/self/stat.
fn children_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The fields after the command name's closing parenthesis start with field 3 (state).
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..].split_whitespace().collect();
    let ticks: f64 = fields[13].parse::<f64>().unwrap() + fields[14].parse::<f64>().unwrap();
    let o = std::process::Command::new("getconf").arg("CLK_TCK").output().unwrap();
    ticks / String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().unwrap()
}

/// One whole run's figures.
struct Run {
    wall: f64,
    cpu: f64,
    /// The landed wheels' (name, sha256), sorted.
    wheels: Vec<(String, String)>,
    targets: Vec<Value>,
}

/// One whole `wheels --host --all` from an empty work folder at `work`.
fn whole_run(work: &Path, extra: &[&str]) -> Run {
    let _ = std::fs::remove_dir_all(work);
    let out = work.join("wheelhouse");
    let json = work.with_extension("json");
    let mut args: Vec<&str> = vec!["--all", "-o", out.to_str().unwrap(), "--json", json.to_str().unwrap()];
    args.extend(extra);
    let (start, cpu) = (std::time::Instant::now(), children_cpu());
    let o = Wheels::host(work).args(&args).output();
    let (wall, cpu) = (start.elapsed().as_secs_f64(), children_cpu() - cpu);
    assert!(o.status.success(), "{}", text(&o));
    let mut wheels: Vec<(String, String)> = support::list_wheels(&out)
        .iter()
        .map(|w| {
            use sha2::Digest;
            let sha: String =
                sha2::Sha256::digest(std::fs::read(w).unwrap()).iter().map(|b| format!("{b:02x}")).collect();
            (w.file_name().unwrap().to_string_lossy().into_owned(), sha)
        })
        .collect();
    wheels.sort();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    Run { wall, cpu, wheels, targets: doc["targets"].as_array().unwrap().clone() }
}

#[test]
fn bench_jobs() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    let dir = TempDir::new("bench-jobs");
    let work = dir.path().join("w");
    // Alternating, twice each: the machine's noise between runs is of the size of the effect.
    let modes: [(&str, &[&str]); 4] =
        [("--jobs 1", &["--jobs", "1"]), ("default", &[]), ("--jobs 1", &["--jobs", "1"]), ("default", &[])];
    let runs: Vec<(&str, Run)> = modes.iter().map(|(label, extra)| (*label, whole_run(&work, extra))).collect();
    print("--jobs 1 (the first run)", &runs[0].1.targets);
    print("default --jobs (the first run)", &runs[1].1.targets);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    println!();
    for (label, r) in &runs {
        println!(
            "{label:<9} wall {:6.1} s  CPU {:6.1} s  cores busy on average {:.2} of {cores}",
            r.wall,
            r.cpu,
            r.cpu / r.wall
        );
    }
    let mean = |label: &str, f: &dyn Fn(&Run) -> f64| {
        let v: Vec<f64> = runs.iter().filter(|(l, _)| *l == label).map(|(_, r)| f(r)).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let (serial, parallel) = (mean("--jobs 1", &|r| r.wall), mean("default", &|r| r.wall));
    println!("default / --jobs 1 (means): {:.2}x (goal <= 0.6x)", parallel / serial);
    // A run cannot end before its CPU time is spent on every core: the default run's own CPU
    // time, and the --jobs 1 run's (the same work without the cost of sharing the cores).
    println!(
        "lowest ratio this machine allows: {:.2}x for the default runs' CPU time ({:.1} s over {cores} cores), {:.2}x for the --jobs 1 runs' ({:.1} s)",
        mean("default", &|r| r.cpu) / cores / serial,
        mean("default", &|r| r.cpu),
        mean("--jobs 1", &|r| r.cpu) / cores / serial,
        mean("--jobs 1", &|r| r.cpu)
    );
    for (_, r) in &runs[1..] {
        assert_eq!(runs[0].1.wheels, r.wheels, "the same wheels, byte for byte");
    }
    println!("the same {} wheels (sha256) from each run", runs[0].1.wheels.len());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", load.trim());
}
