//! Fields, condition search, segment queries and overlaps.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::Json;
use roaring::RoaringBitmap;
use serde::Deserialize;
use serde_json::{json, Value};
use tamsa_query::Node;

use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Params};
use crate::state::{AppState, Limits, Loaded};

/// `GET /api/fields`.
pub async fn fields(State(state): State<AppState>) -> impl IntoResponse {
    let loaded = state.loaded();
    ([(header::CONTENT_TYPE, "application/json")], loaded.fields_json.clone())
}

#[derive(Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/conditions/search?q=…&limit=…`.
pub async fn search(
    State(state): State<AppState>,
    Params(params): Params<SearchParams>,
) -> ApiResult<Json<Value>> {
    let q = params.q.unwrap_or_default();
    if q.chars().count() > 200 {
        return Err(ApiError::bad_request("bad_parameter", "q is longer than 200 characters").at("q"));
    }
    let limit = params.limit.unwrap_or(20);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("bad_parameter", "limit must be between 1 and 200").at("limit"));
    }
    let loaded = state.loaded();
    let results = blocking(move || Ok(loaded.catalog.search(&q, limit))).await?;
    Ok(Json(json!({ "results": results })))
}

/// Counts the nodes of a query before it is parsed, so an oversized query is refused cheaply.
fn count_nodes(value: &Value) -> usize {
    match value {
        Value::Object(map) => {
            1 + map
                .iter()
                .filter(|(k, _)| matches!(k.as_str(), "all" | "any" | "not"))
                .map(|(_, v)| count_nodes(v))
                .sum::<usize>()
        }
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Validates a query against the generation that will answer it.
pub fn parse_query(loaded: &Loaded, limits: &Limits, query: &Value) -> ApiResult<Node> {
    let nodes = count_nodes(query);
    if nodes > limits.query_nodes {
        return Err(ApiError::bad_request(
            "query_too_large",
            format!("the query has {nodes} nodes; the limit is {}", limits.query_nodes),
        )
        .at("$"));
    }
    Ok(loaded.engine.parse(query)?)
}

/// Runs CPU-bound work off the async threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)?
}

/// `POST /api/query`: the profile of a query, the population's facets beside it, and for a
/// top-level `all` the count after each successive condition.
pub async fn query(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let loaded = state.loaded();
    let limits = state.config.limits;
    // `Cache-Control: no-cache` asks for an answer computed afresh.
    let fresh = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|d| d.trim().eq_ignore_ascii_case("no-cache"))));
    let started = Instant::now();
    let key = body.to_string();
    if !fresh {
        let hit = loaded.answers.lock().expect("answer cache lock").get(&key).cloned();
        if let Some(answer) = hit {
            let mut answer = Value::clone(&answer);
            let took = started.elapsed().as_secs_f64();
            crate::metrics::query_time(took);
            answer["took_ms"] = (took * 1e3).into();
            answer["cached"] = true.into();
            return Ok(Json(answer));
        }
    }
    // Answers are computed a few at a time, in order of arrival (see `Computing`).
    state
        .computing
        .run(move |threads| {
            let node = parse_query(&loaded, &limits, &body)?;
            let engine = &loaded.engine;
            let (members, steps) = match &node {
                Node::All(children) if !children.is_empty() => {
                    let (members, counts) = engine.steps_on(children, threads);
                    let steps: Vec<Value> = counts
                        .iter()
                        .enumerate()
                        .map(|(i, count)| json!({"path": format!("$.all[{i}]"), "count": count}))
                        .collect();
                    (members, Some(steps))
                }
                _ => (engine.segment_on(&node, threads), None),
            };
            let facets = engine.facets_on(&members, threads);
            let took = started.elapsed().as_secs_f64();
            crate::metrics::query_time(took);
            let mut answer = json!({
                "count": members.len(),
                "population": engine.index.population(),
                "facets": facets,
                "population_facets": &loaded.population_facets,
                "took_ms": took * 1e3,
                "index": engine.index_ref(),
            });
            if let Some(steps) = steps {
                answer["steps"] = steps.into();
            }
            loaded.answers.lock().expect("answer cache lock").put(key, Arc::new(answer.clone()));
            answer["cached"] = false.into();
            Ok(Json(answer))
        })
        .await
}

#[derive(Deserialize)]
pub struct OverlapBody {
    segments: Vec<Value>,
}

/// `POST /api/overlap`: the count of every region of the Venn diagram of two or three
/// saved segments or queries.
pub async fn overlap(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<OverlapBody>,
) -> ApiResult<Json<Value>> {
    let n = body.segments.len();
    if !(2..=3).contains(&n) {
        return Err(ApiError::bad_request("bad_overlap", format!("overlap takes 2 or 3 segments, not {n}"))
            .at("$.segments"));
    }
    let loaded = state.loaded();
    let limits = state.config.limits;
    let state2 = state.clone();
    blocking(move || {
        let mut labels = Vec::new();
        let mut nodes = Vec::new();
        for (i, item) in body.segments.iter().enumerate() {
            let at = format!("$.segments[{i}]");
            if let Some(id) = item.get("id") {
                let id = id.as_i64().ok_or_else(|| {
                    ApiError::bad_request("bad_overlap", "a segment id is a number").at(format!("{at}.id"))
                })?;
                let segment = state2
                    .db
                    .segment(id)
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| unknown_segment(id).at(format!("{at}.id")))?;
                let node = parse_query(&loaded, &limits, &segment.query).map_err(|e| saved_invalid(e, id))?;
                labels.push(segment.name);
                nodes.push(node);
            } else if let Some(query) = item.get("query") {
                let node = parse_query(&loaded, &limits, query).map_err(|mut e| {
                    e.path = e.path.map(|p| p.replacen('$', &format!("{at}.query"), 1));
                    e
                })?;
                labels.push(format!("Query {}", i + 1));
                nodes.push(node);
            } else {
                return Err(ApiError::bad_request(
                    "bad_overlap",
                    "each item is {\"id\": n} or {\"query\": node}",
                )
                .at(at));
            }
        }
        let sets: Vec<RoaringBitmap> = nodes.iter().map(|node| loaded.members(node)).collect();
        let mut regions = Vec::new();
        for combination in 1u32..(1 << n) {
            let inside: Vec<usize> = (0..n).filter(|i| combination & (1 << i) != 0).collect();
            let mut region = sets[inside[0]].clone();
            for &i in &inside[1..] {
                region &= &sets[i];
            }
            for i in (0..n).filter(|i| combination & (1 << i) == 0) {
                region -= &sets[i];
            }
            regions.push(json!({"sets": inside, "count": region.len()}));
        }
        let union = sets.iter().fold(RoaringBitmap::new(), |acc, s| acc | s).len();
        let sets: Vec<Value> =
            labels.iter().zip(&sets).map(|(label, s)| json!({"label": label, "count": s.len()})).collect();
        Ok(Json(json!({
            "sets": sets,
            "regions": regions,
            "union": union,
            "index": loaded.engine.index_ref(),
        })))
    })
    .await
}

/// The answer for an unknown (or deleted) segment id.
pub fn unknown_segment(id: i64) -> ApiError {
    ApiError::not_found("unknown_segment", format!("no segment with id {id}"))
}

/// A saved query that no longer fits the current index (for example a value that vanished
/// from the data).
pub fn saved_invalid(err: ApiError, id: i64) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::CONFLICT,
        "saved_query_invalid",
        format!("segment {id}'s saved query does not fit the current index: {}", err.message),
    )
    .at(err.path.unwrap_or_else(|| "$".into()))
}
