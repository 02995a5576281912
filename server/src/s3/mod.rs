//! The S3 endpoint: s3s speaks the protocol and checks signatures; this module reads each
//! request once ([`request`]), answers who may do what ([`access`]), audits it ([`audit`]), and
//! hands it to the store that holds the objects ([`crate::store`]).

mod access;
mod audit;
mod browser;
mod pages;
mod request;

pub use audit::AuditLog;

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};
use domain::db::Pool;
use domain::secrets::MasterKey;
use s3s::service::{S3Service, S3ServiceBuilder};

use crate::store::Store;

/// How the S3 endpoint behaves.
#[derive(Clone)]
pub struct S3Settings {
    /// Base domain for virtual-host-style requests (`BUCKET.DOMAIN`), if any.
    pub domain: Option<String>,
    /// The settings in force: whether SigV2 is accepted, the longest pre-signed lifetime.
    pub live: domain::settings::Live,
    /// The data dir, whose changes file tells the endpoint's view of keys and grants at once
    /// of changes other processes on it make (`domain::access`).
    pub data_dir: Option<std::path::PathBuf>,
}

/// The S3 endpoint as a router, with `/healthz` beside it. Requests are audited through `log`.
pub fn router(
    pool: Pool,
    master: Arc<MasterKey>,
    store: Store,
    settings: &S3Settings,
    log: AuditLog,
) -> anyhow::Result<Router> {
    let pages = pages::Pages {
        pool: pool.clone(),
        store: store.console(),
        log: log.clone(),
        master: master.clone(),
        live: settings.live.clone(),
        zips: Arc::new(tokio::sync::Semaphore::new(pages::MAX_ZIPS)),
        forms: Arc::new(tokio::sync::Semaphore::new(pages::MAX_FORM_FILES)),
    };
    let view =
        domain::access::View::start(pool.clone(), master.clone(), settings.data_dir.as_deref());
    let service = service(pool.clone(), view.clone(), store, settings)?;
    let live = settings.live.clone();
    let domain: Option<Arc<str>> = settings.domain.as_deref().map(Arc::from);
    let pages_domain = domain.clone();
    let s3 = tower::service_fn(move |mut req: axum::extract::Request| {
        let service = service.clone();
        // Ours: the audit and the answer name the same id. Carried beside the request, never
        // in its headers (a client may have signed an `x-request-id` of its own).
        let request_id = new_request_id();
        req.extensions_mut().insert(audit::RequestId(
            request_id.to_str().unwrap_or("-").to_owned(),
        ));
        let view = view.clone();
        let log = log.clone();
        let rules = request::Rules {
            max_secs: live.read(|s| s.max_link_secs),
            now: domain::now_unix(),
            domain: domain.as_deref(),
        };
        let reading = request::read(req.method(), req.uri(), req.headers(), rules);
        let for_browser = browser::wants_page(req.method(), req.headers());
        async move {
            let started = std::time::Instant::now();
            let received = declared_length(req.headers());
            let operation = reading.operation;
            let mut seen = audit::Seen::of(&req, &reading, &log);
            let res = call(&service, &view, &mut seen, reading, req).await;
            let metrics = domain::metrics::get();
            metrics.s3_request(operation.as_str(), res.status().as_u16(), started.elapsed());
            metrics.s3_received_bytes.inc_by(received);
            metrics.s3_sent_bytes.inc_by(declared_length(res.headers()));
            if let Some(outcome) = seen.link_outcome(res.status()) {
                metrics.link_use(outcome);
            }
            let res = seen.finish(&log, res).await;
            let res = if for_browser {
                browser::error_page(res).await
            } else {
                res
            };
            Ok::<Response, Infallible>(with_request_id(res, request_id).await)
        }
    });
    let s3 = Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok\n" }))
        .fallback_service(s3);
    Ok(pages::with_pages(s3, pages, pages_domain))
}

/// A body's length as its headers declare it (the decoded length of an aws-chunked upload);
/// 0 when they do not.
fn declared_length(headers: &http::HeaderMap) -> u64 {
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    };
    value("x-amz-decoded-content-length")
        .or_else(|| value("content-length"))
        .unwrap_or(0)
}

/// A request id as S3 writes them: 16 uppercase hex digits.
fn new_request_id() -> http::HeaderValue {
    let bytes: [u8; 8] = rand::random();
    http::HeaderValue::try_from(hex::encode_upper(bytes))
        .unwrap_or(http::HeaderValue::from_static("-"))
}

/// Marks an answer with its request id, as S3 does: the `x-amz-request-id` header, and in an
/// error document a `RequestId` element (clients quote it in bug reports; ceph/s3-tests checks
/// the two agree).
async fn with_request_id(res: Response, id: http::HeaderValue) -> Response {
    let (mut parts, body) = res.into_parts();
    parts.headers.insert("x-amz-request-id", id.clone());
    let is_error_document = parts.status.is_client_error() || parts.status.is_server_error();
    let is_xml = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/xml"));
    if !(is_error_document && is_xml) {
        return Response::from_parts(parts, body);
    }
    // Error documents are a few hundred bytes, made in full by s3s or by us.
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    let text = String::from_utf8_lossy(&bytes);
    let body = match text.rfind("</Error>") {
        Some(end) if !text.contains("<RequestId>") => {
            let id = id.to_str().unwrap_or("-");
            format!(
                "{}<RequestId>{id}</RequestId>{}",
                &text[..end],
                &text[end..]
            )
        }
        _ => text.into_owned(),
    };
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// Serves one request: the link registry first (so that even a refused request is audited
/// against its link), then what the reading refused, then s3s.
async fn call(
    service: &S3Service,
    view: &domain::access::View,
    seen: &mut audit::Seen,
    reading: request::Reading,
    mut req: axum::extract::Request,
) -> Response {
    // A refused request is audited against the link of any signature it names; an accepted
    // one has exactly one.
    let signatures: &[String] = match (&reading.refusal, &reading.auth) {
        (Some(_), _) => &reading.claimed_signatures,
        (None, request::Auth::Presigned { signature, .. }) => std::slice::from_ref(signature),
        (None, _) => &[],
    };
    for signature in signatures {
        match view.lookup(signature).await {
            Ok(domain::links::Use::Revoked { id, user }) => {
                seen.through_revoked_link(&id, user);
                return s3_error_response(
                    http::StatusCode::FORBIDDEN,
                    "AccessDenied",
                    "This link has been revoked",
                );
            }
            Ok(domain::links::Use::Link { id, user }) => {
                seen.through_link(&id, user);
                break;
            }
            Ok(domain::links::Use::Unregistered) => {}
            Err(err) => {
                domain::metrics::get().database_error("s3");
                tracing::error!(error = %err, "cannot look up a share link");
                return internal_error();
            }
        }
    }
    if let Some(refusal) = &reading.refusal {
        seen.refused_on_reading();
        return s3_error_response(refusal.status, refusal.code, &refusal.message);
    }
    if let Some(place) = seen.place() {
        // The access check takes the request's place in the audit queue once s3s has
        // authenticated it.
        req.extensions_mut().insert(place);
    }
    let req = req.map(s3s::Body::http_body_unsync);
    match service.call(req).await {
        Ok(res) => res.map(axum::body::Body::new).into_response(),
        Err(err) => {
            tracing::error!(error = ?err, "S3 request failed");
            internal_error()
        }
    }
}

fn internal_error() -> Response {
    s3_error_response(
        http::StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "We encountered an internal error. Please try again.",
    )
}

fn service(
    pool: Pool,
    view: domain::access::View,
    store: Store,
    settings: &S3Settings,
) -> anyhow::Result<S3Service> {
    let mut builder = match store {
        Store::Embedded(store) => S3ServiceBuilder::new(store),
        Store::Upstream(store) => S3ServiceBuilder::new(store),
    };
    builder.set_auth(access::KeyAuth::new(pool.clone(), view.clone()));
    builder.set_access(access::GrantAccess { pool, view });
    if let Some(domain) = &settings.domain {
        builder.set_host(
            s3s::host::SingleDomain::new(domain)
                .map_err(|e| anyhow::anyhow!("--s3-domain {domain}: {e}"))?,
        );
    }
    // SigV2 and the longest pre-signed lifetime follow the Settings page.
    let config = Arc::new(s3s::config::HotReloadConfigProvider::new(s3s_config(
        &settings.live.get(),
    )));
    builder.set_config(config.clone());
    let live = settings.live.clone();
    tokio::spawn(async move {
        loop {
            live.next_change().await;
            config.update(s3s_config(&live.get()));
        }
    });
    Ok(builder.build())
}

/// What s3s needs of the settings in force.
fn s3s_config(settings: &domain::settings::Settings) -> Arc<s3s::config::S3Config> {
    let mut config = s3s::config::S3Config::default();
    config.enable_sig_v2 = settings.sigv2;
    config.presigned_url_max_expires_secs = u32::try_from(
        settings
            .max_link_secs
            .clamp(1, domain::settings::MAX_LINK_SECS),
    )
    .unwrap_or(604_800);
    // The request reader refuses these first, with client errors; s3s's own checks stay as a
    // second line.
    config.expected_region = request::REGION.parse().ok();
    config.sig_v4_allowed_services = vec!["s3".to_owned()];
    // Browser POST uploads are not offered (see `request`).
    config.allow_post_signature = false;
    Arc::new(config)
}

/// An S3 error document.
fn s3_error_response(status: http::StatusCode, code: &str, message: &str) -> Response {
    let message = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (
        status,
        [(http::header::CONTENT_TYPE, "application/xml")],
        body,
    )
        .into_response()
}
