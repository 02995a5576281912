//! The S3 endpoint: s3s speaks the protocol and checks signatures; this module answers who may
//! do what ([`access`]) and serves buckets and objects from the embedded store ([`store`]) or
//! an upstream S3 store ([`upstream`]).

mod access;
mod audit;
mod checksum;
mod console;
mod listing;
mod multipart;
mod objects;
mod store;
mod upstream;

pub use audit::AuditLog;
pub use objects::sweep_orphans;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};
use domain::secrets::MasterKey;
use s3s::service::{S3Service, S3ServiceBuilder};
use sqlx::SqlitePool;

use crate::store::Store;

pub use store::EmbeddedStore;
pub use upstream::UpstreamStore;

/// How the S3 endpoint behaves.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// Base domain for virtual-host-style requests (`BUCKET.DOMAIN`), if any.
    pub domain: Option<String>,
    /// Whether SigV2 (header and pre-signed) is accepted.
    pub sigv2: bool,
}

/// The S3 endpoint as a router, with `/healthz` beside it. Requests are audited through `log`.
pub fn router(
    pool: SqlitePool,
    master: Arc<MasterKey>,
    store: Store,
    settings: &S3Settings,
    log: AuditLog,
) -> anyhow::Result<Router> {
    let service = service(pool.clone(), master, store, settings)?;
    let s3 = tower::service_fn(move |req: axum::extract::Request| {
        let service = service.clone();
        let pool = pool.clone();
        let log = log.clone();
        async move {
            let mut seen = audit::Seen::of(&req, &log);
            seen.hold_place(&log).await;
            let res = call(&service, &pool, &mut seen, req).await;
            Ok::<Response, Infallible>(seen.finish(&log, res).await)
        }
    });
    Ok(Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok\n" }))
        .fallback_service(s3))
}

async fn call(
    service: &S3Service,
    pool: &SqlitePool,
    seen: &mut audit::Seen,
    req: axum::extract::Request,
) -> Response {
    if let Some(refusal) = presigned_expiry_error(req.uri()) {
        return refusal;
    }
    if let Some(signature) = &seen.signature {
        match domain::links::lookup(pool, signature).await {
            Ok(domain::links::Use::Revoked { id, user }) => {
                seen.through_link(&id, user);
                return s3_error_response(
                    http::StatusCode::FORBIDDEN,
                    "AccessDenied",
                    "This link has been revoked",
                );
            }
            Ok(domain::links::Use::Link { id, user }) => seen.through_link(&id, user),
            Ok(domain::links::Use::Unregistered) => {}
            Err(err) => {
                tracing::error!(error = %err, "cannot look up a share link");
                return s3_error_response(
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                );
            }
        }
    }
    let req = req.map(s3s::Body::http_body_unsync);
    match service.call(req).await {
        Ok(res) => res.map(axum::body::Body::new).into_response(),
        Err(err) => {
            tracing::error!(error = ?err, "S3 request failed");
            http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn service(
    pool: SqlitePool,
    master: Arc<MasterKey>,
    store: Store,
    settings: &S3Settings,
) -> anyhow::Result<S3Service> {
    let mut builder = match store {
        Store::Embedded(store) => S3ServiceBuilder::new(store),
        Store::Upstream(store) => S3ServiceBuilder::new(store),
    };
    builder.set_auth(access::KeyAuth::new(pool.clone(), master));
    builder.set_access(access::GrantAccess { pool });
    if let Some(domain) = &settings.domain {
        builder.set_host(
            s3s::host::SingleDomain::new(domain)
                .map_err(|e| anyhow::anyhow!("--s3-domain {domain}: {e}"))?,
        );
    }
    let mut config = s3s::config::S3Config::default();
    config.enable_sig_v2 = settings.sigv2;
    // S3's own limit: a pre-signed URL lives at most 7 days.
    config.presigned_url_max_expires_secs = 604_800;
    builder.set_config(Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(
        config,
    ))));
    Ok(builder.build())
}

/// Serves the S3 endpoint on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(
        crate::web::no_delay(listener),
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

/// The longest a pre-signed URL may live, as in S3: 7 days.
const MAX_PRESIGNED_SECS: i64 = 604_800;

/// Refuses pre-signed URLs whose lifetime is out of S3's range before any signature work:
/// SigV4 `X-Amz-Expires` that is not a whole number from 1 to 604800, and SigV2 `Expires`
/// more than 7 days ahead. Answers as S3 does, with `AuthorizationQueryParametersError`.
fn presigned_expiry_error(uri: &http::Uri) -> Option<Response> {
    let query = uri.query()?;
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    };
    let message = if param("X-Amz-Algorithm").is_some_and(|a| a != "AWS4-HMAC-SHA256") {
        "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""
    } else if let Some(expires) = param("X-Amz-Expires") {
        match expires.parse::<i64>() {
            Ok(secs) if (1..=MAX_PRESIGNED_SECS).contains(&secs) => return None,
            Ok(secs) if secs > MAX_PRESIGNED_SECS => {
                "X-Amz-Expires must be less than a week (in seconds) that is 604800"
            }
            _ => "X-Amz-Expires should be a number from 1 to 604800",
        }
    } else if let (Some(_), Some(expires)) = (param("AWSAccessKeyId"), param("Expires")) {
        let now = domain::now_unix();
        match expires.parse::<i64>() {
            Ok(at) if at - now <= MAX_PRESIGNED_SECS => return None,
            Ok(_) => "Expires must be less than a week (in seconds) ahead",
            Err(_) => "Expires should be a number of seconds since the epoch",
        }
    } else {
        return None;
    };
    Some(s3_error_response(
        http::StatusCode::BAD_REQUEST,
        "AuthorizationQueryParametersError",
        message,
    ))
}

/// The signature of a pre-signed request (SigV4 `X-Amz-Signature`, SigV2 `Signature`),
/// percent-decoded, so that an URL re-encoded by hand is still the same link: what identifies a
/// share link.
pub fn presigned_signature(uri: &http::Uri) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "X-Amz-Signature" || k == "Signature").then(|| percent_decode(v))?
    })
}

/// An S3 error document.
fn s3_error_response(status: http::StatusCode, code: &str, message: &str) -> Response {
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

/// Decodes `%XX` escapes (and `+` as space, as in query strings); `None` if the result is not
/// UTF-8 or an escape is malformed.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(uri: &str) -> bool {
        uri.parse::<http::Uri>()
            .map(|uri| presigned_expiry_error(&uri).is_some())
            .unwrap_or(false)
    }

    #[test]
    fn presigned_lifetimes_beyond_s3_limits_are_refused() {
        let v4 = "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=";
        for ok in ["1", "3600", "604800"] {
            assert!(!refused(&format!("{v4}{ok}")), "{ok}");
        }
        for bad in ["0", "-1", "604801", "soon", ""] {
            assert!(refused(&format!("{v4}{bad}")), "{bad}");
        }
        let now = domain::now_unix();
        let v2 = |at: i64| format!("/b/k?AWSAccessKeyId=AKX&Signature=s&Expires={at}");
        assert!(!refused(&v2(now + 3600)));
        assert!(!refused(&v2(now + 604_800)));
        assert!(refused(&v2(now + 604_800 + 60)));
        assert!(refused(
            "/b/k?AWSAccessKeyId=AKX&Signature=s&Expires=tomorrow"
        ));
        // Link identity survives re-encoding of the signature.
        let plain: http::Uri = "/b/k?X-Amz-Signature=ab12&X-Amz-Expires=60"
            .parse()
            .unwrap_or_default();
        let encoded: http::Uri = "/b/k?X-Amz-Signature=%61b12&X-Amz-Expires=60"
            .parse()
            .unwrap_or_default();
        assert_eq!(presigned_signature(&plain).as_deref(), Some("ab12"));
        assert_eq!(presigned_signature(&encoded), presigned_signature(&plain));
        let v2: http::Uri = "/b/k?AWSAccessKeyId=AKX&Signature=a%2Bb%2F%3D&Expires=1"
            .parse()
            .unwrap_or_default();
        assert_eq!(presigned_signature(&v2).as_deref(), Some("a+b/="));
        // Not pre-signed: nothing to check.
        assert!(!refused("/b/k?list-type=2"));
        assert!(!refused("/b/k"));
    }
}
