//! The baseline answers exactly as Tamsa does: counts and facets of queries of every kind
//! on a small generated data set, on one segment and on two searched in parallel.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};
use tamsa_index::ReindexOptions;
use tamsa_loader::LoadOptions;
use tamsa_model::NoProgress;
use tamsa_query::Engine;
use tantivy::collector::Count;
use tantivy::{Index, ReloadPolicy, Searcher};

use super::profile::Profiler;
use super::translate::Translator;
use super::{build, field_handles, run, BuildOptions, RunOptions};

struct Fixture {
    dir: tempfile::TempDir,
    index: PathBuf,
    engine: Engine,
}

/// 2,000 generated customers, reindexed: shared by the tests of this module.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input");
        let options = tamsa_generate::GenerateOptions { customers: 2_000, ..Default::default() };
        tamsa_generate::generate(&input, &options, &NoProgress).unwrap();
        let index = dir.path().join("index");
        let options = ReindexOptions { load: LoadOptions::default(), keep: 1 };
        tamsa_index::reindex(&input, &index, &options, &NoProgress).unwrap();
        let engine = Engine::new(tamsa_index::open(&index).unwrap());
        Fixture { dir, index, engine }
    })
}

/// Builds a tantivy index of the fixture named `name` with `segments` segments.
fn build_tantivy(name: &str, segments: usize) -> PathBuf {
    let f = fixture();
    let out = f.dir.path().join(name);
    let options = BuildOptions { threads: 2, memory_bytes: 50 << 20, segments };
    let report = build(&f.engine, &out, &options).unwrap();
    assert_eq!(report.customers, 2_000);
    assert_eq!(report.segments, segments);
    out
}

fn searcher(dir: &Path, threads: usize) -> Searcher {
    let mut index = Index::open_in_dir(dir).unwrap();
    if threads > 1 {
        index.set_multithread_executor(threads).unwrap();
    }
    index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().unwrap().searcher()
}

/// The `k` most common values of a valued field.
fn top(engine: &Engine, field: &str, k: usize) -> Vec<String> {
    let info = engine.fields().into_iter().find(|f| f.name == field).unwrap();
    info.values.unwrap().into_iter().take(k).map(|v| v.value).collect()
}

/// A condition.
fn c(field: &str, op: &str, value: impl serde::Serialize) -> Value {
    json!({"field": field, "op": op, "value": value})
}

/// Queries of every kind: values, sets, bools, ranges and their bounds, nulls, exists,
/// negations and nesting.
fn queries(engine: &Engine) -> Vec<Value> {
    let region = top(engine, "region", 3);
    let tier = top(engine, "tier", 2);
    let brands = top(engine, "brand_90d", 4);
    let categories = top(engine, "category_30d", 2);
    let products = top(engine, "product_365d", 3);
    let last = top(engine, "last_product", 5);
    vec![
        json!({"all": []}),
        json!({"any": []}),
        c("gender", "eq", json!("F")),
        c("region", "in", json!(region)),
        c("tier", "in", json!(tier)),
        c("email_opt_in", "eq", json!(false)),
        c("sms_opt_in", "in", json!([true, false])),
        c("channel_365d", "eq", json!("offline")),
        c("age", "between", json!([30, 39])),
        c("age", "eq", json!(35)),
        c("age", "gte", json!(60)),
        c("age", "lt", json!(20)),
        c("age", "gt", json!(44.5)),
        c("age", "exists", json!(true)),
        c("age", "exists", json!(false)),
        json!({"not": c("age", "between", [30, 39])}),
        c("aov_90d", "gte", json!(50000)),
        json!({"not": c("aov_90d", "lt", 50000)}),
        c("aov_30d", "exists", json!(false)),
        c("days_since_last_purchase", "lte", json!(30)),
        c("spend_365d", "between", json!([-1000, 200000])),
        c("orders_total", "eq", json!(0)),
        c("brand_90d", "in", &brands[..2]),
        c("product_365d", "eq", &products[0]),
        c("last_product", "in", json!(last)),
        c("category_30d", "in", json!(categories)),
        json!({"not": c("brand_30d", "eq", &brands[0])}),
        json!({"not": {"not": c("gender", "eq", "M")}}),
        json!({"any": [
            c("brand_90d", "eq", &brands[0]),
            c("brand_90d", "in", &brands[2..]),
            c("category_30d", "eq", &categories[0]),
            c("product_365d", "in", json!(products)),
            c("spend_90d", "gte", json!(300000)),
            {"not": c("channel_90d", "eq", "none")},
        ]}),
        json!({"all": [
            {"not": c("gender", "eq", "U")},
            {"not": c("last_brand", "in", &brands[..1])},
        ]}),
        json!({"all": [
            c("gender", "eq", "F"),
            c("age", "between", [30, 49]),
            {"any": [c("brand_365d", "in", json!(brands)), c("category_90d", "eq", &categories[1])]},
            {"not": c("channel_365d", "eq", "offline")},
            {"not": {"any": [c("tier", "eq", &tier[0]), c("days_since_signup", "lt", 100)]}},
            c("aov_365d", "exists", json!(true)),
        ]}),
        json!({"any": [{"all": []}, c("gender", "eq", "F")]}),
        json!({"all": [c("gender", "eq", "F"), {"any": []}]}),
    ]
}

/// Every query's count and profile on a tantivy index equal Tamsa's.
fn check_answers(dir: &Path, threads: usize) {
    let f = fixture();
    let engine = &f.engine;
    let searcher = searcher(dir, threads);
    let fields = field_handles(&searcher.schema().clone(), engine.schema.fields()).unwrap();
    let translator = Translator::new(&engine.schema, &fields);
    let profiler = Profiler::new(engine).unwrap();
    let mut counts = Vec::new();
    for json in queries(engine) {
        let node = engine.parse(&json).unwrap();
        let query = translator.query(&node);
        let expected = engine.profile(&node);
        let count = searcher.search(query.as_ref(), &Count).unwrap() as u64;
        assert_eq!(count, expected.count, "count of {json}");
        let (profile_count, facets) = profiler.profile(&searcher, query.as_ref()).unwrap();
        assert_eq!(profile_count, expected.count, "profile count of {json}");
        assert_eq!(
            serde_json::to_string(&facets).unwrap(),
            serde_json::to_string(&expected.facets).unwrap(),
            "facets of {json}"
        );
        counts.push(count);
    }
    // The queries are not all trivial: most match some customers but not everyone.
    let partial = counts.iter().filter(|&&n| n > 0 && n < 2_000).count();
    assert!(partial >= counts.len() - 6, "counts {counts:?}");
}

#[test]
fn one_segment_answers_as_tamsa() {
    check_answers(&build_tantivy("one", 1), 1);
}

#[test]
fn two_segments_searched_in_parallel_answer_as_tamsa() {
    check_answers(&build_tantivy("two", 2), 2);
}

#[test]
fn run_checks_a_suite_and_writes_results() {
    let f = fixture();
    let tantivy = build_tantivy("run", 3);
    let suite = crate::suite::build(&f.engine, &[3, 10, 50], 4, 7);
    let suite_path = f.dir.path().join("suite.json");
    std::fs::write(&suite_path, serde_json::to_vec(&suite).unwrap()).unwrap();
    let out = f.dir.path().join("results.json");
    let options = RunOptions {
        tantivy,
        index: f.index.clone(),
        suite: suite_path,
        repeat: 1,
        out: Some(out.clone()),
        check: true,
        threads: None,
    };
    run(&options).unwrap();
    let results: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(results["sizes"].as_array().unwrap().len(), 3);
    assert_eq!(results["answers"].as_array().unwrap().len(), 12);
    assert_eq!(results["mismatches"], 0);
    assert!(results["sizes"][0]["profile_ms"]["p50"].as_f64().unwrap() >= 0.0);
}

#[test]
fn check_reports_any_difference_even_of_order() {
    let engine = &fixture().engine;
    let node = engine.parse(&json!({"all": []})).unwrap();
    let expected = engine.profile(&node);
    let same = (expected.count, expected.count, &expected.facets);
    assert_eq!(super::run::difference(same, (expected.count, &expected.facets)), None);

    let mut reordered = expected.facets.clone();
    reordered.region = expected.facets.region.clone().into_iter().rev().collect();
    let answer = (expected.count, expected.count, &reordered);
    let found = super::run::difference(answer, (expected.count, &expected.facets)).unwrap();
    assert!(found.starts_with("region: "), "{found}");

    let mut fewer = expected.facets.clone();
    fewer.last_product[0].count -= 1;
    let answer = (expected.count - 1, expected.count, &fewer);
    let found = super::run::difference(answer, (expected.count, &expected.facets)).unwrap();
    assert!(found.starts_with("count ") && found.contains("last_product: "), "{found}");
}
