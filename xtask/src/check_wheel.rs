//! `cargo xtask check-wheel`: the wheel doctor. One pass over each wheel (the library's
//! [`crate::library::report`]) answers: does every library find its dependencies once
//! installed, which manylinux/musllinux tag does the wheel earn and does it claim more, does
//! any extension contradict the wheel's Python ABI, does RECORD match. This command prints the
//! reports and turns the worst verdict into the exit code.

use std::process::ExitCode;

use anyhow::Result;

use crate::flags;
use crate::library::config::Config;
use crate::library::report::{self, Report, Verdict};
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
    let worst = reports.iter().map(|r| r.verdict).max().unwrap_or(Verdict::Healthy);
    Ok(ExitCode::from(worst.exit_code()))
}

/// The JSON document.
#[derive(serde::Serialize)]
struct Doc<'a> {
    version: u32,
    wheels: &'a [Report],
}

/// The human report: verdict first, one line per problem, then the earned tag. Every line is
/// made printable (a name from the wheel cannot reach the terminal as an escape).
fn print_report(out: &mut Output, r: &Report) {
    let path = text::path(&r.path);
    let n = r.problems.len();
    match &r.error {
        Some(e) => out.line(&format!("{path}: unusable: {}", text::printable_lines(e))),
        None if n == 0 => out.line(&format!("{}: healthy", r.wheel)),
        None => out.line(&format!("{}: {n} problem{}", r.wheel, if n == 1 { "" } else { "s" })),
    }
    for p in &r.problems {
        out.line(&format!("  - {}", text::printable(&p.message)));
    }
    if let Some(fix) = &r.fix_wheel {
        out.line(&format!("  fix: `cargo xtask fix-wheel {path}` {fix}"));
    }
    if r.error.is_none() {
        let why = r.limited_by.first().map(|l| format!(" (not better: {})", text::printable(l))).unwrap_or_default();
        out.line(&format!("  earns: {}{why}", r.overall_tag));
    }
}
