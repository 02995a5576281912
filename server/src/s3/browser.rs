//! What a person gets who opens a link that does not work in a browser: a short page in words
//! instead of S3's XML error document. Only requests a browser makes on its own (a navigation
//! accepting HTML, with no `Authorization` header) are answered so; S3 clients keep the XML.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, Method, header};

/// Whether `headers` are a browser's navigation: a GET or HEAD accepting HTML, not signed in a
/// header (S3 tools sign there, or send no `Accept: text/html`).
pub fn wants_page(method: &Method, headers: &HeaderMap) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && !headers.contains_key(header::AUTHORIZATION)
        && headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("text/html"))
}

/// Turns an S3 error answer into a page saying the same in words, with the same status. The
/// XML body is read to its end first, so that the audit records the answer as sent whole.
pub async fn error_page(res: Response) -> Response {
    let is_xml = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/xml"));
    if !(res.status().is_client_error() || res.status().is_server_error()) || !is_xml {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let xml = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let xml = String::from_utf8_lossy(&xml);
    let field = |name: &str| {
        xml.split(&format!("<{name}>"))
            .nth(1)
            .and_then(|rest| rest.split(&format!("</{name}>")).next())
            .unwrap_or_default()
            .to_owned()
    };
    let (title, text) = words(&field("Code"), &field("Message"));
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:32rem;\
         margin:4rem auto;padding:0 1rem;line-height:1.5;color:#1f2328}}h1{{font-size:1.4rem}}\
         p.code{{color:#656d76;font-size:.9rem}}@media(prefers-color-scheme:dark){{body{{\
         background:#0d1117;color:#e6edf3}}p.code{{color:#8d96a0}}}}</style></head>\
         <body><main><h1>{title}</h1><p>{text}</p>\
         <p class=\"code\">Ask whoever sent you the link for a new one. (Error {status})</p>\
         </main></body></html>\n",
        status = parts.status.as_u16(),
    );
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(page))
}

/// The page's title and sentence for an S3 error code and message (both fixed texts of ours
/// or of s3s: nothing from the request is echoed).
fn words(code: &str, message: &str) -> (&'static str, &'static str) {
    let message = message.to_ascii_lowercase();
    match code {
        _ if message.contains("revoked") => (
            "This link has been revoked",
            "Whoever shared it has withdrawn it: it no longer opens anything.",
        ),
        _ if message.contains("expired") => (
            "This link has expired",
            "Share links work for a limited time, and this one's has passed.",
        ),
        "NoSuchKey" | "NoSuchBucket" => (
            "The file is no longer there",
            "The link is valid, but what it points to has been deleted or moved.",
        ),
        "SlowDown" | "InternalError" | "ServiceUnavailable" => (
            "The link cannot be opened right now",
            "The server is busy or has a problem. Try again in a minute.",
        ),
        _ => (
            "This link does not work",
            "It is incomplete, was changed on the way, or the access behind it has been \
             withdrawn.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_browsers_own_navigation_gets_a_page() {
        let headers = |pairs: &[(&str, &str)]| {
            let mut map = HeaderMap::new();
            for (k, v) in pairs {
                map.append(
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                );
            }
            map
        };
        let chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(wants_page(&Method::GET, &headers(&[("accept", chrome)])));
        assert!(wants_page(&Method::HEAD, &headers(&[("accept", chrome)])));
        assert!(!wants_page(&Method::PUT, &headers(&[("accept", chrome)])));
        assert!(!wants_page(&Method::GET, &headers(&[("accept", "*/*")])));
        assert!(!wants_page(&Method::GET, &headers(&[])));
        assert!(!wants_page(
            &Method::GET,
            &headers(&[("accept", chrome), ("authorization", "AWS4-HMAC-SHA256 x")])
        ));
    }

    #[test]
    fn every_refusal_reads_as_words_without_echoing_the_request() {
        assert_eq!(
            words("AccessDenied", "This link has been revoked").0,
            "This link has been revoked"
        );
        assert_eq!(
            words("AccessDenied", "Request has expired").0,
            "This link has expired"
        );
        assert_eq!(words("NoSuchKey", "x").0, "The file is no longer there");
        assert_eq!(
            words("SignatureDoesNotMatch", "<script>").0,
            "This link does not work"
        );
    }
}
