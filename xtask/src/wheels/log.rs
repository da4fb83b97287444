//! A target's log: every command it runs is echoed to stderr and written, with its whole
//! output, to one log file per target. Long commands print a heartbeat so a 40-minute
//! compile does not look hung in a CI log. CI log folding when GitHub Actions or Travis is
//! detected.

use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use super::runner::Job;

/// How often a running command reports that it is alive: a minute, or `XTASK_HEARTBEAT_SECS`
/// (a whole number of seconds above 0; anything else is an error naming the variable, checked
/// before the first target starts).
pub fn heartbeat() -> Result<Duration> {
    match std::env::var("XTASK_HEARTBEAT_SECS") {
        Err(_) => Ok(Duration::from_secs(60)),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(s) if s > 0 => Ok(Duration::from_secs(s)),
            _ => bail!("XTASK_HEARTBEAT_SECS={v:?} is not a number of seconds above 0 (unset it for a minute)"),
        },
    }
}
/// How many lines of the log a failure shows.
const TAIL_LINES: usize = 25;

/// Set by the Ctrl-C handler; running commands are stopped and no further step starts.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C (SIGINT/SIGTERM) handler once.
pub fn install_interrupt_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            eprintln!("xtask: interrupted: stopping the running command and cleaning up");
            INTERRUPTED.store(true, Ordering::SeqCst);
        });
    });
}

/// True once Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// One target's log file.
pub struct Log {
    pub path: PathBuf,
    file: File,
    target: String,
}

impl Log {
    pub fn create(path: &Path, target: &str) -> Result<Log> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = File::create(path).with_context(|| format!("cannot create the log {}", path.display()))?;
        Ok(Log { path: path.to_path_buf(), file, target: target.to_string() })
    }

    /// Writes a line to the log only.
    pub fn note(&mut self, line: &str) {
        let _ = writeln!(self.file, "{line}");
    }

    /// Runs `cmd` with its output going to the log; echoes it; errors carry the log's tail.
    pub fn run(&mut self, what: &str, job: Job<'_>) -> Result<()> {
        self.run_with_progress(what, job, &|| None)
    }

    /// `run`, with `progress` asked at each heartbeat for a few words on how far it got
    /// (the build step: how many compiles finished).
    pub fn run_with_progress(&mut self, what: &str, job: Job<'_>, progress: &dyn Fn() -> Option<String>) -> Result<()> {
        let shown = job.to_string();
        eprintln!("[{}] $ {shown}", self.target);
        self.note(&format!("$ {shown}"));
        if interrupted() {
            bail!("interrupted before {what}");
        }
        let mut command: Command = job.command();
        command.stdin(Stdio::null()).stdout(self.file.try_clone()?).stderr(self.file.try_clone()?);
        // Its own process group, so that on Ctrl-C the whole tree under it can be stopped.
        command.process_group(0);
        let start = Instant::now();
        let mut child = command.spawn().map_err(|e| anyhow!("cannot start {shown}: {e}"))?;
        let beat = heartbeat().unwrap_or(Duration::from_secs(60));
        let mut next_beat = beat;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if interrupted() {
                stop_group(child.id());
                let _ = child.wait();
                bail!("interrupted during {what}");
            }
            std::thread::sleep(Duration::from_millis(100));
            if start.elapsed() >= next_beat {
                let secs = start.elapsed().as_secs();
                let elapsed = if secs < 60 { format!("{secs} s") } else { format!("{} min", secs / 60) };
                let far = progress().map(|p| format!("; {p}")).unwrap_or_default();
                eprintln!("[{}] ... {what} still running ({elapsed}{far}; log: {})", self.target, self.path.display());
                next_beat += beat;
            }
        };
        if !status.success() {
            let code = status.code().map_or("a signal".to_string(), |c| format!("exit code {c}"));
            bail!("{what} failed ({code}); the last lines of {}:\n{}", self.path.display(), self.tail(TAIL_LINES));
        }
        Ok(())
    }

    /// The last `n` lines of the log.
    pub fn tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
    }
}

/// Stops a process group: TERM, then KILL after a grace period.
fn stop_group(pgid: u32) {
    let group = format!("-{pgid}");
    let _ = Command::new("kill").args(["-TERM", "--", &group]).stderr(Stdio::null()).status();
    std::thread::sleep(Duration::from_secs(2));
    let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
}

/// Which CI folds the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ci {
    GitHub,
    Travis,
    None,
}

impl Ci {
    pub fn detect() -> Ci {
        if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
            Ci::GitHub
        } else if std::env::var_os("TRAVIS").is_some_and(|v| v == "true") {
            Ci::Travis
        } else {
            Ci::None
        }
    }

    /// Opens a fold (a collapsible section) named `name`.
    pub fn start(self, name: &str) {
        match self {
            Ci::GitHub => eprintln!("::group::{name}"),
            Ci::Travis => eprintln!("travis_fold:start:{}", fold_id(name)),
            Ci::None => {}
        }
    }

    pub fn end(self, name: &str) {
        match self {
            Ci::GitHub => eprintln!("::endgroup::"),
            Ci::Travis => eprintln!("travis_fold:end:{}", fold_id(name)),
            Ci::None => {}
        }
    }
}

/// Travis fold ids allow letters, digits, `.`, `_`, `-`.
fn fold_id(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect()
}
