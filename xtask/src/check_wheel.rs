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

/// Checks every wheel, prints the reports (or one JSON document), and returns the exit code:
/// the worst over all (0 healthy, 1 problems, 2 unusable).
pub fn run(config: &Config, flags: &flags::CheckWheel) -> Result<ExitCode> {
    let reports: Vec<Report> = flags.wheels.iter().map(|w| report::check(config, w)).collect();
    if flags.json {
        let doc = serde_json::json!({ "version": 1, "wheels": reports });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for r in &reports {
            print_report(r);
        }
    }
    let worst = reports.iter().map(|r| r.verdict).max().unwrap_or(Verdict::Healthy);
    Ok(ExitCode::from(worst.exit_code()))
}

/// The human report: verdict first, one line per problem, then the earned tag.
fn print_report(r: &Report) {
    match &r.error {
        Some(e) => println!("{}: unusable: {e}", r.path.display()),
        None if r.problems.is_empty() => println!("{}: healthy", r.wheel),
        None => println!("{}: {} problem{}", r.wheel, r.problems.len(), if r.problems.len() == 1 { "" } else { "s" }),
    }
    for p in &r.problems {
        println!("  - {}", p.message);
    }
    if let Some(fix) = &r.fix_wheel {
        println!("  fix: `cargo xtask fix-wheel {}` {fix}", r.path.display());
    }
    if r.error.is_none() {
        let why = r.limited_by.first().map(|l| format!(" (not better: {l})")).unwrap_or_default();
        println!("  earns: {}{why}", r.overall_tag);
    }
}
