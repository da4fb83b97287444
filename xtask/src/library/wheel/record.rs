//! RECORD: the CSV manifest of a wheel, `path,sha256=<urlsafe base64, no padding>,size`.

use anyhow::{bail, Result};
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// One RECORD row. RECORD's own row and signatures have neither hash nor size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRow {
    pub path: String,
    pub hash: Option<String>,
    pub size: Option<u64>,
}

/// The RECORD form of the digest of `bytes`: `sha256=` and urlsafe base64 without padding.
pub fn hash_of(bytes: &[u8]) -> String {
    hash_digest(&Sha256::digest(bytes))
}

/// The RECORD form of a sha256 digest already computed.
pub fn hash_digest(digest: &[u8]) -> String {
    format!("sha256={}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest))
}

/// Parses RECORD text. Quoted fields (paths with commas or quotes) follow Python's csv module.
pub fn parse(text: &str) -> Result<Vec<RecordRow>> {
    let mut rows = Vec::new();
    for (lineno, fields) in csv_rows(text)?.into_iter().enumerate() {
        let line = lineno + 1;
        if fields.len() == 1 && fields[0].is_empty() {
            continue;
        }
        let [path, hash, size] = fields.as_slice() else {
            bail!("RECORD row {line} has {} fields, expected 3 (path,hash,size)", fields.len());
        };
        if path.is_empty() {
            bail!("RECORD row {line} has an empty path");
        }
        let hash = match hash.as_str() {
            "" => None,
            h if h.starts_with("sha256=") => Some(h.to_string()),
            h => {
                let algo = h.split('=').next().unwrap_or(h);
                bail!("RECORD row {line} ({path}): hash algorithm {algo:?} is not sha256");
            }
        };
        let size = match size.as_str() {
            "" => None,
            s => match s.parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => bail!("RECORD row {line} ({path}): size {s:?} is not a number"),
            },
        };
        rows.push(RecordRow { path: path.clone(), hash, size });
    }
    Ok(rows)
}

/// Writes RECORD text as Python's csv module does: one row a line, `\n` endings, fields quoted
/// only when they must be.
pub fn write(rows: &[RecordRow]) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    for r in rows {
        let size = r.size.map(|s| s.to_string()).unwrap_or_default();
        // Writing into memory cannot fail.
        let _ = w.write_record([r.path.as_str(), r.hash.as_deref().unwrap_or(""), size.as_str()]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Splits CSV text into rows of fields (Python's csv dialect: `"` quotes, `""` inside).
fn csv_rows(text: &str) -> Result<Vec<Vec<String>>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| anyhow::anyhow!("RECORD is not CSV: {e}"))?;
        rows.push(rec.iter().map(str::to_string).collect());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_paths_with_commas_round_trip() {
        let text = "pkg/a.py,sha256=abc,3\n\"pkg/x,y \"\"q\"\".txt\",sha256=def,10\npkg-1.0.dist-info/RECORD,,\n";
        let rows = parse(text).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].path, "pkg/x,y \"q\".txt");
        assert_eq!(rows[1].size, Some(10));
        assert_eq!(rows[2].hash, None);
        assert_eq!(write(&rows), text);
    }

    #[test]
    fn crlf_and_missing_final_newline() {
        let rows = parse("a,sha256=x,1\r\nb,,").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].path, "b");
    }

    #[test]
    fn bad_rows_are_named() {
        let e = parse("a,sha256=x\n").unwrap_err().to_string();
        assert!(e.contains("row 1") && e.contains("2 fields"), "{e}");
        let e = parse("a,md5=x,1\n").unwrap_err().to_string();
        assert!(e.contains("md5"), "{e}");
        let e = parse("a,sha256=x,big\n").unwrap_err().to_string();
        assert!(e.contains("big"), "{e}");
        assert!(parse("\"a,sha256=x,1\n").is_err());
    }

    #[test]
    fn hash_is_urlsafe_unpadded_sha256() {
        // python -c "import hashlib,base64;print(base64.urlsafe_b64encode(hashlib.sha256(b'hello').digest()).rstrip(b'='))"
        assert_eq!(hash_of(b"hello"), "sha256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ");
    }
}
