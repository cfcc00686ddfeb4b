//! Writing a segment's members, with chosen fields, as CSV, NDJSON or Parquet.
//!
//! Rows are produced in customer order, a page of the bitmap at a time, into any `Write`;
//! memory stays bounded whatever the segment's size (Parquet buffers one row group).

use std::io::Write;

use roaring::RoaringBitmap;
use tamsa_loader::{ExportColumn, ExportType, ExportValue, ParquetExport};
use tamsa_model::{FieldId, Kind};

use crate::{closest, Engine, FieldValue};

/// Members are read from the bitmap this many at a time.
const PAGE: usize = 4096;

/// An export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// UTF-8 CSV with a header row.
    Csv,
    /// One JSON object a line.
    Ndjson,
    /// A Parquet file.
    Parquet,
}

impl Format {
    /// The format named `name` (`csv`, `ndjson` or `parquet`).
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "csv" => Some(Format::Csv),
            "ndjson" => Some(Format::Ndjson),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// The format's name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
        }
    }

    /// The media type of an export in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// How rows are written.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExportOptions {
    /// Start a CSV with a UTF-8 byte-order mark, which spreadsheet programs need to read
    /// Hangul correctly.
    pub byte_order_mark: bool,
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A column names no field.
    #[error("unknown field `{name}`{}", hint(.suggestions))]
    UnknownColumn {
        /// The name given.
        name: String,
        /// The closest field names.
        suggestions: Vec<String>,
    },
    /// A column names a set field, which has no single value per customer.
    #[error("`{0}` is a set field; exports take number, category and bool fields")]
    SetColumn(String),
    /// Writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Writing CSV failed.
    #[error(transparent)]
    Csv(#[from] csv::Error),
    /// Writing Parquet failed.
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
}

fn hint(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", suggestions.join(", "))
    }
}

/// A field exported beside customer_id.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// The field.
    pub field: FieldId,
    /// Its kind: number, category or bool.
    pub kind: Kind,
}

/// Resolves column names (blank names are ignored) to fields, rejecting unknown and set fields.
pub fn resolve_columns(engine: &Engine, names: &[String]) -> Result<Vec<Column>, ExportError> {
    names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|name| {
            let Some(field) = engine.schema.field(name) else {
                let suggestions = closest(name, engine.schema.fields().iter().map(|f| f.name.as_str()));
                return Err(ExportError::UnknownColumn { name: name.to_owned(), suggestions });
            };
            let kind = engine.schema.fields()[field].kind;
            if kind == Kind::Set {
                return Err(ExportError::SetColumn(name.to_owned()));
            }
            Ok(Column { field, kind })
        })
        .collect()
}

/// Writes one row per member, in customer order, and returns the writer.
pub fn write_rows<W: Write + Send>(
    engine: &Engine,
    members: &RoaringBitmap,
    columns: &[Column],
    format: Format,
    options: ExportOptions,
    out: W,
) -> Result<W, ExportError> {
    let names: Vec<&str> = std::iter::once("customer_id")
        .chain(columns.iter().map(|c| engine.schema.fields()[c.field].name.as_str()))
        .collect();
    match format {
        Format::Csv => {
            let mut out = out;
            if options.byte_order_mark {
                out.write_all("\u{feff}".as_bytes())?;
            }
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record(&names)?;
            let mut record: Vec<String> = Vec::with_capacity(names.len());
            each_member(members, |customer| {
                record.clear();
                record.push(engine.customer_id(customer).to_owned());
                for c in columns {
                    record.push(match engine.value(c.field, customer) {
                        Some(FieldValue::Number(Some(v))) => v.to_string(),
                        Some(FieldValue::Text(t)) => t.to_owned(),
                        Some(FieldValue::Bool(b)) => b.to_string(),
                        Some(FieldValue::Number(None)) | None => String::new(),
                    });
                }
                csv.write_record(&record)?;
                Ok(())
            })?;
            csv.into_inner().map_err(|e| ExportError::Io(std::io::Error::other(e.error().to_string())))
        }
        Format::Ndjson => {
            let mut out = out;
            let mut line = Vec::with_capacity(256);
            each_member(members, |customer| {
                let mut row = serde_json::Map::new();
                row.insert(names[0].to_owned(), engine.customer_id(customer).into());
                for (c, name) in columns.iter().zip(&names[1..]) {
                    let value = match engine.value(c.field, customer) {
                        Some(FieldValue::Number(v)) => v.map_or(serde_json::Value::Null, Into::into),
                        Some(FieldValue::Text(t)) => t.into(),
                        Some(FieldValue::Bool(b)) => b.into(),
                        None => serde_json::Value::Null,
                    };
                    row.insert((*name).to_owned(), value);
                }
                line.clear();
                serde_json::to_writer(&mut line, &row).map_err(std::io::Error::from)?;
                line.push(b'\n');
                out.write_all(&line)?;
                Ok(())
            })?;
            Ok(out)
        }
        Format::Parquet => {
            let export_columns: Vec<ExportColumn> = names
                .iter()
                .enumerate()
                .map(|(i, name)| ExportColumn {
                    name: (*name).to_owned(),
                    ty: match i.checked_sub(1).map(|c| columns[c].kind) {
                        None | Some(Kind::Category) | Some(Kind::Set) => ExportType::Text,
                        Some(Kind::Number) => ExportType::Int,
                        Some(Kind::Bool) => ExportType::Bool,
                    },
                })
                .collect();
            let mut writer = ParquetExport::new(out, &export_columns)?;
            let mut values = Vec::with_capacity(names.len());
            each_member(members, |customer| {
                values.clear();
                values.push(ExportValue::Text(engine.customer_id(customer)));
                for c in columns {
                    values.push(match engine.value(c.field, customer) {
                        Some(FieldValue::Number(v)) => ExportValue::Int(v),
                        Some(FieldValue::Text(t)) => ExportValue::Text(t),
                        Some(FieldValue::Bool(b)) => ExportValue::Bool(b),
                        None => ExportValue::Int(None),
                    });
                }
                writer.push(&values)?;
                Ok(())
            })?;
            Ok(writer.finish()?)
        }
    }
}

/// Calls `each` with every member in ascending order, reading the bitmap a page at a time.
pub fn each_member(
    members: &RoaringBitmap,
    mut each: impl FnMut(u32) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let mut page = vec![0u32; PAGE];
    let mut iter = members.iter();
    loop {
        let filled = iter.next_many(&mut page);
        if filled.is_empty() {
            return Ok(());
        }
        for &customer in filled.iter() {
            each(customer)?;
        }
    }
}
