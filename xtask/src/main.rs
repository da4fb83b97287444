//! `cargo xtask`: parses the flags and dispatches to one module per subcommand.

mod flags;

use std::process::ExitCode;

use clap::Parser;
use xtask::config::{repo_root, Config, CONFIG_PATH};
use xtask::{check_wheel, ci, deploy, fix_wheel, standin, wheels};

/// Exit code for input the command cannot use (not a wheel, corrupt, bad config).
const EXIT_UNUSABLE: u8 = 2;

fn main() -> ExitCode {
    let flags = flags::Xtask::parse();
    match run(flags) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_UNUSABLE)
        }
    }
}

fn run(flags: flags::Xtask) -> anyhow::Result<ExitCode> {
    let explicit = flags.config.is_some();
    let config_path = flags.config.unwrap_or_else(|| repo_root().join(CONFIG_PATH));
    let config = Config::load(&config_path, explicit)?;
    match flags.command {
        flags::Command::Wheels(w) => {
            let sh = xshell::Shell::new()?;
            let opts = wheels::Options {
                all: w.all,
                python: w.python,
                host: w.host,
                images: w.images,
                pull: w.pull,
                keep_container: w.keep_container,
                project: w.project,
                out_dir: w.out_dir,
                json: w.json,
                no_canonical_flags: w.no_canonical_flags,
            };
            let passed = wheels::run(&sh, &config, &opts)?;
            Ok(if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        flags::Command::Deploy(d) => {
            let sh = xshell::Shell::new()?;
            let opts = deploy::Options {
                from: d.from,
                to: d.to,
                upload: d.upload,
                repository_url: d.repository_url,
                dry_run: d.dry_run,
                target_dir: wheels::target_dir(),
            };
            deploy::run(&sh, &config, &opts)?;
            Ok(ExitCode::SUCCESS)
        }
        flags::Command::Ci(c) => {
            let same = ci::run(&config, &repo_root(), c.system, c.check)?;
            Ok(if same { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        flags::Command::StandinImage(i) => {
            let mut opts = standin::Options { force: i.force, ..standin::Options::default() };
            if !i.pythons.is_empty() {
                opts.pythons = i.pythons;
            }
            println!("{}", standin::ensure_image(&xshell::Shell::new()?, &wheels::target_dir(), &opts)?);
            Ok(ExitCode::SUCCESS)
        }
        flags::Command::FixWheel(f) => {
            let opts = fix_wheel::Options { dry_run: f.dry_run, check: f.check, out_dir: f.out_dir };
            let fixed = fix_wheel::run(&config, &f.wheels, &opts)?;
            Ok(if fixed && opts.check { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        flags::Command::CheckWheel(c) => Ok(ExitCode::from(check_wheel::run(&config, &c.wheels, c.json)?)),
    }
}
