//! Share pages for their recipients, on the S3 listener (the address recipients already
//! reach; bucket names have at least 3 characters, so `/s/` is never a path-style bucket):
//!
//! - `GET /s/<token>`: the landing page: the file's name, size, type and date, when the page
//!   stops working, the sharer's note, and a download button;
//! - `GET /s/<token>/download`: the bytes, as an attachment, with one `Range` honoured;
//! - `GET /s/<token>/preview`: the bytes shown in the page, for images, audio and video
//!   (seekable: `Range` honoured), under a sandboxing policy; text is shown in the page itself
//!   (its first 16 KiB, escaped; not HTML, XML or scripts). Nothing else is previewed (HTML,
//!   SVG, PDF and anything unknown only download), nor the files of download-limited pages (a
//!   preview does not count as a download, so it must not give the file away);
//! - `POST /s/<token>`: a page's password (a form field `password`); right, it sets a cookie,
//!   scoped to that page's path, that keeps it open for an hour in that browser.
//!
//! Server-rendered HTML without script, never the console. Every request reads the page's
//! state again ([`domain::links::pages::open`]): a revoked, expired or used-up page answers 410,
//! a page whose user lost the right to the file (grant removed or expired, user disabled or
//! deleted) 404, each with a plain page that says so. Each view and download is an audit event
//! of the link, with the bytes sent and whether the body was sent whole.
//!
//! On a page with a download limit, every answer that sends bytes of the file counts (a
//! resumed download counts again); on a page without one, answers from the first byte are
//! counted, for the record. A HEAD, a range the file cannot satisfy (416) and a missing file
//! count nothing.

use std::sync::Arc;

use app::buckets::Preview;
use app::components::{escape, human_size};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::links::{Link, LinkState, pages};
use domain::store::ObjectStore;
use http::{HeaderMap, StatusCode, header};
use tower::ServiceExt;

use super::AuditLog;
use super::audit::Seen;

/// What the recipients' pages need.
#[derive(Clone)]
pub struct Pages {
    pub pool: domain::db::Pool,
    pub store: Arc<dyn ObjectStore>,
    pub log: AuditLog,
    /// Seals the cookie a right password sets.
    pub master: Arc<domain::secrets::MasterKey>,
    /// Whether the public URL is https (the cookie is then `Secure`).
    pub live: domain::settings::Live,
}

/// The S3 router with the share pages in front: a request for `/s/…` is a page's, unless it
/// names a bucket by its host (`BUCKET.DOMAIN/s/…` is the object `s/…` of that bucket).
pub fn with_pages(s3: Router, pages: Pages, domain: Option<Arc<str>>) -> Router {
    let pages = Router::new()
        .route("/s/{token}", get(landing).post(unlock))
        .route("/s/{token}/download", get(download))
        .route("/s/{token}/preview", get(preview))
        .fallback(|| async { gone(StatusCode::NOT_FOUND, "There is no such page.") })
        .method_not_allowed_fallback(|| async {
            gone(StatusCode::METHOD_NOT_ALLOWED, "A page can only be opened.")
        })
        .with_state(pages);
    let service = tower::service_fn(move |req: Request| {
        let to_pages = req.uri().path().starts_with("/s/")
            && !names_a_bucket(req.headers(), domain.as_deref());
        let router = if to_pages { pages.clone() } else { s3.clone() };
        router.oneshot(req)
    });
    Router::new().fallback_service(service)
}

/// Whether the request's host is `BUCKET.DOMAIN` (a virtual-hosted-style S3 request).
fn names_a_bucket(headers: &HeaderMap, domain: Option<&str>) -> bool {
    let Some(domain) = domain else {
        return false;
    };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let host = host.rsplit_once(':').map_or(host, |(name, _)| name);
    host.len() > domain.len() + 1
        && host.ends_with(domain)
        && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
}

/// `GET /s/<token>`: what is shared, and a download button.
async fn landing(State(pages): State<Pages>, Path(token): Path<String>, req: Request) -> Response {
    let (req, _) = req.into_parts();
    let (link, mut seen) = match open_unlocked(&pages, &token, &req, "PageView").await {
        Ok(opened) => opened,
        Err(answered) => return answered,
    };
    let res = match pages.store.object(&link.bucket, &link.key).await {
        Ok(Some(info)) => {
            let shown = match preview_of(&link, &info) {
                Some(Preview::Text) => text_preview(&pages, &link).await,
                Some(kind) => Shown::Media(kind),
                None => Shown::Nothing,
            };
            html(StatusCode::OK, &landing_page(&token, &link, &info, &shown))
        }
        Ok(None) => {
            seen.refused_as("NoSuchKey");
            gone(StatusCode::NOT_FOUND, "The shared file is no longer there.")
        }
        Err(err) => unavailable(&err),
    };
    answer(&pages.log, seen, res).await
}

/// `GET /s/<token>/download`: the bytes, counted against the page's download limit.
async fn download(State(pages): State<Pages>, Path(token): Path<String>, req: Request) -> Response {
    let (req, _) = req.into_parts();
    let (link, mut seen) = match open_unlocked(&pages, &token, &req, "PageDownload").await {
        Ok(opened) => opened,
        Err(answered) => return answered,
    };
    let wanted = range_of(&req.headers);
    let pick = move |size: u64| wanted.and_then(|r| r.check(size).ok());
    let read = match pages.store.read(&link.bucket, &link.key, &pick).await {
        Ok(Some(read)) => read,
        Ok(None) => {
            seen.refused_as("NoSuchKey");
            let res = gone(StatusCode::NOT_FOUND, "The shared file is no longer there.");
            return answer(&pages.log, seen, res).await;
        }
        Err(err) => return answer(&pages.log, seen, unavailable(&err)).await,
    };
    if wanted.is_some() && read.range.is_none() {
        // A range the file cannot satisfy: never the whole file instead.
        seen.refused_as("InvalidRange");
        let mut res = gone(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "That part of the file does not exist.",
        );
        if let Ok(value) = http::HeaderValue::try_from(format!("bytes */{}", read.info.size)) {
            res.headers_mut().insert(header::CONTENT_RANGE, value);
        }
        return answer(&pages.log, seen, res).await;
    }
    // What counts, decided on the bytes about to be served: on a page with a limit, every
    // answer with bytes (a resumed download counts again); on a page without one, those that
    // start at the first byte (the count is then only shown). A HEAD sends no bytes.
    let from_start = read.range.as_ref().is_none_or(|r| r.start == 0);
    let counts = req.method != http::Method::HEAD && (link.max_downloads.is_some() || from_start);
    if counts {
        match pages::count_download(&pages.pool, &link.id).await {
            Ok(true) => {}
            Ok(false) => {
                seen.refused_as(LinkState::Exhausted.as_str());
                let res = gone(
                    StatusCode::GONE,
                    "This link has been used as many times as it allows.",
                );
                return answer(&pages.log, seen, res).await;
            }
            Err(err) => return answer(&pages.log, seen, unavailable(&err)).await,
        }
    }
    let content_type = plain_type(read.info.content_type.as_deref())
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let disposition = domain::links::attachment(&link.key);
    let mut res = crate::transfers::streamed(read, content_type, disposition);
    safe(res.headers_mut(), FILE_CSP);
    answer(&pages.log, seen, res).await
}

/// `GET /s/<token>/preview`: an image, audio or video file shown in the page, inline,
/// seekable, sandboxed. Not counted as a download (download-limited pages have no preview).
async fn preview(State(pages): State<Pages>, Path(token): Path<String>, req: Request) -> Response {
    let (req, _) = req.into_parts();
    let (link, mut seen) = match open_unlocked(&pages, &token, &req, "PagePreview").await {
        Ok(opened) => opened,
        Err(answered) => return answered,
    };
    let wanted = range_of(&req.headers);
    let pick = move |size: u64| wanted.and_then(|r| r.check(size).ok());
    let res = match pages.store.read(&link.bucket, &link.key, &pick).await {
        Ok(Some(read)) => match preview_of(&link, &read.info) {
            Some(Preview::Image | Preview::Audio | Preview::Video) => {
                let content_type =
                    plain_type(read.info.content_type.as_deref()).unwrap_or_default();
                let disposition =
                    domain::links::attachment(&link.key).replacen("attachment", "inline", 1);
                let mut res = crate::transfers::streamed(read, content_type, disposition);
                safe(res.headers_mut(), FILE_CSP);
                res
            }
            _ => {
                seen.refused_as("NoPreview");
                gone(StatusCode::NOT_FOUND, "This file has no preview.")
            }
        },
        Ok(None) => {
            seen.refused_as("NoSuchKey");
            gone(StatusCode::NOT_FOUND, "The shared file is no longer there.")
        }
        Err(err) => unavailable(&err),
    };
    answer(&pages.log, seen, res).await
}

/// How a page's file is shown in it: by its type, and never for a download-limited page.
fn preview_of(link: &Link, info: &domain::store::ObjectInfo) -> Option<Preview> {
    if link.max_downloads.is_some() {
        return None;
    }
    let plain = plain_type(info.content_type.as_deref())?;
    let markup = plain.contains("html") || plain.contains("xml") || plain.contains("script");
    Preview::of(Some(&plain))
        .filter(|kind| *kind != Preview::Pdf && !(markup && *kind == Preview::Text))
}

/// A stored content type reduced to one `type/subtype`, lowercase, without parameters: what
/// recipients' answers say. `None` for anything else (a list such as `video/mp4, text/html`,
/// which a browser would read as its last type).
fn plain_type(stored: Option<&str>) -> Option<String> {
    let essence = stored?.split(';').next()?.trim().to_ascii_lowercase();
    let (kind, sub) = essence.split_once('/')?;
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    (token(kind) && token(sub)).then_some(essence)
}

/// What the landing page shows of the file.
enum Shown {
    Nothing,
    /// An image, audio or video element over `/preview`.
    Media(Preview),
    /// The start of a text file, and whether there is more.
    Text(String, bool),
}

/// How much of a text file its page shows (escaped, it may take several times that).
const PREVIEW_TEXT_BYTES: u64 = 16 * 1024;

/// The first [`PREVIEW_TEXT_BYTES`] of a text file, for the page to show escaped.
async fn text_preview(pages: &Pages, link: &Link) -> Shown {
    let first = |size: u64| (size > PREVIEW_TEXT_BYTES).then_some(0..PREVIEW_TEXT_BYTES);
    let Ok(Some(read)) = pages.store.read(&link.bucket, &link.key, &first).await else {
        return Shown::Nothing;
    };
    let more = read.range.is_some();
    let mut bytes = Vec::new();
    let mut body = read.body;
    while let Some(Ok(chunk)) = futures_util::StreamExt::next(&mut body).await {
        bytes.extend_from_slice(&chunk);
        if bytes.len() as u64 >= PREVIEW_TEXT_BYTES {
            break;
        }
    }
    Shown::Text(String::from_utf8_lossy(&bytes).into_owned(), more)
}

/// [`open`], and then the password form (401) unless the page asks none or this request's
/// cookie keeps it open.
async fn open_unlocked(
    pages: &Pages,
    token: &str,
    req: &http::request::Parts,
    operation: &'static str,
) -> Result<(Link, Seen), Response> {
    let (link, mut seen) = open(pages, token, req, operation).await?;
    if unlocked(pages, &link, &req.headers).await {
        return Ok((link, seen));
    }
    seen.refused_as("PasswordRequired");
    let form = password_page(StatusCode::UNAUTHORIZED, None);
    Err(answer(&pages.log, seen, form).await)
}

/// The one `Range` a request asks for, as s3s reads it; `None` for none or one it cannot read.
fn range_of(headers: &HeaderMap) -> Option<s3s::dto::Range> {
    headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| s3s::dto::Range::parse(v).ok())
}

/// The password form's one field.
#[derive(serde::Deserialize)]
struct PasswordForm {
    password: String,
}

/// `POST /s/<token>`: a page's password. Right: the page opens (a cookie for its path, an
/// hour). Wrong: the form again, saying so; too many wrong ones from this address or for this
/// page: 429 for a while. Each attempt is an event of the link.
async fn unlock(State(pages): State<Pages>, Path(token): Path<String>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let (link, mut seen) = match open(&pages, &token, &parts, "PageUnlock").await {
        Ok(opened) => opened,
        Err(answered) => return answered,
    };
    if !link.password {
        // Nothing to unlock: no attempt is counted against this address.
        let res = (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/s/{token}"))],
        )
            .into_response();
        return answer(&pages.log, seen, res).await;
    }
    let form = match axum::body::to_bytes(body, 16 * 1024).await {
        Ok(bytes) => serde_urlencoded::from_bytes::<PasswordForm>(&bytes).ok(),
        Err(_) => None,
    };
    let Some(form) = form else {
        seen.refused_as("MalformedForm");
        let res = password_page(StatusCode::BAD_REQUEST, Some("Type the password."));
        return answer(&pages.log, seen, res).await;
    };
    let ip = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| pages.log.client_ip(c.0.ip(), &parts.headers))
        .unwrap_or_else(|| "-".to_owned());
    let password = zeroize::Zeroizing::new(form.password);
    let res = match pages::unlock(&pages.pool, &pages.master, &link, password, &ip).await {
        Ok(pages::Unlock::Open(cookie)) => {
            let secure = pages.live.read(|s| s.public_s3_url.starts_with("https://"));
            let mut res = (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, format!("/s/{token}"))],
            )
                .into_response();
            let value = format!(
                "{COOKIE}={cookie}; Path=/s/{token}; Max-Age={}; HttpOnly; SameSite=Lax{}",
                pages::UNLOCKED_SECS,
                if secure { "; Secure" } else { "" }
            );
            if let Ok(value) = http::HeaderValue::try_from(value) {
                res.headers_mut().insert(header::SET_COOKIE, value);
            }
            safe(res.headers_mut(), PAGE_CSP);
            res
        }
        Ok(pages::Unlock::Wrong) => {
            seen.refused_as("WrongPassword");
            password_page(StatusCode::UNAUTHORIZED, Some("Wrong password."))
        }
        Ok(pages::Unlock::Throttled(throttled)) => {
            seen.refused_as("Throttled");
            let minutes = throttled.retry_after_secs.div_ceil(60);
            let mut res = gone(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Too many wrong passwords. Try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                ),
            );
            if let Ok(value) = http::HeaderValue::try_from(throttled.retry_after_secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, value);
            }
            res
        }
        Err(err) => unavailable(&err),
    };
    answer(&pages.log, seen, res).await
}

/// The cookie a right password sets (for the page's path only).
const COOKIE: &str = "bucketshare_page";

/// Whether the page asks no password, or this request's cookie keeps it open.
async fn unlocked(pages: &Pages, link: &Link, headers: &HeaderMap) -> bool {
    if !link.password {
        return true;
    }
    let cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE);
    for (_, value) in cookies {
        match pages::unlocked(&pages.pool, &pages.master, link, value).await {
            Ok(true) => return true,
            Ok(false) => {}
            Err(err) => {
                tracing::error!(error = %err, "cannot check a share page's cookie");
                return false;
            }
        }
    }
    false
}

/// The password form of a page (`why`: what went wrong with the last attempt). It names
/// nothing of what is shared until the password is given.
fn password_page(status: StatusCode, why: Option<&str>) -> Response {
    let why = why
        .map(|w| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(w)))
        .unwrap_or_default();
    let body = format!(
        "<h1>A file shared with you</h1><p>This link asks for a password.</p>{why}\
         <form method=\"post\"><label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" required \
         autocomplete=\"current-password\" autofocus>\
         <button class=\"button\" type=\"submit\">Open</button></form>"
    );
    html(status, &frame("A file shared with you", &body))
}

/// Records a page's request (the audit event, and the link-use metric) with its answer, and
/// gives the answer back.
async fn answer(log: &AuditLog, seen: Seen, res: Response) -> Response {
    if let Some(outcome) = seen.link_outcome(res.status()) {
        domain::metrics::get().link_use(outcome);
    }
    seen.finish(log, res).await
}

/// The page `token` opens, if it works now, with its request noted for the audit; else the
/// answer, already given: a plain page that says why not (recorded against the page when there
/// is one), or 503 when the audit cannot keep up.
async fn open(
    pages: &Pages,
    token: &str,
    req: &http::request::Parts,
    operation: &'static str,
) -> Result<(Link, Seen), Response> {
    let link = match pages::open(&pages.pool, token).await {
        Ok(Some(link)) => link,
        Ok(None) => return Err(gone(StatusCode::NOT_FOUND, "There is no such page.")),
        Err(err) => return Err(unavailable(&err)),
    };
    let mut seen = Seen::page(req, &pages.log, &link, operation);
    if let Some(place) = seen.place()
        && place.take().await.is_err()
    {
        return Err(answer(&pages.log, seen, busy()).await);
    }
    let (status, why) = match link.state {
        LinkState::Active => return Ok((link, seen)),
        LinkState::Revoked => (StatusCode::GONE, "This link has been revoked."),
        LinkState::Expired => (StatusCode::GONE, "This link has expired."),
        LinkState::Exhausted => (
            StatusCode::GONE,
            "This link has been used as many times as it allows.",
        ),
        _ => (StatusCode::NOT_FOUND, "This file is no longer shared."),
    };
    seen.refused_as(link.state.as_str());
    Err(answer(&pages.log, seen, gone(status, why)).await)
}

/// Headers every recipient's answer carries: nothing it holds runs on this origin, no page
/// frames it, and the token in its address goes to no other site. `csp` is the answer's
/// Content-Security-Policy: [`PAGE_CSP`] for our pages, [`FILE_CSP`] for a file's bytes.
fn safe(headers: &mut HeaderMap, csp: &'static str) {
    let mut set = |name: header::HeaderName, value: &'static str| {
        headers.insert(name, http::HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::CACHE_CONTROL, "private, no-store");
    set(header::CONTENT_SECURITY_POLICY, csp);
}

/// Our own pages: no script, no other resources, inline style only. (Not `sandbox`: a
/// sandboxed page could not start its download.)
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
                        media-src 'self'; frame-ancestors 'none'; \
                        form-action 'self'; base-uri 'none'";

/// A file's bytes: should a browser show them rather than save them, they run nothing.
const FILE_CSP: &str = "sandbox; default-src 'none'; frame-ancestors 'none'";

fn html(status: StatusCode, body: &str) -> Response {
    let mut res = (status, body.to_owned()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    safe(res.headers_mut(), PAGE_CSP);
    res
}

/// A plain page saying why there is nothing here.
fn gone(status: StatusCode, why: &str) -> Response {
    html(status, &frame(why, &format!("<h1>{}</h1>", escape(why))))
}

fn busy() -> Response {
    gone(
        StatusCode::SERVICE_UNAVAILABLE,
        "The server is busy. Try again in a moment.",
    )
}

fn unavailable(err: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %err, "share page failed");
    gone(
        StatusCode::SERVICE_UNAVAILABLE,
        "The file cannot be reached right now. Try again in a moment.",
    )
}

/// The landing page of a file.
fn landing_page(
    token: &str,
    link: &Link,
    info: &domain::store::ObjectInfo,
    shown: &Shown,
) -> String {
    let name = link.key.rsplit('/').next().unwrap_or(&link.key);
    let expires = if link.expires_at == pages::NEVER {
        "Works until it is revoked.".to_owned()
    } else {
        format!("Works until {} (UTC).", date(link.expires_at))
    };
    let limit = match link.max_downloads {
        Some(max) => {
            let left = (max - link.downloads).max(0);
            format!(
                "<p>{left} download{} left.</p>",
                if left == 1 { "" } else { "s" }
            )
        }
        None => String::new(),
    };
    let note = link
        .note
        .as_deref()
        .map(|n| format!("<blockquote>{}</blockquote>", escape(n)))
        .unwrap_or_default();
    let src = format!("/s/{}/preview", escape(token));
    let shown = match shown {
        Shown::Nothing => String::new(),
        Shown::Media(Preview::Image) => {
            format!(
                "<img class=\"preview\" src=\"{src}\" alt=\"{}\">",
                escape(name)
            )
        }
        Shown::Media(Preview::Audio) => {
            format!("<audio class=\"preview\" controls preload=\"metadata\" src=\"{src}\"></audio>")
        }
        Shown::Media(_) => {
            format!("<video class=\"preview\" controls preload=\"metadata\" src=\"{src}\"></video>")
        }
        Shown::Text(text, more) => format!(
            "<pre class=\"preview\">{}</pre>{}",
            escape(text),
            if *more {
                "<p class=\"small\">The start of the file: download it for the rest.</p>"
            } else {
                ""
            }
        ),
    };
    let body = format!(
        "<h1>{name}</h1>{note}{shown}<dl><dt>Size</dt><dd>{size}</dd><dt>Type</dt><dd>{kind}</dd>\
         <dt>Modified</dt><dd>{modified} (UTC)</dd></dl>\
         <p><a class=\"button\" href=\"/s/{token}/download\" download>Download</a></p>\
         <p class=\"small\">{expires}</p>{limit}",
        name = escape(name),
        size = human_size(info.size),
        kind = escape(info.content_type.as_deref().unwrap_or("unknown")),
        modified = date(info.last_modified),
        token = escape(token),
    );
    frame(name, &body)
}

/// A whole page around `body`: small, without script, readable at phone width.
fn frame(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><main>{body}</main><footer>Shared with bucketshare</footer></body></html>",
        title = escape(title),
    )
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}\
main{box-sizing:border-box;width:min(40rem,calc(100% - 2rem));margin:2rem auto;padding:1.5rem;background:#fff;border-radius:8px;\
box-shadow:0 1px 3px #0002;overflow-wrap:anywhere}h1{font-size:1.4rem;margin:0 0 1rem}\
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}dt{color:#57606a}dd{margin:0}\
blockquote{margin:0 0 1rem;padding:.5rem 1rem;border-left:4px solid #0969da;background:#f0f6ff;\
white-space:pre-wrap}.button{display:inline-block;padding:.6rem 1.2rem;background:#0969da;\
color:#fff;border-radius:6px;text-decoration:none;font-weight:600}.button:focus{outline:3px solid #0969da55}\
.small{color:#57606a;font-size:.9rem}.preview{display:block;max-width:100%;max-height:70vh;margin:0 0 1rem;\
border-radius:6px}pre.preview{overflow:auto;background:#f6f8fa;padding:.75rem;font-size:.85rem;white-space:pre-wrap}form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}\
label{width:100%;font-weight:600}input{flex:1;min-width:10rem;font:inherit;padding:.5rem;border:1px solid #8c959f;\
border-radius:6px}button{border:0;cursor:pointer;font:inherit}.error{color:#cf222e;font-weight:600}footer{text-align:center;color:#57606a;font-size:.8rem;margin:1rem}\
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}main{background:#161b22}\
dt,.small,footer{color:#8d96a0}blockquote{background:#0d2440}pre.preview{background:#0d1117}}";

/// `2026-11-30 14:05` for Unix seconds, UTC.
fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_keys_and_notes_cannot_open_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn only_a_host_under_the_domain_names_a_bucket() {
        let host = |h: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, h.parse().unwrap());
            headers
        };
        let domain = Some("s3.example.com");
        assert!(names_a_bucket(&host("photos.s3.example.com"), domain));
        assert!(names_a_bucket(&host("photos.s3.example.com:9000"), domain));
        assert!(!names_a_bucket(&host("s3.example.com"), domain));
        assert!(!names_a_bucket(&host("evils3.example.com"), domain));
        assert!(!names_a_bucket(&host("photos.s3.example.com"), None));
    }

    #[test]
    fn dates_are_utc_minutes() {
        assert_eq!(date(0), "1970-01-01 00:00");
        assert_eq!(date(pages::NEVER), "9999-12-31 23:59");
    }
}
