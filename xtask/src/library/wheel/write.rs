//! Writing a wheel: unchanged entries are copied raw (their compressed bytes, no
//! recompression), under new names where they move; RECORD is written anew; the
//! `.dist-info` folder comes last. Same input, same output, byte for byte.
//!
//! Every file is written through [`atomic_write`]: a temporary file created exclusively (never
//! through an existing file or link, under a name nobody can guess) in the destination's own
//! folder, then renamed over it; the original's mode (and owner, when run as root) carries
//! over, and a symlinked destination stays a link to its file, which is replaced.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use super::{record, RecordRow, Wheel};
use crate::library::text;

/// Every temporary file or folder this tool makes starts so, followed by its process id:
/// `.xtask-tmp-<pid>-<random>-<name>`. A run that was killed leaves them; the next one in that
/// folder removes those whose process is gone.
pub const TMP_PREFIX: &str = ".xtask-tmp-";

/// The write buffer of a file being written.
const WRITE_BUFFER: usize = 1 << 20;

/// `O_NOFOLLOW`: opening a symbolic link fails (Linux and macOS values).
#[cfg(target_os = "linux")]
const O_NOFOLLOW: i32 = 0o400000;
#[cfg(not(target_os = "linux"))]
const O_NOFOLLOW: i32 = 0x0100;

/// Writes `wheel` to `out` with `renames` (old entry name -> new name) applied to entries and
/// RECORD rows. RECORD hashes stay: the bytes do not change, only their names.
pub fn write_renamed(wheel: &Wheel, renames: &BTreeMap<String, String>, out: &mut (impl Write + Seek)) -> Result<()> {
    let rename = |name: &str| renames.get(name).cloned().unwrap_or_else(|| name.to_string());
    let record_name = format!("{}/RECORD", wheel.dist_info);
    let rows: Vec<RecordRow> = wheel.record.iter().map(|r| RecordRow { path: rename(&r.path), ..r.clone() }).collect();
    let record_text = record::write(&rows);

    let dist_prefix = format!("{}/", wheel.dist_info);
    let (mut dist, rest): (Vec<_>, Vec<_>) = wheel.entries.iter().partition(|e| e.name.starts_with(&dist_prefix));
    // RECORD last of all, as `wheel pack` does; the rest of .dist-info keeps its order.
    dist.sort_by_key(|e| e.name == record_name);

    let mut archive = wheel.archive.clone();
    // A failed write (a full disk) is kept by the latch and returned below; the zip writer
    // itself sees only successes, so it never prints its own complaint when dropped.
    let mut latch = Latch { inner: out, error: None, pos: 0, end: 0 };
    let mut zw = zip::ZipWriter::new(&mut latch);
    for entry in rest.into_iter().chain(dist) {
        let file = archive.by_index_raw(entry.index).map_err(|e| anyhow!("cannot read entry {}: {e}", entry.name))?;
        if entry.name == record_name {
            let options = file.options();
            drop(file);
            zw.start_file(record_name.as_str(), options)?;
            zw.write_all(record_text.as_bytes())?;
        } else {
            zw.raw_copy_file_rename(file, rename(&entry.name))
                .with_context(|| format!("cannot copy entry {}", entry.name))?;
        }
    }
    zw.finish()?;
    match latch.error {
        Some(e) => Err(anyhow!("cannot write the wheel: {e}")),
        None => Ok(()),
    }
}

/// What a repair changes in a wheel: entries whose bytes are replaced, entries added (the
/// grafted libraries, placed before `.dist-info`; files added inside `.dist-info`, such as an
/// SBOM), and the new WHEEL text. Every other entry is copied raw.
#[derive(Debug, Default)]
pub struct Edits {
    pub replaced: BTreeMap<String, Vec<u8>>,
    /// (entry name, bytes, unix mode).
    pub added: Vec<(String, Vec<u8>, u32)>,
    pub wheel_text: Option<String>,
}

/// An entry to deflate: its name, bytes, and (unix mode, timestamp).
type Fresh<'a> = (String, &'a [u8], (u32, zip::DateTime));

/// The deflate level of what a repair writes: zlib's default (6), as auditwheel's.
const REPAIR_LEVEL: i64 = 6;

/// Writes `wheel` with `edits` applied: changed and new entries deflated at level 6 on all
/// cores (each into an archive of its own in memory, then copied raw), unchanged ones copied
/// raw, RECORD rewritten with the new hashes and sizes, RECORD last. New entries carry the
/// timestamp of the original WHEEL entry, so the same input gives the same bytes.
pub fn write_edited(wheel: &Wheel, edits: &Edits, out: &mut (impl Write + Seek)) -> Result<()> {
    let record_name = format!("{}/RECORD", wheel.dist_info);
    let wheel_name = format!("{}/WHEEL", wheel.dist_info);
    let mut archive = wheel.archive.clone();
    let stamp = archive.by_name(&wheel_name).ok().and_then(|f| f.last_modified()).unwrap_or_default();

    // What gets deflated: (name, bytes, (mode, time)).
    let mut fresh: Vec<Fresh> = Vec::new();
    for entry in &wheel.entries {
        if let Some(bytes) = edits.replaced.get(&entry.name) {
            let f = archive.by_index_raw(entry.index).map_err(|e| anyhow!("cannot read entry {}: {e}", entry.name))?;
            let time = f.last_modified().unwrap_or(stamp);
            let mode = entry.unix_mode.unwrap_or(0o644) & 0o7777;
            fresh.push((entry.name.clone(), bytes.as_slice(), (mode, time)));
        }
    }
    let wheel_text = edits.wheel_text.as_ref().map(|t| t.as_bytes());
    if let Some(t) = wheel_text {
        fresh.push((wheel_name.clone(), t, (0o644, stamp)));
    }
    for (name, bytes, mode) in &edits.added {
        fresh.push((name.clone(), bytes.as_slice(), (*mode, stamp)));
    }
    let packed = deflate_all(&fresh)?;
    let packed: BTreeMap<&str, &Vec<u8>> = fresh.iter().map(|f| f.0.as_str()).zip(packed.iter()).collect();

    // RECORD: the old rows, changed ones updated, new ones before RECORD's own row.
    let row_of = |name: &str, bytes: &[u8]| {
        use base64::Engine;
        use sha2::{Digest, Sha256};
        let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes));
        RecordRow { path: name.to_string(), hash: Some(format!("sha256={hash}")), size: Some(bytes.len() as u64) }
    };
    let mut rows: Vec<RecordRow> = Vec::new();
    for r in &wheel.record {
        if r.path == record_name {
            continue;
        }
        match (edits.replaced.get(&r.path), r.path == wheel_name, wheel_text) {
            (Some(b), _, _) => rows.push(row_of(&r.path, b)),
            (None, true, Some(t)) => rows.push(row_of(&r.path, t)),
            _ => rows.push(r.clone()),
        }
    }
    rows.extend(edits.added.iter().map(|(name, bytes, _)| row_of(name, bytes)));
    rows.push(RecordRow { path: record_name.clone(), hash: None, size: None });
    let record_text = record::write(&rows);

    let dist_prefix = format!("{}/", wheel.dist_info);
    let (mut dist, rest): (Vec<_>, Vec<_>) = wheel.entries.iter().partition(|e| e.name.starts_with(&dist_prefix));
    dist.sort_by_key(|e| e.name == record_name);
    let (dist_added, added): (Vec<_>, Vec<_>) = edits.added.iter().partition(|a| a.0.starts_with(&dist_prefix));

    let mut latch = Latch { inner: out, error: None, pos: 0, end: 0 };
    let mut zw = zip::ZipWriter::new(&mut latch);
    let copy_packed = |zw: &mut zip::ZipWriter<&mut Latch<'_, _>>, name: &str| -> Result<()> {
        let bytes = packed.get(name).ok_or_else(|| anyhow!("{name} was not packed"))?;
        let mut one = zip::ZipArchive::new(std::io::Cursor::new(bytes.as_slice()))?;
        zw.raw_copy_file(one.by_index_raw(0)?)?;
        Ok(())
    };
    let mut copy_entry = |zw: &mut zip::ZipWriter<&mut Latch<'_, _>>, entry: &super::Entry| -> Result<()> {
        if entry.name == record_name {
            let options = archive.by_index_raw(entry.index)?.options();
            zw.start_file(record_name.as_str(), options)?;
            zw.write_all(record_text.as_bytes())?;
        } else if packed.contains_key(entry.name.as_str()) {
            copy_packed(zw, &entry.name)?;
        } else {
            let file =
                archive.by_index_raw(entry.index).map_err(|e| anyhow!("cannot read entry {}: {e}", entry.name))?;
            zw.raw_copy_file(file).with_context(|| format!("cannot copy entry {}", entry.name))?;
        }
        Ok(())
    };
    for entry in rest {
        copy_entry(&mut zw, entry)?;
    }
    for (name, _, _) in &added {
        copy_packed(&mut zw, name)?;
    }
    let (before_record, record): (Vec<_>, Vec<_>) = dist.into_iter().partition(|e| e.name != record_name);
    for entry in before_record {
        copy_entry(&mut zw, entry)?;
    }
    for (name, _, _) in &dist_added {
        copy_packed(&mut zw, name)?;
    }
    for entry in record {
        copy_entry(&mut zw, entry)?;
    }
    zw.finish()?;
    match latch.error {
        Some(e) => Err(anyhow!("cannot write the wheel: {e}")),
        None => Ok(()),
    }
}

/// Deflates each item into a one-entry archive in memory, on all cores, largest first (the
/// largest bounds the whole).
fn deflate_all(items: &[Fresh]) -> Result<Vec<Vec<u8>>> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(items[i].1.len()));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Result<Vec<u8>>>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                // Level 6 is valid: the constructor cannot fail.
                let level = libdeflater::CompressionLvl::new(REPAIR_LEVEL as i32).unwrap_or_default();
                let mut compressor = libdeflater::Compressor::new(level);
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&i) = order.get(k) else { break };
                    let (name, bytes, options) = &items[i];
                    let one = one_entry_archive(&mut compressor, name, bytes, options);
                    *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(one);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()).unwrap_or_else(|| Err(anyhow!("not deflated"))))
        .collect()
}

/// A zip archive of one deflated entry, built by hand around libdeflate's output (libdeflate
/// compresses smaller and faster than zlib at the same level; the zip writer then copies the
/// entry raw). Entries of 4 GiB and more are refused: no wheel entry is that large.
fn one_entry_archive(
    compressor: &mut libdeflater::Compressor,
    name: &str,
    bytes: &[u8],
    (mode, time): &(u32, zip::DateTime),
) -> Result<Vec<u8>> {
    let mut packed = vec![0u8; compressor.deflate_compress_bound(bytes.len())];
    let n = compressor.deflate_compress(bytes, &mut packed).map_err(|e| anyhow!("cannot deflate {name}: {e:?}"))?;
    packed.truncate(n);
    let (size, csize) = (u32::try_from(bytes.len()), u32::try_from(n));
    let (Ok(size), Ok(csize)) = (size, csize) else { bail!("{name} is 4 GiB or more") };
    let crc = libdeflater::crc32(bytes);
    let flags: u16 = if name.is_ascii() { 0 } else { 0x0800 };
    let name_len = u16::try_from(name.len()).map_err(|_| anyhow!("{name}: the name is too long"))?;
    let mut z = Vec::with_capacity(n + 2 * name.len() + 120);
    let common = |z: &mut Vec<u8>| {
        z.extend(20u16.to_le_bytes()); // version needed: 2.0 (deflate)
        z.extend(flags.to_le_bytes());
        z.extend(8u16.to_le_bytes()); // deflate
        z.extend(time.timepart().to_le_bytes());
        z.extend(time.datepart().to_le_bytes());
        z.extend(crc.to_le_bytes());
        z.extend(csize.to_le_bytes());
        z.extend(size.to_le_bytes());
        z.extend(name_len.to_le_bytes());
        z.extend(0u16.to_le_bytes()); // extra field length
    };
    z.extend(0x0403_4b50u32.to_le_bytes());
    common(&mut z);
    z.extend(name.as_bytes());
    z.extend(&packed);
    let cd_start = z.len() as u32;
    z.extend(0x0201_4b50u32.to_le_bytes());
    z.extend((3u16 << 8 | 20).to_le_bytes()); // made by: Unix, 2.0
    common(&mut z);
    z.extend(0u16.to_le_bytes()); // comment length
    z.extend(0u16.to_le_bytes()); // disk
    z.extend(0u16.to_le_bytes()); // internal attributes
    z.extend((((mode & 0o7777) | 0o100000) << 16).to_le_bytes());
    z.extend(0u32.to_le_bytes()); // local header offset
    z.extend(name.as_bytes());
    let cd_size = z.len() as u32 - cd_start;
    z.extend(0x0605_4b50u32.to_le_bytes());
    z.extend([0u8; 4]); // this disk, the central directory's disk
    z.extend(1u16.to_le_bytes());
    z.extend(1u16.to_le_bytes());
    z.extend(cd_size.to_le_bytes());
    z.extend(cd_start.to_le_bytes());
    z.extend(0u16.to_le_bytes());
    Ok(z)
}

/// Puts a copy of a finished wheel into `out_dir` (made if missing) atomically, through
/// [`atomic_write`]: the folder never holds half a wheel. Returns the copy's path.
pub fn copy_into_folder(wheel: &Path, out_dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", text::path(out_dir)))?;
    let name = wheel.file_name().context("the wheel has no file name")?;
    let dest = out_dir.join(name);
    let mut src = File::open(wheel).with_context(|| format!("cannot read {}", text::path(wheel)))?;
    atomic_write(&dest, |w| {
        std::io::copy(&mut src, w)?;
        Ok(())
    })?;
    Ok(dest)
}

/// A random 64-bit number from the kernel (or, without `/dev/urandom`, from the seeds the
/// standard library draws for its hash maps).
fn random() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    if File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)).is_ok() {
        return u64::from_le_bytes(b);
    }
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new().build_hasher().finish()
}

/// Creates a temporary file for `name` in `dir`: exclusively (an existing file or link of that
/// name is an error, not something to write through), not following links, under a name with
/// this process's id and 64 random bits. Returns its path and the open file.
pub fn create_temp(dir: &Path, name: &str) -> Result<(PathBuf, File)> {
    for _ in 0..8 {
        let tmp = dir.join(format!("{TMP_PREFIX}{}-{:016x}-{name}", std::process::id(), random()));
        match OpenOptions::new().write(true).create_new(true).custom_flags(O_NOFOLLOW).mode(0o666).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create a temporary file in {}", text::path(dir))),
        }
    }
    bail!("cannot create a temporary file in {}: every name tried exists", text::path(dir))
}

/// Makes a temporary folder for `name` in `dir` the same way (`mkdir` never follows a link).
pub fn create_temp_dir(dir: &Path, name: &str) -> Result<PathBuf> {
    for _ in 0..8 {
        let tmp = dir.join(format!("{TMP_PREFIX}{}-{:016x}-{name}", std::process::id(), random()));
        match std::fs::create_dir(&tmp) {
            Ok(()) => return Ok(tmp),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create a temporary folder in {}", text::path(dir)))
            }
        }
    }
    bail!("cannot create a temporary folder in {}: every name tried exists", text::path(dir))
}

/// Removes what killed runs left in `dir`: entries named [`TMP_PREFIX`]`<pid>-...` whose process
/// is gone (a process still running keeps its files). Links are removed, never followed.
/// Where there is no `/proc` to ask, nothing is removed.
pub fn remove_stale_temps(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TMP_PREFIX)) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists() {
            continue;
        }
        let path = e.path();
        let _ = match e.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
    }
}

/// The file a write to `dest` replaces: `dest`, or when it is a symbolic link the file it
/// points to (so the link stays a link and the real file is replaced in its own folder).
fn write_target(dest: &Path) -> Result<PathBuf> {
    match std::fs::symlink_metadata(dest) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(dest)
            .with_context(|| format!("{} is a link to nothing that can be replaced", text::path(dest))),
        _ => Ok(dest.to_path_buf()),
    }
}

/// Writes a file atomically: `fill` writes into a temporary file ([`create_temp`]) in the same
/// folder, which is flushed, given the original's mode (and owner and group, where this
/// process may set them), fsynced and renamed over the destination. On any error the temporary
/// file is removed and the destination is as it was. A kill mid-write leaves the destination
/// intact and a temporary file that the next run removes ([`remove_stale_temps`]).
pub fn atomic_write(dest: &Path, fill: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
    let dest = write_target(dest)?;
    let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    remove_stale_temps(dir);
    let original = std::fs::metadata(&dest).ok().filter(|m| m.is_file());
    let (tmp, file) = create_temp(dir, name)?;
    let result = (|| -> Result<()> {
        // Large writes: a wheel is copied out in few system calls.
        let mut w = BufWriter::with_capacity(WRITE_BUFFER, file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| anyhow!("cannot write {}: {}", text::path(&tmp), e.error()))?;
        if let Some(orig) = &original {
            file.set_permissions(std::fs::Permissions::from_mode(orig.mode() & 0o7777))
                .with_context(|| format!("cannot set the mode of {}", text::path(&tmp)))?;
            let own = file.metadata()?;
            if own.uid() != orig.uid() || own.gid() != orig.gid() {
                // Only root may give a file away; anyone else keeps it as their own.
                let _ = std::os::unix::fs::fchown(&file, Some(orig.uid()), Some(orig.gid()));
            }
        }
        file.sync_data().with_context(|| format!("cannot sync {}", text::path(&tmp)))?;
        std::fs::rename(&tmp, &dest)
            .with_context(|| format!("cannot rename {} to {}", text::path(&tmp), text::path(&dest)))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    } else if let Ok(d) = File::open(dir) {
        // Make the rename itself durable.
        let _ = d.sync_all();
    }
    result
}

/// A writer that keeps its first error instead of returning it, and from then on only counts
/// (a virtual position, so seeks stay consistent): the zip writer above it finishes without
/// noticing, and the caller returns the kept error.
struct Latch<'a, W> {
    inner: &'a mut W,
    error: Option<std::io::Error>,
    pos: u64,
    end: u64,
}

impl<W: Write + Seek> Write for Latch<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.error.is_none() {
            if let Err(e) = self.inner.write_all(buf) {
                self.error = Some(e);
            }
        }
        self.pos += buf.len() as u64;
        self.end = self.end.max(self.pos);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.error.is_none() {
            if let Err(e) = self.inner.flush() {
                self.error = Some(e);
            }
        }
        Ok(())
    }
}

impl<W: Write + Seek> Seek for Latch<'_, W> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        if self.error.is_none() {
            match self.inner.seek(to) {
                Ok(p) => {
                    self.pos = p;
                    self.end = self.end.max(p);
                    return Ok(p);
                }
                Err(e) => self.error = Some(e),
            }
        }
        let base = |b: u64, d: i64| b.checked_add_signed(d).unwrap_or(0);
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::Current(d) => base(self.pos, d),
            SeekFrom::End(d) => base(self.end, d),
        };
        Ok(self.pos)
    }
}
