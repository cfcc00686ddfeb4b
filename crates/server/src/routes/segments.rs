//! Saved segments: create, list, read, edit (every edit a new version), restore, delete.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::db::{Segment, SegmentDraft};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, SegmentId};
use crate::routes::query::{blocking, parse_query, saved_invalid, unknown_segment};
use crate::state::{AppState, Loaded};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentBody {
    name: Option<String>,
    description: Option<String>,
    owner: Option<String>,
    query: Option<Value>,
    restore_version: Option<i64>,
}

const NAME_LIMIT: usize = 200;

fn check_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::bad_request("bad_segment", "a segment needs a name").at("$.name"));
    }
    if name.chars().count() > NAME_LIMIT {
        return Err(ApiError::bad_request(
            "bad_segment",
            format!("a name has at most {NAME_LIMIT} characters"),
        )
        .at("$.name"));
    }
    Ok(name.to_owned())
}

/// A segment with its count on the current generation (counted once per version and generation).
fn describe(state: &AppState, loaded: &Loaded, segment: Segment, with_versions: bool) -> ApiResult<Value> {
    let count = {
        let key = (segment.id, segment.version);
        let cached = loaded.segment_counts.lock().unwrap_or_else(|p| p.into_inner()).get(&key).copied();
        match cached {
            Some(count) => Some(count),
            None => match parse_query(loaded, &state.config.limits, &segment.query) {
                Ok(node) => {
                    let count = loaded.members(&node).len();
                    loaded.segment_counts.lock().unwrap_or_else(|p| p.into_inner()).insert(key, count);
                    Some(count)
                }
                Err(_) => None,
            },
        }
    };
    let mut value = serde_json::to_value(&segment).map_err(ApiError::internal)?;
    value["count"] = count.into();
    value["index"] = serde_json::to_value(loaded.engine.index_ref()).map_err(ApiError::internal)?;
    if count.is_none() {
        value["problem"] =
            "the saved query does not fit the current index; open it to see which condition".into();
    }
    if with_versions {
        let versions = state.db.versions(segment.id).map_err(ApiError::internal)?;
        value["versions"] = serde_json::to_value(versions).map_err(ApiError::internal)?;
        let exports = state.db.exports(segment.id).map_err(ApiError::internal)?;
        value["exports"] = serde_json::to_value(exports).map_err(ApiError::internal)?;
    }
    Ok(value)
}

/// `POST /api/segments`.
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SegmentBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    blocking(move || {
        let loaded = state.loaded();
        let name = check_name(body.name.as_deref().unwrap_or_default())?;
        let query = body
            .query
            .ok_or_else(|| ApiError::bad_request("bad_segment", "a segment needs a query").at("$.query"))?;
        parse_query(&loaded, &state.config.limits, &query).map_err(under_query)?;
        let draft = SegmentDraft {
            name,
            description: body.description.unwrap_or_default(),
            owner: body.owner.unwrap_or_default(),
            query,
        };
        let segment = state.db.create_segment(&draft).map_err(ApiError::internal)?;
        Ok((StatusCode::CREATED, Json(describe(&state, &loaded, segment, true)?)))
    })
    .await
}

/// A query error inside a segment body: its path is under `$.query`.
fn under_query(mut err: ApiError) -> ApiError {
    err.path = err.path.map(|p| p.replacen('$', "$.query", 1));
    err
}

/// `GET /api/segments`.
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    blocking(move || {
        let loaded = state.loaded();
        let segments = state.db.segments().map_err(ApiError::internal)?;
        let described = segments
            .into_iter()
            .map(|s| describe(&state, &loaded, s, false))
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(Json(json!({ "segments": described })))
    })
    .await
}

/// `GET /api/segments/{id}`: with its versions and exports.
pub async fn get(State(state): State<AppState>, SegmentId(id): SegmentId) -> ApiResult<Json<Value>> {
    blocking(move || {
        let loaded = state.loaded();
        let segment = state.db.segment(id).map_err(ApiError::internal)?.ok_or_else(|| unknown_segment(id))?;
        Ok(Json(describe(&state, &loaded, segment, true)?))
    })
    .await
}

/// `PUT /api/segments/{id}`: a new version with the fields given changed, or a copy of an
/// earlier version (`restore_version`).
pub async fn update(
    State(state): State<AppState>,
    SegmentId(id): SegmentId,
    JsonBody(body): JsonBody<SegmentBody>,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        let loaded = state.loaded();
        let current = state.db.segment(id).map_err(ApiError::internal)?.ok_or_else(|| unknown_segment(id))?;
        let draft = if let Some(version) = body.restore_version {
            let old = state
                .db
                .versions(id)
                .map_err(ApiError::internal)?
                .into_iter()
                .find(|v| v.version == version)
                .ok_or_else(|| {
                    ApiError::not_found("unknown_version", format!("segment {id} has no version {version}"))
                        .at("$.restore_version")
                })?;
            parse_query(&loaded, &state.config.limits, &old.query).map_err(|e| saved_invalid(e, id))?;
            SegmentDraft { name: old.name, description: old.description, owner: old.owner, query: old.query }
        } else {
            let query = match body.query {
                Some(query) => {
                    parse_query(&loaded, &state.config.limits, &query).map_err(under_query)?;
                    query
                }
                None => current.query,
            };
            SegmentDraft {
                name: match body.name {
                    Some(name) => check_name(&name)?,
                    None => current.name,
                },
                description: body.description.unwrap_or(current.description),
                owner: body.owner.unwrap_or(current.owner),
                query,
            }
        };
        let segment = state
            .db
            .update_segment(id, &draft)
            .map_err(ApiError::internal)?
            .ok_or_else(|| unknown_segment(id))?;
        Ok(Json(describe(&state, &loaded, segment, true)?))
    })
    .await
}

/// `DELETE /api/segments/{id}`.
pub async fn delete(State(state): State<AppState>, SegmentId(id): SegmentId) -> ApiResult<StatusCode> {
    blocking(move || {
        if state.db.delete_segment(id).map_err(ApiError::internal)? {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(unknown_segment(id))
        }
    })
    .await
}
