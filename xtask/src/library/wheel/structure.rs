//! The archive's structure, checked against itself before any entry is read: every entry's
//! local header must agree with its central-directory record (name, method, CRC, sizes), and
//! no two entries may share bytes. A zip whose central directory points many entries into one
//! compressed stream, or whose local headers say something else than the central directory,
//! is a different archive to different readers: pip and PyPI refuse such files, and so does
//! this tool (unusable input, exit 2).

use anyhow::{bail, Result};

use super::Archive;

const LOCAL_SIGNATURE: u32 = 0x0403_4b50;
const CENTRAL_SIGNATURE: u32 = 0x0201_4b50;
const DESCRIPTOR_SIGNATURE: u32 = 0x0807_4b50;
/// The fixed part of a local header and of a central-directory record.
const LOCAL_LEN: usize = 30;
const CENTRAL_LEN: usize = 46;
/// The general-purpose flag bit that moves CRC and sizes into a data descriptor after the data.
const FLAG_DESCRIPTOR: u16 = 1 << 3;
/// A 32-bit size field that says "see the zip64 extra field".
const ZIP64_MARK: u32 = 0xFFFF_FFFF;
const ZIP64_EXTRA_ID: u16 = 0x0001;

/// Where one entry's bytes lie in the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub header_start: u64,
    /// The first byte of the (compressed) data.
    pub data_start: u64,
    /// One past the last byte of the entry (data, and data descriptor if any).
    pub end: u64,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

/// The zip64 sizes of an extra-field block: (uncompressed, compressed), each present only
/// where its 32-bit field holds the zip64 mark, in that order.
fn zip64_sizes(extra: &[u8], usize32: u32, csize32: u32) -> (Option<u64>, Option<u64>) {
    let mut at = 0;
    while let (Some(id), Some(len)) = (u16_at(extra, at), u16_at(extra, at + 2)) {
        let body = at + 4;
        if id == ZIP64_EXTRA_ID {
            let mut p = body;
            let mut next = || {
                let v = u64_at(extra, p);
                p += 8;
                v
            };
            let u = if usize32 == ZIP64_MARK { next() } else { None };
            let c = if csize32 == ZIP64_MARK { next() } else { None };
            return (u, c);
        }
        at = body + usize::from(len);
    }
    (None, None)
}

/// Checks every entry's local header against the central directory and the entries against
/// each other; returns each entry's span, by archive index. `name` gives an entry's name for
/// messages.
pub fn check(bytes: &[u8], archive: &mut Archive, name: &dyn Fn(usize) -> String) -> Result<Vec<Span>> {
    let cd_start = archive.central_directory_start();
    let mut spans = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let f = archive.by_index_raw(index)?;
        let shown = name(index);
        let (csize, usize_, crc) = (f.compressed_size(), f.size(), f.crc32());
        let central_at = usize::try_from(f.central_header_start())?;
        let header_at = usize::try_from(f.header_start())?;
        let central_name = f.name_raw().to_vec();
        drop(f);
        // The central record as written (the zip crate hands back decoded values).
        if u32_at(bytes, central_at) != Some(CENTRAL_SIGNATURE) || bytes.len() < central_at + CENTRAL_LEN {
            bail!("entry {shown}: its central-directory record is not where the directory says");
        }
        let (Some(c_flags), Some(c_method)) = (u16_at(bytes, central_at + 8), u16_at(bytes, central_at + 10)) else {
            bail!("entry {shown}: its central-directory record is cut short");
        };
        // The local header.
        if u32_at(bytes, header_at) != Some(LOCAL_SIGNATURE) {
            bail!("entry {shown}: no local header at offset {header_at}, where the central directory points");
        }
        let field = |off: usize| u32_at(bytes, header_at + off);
        let (Some(l_flags), Some(l_method), Some(l_crc), Some(l_csize), Some(l_usize), Some(nlen), Some(xlen)) = (
            u16_at(bytes, header_at + 6),
            u16_at(bytes, header_at + 8),
            field(14),
            field(18),
            field(22),
            u16_at(bytes, header_at + 26),
            u16_at(bytes, header_at + 28),
        ) else {
            bail!("entry {shown}: its local header is cut short");
        };
        let name_at = header_at + LOCAL_LEN;
        let extra_at = name_at + usize::from(nlen);
        let data_start = extra_at + usize::from(xlen);
        let (Some(local_name), Some(extra)) = (bytes.get(name_at..extra_at), bytes.get(extra_at..data_start)) else {
            bail!("entry {shown}: its local header is cut short");
        };
        if local_name != central_name.as_slice() {
            bail!(
                "entry {shown}: its local header names it {:?}: the local header and the central directory disagree",
                String::from_utf8_lossy(local_name)
            );
        }
        if l_method != c_method {
            bail!("entry {shown}: the local header and the central directory disagree on the compression method");
        }
        if (l_flags ^ c_flags) & FLAG_DESCRIPTOR != 0 {
            bail!("entry {shown}: the local header and the central directory disagree on the data descriptor");
        }
        let data_end = (data_start as u64).checked_add(csize).filter(|&e| e <= bytes.len() as u64);
        let Some(data_end) = data_end else {
            bail!("entry {shown}: its {csize} compressed bytes run past the end of the archive");
        };
        let mut end = data_end;
        if l_flags & FLAG_DESCRIPTOR == 0 {
            let (z_usize, z_csize) = zip64_sizes(extra, l_usize, l_csize);
            let l_usize = z_usize.unwrap_or(u64::from(l_usize));
            let l_csize = z_csize.unwrap_or(u64::from(l_csize));
            if (l_crc, l_csize, l_usize) != (crc, csize, usize_) {
                bail!(
                    "entry {shown}: its local header says CRC {l_crc:08x}, {l_csize} compressed and {l_usize} \
                     bytes, the central directory CRC {crc:08x}, {csize} and {usize_}: they disagree"
                );
            }
        } else {
            // CRC and sizes follow the data (a streamed entry), with or without a signature.
            let mut at = usize::try_from(data_end)?;
            if u32_at(bytes, at) == Some(DESCRIPTOR_SIGNATURE) {
                at += 4;
            }
            let wide = csize >= u64::from(ZIP64_MARK) || usize_ >= u64::from(ZIP64_MARK);
            let (d_crc, d_csize, d_usize, len) = if wide {
                (u32_at(bytes, at), u64_at(bytes, at + 4), u64_at(bytes, at + 12), 20)
            } else {
                (u32_at(bytes, at), u32_at(bytes, at + 4).map(u64::from), u32_at(bytes, at + 8).map(u64::from), 12)
            };
            if (d_crc, d_csize, d_usize) != (Some(crc), Some(csize), Some(usize_)) {
                bail!("entry {shown}: its data descriptor and the central directory disagree on CRC or sizes");
            }
            end = (at + len) as u64;
        }
        spans.push(Span { header_start: header_at as u64, data_start: data_start as u64, end });
    }
    // No two entries share a byte, and none reaches into the central directory.
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_by_key(|&i| spans[i].header_start);
    for pair in order.windows(2) {
        let (a, b) = (spans[pair[0]], spans[pair[1]]);
        if b.header_start < a.end {
            bail!(
                "entries {} and {} overlap (bytes {}..{} and {}..{}): one archive, two readings",
                name(pair[0]),
                name(pair[1]),
                a.header_start,
                a.end,
                b.header_start,
                b.end
            );
        }
    }
    if let Some(&last) = order.last() {
        if spans[last].end > cd_start {
            bail!("entry {} runs into the central directory", name(last));
        }
    }
    Ok(spans)
}

/// The end-of-central-directory record's signature and fixed size.
const EOCD_SIGNATURE: u32 = 0x0605_4b50;
const EOCD_LEN: usize = 22;
/// Extra fields PyPI refuses to see twice in one header (zip64 sizes, Info-ZIP Unicode path).
const NO_DUPLICATE_EXTRAS: &[u16] = &[0x0001, 0x7075];
/// How many entries one PyPI finding names before it says "and N more".
const NAMED: usize = 3;

/// Extra-field ids of an extra block that appear twice and may not.
fn duplicate_extras(extra: &[u8]) -> Vec<u16> {
    let mut seen = Vec::new();
    let mut dup = Vec::new();
    let mut at = 0;
    while let (Some(id), Some(len)) = (u16_at(extra, at), u16_at(extra, at + 2)) {
        if seen.contains(&id) && NO_DUPLICATE_EXTRAS.contains(&id) && !dup.contains(&id) {
            dup.push(id);
        }
        seen.push(id);
        at += 4 + usize::from(len);
    }
    dup
}

fn named(names: &[String]) -> String {
    let mut s = names.iter().take(NAMED).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > NAMED {
        s.push_str(&format!(" and {} more", names.len() - NAMED));
    }
    s
}

/// What of the archive's form PyPI's upload check refuses, though every reader reads it:
/// bytes before or after the archive, a comment, a second end record, streamed entries (data
/// descriptors), duplicate extra fields, a zip that is also a tar. One line each.
pub fn pypi_problems(bytes: &[u8], archive: &Archive) -> Vec<String> {
    let mut out = Vec::new();
    let mut archive = archive.clone();
    if archive.offset() > 0 {
        out.push(format!("zip: {} bytes stand before the archive", archive.offset()));
    }
    if bytes.get(257..262) == Some(b"ustar".as_slice()) {
        out.push("zip: the file is a tar archive too".into());
    }
    let cd_start = usize::try_from(archive.central_directory_start()).unwrap_or(usize::MAX);
    let tail = bytes.get(cd_start..).unwrap_or_default();
    let eocds: Vec<usize> =
        (0..tail.len().saturating_sub(3)).filter(|&i| u32_at(tail, i) == Some(EOCD_SIGNATURE)).collect();
    if eocds.len() > 1 {
        out.push(format!("zip: {} end-of-central-directory records", eocds.len()));
    }
    if let Some(&last) = eocds.last() {
        let comment = u16_at(tail, last + 20).map_or(0, usize::from);
        if comment > 0 {
            out.push("zip: the archive has a comment".into());
        }
        let end = cd_start + last + EOCD_LEN + comment;
        if end < bytes.len() {
            out.push(format!("zip: {} bytes follow the end of the archive", bytes.len() - end));
        }
    }
    let mut streamed = Vec::new();
    let mut duplicated = Vec::new();
    for i in 0..archive.len() {
        let Ok(f) = archive.by_index_raw(i) else { continue };
        let name = crate::library::text::quoted(&String::from_utf8_lossy(f.name_raw()));
        if f.flags().is_using_data_descriptor() {
            streamed.push(name.clone());
        }
        for header in [f.header_start(), f.central_header_start()] {
            let Ok(at) = usize::try_from(header) else { continue };
            let local = u32_at(bytes, at) == Some(LOCAL_SIGNATURE);
            let (nlen_at, xlen_at, fixed) = if local { (26, 28, LOCAL_LEN) } else { (28, 30, CENTRAL_LEN) };
            let (Some(nlen), Some(xlen)) = (u16_at(bytes, at + nlen_at), u16_at(bytes, at + xlen_at)) else { continue };
            let start = at + fixed + usize::from(nlen);
            if let Some(extra) = bytes.get(start..start + usize::from(xlen)) {
                if !duplicate_extras(extra).is_empty() && !duplicated.contains(&name) {
                    duplicated.push(name.clone());
                }
            }
        }
    }
    if !streamed.is_empty() {
        out.push(format!("zip: streamed entries (data descriptors): {}", named(&streamed)));
    }
    if !duplicated.is_empty() {
        out.push(format!("zip: duplicate extra fields in {}", named(&duplicated)));
    }
    out
}
