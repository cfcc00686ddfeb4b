//! Tamsa's HTTP service: one axum process serving the segment API, saved segments, CRM
//! export and the web UI embedded in the binary.
//!
//! Every request reads one index generation, held from its start to its end; when a new
//! generation becomes current (a reindex through the API, or `tamsa reindex` run beside the
//! server), the service switches to it for new requests without a restart.

mod computing;
mod db;
mod error;
mod extract;
mod fields;
mod metrics;
mod routes;
mod snapshot;
mod state;
mod web;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

pub use db::{Db, DbError, TokenInfo, DB_FILE};
pub use error::ApiError;
pub use state::{AppState, Config, Limits, Loaded, Shared};

/// The OpenAPI description of the API, served at `/api/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The application: every route with its limits.
pub fn app(state: AppState) -> Router {
    let limits = state.config.limits;
    // Answers with a bounded time; streams (exports, diffs) are bounded by their client.
    let bounded = Router::new()
        .route("/api/fields", get(routes::query::fields))
        .route("/api/conditions/search", get(routes::query::search))
        .route("/api/query", post(routes::query::query))
        .route("/api/overlap", post(routes::query::overlap))
        .route("/api/segments", get(routes::segments::list).post(routes::segments::create))
        .route(
            "/api/segments/{id}",
            get(routes::segments::get).put(routes::segments::update).delete(routes::segments::delete),
        )
        .route("/api/audit", get(routes::export::audit))
        .route("/api/admin/reindex", post(routes::ops::reindex))
        .route("/api/index", get(routes::ops::index))
        .route("/api/openapi.json", get(routes::ops::openapi))
        .route("/healthz", get(routes::ops::healthz))
        .route("/metrics", get(routes::ops::metrics))
        .layer(axum::middleware::from_fn_with_state(limits.request_time, time_limit));
    let streams = Router::new()
        .route("/api/segments/{id}/export", get(routes::export::export))
        .route("/api/segments/{id}/diff", get(routes::export::diff));
    bounded
        .merge(streams)
        .fallback(web::serve)
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            ApiError::internal("a request handler panicked").into_response()
        }))
        .with_state(state)
}

/// Answers 503 in the API's error shape when a request takes longer than the limit.
async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the answer took longer than the limit of {:.1} s", limit.as_secs_f64()),
        )
        .into_response(),
    }
}

/// Runs the service until Ctrl-C or SIGTERM; `ready` is told the address once it listens.
pub async fn serve(config: Config, ready: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let addr = config.addr;
    let state = tokio::task::spawn_blocking(move || Shared::open(config)).await??;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    ready(listener.local_addr()?);
    tokio::spawn(state::watch(state.clone()));
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down; finishing requests in flight");
}

/// How often a server checks its index directory for a new current generation, by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);
