//! A package index's simple-API page for one project, fetched by the tools venv's Python
//! (urllib: no HTTP client in this crate), bounded in size and time. Credentials, when the
//! index wants them for reading, travel in the child's environment, never on its command line.

use std::path::Path;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

/// The largest page read (PyPI's page of a project with thousands of files is a few MB).
pub const MAX_PAGE: usize = 64 << 20;

/// Fetches argv[1] (PEP 691 JSON preferred, PEP 503 HTML accepted): prints the content type on
/// the first line, then the body; exit 3 when the index has no such project (404, or a
/// redirect to another origin, such as pypiserver's fallback to pypi.org), 4 for a page above
/// the limit (argv[2]), 5 when the credentials are refused.
const FETCH: &str = r#"
import base64, os, sys, urllib.error, urllib.parse, urllib.request
url, limit = sys.argv[1], int(sys.argv[2])
user, password = os.environ.get("XTASK_INDEX_USER"), os.environ.get("XTASK_INDEX_PASSWORD")
class Stay(urllib.request.HTTPRedirectHandler):
    # Redirects are followed here, by hand, and only within the index's own origin: a
    # pypiserver sends the projects it lacks to pypi.org, where the credentials must not go.
    def redirect_request(self, *args):
        return None
opener = urllib.request.build_opener(Stay)
origin = urllib.parse.urlsplit(url)[:2]
for _ in range(5):
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
    if user and password:
        token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        req.add_header("Authorization", "Basic " + token)
    try:
        with opener.open(req, timeout=60) as r:
            body = r.read(limit + 1)
            ctype = r.headers.get("Content-Type", "")
        break
    except urllib.error.HTTPError as e:
        if e.code in (301, 302, 303, 307, 308) and e.headers.get("Location"):
            url = urllib.parse.urljoin(url, e.headers["Location"])
            if urllib.parse.urlsplit(url)[:2] != origin:
                sys.exit(3)
            continue
        if e.code == 404:
            sys.exit(3)
        if e.code in (401, 403):
            sys.exit(5)
        sys.exit("HTTP %d from %s" % (e.code, url))
    except Exception as e:
        sys.exit("cannot reach %s: %s" % (url, e))
else:
    sys.exit("too many redirects from %s" % url)
if len(body) > limit:
    sys.exit(4)
sys.stdout.write(ctype.replace("\n", " ") + "\n")
sys.stdout.write(body.decode("utf-8", "replace"))
"#;

/// The page of `project` at `simple_url` (ending in `/`), as (content type, body); None when
/// the index has no such project.
pub fn project_page(
    sh: &Shell,
    python: &Path,
    simple_url: &str,
    project: &str,
    credentials: Option<(&str, &str)>,
) -> Result<Option<(String, String)>> {
    let url = format!("{}/{project}/", simple_url.trim_end_matches('/'));
    let limit = MAX_PAGE.to_string();
    let mut c = cmd!(sh, "{python} -c {FETCH} {url} {limit}").quiet().ignore_status();
    if let Some((user, password)) = credentials {
        c = c.env("XTASK_INDEX_USER", user).env("XTASK_INDEX_PASSWORD", password);
    }
    let out = c.output().context("cannot run the tools venv's Python to read the index")?;
    match out.status.code() {
        Some(0) => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let (ctype, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
            Ok(Some((ctype.to_string(), body.to_string())))
        }
        Some(3) => Ok(None),
        Some(4) => bail!("the index's page {url} is larger than {} MB", MAX_PAGE >> 20),
        Some(5) => bail!("{url} refused the credentials (TWINE_USERNAME / TWINE_PASSWORD) when asked what it has"),
        _ => bail!("cannot read {url}: {}", String::from_utf8_lossy(&out.stderr).trim()),
    }
}
