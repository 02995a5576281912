//! Share pages for their recipients, on the S3 listener (the address recipients already
//! reach; bucket names have at least 3 characters, so `/s/` is never a path-style bucket):
//!
//! - `GET /s/<token>`: the landing page: the file's name, size, type and date, when the page
//!   stops working, the sharer's note, and a download button; for a folder page, its folders
//!   and files, each downloadable, and **Download all**;
//! - `GET /s/<token>/download`: the bytes, as an attachment, with one `Range` honoured;
//! - `GET /s/<token>/zip`: a folder page's files as one zip, streamed as it is read
//!   ([`zip`]);
//! - `GET /s/<token>/preview`: the bytes shown in the page, for images, audio and video
//!   (seekable: `Range` honoured), under a sandboxing policy, and PDF (in a frame of the page,
//!   shown by the browser's viewer, which a sandbox would stop); text is shown in the page
//!   itself (its first 16 KiB, escaped; not HTML, XML or scripts). Nothing else is previewed
//!   (HTML, SVG and anything unknown only download), nor the files of download-limited pages
//!   (a preview does not count as a download, so it must not give the file away);
//! - on a folder page, each of those takes `?path=`: a file or folder (`…/`) in the folder,
//!   relative to it (the key is the folder's prefix followed by the path, so nothing outside
//!   it can be named);
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
//! count nothing. A folder's zip counts as one download; so does each file downloaded from a
//! folder page.

use std::sync::Arc;

use app::buckets::Preview;
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
use html::{
    FILE_CSP, PAGE_CSP, PDF_CSP, Shown, busy, gone, html, password_page, safe, unavailable,
};

mod html;
mod upload;
mod zip;

/// What the recipients' pages need.
#[derive(Clone)]
pub struct Pages {
    pub pool: domain::db::Pool,
    pub store: Arc<dyn ObjectStore>,
    pub log: AuditLog,
    /// Seals the cookie a right password sets.
    pub master: Arc<domain::secrets::MasterKey>,
    /// Whether the public URL is https (the cookie is then `Secure`), and the sharing policy.
    pub live: domain::settings::Live,
    /// Zips being written now, at most [`MAX_ZIPS`].
    pub zips: Arc<tokio::sync::Semaphore>,
    /// Files of upload pages' plain forms held in memory now, at most [`MAX_FORM_FILES`].
    pub forms: Arc<tokio::sync::Semaphore>,
}

/// Files of upload pages' plain forms (each up to 32 MiB) held in memory at once; more are
/// refused, asking to send again.
pub const MAX_FORM_FILES: usize = 8;

/// Folder zips written at once; more wait for one to end (503 with `Retry-After`). Each holds a
/// few chunks of the files it reads.
pub const MAX_ZIPS: usize = 32;

/// The S3 router with the share pages in front: a request for `/s/…` is a page's, unless it
/// names a bucket by its host (`BUCKET.DOMAIN/s/…` is the object `s/…` of that bucket).
pub fn with_pages(s3: Router, pages: Pages, domain: Option<Arc<str>>) -> Router {
    let pages = Router::new()
        .route("/s/{token}", get(landing).post(unlock))
        .route("/s/{token}/download", get(download))
        .route("/s/{token}/preview", get(preview))
        .route("/s/{token}/zip", get(zip))
        .route("/s/{token}/upload.js", get(upload::script))
        .route("/s/{token}/files", axum::routing::post(upload::form))
        .route("/s/{token}/uploads", axum::routing::post(upload::offer))
        .route(
            "/s/{token}/uploads/{id}",
            get(upload::status).delete(upload::cancel),
        )
        .route(
            "/s/{token}/uploads/{id}/done",
            axum::routing::post(upload::done),
        )
        .route(
            "/s/{token}/uploads/{id}/{part}",
            axum::routing::put(upload::part),
        )
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

/// What a request to a page is for: the page's file, or within a folder page, a file or a
/// folder (a key, never outside the page's prefix: it is the prefix followed by `path`).
enum Target {
    File(String),
    Folder(String),
}

/// The query a page's addresses take: `path`, a file or folder (`…/`) within a folder page,
/// and `after`, where a folder's listing goes on.
#[derive(serde::Deserialize, Default)]
struct PageQuery {
    path: Option<String>,
    after: Option<String>,
}

/// The query of `req`, read once as serde reads forms (a repeated or malformed parameter is
/// refused, never read twice).
fn query_of(req: &http::request::Parts) -> Option<PageQuery> {
    serde_urlencoded::from_str(req.uri.query().unwrap_or("")).ok()
}

/// What `query` names of page `link`; `None` for nothing it shares (a `path` on a file page).
fn target(link: &Link, query: &PageQuery) -> Option<Target> {
    let path = query.path.as_deref().unwrap_or("");
    if link.is_upload() {
        // Nothing in an upload page's folder can be read through it.
        return None;
    }
    if !link.is_folder() {
        return path.is_empty().then(|| Target::File(link.key.clone()));
    }
    let key = format!("{}{path}", link.key);
    Some(if pages::is_folder(&key) {
        Target::Folder(key)
    } else {
        Target::File(key)
    })
}

/// A page opened for `operation`, and what in it the request names; else the answer, given.
async fn open_target(
    pages: &Pages,
    token: &str,
    req: &http::request::Parts,
    operation: &'static str,
) -> Result<(Link, Seen, Target, PageQuery), Response> {
    let opened = open_unlocked(pages, token, req, operation).await?;
    aim(pages, req, opened).await
}

/// What in an opened page the request names; else the answer, given.
async fn aim(
    pages: &Pages,
    req: &http::request::Parts,
    (link, mut seen): (Link, Seen),
) -> Result<(Link, Seen, Target, PageQuery), Response> {
    let Some(query) = query_of(req) else {
        seen.refused_as("MalformedQuery");
        let res = gone(StatusCode::BAD_REQUEST, "This address is malformed.");
        return Err(answer(&pages.log, seen, res).await);
    };
    match target(&link, &query) {
        Some(target) => {
            let (Target::File(key) | Target::Folder(key)) = &target;
            seen.on_key(key);
            Ok((link, seen, target, query))
        }
        None => {
            seen.refused_as("NoSuchKey");
            let res = gone(StatusCode::NOT_FOUND, "There is no such file here.");
            Err(answer(&pages.log, seen, res).await)
        }
    }
}

/// `GET /s/<token>`: what is shared, and a download button; for a folder page, its files and
/// folders (`?path=` within it), or one file of it.
async fn landing(State(pages): State<Pages>, Path(token): Path<String>, req: Request) -> Response {
    let (req, _) = req.into_parts();
    let opened = match open_unlocked(&pages, &token, &req, "PageView").await {
        Ok((link, seen)) if link.is_upload() => {
            return match upload::accept(&pages, link, seen).await {
                Ok((link, seen)) => answer(&pages.log, seen, upload::page(&token, &link)).await,
                Err(answered) => answered,
            };
        }
        Ok(opened) => aim(&pages, &req, opened).await,
        Err(answered) => return answered,
    };
    let (link, mut seen, target, query) = match opened {
        Ok(opened) => opened,
        Err(answered) => return answered,
    };
    let key = match target {
        Target::File(key) => key,
        Target::Folder(prefix) => {
            let after = query.after.as_deref().unwrap_or("");
            let res = match pages
                .store
                .list(&link.bucket, &prefix, after, FOLDER_PAGE)
                .await
            {
                Ok(listing) => html(
                    StatusCode::OK,
                    &html::folder_page(&token, &link, &prefix, &listing),
                ),
                Err(err) => unavailable(&err),
            };
            return answer(&pages.log, seen, res).await;
        }
    };
    let res = match pages.store.object(&link.bucket, &key).await {
        Ok(Some(info)) => {
            let shown = match preview_of(&link, &info) {
                Some(Preview::Text) => text_preview(&pages, &link.bucket, &key).await,
                Some(kind) => Shown::Media(kind),
                None => Shown::Nothing,
            };
            html(
                StatusCode::OK,
                &html::landing_page(&token, &link, &info, &shown),
            )
        }
        Ok(None) => {
            seen.refused_as("NoSuchKey");
            gone(StatusCode::NOT_FOUND, "The shared file is no longer there.")
        }
        Err(err) => unavailable(&err),
    };
    answer(&pages.log, seen, res).await
}

/// Entries of a folder page's listing shown at once (a link leads to the next ones).
const FOLDER_PAGE: usize = 200;

/// A page opened for `operation` on one of its files (the page's, or one in its folder): the
/// file's key; else the answer, given (a folder is not a file).
async fn open_file(
    pages: &Pages,
    token: &str,
    req: &http::request::Parts,
    operation: &'static str,
) -> Result<(Link, Seen, String), Response> {
    match open_target(pages, token, req, operation).await? {
        (link, seen, Target::File(key), _) => Ok((link, seen, key)),
        (_, mut seen, Target::Folder(_), _) => {
            seen.refused_as("NoSuchKey");
            let res = gone(StatusCode::NOT_FOUND, "That is a folder, not a file.");
            Err(answer(&pages.log, seen, res).await)
        }
    }
}

/// `GET /s/<token>/download`: the bytes, counted against the page's download limit.
async fn download(State(pages): State<Pages>, Path(token): Path<String>, req: Request) -> Response {
    let (req, _) = req.into_parts();
    let (link, mut seen, key) = match open_file(&pages, &token, &req, "PageDownload").await {
        Ok(opened) => opened,
        Err(answered) => return answered,
    };
    let wanted = range_of(&req.headers);
    let pick = move |size: u64| wanted.and_then(|r| r.check(size).ok());
    let read = match pages.store.read(&link.bucket, &key, &pick).await {
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
    if let Err(refused) = count(&pages, &link, &req, from_start, &mut seen).await {
        return answer(&pages.log, seen, refused).await;
    }
    let content_type = plain_type(read.info.content_type.as_deref())
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let disposition = domain::links::attachment(&key);
    let mut res = crate::transfers::streamed(read, content_type, disposition);
    safe(res.headers_mut(), FILE_CSP);
    answer(&pages.log, seen, res).await
}

/// Counts a download of `link` if this answer is one (`from_start`: it sends the first byte;
/// a page with a limit counts every answer with bytes). `Err`: the answer instead, the limit
/// being reached (or the count failing).
async fn count(
    pages: &Pages,
    link: &Link,
    req: &http::request::Parts,
    from_start: bool,
    seen: &mut Seen,
) -> Result<(), Response> {
    let counts = req.method != http::Method::HEAD && (link.max_downloads.is_some() || from_start);
    if !counts {
        return Ok(());
    }
    match pages::count_download(&pages.pool, &link.id).await {
        Ok(pages::Counted::Yes) => Ok(()),
        Ok(pages::Counted::Last) => {
            seen.last_use();
            Ok(())
        }
        Ok(pages::Counted::Refused) => {
            seen.refused_as(LinkState::Exhausted.as_str());
            Err(gone(
                StatusCode::GONE,
                "This link has been used as many times as it allows.",
            ))
        }
        Err(err) => Err(unavailable(&err)),
    }
}

/// `GET /s/<token>/preview`: an image, audio or video file shown in the page, inline,
/// seekable, sandboxed. Not counted as a download (download-limited pages have no preview).
async fn preview(State(pages): State<Pages>, Path(token): Path<String>, req: Request) -> Response {
    let (req, _) = req.into_parts();
    let (link, mut seen, key) = match open_file(&pages, &token, &req, "PagePreview").await {
        Ok(opened) => opened,
        Err(answered) => return answered,
    };
    let wanted = range_of(&req.headers);
    let pick = move |size: u64| wanted.and_then(|r| r.check(size).ok());
    let res = match pages.store.read(&link.bucket, &key, &pick).await {
        Ok(Some(read)) => match preview_of(&link, &read.info) {
            Some(kind @ (Preview::Image | Preview::Audio | Preview::Video | Preview::Pdf)) => {
                let content_type =
                    plain_type(read.info.content_type.as_deref()).unwrap_or_default();
                let disposition =
                    domain::links::attachment(&key).replacen("attachment", "inline", 1);
                let mut res = crate::transfers::streamed(read, content_type, disposition);
                if kind == Preview::Pdf {
                    // Chromium's PDF viewer shows no sandboxed document; a PDF's own script
                    // runs in the viewer, never on this origin. Framed by its page only.
                    safe(res.headers_mut(), PDF_CSP);
                    res.headers_mut().insert(
                        header::X_FRAME_OPTIONS,
                        http::HeaderValue::from_static("SAMEORIGIN"),
                    );
                } else {
                    safe(res.headers_mut(), FILE_CSP);
                }
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

/// `GET /s/<token>/zip`: a folder page's files (or those under `?path=`) as one zip, written
/// as it is sent. It counts as one download.
async fn zip(State(pages): State<Pages>, Path(token): Path<String>, req: Request) -> Response {
    let (req, _) = req.into_parts();
    let (link, mut seen, target, _) = match open_target(&pages, &token, &req, "PageZip").await {
        Ok(opened) => opened,
        Err(answered) => return answered,
    };
    let Target::Folder(prefix) = target else {
        seen.refused_as("NoSuchKey");
        let res = gone(
            StatusCode::NOT_FOUND,
            "This page shares one file, not a folder.",
        );
        return answer(&pages.log, seen, res).await;
    };
    // A folder with nothing in it (or a sub-folder that is not there) is no download.
    match pages.store.walk(&link.bucket, &prefix, "", 1).await {
        Ok(files) if files.is_empty() => {
            seen.refused_as("NoSuchKey");
            let res = gone(StatusCode::NOT_FOUND, "There is nothing to download here.");
            return answer(&pages.log, seen, res).await;
        }
        Ok(_) => {}
        Err(err) => return answer(&pages.log, seen, unavailable(&err)).await,
    }
    let Ok(permit) = pages.zips.clone().try_acquire_owned() else {
        let mut res = gone(
            StatusCode::SERVICE_UNAVAILABLE,
            "Many folders are being downloaded right now. Try again in a minute.",
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, http::HeaderValue::from_static("60"));
        return answer(&pages.log, seen, res).await;
    };
    if let Err(refused) = count(&pages, &link, &req, true, &mut seen).await {
        return answer(&pages.log, seen, refused).await;
    }
    let name = html::folder_name(&link.bucket, &prefix);
    let body = if req.method == http::Method::HEAD {
        axum::body::Body::empty()
    } else {
        let job = zip::Job {
            store: pages.store.clone(),
            pool: pages.pool.clone(),
            link: link.id.clone(),
            bucket: link.bucket.clone(),
            prefix,
            permit,
        };
        axum::body::Body::from_stream(zip::archive(job))
    };
    let mut res = Response::new(body);
    res.extensions_mut().insert(crate::transfers::Uncompressed);
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/zip"),
    );
    if let Ok(value) =
        http::HeaderValue::try_from(domain::links::attachment(&format!("{name}.zip")))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    safe(headers, FILE_CSP);
    answer(&pages.log, seen, res).await
}

/// How a page's file is shown in it: by its type, and never for a download-limited page.
fn preview_of(link: &Link, info: &domain::store::ObjectInfo) -> Option<Preview> {
    if link.max_downloads.is_some() {
        return None;
    }
    let plain = plain_type(info.content_type.as_deref())?;
    let markup = plain.contains("html") || plain.contains("xml") || plain.contains("script");
    Preview::of(Some(&plain)).filter(|kind| !(markup && *kind == Preview::Text))
}

/// A stored content type as recipients' answers say it ([`domain::store::plain_type`]).
fn plain_type(stored: Option<&str>) -> Option<String> {
    stored.and_then(domain::store::plain_type)
}

/// How much of a text file its page shows (escaped, it may take several times that).
const PREVIEW_TEXT_BYTES: u64 = 16 * 1024;

/// The first [`PREVIEW_TEXT_BYTES`] of a text file, for the page to show escaped.
async fn text_preview(pages: &Pages, bucket: &str, key: &str) -> Shown {
    let first = |size: u64| (size > PREVIEW_TEXT_BYTES).then_some(0..PREVIEW_TEXT_BYTES);
    let Ok(Some(read)) = pages.store.read(bucket, key, &first).await else {
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
        LinkState::Active if link.is_folder() && !pages.live.read(|s| s.folder_pages) => {
            seen.refused_as("FolderPagesOff");
            let res = gone(StatusCode::GONE, "Folder pages are turned off here.");
            return Err(answer(&pages.log, seen, res).await);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_folder_page_names_only_keys_under_its_prefix() {
        let link = |key: &str| Link {
            key: key.to_owned(),
            kind: domain::links::LinkKind::Page,
            ..serde_json::from_value(serde_json::json!({
                "id": "L", "bucket": "b", "key": "", "method": "GET", "user": null,
                "access_key_id": "", "created_by": "a", "created_at": 0, "expires_at": 1,
                "revoked_at": null, "revoked_by": null, "label": null, "access_count": 0,
                "bytes_served": 0, "last_access_at": null, "state": "active", "kind": "page",
                "max_downloads": null, "downloads": 0, "note": null, "password": false
            }))
            .unwrap()
        };
        let at = |link: &Link, path: Option<&str>| {
            let query = PageQuery {
                path: path.map(str::to_owned),
                after: None,
            };
            match target(link, &query) {
                Some(Target::File(key)) => format!("file {key}"),
                Some(Target::Folder(key)) => format!("folder {key}"),
                None => "none".to_owned(),
            }
        };
        let folder = link("docs/");
        assert_eq!(at(&folder, None), "folder docs/");
        assert_eq!(at(&folder, Some("a/")), "folder docs/a/");
        assert_eq!(at(&folder, Some("a/b.txt")), "file docs/a/b.txt");
        // `..` is a key's text, not a way up: still under the prefix.
        assert_eq!(at(&folder, Some("../x")), "file docs/../x");
        let file = link("docs/a.txt");
        assert_eq!(at(&file, None), "file docs/a.txt");
        assert_eq!(at(&file, Some("")), "file docs/a.txt");
        assert_eq!(at(&file, Some("b.txt")), "none");
    }
}
