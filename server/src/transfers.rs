//! The console's plain HTTP endpoints that move bulk data, beside the server functions:
//! uploads from the object browser (`POST /buckets/{bucket}/upload`, multipart form, streamed
//! into the store), downloads and previews (`GET /buckets/{bucket}/download?key=K[&inline=1]`,
//! streamed out, with ranges) and audit exports (`GET /audit/export?format=csv|json&…`).
//! All need an admin session; uploads also the session's anti-forgery token.

use app::audit::AuditQuery;
use app::buckets::Preview;
use app::state::AppState;
use axum::body::Body;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::audit::{self, Action, Origin};
use futures_util::{StreamExt, TryStreamExt};
use http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use tower_sessions::Session;

/// Marks a response the console's compression layer ([`crate::web`]) leaves as it is: object
/// downloads, whose ranges are of the stored bytes.
#[derive(Debug, Clone, Copy)]
pub struct Uncompressed;

/// Events fetched per query while exporting.
const EXPORT_PAGE: u32 = 1_000;

fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

/// The admin behind `session`, or the response that refuses the request.
async fn admin(state: &AppState, session: &Session) -> Result<app::auth::ssr::Admin, Response> {
    match app::auth::ssr::current_admin(&state.pool, session).await {
        Ok(Some(admin)) => Ok(admin),
        Ok(None) => Err(refuse(StatusCode::UNAUTHORIZED, "Please sign in.")),
        Err(err) => Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string())),
    }
}

/// Stores each file of the form as `prefix` + its file name. Answers JSON (`{"uploaded":
/// [keys]}`) to scripts that ask for it, and otherwise sends the browser back to the folder.
pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    Path(bucket): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let admin = match admin(&state, &session).await {
        Ok(admin) => admin,
        Err(refusal) => return refusal,
    };
    let origin =
        app::auth::ssr::origin_of(&admin.name, &state.auth.network, Some(peer.ip()), &headers);
    let mut csrf_checked = false;
    let mut prefix = String::new();
    let mut next_name: Option<String> = None;
    let mut uploaded = Vec::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => return refuse(StatusCode::BAD_REQUEST, &format!("Bad upload: {err}")),
        };
        match field.name() {
            Some("csrf") => {
                let token = field.text().await.unwrap_or_default();
                if app::auth::ssr::check_csrf(&session, &token).await.is_err() {
                    return refuse(
                        StatusCode::FORBIDDEN,
                        "This form has expired. Reload the page and try again.",
                    );
                }
                csrf_checked = true;
            }
            Some("prefix") => prefix = field.text().await.unwrap_or_default(),
            // The console's script sends each file's exact name before it (see `file_name`).
            Some("name") => next_name = Some(field.text().await.unwrap_or_default()),
            Some("file") => {
                if !csrf_checked {
                    return refuse(StatusCode::FORBIDDEN, "The form's token must come first.");
                }
                let name = file_name(next_name.take(), field.file_name());
                if name.is_empty() {
                    continue;
                }
                let key = format!("{prefix}{name}");
                let content_type = field.content_type().map(str::to_owned);
                let body = Box::pin(field.map_err(|e| e.to_string()));
                let size = match state.store.upload(&bucket, &key, content_type, body).await {
                    Ok(size) => size,
                    Err(err) => {
                        return refuse(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            &format!("Cannot upload {key}: {err}"),
                        );
                    }
                };
                if let Err(err) = record_upload(&state, &origin, &bucket, &key, size).await {
                    tracing::error!(error = %err, "cannot audit an upload");
                    return refuse(StatusCode::INTERNAL_SERVER_ERROR, "Cannot write the audit.");
                }
                uploaded.push(key);
            }
            _ => {}
        }
    }
    if !csrf_checked {
        return refuse(StatusCode::FORBIDDEN, "The form's token is missing.");
    }
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        axum::Json(serde_json::json!({ "uploaded": uploaded })).into_response()
    } else {
        Redirect::to(&format!(
            "/buckets/{bucket}?prefix={}",
            app::components::encode(&prefix)
        ))
        .into_response()
    }
}

/// The name a file is stored under (after the folder's prefix): the exact name the console's
/// script sent in a `name` field before the file, or else the part's file name as a plain form
/// post sends it: browsers write `"`, CR and LF there as `%22`, `%0D` and `%0A`, undone here,
/// and only its last path segment is kept.
fn file_name(sent: Option<String>, header: Option<&str>) -> String {
    match sent {
        // A browser's `File.name`, or a path under a dropped folder (`photos/2026/a.jpg`):
        // folders are kept, but nothing that climbs (`..`), stays (`.`) or is empty. `\` is
        // a valid character in a name on Unix.
        Some(name) => name
            .split('/')
            .filter(|part| !matches!(*part, "" | "." | ".."))
            .collect::<Vec<_>>()
            .join("/"),
        None => header
            .unwrap_or_default()
            .replace("%22", "\"")
            .replace("%0D", "\r")
            .replace("%0A", "\n")
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    key: String,
    /// For the details panel's preview: shown in the page rather than saved, for the types
    /// [`Preview`] allows; anything else downloads anyway.
    #[serde(default)]
    inline: Option<String>,
}

/// Streams an object to an admin: as a download keeping its file name, or (`inline`) for the
/// details panel's preview. One `Range` is honoured (previews of audio and video seek with
/// them); what is sent inline can run nothing on the console's origin: only the media types
/// [`Preview`] allows, text as `text/plain`, under a sandboxing `Content-Security-Policy`.
/// Each download is audited (`object.download`), once: not the further ranges of a preview.
pub async fn download(
    State(state): State<AppState>,
    session: Session,
    Path(bucket): Path<String>,
    Query(query): Query<DownloadQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let admin = match admin(&state, &session).await {
        Ok(admin) => admin,
        Err(refusal) => return refusal,
    };
    let wanted = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| s3s::dto::Range::parse(v).ok());
    let pick = move |size: u64| wanted.and_then(|r| r.check(size).ok());
    let read = match state.store.read(&bucket, &query.key, &pick).await {
        Ok(Some(read)) => read,
        Ok(None) => {
            return refuse(
                StatusCode::NOT_FOUND,
                &format!("There is no object {} in {bucket}.", query.key),
            );
        }
        Err(err) => return refuse(StatusCode::BAD_GATEWAY, &format!("Cannot read it: {err}")),
    };
    let info = &read.info;
    let size = u64::try_from(info.size).unwrap_or(0);
    let preview = query
        .inline
        .is_some()
        .then(|| Preview::of(info.content_type.as_deref()))
        .flatten();
    if read.range.as_ref().is_none_or(|r| r.start == 0) {
        let origin =
            app::auth::ssr::origin_of(&admin.name, &state.auth.network, Some(peer.ip()), &headers);
        let action = Action::new("object.download", &query.key)
            .on(&bucket, Some(&query.key))
            .detail(serde_json::json!({ "size": size, "preview": preview.is_some() }));
        if let Err(err) = record(&state, &origin, action).await {
            tracing::error!(error = %err, "cannot audit a download");
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "Cannot write the audit.");
        }
    }
    let disposition = domain::links::attachment(&query.key);
    let (content_type, disposition) = match preview {
        None => (
            info.content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            disposition,
        ),
        Some(kind) => (
            match kind {
                Preview::Text => "text/plain; charset=utf-8".to_owned(),
                _ => info.content_type.clone().unwrap_or_default(),
            },
            disposition.replacen("attachment", "inline", 1),
        ),
    };
    let pdf = preview == Some(Preview::Pdf);
    let mut response = streamed(read, content_type, disposition);
    let out = response.headers_mut();
    // Chromium's PDF viewer will not show a sandboxed document; a PDF runs none of its own
    // script on the console's origin anyway. The panel frames it, from this origin only.
    if pdf {
        out.insert(
            header::X_FRAME_OPTIONS,
            http::HeaderValue::from_static("SAMEORIGIN"),
        );
    } else {
        out.insert(header::CONTENT_SECURITY_POLICY, http::HeaderValue::from_static("sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'"));
    }
    response
}

/// An object read from the store as an answer: its bytes streamed (`206` with
/// `Content-Range` when the read is of a range), with its type, disposition, length and ETag,
/// not cached, and left uncompressed (its ranges are of the stored bytes).
pub fn streamed(
    read: domain::store::ObjectRead,
    content_type: String,
    disposition: String,
) -> Response {
    let size = u64::try_from(read.info.size).unwrap_or(0);
    let etag = format!("\"{}\"", read.info.etag);
    let range = read.range.clone();
    let mut response = Response::new(Body::from_stream(read.body));
    response.extensions_mut().insert(Uncompressed);
    let out = response.headers_mut();
    let mut set = |name: header::HeaderName, value: String| {
        if let Ok(value) = http::HeaderValue::try_from(value) {
            out.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, content_type);
    set(header::CONTENT_DISPOSITION, disposition);
    set(header::ACCEPT_RANGES, "bytes".to_owned());
    set(header::ETAG, etag);
    set(header::CACHE_CONTROL, "private, no-store".to_owned());
    match &range {
        Some(range) => {
            set(
                header::CONTENT_LENGTH,
                (range.end - range.start).to_string(),
            );
            set(
                header::CONTENT_RANGE,
                format!(
                    "bytes {}-{}/{size}",
                    range.start,
                    range.end.saturating_sub(1)
                ),
            );
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        }
        None => set(header::CONTENT_LENGTH, size.to_string()),
    }
    response
}

async fn record_upload(
    state: &AppState,
    origin: &Origin,
    bucket: &str,
    key: &str,
    size: u64,
) -> Result<(), sqlx::Error> {
    let action = Action::new("object.upload", key)
        .on(bucket, Some(key))
        .detail(serde_json::json!({ "size": size }));
    record(state, origin, action).await
}

async fn record(state: &AppState, origin: &Origin, action: Action<'_>) -> Result<(), sqlx::Error> {
    let mut tx = domain::db::write_tx(&state.pool).await?;
    audit::record_action(&mut tx, origin, action)
        .await
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    tx.commit().await
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: String,
    #[serde(flatten)]
    query: AuditQueryForm,
}

/// The audit page's filters, as they come in the export link.
#[derive(Debug, Default, Deserialize)]
struct AuditQueryForm {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    bucket: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
}

/// Every event the filters select, newest first, as CSV or JSON (an array), streamed.
pub async fn export_audit(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<ExportQuery>,
) -> Response {
    if let Err(refusal) = admin(&state, &session).await {
        return refusal;
    }
    let q = params.query;
    let query = AuditQuery {
        actor: q.actor,
        action: q.action,
        bucket: q.bucket,
        outcome: q.outcome,
        since: q.since,
        until: q.until,
        before: String::new(),
    };
    let filter = match app::audit::ssr::filter(&query) {
        Ok(filter) => filter,
        Err(err) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, &err.to_string()),
    };
    let csv = match params.format.as_str() {
        "csv" | "" => true,
        "json" => false,
        other => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("Unknown format `{other}`: use csv or json."),
            );
        }
    };
    // (before, first page?) → the next chunk of the document.
    let pool = state.pool.clone();
    let pages = futures_util::stream::unfold(Some((None, true)), move |cursor| {
        let (pool, filter) = (pool.clone(), filter.clone());
        async move {
            let (before, first) = cursor?;
            let events = match audit::query(&pool, &filter, before, EXPORT_PAGE).await {
                Ok(events) => events,
                Err(err) => {
                    tracing::error!(error = %err, "audit export failed");
                    return Some((Err(std::io::Error::other("audit export failed")), None));
                }
            };
            let mut chunk = String::new();
            if first {
                chunk.push_str(if csv { "" } else { "[" });
                if csv {
                    chunk.push_str(&audit::CSV_COLUMNS.join(","));
                    chunk.push('\n');
                }
            }
            for (i, event) in events.iter().enumerate() {
                if csv {
                    chunk.push_str(&audit::csv_line(event));
                    chunk.push('\n');
                } else {
                    if !(first && i == 0) {
                        chunk.push(',');
                    }
                    chunk.push_str(&serde_json::to_string(event).unwrap_or_default());
                }
            }
            let done = events.len() < EXPORT_PAGE as usize;
            if done && !csv {
                chunk.push_str("]\n");
            }
            let next = (!done).then(|| (events.last().map(|e| e.id), false));
            Some((Ok::<_, std::io::Error>(chunk), next))
        }
    })
    // `unfold` panics when polled again after its end, and the gzip layer does poll again:
    // fused, a finished export stays finished.
    .fuse();
    let (content_type, file) = if csv {
        ("text/csv; charset=utf-8", "audit.csv")
    } else {
        ("application/json", "audit.json")
    };
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        Body::from_stream(pages),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn sent_names_keep_their_folders_but_cannot_climb_out_of_the_prefix() {
        let sent = |name: &str| file_name(Some(name.to_owned()), Some("ignored"));
        assert_eq!(sent("a \"quoted\" name.txt"), "a \"quoted\" name.txt");
        assert_eq!(sent("photos/2026/a.jpg"), "photos/2026/a.jpg");
        assert_eq!(sent("../../etc/passwd"), "etc/passwd");
        assert_eq!(sent("/abs//./x/../y"), "abs/x/y");
        assert_eq!(sent("back\\slash.txt"), "back\\slash.txt");
        assert_eq!(sent(".."), "");
    }

    #[test]
    fn posted_names_are_decoded_and_keep_their_last_segment() {
        let posted = |name: &str| file_name(None, Some(name));
        assert_eq!(posted("say %22hi%22.txt"), "say \"hi\".txt");
        assert_eq!(posted("C:\\Users\\me\\report.pdf"), "report.pdf");
        assert_eq!(posted("dir/../x.txt"), "x.txt");
        assert_eq!(posted(""), "");
    }
}
