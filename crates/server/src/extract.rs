//! Request extractors that answer mistakes in the API's error shape: JSON bodies and bearer
//! tokens.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body, limited in size; a body too large is a 413, malformed JSON a 400 naming the
/// line and column.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.config.limits.body_bytes;
        let bytes = axum::body::to_bytes(request.into_body(), limit).await.map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the request body is larger than the limit of {limit} bytes"),
            )
        })?;
        let value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request("bad_json", format!("the body is not valid JSON: {e}")))?;
        Ok(JsonBody(value))
    }
}

/// The name of the live API token the request presented as `Authorization: Bearer …`.
pub struct Token(pub String);

impl FromRequestParts<AppState> for Token {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized = |code, message: &str| ApiError::new(StatusCode::UNAUTHORIZED, code, message);
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(unauthorized(
                "missing_token",
                "this endpoint needs an API token: send `Authorization: Bearer <token>` (create one with `tamsa token create NAME`)",
            ));
        };
        let secret = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                unauthorized("invalid_token", "the Authorization header must be `Bearer <token>`")
            })?
            .to_owned();
        let state = state.clone();
        let name = tokio::task::spawn_blocking(move || state.db.verify_token(&secret))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        name.map(Token).ok_or_else(|| unauthorized("invalid_token", "the API token is unknown or revoked"))
    }
}

/// The `{id}` of a segment route.
pub struct SegmentId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for SegmentId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(params) =
            axum::extract::Path::<Vec<(String, String)>>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::bad_request("bad_path", e.body_text()))?;
        let text = params.iter().find(|(k, _)| k == "id").map(|(_, v)| v.as_str()).unwrap_or_default();
        text.parse().map(SegmentId).map_err(|_| {
            ApiError::not_found("unknown_segment", format!("`{text}` is not a segment id (ids are numbers)"))
        })
    }
}

/// Query-string parameters; an unparsable one is a 400 naming it.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Params(q.0))
            .map_err(|e| ApiError::bad_request("bad_parameter", e.body_text()))
    }
}
