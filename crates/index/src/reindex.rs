//! A whole reindex: load an input directory, build, write a new generation, make it current.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tamsa_loader::{LoadError, LoadOptions};
use tamsa_model::Progress;

use crate::{IndexError, Meta, Writer};

/// How a reindex runs.
#[derive(Clone, Debug)]
pub struct ReindexOptions {
    /// What the load keeps and how strictly.
    pub load: LoadOptions,
    /// How many generations to keep, the new one included.
    pub keep: usize,
}

/// Why a reindex failed. The previous generation stays current whatever the cause.
#[derive(Debug, thiserror::Error)]
pub enum ReindexError {
    /// The index directory could not be locked or written.
    #[error("writing to {dir}", dir = dir.display())]
    Index {
        /// The index directory.
        dir: PathBuf,
        /// The cause.
        source: IndexError,
    },
    /// The input could not be loaded.
    #[error("loading {input}", input = input.display())]
    Load {
        /// The input directory.
        input: PathBuf,
        /// The cause.
        source: LoadError,
    },
}

/// Loads `input`, builds its index and makes it the current generation of `index_dir`,
/// returning the new generation's meta (with its report).
pub fn reindex(
    input: &Path,
    index_dir: &Path,
    options: &ReindexOptions,
    progress: &dyn Progress,
) -> Result<Meta, ReindexError> {
    let started = Instant::now();
    let index_err = |source| ReindexError::Index { dir: index_dir.to_owned(), source };
    let writer = Writer::lock(index_dir).map_err(index_err)?;
    let data = tamsa_loader::load(input, &options.load, progress)
        .map_err(|source| ReindexError::Load { input: input.to_owned(), source })?;
    let generation = writer.next_generation().map_err(index_err)?;
    let mut index = crate::build(data, generation, progress);
    index.meta.report.seconds = started.elapsed().as_secs_f64();
    index.meta.report.peak_memory_bytes = peak_memory_bytes();
    let bytes = writer.write(&mut index, options.keep).map_err(index_err)?;
    index.meta.report.index_bytes = bytes;
    Ok(index.meta)
}

/// Peak resident memory of this process, where Linux tells.
fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
