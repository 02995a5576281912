//! The record of refused S3 requests: who (access key, user), what (operation, bucket, key),
//! from where (client address, user agent), and how it was refused (status, S3 error code).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use sqlx::SqlitePool;

use super::percent_decode;

/// What is known of a request before it is served.
pub struct Seen {
    method: String,
    path: String,
    access_key: Option<String>,
    client_ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
}

impl Seen {
    pub fn of(req: &axum::extract::Request) -> Self {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Seen {
            method: req.method().to_string(),
            path: req.uri().path().to_owned(),
            access_key: access_key_of(
                header("authorization").as_deref(),
                req.uri().query().unwrap_or_default(),
            ),
            client_ip: req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip().to_string()),
            user_agent: header("user-agent"),
            request_id: header("x-request-id"),
        }
    }
}

/// The access key a request claims, from its `Authorization` header (SigV4 or SigV2) or its
/// pre-signed query (`X-Amz-Credential`, `AWSAccessKeyId`).
fn access_key_of(authorization: Option<&str>, query: &str) -> Option<String> {
    if let Some(auth) = authorization {
        if let Some(rest) = auth.split("Credential=").nth(1) {
            return rest.split('/').next().map(str::to_owned);
        }
        if let Some(rest) = auth.strip_prefix("AWS ") {
            return rest.split(':').next().map(str::to_owned);
        }
    }
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        match k {
            "X-Amz-Credential" => v
                .split("%2F")
                .next()
                .and_then(|v| v.split('/').next())
                .map(str::to_owned),
            "AWSAccessKeyId" => Some(v.to_owned()),
            _ => None,
        }
    })
}

/// Bucket and key of a path-style request, percent-decoded.
fn bucket_and_key(path: &str) -> (Option<String>, Option<String>) {
    let trimmed = path.trim_start_matches('/');
    let (bucket, key) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    // In a path `+` is a plus sign, not an encoded space.
    let decode = |s: &str| {
        (!s.is_empty())
            .then(|| percent_decode(&s.replace('+', "%2B")).unwrap_or_else(|| s.to_owned()))
    };
    (decode(bucket), decode(key))
}

/// A name for what was asked, from the method and the path's shape (the refused request
/// never reached s3s's own routing).
fn operation(method: &str, bucket: Option<&str>, key: Option<&str>) -> &'static str {
    match (method, bucket.is_some(), key.is_some()) {
        ("GET", false, _) => "ListBuckets",
        ("GET", true, false) => "ListObjects",
        ("GET", true, true) => "GetObject",
        ("HEAD", true, false) => "HeadBucket",
        ("HEAD", true, true) => "HeadObject",
        ("PUT", true, false) => "CreateBucket",
        ("PUT", true, true) => "PutObject",
        ("DELETE", true, false) => "DeleteBucket",
        ("DELETE", true, true) => "DeleteObject",
        ("POST", true, false) => "DeleteObjects",
        ("POST", true, true) => "MultipartUpload",
        _ => "Other",
    }
}

/// Whether a response refuses the request for authentication or authorization.
fn is_denial(status: http::StatusCode) -> bool {
    status == http::StatusCode::FORBIDDEN
        || status == http::StatusCode::UNAUTHORIZED
        || status == http::StatusCode::BAD_REQUEST
}

/// Records `res` if it is a denial, and gives it back unchanged.
pub async fn record(pool: &SqlitePool, seen: Seen, res: Response) -> Response {
    if !is_denial(res.status()) {
        return res;
    }
    let (parts, body) = res.into_parts();
    // Error bodies are small XML documents; anything else passes through unread.
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => bytes,
        Err(_) => return Response::from_parts(parts, Body::empty()),
    };
    let text = String::from_utf8_lossy(&bytes);
    let code = text
        .split("<Code>")
        .nth(1)
        .and_then(|rest| rest.split("</Code>").next())
        .map(str::to_owned);
    // A 400 that is not about authorization is a plain bad request, not a denial.
    let auth_error = parts.status != http::StatusCode::BAD_REQUEST
        || code
            .as_deref()
            .is_some_and(|c| c.starts_with("Authorization"));
    if auth_error {
        let (bucket, key) = bucket_and_key(&seen.path);
        let user: Option<String> = match &seen.access_key {
            Some(id) => sqlx::query_scalar(
                "SELECT u.name FROM access_keys k JOIN iam_users u ON u.id = k.user_id WHERE k.id = ?",
            )
            .bind(id)
            .fetch_optional(pool)
            .await
            .unwrap_or(None),
            None => None,
        };
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let written = sqlx::query(
            "INSERT INTO denied_requests (at, access_key_id, user_name, method, bucket, object_key,
                 operation, client_ip, user_agent, status, error_code, request_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(at)
        .bind(&seen.access_key)
        .bind(&user)
        .bind(&seen.method)
        .bind(&bucket)
        .bind(&key)
        .bind(operation(&seen.method, bucket.as_deref(), key.as_deref()))
        .bind(&seen.client_ip)
        .bind(&seen.user_agent)
        .bind(i64::from(parts.status.as_u16()))
        .bind(&code)
        .bind(&seen.request_id)
        .execute(pool)
        .await;
        if let Err(err) = written {
            tracing::error!(error = %err, "could not record a denied S3 request");
        }
        tracing::info!(
            status = parts.status.as_u16(),
            code = code.as_deref().unwrap_or("-"),
            access_key = seen.access_key.as_deref().unwrap_or("-"),
            method = %seen.method,
            path = %seen.path,
            "S3 request denied"
        );
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_keys_are_found_in_every_signature_style() {
        let v4 = "AWS4-HMAC-SHA256 Credential=AKAAAAAAAAAAAAAAAAAA/20261128/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x";
        assert_eq!(
            access_key_of(Some(v4), "").as_deref(),
            Some("AKAAAAAAAAAAAAAAAAAA")
        );
        assert_eq!(
            access_key_of(Some("AWS AKB:sig"), "").as_deref(),
            Some("AKB")
        );
        let q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKC%2F20261128%2Fus-east-1%2Fs3%2Faws4_request";
        assert_eq!(access_key_of(None, q).as_deref(), Some("AKC"));
        assert_eq!(
            access_key_of(None, "AWSAccessKeyId=AKD&Expires=1").as_deref(),
            Some("AKD")
        );
        assert_eq!(access_key_of(None, "list-type=2"), None);
    }

    #[test]
    fn paths_give_bucket_key_and_operation() {
        assert_eq!(
            bucket_and_key("/team/reports/q1%20final.pdf"),
            (Some("team".into()), Some("reports/q1 final.pdf".into()))
        );
        assert_eq!(bucket_and_key("/team"), (Some("team".into()), None));
        assert_eq!(bucket_and_key("/b/c++.txt").1.as_deref(), Some("c++.txt"));
        assert_eq!(bucket_and_key("/"), (None, None));
        assert_eq!(operation("GET", Some("b"), Some("k")), "GetObject");
        assert_eq!(operation("GET", None, None), "ListBuckets");
    }
}
