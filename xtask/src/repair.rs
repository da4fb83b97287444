//! `cargo xtask repair`: `auditwheel repair`, natively, for wheels built on this system. The
//! work is the process layer's [`crate::processes::repair`] (shared with `wheels`); this
//! command reads the flags, repairs each wheel in turn and says what it did.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use xshell::Shell;

use crate::flags;
use crate::library::config::{target_dir, Config};
use crate::library::text;
use crate::processes::repair::{self, Options, Tools};
use crate::processes::runner::Runner;
use crate::processes::sysfs::{self, HostFs};

/// Repairs every wheel into the wheel folder; the first that cannot be repaired stops the run
/// (the ones before it are written, each whole).
pub fn run(sh: &Shell, config: &Config, flags: &flags::Repair) -> Result<ExitCode> {
    if flags.wheels.is_empty() {
        bail!("no wheel given: cargo xtask repair <whl>... -w DIR");
    }
    let patchelf = crate::processes::tools::patchelf(sh, &target_dir())?;
    let host = Runner::host(std::time::Duration::from_secs(60));
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let packages = |paths: &[String]| sysfs::packages_of(sh, &host, &cwd, paths).unwrap_or_default();
    let tools = Tools { patchelf: &patchelf, scratch: &flags.wheel_dir, packages: &packages };
    let opts = Options { plat: Some(flags.plat.clone()), exclude: flags.exclude.clone(), only_plat: flags.only_plat };
    for wheel in &flags.wheels {
        let start = Instant::now();
        let done = repair::repair(config, wheel, &flags.wheel_dir, &opts, &HostFs, &tools)?;
        let grafted = if done.grafted.is_empty() {
            "nothing grafted".to_string()
        } else {
            format!("grafted {}", done.grafted.join(", "))
        };
        eprintln!(
            "{}: {grafted}; {} in {:.2} s ({})",
            text::path(wheel),
            text::path(&done.wheel),
            start.elapsed().as_secs_f64(),
            done.phase_line()
        );
    }
    Ok(ExitCode::SUCCESS)
}
