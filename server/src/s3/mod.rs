//! The S3 endpoint: s3s speaks the protocol and checks signatures; this module answers who may
//! do what ([`access`]) and serves buckets and objects from the embedded store ([`store`]).

mod access;
mod listing;
mod objects;
mod store;

pub use objects::sweep_orphans;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};
use domain::secrets::MasterKey;
use s3s::service::{S3Service, S3ServiceBuilder};
use sqlx::SqlitePool;

pub use store::EmbeddedStore;

/// How the S3 endpoint behaves.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// Base domain for virtual-host-style requests (`BUCKET.DOMAIN`), if any.
    pub domain: Option<String>,
    /// Whether SigV2 (header and pre-signed) is accepted.
    pub sigv2: bool,
}

/// The S3 endpoint as a router, with `/healthz` beside it.
pub fn router(
    pool: SqlitePool,
    master: Arc<MasterKey>,
    objects_dir: PathBuf,
    settings: &S3Settings,
) -> anyhow::Result<Router> {
    let service = service(pool, master, objects_dir, settings)?;
    let s3 = tower::service_fn(move |req: axum::extract::Request| {
        let service = service.clone();
        async move { Ok::<Response, Infallible>(call(&service, req).await) }
    });
    Ok(Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok\n" }))
        .fallback_service(s3))
}

async fn call(service: &S3Service, req: axum::extract::Request) -> Response {
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
    objects_dir: PathBuf,
    settings: &S3Settings,
) -> anyhow::Result<S3Service> {
    let store = EmbeddedStore::new(pool.clone(), objects_dir);
    let mut builder = S3ServiceBuilder::new(store);
    builder.set_auth(access::KeyAuth {
        pool: pool.clone(),
        master,
    });
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
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}
