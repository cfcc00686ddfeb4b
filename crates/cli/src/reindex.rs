//! `tamsa reindex`: load an input directory, build a new generation, make it current.

use std::path::PathBuf;

use anyhow::Result;
use tamsa_index::{Meta, ReindexOptions};
use tamsa_loader::{LoadOptions, LoadReport};

use crate::progress::CliProgress;

#[derive(clap::Args)]
pub struct Args {
    /// The input directory: customers, products and purchases, each NAME.parquet or a folder NAME/ of parts.
    #[arg(long, env = "TAMSA_INPUT")]
    pub input: PathBuf,
    /// The index directory (created if missing).
    #[arg(long, env = "TAMSA_INDEX")]
    pub index: PathBuf,
    /// Compute fields as of this day (YYYY-MM-DD); later purchases are left out. Default: the latest purchase day.
    #[arg(long, value_parser = parse_as_of)]
    pub as_of: Option<tamsa_model::Day>,
    /// Fail if any row would be skipped.
    #[arg(long)]
    pub strict: bool,
    /// How many generations to keep for rollback, the new one included.
    #[arg(long, default_value_t = 3, env = "TAMSA_KEEP_GENERATIONS")]
    pub keep: usize,
}

fn parse_as_of(text: &str) -> Result<tamsa_model::Day, String> {
    tamsa_model::parse_day(text).ok_or_else(|| format!("`{text}` is not a date of the form YYYY-MM-DD"))
}

/// Runs a reindex and prints its report; returns the new generation's meta.
pub fn run(args: Args) -> Result<Meta> {
    let options =
        ReindexOptions { load: LoadOptions { as_of: args.as_of, strict: args.strict }, keep: args.keep };
    let meta = tamsa_index::reindex(&args.input, &args.index, &options, &CliProgress::new())?;
    print_report(&meta, &args);
    Ok(meta)
}

fn print_report(meta: &Meta, args: &Args) {
    let report = &meta.report;
    let LoadReport { tables, skipped, after_as_of, unknown_product_lines } = &report.load;
    eprintln!("reindex of {} into {}", args.input.display(), args.index.display());
    for t in tables {
        eprintln!(
            "  read {:>12} rows of {} ({} file{})",
            t.rows,
            t.table,
            t.files,
            if t.files == 1 { "" } else { "s" }
        );
    }
    if skipped.is_empty() {
        eprintln!("  skipped      0 rows");
    }
    for s in skipped {
        eprintln!("  skipped {:>9} rows: {}", s.count, s.reason.describe());
        for example in &s.examples {
            eprintln!("      e.g. {example}");
        }
    }
    if *after_as_of > 0 {
        eprintln!("  left out {after_as_of} purchase lines dated after the as-of day");
    }
    if *unknown_product_lines > 0 {
        eprintln!("  kept {unknown_product_lines} purchase lines of products not in products (brand and category `unknown`)");
    }
    eprintln!(
        "  generation {} is current: {} customers, {} purchase lines, as of {}",
        meta.generation,
        meta.population,
        report.purchase_lines,
        tamsa_model::format_day(meta.as_of)
    );
    let peak =
        report.peak_memory_bytes.map_or("unknown".to_owned(), |b| format!("{:.0} MiB", b as f64 / 1048576.0));
    eprintln!(
        "  took {:.1} s, peak memory {peak}, index size {:.1} MiB",
        report.seconds,
        report.index_bytes as f64 / 1048576.0
    );
}
