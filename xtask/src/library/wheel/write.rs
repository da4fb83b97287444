//! Writing a wheel: unchanged entries are copied raw (their compressed bytes, no
//! recompression), under new names where they move; RECORD is written anew; the
//! `.dist-info` folder comes last. Same input, same output, byte for byte.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

use super::{record, RecordRow, Wheel};

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
    let mut zw = zip::ZipWriter::new(out);
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
    Ok(())
}

/// Puts a copy of a finished wheel into `out_dir` (made if missing) atomically, through
/// `atomic_write`: the folder never holds half a wheel. Returns the copy's path.
pub fn copy_into_folder(wheel: &Path, out_dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let name = wheel.file_name().context("the wheel has no file name")?;
    let dest = out_dir.join(name);
    let bytes = std::fs::read(wheel).with_context(|| format!("cannot read {}", wheel.display()))?;
    atomic_write(&dest, |w| Ok(w.write_all(&bytes)?))?;
    Ok(dest)
}

/// Writes a file atomically: `fill` writes into a temporary file in the same folder, which is
/// flushed, fsynced and renamed over `dest`. On any error the temporary file is removed and
/// `dest` is as it was. A kill mid-write leaves `dest` intact (and at worst a `.tmp` file).
pub fn atomic_write(dest: &Path, fill: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
    let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("wheel");
    let tmp: PathBuf = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> Result<()> {
        let file = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut w = BufWriter::new(file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| anyhow!("cannot write {}: {}", tmp.display(), e.error()))?;
        file.sync_all().with_context(|| format!("cannot sync {}", tmp.display()))?;
        std::fs::rename(&tmp, dest)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), dest.display()))?;
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
