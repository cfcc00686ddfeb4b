//! `tamsa-bench tantivy-run`: times a suite on the tantivy index (count only, and count
//! with the profile), in the shape `tamsa-bench run` reports, and checks every answer
//! against Tamsa's engine.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::json;
use tamsa_query::{Engine, Facets};
use tantivy::collector::Count;
use tantivy::{Index, ReloadPolicy};

use super::field_handles;
use super::profile::Profiler;
use super::translate::Translator;
use crate::{percentiles, QueryTimes, SizeResult, Suite};

/// What `tantivy-run` reads, how it runs and where it writes.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The tantivy index directory.
    pub tantivy: PathBuf,
    /// The Tamsa index it was built from (for parsing queries and checking answers).
    pub index: PathBuf,
    /// The suite of queries.
    pub suite: PathBuf,
    /// Timed runs of each query, after one warm-up run.
    pub repeat: usize,
    /// Where to write the results as JSON.
    pub out: Option<PathBuf>,
    /// Compare every count and profile with Tamsa's, failing on a difference.
    pub check: bool,
    /// Search threads (segments are searched in parallel); default: one per segment, at
    /// most one per core.
    pub threads: Option<usize>,
}

/// How many differences `--check` lists.
const SHOWN_MISMATCHES: usize = 10;

/// Runs the suite on the tantivy index; fails listing the first differences from Tamsa's
/// answers when checking.
pub fn run(options: &RunOptions) -> Result<()> {
    let started = Instant::now();
    let engine = Engine::new(tamsa_index::open(&options.index)?);
    let mut index = Index::open_in_dir(&options.tantivy)
        .with_context(|| format!("opening the tantivy index {}", options.tantivy.display()))?;
    let fields = field_handles(&index.schema(), engine.schema.fields())?;
    let segments = index.searchable_segment_metas()?.len();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = options.threads.unwrap_or_else(|| segments.min(cores)).max(1);
    if threads > 1 {
        index.set_multithread_executor(threads)?;
    }
    let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
    let searcher = reader.searcher();
    if u64::from(engine.index.population()) != searcher.num_docs() {
        bail!(
            "the tantivy index holds {} documents, the Tamsa index {} customers: rebuild it",
            searcher.num_docs(),
            engine.index.population()
        );
    }
    eprintln!(
        "opened {} and {} ({} customers, {segments} segments, {threads} search threads) in {:.1} s",
        options.index.display(),
        options.tantivy.display(),
        engine.index.population(),
        started.elapsed().as_secs_f64()
    );
    let suite: Suite = serde_json::from_slice(
        &std::fs::read(&options.suite).with_context(|| format!("reading {}", options.suite.display()))?,
    )?;
    let translator = Translator::new(&engine.schema, &fields);
    let profiler = Profiler::new(&engine)?;

    let mut results = Vec::new();
    let mut answers = Vec::new();
    let mut mismatches = Vec::new();
    let mut checked = 0;
    println!("| conditions | queries | median count | count p50 | count p95 | count p99 | profile p50 | profile p95 | profile p99 |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for group in &suite.groups {
        let (mut counts, mut per_query) = (Vec::new(), Vec::new());
        let (mut count_ms, mut profile_ms) = (Vec::new(), Vec::new());
        for (i, json) in group.queries.iter().enumerate() {
            let node = engine.parse(json)?;
            let query = translator.query(&node);
            // The warm-up run gives the answer.
            let count = searcher.search(query.as_ref(), &Count)? as u64;
            let (profile_count, facets) = profiler.profile(&searcher, query.as_ref())?;
            if options.check {
                checked += 1;
                let expected = engine.profile(&node);
                if let Some(difference) =
                    difference((count, profile_count, &facets), (expected.count, &expected.facets))
                {
                    mismatches.push(format!(
                        "{} conditions, query {i}: {difference}\n  query: {json}",
                        group.conditions
                    ));
                }
            }
            let (mut own_count_ms, mut own_profile_ms) = (Vec::new(), Vec::new());
            for _ in 0..options.repeat {
                let t = Instant::now();
                std::hint::black_box(searcher.search(query.as_ref(), &Count)?);
                own_count_ms.push(t.elapsed().as_secs_f64() * 1e3);
                let t = Instant::now();
                std::hint::black_box(profiler.profile(&searcher, query.as_ref())?);
                own_profile_ms.push(t.elapsed().as_secs_f64() * 1e3);
            }
            counts.push(count);
            per_query.push(QueryTimes {
                count,
                count_ms: median(&own_count_ms),
                profile_ms: median(&own_profile_ms),
            });
            answers.push(json!({
                "conditions": group.conditions,
                "query": i,
                "count": count,
                "count_ms_p50": median(&own_count_ms),
                "profile_ms_p50": median(&own_profile_ms),
                "facets": facets,
            }));
            count_ms.extend(own_count_ms);
            profile_ms.extend(own_profile_ms);
        }
        let queries = counts.len();
        counts.sort_unstable();
        let result = SizeResult {
            conditions: group.conditions,
            queries,
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
    if let Some(out) = &options.out {
        let report = json!({
            "engine": "tantivy",
            "population": engine.index.population(),
            "generation": engine.index.meta.generation,
            "repeat": options.repeat,
            "segments": segments,
            "threads": threads,
            "sizes": results,
            "checked": options.check.then_some(checked),
            "mismatches": options.check.then_some(mismatches.len()),
            "answers": answers,
        });
        std::fs::write(out, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if options.check {
        if !mismatches.is_empty() {
            for m in mismatches.iter().take(SHOWN_MISMATCHES) {
                eprintln!("{m}");
            }
            bail!("{} of {checked} queries answered differently from Tamsa", mismatches.len());
        }
        eprintln!("checked: all {checked} counts and profiles equal Tamsa's");
    }
    Ok(())
}

/// The median of some timings (0 when there are none).
fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// What differs between tantivy's answer (count alone, count of the profile, facets) and
/// Tamsa's (count, facets), if anything. Facets compare as serialized, so in order.
pub(super) fn difference(tantivy: (u64, u64, &Facets), tamsa: (u64, &Facets)) -> Option<String> {
    let (count, profile_count, facets) = tantivy;
    let mut parts = Vec::new();
    if count != tamsa.0 || profile_count != tamsa.0 {
        parts.push(format!("count {count} (profile {profile_count}), Tamsa {}", tamsa.0));
    }
    let (ours, theirs) = (json!(facets), json!(tamsa.1));
    for (name, value) in ours.as_object().into_iter().flatten() {
        let expected = &theirs[name];
        // Compared as text, so that the order of values counts too (maps compare unordered).
        let text = |v: &serde_json::Value| v.to_string();
        if text(value) != text(expected) {
            parts.push(format!("{name}: {value} instead of {expected}"));
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}
