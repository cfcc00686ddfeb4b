//! Writing one record batch as one Parquet file, in row groups of about a million rows.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::GenerateError;

/// Target number of rows in a row group.
const ROW_GROUP_ROWS: usize = 1 << 20;

/// Writes `batch` to a new file at `path` and returns the file's size in bytes.
///
/// The rows are split into row groups of equal size, as few as keep each near
/// [`ROW_GROUP_ROWS`].
pub(crate) fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<u64, GenerateError> {
    let rows = batch.num_rows();
    let groups = rows.div_ceil(ROW_GROUP_ROWS).max(1);
    let per_group = rows.div_ceil(groups).max(1);
    let level = ZstdLevel::try_new(1).map_err(|source| GenerateError::parquet(path, source))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(per_group))
        .build();

    let file = File::create(path).map_err(|source| GenerateError::io("create", path, source))?;
    let sink = BufWriter::with_capacity(1 << 20, file);
    let mut writer = ArrowWriter::try_new(sink, batch.schema(), Some(props))
        .map_err(|source| GenerateError::parquet(path, source))?;
    let mut offset = 0;
    while offset < rows {
        let len = per_group.min(rows - offset);
        writer.write(&batch.slice(offset, len)).map_err(|source| GenerateError::parquet(path, source))?;
        writer.flush().map_err(|source| GenerateError::parquet(path, source))?;
        offset += len;
    }
    let sink = writer.into_inner().map_err(|source| GenerateError::parquet(path, source))?;
    let file = sink.into_inner().map_err(|e| GenerateError::io("write", path, e.into_error()))?;
    file.sync_all().map_err(|source| GenerateError::io("sync", path, source))?;
    let size = file.metadata().map_err(|source| GenerateError::io("stat", path, source))?.len();
    Ok(size)
}
