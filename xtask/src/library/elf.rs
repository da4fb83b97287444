//! What the loader and the policies need to know of one ELF file, read with goblin.

use anyhow::{anyhow, Result};
use goblin::elf::{header, section_header::SHN_UNDEF, Elf};

/// The ELF magic, to tell shared objects from other files without parsing them.
const ELF_MAGIC: &[u8] = b"\x7fELF";

/// The facts of one ELF file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElfInfo {
    /// The wheel platform name of the machine (`x86_64`, `i686`, `aarch64`, ...), or the raw
    /// `e_machine` number for machines no wheel tag names.
    pub arch: String,
    pub soname: Option<String>,
    pub needed: Vec<String>,
    /// DT_RPATH entries, split on `:`, `$ORIGIN` not yet expanded.
    pub rpath: Vec<String>,
    /// DT_RUNPATH entries, split on `:`.
    pub runpath: Vec<String>,
    pub interpreter: Option<String>,
    /// Versioned needs from `.gnu.version_r`: (library, version name such as `GLIBC_2.17`).
    pub version_needs: Vec<(String, String)>,
    /// Undefined dynamic symbols (imports).
    pub undefined: Vec<String>,
    /// The module init function exported, if this is a Python extension module
    /// (`PyInit_<name>` for Python 3, `init<name>` for Python 2).
    pub python_init: Option<String>,
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
    let elf = Elf::parse(bytes).map_err(|e| anyhow!("not a readable ELF file: {e}"))?;
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
    let mut undefined = Vec::new();
    let mut python_init = None;
    for sym in elf.dynsyms.iter() {
        let Some(name) = elf.dynstrtab.get_at(sym.st_name).filter(|n| !n.is_empty()) else {
            continue;
        };
        if sym.st_shndx == SHN_UNDEF as usize {
            undefined.push(name.to_string());
        } else if sym.is_function() && init_names.iter().any(|n| n == name) {
            python_init.get_or_insert_with(|| name.to_string());
        }
    }
    Ok(ElfInfo {
        arch: arch_name(elf.header.e_machine, elf.is_64),
        soname: elf.soname.map(str::to_string),
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
        rpath: split(&elf.rpaths),
        runpath: split(&elf.runpaths),
        interpreter: elf.interpreter.map(str::to_string),
        version_needs,
        undefined,
        python_init,
    })
}

/// The wheel tag name of an ELF machine.
pub fn arch_name(machine: u16, is_64: bool) -> String {
    match (machine, is_64) {
        (header::EM_X86_64, true) => "x86_64",
        (header::EM_386, false) => "i686",
        (header::EM_AARCH64, true) => "aarch64",
        (header::EM_ARM, false) => "armv7l",
        (header::EM_PPC64, true) => "ppc64le",
        (header::EM_S390, true) => "s390x",
        (header::EM_RISCV, true) => "riscv64",
        (header::EM_LOONGARCH, true) => "loongarch64",
        _ => return format!("machine-{machine}{}", if is_64 { "-64" } else { "-32" }),
    }
    .to_string()
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
}
