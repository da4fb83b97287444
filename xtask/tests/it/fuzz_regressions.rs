//! Inputs the fuzzers found (or reading the code found): errors, never panics.

use std::path::Path;
use xtask::library::analysis::Analysis;
use xtask::library::wheel::{Wheel, WheelName};

/// A zip whose central directory declares 300 empty entries of `declared` bytes each (zip64 extra
/// fields), beside a valid WHEEL and RECORD: more entries than any machine has cores, so two
/// of them land on one reader thread whatever `available_parallelism` says.
fn zip64_sizes(declared: u64) -> Vec<u8> {
    let mut entries: Vec<(String, &[u8], bool)> = vec![
        ("fuzz-1.0.dist-info/WHEEL".into(), b"Wheel-Version: 1.0\n", false),
        ("fuzz-1.0.dist-info/RECORD".into(), b"fuzz-1.0.dist-info/RECORD,,\n", false),
    ];
    entries.extend((0..300).map(|i| (format!("pkg/{i}"), &b""[..], true)));
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, body, huge) in &entries {
        let (name, body, huge) = (name.as_str(), *body, *huge);
        let crc = crc32(body);
        let offset = out.len() as u32;
        let (usize32, extra) = if huge {
            let mut e = vec![1, 0, 8, 0];
            e.extend(declared.to_le_bytes());
            (u32::MAX, e)
        } else {
            (body.len() as u32, vec![])
        };
        let common = |v: &mut Vec<u8>| {
            v.extend(45u16.to_le_bytes()); // version needed
            v.extend([0, 0, 0, 0, 0, 0, 0x21, 0]); // flags, stored, time, date
            v.extend(crc.to_le_bytes());
            v.extend((body.len() as u32).to_le_bytes());
            v.extend(usize32.to_le_bytes());
            v.extend((name.len() as u16).to_le_bytes());
            v.extend((extra.len() as u16).to_le_bytes());
        };
        out.extend(0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend(name.as_bytes());
        out.extend(&extra);
        out.extend(body);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(0x031eu16.to_le_bytes()); // made by: unix
        common(&mut central);
        central.extend([0; 6]); // comment length, disk, internal attributes
        central.extend((0o100644u32 << 16).to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
        central.extend(&extra);
    }
    let start = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0; 4]);
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(start.to_le_bytes());
    out.extend([0; 2]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[test]
fn huge_declared_sizes_are_an_error_not_a_panic() {
    let name = WheelName::parse("fuzz-1.0-py3-none-any.whl").unwrap();
    // Before the fix: "attempt to add with overflow" in Wheel::scan (debug builds, as
    // `cargo xtask` runs). Now the declared sizes are refused when the wheel is opened.
    let e = Wheel::from_bytes(Path::new("fuzz.whl"), name, zip64_sizes(1 << 63)).err().expect("refused");
    assert!(format!("{e:#}").contains("declares"), "{e:#}");
}

#[test]
fn entries_holding_less_than_they_declare_are_corrupt() {
    let name = WheelName::parse("fuzz-1.0-py3-none-any.whl").unwrap();
    let wheel = Wheel::from_bytes(Path::new("fuzz.whl"), name, zip64_sizes(1000)).unwrap();
    let e = Analysis::from_wheel(wheel).err().expect("refused");
    assert!(format!("{e:#}").contains("declares 1000 bytes and holds 0"), "{e:#}");
}
