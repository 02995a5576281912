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

use super::request::{Auth, Reading};
use domain::audit::{MAX_HEADER_CHARS, MAX_KEY_CHARS, clean};

/// Events waiting to be written at most; requests wait for room beyond that.
const QUEUE: usize = 16_384;
/// Events written per transaction at most.
const BATCH: usize = 1_024;
/// How long the writer gathers more events when it finds more than one waiting.
const GATHER: Duration = Duration::from_millis(5);

/// The sending side of the audit queue.
#[derive(Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<RequestEvent>,
    network: std::sync::Arc<Network>,
}

/// The request id the S3 endpoint gave a request (and its answer's `x-amz-request-id`).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A place in the audit queue, taken before a request is served.
type Permit = mpsc::OwnedPermit<RequestEvent>;

impl AuditLog {
    /// The client's address as the audit records it: from `X-Forwarded-For` past trusted
    /// proxies, truncated when the settings say so.
    pub fn client_ip(&self, peer: std::net::IpAddr, headers: &http::HeaderMap) -> String {
        let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        self.network.record(self.network.client_ip(peer, forwarded))
    }

    /// Starts the writer. It stores events when `store` is set (the audit of S3 requests can be
    /// switched off; link counters are kept either way) and ends once every sender is gone and
    /// the queue is written.
    pub fn start(
        pool: Pool,
        network: Network,
        store: bool,
    ) -> (AuditLog, tokio::task::JoinHandle<()>) {
        AuditLog::start_with_room(pool, network, store, QUEUE)
    }

    /// [`AuditLog::start`] with a queue of `room` events (tests fill a small one).
    pub fn start_with_room(
        pool: Pool,
        network: Network,
        store: bool,
        room: usize,
    ) -> (AuditLog, tokio::task::JoinHandle<()>) {
        let (queue, mut rx) = mpsc::channel(room);
        let writer = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            let metrics = domain::metrics::get();
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                // A busy endpoint's events (more than one waiting) are written a few
                // milliseconds' worth at a time: a batch costs a handful of statements however
                // many events it holds. A lone event is written at once.
                if batch.len() > 1 && batch.len() < BATCH {
                    tokio::time::sleep(GATHER).await;
                    while batch.len() < BATCH
                        && let Ok(event) = rx.try_recv()
                    {
                        batch.push(event);
                    }
                }
                metrics
                    .audit_queue
                    .set(i64::try_from(rx.len()).unwrap_or(i64::MAX));
                write_all(&pool, &batch, store).await;
                batch.clear();
            }
        });
        let log = AuditLog {
            queue,
            network: std::sync::Arc::new(network),
        };
        (log, writer)
    }

    /// A place for a refusal's event, waiting at most [`PLACE_WAIT`].
    async fn permit(&self) -> Option<Permit> {
        match tokio::time::timeout(PLACE_WAIT, self.queue.clone().reserve_owned()).await {
            Ok(permit) => permit.ok(),
            Err(_) => {
                let lost = UNRECORDED_REFUSALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                domain::metrics::get().audit_unrecorded.inc();
                tracing::warn!(
                    unrecorded = lost + 1,
                    "the audit queue is full; a refusal goes unrecorded"
                );
                None
            }
        }
    }
}

/// Events the database refused since start (each logged): see [`write_all`].
pub static REFUSED_EVENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Writes a batch. While the database cannot be reached, the batch is retried with growing
/// pauses (events are held up, never thrown away). When the database answers but refuses the
/// batch, the batch is split until the events it refuses are found: those are logged and
/// counted ([`REFUSED_EVENTS`]), and every other event is written. One bad event never wedges
/// the writer.
async fn write_all(pool: &Pool, batch: &[RequestEvent], store: bool) {
    let mut pause = Duration::from_millis(20);
    let metrics = domain::metrics::get();
    loop {
        let Err(err) = domain::audit::write_requests(pool, batch, store).await else {
            metrics.audit_written.inc_by(batch.len() as u64);
            return;
        };
        metrics.audit_write_failures.inc();
        metrics.database_error("audit");
        let reachable = sqlx::query_scalar::<_, i64>("SELECT 1")
            .fetch_one(pool)
            .await
            .is_ok();
        if !reachable {
            tracing::error!(error = %err, events = batch.len(), "cannot write audit events; retrying");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
            continue;
        }
        if let [event] = batch {
            // Retried once: a busy database is also "reachable".
            if domain::audit::write_requests(pool, batch, store)
                .await
                .is_ok()
            {
                metrics.audit_written.inc();
                return;
            }
            REFUSED_EVENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::error!(
                error = %err,
                event = ?event,
                "the database refused an audit event; it is left out"
            );
            return;
        }
        let (first, second) = batch.split_at(batch.len() / 2);
        Box::pin(write_all(pool, first, store)).await;
        Box::pin(write_all(pool, second, store)).await;
        return;
    }
}

/// How long a request waits for room in the audit queue before it is answered 503 `SlowDown`
/// (an allowed request) or its refusal goes unrecorded (a refused one, counted in
/// [`UNRECORDED_REFUSALS`]).
const PLACE_WAIT: Duration = Duration::from_secs(1);

/// Refused or failed requests not recorded because the audit queue stayed full (a flood);
/// logged too. Allowed pre-signed requests always have their place (or get 503 `SlowDown`).
pub static UNRECORDED_REFUSALS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A pre-signed request's place in the audit queue, taken by the access check once s3s has
/// authenticated the request (so unauthenticated floods cannot take it), and held until its
/// response is sent. The queue (16,384) is larger than the number of connections the endpoint
/// accepts, so places held by slow downloads cannot starve it; when the writer truly falls
/// behind, new requests get 503 `SlowDown` instead of waiting.
#[derive(Clone)]
pub struct Place {
    queue: mpsc::Sender<RequestEvent>,
    permit: std::sync::Arc<std::sync::Mutex<Option<Permit>>>,
}

impl Place {
    pub async fn take(&self) -> s3s::S3Result<()> {
        match tokio::time::timeout(PLACE_WAIT, self.queue.clone().reserve_owned()).await {
            Ok(Ok(permit)) => {
                if let Ok(mut slot) = self.permit.lock() {
                    *slot = Some(permit);
                }
                Ok(())
            }
            Ok(Err(_)) => Err(s3s::s3_error!(ServiceUnavailable, "Shutting down")),
            Err(_) => {
                tracing::warn!("the audit queue is full; answering SlowDown");
                Err(s3s::s3_error!(SlowDown, "Please reduce your request rate."))
            }
        }
    }

    fn taken(&self) -> Option<Permit> {
        self.permit.lock().ok()?.take()
    }
}

/// What is known of a request before it is served.
pub struct Seen {
    event: RequestEvent,
    method: http::Method,
    path: String,
    /// Refused by the request reader: always an authentication refusal.
    refused_on_reading: bool,
    /// Through a registered share link that was revoked.
    revoked: bool,
    /// Refused for a reason of its own (a share page's state), recorded as denied.
    denied: bool,
    /// A pre-signed request's place in the audit queue (other requests have none).
    place: Option<Place>,
}

impl Seen {
    /// Notes who asks what from where, from the request's one [`Reading`].
    pub fn of(req: &axum::extract::Request, reading: &Reading, log: &AuditLog) -> Self {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| clean(v, MAX_HEADER_CHARS))
        };
        let kind = match reading.auth {
            Auth::Presigned { .. } => ActorKind::Presigned,
            Auth::Header { .. } => ActorKind::User,
            Auth::Anonymous => ActorKind::Anonymous,
        };
        let client_ip =
            req.extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| {
                    let forwarded = req
                        .headers()
                        .get("x-forwarded-for")
                        .and_then(|v| v.to_str().ok());
                    let ip = log.network.client_ip(addr.ip(), forwarded);
                    log.network.record(ip)
                });
        let bucket = reading
            .bucket
            .as_deref()
            .map(|b| clean(b, MAX_HEADER_CHARS));
        let key = reading.key.as_deref().map(|k| clean(k, MAX_KEY_CHARS));
        let method = req.method().clone();
        Seen {
            event: RequestEvent {
                kind: Some(kind),
                access_key_id: reading.access_key().map(|k| clean(k, MAX_HEADER_CHARS)),
                operation: reading.operation.as_str().to_owned(),
                bucket,
                key,
                client_ip,
                user_agent: header("user-agent"),
                request_id: req.extensions().get::<RequestId>().map(|id| id.0.clone()),
                ..RequestEvent::default()
            },
            method,
            path: req.uri().path().to_owned(),
            refused_on_reading: false,
            revoked: false,
            denied: false,
            place: reading.signature().map(|_| Place {
                queue: log.queue.clone(),
                permit: std::sync::Arc::default(),
            }),
        }
    }

    /// A request to a share page (`operation`: `PageView`, `PageDownload`): recorded as a use
    /// of its link, with a place in the audit queue to take before it is served, as a
    /// pre-signed request has.
    pub fn page(
        req: &http::request::Parts,
        log: &AuditLog,
        link: &domain::links::Link,
        operation: &'static str,
    ) -> Self {
        let header = |name: &str| {
            req.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| clean(v, MAX_HEADER_CHARS))
        };
        let client_ip = req
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| log.client_ip(addr.ip(), &req.headers));
        Seen {
            event: RequestEvent {
                kind: Some(ActorKind::Link),
                user: link.user.clone(),
                link_id: Some(link.id.clone()),
                operation: operation.to_owned(),
                bucket: Some(clean(&link.bucket, MAX_HEADER_CHARS)),
                key: Some(clean(&link.key, MAX_KEY_CHARS)),
                client_ip,
                user_agent: header("user-agent"),
                ..RequestEvent::default()
            },
            method: req.method.clone(),
            path: "/s/…".to_owned(),
            refused_on_reading: false,
            revoked: false,
            denied: false,
            place: Some(Place {
                queue: log.queue.clone(),
                permit: std::sync::Arc::default(),
            }),
        }
    }

    /// The request is for `key` (a file or folder within a folder page).
    pub fn on_key(&mut self, key: &str) {
        self.event.key = Some(clean(key, MAX_KEY_CHARS));
    }

    /// The request is refused for `code` (a share page's state, or its file gone): recorded
    /// as denied with that code, whatever the answer's status.
    pub fn refused_as(&mut self, code: &str) {
        self.denied = true;
        self.revoked |= code == domain::links::LinkState::Revoked.as_str();
        self.event.error_code = Some(clean(code, 64));
    }

    /// The request takes its page's last allowed download.
    pub fn last_use(&mut self) {
        self.event.last_use = true;
    }

    /// The place in the audit queue the access check takes, for a pre-signed request.
    pub fn place(&self) -> Option<Place> {
        self.place.clone()
    }

    /// The permit the access check took, if it did.
    fn taken(&self) -> Option<Permit> {
        self.place.as_ref().and_then(Place::taken)
    }

    /// The request reader refused the request (ambiguous or out-of-range authentication).
    pub fn refused_on_reading(&mut self) {
        self.refused_on_reading = true;
    }

    /// The request uses the registered share link `id`, signed as `user`.
    pub fn through_link(&mut self, id: &str, user: Option<String>) {
        self.event.kind = Some(ActorKind::Link);
        self.event.link_id = Some(id.to_owned());
        self.event.user = user;
    }

    /// The request used registered share link `id`, revoked: refused.
    pub fn through_revoked_link(&mut self, id: &str, user: Option<String>) {
        self.through_link(id, user);
        self.revoked = true;
    }

    /// How a request through a registered share link ended, for the metrics; `None` for
    /// any other request.
    pub fn link_outcome(&self, status: http::StatusCode) -> Option<&'static str> {
        self.event.link_id.as_ref()?;
        Some(match status.as_u16() {
            _ if self.revoked => "revoked",
            200..=399 => "allowed",
            401 | 403 => "forbidden",
            404 => "not_found",
            410 => "gone",
            400..=499 => "bad_request",
            _ => "failed",
        })
    }

    /// Records the request with its response, and gives the response back.
    pub async fn finish(mut self, log: &AuditLog, res: Response) -> Response {
        let status = res.status();
        if self.refused_on_reading || is_denial(status) {
            return self.refused(log, res).await;
        }
        let permit = match self.taken() {
            Some(permit) => permit,
            // Not pre-signed: allowed requests of IAM users are not audited.
            None if self.place.is_none() => return res,
            // Pre-signed but answered before the access check took a place (an error such as
            // 404 or 503 SlowDown): recorded if there is room now, without waiting.
            None => match log.queue.clone().try_reserve_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    UNRECORDED_REFUSALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return res;
                }
            },
        };
        self.event.status = status.as_u16();
        self.event.outcome = Some(if self.denied {
            Outcome::Denied
        } else if status.is_client_error() || status.is_server_error() {
            Outcome::Failed
        } else {
            Outcome::Allowed
        });
        // What a complete body is: nothing for HEAD and bodyless statuses, else its length.
        let expected = if self.method == http::Method::HEAD
            || status == http::StatusCode::NOT_MODIFIED
            || status == http::StatusCode::NO_CONTENT
        {
            Some(0)
        } else {
            res.headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        let (parts, body) = res.into_parts();
        let counted = Counted {
            inner: body,
            sent: 0,
            expected,
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
            .map(|c| clean(c, 64));
        let auth_error = self.refused_on_reading
            || parts.status != http::StatusCode::BAD_REQUEST
            || code
                .as_deref()
                .is_some_and(|c| c.starts_with("Authorization"));
        let held = self.taken();
        if auth_error || self.place.is_some() {
            tracing::info!(
                status = parts.status.as_u16(),
                code = code.as_deref().unwrap_or("-"),
                access_key = self.event.access_key_id.as_deref().unwrap_or("-"),
                link = self.event.link_id.as_deref().unwrap_or("-"),
                method = %self.method,
                path = %clean(&self.path, MAX_KEY_CHARS),
                "S3 request denied"
            );
            let permit = match held {
                Some(permit) => Some(permit),
                None => log.permit().await,
            };
            self.event.status = parts.status.as_u16();
            self.event.error_code = code.or(self.event.error_code.take());
            self.event.outcome = Some(if auth_error || self.denied {
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
    /// The body's full length when known (`Content-Length`): hyper stops polling a body once
    /// that many bytes are out, so reaching it is what "complete" means.
    expected: Option<u64>,
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
        let complete = self.inner.is_end_stream() || self.expected == Some(self.sent);
        self.send(complete);
    }
}

/// Whether a response may refuse the request for authentication or authorization.
fn is_denial(status: http::StatusCode) -> bool {
    status == http::StatusCode::FORBIDDEN
        || status == http::StatusCode::UNAUTHORIZED
        || status == http::StatusCode::BAD_REQUEST
}
