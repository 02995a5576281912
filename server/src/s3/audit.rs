//! The audit of S3 requests: every request through a share link or another pre-signed URL
//! (allowed or not), and every refused request, with who, what, from where, the outcome and the
//! bytes sent.
//!
//! Events go through a bounded queue to one writer task that stores them in batches, off the
//! request path. Nothing is dropped: a request takes its place in the queue (a permit) before it
//! is served, and waits when the queue is full (backpressure). A download's event is sent when
//! its body has been sent or abandoned, with the byte count.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use bytes::Bytes;
use domain::audit::{ActorKind, Network, Outcome, RequestEvent, now_millis};
use domain::db::Pool;
use http_body::{Body as _, Frame};
use tokio::sync::mpsc;

use super::percent_decode;

/// Events waiting to be written at most; requests wait for room beyond that.
const QUEUE: usize = 16_384;
/// Events written per transaction at most.
const BATCH: usize = 1_024;

/// The sending side of the audit queue.
#[derive(Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<RequestEvent>,
    network: std::sync::Arc<Network>,
}

/// A place in the audit queue, taken before a request is served.
type Permit = mpsc::OwnedPermit<RequestEvent>;

impl AuditLog {
    /// Starts the writer. It stores events when `store` is set (the audit of S3 requests can be
    /// switched off; link counters are kept either way) and ends once every sender is gone and
    /// the queue is written.
    pub fn start(
        pool: Pool,
        network: Network,
        store: bool,
    ) -> (AuditLog, tokio::task::JoinHandle<()>) {
        let (queue, mut rx) = mpsc::channel(QUEUE);
        let writer = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                write_until_done(&pool, &batch, store).await;
                batch.clear();
            }
        });
        let log = AuditLog {
            queue,
            network: std::sync::Arc::new(network),
        };
        (log, writer)
    }

    async fn permit(&self) -> Option<Permit> {
        // Fails only once the writer is gone, i.e. while shutting down.
        self.queue.clone().reserve_owned().await.ok()
    }
}

/// Writes a batch, retrying (with growing pauses) until the database takes it: events are
/// held up, never thrown away.
async fn write_until_done(pool: &Pool, batch: &[RequestEvent], store: bool) {
    let mut pause = Duration::from_millis(20);
    loop {
        match domain::audit::write_requests(pool, batch, store).await {
            Ok(()) => return,
            Err(err) => {
                tracing::error!(error = %err, events = batch.len(), "cannot write audit events; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// What is known of a request before it is served.
pub struct Seen {
    event: RequestEvent,
    method: String,
    path: String,
    /// The signature of a pre-signed request.
    pub signature: Option<String>,
    permit: Option<Permit>,
}

impl Seen {
    /// Notes who asks what from where.
    pub fn of(req: &axum::extract::Request, log: &AuditLog) -> Self {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let query = req.uri().query().unwrap_or_default();
        let signature = super::presigned_signature(req.uri());
        let authorization = header("authorization");
        let kind = if signature.is_some() {
            ActorKind::Presigned
        } else if authorization.is_some() {
            ActorKind::User
        } else {
            ActorKind::Anonymous
        };
        let client_ip =
            req.extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| {
                    let ip = log
                        .network
                        .client_ip(addr.ip(), header("x-forwarded-for").as_deref());
                    log.network.record(ip)
                });
        let path = req.uri().path().to_owned();
        let (bucket, key) = bucket_and_key(&path);
        let method = req.method().to_string();
        Seen {
            event: RequestEvent {
                kind: Some(kind),
                access_key_id: access_key_of(authorization.as_deref(), query),
                operation: operation(&method, bucket.as_deref(), key.as_deref()).to_owned(),
                bucket,
                key,
                client_ip,
                user_agent: header("user-agent"),
                request_id: header("x-request-id"),
                ..RequestEvent::default()
            },
            method,
            path,
            signature,
            permit: None,
        }
    }

    /// A pre-signed request is always audited, so it takes its place in the audit queue before
    /// it is served, waiting while the queue is full.
    pub async fn hold_place(&mut self, log: &AuditLog) {
        if self.signature.is_some() {
            self.permit = log.permit().await;
        }
    }

    /// The request uses the registered share link `id`, signed as `user`.
    pub fn through_link(&mut self, id: &str, user: Option<String>) {
        self.event.kind = Some(ActorKind::Link);
        self.event.link_id = Some(id.to_owned());
        self.event.user = user;
    }

    /// Records the request with its response, and gives the response back.
    pub async fn finish(mut self, log: &AuditLog, res: Response) -> Response {
        let status = res.status();
        if is_denial(status) {
            return self.refused(log, res).await;
        }
        let Some(permit) = self.permit.take() else {
            return res;
        };
        self.event.status = status.as_u16();
        self.event.outcome = Some(if status.is_client_error() || status.is_server_error() {
            Outcome::Failed
        } else {
            Outcome::Allowed
        });
        let (parts, body) = res.into_parts();
        let counted = Counted {
            inner: body,
            sent: 0,
            pending: Some((self.event, permit)),
        };
        Response::from_parts(parts, Body::new(counted))
    }

    /// Records a refusal with its S3 error code (read from the small XML error body); a 400
    /// that is not about authorization is a plain bad request and is recorded only when the
    /// request was pre-signed.
    async fn refused(mut self, log: &AuditLog, res: Response) -> Response {
        let (parts, body) = res.into_parts();
        let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
            Ok(bytes) => bytes,
            Err(_) => Bytes::new(),
        };
        let text = String::from_utf8_lossy(&bytes);
        let code = text
            .split("<Code>")
            .nth(1)
            .and_then(|rest| rest.split("</Code>").next())
            .map(str::to_owned);
        let auth_error = parts.status != http::StatusCode::BAD_REQUEST
            || code
                .as_deref()
                .is_some_and(|c| c.starts_with("Authorization"));
        if auth_error || self.permit.is_some() {
            tracing::info!(
                status = parts.status.as_u16(),
                code = code.as_deref().unwrap_or("-"),
                access_key = self.event.access_key_id.as_deref().unwrap_or("-"),
                link = self.event.link_id.as_deref().unwrap_or("-"),
                method = %self.method,
                path = %self.path,
                "S3 request denied"
            );
            let permit = match self.permit.take() {
                Some(permit) => Some(permit),
                None => log.permit().await,
            };
            self.event.status = parts.status.as_u16();
            self.event.error_code = code;
            self.event.outcome = Some(if auth_error {
                Outcome::Denied
            } else {
                Outcome::Failed
            });
            self.event.bytes_sent = bytes.len() as u64;
            if let Some(permit) = permit {
                self.event.at = now_millis();
                permit.send(self.event);
            }
        }
        Response::from_parts(parts, Body::from(bytes))
    }
}

/// A response body that counts what it sends and sends its audit event when it is done or
/// dropped (the client went away).
struct Counted {
    inner: Body,
    sent: u64,
    pending: Option<(RequestEvent, Permit)>,
}

impl Counted {
    fn send(&mut self, complete: bool) {
        if let Some((mut event, permit)) = self.pending.take() {
            event.at = now_millis();
            event.bytes_sent = self.sent;
            if !complete {
                event.error_code = Some("ClientDisconnected".to_owned());
            }
            permit.send(event);
        }
    }
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.sent += data.len() as u64;
                }
            }
            Poll::Ready(None) => self.send(true),
            Poll::Ready(Some(Err(_))) => self.send(false),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let complete = self.inner.is_end_stream();
        self.send(complete);
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

/// A name for what was asked, from the method and the path's shape.
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

/// Whether a response may refuse the request for authentication or authorization.
fn is_denial(status: http::StatusCode) -> bool {
    status == http::StatusCode::FORBIDDEN
        || status == http::StatusCode::UNAUTHORIZED
        || status == http::StatusCode::BAD_REQUEST
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
