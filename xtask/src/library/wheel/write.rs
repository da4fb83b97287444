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
