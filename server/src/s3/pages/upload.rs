//! Upload pages for their recipients ([`domain::links::uploads`]): a page where people without
//! an account drop files into the page's folder.
//!
//! - `GET /s/<token>`: the page: what it takes (its limits), a name field if it asks one, and a
//!   form that works without script (`POST /s/<token>/files`, small files), which the page's
//!   script ([`SCRIPT`], `GET /s/<token>/upload.js`) turns into drag and drop with a progress
//!   bar per file and overall, sending large files in parts that survive a dropped connection;
//! - the script's calls, JSON: `POST /s/<token>/uploads` offers a file (name, size, type, the
//!   uploader's name) and reserves its place, or is refused naming the limit, before any byte
//!   is sent; `PUT …/uploads/<id>/<n>` sends part `n`; `GET …/uploads/<id>` says which parts
//!   arrived (to resume); `POST …/uploads/<id>/done` makes the object; `DELETE …/uploads/<id>`
//!   gives it up.
//!
//! Every request opens the page again (its state, its user's write grant on the folder, its
//! password cookie), as every page request does. Nothing here lists or reads the folder: the
//! only thing a recipient learns is the name their own file was stored under.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use domain::links::uploads::{self, Offer, PageUpload, Refused};
use domain::links::{Link, pages};
use domain::store::Target;
use http::{StatusCode, header};

use super::html::{self, PAGE_CSP, frame, safe};
use super::{Pages, answer, open_unlocked};
use crate::s3::audit::Seen;

/// The page's script: drag and drop, progress, parts, resuming.
pub(super) const SCRIPT: &str = include_str!("upload.js");

/// The upload page's own policy: its script (from this origin) may call this origin.
const UPLOAD_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                          style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; \
                          base-uri 'none'";

/// The largest file the plain form (without script) takes: it is held in memory while it
/// is checked and stored.
pub(super) const FORM_FILE: i64 = 32 << 20;

/// `GET /s/<token>/upload.js`: the same script for every page (it names no page).
pub(super) async fn script() -> Response {
    let mut res = SCRIPT.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    safe(res.headers_mut(), UPLOAD_CSP);
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("public, max-age=300"),
    );
    res
}

/// The page itself (`GET /s/<token>` of an upload page).
pub(super) fn page(token: &str, link: &Link) -> Response {
    let mut res = html::html(StatusCode::OK, &page_html(token, link, None));
    safe(res.headers_mut(), UPLOAD_CSP);
    res
}

/// What the page says it takes.
fn terms_text(link: &Link) -> Vec<String> {
    let t = &link.upload;
    let mut said = Vec::new();
    if let Some(max) = t.max_file {
        said.push(format!("Files up to {} each.", uploads::human_bytes(max)));
    }
    if let Some(max) = t.max_files {
        let left = (max - t.files).max(0);
        said.push(format!(
            "At most {max} file{} ({left} left).",
            if max == 1 { "" } else { "s" }
        ));
    }
    if let Some(max) = t.max_total {
        said.push(format!(
            "At most {} in all ({} left).",
            uploads::human_bytes(max),
            uploads::human_bytes((max - t.bytes).max(0))
        ));
    }
    if let Some(types) = &t.types {
        said.push(format!("Only {}.", types.replace(',', ", ")));
    }
    said
}

fn page_html(token: &str, link: &Link, result: Option<&str>) -> String {
    let esc = app::components::escape;
    let note = link
        .note
        .as_deref()
        .map(|n| format!("<blockquote>{}</blockquote>", esc(n)))
        .unwrap_or_default();
    let terms: String = terms_text(link)
        .iter()
        .map(|t| format!("<li>{}</li>", esc(t)))
        .collect();
    let accept = link
        .upload
        .types
        .as_deref()
        .map(|t| format!(" accept=\"{}\"", esc(t)))
        .unwrap_or_default();
    let name_field = if link.upload.ask_name {
        "<label for=\"uploader\">Your name or e-mail address</label>\
         <input id=\"uploader\" name=\"uploader\" required maxlength=\"200\" autocomplete=\"email\">"
    } else {
        "<label for=\"uploader\">Your name (optional)</label>\
         <input id=\"uploader\" name=\"uploader\" maxlength=\"200\" autocomplete=\"name\">"
    };
    let result = result.unwrap_or_default();
    let body = format!(
        "<h1>Send files</h1>{note}\
         <p>Files you send here are delivered to whoever shared this page. You cannot see \
         what others sent, and nothing you send replaces another file.</p>\
         <ul class=\"small\">{terms}<li>{until}</li></ul>{result}\
         <form id=\"upload\" method=\"post\" action=\"/s/{token}/files\" enctype=\"multipart/form-data\" \
         data-token=\"{token}\" data-form-max=\"{FORM_FILE}\">\
         {name_field}\
         <label for=\"files\">Files</label>\
         <div class=\"drop\" id=\"drop\"><input type=\"file\" id=\"files\" name=\"file\" multiple{accept}>\
         <p class=\"small\" id=\"drop-hint\">Without JavaScript, files of up to {form_max} each.</p></div>\
         <button class=\"button\" type=\"submit\" id=\"send\">Upload</button></form>\
         <div id=\"overall\" hidden><progress id=\"overall-bar\" max=\"1\" value=\"0\"></progress>\
         <p class=\"small\" id=\"overall-text\" role=\"status\" aria-live=\"polite\"></p></div>\
         <ul id=\"queue\" class=\"queue\"></ul>\
         <script src=\"/s/{token}/upload.js\" defer></script>",
        token = esc(token),
        until = esc(&until(link)),
        form_max = uploads::human_bytes(FORM_FILE),
    );
    frame("Send files", &body).replace("</style>", UPLOAD_STYLE)
}

fn until(link: &Link) -> String {
    if link.expires_at == pages::NEVER {
        "Takes files until it is revoked.".to_owned()
    } else {
        format!("Takes files until {} (UTC).", html::date(link.expires_at))
    }
}

const UPLOAD_STYLE: &str = ".drop{width:100%;box-sizing:border-box;border:2px dashed #8c959f;border-radius:8px;\
padding:1rem;text-align:center}.drop.over{border-color:#0969da;background:#f0f6ff}.drop input{width:100%;border:0}\
.queue{list-style:none;padding:0}.queue li{margin:.5rem 0;overflow-wrap:anywhere}.queue progress,#overall progress{width:100%}\
.done{color:#1a7f37;font-weight:600}.refused{color:#cf222e;font-weight:600}</style>";

/// A refusal as the script reads it: JSON with the message (the limit named), and `code` the
/// reason the request is recorded with.
fn refuse(
    seen: &mut Seen,
    status: StatusCode,
    code: &'static str,
    message: impl Into<String>,
) -> Response {
    seen.refused_as(code);
    let json = serde_json::json!({ "code": code, "error": message.into() });
    let mut res = (status, Json(json)).into_response();
    safe(res.headers_mut(), PAGE_CSP);
    res
}

fn ok_json(status: StatusCode, value: serde_json::Value) -> Response {
    let mut res = (status, Json(value)).into_response();
    safe(res.headers_mut(), PAGE_CSP);
    res
}

/// An upload page opened for `operation`; else the answer, given (a page that takes no files
/// answers 404, as for a name that is not a page).
async fn open_upload(
    pages: &Pages,
    token: &str,
    req: &http::request::Parts,
    operation: &'static str,
) -> Result<(Link, Seen), Response> {
    let opened = open_unlocked(pages, token, req, operation).await?;
    accept(pages, opened.0, opened.1).await
}

/// An opened page, if it is an upload page and upload pages are on; else the answer, given.
pub(super) async fn accept(
    pages: &Pages,
    link: Link,
    mut seen: Seen,
) -> Result<(Link, Seen), Response> {
    if !link.is_upload() {
        seen.refused_as("NotUploadPage");
        let res = html::gone(StatusCode::NOT_FOUND, "This page takes no files.");
        return Err(answer(&pages.log, seen, res).await);
    }
    if !pages.live.read(|s| s.upload_pages) {
        seen.refused_as("UploadPagesOff");
        let res = html::gone(StatusCode::GONE, "Upload pages are turned off here.");
        return Err(answer(&pages.log, seen, res).await);
    }
    Ok((link, seen))
}

fn client_ip(pages: &Pages, req: &http::request::Parts) -> Option<String> {
    req.extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| pages.log.client_ip(c.0.ip(), &req.headers))
}

/// What the script offers: a file's name and size, and who sends it. (A `type` it sends is
/// ignored: a file is typed by its name.)
#[derive(serde::Deserialize)]
struct OfferJson {
    name: String,
    size: i64,
    #[serde(default)]
    uploader: Option<String>,
}

/// The longest key S3 takes, in bytes.
const MAX_KEY_BYTES: usize = 1024;

/// Why a file got no place.
enum NotReserved {
    Refused(Refused),
    Failed(domain::Error),
}

/// The status a refusal answers with.
fn refused_status(code: &str) -> StatusCode {
    match code {
        "TooLarge" | "TotalExceeded" => StatusCode::PAYLOAD_TOO_LARGE,
        "TypeNotAllowed" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "TooManyFiles" | "NameTaken" => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Checks an offer against the page's limits and reserves its place and name: the first of
/// the file's possible keys that no other upload reserved (the database decides, so racing
/// uploads of one name each get their own) and that holds no object put there otherwise.
async fn reserve(pages: &Pages, link: &Link, offer: &Offer<'_>) -> Result<PageUpload, NotReserved> {
    let checked = uploads::check_offer(&link.upload, offer).map_err(NotReserved::Refused)?;
    let mut keys = uploads::candidates(&link.key, &uploads::today(), &checked.name);
    // S3 keys are at most 1,024 bytes; the longest candidate must fit.
    if keys.iter().any(|k| k.len() > MAX_KEY_BYTES) {
        return Err(NotReserved::Refused(Refused {
            code: "BadName",
            message: format!(
                "“{}” is too long a name for this folder; shorten it.",
                checked.name
            ),
        }));
    }
    loop {
        let upload = match uploads::begin(&pages.pool, link, &checked, offer.client_ip, &keys).await
        {
            Ok(Ok(upload)) => upload,
            Ok(Err(refused)) => return Err(NotReserved::Refused(refused)),
            Err(err) => return Err(NotReserved::Failed(err)),
        };
        match pages.store.object(&link.bucket, &upload.key).await {
            Ok(None) => return Ok(upload),
            Ok(Some(_)) => {
                // Someone wrote that key without the page: leave it, take the next.
                let _ = uploads::abandon(&pages.pool, &upload).await;
                keys.retain(|k| *k != upload.key);
            }
            Err(err) => {
                let _ = uploads::abandon(&pages.pool, &upload).await;
                return Err(NotReserved::Failed(err));
            }
        }
    }
}

/// `POST /s/<token>/uploads`: a file offered by the script. 201 with its id, the name it is
/// stored under, its part size and count; or refused naming the limit.
pub(super) async fn offer(
    State(pages): State<Pages>,
    Path(token): Path<String>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let (link, mut seen) = match open_upload(&pages, &token, &parts, "PageUploadStart").await {
        Ok(opened) => opened,
        Err(answered) => return answered,
    };
    let offered = match axum::body::to_bytes(body, 16 * 1024).await {
        Ok(bytes) => serde_json::from_slice::<OfferJson>(&bytes).ok(),
        Err(_) => None,
    };
    let Some(offered) = offered else {
        let res = refuse(
            &mut seen,
            StatusCode::BAD_REQUEST,
            "MalformedOffer",
            "The file's name and size are needed.",
        );
        return answer(&pages.log, seen, res).await;
    };
    let ip = client_ip(&pages, &parts);
    let offer = Offer {
        name: &offered.name,
        size: offered.size,
        uploader: offered.uploader.as_deref(),
        client_ip: ip.as_deref(),
    };
    let upload = match reserve(&pages, &link, &offer).await {
        Ok(upload) => upload,
        Err(NotReserved::Refused(refused)) => {
            let status = refused_status(refused.code);
            let res = refuse(&mut seen, status, refused.code, refused.message);
            return answer(&pages.log, seen, res).await;
        }
        Err(NotReserved::Failed(err)) => {
            return answer(&pages.log, seen, html::unavailable(&err)).await;
        }
    };
    seen.on_key(&upload.key);
    let at = target(&link, &upload);
    let started = pages
        .store
        .start_parts(at, upload.content_type.clone())
        .await;
    let store_id = match started {
        Ok(id) => id,
        Err(err) => {
            let _ = uploads::abandon(&pages.pool, &upload).await;
            return answer(&pages.log, seen, html::unavailable(&err)).await;
        }
    };
    if let Err(err) = uploads::started(&pages.pool, &upload.id, &store_id).await {
        return answer(&pages.log, seen, html::unavailable(&err)).await;
    }
    ok_json(
        StatusCode::CREATED,
        serde_json::json!({
            "id": upload.id,
            "name": stored_name(&upload),
            "part_size": uploads::part_size(upload.size),
            "parts": uploads::part_count(upload.size),
        }),
    )
}

/// The name a file was stored under, within its day's folder (what the recipient is shown).
fn stored_name(upload: &PageUpload) -> &str {
    upload.key.rsplit('/').next().unwrap_or(&upload.key)
}

fn target<'a>(link: &'a Link, upload: &'a PageUpload) -> Target<'a> {
    Target {
        bucket: &link.bucket,
        key: &upload.key,
        user: link.user.as_deref().unwrap_or_default(),
    }
}

/// An upload page opened for `operation`, and its upload `id`, still going on; else the
/// answer, given and recorded.
async fn open_going_on(
    pages: &Pages,
    token: &str,
    req: &http::request::Parts,
    id: &str,
    operation: &'static str,
) -> Result<(Link, Seen, PageUpload), Response> {
    let (link, mut seen) = open_upload(pages, token, req, operation).await?;
    match going_on(pages, &link, &mut seen, id).await {
        Ok(upload) => Ok((link, seen, upload)),
        Err(res) => Err(answer(&pages.log, seen, res).await),
    }
}

/// The upload `id` of page `link`, still going on; else the answer (404), recorded.
async fn going_on(
    pages: &Pages,
    link: &Link,
    seen: &mut Seen,
    id: &str,
) -> Result<PageUpload, Response> {
    match uploads::find(&pages.pool, &link.id, id).await {
        Ok(Some(upload)) if upload.completed_at.is_none() && upload.upload_id.is_some() => {
            seen.on_key(&upload.key);
            Ok(upload)
        }
        Ok(_) => Err(refuse(
            seen,
            StatusCode::NOT_FOUND,
            "NoSuchUpload",
            "That upload is over; send the file again.",
        )),
        Err(err) => Err(html::unavailable(&err)),
    }
}

/// `PUT /s/<token>/uploads/<id>/<n>`: part `n`, exactly its length (`Content-Length`).
pub(super) async fn part(
    State(pages): State<Pages>,
    Path((token, id, number)): Path<(String, String, String)>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let (link, mut seen, upload) =
        match open_going_on(&pages, &token, &parts, &id, "PageUploadPart").await {
            Ok(opened) => opened,
            Err(answered) => return answered,
        };
    let count = uploads::part_count(upload.size);
    // Plain digits without a leading zero: one spelling per part.
    let number = Some(number.as_str())
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0'))
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| (1..=count).contains(n));
    let expected = number.map(|n| uploads::part_len(upload.size, n));
    let length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    let (Some(number), Some(expected)) = (number, expected) else {
        let res = refuse(
            &mut seen,
            StatusCode::BAD_REQUEST,
            "InvalidPart",
            format!("This file has parts 1 to {count}."),
        );
        return answer(&pages.log, seen, res).await;
    };
    // An empty part may come without a length (some clients send none for no body); the
    // store still takes exactly `expected` bytes.
    if length.or((expected == 0).then_some(0)) != Some(expected) {
        let res = refuse(
            &mut seen,
            StatusCode::BAD_REQUEST,
            "WrongPartLength",
            format!("Part {number} is {expected} bytes, sent with its length."),
        );
        return answer(&pages.log, seen, res).await;
    }
    let stream = futures_util::StreamExt::map(body.into_data_stream(), |chunk| {
        chunk.map_err(|e| e.to_string())
    });
    let Some(store_id) = upload.upload_id.as_deref() else {
        return answer(&pages.log, seen, html::busy()).await;
    };
    let sent = pages
        .store
        .put_part(
            target(&link, &upload),
            store_id,
            i32::try_from(number).unwrap_or(0),
            u64::try_from(expected).unwrap_or(0),
            Box::pin(stream),
        )
        .await;
    match sent {
        Ok(_) => ok_json(StatusCode::OK, serde_json::json!({ "part": number })),
        Err(err) => {
            // The sender's bytes stopped (or the store failed): the part is not kept.
            tracing::info!(error = %err, upload = %upload.id, part = number, "a part did not arrive");
            let res = refuse(
                &mut seen,
                StatusCode::BAD_REQUEST,
                "IncompletePart",
                "That part did not arrive whole; send it again.",
            );
            answer(&pages.log, seen, res).await
        }
    }
}

/// `GET /s/<token>/uploads/<id>`: the parts that arrived, for the script to send the rest.
pub(super) async fn status(
    State(pages): State<Pages>,
    Path((token, id)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    let (link, seen, upload) =
        match open_going_on(&pages, &token, &parts, &id, "PageUploadStatus").await {
            Ok(opened) => opened,
            Err(answered) => return answered,
        };
    let store_id = upload.upload_id.clone().unwrap_or_default();
    match pages.store.parts(target(&link, &upload), &store_id).await {
        Ok(stored) => {
            let numbers: Vec<i32> = stored.iter().map(|p| p.number).collect();
            ok_json(
                StatusCode::OK,
                serde_json::json!({
                    "id": upload.id,
                    "name": stored_name(&upload),
                    "size": upload.size,
                    "part_size": uploads::part_size(upload.size),
                    "parts": uploads::part_count(upload.size),
                    "arrived": numbers,
                }),
            )
        }
        Err(err) => answer(&pages.log, seen, html::unavailable(&err)).await,
    }
}

/// `POST /s/<token>/uploads/<id>/done`: every part arrived, whole: the object is made (never
/// over another) and the upload recorded.
pub(super) async fn done(
    State(pages): State<Pages>,
    Path((token, id)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    let (link, mut seen, upload) =
        match open_going_on(&pages, &token, &parts, &id, "PageUpload").await {
            Ok(opened) => opened,
            Err(answered) => return answered,
        };
    // From here until it is recorded, no cancel, part or second completion reaches it.
    match uploads::claim(&pages.pool, &upload.id).await {
        Ok(true) => {}
        Ok(false) => {
            let res = refuse(
                &mut seen,
                StatusCode::NOT_FOUND,
                "NoSuchUpload",
                "That upload is over; send the file again.",
            );
            return answer(&pages.log, seen, res).await;
        }
        Err(err) => return answer(&pages.log, seen, html::unavailable(&err)).await,
    }
    let at = target(&link, &upload);
    let store_id = upload.upload_id.clone().unwrap_or_default();
    let stored = match pages.store.parts(at, &store_id).await {
        Ok(stored) => stored,
        Err(err) => {
            let _ = uploads::release(&pages.pool, &upload.id).await;
            return answer(&pages.log, seen, html::unavailable(&err)).await;
        }
    };
    let count = uploads::part_count(upload.size);
    let missing: Vec<i64> = (1..=count)
        .filter(|n| {
            !stored
                .iter()
                .any(|p| i64::from(p.number) == *n && p.size == uploads::part_len(upload.size, *n))
        })
        .collect();
    if !missing.is_empty() || stored.len() as i64 != count {
        let _ = uploads::release(&pages.pool, &upload.id).await;
        let res = refuse(
            &mut seen,
            StatusCode::CONFLICT,
            "MissingParts",
            format!(
                "{} part{} of {count} did not arrive yet.",
                missing.len(),
                if missing.len() == 1 { "" } else { "s" }
            ),
        );
        return answer(&pages.log, seen, res).await;
    }
    match pages.store.finish_parts(at, &store_id, &stored).await {
        Ok(()) => {}
        Err(domain::Error::AlreadyExists { .. }) => {
            // Something other than an upload page wrote that key since: nothing is replaced.
            let _ = pages.store.abort_parts(at, &store_id).await;
            let _ = uploads::release(&pages.pool, &upload.id).await;
            let _ = uploads::abandon(&pages.pool, &upload).await;
            let res = refuse(
                &mut seen,
                StatusCode::CONFLICT,
                "NameTaken",
                "A file of that name arrived meanwhile; send yours again.",
            );
            return answer(&pages.log, seen, res).await;
        }
        Err(err) => {
            let _ = uploads::release(&pages.pool, &upload.id).await;
            return answer(&pages.log, seen, html::unavailable(&err)).await;
        }
    }
    let took = std::time::Duration::from_secs(
        u64::try_from(domain::now_unix() - upload.started_at).unwrap_or(0),
    );
    match record(&pages, &link, &upload, &parts, took).await {
        Ok(true) => {}
        Ok(false) => tracing::error!(upload = %upload.id, "an arrived upload was not claimed"),
        Err(err) => return answer(&pages.log, seen, html::unavailable(&err)).await,
    }
    ok_json(
        StatusCode::OK,
        serde_json::json!({ "name": stored_name(&upload), "size": upload.size }),
    )
}

/// Records an upload that arrived: the link's `link.upload` event, from its uploader.
async fn record(
    pages: &Pages,
    link: &Link,
    upload: &PageUpload,
    req: &http::request::Parts,
    took: std::time::Duration,
) -> domain::Result<bool> {
    let by = domain::audit::Origin {
        kind: domain::audit::ActorKind::Link,
        name: upload
            .uploader
            .clone()
            .unwrap_or_else(|| format!("upload page {}", link.id)),
        access_key_id: None,
        client_ip: upload.client_ip.clone(),
        user_agent: req
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(256).collect()),
        request_id: None,
    };
    domain::metrics::get().link_use("allowed");
    uploads::finish(&pages.pool, upload, &by, took).await
}

/// `DELETE /s/<token>/uploads/<id>`: the sender gives the file up; its parts are removed.
pub(super) async fn cancel(
    State(pages): State<Pages>,
    Path((token, id)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    let (link, mut seen, upload) =
        match open_going_on(&pages, &token, &parts, &id, "PageUploadCancel").await {
            Ok(opened) => opened,
            Err(answered) => return answered,
        };
    // Given up in the database first: a completion that claimed it meanwhile wins.
    match uploads::abandon(&pages.pool, &upload).await {
        Ok(true) => {}
        Ok(false) => {
            let res = refuse(
                &mut seen,
                StatusCode::NOT_FOUND,
                "NoSuchUpload",
                "That upload is over.",
            );
            return answer(&pages.log, seen, res).await;
        }
        Err(err) => return answer(&pages.log, seen, html::unavailable(&err)).await,
    }
    let store_id = upload.upload_id.clone().unwrap_or_default();
    if let Err(err) = pages
        .store
        .abort_parts(target(&link, &upload), &store_id)
        .await
    {
        // Its parts stay until the store's own clean-up; nothing of it is visible.
        tracing::warn!(error = %err, upload = %upload.id, "cannot remove a given-up upload's parts");
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    safe(res.headers_mut(), PAGE_CSP);
    // Recorded: a file given up is an event of the link too.
    answer(&pages.log, seen, res).await
}

/// `POST /s/<token>/files`: the plain form (no script): each file of up to [`FORM_FILE`] is
/// checked, stored under its own new name and recorded; the page comes back saying what
/// arrived and what was refused, and why.
pub(super) async fn form(
    State(pages): State<Pages>,
    Path(token): Path<String>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let (link, mut seen) = match open_upload(&pages, &token, &parts, "PageUploadForm").await {
        Ok(opened) => opened,
        Err(answered) => return answered,
    };
    let boundary = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok());
    let Some(boundary) = boundary else {
        seen.refused_as("MalformedForm");
        let res = html::gone(StatusCode::BAD_REQUEST, "Send files with the page's form.");
        return answer(&pages.log, seen, res).await;
    };
    // The name field is small: more is refused, never held.
    let limits =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().for_field("uploader", 4096));
    let mut form = multer::Multipart::with_constraints(body.into_data_stream(), boundary, limits);
    let ip = client_ip(&pages, &parts);
    let mut uploader: Option<String> = None;
    let mut said: Vec<(bool, String)> = Vec::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => {
                said.push((false, "The upload stopped before its end.".to_owned()));
                break;
            }
        };
        match field.name() {
            Some("uploader") => match field.text().await {
                Ok(text) => uploader = Some(text),
                Err(_) => {
                    said.push((false, "Your name is at most 200 characters.".to_owned()));
                    break;
                }
            },
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_owned();
                if name.is_empty() {
                    continue;
                }
                let outcome = form_file(
                    &pages,
                    &link,
                    &parts,
                    field,
                    Offer {
                        name: &name,
                        size: 0,
                        uploader: uploader.as_deref(),
                        client_ip: ip.as_deref(),
                    },
                )
                .await;
                match outcome {
                    Ok(stored) => said.push((true, format!("“{stored}” arrived."))),
                    Err(refused) => {
                        // Each refused file is an event of the link, with its reason.
                        let mut one = Seen::page(&parts, &pages.log, &link, "PageUploadForm");
                        one.refused_as(refused.code);
                        let res = refused_status(refused.code).into_response();
                        drop(answer(&pages.log, one, res).await);
                        said.push((false, refused.message));
                    }
                }
            }
            _ => {}
        }
    }
    let listed: String = said
        .iter()
        .map(|(ok, text)| {
            format!(
                "<li class=\"{}\">{}</li>",
                if *ok { "done" } else { "refused" },
                app::components::escape(text)
            )
        })
        .collect();
    let result = if said.is_empty() {
        "<p class=\"refused\" role=\"alert\">Choose at least one file.</p>".to_owned()
    } else {
        format!("<ul class=\"queue\" role=\"status\">{listed}</ul>")
    };
    // Read again: the limits left have changed.
    let link = match pages::open(&pages.pool, &token).await {
        Ok(Some(fresh)) => fresh,
        _ => link,
    };
    let status = if said.iter().all(|(ok, _)| *ok) && !said.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut res = html::html(status, &page_html(&token, &link, Some(&result)));
    safe(res.headers_mut(), UPLOAD_CSP);
    drop(seen);
    res
}

/// One file of the plain form: read (at most [`FORM_FILE`] and the page's limits), checked,
/// stored, recorded. The name it was stored under, or why not.
async fn form_file(
    pages: &Pages,
    link: &Link,
    req: &http::request::Parts,
    mut field: multer::Field<'static>,
    offer: Offer<'_>,
) -> Result<String, Refused> {
    let started = std::time::Instant::now();
    // What can be refused before a byte is read is: its name, type, the sender's name, a
    // page that has all its files.
    uploads::check_offer(&link.upload, &offer)?;
    // At most a few files are held in memory at once.
    let Ok(_held) = pages.forms.clone().try_acquire_owned() else {
        return Err(Refused {
            code: "Busy",
            message: "The server is busy; send the file again in a moment.".to_owned(),
        });
    };
    let most = link.upload.max_file.unwrap_or(FORM_FILE).min(FORM_FILE);
    let mut bytes = bytes::BytesMut::new();
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() as i64 > most {
                    let refused = if link.upload.max_file.is_some_and(|m| m <= FORM_FILE) {
                        uploads::check_offer(
                            &link.upload,
                            &Offer {
                                size: bytes.len() as i64,
                                ..offer.clone()
                            },
                        )
                        .err()
                    } else {
                        None
                    };
                    return Err(refused.unwrap_or_else(|| Refused {
                        code: "TooLarge",
                        message: format!(
                            "“{}” is over {}: files that large need the page's script (JavaScript).",
                            uploads::clean_name(offer.name).unwrap_or_default(),
                            uploads::human_bytes(FORM_FILE)
                        ),
                    }));
                }
            }
            Ok(None) => break,
            Err(_) => {
                return Err(Refused {
                    code: "IncompleteBody",
                    message: "The upload stopped before its end.".to_owned(),
                });
            }
        }
    }
    let size = bytes.len() as i64;
    let offer = Offer { size, ..offer };
    let failed = |name: &str, why: &str| Refused {
        code: "NotStored",
        message: format!("“{name}” could not be stored ({why}); try again."),
    };
    let upload = match reserve(pages, link, &offer).await {
        Ok(upload) => upload,
        Err(NotReserved::Refused(refused)) => return Err(refused),
        Err(NotReserved::Failed(err)) => {
            tracing::error!(error = %err, "an upload page's file got no place");
            return Err(failed(offer.name, "the server failed"));
        }
    };
    match uploads::claim(&pages.pool, &upload.id).await {
        Ok(true) => {}
        _ => {
            let _ = uploads::abandon(&pages.pool, &upload).await;
            return Err(failed(&upload.name, "the server failed"));
        }
    }
    let body = futures_util::stream::once(async move { Ok::<_, String>(bytes.freeze()) });
    let stored = pages
        .store
        .upload_new(
            target(link, &upload),
            upload.content_type.clone(),
            u64::try_from(size).unwrap_or(0),
            Box::pin(body),
        )
        .await;
    if let Err(err) = stored {
        let _ = uploads::release(&pages.pool, &upload.id).await;
        let _ = uploads::abandon(&pages.pool, &upload).await;
        return Err(match err {
            domain::Error::AlreadyExists { .. } => {
                failed(&upload.name, "a file of that name arrived meanwhile")
            }
            other => {
                tracing::error!(error = %other, "an upload page's file was not stored");
                failed(&upload.name, "the store failed")
            }
        });
    }
    if record(pages, link, &upload, req, started.elapsed())
        .await
        .is_err()
    {
        return Err(failed(&upload.name, "it could not be recorded"));
    }
    Ok(stored_name(&upload).to_owned())
}
