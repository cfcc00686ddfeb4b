//! Finding a table's Parquet files, checking their columns against the contract, and
//! reading them row group by row group into columns of a few canonical Arrow types.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, BooleanArray, StringArray};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use tamsa_model::Day;

use crate::error::{LoadError, Result};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The types a contract column may have.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ColType {
    /// Text, or an integer read as its decimal text.
    IdText,
    /// Text.
    Text,
    /// A calendar date (a timestamp is accepted and taken in UTC).
    Date,
    /// A point in time, any unit, with or without time zone (a date is accepted).
    Timestamp,
    /// An integer of any width.
    Integer,
    /// A boolean.
    Bool,
}

impl ColType {
    fn expected(self) -> &'static str {
        match self {
            ColType::IdText => "a string or an integer",
            ColType::Text => "a string",
            ColType::Date => "a date",
            ColType::Timestamp => "a timestamp",
            ColType::Integer => "an integer",
            ColType::Bool => "a boolean",
        }
    }

    fn accepts(self, ty: &DataType) -> bool {
        let text = |ty: &DataType| match ty {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
            DataType::Dictionary(_, value) => {
                matches!(**value, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
            }
            _ => false,
        };
        match self {
            ColType::IdText => text(ty) || ty.is_integer(),
            ColType::Text => text(ty),
            ColType::Date | ColType::Timestamp => {
                matches!(ty, DataType::Date32 | DataType::Date64 | DataType::Timestamp(..))
            }
            ColType::Integer => ty.is_integer(),
            ColType::Bool => matches!(ty, DataType::Boolean),
        }
    }
}

/// One column a table is read for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ColumnSpec {
    pub name: &'static str,
    pub ty: ColType,
    pub required: bool,
}

pub(crate) const fn col(name: &'static str, ty: ColType) -> ColumnSpec {
    ColumnSpec { name, ty, required: true }
}

pub(crate) const fn optional(name: &'static str, ty: ColType) -> ColumnSpec {
    ColumnSpec { name, ty, required: false }
}

/// The Parquet files of table `name` in `dir`: `NAME.parquet` or the `*.parquet` parts of
/// the folder `NAME/`, in name order.
pub(crate) fn table_files(dir: &Path, name: &'static str) -> Result<Vec<PathBuf>> {
    let single = dir.join(format!("{name}.parquet"));
    let folder = dir.join(name);
    match (single.is_file(), folder.is_dir()) {
        (true, true) => Err(LoadError::AmbiguousTable { dir: dir.to_owned(), table: name }),
        (true, false) => Ok(vec![single]),
        (false, true) => {
            let io = |source| LoadError::Io { path: folder.clone(), source };
            let mut files = Vec::new();
            for entry in std::fs::read_dir(&folder).map_err(io)? {
                let path = entry.map_err(io)?.path();
                if path.extension().is_some_and(|ext| ext == "parquet") && path.is_file() {
                    files.push(path);
                }
            }
            files.sort();
            if files.is_empty() {
                return Err(LoadError::MissingTable { dir: dir.to_owned(), table: name });
            }
            Ok(files)
        }
        (false, false) => Err(LoadError::MissingTable { dir: dir.to_owned(), table: name }),
    }
}

/// One row group of one file: the unit of parallel reading.
#[derive(Clone, Debug)]
pub(crate) struct Part {
    pub file: PathBuf,
    pub row_group: usize,
    /// The row number, within the file, of the row group's first row.
    pub first_row: u64,
    pub rows: u64,
    /// The root column index of each spec, `None` for an absent optional column.
    columns: Arc<Vec<Option<usize>>>,
}

fn parquet_error(file: &Path, err: impl std::fmt::Display) -> LoadError {
    LoadError::Parquet { file: file.to_owned(), message: err.to_string() }
}

fn open(file: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let handle = File::open(file).map_err(|source| LoadError::Io { path: file.to_owned(), source })?;
    ParquetRecordBatchReaderBuilder::try_new(handle).map_err(|err| parquet_error(file, err))
}

/// Checks every file's columns against `specs` and lists their row groups.
pub(crate) fn plan(files: &[PathBuf], specs: &[ColumnSpec]) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    for file in files {
        let builder = open(file)?;
        let schema = builder.schema();
        let mut columns = Vec::with_capacity(specs.len());
        for spec in specs {
            match schema.index_of(spec.name) {
                Ok(index) => {
                    let found = schema.field(index).data_type();
                    if !spec.ty.accepts(found) {
                        return Err(LoadError::WrongType {
                            file: file.clone(),
                            column: spec.name,
                            expected: spec.ty.expected(),
                            found: found.to_string(),
                        });
                    }
                    columns.push(Some(index));
                }
                Err(_) if !spec.required => columns.push(None),
                Err(_) => {
                    return Err(LoadError::MissingColumn {
                        file: file.clone(),
                        column: spec.name,
                        expected: spec.ty.expected(),
                    })
                }
            }
        }
        let columns = Arc::new(columns);
        let mut first_row = 0;
        for (row_group, meta) in builder.metadata().row_groups().iter().enumerate() {
            let rows = meta.num_rows() as u64;
            parts.push(Part { file: file.clone(), row_group, first_row, rows, columns: columns.clone() });
            first_row += rows;
        }
    }
    Ok(parts)
}

/// A column of a batch, in the canonical type of its [`ColType`].
pub(crate) enum Col {
    Text(StringArray),
    /// Microseconds since the epoch, UTC.
    Micros(arrow_array::PrimitiveArray<TimestampMicrosecondType>),
    Days(arrow_array::PrimitiveArray<Date32Type>),
    Int(arrow_array::PrimitiveArray<Int64Type>),
    Bool(BooleanArray),
    /// An optional column the file does not have: every value is null.
    Absent,
}

impl Col {
    pub fn text(&self, row: usize) -> Option<&str> {
        match self {
            Col::Text(a) if a.is_valid(row) => Some(a.value(row)),
            _ => None,
        }
    }

    pub fn micros(&self, row: usize) -> Option<i64> {
        match self {
            Col::Micros(a) if a.is_valid(row) => Some(a.value(row)),
            Col::Days(a) if a.is_valid(row) => Some(i64::from(a.value(row)) * MICROS_PER_DAY),
            _ => None,
        }
    }

    pub fn day(&self, row: usize) -> Option<Day> {
        match self {
            Col::Days(a) if a.is_valid(row) => Some(a.value(row)),
            Col::Micros(_) => self.micros(row).map(day_of_micros),
            _ => None,
        }
    }

    pub fn int(&self, row: usize) -> Option<i64> {
        match self {
            Col::Int(a) if a.is_valid(row) => Some(a.value(row)),
            _ => None,
        }
    }

    pub fn bool(&self, row: usize) -> Option<bool> {
        match self {
            Col::Bool(a) if a.is_valid(row) => Some(a.value(row)),
            _ => None,
        }
    }
}

/// The UTC calendar day of a point in time.
pub(crate) fn day_of_micros(micros: i64) -> Day {
    micros.div_euclid(MICROS_PER_DAY) as Day
}

fn canonical(array: &ArrayRef, ty: ColType, file: &Path, column: &str) -> Result<Col> {
    let cast = |to: &DataType| {
        arrow_cast::cast(array, to).map_err(|err| parquet_error(file, format!("column `{column}`: {err}")))
    };
    Ok(match (ty, array.data_type()) {
        (ColType::IdText | ColType::Text, _) => Col::Text(cast(&DataType::Utf8)?.as_string::<i32>().clone()),
        (ColType::Date | ColType::Timestamp, DataType::Date32 | DataType::Date64) => {
            Col::Days(cast(&DataType::Date32)?.as_primitive::<Date32Type>().clone())
        }
        (ColType::Date | ColType::Timestamp, DataType::Timestamp(_, zone)) => {
            // Same zone, other unit: the stored instants stay UTC-based, only rescaled.
            let to = DataType::Timestamp(TimeUnit::Microsecond, zone.clone());
            let micros = cast(&to)?.as_primitive::<TimestampMicrosecondType>().clone();
            Col::Micros(micros.with_timezone_opt(None::<String>))
        }
        (ColType::Integer, _) => Col::Int(cast(&DataType::Int64)?.as_primitive::<Int64Type>().clone()),
        (ColType::Bool, _) => Col::Bool(array.as_boolean().clone()),
        (_, found) => unreachable!("column `{column}` of type {found} passed the schema check"),
    })
}

/// One batch of a row group: its columns in `specs` order, where it starts in the file,
/// and how many rows it has.
pub(crate) struct Batch<'a> {
    pub cols: &'a [Col],
    pub first_row: u64,
    pub rows: usize,
}

/// Reads one row group, calling `each` with each of its batches.
pub(crate) fn read_part(part: &Part, specs: &[ColumnSpec], mut each: impl FnMut(Batch<'_>)) -> Result<()> {
    let builder = open(&part.file)?;
    let present: Vec<usize> = part.columns.iter().flatten().copied().collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), present);
    let reader = builder
        .with_projection(mask)
        .with_row_groups(vec![part.row_group])
        .with_batch_size(64 * 1024)
        .build()
        .map_err(|err| parquet_error(&part.file, err))?;
    let mut row = part.first_row;
    for batch in reader {
        let batch = batch.map_err(|err| parquet_error(&part.file, err))?;
        let mut cols = Vec::with_capacity(specs.len());
        for spec in specs {
            cols.push(match batch.column_by_name(spec.name) {
                Some(array) => canonical(array, spec.ty, &part.file, spec.name)?,
                None => Col::Absent,
            });
        }
        each(Batch { cols: &cols, first_row: row, rows: batch.num_rows() });
        row += batch.num_rows() as u64;
    }
    Ok(())
}
