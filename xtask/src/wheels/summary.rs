//! The end of a run: one row per target (result, seconds per step, compile-cache hits,
//! wheel, size, tag), a hint where the cache missed, and the same as a JSON report.

use std::path::PathBuf;

use serde::Serialize;

use super::compile_cache::Stats;
use super::interpreters::Interpreter;

/// The result of one target.
#[derive(Debug, Clone, Serialize)]
pub struct TargetResult {
    pub target: String,
    pub interpreter: String,
    /// "ok", or the step that failed.
    pub result: String,
    pub error: Option<String>,
    pub seconds: f64,
    /// (step, seconds) in the order they ran.
    pub steps: Vec<(String, f64)>,
    pub cache: Stats,
    pub wheel: Option<PathBuf>,
    pub size: Option<u64>,
    pub tag: Option<String>,
    pub log: PathBuf,
}

impl TargetResult {
    /// A row for a group that failed before any target ran (pull, container, selection).
    pub fn failed_setup(group: &str, error: &str) -> TargetResult {
        TargetResult {
            target: group.to_string(),
            interpreter: String::new(),
            result: "setup".into(),
            error: Some(error.to_string()),
            seconds: 0.0,
            steps: Vec::new(),
            cache: Stats::default(),
            wheel: None,
            size: None,
            tag: None,
            log: PathBuf::new(),
        }
    }

    pub fn ok(&self) -> bool {
        self.result == "ok"
    }

    pub fn step_seconds(&self, step: &str) -> Option<f64> {
        self.steps.iter().find(|(s, _)| s == step).map(|(_, t)| *t)
    }
}

/// Prints the summary table to stderr (stdout is for data).
pub fn print(results: &[TargetResult]) {
    eprintln!();
    eprintln!(
        "{:<34} {:<16} {:>7} {:>7} {:>15}  {:<10} {:<24} wheel",
        "target", "result", "secs", "build", "cache hits", "size", "tag"
    );
    for r in results {
        let result = if r.ok() { "ok".to_string() } else { format!("FAILED: {}", r.result) };
        let build = r.step_seconds("build").map_or("-".into(), |t| format!("{t:.1}"));
        let cache = match r.cache.hit_rate() {
            Some(rate) => format!("{}/{} {rate:.0}%", r.cache.hits(), r.cache.hits() + r.cache.misses),
            None => "-".into(),
        };
        let size = r.size.map_or("-".into(), human_size);
        let wheel =
            r.wheel.as_ref().and_then(|w| w.file_name()).map_or("-".into(), |n| n.to_string_lossy().into_owned());
        eprintln!(
            "{:<34} {:<16} {:>7.1} {:>7} {:>15}  {:<10} {:<24} {wheel}",
            r.target,
            result,
            r.seconds,
            build,
            cache,
            size,
            r.tag.as_deref().unwrap_or("-")
        );
    }
    eprintln!();
    eprintln!("step seconds:");
    for r in results {
        let steps: Vec<String> = r.steps.iter().map(|(s, t)| format!("{s} {t:.1}")).collect();
        eprintln!("  {:<34} {}", r.target, steps.join(", "));
    }
    for r in results.iter().filter(|r| !r.ok()) {
        let log = if r.log.as_os_str().is_empty() { String::new() } else { format!(": log {}", r.log.display()) };
        eprintln!("\n{} failed at {}{log}", r.target, r.result);
        if let Some(e) = &r.error {
            eprintln!("  {e}");
        }
    }
}

/// A hint for each target after the first whose build mostly missed the cache, naming the
/// flags its interpreter injects that the first one's does not (and the reverse).
pub fn cache_hints(results: &[TargetResult], interps: &[Interpreter], canonical: bool) -> Vec<String> {
    let mut hints = Vec::new();
    let Some(first) = results.iter().find(|r| r.ok() && r.cache.hits() + r.cache.misses > 0) else {
        return hints;
    };
    let flags_of = |tag: &str| -> Vec<String> {
        interps
            .iter()
            .find(|i| i.tag == tag)
            .map(|i| i.cflags.split_whitespace().map(String::from).collect())
            .unwrap_or_default()
    };
    let first_flags = flags_of(&first.interpreter);
    for r in results.iter().skip_while(|r| r.target != first.target).skip(1) {
        let Some(rate) = r.cache.hit_rate() else {
            continue;
        };
        if rate >= 50.0 {
            continue;
        }
        let flags = flags_of(&r.interpreter);
        let differ: Vec<&String> = flags
            .iter()
            .filter(|f| !first_flags.contains(f))
            .chain(first_flags.iter().filter(|f| !flags.contains(f)))
            .collect();
        let why = if differ.is_empty() {
            "its compile flags match, so the sources themselves differ (or the cache was trimmed)".to_string()
        } else if canonical {
            format!(
                "flags differ from {} in {} (add them to compile_cache.remove_flags if they do not change the ABI)",
                first.interpreter,
                join(&differ)
            )
        } else {
            format!("flags differ from {} in {} (canonical flags are off)", first.interpreter, join(&differ))
        };
        hints.push(format!("{}: {rate:.0}% hits: {why}", r.interpreter));
    }
    hints
}

fn join(v: &[&String]) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

fn human_size(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MB", n as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.0} kB", n as f64 / 1024.0)
    }
}
