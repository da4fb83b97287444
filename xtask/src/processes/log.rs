//! A target's log: one file per target that receives every command line the runner runs for
//! it and that command's whole output, plus the notes of the steps. CI log folding when
//! GitHub Actions or Travis is detected. Running the commands is the runner's business.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// One target's log file.
pub struct Log {
    pub path: PathBuf,
    file: File,
    /// The target's name, the prefix of its lines on the console.
    pub target: String,
}

impl Log {
    pub fn create(path: &Path, target: &str) -> Result<Log> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let file = File::create(path).with_context(|| format!("cannot create the log {}", path.display()))?;
        Ok(Log { path: path.to_path_buf(), file, target: target.to_string() })
    }

    /// Writes a line to the log only.
    pub fn note(&mut self, line: &str) {
        let _ = writeln!(self.file, "{line}");
    }

    /// A handle a child process writes its output into.
    pub fn sink(&self) -> Result<File> {
        self.file.try_clone().with_context(|| format!("cannot share the log {}", self.path.display()))
    }

    /// The last `n` lines of the log, indented for a message.
    pub fn tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
    }
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
