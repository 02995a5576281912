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
use domain::db::Pool;
use domain::secrets::MasterKey;
use s3s::service::{S3Service, S3ServiceBuilder};

use crate::store::Store;

pub use store::EmbeddedStore;
pub use upstream::UpstreamStore;

/// How the S3 endpoint behaves.
#[derive(Clone)]
pub struct S3Settings {
    /// Base domain for virtual-host-style requests (`BUCKET.DOMAIN`), if any.
    pub domain: Option<String>,
    /// The settings in force: whether SigV2 is accepted, the longest pre-signed lifetime.
    pub live: domain::settings::Live,
}

/// The S3 endpoint as a router, with `/healthz` beside it. Requests are audited through `log`.
pub fn router(
    pool: Pool,
    master: Arc<MasterKey>,
    store: Store,
    settings: &S3Settings,
    log: AuditLog,
) -> anyhow::Result<Router> {
    let service = service(pool.clone(), master, store, settings)?;
    let live = settings.live.clone();
    let s3 = tower::service_fn(move |req: axum::extract::Request| {
        let service = service.clone();
        let pool = pool.clone();
        let log = log.clone();
        let max_secs = live.read(|s| s.max_link_secs);
        async move {
            let mut seen = audit::Seen::of(&req, &log);
            seen.hold_place(&log).await;
            let res = call(&service, &pool, &mut seen, req, max_secs).await;
            Ok::<Response, Infallible>(seen.finish(&log, res).await)
        }
    });
    Ok(Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok\n" }))
        .fallback_service(s3))
}

async fn call(
    service: &S3Service,
    pool: &Pool,
    seen: &mut audit::Seen,
    req: axum::extract::Request,
    max_secs: i64,
) -> Response {
    if let Some(refusal) = presigned_expiry_error(req.uri(), max_secs) {
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
    pool: Pool,
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
    config.presigned_url_max_expires_secs =
        u32::try_from(settings.max_link_secs.clamp(1, MAX_PRESIGNED_SECS)).unwrap_or(604_800);
    Arc::new(config)
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

/// Refuses pre-signed URLs whose lifetime is out of range before any signature work: SigV4
/// `X-Amz-Expires` that is not a whole number from 1 to `max_secs` (S3's 7 days, or less as
/// set in Settings), and SigV2 `Expires` more than that ahead. Answers as S3 does, with
/// `AuthorizationQueryParametersError`.
fn presigned_expiry_error(uri: &http::Uri, max_secs: i64) -> Option<Response> {
    let max_secs = max_secs.clamp(1, MAX_PRESIGNED_SECS);
    let query = uri.query()?;
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    };
    let message = if param("X-Amz-Algorithm").is_some_and(|a| a != "AWS4-HMAC-SHA256") {
        "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"".to_owned()
    } else if let Some(expires) = param("X-Amz-Expires") {
        match expires.parse::<i64>() {
            Ok(secs) if (1..=max_secs).contains(&secs) => return None,
            Ok(secs) if secs > MAX_PRESIGNED_SECS => {
                "X-Amz-Expires must be less than a week (in seconds) that is 604800".to_owned()
            }
            Ok(secs) if secs > max_secs => {
                format!("X-Amz-Expires must be at most {max_secs} seconds on this endpoint")
            }
            _ => format!("X-Amz-Expires should be a number from 1 to {max_secs}"),
        }
    } else if let (Some(_), Some(expires)) = (param("AWSAccessKeyId"), param("Expires")) {
        let now = domain::now_unix();
        match expires.parse::<i64>() {
            Ok(at) if at - now <= max_secs => return None,
            Ok(_) if max_secs == MAX_PRESIGNED_SECS => {
                "Expires must be less than a week (in seconds) ahead".to_owned()
            }
            Ok(_) => format!("Expires must be at most {max_secs} seconds ahead on this endpoint"),
            Err(_) => "Expires should be a number of seconds since the epoch".to_owned(),
        }
    } else {
        return None;
    };
    Some(s3_error_response(
        http::StatusCode::BAD_REQUEST,
        "AuthorizationQueryParametersError",
        &message,
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
            .map(|uri| presigned_expiry_error(&uri, MAX_PRESIGNED_SECS).is_some())
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
        // A shorter longest lifetime, as set in Settings.
        let within = |uri: &str, max: i64| {
            uri.parse::<http::Uri>()
                .map(|uri| presigned_expiry_error(&uri, max).is_none())
                .unwrap_or(false)
        };
        assert!(within(&format!("{v4}3600"), 3600));
        assert!(!within(&format!("{v4}3601"), 3600));
        let v2_at = |at: i64| format!("/b/k?AWSAccessKeyId=AKX&Signature=s&Expires={at}");
        assert!(within(&v2_at(now + 3000), 3600));
        assert!(!within(&v2_at(now + 7200), 3600));
        // Not pre-signed: nothing to check.
        assert!(!refused("/b/k?list-type=2"));
        assert!(!refused("/b/k"));
    }
}
