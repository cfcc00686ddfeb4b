//! Operations: the index served, reindexing through the API, health and metrics.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tamsa_index::ReindexOptions;
use tamsa_loader::LoadOptions;

use crate::db::{now, NewAudit};
use crate::error::{ApiError, ApiResult};
use crate::extract::Token;
use crate::state::{AppState, ReindexStatus};

/// `GET /api/index`: the generation served, its build report, every generation on disk and
/// any reindex started through the API.
pub async fn index(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let loaded = state.loaded();
    let dir = state.config.index_dir.clone();
    let generations = tokio::task::spawn_blocking(move || tamsa_index::generations(&dir))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let meta = &loaded.engine.index.meta;
    let reindex = state.reindex.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(Json(json!({
        "generation": meta.generation,
        "as_of": tamsa_model::format_day(meta.as_of),
        "population": meta.population,
        "built_at_unix": meta.built_at_unix,
        "report": meta.report,
        "generations": generations.iter().map(|g| json!({"generation": g.generation, "current": g.current})).collect::<Vec<_>>(),
        "reindex": reindex,
        "group_cache": loaded.engine.group_cache_stats(),
    })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReindexBody {
    as_of: Option<String>,
    strict: Option<bool>,
}

/// `POST /api/admin/reindex`: starts a reindex of the configured input in the background;
/// the new generation is served as soon as it is current.
pub async fn reindex(
    State(state): State<AppState>,
    Token(token): Token,
    body: bytes::Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body: ReindexBody = if body.iter().all(u8::is_ascii_whitespace) {
        ReindexBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request("bad_json", format!("the body is not valid: {e}")))?
    };
    let Some(input) = state.config.input_dir.clone() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_input",
            "this server was started without --input, so it has nothing to reindex",
        ));
    };
    let as_of = match body.as_of.as_deref() {
        None => None,
        Some(text) => Some(tamsa_model::parse_day(text).ok_or_else(|| {
            ApiError::bad_request("bad_parameter", format!("`{text}` is not a date of the form YYYY-MM-DD"))
                .at("$.as_of")
        })?),
    };
    {
        let mut status = state.reindex.lock().unwrap_or_else(|p| p.into_inner());
        if status.state == "running" {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "reindex_running",
                "a reindex is already running",
            ));
        }
        *status = ReindexStatus { state: "running", started_at: Some(now()), ..ReindexStatus::default() };
    }
    let options = ReindexOptions {
        load: LoadOptions { as_of, strict: body.strict.unwrap_or(false) },
        keep: state.config.keep_generations,
    };
    let task_state = state.clone();
    tokio::spawn(async move {
        let dir = task_state.config.index_dir.clone();
        let result = tokio::task::spawn_blocking(move || {
            tamsa_index::reindex(&input, &dir, &options, &tamsa_model::NoProgress)
        })
        .await;
        let (state_name, generation, error) = match result {
            Ok(Ok(meta)) => ("succeeded", Some(meta.generation), None),
            Ok(Err(err)) => ("failed", None, Some(error_chain(&err))),
            Err(join) => ("failed", None, Some(join.to_string())),
        };
        if let Some(error) = &error {
            tracing::error!(%error, "reindex failed; the previous generation stays current");
        }
        if state_name == "succeeded" {
            if let Err(err) = task_state.refresh().await {
                tracing::error!(error = %format!("{err:#}"), "switching to the new generation");
            }
        }
        let audit = NewAudit {
            token: &token,
            action: "reindex",
            generation,
            outcome: if error.is_none() { "complete" } else { "failed" },
            ..NewAudit::default()
        };
        if let Err(err) = task_state.db.audit(&audit) {
            tracing::error!(error = %err, "writing the audit log");
        }
        let mut status = task_state.reindex.lock().unwrap_or_else(|p| p.into_inner());
        status.state = state_name;
        status.finished_at = Some(now());
        status.generation = generation;
        status.error = error;
    });
    Ok((StatusCode::ACCEPTED, Json(json!({"reindex": "started", "status": "/api/index"}))))
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `GET /healthz`.
pub async fn healthz(State(state): State<AppState>) -> Json<Value> {
    let loaded = state.loaded();
    Json(
        json!({"status": "ok", "generation": loaded.generation(), "customers": loaded.engine.index.population()}),
    )
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    crate::metrics::group_cache(&state.loaded());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], crate::metrics::handle().render())
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], crate::OPENAPI)
}
