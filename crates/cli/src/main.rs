//! `tamsa`: the command line of the customer segment explorer.
//!
//! Glue only: each subcommand parses its flags, calls the library crates, and prints.

mod demo;
mod export;
mod progress;
mod reindex;
mod serve;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tamsa_query::Engine;

/// Tamsa (탐사): explore customer segments. Load customers and purchases from Parquet,
/// then ask who matches any combination of conditions and how they are made up.
#[derive(Parser)]
#[command(name = "tamsa", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a sample data set, index it, answer an example segment, and show what to do next.
    Demo(demo::Args),
    /// Write a synthetic data set (customers, products, purchases) in the input format.
    Generate(GenerateArgs),
    /// Load an input directory and make its index the current generation.
    Reindex(reindex::Args),
    /// Print the profile (count and facets) of a segment query as JSON.
    Query(QueryArgs),
    /// Stream a segment's customer_ids, and chosen fields, as CSV, NDJSON or Parquet.
    Export(export::Args),
    /// List the fields, their kinds, and the values of category and set fields with counts.
    Fields(IndexArgs),
    /// List the generations of an index; the current one is marked.
    Generations(IndexArgs),
    /// Make an older (or newer) generation current again.
    Rollback(RollbackArgs),
    /// Serve the API and the web UI over HTTP.
    Serve(serve::Args),
    /// Create, list or revoke the API tokens that exports and admin calls need.
    Token(serve::TokenArgs),
}

#[derive(clap::Args)]
struct GenerateArgs {
    /// The directory to write the tables into.
    #[arg(long)]
    out: PathBuf,
    /// How many customers.
    #[arg(long)]
    customers: u64,
    /// The same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(clap::Args)]
pub(crate) struct IndexArgs {
    /// The index directory.
    #[arg(long, env = "TAMSA_INDEX")]
    pub index: PathBuf,
}

#[derive(clap::Args)]
struct QueryArgs {
    #[command(flatten)]
    index: IndexArgs,
    /// The query file (JSON), or - for standard input.
    #[arg(long)]
    query: PathBuf,
}

#[derive(clap::Args)]
struct RollbackArgs {
    #[command(flatten)]
    index: IndexArgs,
    /// The generation to make current.
    #[arg(long)]
    to: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed pipe (`tamsa export … | head`) is the reader's choice, not a failure.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Generate(args) => generate(args),
        Command::Reindex(args) => reindex::run(args).map(|_| ()),
        Command::Query(args) => query(args),
        Command::Export(args) => export::run(args),
        Command::Fields(args) => fields(args),
        Command::Generations(args) => list_generations(args),
        Command::Rollback(args) => rollback(args),
        Command::Serve(args) => serve::run(args),
        Command::Token(args) => serve::token(args),
    }
}

fn generate(args: GenerateArgs) -> Result<()> {
    let options = tamsa_generate::GenerateOptions {
        customers: args.customers,
        seed: args.seed,
        end_day: tamsa_generate::default_end_day(),
    };
    let started = std::time::Instant::now();
    let summary = tamsa_generate::generate(&args.out, &options, &progress::CliProgress::new())
        .with_context(|| format!("generating into {}", args.out.display()))?;
    eprintln!(
        "wrote {} customers, {} products, {} purchase lines ({} orders) to {} in {:.1} s",
        summary.customers,
        summary.products,
        summary.purchase_lines,
        summary.orders,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Opens the current generation of an index directory for queries.
pub(crate) fn open_engine(dir: &Path) -> Result<Engine> {
    let index = tamsa_index::open(dir).with_context(|| format!("opening the index at {}", dir.display()))?;
    Ok(Engine::new(index))
}

/// Reads and validates a query file (`-` for standard input).
pub(crate) fn read_query(engine: &Engine, path: &Path) -> Result<tamsa_query::Node> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading the query from standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading the query file {}", path.display()))?
    };
    let node = tamsa_query::parse_str(&text, &engine.schema)
        .with_context(|| format!("invalid query in {}", path.display()))?;
    Ok(node)
}

fn query(args: QueryArgs) -> Result<()> {
    let engine = open_engine(&args.index.index)?;
    let node = read_query(&engine, &args.query)?;
    let profile = engine.profile(&node);
    print_json(&profile)
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

fn fields(args: IndexArgs) -> Result<()> {
    let engine = open_engine(&args.index)?;
    print_json(&engine.fields())
}

fn list_generations(args: IndexArgs) -> Result<()> {
    let generations = tamsa_index::generations(&args.index)?;
    if generations.is_empty() {
        anyhow::bail!("{}: no generations yet; run `tamsa reindex` first", args.index.display());
    }
    for g in generations {
        let summary = match tamsa_index::read_meta(&g.path) {
            Ok(meta) => format!(
                "as of {}, {} customers, built {}",
                tamsa_model::format_day(meta.as_of),
                meta.population,
                format_instant(meta.built_at_unix)
            ),
            Err(err) => format!("unreadable: {err}"),
        };
        println!("{}{:>6}  {}", if g.current { "* " } else { "  " }, g.generation, summary);
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MM UTC` of a time in seconds since the Unix epoch.
fn format_instant(unix: u64) -> String {
    let (days, secs) = (unix / 86_400, unix % 86_400);
    let day = tamsa_model::format_day(i32::try_from(days).unwrap_or(i32::MAX));
    format!("{day} {:02}:{:02} UTC", secs / 3600, secs % 3600 / 60)
}

fn rollback(args: RollbackArgs) -> Result<()> {
    let writer = tamsa_index::Writer::lock(&args.index.index)?;
    writer.set_current(args.to)?;
    eprintln!("generation {} of {} is current", args.to, args.index.index.display());
    Ok(())
}
