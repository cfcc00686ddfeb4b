//! Writes a segment's members and chosen fields as a Parquet file, a batch at a time,
//! so that exporting millions of customers takes bounded memory.

use std::io::Write;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

/// Rows buffered before they are written as one batch.
const BATCH_ROWS: usize = 64 * 1024;

/// A column of an export and its type.
#[derive(Clone, Debug)]
pub struct ExportColumn {
    /// The column name.
    pub name: String,
    /// Its type: text, integer (nullable) or boolean.
    pub ty: ExportType,
}

/// The type of an export column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportType {
    /// UTF-8 text.
    Text,
    /// A nullable 64-bit integer.
    Int,
    /// A boolean.
    Bool,
}

/// One value of a row.
#[derive(Clone, Copy, Debug)]
pub enum ExportValue<'a> {
    /// For [`ExportType::Text`].
    Text(&'a str),
    /// For [`ExportType::Int`].
    Int(Option<i64>),
    /// For [`ExportType::Bool`].
    Bool(bool),
}

enum Builder {
    Text(StringBuilder),
    Int(Int64Builder),
    Bool(BooleanBuilder),
}

/// A Parquet file being written row by row.
pub struct ParquetExport<W: Write + Send> {
    writer: ArrowWriter<W>,
    schema: Arc<Schema>,
    builders: Vec<Builder>,
    buffered: usize,
}

impl<W: Write + Send> ParquetExport<W> {
    /// Starts a file with these columns.
    pub fn new(out: W, columns: &[ExportColumn]) -> parquet::errors::Result<Self> {
        let fields: Vec<Field> = columns
            .iter()
            .map(|c| match c.ty {
                ExportType::Text => Field::new(&c.name, DataType::Utf8, false),
                ExportType::Int => Field::new(&c.name, DataType::Int64, true),
                ExportType::Bool => Field::new(&c.name, DataType::Boolean, false),
            })
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(1024 * 1024))
            .build();
        let writer = ArrowWriter::try_new(out, schema.clone(), Some(props))?;
        let builders = columns
            .iter()
            .map(|c| match c.ty {
                ExportType::Text => Builder::Text(StringBuilder::new()),
                ExportType::Int => Builder::Int(Int64Builder::new()),
                ExportType::Bool => Builder::Bool(BooleanBuilder::new()),
            })
            .collect();
        Ok(ParquetExport { writer, schema, builders, buffered: 0 })
    }

    /// Adds a row; `values` follow the columns given to [`ParquetExport::new`].
    pub fn push(&mut self, values: &[ExportValue<'_>]) -> parquet::errors::Result<()> {
        for (builder, value) in self.builders.iter_mut().zip(values) {
            match (builder, value) {
                (Builder::Text(b), ExportValue::Text(v)) => b.append_value(v),
                (Builder::Int(b), ExportValue::Int(v)) => b.append_option(*v),
                (Builder::Bool(b), ExportValue::Bool(v)) => b.append_value(*v),
                _ => panic!("export value does not match its column type"),
            }
        }
        self.buffered += 1;
        if self.buffered == BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> parquet::errors::Result<()> {
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Text(b) => Arc::new(b.finish()),
                    Builder::Int(b) => Arc::new(b.finish()),
                    Builder::Bool(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)?;
        self.writer.write(&batch)?;
        self.buffered = 0;
        Ok(())
    }

    /// Writes what is buffered and the file's footer.
    pub fn finish(mut self) -> parquet::errors::Result<W> {
        if self.buffered > 0 {
            self.flush_batch()?;
        }
        self.writer.into_inner()
    }
}
