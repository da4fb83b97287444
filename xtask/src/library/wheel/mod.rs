//! The wheel model: a wheel opened in memory, its structure and entries checked for safety
//! before anything is inflated (names, local headers against the central directory, no
//! overlapping entries, declared sizes within [`Limits`]), WHEEL and RECORD parsed, and one
//! parallel pass over its decompressed contents whose memory follows the limits, never a
//! declared size alone.

pub mod name;
pub mod record;
pub mod structure;
pub mod write;

use std::collections::{BTreeMap, HashSet};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest as _, Sha256};

thread_local! {
    /// How many whole reads ([`Wheel::scan`]: every entry inflated) this thread started.
    static FULL_READS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many times this thread has read a wheel whole: the pipeline counts them per target
/// (its report's `wheel_reads`), so a test sees a step that reads the wheel again.
pub fn full_reads() -> u64 {
    FULL_READS.with(|n| n.get())
}

pub use name::WheelName;
pub use record::RecordRow;

/// The bytes of a wheel file, shared by the threads that read its entries.
#[derive(Clone)]
pub struct Bytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

pub type Archive = zip::ZipArchive<Cursor<Bytes>>;

/// The largest entry read: far above any real library (KLayout's largest is about 60 MB;
/// CUDA libraries reach 2 GB). An ELF entry is held whole while it is read.
pub const MAX_ENTRY_SIZE: u64 = 4 << 30;

/// Entries above this size must not declare more than [`Limits::max_ratio`] times their
/// compressed size: a real library compresses 3-10x, a zip bomb millions of times.
pub const RATIO_ABOVE: u64 = 64 << 20;

/// Entries that are not ELF and larger than this are hashed while they inflate, chunk by
/// chunk, instead of being held whole (each reader thread holds at most one such buffer).
pub const STREAM_ABOVE: u64 = 16 << 20;

/// Entries larger than this are hashed on a thread of their own, beside whatever is done with
/// their bytes (parsing the ELF file).
const HASH_BESIDE_ABOVE: usize = 8 << 20;

/// WHEEL, RECORD and METADATA are read into memory as text: none of a real wheel comes near.
pub const MAX_METADATA_SIZE: u64 = 64 << 20;

/// How much a wheel may declare, each bound a flag raises (the message names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// An entry above [`RATIO_ABOVE`] may declare at most this many times its compressed size
    /// (`--max-ratio`).
    pub max_ratio: u64,
    /// What all entries together may declare, in bytes (`--max-unpacked`).
    pub max_unpacked: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_ratio: 100, max_unpacked: 8 << 30 }
    }
}

/// One archive entry, as listed by the central directory.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The name in the archive (`/`-separated, relative, checked safe).
    pub name: String,
    pub index: usize,
    pub is_dir: bool,
    pub size: u64,
    pub unix_mode: Option<u32>,
    /// Where its bytes lie (checked against every other entry's).
    pub span: structure::Span,
    pub compressed_size: u64,
}

/// A wheel read into memory and checked: names safe, `.dist-info` present, WHEEL and RECORD
/// parsed. Nothing here has verified hashes yet: see [`Wheel::scan`] and [`verify_record`].
pub struct Wheel {
    pub path: PathBuf,
    pub name: WheelName,
    pub archive: Archive,
    /// The archive's bytes (shared with `archive`), read directly by [`Wheel::scan`].
    bytes: Bytes,
    pub entries: Vec<Entry>,
    /// The `.dist-info` folder, without a trailing slash.
    pub dist_info: String,
    pub record: Vec<RecordRow>,
    /// WHEEL's `Key: value` lines; `Tag` may repeat.
    pub wheel_meta: Vec<(String, String)>,
}

impl Wheel {
    /// Opens and checks a wheel with the default [`Limits`]. Errors name the file, and the
    /// entry where one is at fault.
    pub fn open(path: &Path) -> Result<Wheel> {
        Wheel::open_with(path, &Limits::default())
    }

    /// Opens and checks a wheel. Only a regular file is read (a FIFO or a device would block
    /// or never end).
    pub fn open_with(path: &Path, limits: &Limits) -> Result<Wheel> {
        let shown = crate::library::text::path(path);
        let file_name = path
            .file_name()
            .ok_or_else(|| anyhow!("{shown} has no file name"))?
            .to_str()
            .ok_or_else(|| anyhow!("{shown}: the file name is not UTF-8, so it is no wheel name"))?;
        let name = WheelName::parse(file_name)?;
        let bytes = read_regular_file(path)?;
        Wheel::from_bytes_with(path, name, bytes, limits)
    }

    /// Reads a wheel from bytes already in memory, with the default [`Limits`]; `path` is for
    /// messages.
    pub fn from_bytes(path: &Path, name: WheelName, bytes: Vec<u8>) -> Result<Wheel> {
        Wheel::from_bytes_with(path, name, bytes, &Limits::default())
    }

    /// Reads a wheel from bytes already in memory; `path` is for messages.
    pub fn from_bytes_with(path: &Path, name: WheelName, bytes: Vec<u8>, limits: &Limits) -> Result<Wheel> {
        let shown = crate::library::text::path(path);
        let bytes = Bytes(Arc::new(bytes));
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes.clone()))
            .map_err(|e| anyhow!("{shown} is not a readable zip archive: {e}"))?;
        let entries =
            list_entries(&mut archive, bytes.as_ref(), limits).with_context(|| format!("{shown} is unsafe"))?;
        let dist_info = name.dist_info();
        let record_name = format!("{dist_info}/RECORD");
        let wheel_name = format!("{dist_info}/WHEEL");
        let read_text = |archive: &mut Archive, entry: &str| -> Result<String> {
            let f = archive.by_name(entry).map_err(|_| anyhow!("{shown} has no {entry}"))?;
            if f.size() > MAX_METADATA_SIZE {
                bail!("{shown}: {entry} declares {} bytes, more than the {MAX_METADATA_SIZE} metadata may", f.size());
            }
            let mut text = String::new();
            f.take(MAX_METADATA_SIZE)
                .read_to_string(&mut text)
                .map_err(|e| anyhow!("{shown}: cannot read {entry}: {e}"))?;
            Ok(text)
        };
        let record_text = read_text(&mut archive, &record_name)?;
        let record = record::parse(&record_text).with_context(|| format!("{shown}: bad {record_name}"))?;
        let wheel_text = read_text(&mut archive, &wheel_name)?;
        let wheel_meta = wheel_text
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Ok(Wheel { path: path.to_path_buf(), name, archive, bytes, entries, dist_info, record, wheel_meta })
    }

    /// The archive's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }

    /// The file name of the wheel, for messages.
    pub fn file_name(&self) -> String {
        self.name.file_name()
    }

    /// The tags WHEEL declares (`Tag: cp311-cp311-manylinux_2_28_x86_64` lines).
    pub fn declared_tags(&self) -> Vec<String> {
        self.wheel_meta.iter().filter(|(k, _)| k == "Tag").map(|(_, v)| v.clone()).collect()
    }

    /// The entries that are files (not directories).
    pub fn files(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| !e.is_dir)
    }

    /// Decompresses every file entry once, on all cores, calls `f` with its bytes, and hashes
    /// them for RECORD (a large entry's hash runs beside `f`, on a thread of its own, so the
    /// largest entry, which bounds the whole pass, is not hashed and parsed one after the other).
    /// The results come back in archive order. A corrupt entry (bad CRC, truncated data, a size
    /// other than declared) is an error that names it.
    pub fn scan<T, F>(&self, f: F) -> Result<Vec<(Entry, Digest, T)>>
    where
        T: Send,
        F: Fn(&Entry, &[u8]) -> T + Sync,
    {
        FULL_READS.with(|n| n.set(n.get() + 1));
        let files: Vec<&Entry> = self.files().collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(files.len().max(1));
        // Deal entries by descending size to the least loaded thread, so loads come out even.
        let mut order: Vec<usize> = (0..files.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(files[i].size));
        let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); threads];
        let mut loads = vec![0u64; threads];
        for i in order {
            let t = (0..threads).min_by_key(|&t| loads[t]).unwrap_or(0);
            loads[t] = loads[t].saturating_add(files[i].size.max(1));
            buckets[t].push(i);
        }
        let shown = &self.path.display().to_string();
        let results: Vec<Result<Vec<(usize, Digest, T)>>> = std::thread::scope(|s| {
            let handles: Vec<_> = buckets
                .into_iter()
                .map(|bucket| {
                    let files = &files;
                    let f = &f;
                    s.spawn(move || -> Result<Vec<(usize, Digest, T)>> {
                        let mut archive = self.archive.clone();
                        let mut out = Vec::with_capacity(bucket.len());
                        let mut buf = Vec::new();
                        for i in bucket {
                            let entry = files[i];
                            let (bytes, digest) = self
                                .inflate(&mut archive, entry, &mut buf)
                                .map_err(|e| anyhow!("{shown}: entry {} is corrupt: {e}", entry.name))?;
                            let digest_of = |b: &[u8]| Digest { hash: record::hash_of(b), size: entry.size };
                            let (digest, t) = match digest {
                                Some(d) => (d, f(entry, bytes)),
                                None if bytes.len() > HASH_BESIDE_ABOVE => std::thread::scope(|h| {
                                    let hashing = h.spawn(|| digest_of(bytes));
                                    let t = f(entry, bytes);
                                    (hashing.join().unwrap_or_else(|_| digest_of(bytes)), t)
                                }),
                                None => (digest_of(bytes), f(entry, bytes)),
                            };
                            out.push((i, digest, t));
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("a reader thread panicked")))).collect()
        });
        let mut slots: Vec<Option<(Digest, T)>> = files.iter().map(|_| None).collect();
        for r in results {
            for (i, d, t) in r? {
                slots[i] = Some((d, t));
            }
        }
        Ok(files.into_iter().zip(slots).filter_map(|(e, s)| s.map(|(d, t)| (e.clone(), d, t))).collect())
    }

    /// One entry's bytes, inflated straight from the archive's bytes into `buf` (sized as the
    /// entry declares, within the limits checked when the wheel was opened; stored entries are
    /// used where they lie), CRC and size checked. A deflated entry above [`STREAM_ABOVE`] that
    /// is not ELF is hashed while it streams and only its first bytes are handed on: its digest
    /// comes back with them. Other methods go through zip.
    fn inflate<'a>(
        &'a self,
        archive: &mut Archive,
        entry: &Entry,
        buf: &'a mut Vec<u8>,
    ) -> Result<(&'a [u8], Option<Digest>)> {
        let (method, crc) = {
            let zf = archive.by_index_raw(entry.index)?;
            (zf.compression(), zf.crc32())
        };
        let size = usize::try_from(entry.size)?;
        let raw = usize::try_from(entry.span.data_start)
            .ok()
            .and_then(|s| Some(s..s.checked_add(usize::try_from(entry.compressed_size).ok()?)?))
            .and_then(|r| self.bytes.0.get(r));
        match (method, raw) {
            (zip::CompressionMethod::Stored, Some(raw)) => {
                if raw.len() != size {
                    bail!("it declares {size} bytes and holds {}", raw.len());
                }
                if libdeflater::crc32(raw) != crc {
                    bail!("its CRC does not match");
                }
                Ok((raw, None))
            }
            (zip::CompressionMethod::Deflated, Some(_))
                if entry.size > STREAM_ABOVE && !self.starts_like_elf(entry)? =>
            {
                let (head, digest) = self.inflate_streaming(archive, entry, buf)?;
                Ok((head, Some(digest)))
            }
            (zip::CompressionMethod::Deflated, Some(raw)) => {
                buf.clear();
                buf.resize(size, 0);
                let mut d = libdeflater::Decompressor::new();
                let n = match d.deflate_decompress(raw, buf) {
                    Ok(n) => n,
                    Err(libdeflater::DecompressionError::InsufficientSpace) => {
                        bail!("it holds more than the {size} bytes it declares")
                    }
                    Err(e) => bail!("{e}"),
                };
                if n != size {
                    bail!("it declares {size} bytes and holds {n}");
                }
                if libdeflater::crc32(buf) != crc {
                    bail!("its CRC does not match");
                }
                Ok((&buf[..], None))
            }
            _ => {
                let (head, digest) = self.inflate_streaming(archive, entry, buf)?;
                Ok((head, Some(digest)))
            }
        }
    }

    /// Whether an entry's first bytes are ELF's magic (only those are inflated).
    fn starts_like_elf(&self, entry: &Entry) -> Result<bool> {
        let mut archive = self.archive.clone();
        let mut head = Vec::with_capacity(4);
        archive.by_index(entry.index)?.take(4).read_to_end(&mut head)?;
        Ok(crate::library::elf::is_elf(&head))
    }

    /// Inflates through zip's reader (which checks the CRC at the end) in chunks, hashing each,
    /// holding none but the first: `buf` keeps the entry's first bytes. An entry that holds
    /// more than it declares is cut off and refused.
    fn inflate_streaming<'a>(
        &'a self,
        archive: &mut Archive,
        entry: &Entry,
        buf: &'a mut Vec<u8>,
    ) -> Result<(&'a [u8], Digest)> {
        const CHUNK: usize = 1 << 20;
        const HEAD: usize = 4096;
        let mut sha = Sha256::new();
        let mut reader = archive.by_index(entry.index)?.take(entry.size.saturating_add(1));
        let mut chunk = vec![0u8; CHUNK];
        let mut total: u64 = 0;
        buf.clear();
        loop {
            let n = reader.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            sha.update(&chunk[..n]);
            if buf.len() < HEAD {
                let take = (HEAD - buf.len()).min(n);
                buf.extend_from_slice(&chunk[..take]);
            }
            total += n as u64;
            if total > entry.size {
                bail!("it holds more than the {} bytes it declares", entry.size);
            }
        }
        if total != entry.size {
            bail!("it declares {} bytes and holds {total}", entry.size);
        }
        Ok((&buf[..], Digest { hash: record::hash_digest(&sha.finalize()), size: entry.size }))
    }

    /// Whether any file entry starts like an ELF file: only the first bytes of each entry
    /// are inflated.
    pub fn has_elf(&self) -> Result<bool> {
        let mut archive = self.archive.clone();
        for entry in self.files() {
            let mut head = Vec::with_capacity(4);
            let f = archive
                .by_index(entry.index)
                .map_err(|e| anyhow!("{}: entry {}: {e}", self.path.display(), entry.name))?;
            f.take(4).read_to_end(&mut head)?;
            if crate::library::elf::is_elf(&head) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Reads one entry's bytes by name.
    pub fn read_entry(&self, name: &str) -> Result<Vec<u8>> {
        let mut archive = self.archive.clone();
        let mut f = archive.by_name(name).map_err(|e| anyhow!("{}: cannot read {name}: {e}", self.path.display()))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        Ok(buf)
    }
}

/// Reads a regular file whole; anything else (a FIFO, a device, a folder) is refused before
/// it is opened for reading.
pub fn read_regular_file(path: &Path) -> Result<Vec<u8>> {
    let shown = crate::library::text::path(path);
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {shown}"))?;
    if !meta.is_file() {
        bail!("{shown} is not a regular file");
    }
    std::fs::read(path).with_context(|| format!("cannot read {shown}"))
}

/// Lists the entries, refusing what could escape or confuse an installer (absolute names, `..`
/// components, backslashes, NUL, duplicates, encrypted entries), archives whose structure
/// disagrees with itself, and declared sizes beyond the limits, before anything is inflated.
fn list_entries(archive: &mut Archive, bytes: &[u8], limits: &Limits) -> Result<Vec<Entry>> {
    // The zip crate keeps one entry per name, so a duplicate would be silently shadowed:
    // find it in the central directory itself to name it.
    if archive.has_duplicate_names() {
        let start = archive.central_directory_start();
        match first_duplicate_name(bytes, start) {
            Some(name) => bail!("entry {} appears twice", crate::library::text::quoted(&name)),
            None => bail!("the archive has two entries with the same name"),
        }
    }
    let names: Vec<String> = (0..archive.len())
        .map(|i| {
            archive
                .by_index_raw(i)
                .map(|f| crate::library::text::quoted(&String::from_utf8_lossy(f.name_raw())))
                .unwrap_or_else(|_| format!("#{i}"))
        })
        .collect();
    let spans = structure::check(bytes, archive, &|i| names[i].clone())?;
    let mut seen = HashSet::new();
    let mut entries = Vec::with_capacity(archive.len());
    let mut total: u64 = 0;
    for (index, span) in spans.into_iter().enumerate() {
        let f = archive.by_index_raw(index).map_err(|e| anyhow!("entry #{index} is unreadable: {e}"))?;
        let raw = f.name_raw().to_vec();
        let name = String::from_utf8(raw).map_err(|_| anyhow!("entry #{index} has a name that is not UTF-8"))?;
        check_entry_name(&name)?;
        let shown = crate::library::text::quoted(&name);
        if f.encrypted() {
            bail!("entry {shown} is encrypted: a wheel's entries never are, and it cannot be read");
        }
        let (size, csize) = (f.size(), f.compressed_size());
        if size > MAX_ENTRY_SIZE {
            bail!("entry {shown} declares {size} bytes, more than the {MAX_ENTRY_SIZE} this tool reads");
        }
        if size > RATIO_ABOVE && size > limits.max_ratio.saturating_mul(csize.max(1)) {
            bail!(
                "entry {shown} declares {size} bytes from {csize} compressed ({}x): an entry above {} MiB may declare at most {}x its compressed size (raise it with --max-ratio)",
                size / csize.max(1),
                RATIO_ABOVE >> 20,
                limits.max_ratio
            );
        }
        total = total.saturating_add(size);
        if total > limits.max_unpacked {
            bail!(
                "the entries declare more than {} bytes unpacked in all (at {shown}): more than the \
                 {} allowed (raise it with --max-unpacked)",
                total,
                limits.max_unpacked
            );
        }
        let is_dir = name.ends_with('/');
        if !seen.insert(name.trim_end_matches('/').to_string()) {
            bail!("entry {shown} appears twice");
        }
        entries.push(Entry { name, index, is_dir, size, unix_mode: f.unix_mode(), span, compressed_size: csize });
    }
    Ok(entries)
}

/// Walks the central directory from `start` and returns the first name seen twice.
fn first_duplicate_name(bytes: &[u8], start: u64) -> Option<String> {
    const SIGNATURE: u32 = 0x0201_4b50;
    let u16_at = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u32_at = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut seen = HashSet::new();
    let mut at = usize::try_from(start).ok()?;
    while u32_at(at)? == SIGNATURE {
        let (name_len, extra_len, comment_len) = (u16_at(at + 28)?, u16_at(at + 30)?, u16_at(at + 32)?);
        let name = String::from_utf8_lossy(bytes.get(at + 46..at + 46 + name_len)?).into_owned();
        if !seen.insert(name.clone()) {
            return Some(name);
        }
        at += 46 + name_len + extra_len + comment_len;
    }
    None
}

/// The rules an entry name must follow; the error names the entry.
pub fn check_entry_name(name: &str) -> Result<()> {
    if name.is_empty() {
        bail!("an entry has an empty name");
    }
    let shown = crate::library::text::quoted(name);
    if name.starts_with('/') || name.as_bytes().get(1) == Some(&b':') {
        bail!("entry {shown} has an absolute name");
    }
    if name.contains('\\') {
        bail!("entry {shown} contains a backslash");
    }
    if name.contains('\0') {
        bail!("entry {shown} contains a NUL byte");
    }
    if name.chars().any(crate::library::text::acts_on_terminal) {
        bail!("entry {shown} has a control or format character in its name (a terminal escape, a line break, a direction override)");
    }
    if name.trim_end_matches('/').split('/').any(|c| c == ".." || c == "." || c.is_empty()) {
        bail!("entry {shown} has an empty, `.` or `..` path component");
    }
    Ok(())
}

/// A name that is a file and also a folder of other entries (`pkg/x.so` and `pkg/x.so/y`):
/// no file system can hold both, so pip cannot install the wheel. `names` are entry names
/// (folders end in `/`). Returns the first such name.
pub fn file_and_folder<'a>(names: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut files = HashSet::new();
    let mut folders = HashSet::new();
    for name in names {
        let trimmed = name.trim_end_matches('/');
        if name.ends_with('/') {
            folders.insert(trimmed.to_string());
        } else {
            files.insert(trimmed.to_string());
        }
        let mut rest = trimmed;
        while let Some((dir, _)) = rest.rsplit_once('/') {
            if !folders.insert(dir.to_string()) {
                break;
            }
            rest = dir;
        }
    }
    let mut clash: Vec<&String> = files.iter().filter(|f| folders.contains(*f)).collect();
    clash.sort();
    clash.first().map(|s| s.to_string())
}

/// A file's digest and size, as computed from its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub hash: String,
    pub size: u64,
}

/// What is wrong between RECORD and the archive's files.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecordReport {
    /// Listed in RECORD but not in the archive.
    pub missing: Vec<String>,
    /// In the archive but not listed.
    pub unlisted: Vec<String>,
    /// Listed with a hash or size the bytes do not have: (path, what differs).
    pub mismatched: Vec<(String, String)>,
}

impl RecordReport {
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.unlisted.is_empty() && self.mismatched.is_empty()
    }

    /// One line per problem.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.missing.iter().map(|p| format!("RECORD lists {p}, which is not in the wheel")));
        out.extend(self.unlisted.iter().map(|p| format!("{p} is in the wheel but not in RECORD")));
        out.extend(self.mismatched.iter().map(|(p, why)| format!("{p}: {why}")));
        out
    }
}

/// Compares RECORD with the digests of the archive's files. RECORD's own row and signature
/// files (RECORD.jws, RECORD.p7s) carry no hash and are not checked against bytes.
pub fn verify_record(wheel: &Wheel, digests: &BTreeMap<String, Digest>) -> RecordReport {
    let mut report = RecordReport::default();
    let record_path = format!("{}/RECORD", wheel.dist_info);
    let unhashed = [record_path.clone(), format!("{record_path}.jws"), format!("{record_path}.p7s")];
    let mut listed = HashSet::new();
    for row in &wheel.record {
        listed.insert(row.path.as_str());
        let Some(d) = digests.get(&row.path) else {
            report.missing.push(row.path.clone());
            continue;
        };
        if unhashed.contains(&row.path) {
            continue;
        }
        match &row.hash {
            None => report.mismatched.push((row.path.clone(), "RECORD gives no hash".into())),
            Some(h) if *h != d.hash => report
                .mismatched
                .push((row.path.clone(), format!("hash differs from RECORD ({h} recorded, {} found)", d.hash))),
            _ => {}
        }
        if let Some(s) = row.size {
            if s != d.size {
                report
                    .mismatched
                    .push((row.path.clone(), format!("size differs from RECORD ({s} recorded, {} found)", d.size)));
            }
        }
    }
    for path in digests.keys() {
        if !listed.contains(path.as_str()) && !unhashed.contains(path) {
            report.unlisted.push(path.clone());
        }
    }
    report
}

/// Where an entry lands when installed, relative to site-packages: the wheel root is
/// site-packages, and `<dist>.data/purelib|platlib/` go there too. Other `.data` schemes
/// (scripts, headers, data) land elsewhere: `None`.
pub fn installed_path<'a>(wheel_dist_data: &str, entry: &'a str) -> Option<&'a str> {
    match entry.strip_prefix(wheel_dist_data) {
        None => Some(entry),
        Some(rest) => rest.strip_prefix("/purelib/").or_else(|| rest.strip_prefix("/platlib/")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_checked() {
        for bad in [
            "/etc/passwd",
            "a/../../b",
            "a\\b",
            "C:/x",
            "a//b",
            "./a",
            "",
            "a\u{1b}[2J.py",
            "a\nb",
            "evil\u{202e}yp.so",
        ] {
            assert!(check_entry_name(bad).is_err(), "{bad} should be refused");
        }
        for good in ["pkg/a.py", "pkg/.libs/", "pkg.libs/libz-1234abcd.so.1"] {
            check_entry_name(good).unwrap();
        }
    }

    /// A one-file deflated wheel whose declared size is patched to `declared` in both headers.
    fn deflated_wheel(declared: Option<u32>) -> Vec<u8> {
        use std::io::Write;
        let mut zw = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let body = b"hello hello hello hello hello hello hello".repeat(1000);
        zw.start_file("p/data.bin", opts).unwrap();
        zw.write_all(&body).unwrap();
        let record = format!(
            "p/data.bin,{},{}\np-1.dist-info/WHEEL,,\np-1.dist-info/RECORD,,\n",
            record::hash_of(&body),
            body.len()
        );
        for (name, text) in [("p-1.dist-info/WHEEL", "Wheel-Version: 1.0\n"), ("p-1.dist-info/RECORD", record.as_str())]
        {
            zw.start_file(name, opts).unwrap();
            zw.write_all(text.as_bytes()).unwrap();
        }
        let mut bytes = zw.finish().unwrap().into_inner();
        if let Some(size) = declared {
            let real = (body.len() as u32).to_le_bytes();
            // The local header (offset 22) and the central directory record (offset 24).
            for (sig, off) in [(0x0403_4b50u32, 22), (0x0201_4b50u32, 24)] {
                let at = (0..bytes.len() - 4).find(|&i| bytes[i..i + 4] == sig.to_le_bytes()).unwrap();
                assert_eq!(bytes[at + off..at + off + 4], real);
                bytes[at + off..at + off + 4].copy_from_slice(&size.to_le_bytes());
            }
        }
        bytes
    }

    fn scan_error(bytes: Vec<u8>) -> Option<String> {
        let w = Wheel::from_bytes(
            Path::new("p-1-py3-none-any.whl"),
            WheelName::parse("p-1-py3-none-any.whl").unwrap(),
            bytes,
        )
        .unwrap();
        w.scan(|_, b| b.len()).err().map(|e| format!("{e:#}"))
    }

    #[test]
    fn inflate_checks_declared_sizes() {
        assert_eq!(scan_error(deflated_wheel(None)), None);
        let e = scan_error(deflated_wheel(Some(50_000))).unwrap();
        assert!(e.contains("p/data.bin") && e.contains("declares 50000 bytes and holds 41000"), "{e}");
        let e = scan_error(deflated_wheel(Some(40_000))).unwrap();
        assert!(e.contains("holds more than the 40000 bytes"), "{e}");
    }

    #[test]
    fn scan_digests_match_hash_of() {
        let w = Wheel::from_bytes(
            Path::new("p-1-py3-none-any.whl"),
            WheelName::parse("p-1-py3-none-any.whl").unwrap(),
            deflated_wheel(None),
        )
        .unwrap();
        for (_, digest, bytes) in w.scan(|_, b| b.to_vec()).unwrap() {
            assert_eq!(digest.hash, record::hash_of(&bytes));
            assert_eq!(digest.size, bytes.len() as u64);
        }
    }

    #[test]
    fn a_name_both_file_and_folder_is_found() {
        assert_eq!(file_and_folder(["p/a.so", "p/b.so"].into_iter()), None);
        assert_eq!(
            file_and_folder(["p/__init__.py", "p/__init__.py/lib_x.so"].into_iter()).as_deref(),
            Some("p/__init__.py")
        );
        assert_eq!(file_and_folder(["p/x/", "p/x"].into_iter()).as_deref(), Some("p/x"));
        assert_eq!(file_and_folder(["a/b/c/d", "a/b"].into_iter()).as_deref(), Some("a/b"));
    }

    #[test]
    fn installed_paths() {
        assert_eq!(installed_path("p-1.data", "p/x.so"), Some("p/x.so"));
        assert_eq!(installed_path("p-1.data", "p-1.data/platlib/q/y.so"), Some("q/y.so"));
        assert_eq!(installed_path("p-1.data", "p-1.data/scripts/tool"), None);
    }
}
