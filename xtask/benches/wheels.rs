//! Benchmarks of `wheels --host` (run by hand, not timed tests):
//!
//!     cargo test -p xtask --release --bench wheels -- --nocapture --test-threads=1
//!
//! The miniature for four interpreters spanning 3.8-3.13 from a cold compile cache, then the
//! same again with unchanged source, then cold without canonical flags for comparison. The
//! figures are ratios within one run, read off the JSON reports' step times.
//!
//! `bench_jobs`: `wheels --host --all` from an empty work folder (the same path each time, so
//! the wheels can be compared byte for byte), `--jobs 1`, the default `--jobs`, `--jobs 1`
//! again: wall clock of each whole run, and the sha256 of every wheel.
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

/// One whole `wheels --host --all` from an empty work folder at `work`: its wall seconds and
/// the landed wheels' (name, sha256), and the JSON targets.
fn whole_run(work: &Path, extra: &[&str]) -> (f64, Vec<(String, String)>, Vec<Value>) {
    let _ = std::fs::remove_dir_all(work);
    let out = work.join("wheelhouse");
    let json = work.with_extension("json");
    let mut args: Vec<&str> = vec!["--all", "-o", out.to_str().unwrap(), "--json", json.to_str().unwrap()];
    args.extend(extra);
    let start = std::time::Instant::now();
    let o = Wheels::host(work).args(&args).output();
    let secs = start.elapsed().as_secs_f64();
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
    (secs, wheels, doc["targets"].as_array().unwrap().clone())
}

#[test]
fn bench_jobs() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    let dir = TempDir::new("bench-jobs");
    let work = dir.path().join("w");
    let (one, one_wheels, one_t) = whole_run(&work, &["--jobs", "1"]);
    let (default, default_wheels, default_t) = whole_run(&work, &[]);
    let (again, again_wheels, _) = whole_run(&work, &["--jobs", "1"]);
    print("--jobs 1", &one_t);
    print("default --jobs", &default_t);
    println!("\nwall clock: --jobs 1 {one:.1} s, default {default:.1} s, --jobs 1 again {again:.1} s");
    println!("default / --jobs 1 (mean of both): {:.2}x (goal <= 0.6x)", default / ((one + again) / 2.0));
    assert_eq!(one_wheels, default_wheels, "the same wheels, byte for byte");
    assert_eq!(one_wheels, again_wheels);
    println!("the same {} wheels (sha256) from each run", one_wheels.len());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", load.trim());
}
