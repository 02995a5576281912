//! The console's HTTP surface: the Leptos app and its server functions, static assets, health
//! probes, and the layers around them (sessions, request ids, tracing, security headers).

use std::time::Duration;

use app::error::AppError;
use app::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use domain::db::Pool;
use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower::ServiceBuilder;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::{Session, SessionManagerLayer, SessionStore};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole console as a router. `main` serves it; tests drive it with `oneshot`.
/// Server functions are mounted under `/api/` by `leptos_routes_with_context`, with the
/// same context as the pages.
pub fn app<S: SessionStore + Clone>(state: AppState, sessions: SessionManagerLayer<S>) -> Router {
    let site = crate::site::Site::Dir(state.leptos_options.site_root.as_ref().into());
    app_with_site(state, sessions, site)
}

/// [`app`], its assets from `site` (a directory, or the ones built into the binary).
pub fn app_with_site<S: SessionStore + Clone>(
    state: AppState,
    sessions: SessionManagerLayer<S>,
    site: crate::site::Site,
) -> Router {
    let routes = generate_route_list(app::App);
    let context_state = state.clone();
    let console = Router::new()
        .route(
            "/buckets/{bucket}/upload",
            post(crate::transfers::upload).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/buckets/{bucket}/download",
            get(crate::transfers::download),
        )
        .route("/audit/export", get(crate::transfers::export_audit))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            {
                let options = state.leptos_options.clone();
                move || app::shell(options.clone())
            },
        )
        .fallback(assets_or_not_found(site))
        .layer(middleware::from_fn(server_fn_error_status))
        .layer(middleware::from_fn_with_state(
            state.pool.clone(),
            require_admin_for_pages,
        ))
        .layer(middleware::from_fn(refuse_cross_site_writes))
        .layer(sessions)
        // Pages, server function answers and the WASM files (~2.7× smaller gzipped) go
        // compressed to browsers that accept it, at gzip's best level: ~1 % fewer bytes than
        // the default for the WASM, for a few milliseconds of CPU per file.
        // Not object downloads (marked `Uncompressed`): their ranges are of the stored bytes,
        // and media and archives gain nothing.
        .layer(
            CompressionLayer::new()
                .quality(CompressionLevel::Best)
                .compress_when(DefaultPredicate::new().and(
                    |_: StatusCode,
                     _: http::Version,
                     _: &http::HeaderMap,
                     ext: &http::Extensions| {
                        ext.get::<crate::transfers::Uncompressed>().is_none()
                    },
                )),
        )
        .with_state(state.clone());

    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz).with_state(state.clone()))
        .merge(console)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    let request_id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = %req.uri().path(),
                        request_id,
                    )
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("same-origin"),
                )),
        )
}

/// `/metrics`: the process's metrics in Prometheus' text format, to a request bearing `token`
/// (compared in constant time); 401 to any other. `serve` adds it to the console listener when
/// `--metrics-token` is set.
pub fn metrics(token: crate::config::MetricsToken) -> Router {
    let expected = std::sync::Arc::new(format!("Bearer {}", token.0));
    Router::new().route(
        "/metrics",
        get(move |headers: http::HeaderMap| {
            let expected = expected.clone();
            async move {
                let given = headers
                    .get(header::AUTHORIZATION)
                    .map(HeaderValue::as_bytes)
                    .unwrap_or_default();
                let allowed: bool =
                    subtle::ConstantTimeEq::ct_eq(given, expected.as_bytes()).into();
                if !allowed {
                    return (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, "Bearer")],
                        "/metrics needs the token given with --metrics-token\n",
                    )
                        .into_response();
                }
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    domain::metrics::encode(),
                )
                    .into_response()
            }
        }),
    )
}

/// What no route answers: an asset of the site (built into the binary, or from its directory),
/// else the console's "not found" page.
fn assets_or_not_found(
    site: crate::site::Site,
) -> impl Fn(
    http::Uri,
    State<AppState>,
    Request,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>
+ Clone
+ Send
+ 'static {
    let site = std::sync::Arc::new(site);
    let from_dir = leptos_axum::file_and_error_handler::<AppState, _>(app::shell);
    move |uri, state, req| {
        let embedded = site.embedded_response(uri.path(), req.headers().get(header::IF_NONE_MATCH));
        let from_dir = from_dir.clone();
        Box::pin(async move {
            match embedded {
                Some(answer) => answer,
                None => from_dir(uri, state, req).await,
            }
        })
    }
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers within two seconds.
async fn readyz(State(state): State<AppState>) -> Response {
    let ping = sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&state.pool);
    match tokio::time::timeout(Duration::from_secs(2), ping).await {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness: database error");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
        }
        Err(_) => {
            return (StatusCode::SERVICE_UNAVAILABLE, "database timed out\n").into_response();
        }
    }
    match tokio::time::timeout(Duration::from_secs(5), state.store.ready()).await {
        Ok(Ok(())) => "ready\n".into_response(),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness: object store");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("object store unavailable: {err}\n"),
            )
                .into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "object store timed out\n").into_response(),
    }
}

/// Paths anyone may fetch: the sign-in page, built assets, and server functions (which
/// authorize themselves, first thing).
fn is_public(path: &str) -> bool {
    path == "/login"
        || path == "/favicon.svg"
        || path.starts_with("/pkg/")
        || path.starts_with("/api/")
}

/// Sends visitors without an admin session to the sign-in page, whatever page they asked for,
/// and signed-in admins away from it.
async fn require_admin_for_pages(
    State(pool): State<Pool>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let is_page = matches!(*req.method(), Method::GET | Method::HEAD);
    if !is_page || (is_public(path) && path != "/login") {
        return next.run(req).await;
    }
    let admin = match app::auth::ssr::current_admin(&pool, &session).await {
        Ok(admin) => admin,
        Err(err) => return (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    };
    match (admin.is_some(), path == "/login") {
        (false, false) => Redirect::to("/login").into_response(),
        (true, true) => Redirect::to("/").into_response(),
        _ => next.run(req).await,
    }
}

/// Refuses state-changing requests sent by another site. Browsers say where a request comes
/// from in `Sec-Fetch-Site` (or, older ones, `Origin`); forms of this console are same-origin.
/// This stands in front of the per-form anti-forgery tokens, not instead of them.
async fn refuse_cross_site_writes(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let cross_site = match (text("sec-fetch-site"), text("origin")) {
        (Some(site), _) => site != "same-origin" && site != "none",
        (None, Some(origin)) => {
            let origin_host = origin.split_once("://").map(|(_, rest)| rest);
            origin_host != text("host")
        }
        (None, None) => false,
    };
    if cross_site {
        tracing::warn!(
            "refused a cross-site {} to {}",
            req.method(),
            req.uri().path()
        );
        return (StatusCode::FORBIDDEN, "Cross-site request refused.\n").into_response();
    }
    next.run(req).await
}

/// Server functions answer every error with 500; this gives each its real status (401, 403,
/// 422, 429…) from the error itself, in one place. Plain form posts are redirects and pass.
async fn server_fn_error_status(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !res.headers().contains_key("serverfnerror")
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}
