//! `tamsa-bench`: builds seeded suites of realistic marketer segments from an index's
//! catalog and times the engine on them (count only, and count with the full profile).

mod suite;
mod tantivy_engine;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use serde::{Deserialize, Serialize};
use tamsa_query::Engine;

#[derive(Parser)]
#[command(name = "tamsa-bench", about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a seeded query suite for an index.
    Suite {
        #[arg(long)]
        index: PathBuf,
        /// Conditions per query, one size per group of queries.
        #[arg(long, value_delimiter = ',', default_value = "3,10,50,500")]
        sizes: Vec<usize>,
        /// Queries per size.
        #[arg(long, default_value_t = 30)]
        per_size: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Time a suite on an index.
    Run {
        #[arg(long)]
        index: PathBuf,
        #[arg(long)]
        suite: PathBuf,
        /// Timed runs of each query, after one warm-up run.
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// Where to write the results as JSON.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Build the tantivy baseline: one document per customer of a Tamsa index.
    TantivyBuild {
        /// The Tamsa index to read the customers from.
        #[arg(long)]
        index: PathBuf,
        /// The directory of the tantivy index (replaced if it holds one).
        #[arg(long)]
        out: PathBuf,
        /// Indexing threads.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Memory budget of the writer, all threads together, in MiB.
        #[arg(long, default_value_t = 1024)]
        memory_mib: usize,
        /// Segments to merge the index into at the end (default: one per core, searched in
        /// parallel, as an Elasticsearch index would have one shard per core).
        #[arg(long)]
        segments: Option<usize>,
    },
    /// Time a suite on the tantivy baseline, optionally checking every answer against Tamsa's.
    TantivyRun {
        /// The tantivy index directory.
        #[arg(long)]
        tantivy: PathBuf,
        /// The Tamsa index it was built from.
        #[arg(long)]
        index: PathBuf,
        #[arg(long)]
        suite: PathBuf,
        /// Timed runs of each query, after one warm-up run.
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// Where to write the results (and every answer) as JSON.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Compare every count and profile with Tamsa's; exit non-zero on a difference.
        #[arg(long)]
        check: bool,
        /// Search threads (default: one per segment, at most one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
}

/// A suite: queries grouped by their number of conditions.
#[derive(Serialize, Deserialize)]
pub struct Suite {
    seed: u64,
    groups: Vec<Group>,
}

#[derive(Serialize, Deserialize)]
struct Group {
    conditions: usize,
    queries: Vec<serde_json::Value>,
}

/// Timings of one size, in milliseconds.
#[derive(Serialize)]
struct SizeResult {
    conditions: usize,
    queries: usize,
    runs: usize,
    median_count: u64,
    count_ms: Percentiles,
    profile_ms: Percentiles,
}

#[derive(Serialize)]
struct Percentiles {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

fn percentiles(mut samples: Vec<f64>) -> Percentiles {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Percentiles { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1.0) }
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Suite { index, sizes, per_size, seed, out } => {
            let engine = Engine::new(tamsa_index::open(&index)?);
            let suite = suite::build(&engine, &sizes, per_size, seed);
            std::fs::write(&out, serde_json::to_vec_pretty(&suite)?)
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {} queries to {}", sizes.len() * per_size, out.display());
            Ok(())
        }
        Command::Run { index, suite, repeat, out } => {
            let started = Instant::now();
            let engine = Engine::new(tamsa_index::open(&index)?);
            eprintln!(
                "opened {} ({} customers) in {:.1} s",
                index.display(),
                engine.index.population(),
                started.elapsed().as_secs_f64()
            );
            let suite: Suite = serde_json::from_slice(&std::fs::read(&suite)?)?;
            let mut results = Vec::new();
            println!("| conditions | queries | median count | count p50 | count p95 | count p99 | profile p50 | profile p95 | profile p99 |");
            println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            for group in &suite.groups {
                let nodes: Vec<_> =
                    group.queries.iter().map(|q| engine.parse(q)).collect::<Result<_, _>>()?;
                let mut counts = Vec::new();
                let (mut count_ms, mut profile_ms) = (Vec::new(), Vec::new());
                for node in &nodes {
                    counts.push(engine.segment(node).len());
                    engine.profile(node);
                    for _ in 0..repeat {
                        let t = Instant::now();
                        std::hint::black_box(engine.segment(node).len());
                        count_ms.push(t.elapsed().as_secs_f64() * 1e3);
                        let t = Instant::now();
                        std::hint::black_box(engine.profile(node));
                        profile_ms.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                }
                counts.sort_unstable();
                let result = SizeResult {
                    conditions: group.conditions,
                    queries: nodes.len(),
                    runs: count_ms.len(),
                    median_count: counts.get(counts.len() / 2).copied().unwrap_or(0),
                    count_ms: percentiles(count_ms),
                    profile_ms: percentiles(profile_ms),
                };
                println!(
                    "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                    result.conditions,
                    result.queries,
                    result.median_count,
                    result.count_ms.p50,
                    result.count_ms.p95,
                    result.count_ms.p99,
                    result.profile_ms.p50,
                    result.profile_ms.p95,
                    result.profile_ms.p99
                );
                results.push(result);
            }
            if let Some(out) = out {
                let report = serde_json::json!({
                    "population": engine.index.population(),
                    "generation": engine.index.meta.generation,
                    "repeat": repeat,
                    "sizes": results,
                });
                std::fs::write(&out, serde_json::to_vec_pretty(&report)?)?;
            }
            Ok(())
        }
        Command::TantivyBuild { index, out, threads, memory_mib, segments } => {
            let engine = Engine::new(tamsa_index::open(&index)?);
            let segments =
                segments.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let options = tantivy_engine::BuildOptions { threads, memory_bytes: memory_mib << 20, segments };
            let report = tantivy_engine::build(&engine, &out, &options)?;
            eprintln!(
                "wrote {} documents to {} in {:.1} s (merge {:.1} s): {:.1} MiB on disk, {} segment(s), \
                 peak memory {:.0} MiB (of which {:.0} MiB the open Tamsa index)",
                report.customers,
                out.display(),
                report.seconds,
                report.merge_seconds,
                report.bytes as f64 / (1 << 20) as f64,
                report.segments,
                report.peak_memory_bytes.unwrap_or(0) as f64 / (1 << 20) as f64,
                report.rss_before_bytes.unwrap_or(0) as f64 / (1 << 20) as f64,
            );
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::TantivyRun { tantivy, index, suite, repeat, out, check, threads } => {
            tantivy_engine::run(&tantivy_engine::RunOptions {
                tantivy,
                index,
                suite,
                repeat,
                out,
                check,
                threads,
            })
        }
    }
}
