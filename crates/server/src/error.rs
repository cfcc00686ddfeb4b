//! The API's error answer: `{"error": {"code", "message", "path"}}` with a fitting status.
//!
//! Anything the caller got wrong is a 4xx naming what is wrong; a fault of the server is a
//! 500 whose details go to the log, never to the caller.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable code such as `invalid_query`.
    pub code: &'static str,
    /// What is wrong, for people.
    pub message: String,
    /// Where in the request it is wrong: a query path such as `$.all[2].value`, a
    /// parameter name, or none.
    pub path: Option<String>,
}

/// A handler's result.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A 4xx answer.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), path: None }
    }

    /// The same answer, naming where the request is wrong.
    pub fn at(mut self, path: impl Into<String>) -> ApiError {
        self.path = Some(path.into());
        self
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 with `code`.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    /// A fault of the server: logged in full, answered with a 500 that says only that.
    pub fn internal(err: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %err, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to answer; the details are in its log",
        )
    }
}

impl From<tamsa_query::QueryError> for ApiError {
    fn from(err: tamsa_query::QueryError) -> ApiError {
        let path = err.path.clone();
        let mut message = err.message.clone();
        if !err.suggestions.is_empty() {
            let quoted: Vec<String> = err.suggestions.iter().map(|s| format!("`{s}`")).collect();
            message.push_str(&format!(" (did you mean {}?)", quoted.join(", ")));
        }
        ApiError::bad_request("invalid_query", message).at(path)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message, "path": self.path}});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
