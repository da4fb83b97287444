//! Text taken from input, made safe to print: a name inside a wheel, a path from the command
//! line or a line of METADATA may carry terminal escapes (ESC, CSI), carriage returns that
//! overwrite what was printed, or bidirectional overrides that show one name and mean another.
//! Every such character is printed as an escape (`\u{1b}`), so what the user reads is what the
//! bytes say.

use std::path::Path;

/// Whether a character would act on the terminal instead of showing: C0 and C1 controls, DEL,
/// and the Unicode format characters that reorder or hide text.
pub fn acts_on_terminal(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// `s` with every character that acts on a terminal written as `\u{..}`.
pub fn printable(s: &str) -> String {
    if !s.chars().any(acts_on_terminal) {
        return s.to_string();
    }
    s.chars().map(|c| if acts_on_terminal(c) { format!("\\u{{{:x}}}", c as u32) } else { c.to_string() }).collect()
}

/// `s` printable, but for its line breaks: for a message of several lines whose parts were
/// made printable where they came from input.
pub fn printable_lines(s: &str) -> String {
    s.split('\n').map(printable).collect::<Vec<_>>().join("\n")
}

/// `s` in double quotes, printable (for names inside a wheel): Rust's debug form, which escapes
/// quotes, backslashes, controls and format characters alike.
pub fn quoted(s: &str) -> String {
    format!("{s:?}")
}

/// A path for a message: printable, and with any bytes that are not UTF-8 shown as `\x..`.
pub fn path(p: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let bytes = p.as_os_str().as_bytes();
    match std::str::from_utf8(bytes) {
        Ok(s) => printable(s),
        Err(_) => bytes
            .utf8_chunks()
            .flat_map(|chunk| {
                let mut out = printable(chunk.valid());
                for b in chunk.invalid() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
                [out]
            })
            .collect(),
    }
}

/// Serializes a path as [`path`] shows it, so a report never fails on a path that is not
/// UTF-8.
pub fn serialize_path<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path(p))
}

/// [`serialize_path`] for an optional path.
pub fn serialize_opt_path<S: serde::Serializer>(p: &Option<std::path::PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.serialize_some(&path(p)),
        None => s.serialize_none(),
    }
}

/// A JSON document made safe for a terminal: serde_json escapes C0 controls in strings, but
/// leaves DEL, C1 controls and format characters as they are; JSON allows `\u` escapes for any
/// character, so those are written as escapes too (the document means the same).
pub fn json_printable(json: &str) -> String {
    // Inside strings serde_json has escaped C0 already: what is left of it is the document's own
    // layout (line breaks, indentation).
    let escape = |c: char| acts_on_terminal(c) && !matches!(c, '\n' | '\r' | '\t');
    if !json.chars().any(escape) {
        return json.to_string();
    }
    json.chars().map(|c| if escape(c) { format!("\\u{:04x}", c as u32) } else { c.to_string() }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_reach_no_terminal() {
        assert_eq!(printable("pkg/a.so"), "pkg/a.so");
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("x\ry"), "x\\u{d}y");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(printable("abc\u{202e}fdp.exe"), "abc\\u{202e}fdp.exe");
        assert_eq!(quoted("a\"b\\c\u{1b}\u{202e}"), "\"a\\\"b\\\\c\\u{1b}\\u{202e}\"");
        assert_eq!(path(Path::new("/tmp/wheel\u{7}.whl")), "/tmp/wheel\\u{7}.whl");
        use std::os::unix::ffi::OsStrExt;
        assert_eq!(path(Path::new(std::ffi::OsStr::from_bytes(b"/tmp/a\xffb.whl"))), "/tmp/a\\xffb.whl");
        assert_eq!(json_printable("{\"a\":\"x\u{9b}\"}"), "{\"a\":\"x\\u009b\"}");
        assert_eq!(printable_lines("one\u{1b}\ntwo\r"), "one\\u{1b}\ntwo\\u{d}");
        let doc: serde_json::Value = serde_json::from_str(&json_printable("{\"a\":\"x\u{9b}\u{202e}\"}")).unwrap();
        assert_eq!(doc["a"], "x\u{9b}\u{202e}", "the escaped document means the same");
    }
}
