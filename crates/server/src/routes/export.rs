//! CRM export: a segment's members streamed as CSV, NDJSON or Parquet; diffs since an
//! earlier export; the audit log. All need an API token.
//!
//! An export holds the generation it started on to its last row, so a reindex finishing
//! mid-stream changes nothing in it. Rows pass through a small bounded channel, so memory
//! stays flat however large the segment; a client that goes away stops the work.

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use roaring::RoaringBitmap;
use serde::Deserialize;
use serde_json::{json, Value};
use tamsa_query::export::{self, ExportOptions, Format};
use tokio::sync::mpsc;

use crate::db::{NewAudit, Segment};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Params, SegmentId, Token};
use crate::routes::query::{blocking, parse_query, saved_invalid, unknown_segment};
use crate::snapshot::{self, SnapshotWriter};
use crate::state::{AppState, Loaded};

/// Bytes handed to the connection at a time.
const CHUNK: usize = 64 << 10;
/// Chunks in flight between the writer and the connection.
const CHUNKS_IN_FLIGHT: usize = 8;

#[derive(Deserialize)]
pub struct ExportParams {
    format: Option<String>,
    columns: Option<String>,
    consent: Option<String>,
    bom: Option<bool>,
    since_version: Option<i64>,
}

impl ExportParams {
    fn format(&self, allowed: &[Format]) -> ApiResult<Format> {
        let name = self.format.as_deref().unwrap_or("csv");
        Format::from_name(name).filter(|f| allowed.contains(f)).ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|f| f.name()).collect();
            ApiError::bad_request(
                "bad_parameter",
                format!("format `{name}` is not one of {}", names.join(", ")),
            )
            .at("format")
        })
    }

    /// The consent field to filter on, if any.
    fn consent(&self) -> ApiResult<Option<&'static str>> {
        match self.consent.as_deref() {
            None | Some("") => Ok(None),
            Some("email") => Ok(Some("email_opt_in")),
            Some("sms") => Ok(Some("sms_opt_in")),
            Some(other) => Err(ApiError::bad_request(
                "bad_parameter",
                format!("consent `{other}` is not one of email, sms"),
            )
            .at("consent")),
        }
    }
}

/// The segment, the generation to read and its members (consent applied), resolved before
/// the first byte is sent.
struct Resolved {
    segment: Segment,
    loaded: Arc<Loaded>,
    members: RoaringBitmap,
}

fn resolve(state: &AppState, id: i64, params: &ExportParams) -> ApiResult<Resolved> {
    let loaded = state.loaded();
    let segment = state.db.segment(id).map_err(ApiError::internal)?.ok_or_else(|| unknown_segment(id))?;
    let mut query = segment.query.clone();
    if let Some(field) = params.consent()? {
        query = json!({"all": [query, {"field": field, "op": "eq", "value": true}]});
    }
    let node = parse_query(&loaded, &state.config.limits, &query).map_err(|e| saved_invalid(e, id))?;
    let members = loaded.members(&node);
    Ok(Resolved { segment, loaded, members })
}

/// A `Write` handing fixed-size chunks to the response body; fails with `BrokenPipe` once
/// the client has gone.
struct ChannelWriter {
    tx: mpsc::Sender<std::io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// A streamed response fed by `produce`, run on a blocking thread.
fn stream(
    headers: Vec<(header::HeaderName, HeaderValue)>,
    produce: impl FnOnce(&mut ChannelWriter) -> std::io::Result<()> + Send + 'static,
) -> Response {
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut writer = ChannelWriter { tx: tx.clone(), buf: Vec::with_capacity(CHUNK) };
        if let Err(err) = produce(&mut writer).and_then(|()| writer.flush()) {
            if err.kind() != std::io::ErrorKind::BrokenPipe {
                tracing::error!(error = %err, "export failed midway");
                // An error item ends the body abnormally, so the client never takes a cut
                // stream for a whole one.
                let _ = tx.blocking_send(Err(err));
            }
        }
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().extend(headers);
    response
}

fn header_value(text: impl ToString) -> HeaderValue {
    HeaderValue::from_str(&text.to_string()).expect("header values here are ASCII")
}

fn attachment(segment: &Segment, suffix: &str, extension: &str) -> HeaderValue {
    header_value(format!("attachment; filename=\"segment-{}-{suffix}.{extension}\"", segment.id))
}

/// `GET /api/segments/{id}/export?format=csv|ndjson|parquet&columns=…&consent=email|sms&bom=true`.
pub async fn export(
    State(state): State<AppState>,
    Token(token): Token,
    SegmentId(id): SegmentId,
    Params(params): Params<ExportParams>,
) -> ApiResult<Response> {
    let format = params.format(&[Format::Csv, Format::Ndjson, Format::Parquet])?;
    let options = ExportOptions { byte_order_mark: params.bom.unwrap_or(false) };
    let names: Vec<String> =
        params.columns.as_deref().unwrap_or_default().split(',').map(str::to_owned).collect();
    let state2 = state.clone();
    let (resolved, columns, export_version) = blocking(move || {
        let resolved = resolve(&state2, id, &params)?;
        let columns = export::resolve_columns(&resolved.loaded.engine, &names)
            .map_err(|e| ApiError::bad_request("bad_parameter", e.to_string()).at("columns"))?;
        let export_version = state2
            .db
            .start_export(id, resolved.segment.version, resolved.loaded.generation())
            .map_err(ApiError::internal)?;
        Ok((resolved, columns, export_version))
    })
    .await?;
    let Resolved { segment, loaded, members } = resolved;
    let headers = vec![
        (header::CONTENT_TYPE, HeaderValue::from_static(format.content_type())),
        (
            header::CONTENT_DISPOSITION,
            attachment(&segment, &format!("export-{export_version}"), format.name()),
        ),
        (header::HeaderName::from_static("x-tamsa-rows"), header_value(members.len())),
        (header::HeaderName::from_static("x-tamsa-export-version"), header_value(export_version)),
        (header::HeaderName::from_static("x-tamsa-generation"), header_value(loaded.generation())),
        (header::HeaderName::from_static("x-tamsa-segment-version"), header_value(segment.version)),
    ];
    Ok(stream(headers, move |out| {
        let rows = members.len();
        let written = export::write_rows(&loaded.engine, &members, &columns, format, options, &mut *out)
            .map(|_| ())
            .map_err(|e| match e {
                export::ExportError::Io(io) => io,
                other => std::io::Error::other(other.to_string()),
            })
            .and_then(|()| out.flush())
            .and_then(|()| {
                // The members as exported, for a later diff.
                let path = snapshot::path(&state.config.data_dir, id, export_version);
                let mut snapshot = SnapshotWriter::create(&path, rows)?;
                let pushed =
                    export::each_member(&members, |c| Ok(snapshot.push(loaded.engine.customer_id(c))?));
                match pushed {
                    Ok(()) => snapshot.finish(),
                    Err(err) => {
                        snapshot.abandon();
                        Err(std::io::Error::other(err.to_string()))
                    }
                }
            });
        let outcome = match &written {
            Ok(()) => "complete",
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => "aborted",
            Err(_) => "failed",
        };
        if written.is_ok() {
            if let Err(err) = state.db.finish_export(id, export_version, rows) {
                tracing::error!(error = %err, "recording an export");
            }
        }
        let audit = NewAudit {
            token: &token,
            action: "export",
            segment_id: Some(id),
            segment_version: Some(segment.version),
            export_version: Some(export_version),
            format: Some(format.name()),
            rows: Some(if written.is_ok() { rows } else { 0 }),
            generation: Some(loaded.generation()),
            outcome,
        };
        if let Err(err) = state.db.audit(&audit) {
            tracing::error!(error = %err, "writing the audit log");
        }
        written
    }))
}

/// `GET /api/segments/{id}/diff?since_version=N&format=csv|ndjson`: who entered and who
/// left the segment since its export number N, as rows of `customer_id,change`. The diff is
/// itself recorded as a new export, from which the next diff can start.
pub async fn diff(
    State(state): State<AppState>,
    Token(token): Token,
    SegmentId(id): SegmentId,
    Params(params): Params<ExportParams>,
) -> ApiResult<Response> {
    let format = params.format(&[Format::Csv, Format::Ndjson])?;
    let bom = params.bom.unwrap_or(false);
    let since = params.since_version.ok_or_else(|| {
        ApiError::bad_request("bad_parameter", "since_version (the number of an earlier export) is required")
            .at("since_version")
    })?;
    let state2 = state.clone();
    let (segment, generation, export_version, entered, left) = blocking(move || {
        let exports = state2.db.exports(id).map_err(ApiError::internal)?;
        if !exports.iter().any(|e| e.export_version == since) {
            let known: Vec<String> = exports.iter().map(|e| e.export_version.to_string()).collect();
            return Err(ApiError::not_found(
                "unknown_export_version",
                format!(
                    "segment {id} has no complete export {since}; its exports are: {}",
                    if known.is_empty() { "none yet".to_owned() } else { known.join(", ") }
                ),
            )
            .at("since_version"));
        }
        let Resolved { segment, loaded, members } = resolve(&state2, id, &params)?;
        let before = snapshot::read(&snapshot::path(&state2.config.data_dir, id, since))
            .map_err(ApiError::internal)?;
        let mut now: Vec<&str> = members.iter().map(|c| loaded.engine.customer_id(c)).collect();
        now.sort_unstable();
        let (entered, left) = snapshot::diff(&before, &now);
        let (entered, left): (Vec<String>, Vec<String>) =
            (entered.into_iter().map(str::to_owned).collect(), left.into_iter().map(str::to_owned).collect());
        let export_version =
            state2.db.start_export(id, segment.version, loaded.generation()).map_err(ApiError::internal)?;
        snapshot::write(&snapshot::path(&state2.config.data_dir, id, export_version), &now)
            .map_err(ApiError::internal)?;
        state2.db.finish_export(id, export_version, now.len() as u64).map_err(ApiError::internal)?;
        Ok((segment, loaded.generation(), export_version, entered, left))
    })
    .await?;
    let headers = vec![
        (header::CONTENT_TYPE, HeaderValue::from_static(format.content_type())),
        (
            header::CONTENT_DISPOSITION,
            attachment(&segment, &format!("diff-{since}-{export_version}"), format.name()),
        ),
        (header::HeaderName::from_static("x-tamsa-entered"), header_value(entered.len())),
        (header::HeaderName::from_static("x-tamsa-left"), header_value(left.len())),
        (header::HeaderName::from_static("x-tamsa-export-version"), header_value(export_version)),
        (header::HeaderName::from_static("x-tamsa-generation"), header_value(generation)),
    ];
    Ok(stream(headers, move |out| {
        let rows = (entered.len() + left.len()) as u64;
        let changes = entered.iter().map(|id| (id, "entered")).chain(left.iter().map(|id| (id, "left")));
        let written = (|| {
            match format {
                Format::Csv => {
                    if bom {
                        out.write_all("\u{feff}".as_bytes())?;
                    }
                    let mut csv = csv_writer(&mut *out);
                    csv.write_record(["customer_id", "change"])?;
                    for (id, change) in changes {
                        csv.write_record([id.as_str(), change])?;
                    }
                    csv.flush()?;
                }
                _ => {
                    for (id, change) in changes {
                        serde_json::to_writer(&mut *out, &json!({"customer_id": id, "change": change}))?;
                        out.write_all(b"\n")?;
                    }
                }
            }
            out.flush()
        })();
        let audit = NewAudit {
            token: &token,
            action: "diff",
            segment_id: Some(id),
            segment_version: Some(segment.version),
            export_version: Some(export_version),
            format: Some(format.name()),
            rows: Some(rows),
            generation: Some(generation),
            outcome: match &written {
                Ok(()) => "complete",
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => "aborted",
                Err(_) => "failed",
            },
        };
        if let Err(err) = state.db.audit(&audit) {
            tracing::error!(error = %err, "writing the audit log");
        }
        written
    }))
}

fn csv_writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::Writer::from_writer(out)
}

#[derive(Deserialize)]
pub struct AuditParams {
    limit: Option<u32>,
}

/// `GET /api/audit?limit=…`: the latest exports, diffs and reindexes, newest first.
pub async fn audit(
    State(state): State<AppState>,
    Token(_): Token,
    Params(params): Params<AuditParams>,
    _headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let limit = params.limit.unwrap_or(100).clamp(1, 10_000);
    blocking(move || {
        let entries = state.db.audit_log(limit).map_err(ApiError::internal)?;
        Ok(Json(json!({ "entries": entries })))
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use super::*;

    /// However large the export, a client that reads slowly holds back the writer: no more
    /// than the chunks in flight are ever buffered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slow_client_holds_back_the_writer() {
        let written = Arc::new(AtomicU64::new(0));
        let counter = written.clone();
        let response = stream(Vec::new(), move |out| {
            let row = [b'x'; 100];
            for _ in 0..1_000_000 {
                out.write_all(&row)?;
                counter.fetch_add(row.len() as u64, Ordering::Relaxed);
            }
            Ok(())
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let buffered = written.load(Ordering::Relaxed);
        let bound = ((CHUNKS_IN_FLIGHT + 2) * CHUNK) as u64;
        assert!(
            buffered > 0 && buffered <= bound,
            "{buffered} bytes written ahead of the client (bound {bound})"
        );
        // Reading it all lets the writer finish: 100 MB went through a bounded buffer.
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert_eq!(body.len(), 100_000_000);
        assert_eq!(written.load(Ordering::Relaxed), 100_000_000);
    }
}
