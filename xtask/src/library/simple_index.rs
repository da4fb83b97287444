//! What a package index already holds of a project: its simple-API page (PEP 691 JSON, or the
//! PEP 503 HTML page older indexes serve), read as file names and their sha256. `deploy`
//! decides from it which wheels to upload: a file the index has with the same sha256 is
//! skipped, one with the same name and other bytes is an error naming both hashes.
//!
//! The page comes from a server: it is read as untrusted text, bounded by the caller.

use anyhow::{bail, Result};
use serde::Deserialize;

use crate::library::text::quoted;

/// One file the index lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub filename: String,
    /// Lowercase hex, when the index gives one.
    pub sha256: Option<String>,
}

/// Reads a simple-API page: JSON when `content_type` says so, HTML otherwise.
pub fn parse(content_type: &str, body: &str) -> Result<Vec<Listed>> {
    if content_type.contains("json") {
        parse_json(body)
    } else {
        Ok(parse_html(body))
    }
}

#[derive(Deserialize)]
struct Page {
    files: Vec<File>,
}

#[derive(Deserialize)]
struct File {
    filename: String,
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
}

fn parse_json(body: &str) -> Result<Vec<Listed>> {
    let page: Page = match serde_json::from_str(body) {
        Ok(p) => p,
        Err(e) => bail!("the index's JSON page is not a PEP 691 project page: {e}"),
    };
    Ok(page
        .files
        .into_iter()
        .map(|f| Listed { sha256: f.hashes.get("sha256").map(|h| h.to_ascii_lowercase()), filename: f.filename })
        .collect())
}

/// PEP 503: each file is an anchor whose text is the file name and whose URL may end in
/// `#sha256=<hex>`.
fn parse_html(body: &str) -> Vec<Listed> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = anchor(rest) {
        rest = &rest[start + 2..];
        let Some(close) = rest.find('>') else { break };
        let attrs = &rest[..close];
        let after = &rest[close + 1..];
        let Some(end) = find_ci(after, "</a>") else { break };
        let filename = unescape(after[..end].trim());
        let href = attribute(attrs, "href").unwrap_or_default();
        let sha256 = href
            .split_once("#sha256=")
            .map(|(_, h)| h.chars().take_while(char::is_ascii_hexdigit).collect::<String>().to_ascii_lowercase())
            .filter(|h| h.len() == 64);
        out.push(Listed { filename, sha256 });
        rest = &after[end + 4..];
    }
    out
}

/// Where the next `<a` tag starts (`<a>` or `<a` and a space; not `<abbr>`).
fn anchor(hay: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = find_ci(&hay[from..], "<a") {
        let at = from + i;
        match hay.as_bytes().get(at + 2) {
            Some(b'>' | b' ' | b'\t' | b'\n' | b'\r') => return Some(at),
            Some(_) => from = at + 2,
            None => return None,
        }
    }
    None
}

/// The position of `needle` in `hay`, ignoring ASCII case.
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    hay.as_bytes().windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The value of `name="..."` (or single quotes) in an anchor's attributes.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let at = find_ci(attrs, &format!("{name}="))? + name.len() + 1;
    let rest = &attrs[at..];
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(unescape(&value[..value.find(quote)?]))
}

/// The few entities an index writes in names and URLs.
fn unescape(s: &str) -> String {
    s.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'")
}

/// What to do with one wheel, given what the index lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Upload,
    /// The index has this very file.
    Skip,
}

/// Upload or skip `filename` (whose sha256 is `sha256`); an error when the index has a file of
/// that name with other bytes, or without a hash to compare.
pub fn decide(listed: &[Listed], filename: &str, sha256: &str) -> Result<Decision> {
    let Some(there) = listed.iter().find(|l| l.filename == filename) else {
        return Ok(Decision::Upload);
    };
    match &there.sha256 {
        Some(h) if h.eq_ignore_ascii_case(sha256) => Ok(Decision::Skip),
        Some(h) => bail!(
            "the index already has {} with sha256 {h}, and this one is {sha256}: a published file cannot be \
             replaced (build the release again from its tag, or bump the version)",
            quoted(filename)
        ),
        None => bail!(
            "the index lists {} without a sha256, so it cannot be told from this one ({sha256})",
            quoted(filename)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn pep503_html_and_pep691_json() {
        let html = format!(
            "<!DOCTYPE html><html><body><h1>Links for minilayout</h1>\n\
             <a href=\"/packages/minilayout-0.1.0-cp311-cp311-manylinux_2_34_x86_64.whl#sha256={A}\">minilayout-0.1.0-cp311-cp311-manylinux_2_34_x86_64.whl</a><br>\n\
             <A HREF='../../p/minilayout-0.1.0.tar.gz'>minilayout-0.1.0.tar.gz</A>\n</body></html>"
        );
        let l = parse("text/html", &html).unwrap();
        assert_eq!(
            l,
            [
                Listed {
                    filename: "minilayout-0.1.0-cp311-cp311-manylinux_2_34_x86_64.whl".into(),
                    sha256: Some(A.into())
                },
                Listed { filename: "minilayout-0.1.0.tar.gz".into(), sha256: None },
            ]
        );
        let json = format!(
            r#"{{"meta": {{"api-version": "1.1"}}, "name": "minilayout", "files": [{{"filename": "x.whl", "url": "u", "hashes": {{"sha256": "{}"}}}}]}}"#,
            B.to_uppercase()
        );
        let l = parse("application/vnd.pypi.simple.v1+json", &json).unwrap();
        assert_eq!(l, [Listed { filename: "x.whl".into(), sha256: Some(B.into()) }]);
        assert!(parse("application/json", "{").is_err());
        // Broken markup ends the listing; it never panics.
        assert!(parse("text/html", "<a href=\"x").unwrap().is_empty());
        assert_eq!(parse("text/html", "<a>n</a><a href=\"#sha256=12\">m</a>").unwrap()[1].sha256, None);
    }

    #[test]
    fn same_hash_skips_another_hash_is_an_error() {
        let listed = [
            Listed { filename: "a.whl".into(), sha256: Some(A.into()) },
            Listed { filename: "n.whl".into(), sha256: None },
        ];
        assert_eq!(decide(&listed, "a.whl", A).unwrap(), Decision::Skip);
        assert_eq!(decide(&listed, "b.whl", A).unwrap(), Decision::Upload);
        let e = decide(&listed, "a.whl", B).unwrap_err().to_string();
        assert!(e.contains(A) && e.contains(B), "{e}");
        assert!(decide(&listed, "n.whl", A).is_err());
    }
}
