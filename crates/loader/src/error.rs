//! What can go wrong while loading, each naming the file and column at fault.

use std::path::PathBuf;

/// A load that cannot go on. Rows that merely break a rule are not errors: they are
/// skipped and counted in the [`crate::LoadReport`].
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Neither `NAME.parquet` nor a folder `NAME/` of parts exists.
    #[error("table `{table}` is missing: expected {dir}/{table}.parquet or a folder {dir}/{table}/ of *.parquet parts", dir = dir.display())]
    MissingTable {
        /// The input directory.
        dir: PathBuf,
        /// The table name.
        table: &'static str,
    },
    /// Both `NAME.parquet` and `NAME/` exist, so which one is meant is unclear.
    #[error("table `{table}` is ambiguous: both {dir}/{table}.parquet and the folder {dir}/{table}/ exist", dir = dir.display())]
    AmbiguousTable {
        /// The input directory.
        dir: PathBuf,
        /// The table name.
        table: &'static str,
    },
    /// A required column is not in a file.
    #[error("{file}: column `{column}` is missing (expected {expected})", file = file.display())]
    MissingColumn {
        /// The Parquet file.
        file: PathBuf,
        /// The column name.
        column: &'static str,
        /// The types it may have.
        expected: &'static str,
    },
    /// A column has a type the contract does not allow.
    #[error("{file}: column `{column}` has type {found}, expected {expected}", file = file.display())]
    WrongType {
        /// The Parquet file.
        file: PathBuf,
        /// The column name.
        column: &'static str,
        /// The types it may have.
        expected: &'static str,
        /// The type it has.
        found: String,
    },
    /// A file is not readable Parquet: corrupt, truncated, or not Parquet at all.
    #[error("{file}: not a readable Parquet file: {message}", file = file.display())]
    Parquet {
        /// The Parquet file.
        file: PathBuf,
        /// What the Parquet reader said.
        message: String,
    },
    /// The file system refused.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// More customers or products than a 32-bit id can number.
    #[error("{what}: more than 4,294,967,295 rows")]
    TooMany {
        /// The table.
        what: &'static str,
    },
    /// `--strict` was asked for and rows were skipped.
    #[error("strict load failed: {summary}")]
    Strict {
        /// The skip counts, per reason.
        summary: String,
    },
}

/// The loader's result type.
pub type Result<T, E = LoadError> = std::result::Result<T, E>;
