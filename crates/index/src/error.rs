//! What can go wrong reading or writing an index.

use std::path::PathBuf;

/// An index error, naming the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The file system refused.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No generation has been made current yet.
    #[error("{dir}: no index here yet (no CURRENT file); run `tamsa reindex` first", dir = dir.display())]
    NoIndex {
        /// The index directory.
        dir: PathBuf,
    },
    /// A generation's files are not what its manifest says: damaged or incomplete.
    #[error("{path}: damaged index: {why}", path = path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What does not match.
        why: String,
    },
    /// A generation written by a different version of the format.
    #[error("{path}: index format version {found}, this build reads version {expected}; reindex to upgrade", path = path.display())]
    Version {
        /// The manifest.
        path: PathBuf,
        /// The version it has.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// Another reindex holds the index directory's lock.
    #[error("{dir}: another reindex is writing this index", dir = dir.display())]
    Locked {
        /// The index directory.
        dir: PathBuf,
    },
    /// A generation number that does not exist.
    #[error("{dir}: no generation {generation}", dir = dir.display())]
    NoGeneration {
        /// The index directory.
        dir: PathBuf,
        /// The number asked for.
        generation: u64,
    },
}

/// The index crate's result type.
pub type Result<T, E = IndexError> = std::result::Result<T, E>;
