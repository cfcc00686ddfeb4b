//! `tamsa export`: stream a segment's members and chosen fields, with bounded memory.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tamsa_query::export::{resolve_columns, write_rows, ExportOptions};

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

pub fn run(args: Args) -> Result<()> {
    let engine = crate::open_engine(&args.index.index)?;
    let node = crate::read_query(&engine, &args.query)?;
    let columns = resolve_columns(&engine, &args.columns).context("--columns")?;
    let format = match args.format {
        Format::Csv => tamsa_query::export::Format::Csv,
        Format::Ndjson => tamsa_query::export::Format::Ndjson,
        Format::Parquet => tamsa_query::export::Format::Parquet,
    };
    let options = ExportOptions::default();
    let members = engine.segment(&node);
    match &args.out {
        None => {
            let stdout = BufWriter::with_capacity(1 << 16, std::io::stdout());
            write_rows(&engine, &members, &columns, format, options, stdout)?;
        }
        Some(path) => {
            // Written beside the target and renamed when complete, so a failed export never
            // leaves a partial file under the final name.
            let temp = temp_path(path);
            let file = File::create(&temp).with_context(|| format!("creating {}", temp.display()))?;
            let result = write_rows(
                &engine,
                &members,
                &columns,
                format,
                options,
                BufWriter::with_capacity(1 << 16, file),
            )
            .map_err(anyhow::Error::from)
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
