//! The HTML of the recipients' pages and the headers of every answer they get: small,
//! without script, readable at phone width, and nothing of a shared file ever active on this
//! origin.

use app::buckets::Preview;
use app::components::{encode, escape, human_size};
use axum::response::{IntoResponse, Response};
use domain::links::{Link, pages};
use domain::store::Listing;
use http::{HeaderMap, StatusCode, header};

/// What the landing page shows of the file.
pub(super) enum Shown {
    Nothing,
    /// An image, audio or video element over `/preview`.
    Media(Preview),
    /// The start of a text file, and whether there is more.
    Text(String, bool),
}

/// The password form of a page (`why`: what went wrong with the last attempt). It names
/// nothing of what is shared until the password is given.
pub(super) fn password_page(status: StatusCode, why: Option<&str>) -> Response {
    let why = why
        .map(|w| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(w)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Shared with you</h1><p>This link asks for a password.</p>{why}\
         <form method=\"post\"><label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" required \
         autocomplete=\"current-password\" autofocus>\
         <button class=\"button\" type=\"submit\">Open</button></form>"
    );
    html(status, &frame("Shared with you", &body))
}

/// Headers every recipient's answer carries: nothing it holds runs on this origin, no page
/// frames it, and the token in its address goes to no other site. `csp` is the answer's
/// Content-Security-Policy: [`PAGE_CSP`] for our pages, [`FILE_CSP`] for a file's bytes.
pub(super) fn safe(headers: &mut HeaderMap, csp: &'static str) {
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
pub(super) const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
                        media-src 'self'; frame-src 'self'; frame-ancestors 'none'; \
                        form-action 'self'; base-uri 'none'";

/// A PDF shown in its page's frame: framed by this origin only. (No sandbox: Chromium's PDF
/// viewer refuses a sandboxed document; the viewer runs a PDF's script apart from the page.)
pub(super) const PDF_CSP: &str = "frame-ancestors 'self'";

/// A file's bytes: should a browser show them rather than save them, they run nothing.
pub(super) const FILE_CSP: &str = "sandbox; default-src 'none'; frame-ancestors 'none'";

pub(super) fn html(status: StatusCode, body: &str) -> Response {
    let mut res = (status, body.to_owned()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    safe(res.headers_mut(), PAGE_CSP);
    res
}

/// A plain page saying why there is nothing here.
pub(super) fn gone(status: StatusCode, why: &str) -> Response {
    html(status, &frame(why, &format!("<h1>{}</h1>", escape(why))))
}

pub(super) fn busy() -> Response {
    gone(
        StatusCode::SERVICE_UNAVAILABLE,
        "The server is busy. Try again in a moment.",
    )
}

pub(super) fn unavailable(err: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %err, "share page failed");
    gone(
        StatusCode::SERVICE_UNAVAILABLE,
        "The file cannot be reached right now. Try again in a moment.",
    )
}

/// The landing page of a file.
pub(super) fn landing_page(
    token: &str,
    link: &Link,
    info: &domain::store::ObjectInfo,
    shown: &Shown,
) -> String {
    let name = info.key.rsplit('/').next().unwrap_or(&info.key);
    // Within a folder page: the file's path in it, for its addresses, and the way back.
    let (query, back) = match info
        .key
        .strip_prefix(&link.key)
        .filter(|_| link.is_folder())
    {
        Some(rel) => {
            let parent = rel.rfind('/').map_or("", |slash| &rel[..=slash]);
            (
                format!("?path={}", encode(rel)),
                format!(
                    "<p><a href=\"{}\">← {}</a></p>",
                    escape(&folder_url(token, parent, None)),
                    escape(&folder_name(&link.bucket, &format!("{}{parent}", link.key)))
                ),
            )
        }
        None => (String::new(), String::new()),
    };
    let expires = until(link);
    let limit = downloads_left(link);
    let note = link
        .note
        .as_deref()
        .map(|n| format!("<blockquote>{}</blockquote>", escape(n)))
        .unwrap_or_default();
    let src = format!("/s/{}/preview{}", escape(token), escape(&query));
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
        Shown::Media(Preview::Pdf) => {
            format!(
                "<iframe class=\"preview pdf\" src=\"{src}\" title=\"{}\"></iframe>",
                escape(name)
            )
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
        "{back}<h1>{name}</h1>{note}{shown}<dl><dt>Size</dt><dd>{size}</dd><dt>Type</dt><dd>{kind}</dd>\
         <dt>Modified</dt><dd>{modified} (UTC)</dd></dl>\
         <p><a class=\"button\" href=\"/s/{token}/download{query}\" download>Download</a></p>\
         <p class=\"small\">{expires}</p>{limit}",
        name = escape(name),
        size = human_size(info.size),
        kind = escape(info.content_type.as_deref().unwrap_or("unknown")),
        modified = date(info.last_modified),
        token = escape(token),
        query = escape(&query),
    );
    frame(name, &body)
}

/// The name a folder is shown and zipped under: its last segment, or the bucket's name for
/// a whole bucket.
pub(super) fn folder_name(bucket: &str, prefix: &str) -> String {
    prefix
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|name| !name.is_empty())
        .unwrap_or(bucket)
        .to_owned()
}

/// The address of a folder page's folder `rel` (relative, empty or ending with `/`), its
/// listing going on after `after`.
fn folder_url(token: &str, rel: &str, after: Option<&str>) -> String {
    let mut url = format!("/s/{token}");
    let mut sep = '?';
    if !rel.is_empty() {
        url.push_str(&format!("?path={}", encode(rel)));
        sep = '&';
    }
    if let Some(after) = after {
        url.push_str(&format!("{sep}after={}", encode(after)));
    }
    url
}

/// A folder of a folder page: where it is (each folder above it a link), its folders and
/// files (each file with its size, date and a download link), the next part of a long
/// listing, and **Download all**.
pub(super) fn folder_page(token: &str, link: &Link, prefix: &str, listing: &Listing) -> String {
    let rel = &prefix[link.key.len().min(prefix.len())..];
    let root = folder_name(&link.bucket, &link.key);
    let mut trail = format!(
        "<a href=\"{}\">{}</a>",
        escape(&folder_url(token, "", None)),
        escape(&root)
    );
    let mut walked = 0;
    for segment in rel.split_terminator('/') {
        walked += segment.len() + 1;
        trail.push_str(&format!(
            " / <a href=\"{}\">{}</a>",
            escape(&folder_url(token, &rel[..walked], None)),
            escape(segment)
        ));
    }
    let mut rows = String::new();
    for folder in &listing.folders {
        let name = folder[prefix.len()..].trim_end_matches('/');
        rows.push_str(&format!(
            "<tr><td class=\"name\"><a href=\"{}\">📁 {}/</a></td><td></td><td class=\"when\"></td>\
             <td></td></tr>",
            escape(&folder_url(token, &folder[link.key.len()..], None)),
            escape(name)
        ));
    }
    for object in &listing.objects {
        let name = &object.key[prefix.len()..];
        let path = encode(&object.key[link.key.len()..]);
        rows.push_str(&format!(
            "<tr><td class=\"name\"><a href=\"/s/{token}?path={path}\">{name}</a></td>\
             <td class=\"num\">{size}</td><td class=\"small when\">{modified}</td>\
             <td class=\"num\"><a href=\"/s/{token}/download?path={path}\" \
             download aria-label=\"Download {name}\">Download</a></td></tr>",
            token = escape(token),
            path = escape(&path),
            name = escape(name),
            size = human_size(object.size),
            modified = date(object.last_modified),
        ));
    }
    let empty = if listing.folders.is_empty() && listing.objects.is_empty() {
        "<p>This folder is empty.</p>"
    } else {
        ""
    };
    let more = listing
        .next
        .as_deref()
        .map(|after| {
            format!(
                "<p><a href=\"{}\">More…</a></p>",
                escape(&folder_url(token, rel, Some(after)))
            )
        })
        .unwrap_or_default();
    let zip = if rel.is_empty() {
        format!("/s/{token}/zip")
    } else {
        format!("/s/{token}/zip?path={}", encode(rel))
    };
    let note = link
        .note
        .as_deref()
        .map(|n| format!("<blockquote>{}</blockquote>", escape(n)))
        .unwrap_or_default();
    let body = format!(
        "<nav class=\"trail\">{trail}</nav><h1>{title}</h1>{note}\
         <p><a class=\"button\" href=\"{zip}\" download>Download all (zip)</a></p>\
         <div class=\"list\"><table><thead><tr><th>Name</th><th class=\"num\">Size</th><th class=\"when\">Modified (UTC)</th>\
         <th><span class=\"hidden\">Download</span></th></tr></thead><tbody>{rows}</tbody></table></div>{empty}{more}\
         <p class=\"small\">{expires}</p>{limit}",
        title = escape(&folder_name(&link.bucket, prefix)),
        zip = escape(&zip),
        expires = until(link),
        limit = downloads_left(link),
    );
    frame(&root, &body)
}

/// When a page stops working, in words.
fn until(link: &Link) -> String {
    if link.expires_at == pages::NEVER {
        "Works until it is revoked.".to_owned()
    } else {
        format!("Works until {} (UTC).", date(link.expires_at))
    }
}

/// What is left of a page's download limit, as a paragraph (nothing without a limit).
fn downloads_left(link: &Link) -> String {
    match link.max_downloads {
        Some(max) => {
            let left = (max - link.downloads).max(0);
            format!(
                "<p>{left} download{} left.</p>",
                if left == 1 { "" } else { "s" }
            )
        }
        None => String::new(),
    }
}

/// A whole page around `body`: small, without script, readable at phone width.
pub(super) fn frame(title: &str, body: &str) -> String {
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
iframe.pdf{width:100%;height:70vh;border:1px solid #d0d7de}.trail{font-size:.9rem;margin:0 0 .5rem}.list{overflow-x:auto}table{border-collapse:collapse;width:100%;margin:0 0 1rem}\
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #d0d7de;vertical-align:top;overflow-wrap:normal;white-space:nowrap}\
td.name{overflow-wrap:anywhere;white-space:normal;width:100%}.num{text-align:right;white-space:nowrap}\
@media (max-width:30rem){.when{display:none}}.hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}\
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}main{background:#161b22}\
dt,.small,footer{color:#8d96a0}blockquote{background:#0d2440}pre.preview{background:#0d1117}}";

/// `2026-11-30 14:05` for Unix seconds, UTC.
pub(super) fn date(unix: i64) -> String {
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
    fn dates_are_utc_minutes() {
        assert_eq!(date(0), "1970-01-01 00:00");
        assert_eq!(date(pages::NEVER), "9999-12-31 23:59");
    }

    #[test]
    fn folders_are_named_by_their_last_segment_or_their_bucket() {
        assert_eq!(folder_name("b", "docs/2024/"), "2024");
        assert_eq!(folder_name("b", ""), "b");
        assert_eq!(folder_name("b", "a b/"), "a b");
    }

    #[test]
    fn folder_addresses_encode_their_path() {
        assert_eq!(folder_url("T", "", None), "/s/T");
        assert_eq!(folder_url("T", "a b/&/", None), "/s/T?path=a%20b/%26/");
        assert_eq!(folder_url("T", "", Some("k&x")), "/s/T?after=k%26x");
        assert_eq!(folder_url("T", "a/", Some("a/z")), "/s/T?path=a/&after=a/z");
    }
}
