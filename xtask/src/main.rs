//! `cargo xtask`: parses the flags and calls one command.

use std::process::ExitCode;

use clap::Parser;
use xtask::flags::{Command, Xtask};
use xtask::library::config::{repo_root, Config, CONFIG_PATH};
use xtask::{check_wheel, ci, deploy, fix_wheel, repair, wheels};

/// Exit code for input the command cannot use (not a wheel, corrupt, bad config).
const EXIT_UNUSABLE: u8 = 2;

fn main() -> ExitCode {
    let flags = Xtask::parse();
    match run(&flags) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", xtask::library::text::printable_lines(&format!("{e:#}")));
            ExitCode::from(EXIT_UNUSABLE)
        }
    }
}

fn run(flags: &Xtask) -> anyhow::Result<ExitCode> {
    let config_path = flags.config.clone().unwrap_or_else(|| repo_root().join(CONFIG_PATH));
    let config = Config::load(&config_path, flags.config.is_some())?;
    match &flags.command {
        Command::Wheels(w) => wheels::run(&xshell::Shell::new()?, &config, w),
        Command::Deploy(d) => deploy::run(&xshell::Shell::new()?, &config, d),
        Command::Ci(c) => ci::run(&config, &repo_root(), c),
        Command::FixWheel(f) => fix_wheel::run(&config, f),
        Command::Repair(r) => repair::run(&xshell::Shell::new()?, &config, r),
        Command::CheckWheel(c) => check_wheel::run(&config, c),
    }
}
