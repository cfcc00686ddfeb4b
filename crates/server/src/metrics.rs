//! Prometheus metrics: requests and latencies per route, query times, the index served.
//!
//! The recorder is process-wide, so it is installed once however many apps a process builds.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::Loaded;

/// Latency buckets in seconds, from a millisecond to a minute.
const SECONDS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The process's metrics handle, installing the recorder on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
            .expect("buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may be installed already (a host program's); then ours only renders.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Counts and times every request by route template (never by raw path, which would let
/// callers create unbounded series).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("tamsa_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("tamsa_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Records the time to evaluate and profile one query.
pub fn query_time(seconds: f64) {
    metrics::histogram!("tamsa_query_duration_seconds").record(seconds);
}

/// Records what the served generation's group cache holds and how often it answered.
pub fn group_cache(loaded: &Loaded) {
    let stats = loaded.engine.group_cache_stats();
    metrics::gauge!("tamsa_group_cache_bytes").set(stats.bytes as f64);
    metrics::gauge!("tamsa_group_cache_entries").set(stats.entries as f64);
    // Per generation: a new generation starts its cache, and its counts, from zero.
    metrics::gauge!("tamsa_group_cache_hits").set(stats.hits as f64);
    metrics::gauge!("tamsa_group_cache_misses").set(stats.misses as f64);
}

/// Records the generation now served.
pub fn index_loaded(loaded: &Loaded) {
    handle();
    metrics::gauge!("tamsa_index_generation").set(loaded.generation() as f64);
    metrics::gauge!("tamsa_customers").set(f64::from(loaded.engine.index.population()));
}
