//! `tamsa export`: stream a segment's members and chosen fields, with bounded memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use tamsa_loader::{ExportColumn, ExportType, ExportValue, ParquetExport};
use tamsa_model::{FieldId, Kind};
use tamsa_query::{Engine, FieldValue};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Ndjson,
    Parquet,
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    index: crate::IndexArgs,
    /// The query file (JSON), or - for standard input.
    #[arg(long)]
    query: PathBuf,
    /// The output format.
    #[arg(long, value_enum)]
    format: Format,
    /// Fields to add after customer_id (number, category or bool fields), comma-separated.
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// The output file (written whole or not at all); standard output if absent.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Members are read from the bitmap this many at a time.
const PAGE: usize = 4096;

pub fn run(args: Args) -> Result<()> {
    let engine = crate::open_engine(&args.index.index)?;
    let node = crate::read_query(&engine, &args.query)?;
    let columns = resolve_columns(&engine, &args.columns)?;
    let members = engine.segment(&node);
    match &args.out {
        None => {
            let stdout = BufWriter::with_capacity(1 << 16, std::io::stdout());
            write_rows(&engine, &members, &columns, args.format, stdout)?;
        }
        Some(path) => {
            // Written beside the target and renamed when complete, so a failed export never
            // leaves a partial file under the final name.
            let temp = temp_path(path);
            let file = File::create(&temp).with_context(|| format!("creating {}", temp.display()))?;
            let result =
                write_rows(&engine, &members, &columns, args.format, BufWriter::with_capacity(1 << 16, file))
                    .and_then(|file| file.into_inner().map_err(|e| e.into_error().into()))
                    .and_then(|file| file.sync_all().map_err(Into::into))
                    .and_then(|()| std::fs::rename(&temp, path).map_err(Into::into));
            if let Err(err) = result {
                let _ = std::fs::remove_file(&temp);
                return Err(err).with_context(|| format!("writing {}", path.display()));
            }
            eprintln!("exported {} customers to {}", members.len(), path.display());
        }
    }
    Ok(())
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

fn resolve_columns(engine: &Engine, names: &[String]) -> Result<Vec<(FieldId, Kind)>> {
    names
        .iter()
        .filter(|n| !n.trim().is_empty())
        .map(|name| {
            let name = name.trim();
            let Some(id) = engine.schema.field(name) else {
                let hints =
                    tamsa_query::closest(name, engine.schema.fields().iter().map(|f| f.name.as_str()));
                let hint = if hints.is_empty() {
                    String::new()
                } else {
                    format!(" (did you mean {}?)", hints.join(", "))
                };
                bail!("--columns: unknown field `{name}`{hint}");
            };
            let kind = engine.schema.fields()[id].kind;
            if kind == Kind::Set {
                bail!("--columns: `{name}` is a set field; export takes number, category and bool fields");
            }
            Ok((id, kind))
        })
        .collect()
}

fn write_rows<W: Write + Send>(
    engine: &Engine,
    members: &roaring::RoaringBitmap,
    columns: &[(FieldId, Kind)],
    format: Format,
    out: W,
) -> Result<W> {
    let names: Vec<&str> = std::iter::once("customer_id")
        .chain(columns.iter().map(|&(id, _)| engine.schema.fields()[id].name.as_str()))
        .collect();
    match format {
        Format::Csv => {
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record(&names)?;
            let mut record: Vec<String> = Vec::with_capacity(names.len());
            each_member(members, |customer| {
                record.clear();
                record.push(engine.customer_id(customer).to_owned());
                for &(id, _) in columns {
                    record.push(match engine.value(id, customer) {
                        Some(FieldValue::Number(Some(v))) => v.to_string(),
                        Some(FieldValue::Text(t)) => t.to_owned(),
                        Some(FieldValue::Bool(b)) => b.to_string(),
                        Some(FieldValue::Number(None)) | None => String::new(),
                    });
                }
                csv.write_record(&record)?;
                Ok(())
            })?;
            csv.into_inner().map_err(|e| anyhow::anyhow!("{}", e.error()))
        }
        Format::Ndjson => {
            let mut out = out;
            each_member(members, |customer| {
                let mut row = serde_json::Map::new();
                row.insert(names[0].to_owned(), engine.customer_id(customer).into());
                for (&(id, _), name) in columns.iter().zip(&names[1..]) {
                    let value = match engine.value(id, customer) {
                        Some(FieldValue::Number(v)) => v.map_or(serde_json::Value::Null, Into::into),
                        Some(FieldValue::Text(t)) => t.into(),
                        Some(FieldValue::Bool(b)) => b.into(),
                        None => serde_json::Value::Null,
                    };
                    row.insert((*name).to_owned(), value);
                }
                serde_json::to_writer(&mut out, &row)?;
                out.write_all(b"\n")?;
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
                    ty: match i.checked_sub(1).map(|c| columns[c].1) {
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
                for &(id, _) in columns {
                    values.push(match engine.value(id, customer) {
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
fn each_member(members: &roaring::RoaringBitmap, mut each: impl FnMut(u32) -> Result<()>) -> Result<()> {
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
