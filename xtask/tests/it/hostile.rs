//! Wheels made to hurt, built at test time with Python's zipfile (and, where zipfile will not
//! write the lie, by patching its bytes): each must end in exit 2 (or, for a readable wheel
//! with a defect, exit 1) with a message that names what is wrong, never a panic, bounded
//! memory, no raw terminal escape, and nothing changed outside what the command writes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{python, snapshot, text, xtask, TempDir};

/// Builds a hostile (or an honest) wheel. `argv[1]` is the kind, `argv[2]` the output path,
/// `argv[3]` a number some kinds take. Every wheel has a dist-info with WHEEL, METADATA and a
/// RECORD that matches its files (unless the kind is about RECORD).
const MAKE_PY: &str = r#"
import base64, hashlib, os, struct, sys, zipfile, zlib
kind, out = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 0
dist = os.path.basename(out).split('-')[0] + '-' + os.path.basename(out).split('-')[1]
def digest(b):
    return 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()
def wheel(files, method=zipfile.ZIP_DEFLATED, extra_record=''):
    files = list(files) + [(dist + '.dist-info/WHEEL', b'Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n'),
                           (dist + '.dist-info/METADATA', ('Metadata-Version: 2.1\nName: %s\nVersion: %s\n' % tuple(dist.split('-'))).encode())]
    rec = ''.join('%s,%s,%d\n' % (name, digest(body), len(body)) for name, body in files) + extra_record + dist + '.dist-info/RECORD,,\n'
    with zipfile.ZipFile(out, 'w', method, compresslevel=1) as z:
        for name, body in files:
            z.writestr(name, body)
        z.writestr(dist + '.dist-info/RECORD', rec)
def patch(old, new):
    data = open(out, 'rb').read()
    assert data.count(old) >= 1, old
    open(out, 'wb').write(data.replace(old, new))
if kind == 'bomb':
    # One entry of 1000 zeros, declared (in both headers) as n bytes.
    wheel([('bomb/data.bin', b'\0' * 1000)])
    z = zipfile.ZipFile(out); info = z.getinfo('bomb/data.bin'); z.close()
    patch(struct.pack('<II', info.compress_size, 1000), struct.pack('<II', info.compress_size, n))
elif kind == 'honest':
    # n bytes from a four-letter alphabet: compresses about 4x, far under the ratio bound.
    body = os.urandom(n).translate(bytes((65 + (i & 3)) for i in range(256)))
    wheel([('big/data.txt', body)])
elif kind == 'zeros':
    wheel([('big/zeros.bin', b'\0' * n)])
elif kind == 'overlap':
    # Entry a's stored data is entry b's whole local record: b's header lies inside a's data.
    wheel([('pkg/b.py', b'print(1)\n')], method=zipfile.ZIP_STORED)
    data = open(out, 'rb').read()
    z = zipfile.ZipFile(out); b = z.getinfo('pkg/b.py'); z.close()
    inner = data[b.header_offset:b.header_offset + 30 + len('pkg/b.py') + b.compress_size]
    files = [('pkg/a.py', inner)]
    wheel(files, method=zipfile.ZIP_STORED)
    data = bytearray(open(out, 'rb').read())
    z = zipfile.ZipFile(out); a = z.getinfo('pkg/a.py'); z.close()
    b_at = a.header_offset + 30 + len('pkg/a.py')
    # A second central record for pkg/b.py pointing into a's data.
    cd = data.find(b'PK\x01\x02')
    end = data.find(b'PK\x05\x06')
    first = data[cd:cd + 46 + len('pkg/a.py')]
    rec = bytearray(first)
    rec[46:] = b'pkg/b.py'
    crc = zlib.crc32(b'print(1)\n') & 0xffffffff
    rec[16:28] = struct.pack('<III', crc, 9, 9)
    rec[42:46] = struct.pack('<I', b_at)
    count, size, offset = struct.unpack('<HIL', data[end + 10:end + 20])
    data[end + 8:end + 20] = struct.pack('<HHIL', count + 1, count + 1, size + len(rec), offset)
    data[end:end] = rec
    open(out, 'wb').write(bytes(data))
elif kind == 'local-name':
    wheel([('pkg/a.py', b'print(1)\n')])
    data = bytearray(open(out, 'rb').read())
    at = data.find(b'pkg/a.py')
    data[at:at + 8] = b'pkg/b.py'
    open(out, 'wb').write(bytes(data))
elif kind == 'escape-name':
    wheel([('pkg/\x1b[2Jevil.py', b'x = 1\n')])
elif kind == 'escape-record':
    wheel([('pkg/a.py', b'x = 1\n')], extra_record='pkg/\x1b]0;owned\x07.py,sha256=AAAA,1\n')
elif kind == 'encrypted':
    wheel([('pkg/a.py', b'x = 1\n')], method=zipfile.ZIP_STORED)
    data = bytearray(open(out, 'rb').read())
    for sig, off in ((b'PK\x03\x04', 6), (b'PK\x01\x02', 8)):
        at = data.find(sig)
        data[at + off] |= 1
    open(out, 'wb').write(bytes(data))
elif kind == 'file-and-folder':
    wheel([('pkg/__init__.py', b''), ('pkg/__init__.py/x.py', b'x = 1\n')])
else:
    sys.exit('unknown kind ' + kind)
"#;

/// Makes a wheel of `kind` named `name` in `dir`.
fn make(dir: &Path, kind: &str, name: &str, n: u64) -> PathBuf {
    let out = dir.join(name);
    let o = python(MAKE_PY, &[kind, out.to_str().unwrap(), &n.to_string()]);
    assert!(o.status.success(), "making the {kind} wheel: {}", text(&o));
    out
}

/// Runs the xtask under an address-space limit and GNU time: its output and its peak
/// resident memory in MiB.
fn measured(limit_mib: u64, args: &[&str]) -> (Output, u64) {
    let o = Command::new("/usr/bin/time")
        .args(["-f", "maxrss-kib %M", "prlimit", &format!("--as={}", limit_mib << 20), env!("CARGO_BIN_EXE_xtask")])
        .args(args)
        .output()
        .expect("GNU time (/usr/bin/time) and prlimit are needed: bash ci-scripts/setup-host.sh");
    let err = String::from_utf8_lossy(&o.stderr);
    let kib: u64 = err
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("maxrss-kib "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maxrss line from GNU time:\n{err}"));
    (o, kib >> 10)
}

fn assert_no_panic(o: &Output) {
    assert_ne!(o.status.code(), Some(101), "a panic:\n{}", text(o));
    assert!(!text(o).contains("panicked"), "a panic:\n{}", text(o));
}

/// A 1 KB wheel declaring a 3.9 GiB entry: refused before anything is allocated for it (under
/// a 1 GiB address-space limit, where the old reader aborted with a signal), the message names
/// the flag that raises the bound, and the flag does raise it (the entry is then read and found
/// corrupt: it holds 1000 bytes).
#[test]
fn a_zip_bomb_is_refused_before_it_is_allocated() {
    let dir = TempDir::new("bomb");
    let whl = make(dir.path(), "bomb", "bomb-1.0-py3-none-any.whl", 0xF000_0000);
    assert!(std::fs::metadata(&whl).unwrap().len() < 2048);
    for args in [vec!["check-wheel"], vec!["check-wheel", "--json"], vec!["fix-wheel"]] {
        let mut args = args.clone();
        args.push(whl.to_str().unwrap());
        let (o, rss) = measured(1024, &args);
        assert_no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("bomb/data.bin") && text(&o).contains("--max-ratio"), "{}", text(&o));
        assert!(rss < 64, "{args:?}: peak memory {rss} MiB for a 1 KB wheel");
    }
    // The total bound, with its own flag.
    let (o, _) =
        measured(1024, &["check-wheel", "--max-ratio", "1000000000", "--max-unpacked", "1M", whl.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--max-unpacked"), "{}", text(&o));
}

/// An honest 300 MB entry (compressing about 4x): read within the bound (the archive's size
/// plus 256 MiB, no ELF entry), healthy; and a legitimate high-ratio entry under the 64 MiB
/// threshold (48 MiB of zeros, about 1000x) is read too.
#[test]
fn honest_large_and_high_ratio_entries_pass_within_the_bound() {
    let dir = TempDir::new("honest");
    let whl = make(dir.path(), "honest", "big-1.0-py3-none-any.whl", 300_000_000);
    let archive_mib = std::fs::metadata(&whl).unwrap().len() >> 20;
    let (o, rss) = measured(4096, &["check-wheel", whl.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("healthy"), "{}", text(&o));
    assert!(rss < archive_mib + 256, "peak memory {rss} MiB for a {archive_mib} MiB archive");
    eprintln!("honest 300 MB entry: archive {archive_mib} MiB, peak {rss} MiB");

    let zeros = make(dir.path(), "zeros", "zeros-1.0-py3-none-any.whl", 48 << 20);
    let o = xtask(&["check-wheel", zeros.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

/// Archives that are two archives: a local header inside another entry's data, a local
/// header that names another file than the central directory, an encrypted entry. Unusable,
/// for both commands, and the wheel is left as it was.
#[test]
fn archives_that_disagree_with_themselves_are_unusable() {
    let dir = TempDir::new("structure");
    for (kind, why) in [
        ("overlap", "overlap"),
        ("local-name", "the local header and the central directory disagree"),
        ("encrypted", "is encrypted"),
    ] {
        let whl = make(dir.path(), kind, &format!("{}-1.0-py3-none-any.whl", kind.replace('-', "_")), 0);
        let before = std::fs::read(&whl).unwrap();
        for cmd in ["check-wheel", "fix-wheel"] {
            let o = xtask(&[cmd, whl.to_str().unwrap()]);
            assert_no_panic(&o);
            assert_eq!(o.status.code(), Some(2), "{kind}, {cmd}: {}", text(&o));
            assert!(text(&o).contains(why), "{kind}, {cmd}: {}", text(&o));
        }
        assert!(std::fs::read(&whl).unwrap() == before, "{kind}: the wheel changed");
    }
}

/// A file and a folder of one name: pip cannot install it: an error (exit 1).
#[test]
fn a_file_that_is_also_a_folder_is_an_error() {
    let dir = TempDir::new("file-folder");
    let whl = make(dir.path(), "file-and-folder", "ff-1.0-py3-none-any.whl", 0);
    let o = xtask(&["check-wheel", whl.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("pkg/__init__.py is a file and a folder"), "{}", text(&o));
}

/// Terminal escapes in an entry name (refused: unusable) and in a RECORD row (reported): none
/// reaches the terminal raw, in the report or in the JSON.
#[test]
fn terminal_escapes_never_reach_the_terminal() {
    let dir = TempDir::new("escapes");
    let named = make(dir.path(), "escape-name", "esc-1.0-py3-none-any.whl", 0);
    let recorded = make(dir.path(), "escape-record", "rec-1.0-py3-none-any.whl", 0);
    for (whl, code) in [(&named, 2), (&recorded, 1)] {
        for json in [false, true] {
            let mut args = vec!["check-wheel"];
            if json {
                args.push("--json");
            }
            args.push(whl.to_str().unwrap());
            let o = xtask(&args);
            assert_eq!(o.status.code(), Some(code), "{}", text(&o));
            let all = [o.stdout.as_slice(), o.stderr.as_slice()].concat();
            assert!(!all.contains(&0x1b) && !all.contains(&0x07), "a raw escape:\n{}", text(&o));
            assert!(text(&o).contains("\\u{1b}") || text(&o).contains("\\u001b"), "{}", text(&o));
        }
    }
}

/// A file name that is not UTF-8, a closed pipe, a FIFO given as a wheel or as the config:
/// no panic, no hang; exit 2 with the reason, or (the pipe) a quiet end.
#[test]
fn odd_files_and_pipes_never_panic_or_hang() {
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new("odd-files");
    let good = make(dir.path(), "zeros", "ok-1.0-py3-none-any.whl", 10);
    let bad_name = dir.path().join(std::ffi::OsStr::from_bytes(b"\xff\xfe-1.0-py3-none-any.whl"));
    std::fs::copy(&good, &bad_name).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_xtask")).arg("check-wheel").arg("--json").arg(&bad_name).output().unwrap();
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(doc["wheels"][0]["error"].as_str().unwrap().contains("not UTF-8"), "{doc}");

    // `check-wheel --json W | head -1`.
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["check-wheel", "--json", good.to_str().unwrap(), good.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(first.trim(), "{");
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // FIFOs: refused at once, not read forever.
    let fifo = dir.path().join("fifo-1.0-py3-none-any.whl");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let toml = dir.path().join("config.toml");
    assert!(Command::new("mkfifo").arg(&toml).status().unwrap().success());
    for args in [
        vec!["check-wheel", fifo.to_str().unwrap()],
        vec!["fix-wheel", fifo.to_str().unwrap()],
        vec!["--config", toml.to_str().unwrap(), "check-wheel", good.to_str().unwrap()],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("{args:?} hangs on a FIFO");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("not a regular file"), "{args:?}: {}", text(&o));
    }
}

/// Stale temporary files of killed runs (a dead process id) are removed by the next write in
/// that folder, links among them removed without following them, and no temporary file is
/// ever written through an existing link.
#[test]
fn leftovers_of_killed_runs_go_and_links_are_never_followed() {
    let dir = TempDir::new("stale");
    let victim_dir = dir.path().join("victim");
    std::fs::create_dir_all(&victim_dir).unwrap();
    let victim = victim_dir.join("precious");
    std::fs::write(&victim, "keep me").unwrap();
    let good = make(dir.path(), "zeros", "ok-1.0-py3-none-any.whl", 10);
    // Leftovers in the folder a command writes into, with a process id that is surely gone
    // (beyond the kernel's maximum): a link to the victim, and a file.
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let dead = 4_194_305u32;
    let link = out.join(format!(".xtask-tmp-{dead}-0000000000000000-ok-1.0-py3-none-any.whl"));
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let stale = out.join(format!(".xtask-tmp-{dead}-1111111111111111-other.whl"));
    std::fs::write(&stale, vec![0u8; 1 << 20]).unwrap();
    let outside = snapshot(&victim_dir);
    let o = xtask(&["fix-wheel", "-o", out.to_str().unwrap(), good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["ok-1.0-py3-none-any.whl"], "the copy, and nothing else");
    assert!(!link.exists() && std::fs::symlink_metadata(&link).is_err(), "the stale link was removed");
    assert!(!stale.exists(), "the stale file was removed");
    assert_eq!(snapshot(&victim_dir), outside, "nothing outside changed");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
}
