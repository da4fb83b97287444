//! The end of a run: one row per target (result, seconds per step, compile-cache hits,
//! wheel, size, tag), a hint where the cache missed, and the same as a JSON report.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use serde::{Serialize, Serializer};

use crate::processes::compile_cache::Stats;

/// The steps of a target, in the order they run. `Land` is not timed: it is the move of a
/// passed wheel into the output folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Prepare,
    Build,
    Graft,
    Repair,
    Check,
    Test,
    Land,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Prepare => "prepare",
            Step::Build => "build",
            Step::Graft => "graft",
            Step::Repair => "repair",
            Step::Check => "check",
            Step::Test => "test",
            Step::Land => "land",
        }
    }
}

/// What became of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// A step failed; the target's wheel did not land.
    Failed(Step),
    /// Its group failed before any target ran (pull, container, interpreter selection), or
    /// its log could not be made.
    Setup,
}

impl Outcome {
    /// The word in the summary and the JSON report: "ok", the failed step, or "setup".
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Passed => "ok",
            Outcome::Failed(step) => step.name(),
            Outcome::Setup => "setup",
        }
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.word())
    }
}

/// When the run began: the zero of every target's `started`.
static RUN_START: OnceLock<Instant> = OnceLock::new();

/// Seconds since the run began (the first call begins it).
pub fn since_start() -> f64 {
    RUN_START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// The result of one target.
#[derive(Debug, Clone, Serialize)]
pub struct TargetResult {
    pub target: String,
    /// The runner the target ran on: "host" or the image's slug. Cache hints compare targets
    /// of one group only (each has its own cache and its own interpreters).
    pub group: String,
    pub interpreter: String,
    pub result: Outcome,
    pub error: Option<String>,
    pub seconds: f64,
    /// When it began, in seconds since the run began.
    pub started: f64,
    /// (step, seconds) in the order they ran.
    pub steps: Vec<(Step, f64)>,
    pub cache: Stats,
    /// How many times the target read a wheel whole (every entry inflated): once, for the
    /// repair and check steps together.
    pub wheel_reads: u64,
    #[serde(serialize_with = "crate::library::text::serialize_opt_path")]
    pub wheel: Option<PathBuf>,
    pub size: Option<u64>,
    /// The landed wheel's sha256 (hex): one abi3 wheel shows the same under every target it
    /// served.
    pub sha256: Option<String>,
    /// The target that built the wheel, when this one only tested another's abi3 wheel.
    pub built_by: Option<String>,
    pub tag: Option<String>,
    #[serde(serialize_with = "crate::library::text::serialize_path")]
    pub log: PathBuf,
    /// The interpreter's own compile flags, for the cache hint.
    #[serde(skip)]
    pub cflags: String,
}

impl TargetResult {
    /// A row for a target about to run.
    pub fn new(target: &str, group: &str, interpreter: &str, cflags: &str, log: PathBuf) -> TargetResult {
        TargetResult {
            target: target.to_string(),
            group: group.to_string(),
            interpreter: interpreter.to_string(),
            result: Outcome::Passed,
            error: None,
            seconds: 0.0,
            started: since_start(),
            steps: Vec::new(),
            cache: Stats::default(),
            wheel_reads: 0,
            wheel: None,
            size: None,
            sha256: None,
            built_by: None,
            tag: None,
            log,
            cflags: cflags.to_string(),
        }
    }

    /// A row for a group that failed before any target ran (pull, container, selection).
    pub fn failed_setup(group: &str, error: &str) -> TargetResult {
        let mut r = TargetResult::new(group, group, "", "", PathBuf::new());
        r.result = Outcome::Setup;
        r.error = Some(error.to_string());
        r
    }

    pub fn ok(&self) -> bool {
        self.result == Outcome::Passed
    }

    pub fn step_seconds(&self, step: Step) -> Option<f64> {
        self.steps.iter().find(|(s, _)| *s == step).map(|(_, t)| *t)
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
        let result = if r.ok() { "ok".to_string() } else { format!("FAILED: {}", r.result.word()) };
        let build = r.step_seconds(Step::Build).map_or("-".into(), |t| format!("{t:.1}"));
        let cache = match r.cache.hit_rate() {
            Some(rate) => format!("{}/{} {rate:.0}%", r.cache.hits(), r.cache.hits() + r.cache.misses),
            None => "-".into(),
        };
        let size = r.size.map_or("-".into(), human_size);
        let mut wheel =
            r.wheel.as_ref().and_then(|w| w.file_name()).map_or("-".into(), |n| n.to_string_lossy().into_owned());
        if let Some(by) = &r.built_by {
            wheel.push_str(&format!(" (built by {by}, tested here)"));
        }
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
        let steps: Vec<String> = r.steps.iter().map(|(s, t)| format!("{} {t:.1}", s.name())).collect();
        eprintln!("  {:<34} {}", r.target, steps.join(", "));
    }
    let unreachable: Vec<&str> =
        results.iter().filter(|r| r.cache.remote_errors > 0).map(|r| r.target.as_str()).collect();
    if !unreachable.is_empty() {
        eprintln!(
            "\nthe remote compile cache (compile_cache.remote) was unreachable during the builds of {}: ccache \
             fell back to the local cache",
            unreachable.join(", ")
        );
    }
    let remote: u64 = results.iter().map(|r| r.cache.remote_hits).sum();
    if remote > 0 {
        eprintln!("\n{remote} compiles came from the remote compile cache");
    }
    for r in results.iter().filter(|r| !r.ok()) {
        let log = if r.log.as_os_str().is_empty() { String::new() } else { format!(": log {}", r.log.display()) };
        eprintln!("\n{} failed at {}{log}", r.target, r.result.word());
        if let Some(e) = &r.error {
            eprintln!("  {e}");
        }
    }
}

/// The summary as GitHub renders it (`$GITHUB_STEP_SUMMARY`): a table of the targets and a
/// Mermaid gantt chart of their steps over time, one section per target.
pub fn markdown(results: &[TargetResult]) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let mut md = String::from("## cargo xtask wheels\n\n| target | result | seconds | cache hits | tag | wheel |\n|---|---|---:|---:|---|---|\n");
    for r in results {
        let result = if r.ok() { "ok".to_string() } else { format!("FAILED: {}", r.result.word()) };
        let cache = match r.cache.hit_rate() {
            Some(rate) => format!("{}/{} ({rate:.0} %)", r.cache.hits(), r.cache.hits() + r.cache.misses),
            None => "-".into(),
        };
        let mut wheel =
            r.wheel.as_ref().and_then(|w| w.file_name()).map_or("-".into(), |n| n.to_string_lossy().into_owned());
        if let Some(by) = &r.built_by {
            wheel.push_str(&format!(" (built by {by})"));
        }
        md.push_str(&format!(
            "| {} | {} | {:.1} | {} | {} | {} |\n",
            cell(&r.target),
            cell(&result),
            r.seconds,
            cache,
            cell(r.tag.as_deref().unwrap_or("-")),
            cell(&wheel)
        ));
    }
    md.push_str("\n```mermaid\ngantt\n  title Steps over time (seconds since the run began)\n  dateFormat X\n  axisFormat %M:%S\n");
    for r in results.iter().filter(|r| !r.steps.is_empty()) {
        // Mermaid's own syntax characters stay out of section and task names.
        md.push_str(&format!("  section {}\n", r.target.replace([':', '#', ';'], "_")));
        let mut at = r.started;
        for (step, secs) in &r.steps {
            // Whole seconds; a step under one still gets a visible bar.
            let (from, to) = (at.round() as u64, (at + secs).round().max(at.round() + 1.0) as u64);
            md.push_str(&format!("  {} :{from}, {to}\n", step.name()));
            at += secs;
        }
    }
    md.push_str("```\n");
    md
}

/// A hint for each target after the first of its group whose build mostly missed the cache,
/// naming the flags its interpreter injects that the group's first one's does not (and the
/// reverse). Each group (the host, or one image) has its own cache: a target is compared with
/// the first target of its own group only.
pub fn cache_hints(results: &[TargetResult], canonical: bool) -> Vec<String> {
    let mut hints = Vec::new();
    let mut groups: Vec<&str> = Vec::new();
    for r in results {
        if !groups.contains(&r.group.as_str()) {
            groups.push(&r.group);
        }
    }
    for group in groups {
        // Targets that reused another's abi3 wheel compiled nothing.
        let members: Vec<&TargetResult> = results.iter().filter(|r| r.group == group && r.built_by.is_none()).collect();
        let Some(at) = members.iter().position(|r| r.ok() && r.cache.hits() + r.cache.misses > 0) else {
            continue;
        };
        let first = members[at];
        let first_flags: Vec<&str> = first.cflags.split_whitespace().collect();
        for r in &members[at + 1..] {
            let Some(rate) = r.cache.hit_rate() else {
                continue;
            };
            if rate >= 50.0 {
                continue;
            }
            let flags: Vec<&str> = r.cflags.split_whitespace().collect();
            let differ: Vec<&str> = flags
                .iter()
                .filter(|f| !first_flags.contains(f))
                .chain(first_flags.iter().filter(|f| !flags.contains(f)))
                .copied()
                .collect();
            let why = if crate::library::names::free_threaded(&r.interpreter)
                && !crate::library::names::free_threaded(&first.interpreter)
            {
                "a free-threaded interpreter's headers define Py_GIL_DISABLED, so the units that include Python.h \
                 miss by design; the Python-free ones should hit"
                    .to_string()
            } else if differ.is_empty() {
                "its compile flags match, so the sources themselves differ (or the cache was trimmed)".to_string()
            } else if canonical {
                format!(
                    "flags differ from {} in {} (add them to compile_cache.remove_flags if they do not change the ABI)",
                    first.interpreter,
                    differ.join(", ")
                )
            } else {
                format!("flags differ from {} in {} (canonical flags are off)", first.interpreter, differ.join(", "))
            };
            let who = if group == "host" { r.interpreter.clone() } else { format!("{group}: {}", r.interpreter) };
            hints.push(format!("{who}: {rate:.0}% hits: {why}"));
        }
    }
    hints
}

fn human_size(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MB", n as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.0} kB", n as f64 / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(group: &str, tag: &str, cflags: &str, hits: u64, misses: u64) -> TargetResult {
        let mut r = TargetResult::new(&format!("{group}-{tag}"), group, tag, cflags, PathBuf::new());
        r.cache = Stats { direct_hits: hits, misses, ..Stats::default() };
        r
    }

    /// Each image's first target is the baseline of that image only: the second image's first
    /// target, cold in its own cache, gets no hint comparing it with the first image's.
    #[test]
    fn the_cache_hint_baseline_is_per_group() {
        let results = vec![
            row("manylinux2014_x86_64", "cp311-cp311", "-O3 -fwrapv", 0, 13),
            row("manylinux2014_x86_64", "cp312-cp312", "-O3 -fno-strict-overflow", 10, 3),
            row("musllinux_1_2_x86_64", "cp311-cp311", "-O2 -fwrapv", 0, 13),
            row("musllinux_1_2_x86_64", "cp312-cp312", "-O2 -fno-strict-overflow", 1, 12),
        ];
        let hints = cache_hints(&results, true);
        assert_eq!(hints.len(), 1, "{hints:?}");
        assert!(
            hints[0].starts_with("musllinux_1_2_x86_64: cp312-cp312: 8% hits: flags differ from cp311-cp311 in"),
            "{hints:?}"
        );
        assert!(hints[0].contains("-fno-strict-overflow") && hints[0].contains("-fwrapv"), "{hints:?}");
        assert!(!hints[0].contains("-O"), "the same image's flags are compared: {hints:?}");
    }

    /// A free-threaded target that misses is explained by its headers, not called a flag
    /// problem.
    #[test]
    fn free_threaded_misses_are_explained() {
        let results = vec![row("current", "cp313-cp313", "-O2", 0, 13), row("current", "cp314-cp314t", "-O2", 4, 9)];
        let hints = cache_hints(&results, true);
        assert_eq!(hints.len(), 1);
        assert!(hints[0].contains("Py_GIL_DISABLED") && !hints[0].contains("remove_flags"), "{hints:?}");
    }

    #[test]
    fn markdown_table_and_gantt() {
        let mut a = row("host", "cp311-cp311", "", 0, 13);
        a.started = 0.2;
        a.steps = vec![(Step::Prepare, 4.6), (Step::Build, 30.0), (Step::Test, 0.3)];
        a.tag = Some("manylinux_2_34_x86_64".into());
        let mut b = row("host", "cp312|x", "", 10, 3);
        b.started = 35.4;
        b.result = Outcome::Failed(Step::Build);
        b.steps = vec![(Step::Prepare, 4.0), (Step::Build, 2.0)];
        let md = markdown(&[a, b]);
        assert!(md.contains("| host-cp311-cp311 | ok | 0.0 | 0/13 (0 %) | manylinux_2_34_x86_64 | - |\n"), "{md}");
        assert!(md.contains("| host-cp312\\|x | FAILED: build |"), "a | in a name is escaped: {md}");
        assert!(md.contains("```mermaid\ngantt\n") && md.contains("dateFormat X\n"), "{md}");
        assert!(md.contains("  section host-cp311-cp311\n  prepare :0, 5\n  build :5, 35\n  test :35, 36\n"), "{md}");
        assert!(md.contains("  section host-cp312|x\n  prepare :35, 39\n  build :39, 41\n"), "{md}");
        assert!(md.ends_with("```\n"));
    }

    #[test]
    fn outcomes_serialize_as_the_report_words() {
        let mut r = row("host", "cp311-cp311", "", 0, 0);
        assert_eq!(serde_json::to_value(&r).unwrap()["result"], "ok");
        r.result = Outcome::Failed(Step::Build);
        r.steps.push((Step::Prepare, 1.0));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["result"], "build");
        assert_eq!(v["steps"][0][0], "prepare");
        assert_eq!(serde_json::to_value(TargetResult::failed_setup("g", "e")).unwrap()["result"], "setup");
    }
}
