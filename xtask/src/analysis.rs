//! The one pass over a wheel that fix-wheel and check-wheel share: every file decompressed
//! once (on all cores), hashed for RECORD, and read as ELF when it is one.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use crate::elf::{self, ElfInfo};
use crate::loader::{self, Graph, RuntimeFolder, Tree};
use crate::wheel::{self, Digest, RecordReport, Wheel};

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
    /// Opens and reads a wheel.
    pub fn of(path: &Path) -> Result<Analysis> {
        Analysis::from_wheel(Wheel::open(path)?)
    }

    /// Reads a wheel already opened (from a file or from bytes in memory, as the fuzz
    /// targets under `xtask/fuzz/` do).
    pub fn from_wheel(wheel: Wheel) -> Result<Analysis> {
        let scanned = wheel.scan(|entry, bytes, digest| {
            let info = elf::is_elf(bytes).then(|| elf::parse(bytes, &entry.name).map_err(|e| e.to_string()));
            (digest.clone(), info)
        })?;
        let mut digests = BTreeMap::new();
        let mut elf = BTreeMap::new();
        let mut elf_errors = BTreeMap::new();
        for (entry, (digest, info)) in scanned {
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
