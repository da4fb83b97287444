//! `cargo xtask check-wheel`: the wheel doctor. One pass over each wheel (the library's
//! [`crate::library::report`]) answers: does every library find its dependencies once
//! installed, which manylinux/musllinux tag does the wheel earn and does it claim more, does
//! any extension contradict the wheel's Python ABI, does RECORD match. This command prints the
//! reports and turns the worst verdict into the exit code.

use std::process::ExitCode;

use anyhow::Result;

use crate::flags;
use crate::library::config::Config;
use crate::library::report::{self, Report, Strictness};
use crate::library::text;
use crate::processes::output::Output;

/// Checks every wheel, prints the reports (or one JSON document), and returns the exit code:
/// the worst over all (0 healthy, 1 problems, 2 unusable).
pub fn run(config: &Config, flags: &flags::CheckWheel) -> Result<ExitCode> {
    let limits = flags.read.limits();
    let reports: Vec<Report> = flags.wheels.iter().map(|w| report::check(config, w, &limits)).collect();
    let mut out = Output::stdout();
    if flags.json {
        let doc = serde_json::to_string_pretty(&Doc { version: 1, wheels: &reports })?;
        out.line(&text::json_printable(&doc));
    } else {
        for r in &reports {
            print_report(&mut out, r);
        }
    }
    let strict = Strictness { pypi: flags.pypi || flags.strict, warnings: flags.strict };
    Ok(ExitCode::from(reports.iter().map(|r| r.exit_code(strict)).max().unwrap_or(0)))
}

/// The JSON document.
#[derive(serde::Serialize)]
struct Doc<'a> {
    version: u32,
    wheels: &'a [Report],
}

/// "2 problems", "1 warning".
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The human report: verdict first (the counts of each level), one line per error, the
/// warnings, what PyPI would refuse, then the earned tag. Every line is made printable (a name
/// from the wheel cannot reach the terminal as an escape).
fn print_report(out: &mut Output, r: &Report) {
    let path = text::path(&r.path);
    if let Some(e) = &r.error {
        out.line(&format!("{path}: unusable: {}", text::printable_lines(e)));
        return;
    }
    let mut counts = Vec::new();
    if !r.problems.is_empty() {
        counts.push(count(r.problems.len(), "problem"));
    }
    if !r.pypi.is_empty() {
        counts.push(count(r.pypi.len(), "PyPI refusal"));
    }
    if !r.warnings.is_empty() {
        counts.push(count(r.warnings.len(), "warning"));
    }
    let verdict = if counts.is_empty() { "healthy".to_string() } else { counts.join(", ") };
    out.line(&format!("{}: {verdict}", r.wheel));
    for p in &r.problems {
        out.line(&format!("  - {}", text::printable(p)));
    }
    if let Some(fix) = &r.fix_wheel {
        out.line(&format!("  fix: `cargo xtask fix-wheel {path}` {fix}"));
    }
    for w in &r.warnings {
        out.line(&format!("  warning: {}", text::printable(w)));
    }
    if !r.pypi.is_empty() {
        out.line("  PyPI would refuse:");
        for p in &r.pypi {
            out.line(&format!("    - {}", text::printable(p)));
        }
    }
    if let Some(note) = &r.note {
        out.line(&format!("  note: {}", text::printable(note)));
    } else {
        let why = r.limited_by.first().map(|l| format!(" (not better: {})", text::printable(l))).unwrap_or_default();
        out.line(&format!("  earns: {}{why}", r.overall_tag));
    }
}
