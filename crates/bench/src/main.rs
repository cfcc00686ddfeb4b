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
        /// Answer as the service does: a top-level `all` condition by condition in the order
        /// given, counting after each (its `steps`), rather than in the evaluator's order.
        #[arg(long)]
        steps: bool,
        /// Keep up to this many MiB of groups' results over everyone between queries and
        /// runs, as the service does (0: every answer computed from the index alone).
        #[arg(long, default_value_t = 0)]
        group_cache_mib: u64,
    },
    /// Time each condition of one suite query's top-level `all`, in the order the
    /// evaluator takes them, on one thread: where a slow query spends its time.
    Explain {
        #[arg(long)]
        index: PathBuf,
        #[arg(long)]
        suite: PathBuf,
        /// The size group, by its number of conditions.
        #[arg(long)]
        conditions: usize,
        /// The query's position within its group.
        #[arg(long)]
        query: usize,
        /// Timed runs of each step, after one warm-up run.
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// Take the conditions in the order the query gives them, as the service's steps
        /// (the count after each condition) do, rather than the evaluator's order.
        #[arg(long)]
        as_given: bool,
        /// Keep groups' results over everyone between runs, as the service does: the first
        /// run computes (and keeps) a group within a broad mask over everyone, later runs
        /// answer it from what was kept.
        #[arg(long)]
        group_cache: bool,
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
    /// Each query's count and median times, in suite order, to find the slow ones.
    per_query: Vec<QueryTimes>,
}

#[derive(Serialize)]
struct QueryTimes {
    count: u64,
    count_ms: f64,
    profile_ms: f64,
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
        Command::Run { index, suite, repeat, out, steps, group_cache_mib } => {
            let started = Instant::now();
            let engine = Engine::new(tamsa_index::open(&index)?).with_group_cache(group_cache_mib << 20);
            let segment = |node: &tamsa_query::Node| match node {
                tamsa_query::Node::All(children) if steps && !children.is_empty() => engine.steps(children).0,
                _ => engine.segment(node),
            };
            let profile = |node: &tamsa_query::Node| engine.facets(&segment(node));
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
                let (mut count_ms, mut profile_ms, mut per_query) = (Vec::new(), Vec::new(), Vec::new());
                for node in &nodes {
                    let count = segment(node).len();
                    counts.push(count);
                    profile(node);
                    let (mut count_runs, mut profile_runs) = (Vec::new(), Vec::new());
                    for _ in 0..repeat {
                        let t = Instant::now();
                        std::hint::black_box(segment(node).len());
                        count_runs.push(t.elapsed().as_secs_f64() * 1e3);
                        let t = Instant::now();
                        std::hint::black_box(profile(node));
                        profile_runs.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                    count_ms.extend_from_slice(&count_runs);
                    profile_ms.extend_from_slice(&profile_runs);
                    per_query.push(QueryTimes {
                        count,
                        count_ms: percentiles(count_runs).p50,
                        profile_ms: percentiles(profile_runs).p50,
                    });
                }
                counts.sort_unstable();
                let result = SizeResult {
                    conditions: group.conditions,
                    queries: nodes.len(),
                    runs: count_ms.len(),
                    median_count: counts.get(counts.len() / 2).copied().unwrap_or(0),
                    count_ms: percentiles(count_ms),
                    profile_ms: percentiles(profile_ms),
                    per_query,
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
            let group_cache = engine.group_cache_stats();
            if group_cache.budget > 0 {
                eprintln!("group cache: {group_cache:?}");
            }
            if let Some(out) = out {
                let report = serde_json::json!({
                    "population": engine.index.population(),
                    "generation": engine.index.meta.generation,
                    "repeat": repeat,
                    "steps": steps,
                    "group_cache": group_cache,
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
        Command::Explain { index, suite, conditions, query, repeat, as_given, group_cache } => {
            let cache_bytes = if group_cache { tamsa_query::DEFAULT_GROUP_CACHE_BYTES } else { 0 };
            let engine = Engine::new(tamsa_index::open(&index)?).with_group_cache(cache_bytes);
            let source = engine.source();
            let suite: Suite = serde_json::from_slice(&std::fs::read(&suite)?)?;
            let group = suite
                .groups
                .iter()
                .find(|g| g.conditions == conditions)
                .with_context(|| format!("the suite has no group of {conditions} conditions"))?;
            let json = group.queries.get(query).with_context(|| format!("no query {query}"))?;
            let node = engine.parse(json)?;
            let children = match &node {
                tamsa_query::Node::All(children) => children.clone(),
                other => vec![other.clone()],
            };
            let order = if as_given {
                children.iter().collect()
            } else {
                tamsa_query::order(&children, &engine.index)
            };
            println!("| step | estimate | matching | first ms | ms (median) | condition |");
            println!("|---:|---:|---:|---:|---:|---|");
            let mut mask = engine.index.universe.clone();
            for (step, child) in order.into_iter().enumerate() {
                let estimate = tamsa_query::estimate(child, &source);
                let t = Instant::now();
                let next = tamsa_query::within(child, &mask, &source);
                let first = t.elapsed().as_secs_f64() * 1e3;
                let runs: Vec<f64> = (0..repeat.max(1))
                    .map(|_| {
                        let t = Instant::now();
                        std::hint::black_box(tamsa_query::within(child, &mask, &source));
                        t.elapsed().as_secs_f64() * 1e3
                    })
                    .collect();
                let text: String = format!("{child:?}").chars().take(100).collect();
                let median = percentiles(runs).p50;
                println!("| {step} | {estimate} | {} | {first:.3} | {median:.3} | {text} |", next.len());
                mask = next;
            }
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
