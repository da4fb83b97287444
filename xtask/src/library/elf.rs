//! What the loader and the policies need to know of one ELF file, read with goblin.

use anyhow::{anyhow, Result};
use goblin::elf::{header, section_header::SHN_UNDEF, sym, Elf};

/// The ELF magic, to tell shared objects from other files without parsing them.
const ELF_MAGIC: &[u8] = b"\x7fELF";

/// `e_flags` of 32-bit ARM: the EABI version, and the hard-float calling convention that
/// `armv7l` (armhf) interpreters use.
const EF_ARM_EABIMASK: u32 = 0xFF00_0000;
const EF_ARM_EABI_VER5: u32 = 0x0500_0000;
const EF_ARM_ABI_FLOAT_HARD: u32 = 0x0000_0400;

/// The GNU property note that records the x86-64 ISA level a file needs (x86-64-v2...).
const NT_GNU_PROPERTY_TYPE_0: u32 = 5;
const GNU_PROPERTY_X86_ISA_1_NEEDED: u32 = 0xc000_8002;

/// One undefined dynamic symbol (an import).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub name: String,
    /// `STT_FUNC` (auditwheel's UCS2 check counts only those).
    pub func: bool,
    /// `STT_NOTYPE`.
    pub notype: bool,
    /// `STB_WEAK`: bound to NULL when absent, so it needs nothing of the system.
    pub weak: bool,
}

impl ElfInfo {
    /// The undefined dynamic symbols that are not weak: what the file needs from elsewhere.
    pub fn undefined(&self) -> impl Iterator<Item = &str> {
        self.imports.iter().filter(|i| !i.weak).map(|i| i.name.as_str())
    }
}

/// The facts of one ELF file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElfInfo {
    /// The wheel platform name of the machine (`x86_64`, `i686`, `aarch64`, `ppc64le`,
    /// `ppc64`, `armv7l`, ...); empty when no wheel tag names it (see `arch_problem`).
    pub arch: String,
    /// Why the file fits no wheel architecture: an unknown machine, or 32-bit ARM that is not
    /// EABI5 hard-float (an armhf interpreter cannot load soft-float code).
    pub arch_problem: Option<String>,
    /// Class, byte order, machine and OS ABI, which the loader matches a library by.
    pub platform: Platform,
    /// The x86-64 microarchitecture level the file declares it needs (2, 3 or 4; none: the
    /// baseline), from its GNU property note.
    pub isa_level: Option<u8>,
    pub soname: Option<String>,
    pub needed: Vec<String>,
    /// DT_RPATH entries, split on `:`, `$ORIGIN` not yet expanded.
    pub rpath: Vec<String>,
    /// DT_RUNPATH entries, split on `:`.
    pub runpath: Vec<String>,
    pub interpreter: Option<String>,
    /// Versioned needs from `.gnu.version_r`: (library, version name such as `GLIBC_2.17`).
    pub version_needs: Vec<(String, String)>,
    /// Every undefined dynamic symbol, with its type and binding.
    pub imports: Vec<Import>,
    /// Dynamic symbols this file defines and exports whose names are CPython's (`Py*`,
    /// `_Py*`): an abi3 extension may not (abi3audit's rule).
    pub py_exports: Vec<String>,
    /// The module init function exported, if this is a Python extension module
    /// (`PyInit_<name>` for Python 3, `init<name>` for Python 2).
    pub python_init: Option<String>,
}

/// The ELF header facts the loader matches a library by: class, byte order, machine, OS ABI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Platform {
    pub is_64: bool,
    pub little_endian: bool,
    pub machine: u16,
    pub osabi: u8,
}

impl Platform {
    /// Read from the first bytes of an ELF file; None when they are no ELF header.
    pub fn of(bytes: &[u8]) -> Option<Platform> {
        if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" {
            return None;
        }
        let is_64 = match bytes[4] {
            1 => false,
            2 => true,
            _ => return None,
        };
        let little_endian = match bytes[5] {
            1 => true,
            2 => false,
            _ => return None,
        };
        let m = [bytes[18], bytes[19]];
        let machine = if little_endian { u16::from_le_bytes(m) } else { u16::from_be_bytes(m) };
        Some(Platform { is_64, little_endian, machine, osabi: bytes[7] })
    }

    /// auditwheel's `Platform.is_compatible`: same class, byte order and machine, and OS ABIs
    /// that are equal or both among NONE/SYSV (0), GNU/LINUX (3).
    pub fn is_compatible(&self, other: &Platform) -> bool {
        let generic = |a: u8| a == 0 || a == 3;
        (self.osabi == other.osabi || (generic(self.osabi) && generic(other.osabi)))
            && self.is_64 == other.is_64
            && self.little_endian == other.little_endian
            && self.machine == other.machine
    }
}

/// True when the bytes start like an ELF file.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(ELF_MAGIC)
}

/// Reads an ELF file whose file name is `file_name` (the module name of an extension comes
/// from it: `dbcore.cpython-311-x86_64-linux-gnu.so` exports `PyInit_dbcore`). Malformed input
/// is an error, never a panic.
pub fn parse(bytes: &[u8], file_name: &str) -> Result<ElfInfo> {
    let module = file_name.rsplit('/').next().unwrap_or(file_name).split('.').next().unwrap_or("");
    let init_names = [format!("PyInit_{module}"), format!("init{module}")];
    let elf = lean_parse(bytes).or_else(|_| Elf::parse(bytes)).map_err(|e| anyhow!("not a readable ELF file: {e}"))?;
    let split = |v: &[&str]| -> Vec<String> {
        v.iter().flat_map(|s| s.split(':')).filter(|s| !s.is_empty()).map(str::to_string).collect()
    };
    let mut version_needs = Vec::new();
    if let Some(verneed) = &elf.verneed {
        for need in verneed.iter() {
            let lib = elf.dynstrtab.get_at(need.vn_file).unwrap_or("").to_string();
            for aux in need.iter() {
                if let Some(v) = elf.dynstrtab.get_at(aux.vna_name) {
                    version_needs.push((lib.clone(), v.to_string()));
                }
            }
        }
    }
    let mut imports = Vec::new();
    let mut py_exports = Vec::new();
    let mut python_init = None;
    for s in elf.dynsyms.iter() {
        let Some(name) = elf.dynstrtab.get_at(s.st_name).filter(|n| !n.is_empty()) else {
            continue;
        };
        if s.st_shndx == SHN_UNDEF as usize {
            let weak = sym::st_bind(s.st_info) == sym::STB_WEAK;
            let kind = sym::st_type(s.st_info);
            imports.push(Import {
                name: name.to_string(),
                func: kind == sym::STT_FUNC,
                notype: kind == sym::STT_NOTYPE,
                weak,
            });
        } else {
            if s.is_function() && init_names.iter().any(|n| n == name) {
                python_init.get_or_insert_with(|| name.to_string());
            }
            let exported = sym::st_bind(s.st_info) != sym::STB_LOCAL && matches!(s.st_other & 3, 0 | 3);
            if exported && (name.starts_with("Py") || name.starts_with("_Py")) {
                py_exports.push(name.to_string());
            }
        }
    }
    let (arch, arch_problem) = match arch_name(elf.header.e_machine, elf.is_64, elf.little_endian) {
        Some("armv7l") => {
            let flags = elf.header.e_flags;
            if flags & EF_ARM_EABIMASK != EF_ARM_EABI_VER5 {
                (
                    String::new(),
                    Some("a 32-bit ARM file of another EABI than 5, which no armv7l interpreter loads".to_string()),
                )
            } else if flags & EF_ARM_ABI_FLOAT_HARD == 0 {
                (
                    String::new(),
                    Some(
                        "soft-float 32-bit ARM code, which an armv7l (hard-float) interpreter cannot load".to_string(),
                    ),
                )
            } else {
                ("armv7l".to_string(), None)
            }
        }
        Some(a) => (a.to_string(), None),
        None => (
            String::new(),
            Some(format!(
                "an ELF file for machine {} ({}-bit, {} endian), which no wheel platform tag names",
                elf.header.e_machine,
                if elf.is_64 { 64 } else { 32 },
                if elf.little_endian { "little" } else { "big" }
            )),
        ),
    };
    let isa_level = if elf.header.e_machine == header::EM_X86_64 { x86_isa_level(&elf, bytes) } else { None };
    Ok(ElfInfo {
        arch,
        arch_problem,
        platform: Platform::of(bytes).unwrap_or_default(),
        isa_level,
        soname: elf.soname.map(str::to_string),
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
        rpath: split(&elf.rpaths),
        runpath: split(&elf.runpaths),
        interpreter: elf.interpreter.map(str::to_string),
        version_needs,
        imports,
        py_exports,
        python_init,
    })
}

/// What this module reads of an ELF file, parsed alone: the headers, the dynamic section and its
/// string table, the dynamic symbols and the version needs. `Elf::parse` also walks every
/// relocation (hundreds of thousands in a large C++ library) and the static symbol table,
/// which nothing here reads: on KLayout's 60 MB `lib_db` that was most of the parse. A file
/// without a `.dynsym` section header (the count of dynamic symbols comes from it) is left to
/// `Elf::parse`, as is anything this parse refuses.
fn lean_parse(bytes: &[u8]) -> goblin::error::Result<Elf<'_>> {
    use goblin::container::{Container, Ctx, Endian};
    use goblin::elf::{dynamic, program_header, section_header, symver, Dynamic, ProgramHeader, SectionHeader};
    use goblin::strtab::Strtab;

    let header = Elf::parse_header(bytes)?;
    let container =
        if header.e_ident[header::EI_CLASS] == header::ELFCLASS64 { Container::Big } else { Container::Little };
    let endian = Endian::from(header.e_ident[header::EI_DATA] == header::ELFDATA2LSB);
    let ctx = Ctx::new(container, endian);
    let mut elf = Elf::lazy_parse(header)?;
    elf.program_headers = ProgramHeader::parse(bytes, header.e_phoff as usize, header.e_phnum as usize, ctx)?;
    for ph in &elf.program_headers {
        if ph.p_type == program_header::PT_INTERP && ph.p_filesz != 0 {
            let (at, len) = (ph.p_offset as usize, (ph.p_filesz - 1) as usize);
            elf.interpreter = bytes.get(at..at.saturating_add(len)).and_then(|b| std::str::from_utf8(b).ok());
        }
    }
    elf.section_headers = SectionHeader::parse(bytes, header.e_shoff as usize, header.e_shnum as usize, ctx)?;
    let Some(dynsym) = elf.section_headers.iter().find(|s| s.sh_type == section_header::SHT_DYNSYM) else {
        return Err(goblin::error::Error::Malformed("no .dynsym section header".into()));
    };
    let count = dynsym.sh_size.checked_div(dynsym.sh_entsize).unwrap_or(0) as usize;
    elf.dynamic = Dynamic::parse(bytes, &elf.program_headers, ctx)?;
    if let Some(d) = &elf.dynamic {
        let info = &d.info;
        elf.dynstrtab = Strtab::parse(bytes, info.strtab, info.strsz, 0)?;
        if info.soname != 0 {
            elf.soname = elf.dynstrtab.get_at(info.soname);
        }
        elf.libraries = d.get_libraries(&elf.dynstrtab);
        for entry in &d.dyns {
            let value = elf.dynstrtab.get_at(entry.d_val as usize);
            match (entry.d_tag, value) {
                (dynamic::DT_RPATH, Some(v)) => elf.rpaths.push(v),
                (dynamic::DT_RUNPATH, Some(v)) => elf.runpaths.push(v),
                _ => {}
            }
        }
        elf.dynsyms = goblin::elf::Symtab::parse(bytes, info.symtab, count, ctx)?;
    }
    elf.verneed = symver::VerneedSection::parse(bytes, &elf.section_headers, ctx)?;
    Ok(elf)
}

/// The x86-64 ISA level a file's GNU property note says it needs (`GNU_PROPERTY_X86_ISA_1_NEEDED`:
/// bit 1 v2, bit 2 v3, bit 3 v4), as auditwheel reads it.
fn x86_isa_level(elf: &Elf, bytes: &[u8]) -> Option<u8> {
    let notes = elf.iter_note_headers(bytes)?;
    for note in notes.flatten() {
        if note.n_type != NT_GNU_PROPERTY_TYPE_0 || note.name != "GNU" {
            continue;
        }
        // Properties: type (u32), size (u32), data, padded to 8 bytes on 64-bit files.
        let d = note.desc;
        let mut at = 0usize;
        while at + 8 <= d.len() {
            let u32_at = |i: usize| d.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            let (Some(kind), Some(size)) = (u32_at(at), u32_at(at + 4)) else { break };
            let size = size as usize;
            if kind == GNU_PROPERTY_X86_ISA_1_NEEDED && size == 4 {
                let bits = u32_at(at + 8)? & !1;
                return [(8, 4), (4, 3), (2, 2)].iter().find(|(bit, _)| bits & bit != 0).map(|(_, level)| *level);
            }
            at = at.checked_add(8)?.checked_add(size.checked_add(7)? & !7)?;
        }
    }
    None
}

/// The wheel architecture of an ELF machine, class and byte order (auditwheel's table); None
/// for machines no wheel tag names.
pub fn arch_name(machine: u16, is_64: bool, little_endian: bool) -> Option<&'static str> {
    Some(match (machine, is_64, little_endian) {
        (header::EM_X86_64, true, true) => "x86_64",
        (header::EM_386, false, true) => "i686",
        (header::EM_AARCH64, true, true) => "aarch64",
        (header::EM_ARM, false, true) => "armv7l",
        (header::EM_PPC64, true, true) => "ppc64le",
        (header::EM_PPC64, true, false) => "ppc64",
        (header::EM_S390, true, false) => "s390x",
        (header::EM_RISCV, true, true) => "riscv64",
        (header::EM_LOONGARCH, true, true) => "loongarch64",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse(b"\x7fELF\x02\x01\x01", "x.so").is_err());
        assert!(parse(b"", "x.so").is_err());
        assert!(!is_elf(b"PK\x03\x04"));
    }

    /// The lean parse reads what goblin's full parse reads, on this machine's own libraries.
    #[test]
    fn the_lean_parse_agrees_with_the_full_one() {
        let mut checked = 0;
        for dir in ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/lib"] {
            let Ok(rd) = std::fs::read_dir(dir) else { continue };
            for e in rd.flatten().take(400) {
                let p = e.path();
                if !p.to_string_lossy().contains(".so") || !p.is_file() {
                    continue;
                }
                let Ok(bytes) = std::fs::read(&p) else { continue };
                let (Ok(lean), Ok(full)) = (lean_parse(&bytes), Elf::parse(&bytes)) else { continue };
                assert_eq!(lean.soname, full.soname, "{}", p.display());
                assert_eq!(lean.libraries, full.libraries, "{}", p.display());
                assert_eq!(
                    (&lean.rpaths, &lean.runpaths, lean.interpreter),
                    (&full.rpaths, &full.runpaths, full.interpreter)
                );
                let names = |e: &Elf| e.dynsyms.iter().map(|s| (s.st_name, s.st_info, s.st_shndx)).collect::<Vec<_>>();
                assert_eq!(names(&lean), names(&full), "{}", p.display());
                let needs = |e: &Elf| {
                    e.verneed.as_ref().map(|v| {
                        v.iter().flat_map(|n| n.iter().map(|a| a.vna_name).collect::<Vec<_>>()).collect::<Vec<_>>()
                    })
                };
                assert_eq!(needs(&lean), needs(&full), "{}", p.display());
                checked += 1;
            }
        }
        assert!(checked > 20 || !std::path::Path::new("/usr/lib/x86_64-linux-gnu").exists(), "checked {checked}");
    }

    #[test]
    fn machines_map_as_auditwheel_maps_them() {
        assert_eq!(arch_name(header::EM_PPC64, true, true), Some("ppc64le"));
        assert_eq!(arch_name(header::EM_PPC64, true, false), Some("ppc64"));
        assert_eq!(arch_name(header::EM_S390, true, false), Some("s390x"));
        assert_eq!(arch_name(header::EM_ARM, false, true), Some("armv7l"));
        assert_eq!(arch_name(header::EM_MIPS, false, true), None);
        assert_eq!(arch_name(header::EM_X86_64, false, true), None, "x32 is no wheel arch");
    }
}
