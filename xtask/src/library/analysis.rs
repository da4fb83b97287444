//! The one pass over a wheel that fix-wheel and check-wheel share: every file decompressed
//! once (on all cores), hashed for RECORD, and read as ELF when it is one.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use crate::library::elf::{self, ElfInfo};
use crate::library::loader::{self, Graph, RuntimeFolder, Tree};
use crate::library::wheel::{self, Digest, Limits, RecordReport, Wheel};

/// What one pass learned.
pub struct Analysis {
    pub wheel: Wheel,
    /// Entry name -> digest and size.
    pub digests: BTreeMap<String, Digest>,
    /// Entry name -> ELF facts, for every file that is ELF.
    pub elf: BTreeMap<String, ElfInfo>,
    /// Entry name -> why it starts like ELF but cannot be read.
    pub elf_errors: BTreeMap<String, String>,
    pub record: RecordReport,
}

impl Analysis {
    /// Opens and reads a wheel within the default [`Limits`].
    pub fn of(path: &Path) -> Result<Analysis> {
        Analysis::read(path, &Limits::default())
    }

    /// Opens and reads a wheel within `limits`.
    pub fn read(path: &Path, limits: &Limits) -> Result<Analysis> {
        Analysis::from_wheel(Wheel::open_with(path, limits)?)
    }

    /// Reads a wheel already opened (from a file or from bytes in memory, as the fuzz
    /// targets under `xtask/fuzz/` do).
    pub fn from_wheel(wheel: Wheel) -> Result<Analysis> {
        let scanned = wheel.scan(|entry, bytes| {
            elf::is_elf(bytes).then(|| elf::parse(bytes, &entry.name).map_err(|e| e.to_string()))
        })?;
        let mut digests = BTreeMap::new();
        let mut elf = BTreeMap::new();
        let mut elf_errors = BTreeMap::new();
        for (entry, digest, info) in scanned {
            match info {
                Some(Ok(i)) => {
                    elf.insert(entry.name.clone(), i);
                }
                Some(Err(e)) => {
                    elf_errors.insert(entry.name.clone(), e);
                }
                None => {}
            }
            digests.insert(entry.name, digest);
        }
        let record = wheel::verify_record(&wheel, &digests);
        Ok(Analysis { wheel, digests, elf, elf_errors, record })
    }

    /// The analysis of the same wheel with entries renamed (old name -> new name), now held
    /// in `bytes` (what `write::write_renamed` wrote): the entries' bytes did not change, so
    /// their digests and ELF facts carry over under the new names, and only the archive's
    /// index, RECORD and WHEEL are read from `bytes`.
    pub fn renamed(&self, renames: &BTreeMap<String, String>, bytes: Vec<u8>) -> Result<Analysis> {
        let wheel = Wheel::from_bytes(&self.wheel.path, self.wheel.name.clone(), bytes)?;
        let rename = |name: &String| renames.get(name).unwrap_or(name).clone();
        let digests: BTreeMap<String, Digest> = self.digests.iter().map(|(k, v)| (rename(k), v.clone())).collect();
        let elf = self.elf.iter().map(|(k, v)| (rename(k), v.clone())).collect();
        let elf_errors = self.elf_errors.iter().map(|(k, v)| (rename(k), v.clone())).collect();
        let record = wheel::verify_record(&wheel, &digests);
        Ok(Analysis { wheel, digests, elf, elf_errors, record })
    }

    /// The installed tree, with entries renamed by `rename` first (identity for the wheel as is).
    pub fn tree(&self, rename: impl Fn(&str) -> String) -> Tree {
        let data = format!("{}-{}.data", self.wheel.name.dist, self.wheel.name.version);
        let mut tree = Tree::default();
        for name in self.digests.keys() {
            let renamed = rename(name);
            let Some(installed) = wheel::installed_path(&data, &renamed) else {
                continue;
            };
            tree.files.insert(installed.to_string());
            if let Some(info) = self.elf.get(name) {
                tree.objects.insert(installed.to_string(), info.clone());
            }
        }
        tree
    }

    /// The loader graph of the wheel as it is.
    pub fn graph(&self, runtime: &[RuntimeFolder]) -> Graph {
        loader::resolve(&self.tree(str::to_string), runtime)
    }
}
