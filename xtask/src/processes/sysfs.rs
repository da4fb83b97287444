//! The build system's files as the native repair sees them: the host's own ([`HostFs`]), or a
//! container's, through one `sh` process started in it with `docker exec -i` that answers
//! requests on its standard input ([`ContainerFs`]): a folder's listing, a file's bytes, an
//! environment variable. One process for the whole repair, so a lookup costs a pipe round
//! trip, not a `docker exec` (~50 ms each, and a repair makes hundreds). The host binary
//! cannot run inside the image (glibc 2.17, musl, another machine), so the logic stays here.
//!
//! Also: which system package each grafted library came from (dpkg, rpm or apk, where the
//! files live), for the SBOM.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};
use xshell::Shell;

use super::runner::Runner;
use crate::library::graft::sbom::{self, ProvidedBy};
use crate::library::graft::search::{self, Kind, SystemFs, MAX_LIBRARY};

pub use crate::library::graft::search::HostFs;

/// The server's loop. `L <dir>`: `D` when it is a folder (through links), else `-`,
/// then one line per entry (`F|D|L <name>[\t<target>]`), then `.`. `R <path>`: the size in
/// bytes, then the bytes (`-1` when it is no regular file). `E <name>`: `=<value>` or `-`.
/// Paths and names come from the build system's own folders (trusted, as the environment).
const SERVER: &str = r#"
while IFS= read -r line; do
  op=${line%% *}; arg=${line#* }
  case "$op" in
  L)
    if [ -d "$arg" ]; then echo D; else echo -; fi
    if [ -d "$arg" ]; then
      for f in "$arg"/* "$arg"/.[!.]*; do
        n=${f##*/}
        if [ -L "$f" ]; then printf 'L %s\t%s\n' "$n" "$(readlink "$f")";
        elif [ -d "$f" ]; then printf 'D %s\n' "$n";
        elif [ -f "$f" ]; then printf 'F %s\n' "$n"; fi
      done
    fi
    echo . ;;
  R)
    if [ -f "$arg" ] && [ -r "$arg" ]; then wc -c < "$arg" | tr -d ' '; cat "$arg"; else echo -1; fi ;;
  E)
    if [ -n "$(eval "printf %s \"\${$arg+x}\"")" ]; then eval "printf '=%s\n' \"\$$arg\""; else echo -; fi ;;
  *) echo "?" ;;
  esac
done
"#;

/// One folder's listing: whether it is one (through links), and its entries.
#[derive(Debug, Clone)]
struct Listing {
    is_dir: bool,
    entries: BTreeMap<String, Kind>,
}

/// A container's files, asked through one long-lived `sh` in it.
pub struct ContainerFs {
    inner: Mutex<Server>,
}

struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    listings: BTreeMap<String, Listing>,
    files: BTreeMap<String, Option<Vec<u8>>>,
    env: BTreeMap<String, Option<String>>,
}

impl ContainerFs {
    /// Starts the server in the runner's container (as its user).
    pub fn start(sh: &Shell, runner: &Runner, cwd: &Path) -> Result<ContainerFs> {
        let job = runner.cmd_with_stdin(sh, "sh", &["-c".into(), SERVER.into()], cwd, &[]);
        let shown = job.to_string();
        let mut child = job
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| anyhow!("cannot start {shown}: {e}"))?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        Ok(ContainerFs {
            inner: Mutex::new(Server {
                child,
                stdin,
                stdout,
                listings: BTreeMap::new(),
                files: BTreeMap::new(),
                env: BTreeMap::new(),
            }),
        })
    }

    fn server(&self) -> std::sync::MutexGuard<'_, Server> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for ContainerFs {
    fn drop(&mut self) {
        let mut s = self.server();
        let _ = s.child.kill();
        let _ = s.child.wait();
    }
}

impl Server {
    fn ask(&mut self, op: &str, arg: &str) -> Result<()> {
        if arg.contains('\n') {
            bail!("a path with a line break cannot be asked for: {arg:?}");
        }
        writeln!(self.stdin, "{op} {arg}")?;
        self.stdin.flush()?;
        Ok(())
    }

    fn line(&mut self) -> Result<String> {
        let mut l = String::new();
        if self.stdout.read_line(&mut l)? == 0 {
            bail!("the container's file server stopped");
        }
        Ok(l.trim_end_matches('\n').to_string())
    }

    fn listing(&mut self, dir: &str) -> Result<&Listing> {
        if !self.listings.contains_key(dir) {
            self.ask("L", dir)?;
            let is_dir = self.line()? == "D";
            let mut entries = BTreeMap::new();
            loop {
                let l = self.line()?;
                if l == "." {
                    break;
                }
                let (kind, rest) = l.split_at(l.len().min(2));
                match kind.trim() {
                    "F" => entries.insert(rest.to_string(), Kind::File),
                    "D" => entries.insert(rest.to_string(), Kind::Dir),
                    "L" => {
                        let (name, target) = rest.split_once('\t').unwrap_or((rest, ""));
                        entries.insert(name.to_string(), Kind::Link(target.to_string()))
                    }
                    _ => None,
                };
            }
            self.listings.insert(dir.to_string(), Listing { is_dir, entries });
        }
        Ok(&self.listings[dir])
    }

    fn read(&mut self, path: &str) -> Result<Option<Vec<u8>>> {
        if let Some(f) = self.files.get(path) {
            return Ok(f.clone());
        }
        self.ask("R", path)?;
        let size: i64 = self.line()?.trim().parse().context("a bad size from the container's file server")?;
        let got = if size < 0 {
            None
        } else {
            if size as u64 > MAX_LIBRARY {
                bail!("{path} is {size} bytes: larger than any library this reads");
            }
            let mut buf = vec![0u8; size as usize];
            self.stdout.read_exact(&mut buf)?;
            Some(buf)
        };
        self.files.insert(path.to_string(), got.clone());
        Ok(got)
    }
}

impl SystemFs for ContainerFs {
    fn kind(&self, path: &str) -> Option<Kind> {
        let path = search::normpath(path);
        if path == "/" {
            return Some(Kind::Dir);
        }
        let (dir, name) = (search::dirname(&path).to_string(), path.rsplit('/').next().unwrap_or("").to_string());
        let mut s = self.server();
        s.listing(&dir).ok()?.entries.get(&name).cloned()
    }

    fn is_dir(&self, path: &str) -> bool {
        let path = search::normpath(path);
        let mut s = self.server();
        // The shell's `-d` follows links all the way.
        s.listing(&path).is_ok_and(|l| l.is_dir)
    }

    fn read(&self, path: &str) -> Result<Vec<u8>> {
        self.server().read(path)?.ok_or_else(|| anyhow!("{path} is not a readable regular file in the container"))
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let mut s = self.server();
        s.listing(&search::normpath(dir)).map(|l| l.entries.keys().cloned().collect()).unwrap_or_default()
    }

    fn env(&self, name: &str) -> Option<String> {
        let mut s = self.server();
        if let Some(v) = s.env.get(name) {
            return v.clone();
        }
        let got = (|| -> Result<Option<String>> {
            s.ask("E", name)?;
            let l = s.line()?;
            Ok(l.strip_prefix('=').map(String::from))
        })()
        .ok()
        .flatten();
        s.env.insert(name.to_string(), got.clone());
        got
    }
}

/// The system package of each path (as auditwheel's whichprovides: dpkg, then rpm, then apk,
/// whichever the system has; the path resolved fully first), asked with one shell script
/// where the files live. Paths without a package are left out.
pub fn packages_of(sh: &Shell, runner: &Runner, cwd: &Path, paths: &[String]) -> Result<Vec<(String, ProvidedBy)>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    // Per path: `@<path>`, then the tool's answer, then `.`.
    // dpkg answers for every path in one `dpkg -S` and one `dpkg-query` (a call per file costs
    // about 0.1 s: KLayout grafts 29 libraries).
    const SCRIPT: &str = r#"
id=$(sed -n 's/^ID=//p' /etc/os-release 2>/dev/null | tr -d '"')
echo "ID=$id"
if command -v dpkg >/dev/null 2>&1; then
  owners=$(for p in "$@"; do readlink -f "$p" 2>/dev/null || echo "$p"; done | xargs dpkg -S 2>/dev/null)
  pkgs=$(printf '%s\n' "$owners" | sed -n 's/^\([^:]*\):.*/\1/p' | sort -u)
  versions=$(dpkg-query -W -f='${Package} ${Version}\n' $pkgs 2>/dev/null)
fi
for p in "$@"; do
  r=$(readlink -f "$p" 2>/dev/null || echo "$p")
  echo "@$p"
  if command -v dpkg >/dev/null 2>&1; then
    pkg=""; v=""
    while IFS= read -r line; do
      case "$line" in *": $r") pkg=${line%%:*}; break ;; esac
    done <<EOF
$owners
EOF
    while IFS= read -r line; do
      case "$line" in "$pkg "*) v=${line#"$pkg "}; break ;; esac
    done <<EOF
$versions
EOF
    if [ -n "$pkg" ] && [ -n "$v" ]; then echo "deb $pkg $v"; fi
  elif command -v rpm >/dev/null 2>&1; then
    rpm -qf --queryformat 'rpm %{NAME} %{VERSION}-%{RELEASE}\n' "$r" 2>/dev/null | head -n1
  elif command -v apk >/dev/null 2>&1; then
    o=$(apk info --who-owns "$r" 2>/dev/null | sed -n 's/.* is owned by //p')
    if [ -n "$o" ]; then echo "apk ${o%%-*} ${o#*-}"; fi
  fi
  echo .
done
"#;
    let mut args = vec!["-c".to_string(), SCRIPT.to_string(), "sh".to_string()];
    args.extend(paths.iter().cloned());
    let job = runner.cmd(sh, "sh", &args, cwd, &[]);
    let out = job.command().stderr(Stdio::null()).output().context("cannot ask the system's package manager")?;
    Ok(parse_packages(&String::from_utf8_lossy(&out.stdout)))
}

fn parse_packages(text: &str) -> Vec<(String, ProvidedBy)> {
    let mut distro = None;
    let mut current: Option<String> = None;
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(id) = line.strip_prefix("ID=") {
            distro = sbom::os_release_id(&format!("ID={id}")).filter(|d| !d.is_empty());
        } else if let Some(p) = line.strip_prefix('@') {
            current = Some(p.to_string());
        } else if line == "." {
            current = None;
        } else if let (Some(path), Some(d)) = (&current, &distro) {
            let mut parts = line.splitn(3, ' ');
            if let (Some(t), Some(name), Some(version)) = (parts.next(), parts.next(), parts.next()) {
                if !name.is_empty() && !version.is_empty() {
                    out.push((
                        path.clone(),
                        ProvidedBy {
                            package_type: t.to_string(),
                            name: name.to_string(),
                            version: version.to_string(),
                            distro: Some(d.clone()),
                        },
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_answers_are_parsed() {
        let got = parse_packages("ID=debian\n@/lib/x/libbz2.so.1.0.4\ndeb libbz2-1.0 1.0.8-5+b1\n.\n@/opt/x.so\n.\n");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "/lib/x/libbz2.so.1.0.4");
        assert_eq!(got[0].1.purl(), "pkg:deb/debian/libbz2-1.0@1.0.8-5%2Bb1");
        assert!(parse_packages("ID=\n@/a\ndeb a 1\n.\n").is_empty(), "no distro, no package (as whichprovides)");
    }
}
