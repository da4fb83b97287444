//! The package managers of the images (apt, dnf, yum, apk): the exact command lines that
//! install the config's build dependencies, and what their output says when that fails.
//!
//! The lines are built here, as words, and unit-tested; the container runs them. dnf and yum
//! skip unavailable repositories: manylinux_2_28 still has the retired EPEL 8 repository
//! enabled, and without the option every install fails on its 404.

use crate::library::config::Packages;

/// A package manager, as detected in an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    Apt,
    Dnf,
    Yum,
    Apk,
}

/// Prints the image's package manager (`apt`, `dnf`, `yum`, `apk`) or nothing, in the order
/// the pypa images have them (AlmaLinux has both dnf and a yum alias: dnf wins).
pub const DETECT_SCRIPT: &str = "for m in apt-get:apt dnf:dnf yum:yum apk:apk; do \
     command -v \"${m%%:*}\" >/dev/null 2>&1 && { echo \"${m#*:}\"; exit 0; }; done; exit 0";

/// How many times one install command is tried.
pub const ATTEMPTS: u32 = 3;

impl Manager {
    /// The manager `DETECT_SCRIPT` printed.
    pub fn from_detected(word: &str) -> Option<Manager> {
        match word.trim() {
            "apt" => Some(Manager::Apt),
            "dnf" => Some(Manager::Dnf),
            "yum" => Some(Manager::Yum),
            "apk" => Some(Manager::Apk),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Manager::Apt => "apt",
            Manager::Dnf => "dnf",
            Manager::Yum => "yum",
            Manager::Apk => "apk",
        }
    }

    /// The config's list for this manager.
    pub fn packages(self, p: &Packages) -> &[String] {
        match self {
            Manager::Apt => &p.apt,
            Manager::Dnf => &p.dnf,
            Manager::Yum => &p.yum,
            Manager::Apk => &p.apk,
        }
    }

    /// The command that exits 0 when every one of `packages` is installed.
    pub fn installed(self, packages: &[String]) -> Vec<String> {
        let head: &[&str] = match self {
            Manager::Apt => &["dpkg", "-s"],
            Manager::Dnf | Manager::Yum => &["rpm", "-q"],
            Manager::Apk => &["apk", "info", "-e"],
        };
        words(head, packages)
    }

    /// The commands that install `packages`, in order; each is retried on its own.
    pub fn install(self, packages: &[String]) -> Vec<Vec<String>> {
        match self {
            Manager::Apt => vec![
                words(&["apt-get", "update", "-qq"], &[]),
                words(
                    &[
                        "env",
                        "DEBIAN_FRONTEND=noninteractive",
                        "apt-get",
                        "install",
                        "-y",
                        "-qq",
                        "--no-install-recommends",
                    ],
                    packages,
                ),
            ],
            Manager::Dnf => vec![words(&["dnf", "install", "-y", "--setopt=skip_if_unavailable=True"], packages)],
            Manager::Yum => vec![words(&["yum", "install", "-y", "--setopt=skip_if_unavailable=1"], packages)],
            Manager::Apk => vec![words(&["apk", "add", "--no-cache"], packages)],
        }
    }
}

fn words(head: &[&str], tail: &[String]) -> Vec<String> {
    head.iter().map(|s| s.to_string()).chain(tail.iter().cloned()).collect()
}

/// What a failed install's output says went wrong, one line per package or repository it
/// names (the managers' own wording, as of 2026); empty when it names none.
pub fn explain_failure(manager: Manager, output: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    let mut lines = output.lines().map(str::trim).peekable();
    while let Some(l) = lines.next() {
        match manager {
            Manager::Dnf | Manager::Yum => {
                if let Some(repo) = quoted_after(l, "for repo '").or_else(|| between(l, "from ", ": [Errno")) {
                    push(format!("repository {repo}: {}", l.trim_start_matches("Error: ")));
                }
                for prefix in ["No match for argument: ", "Unable to find a match: ", "No package "] {
                    if let Some(rest) = l.strip_prefix("Error: ").unwrap_or(l).strip_prefix(prefix) {
                        for p in rest.trim_end_matches(" available.").split_whitespace() {
                            push(format!("package {p}: not found in any enabled repository"));
                        }
                    }
                }
            }
            Manager::Apt => {
                if let Some(p) = l.strip_prefix("E: Unable to locate package ") {
                    push(format!("package {p}: not found in any repository"));
                }
                if let Some(rest) =
                    l.strip_prefix("E: Failed to fetch ").or_else(|| l.strip_prefix("W: Failed to fetch "))
                {
                    let url = rest.split_whitespace().next().unwrap_or(rest);
                    push(format!("repository {url}: cannot be fetched"));
                }
            }
            Manager::Apk => {
                if l.starts_with("ERROR: unable to select packages") {
                    while let Some(next) = lines.peek().filter(|n| n.contains("(no such package)")) {
                        let p = next.split_whitespace().next().unwrap_or(next);
                        push(format!("package {p}: no such package in the image's repositories"));
                        lines.next();
                    }
                }
                if let Some(rest) =
                    l.strip_prefix("WARNING: fetching ").or_else(|| l.strip_prefix("WARNING: updating and opening "))
                {
                    let (url, why) = rest.split_once(": ").unwrap_or((rest, ""));
                    push(format!("repository {url}: {why}"));
                }
            }
        }
    }
    out
}

/// The text between `start` and the next `'`.
fn quoted_after<'a>(line: &'a str, start: &str) -> Option<&'a str> {
    let rest = &line[line.find(start)? + start.len()..];
    Some(&rest[..rest.find('\'')?])
}

/// The text between `a` and `b`.
fn between<'a>(line: &'a str, a: &str, b: &str) -> Option<&'a str> {
    let rest = &line[line.find(a)? + a.len()..];
    Some(&rest[..rest.find(b)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    /// The exact lines each manager runs.
    #[test]
    fn command_lines_per_manager() {
        let p = v(&["bzip2-devel", "zlib-devel"]);
        assert_eq!(
            Manager::Dnf.install(&p),
            [v(&["dnf", "install", "-y", "--setopt=skip_if_unavailable=True", "bzip2-devel", "zlib-devel"])]
        );
        assert_eq!(
            Manager::Yum.install(&p),
            [v(&["yum", "install", "-y", "--setopt=skip_if_unavailable=1", "bzip2-devel", "zlib-devel"])]
        );
        assert_eq!(Manager::Dnf.installed(&p), v(&["rpm", "-q", "bzip2-devel", "zlib-devel"]));
        let a = v(&["libbz2-dev"]);
        assert_eq!(
            Manager::Apt.install(&a),
            [
                v(&["apt-get", "update", "-qq"]),
                v(&[
                    "env",
                    "DEBIAN_FRONTEND=noninteractive",
                    "apt-get",
                    "install",
                    "-y",
                    "-qq",
                    "--no-install-recommends",
                    "libbz2-dev"
                ])
            ]
        );
        assert_eq!(Manager::Apt.installed(&a), v(&["dpkg", "-s", "libbz2-dev"]));
        assert_eq!(Manager::Apk.install(&v(&["bzip2-dev"])), [v(&["apk", "add", "--no-cache", "bzip2-dev"])]);
        assert_eq!(Manager::Apk.installed(&v(&["bzip2-dev"])), v(&["apk", "info", "-e", "bzip2-dev"]));
        for m in ["apt", "dnf", "yum", "apk"] {
            assert_eq!(Manager::from_detected(&format!("{m}\n")).unwrap().name(), m);
        }
        assert_eq!(Manager::from_detected(""), None);
    }

    /// The detection script as sh runs it, with a PATH that holds only a fake `dnf` and `yum`.
    #[test]
    fn detection_prefers_dnf_over_its_yum_alias() {
        let dir = std::env::temp_dir().join(format!("xtask-detect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["dnf", "yum"] {
            std::fs::write(dir.join(name), "#!/bin/sh\n").unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let run = |path: &str| {
            let o =
                std::process::Command::new("/bin/sh").args(["-c", DETECT_SCRIPT]).env("PATH", path).output().unwrap();
            String::from_utf8(o.stdout).unwrap()
        };
        assert_eq!(run(dir.to_str().unwrap()).trim(), "dnf");
        assert_eq!(run("/nonexistent").trim(), "");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Failures as the managers print them: the package or the repository is named.
    #[test]
    fn failures_name_the_package_and_the_repository() {
        let dnf = "Extra Packages for Enterprise Linux 8 - x86_64  0.0  B/s |   0  B     00:00\n\
            Errors during downloading metadata for repository 'epel':\n\
            \x20 - Status code: 404 for https://mirrors.fedoraproject.org/metalink?repo=epel-8&arch=x86_64 (IP: 1.2.3.4)\n\
            Error: Failed to download metadata for repo 'epel': Cannot download repomd.xml: Cannot download repodata/repomd.xml: All mirrors were tried\n\
            No match for argument: libfoo-devel\n\
            Error: Unable to find a match: libfoo-devel";
        let e = explain_failure(Manager::Dnf, dnf);
        assert!(e.iter().any(|l| l.starts_with("repository epel: Failed to download metadata")), "{e:?}");
        assert!(e.contains(&"package libfoo-devel: not found in any enabled repository".to_string()), "{e:?}");
        let yum = "failure: repodata/repomd.xml from epel: [Errno 256] No more mirrors to try.\nNo package libfoo-devel available.";
        let e = explain_failure(Manager::Yum, yum);
        assert!(e.iter().any(|l| l.starts_with("repository epel:")), "{e:?}");
        assert!(e.iter().any(|l| l.starts_with("package libfoo-devel:")), "{e:?}");
        let apt = "E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Could not resolve 'deb.debian.org'\n\
            E: Unable to locate package libfoo-dev";
        let e = explain_failure(Manager::Apt, apt);
        assert_eq!(
            e,
            [
                "repository http://deb.debian.org/debian/dists/bookworm/InRelease: cannot be fetched",
                "package libfoo-dev: not found in any repository"
            ]
        );
        let apk =
            "WARNING: fetching https://dl-cdn.alpinelinux.org/alpine/v3.22/main: temporary error (try again later)\n\
            ERROR: unable to select packages:\n  libfoo-dev (no such package):\n    required by: world[libfoo-dev]";
        let e = explain_failure(Manager::Apk, apk);
        assert_eq!(
            e,
            [
                "repository https://dl-cdn.alpinelinux.org/alpine/v3.22/main: temporary error (try again later)",
                "package libfoo-dev: no such package in the image's repositories"
            ]
        );
        assert!(explain_failure(Manager::Apt, "something else").is_empty());
    }
}
