//! The webhook sender: posts the events the audit queued for the links' webhooks
//! (`domain::audit::webhooks`), signed, each answered 2xx or retried with backoff. It runs
//! beside the endpoints and never in a request's way. Each webhook's events go in order, one
//! at a time, from a task of its own: a failure stops them until the backoff ends, and a slow
//! receiver holds up no other. Several instances on one database share the work (each event
//! is claimed before it is sent).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use domain::audit::now_millis;
use domain::audit::webhooks::{self, Attempt, Due};
use domain::db::Pool;
use domain::secrets::MasterKey;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;

/// How often the outbox is looked at: an event waits about this long at most, once due.
const POLL: Duration = Duration::from_millis(500);
/// How long one attempt may take, connection included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Events of one webhook read at a time.
const QUEUE: i64 = 64;
/// Webhooks sent to at once, at most.
const AT_ONCE: usize = 16;
/// How long sent events stay listed on their link's page.
const KEPT: Duration = Duration::from_secs(7 * 24 * 3600);

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// The sender: its HTTP client and what it signs with.
#[derive(Clone)]
pub struct Sender {
    pool: Pool,
    master: Arc<MasterKey>,
    client: Client<Https, Full<Bytes>>,
    /// The webhooks a task is sending to now.
    busy: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    slots: Arc<tokio::sync::Semaphore>,
}

impl Sender {
    /// A sender over `pool`'s outbox, opening secrets with `master`.
    pub fn new(pool: Pool, master: Arc<MasterKey>) -> anyhow::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if roots.is_empty() {
            tracing::warn!(
                "no CA certificates found on this system: webhooks to https:// URLs will fail"
            );
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(Sender {
            pool,
            master,
            client,
            busy: Arc::default(),
            slots: Arc::new(tokio::sync::Semaphore::new(AT_ONCE)),
        })
    }

    /// Sends what is due, forever (and forgets what was sent a week ago, hourly).
    pub async fn run(self) {
        let mut last_sweep = tokio::time::Instant::now();
        loop {
            if let Err(err) = self.send_due().await {
                tracing::warn!(error = %err, "cannot send webhook events; trying again");
            }
            if last_sweep.elapsed() > Duration::from_secs(3600) {
                last_sweep = tokio::time::Instant::now();
                let before = now_millis() - i64::try_from(KEPT.as_millis()).unwrap_or(0);
                if let Err(err) = webhooks::sweep(&self.pool, before).await {
                    tracing::warn!(error = %err, "cannot forget old webhook events");
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Starts sending to each webhook with events due, one task per webhook (at most
    /// [`AT_ONCE`]); a webhook still being sent to is left to its task. Returns at once: a slow
    /// or hanging receiver holds up only its own events.
    pub async fn send_due(&self) -> domain::Result<()> {
        for webhook in webhooks::due_webhooks(&self.pool, now_millis()).await? {
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                return Ok(());
            };
            let fresh = self
                .busy
                .lock()
                .map(|mut busy| busy.insert(webhook.clone()))
                .unwrap_or(false);
            if !fresh {
                continue;
            }
            let sender = self.clone();
            tokio::spawn(async move {
                if let Err(err) = sender.send_queue(&webhook).await {
                    tracing::warn!(error = %err, webhook = %webhook, "cannot send webhook events");
                }
                if let Ok(mut busy) = sender.busy.lock() {
                    busy.remove(&webhook);
                }
                drop(slot);
            });
        }
        Ok(())
    }

    /// Sends `webhook`'s due events in order, one at a time, until one fails (the rest wait
    /// for the backoff) or none is left.
    async fn send_queue(&self, webhook: &str) -> domain::Result<()> {
        loop {
            let due = webhooks::due(&self.pool, webhook, now_millis(), QUEUE).await?;
            if due.is_empty() {
                return Ok(());
            }
            for event in &due {
                if !self.send(event).await? {
                    return Ok(());
                }
            }
        }
    }

    /// Makes one attempt at `due`; whether it was delivered.
    async fn send(&self, due: &Due) -> domain::Result<bool> {
        if !webhooks::claim(&self.pool, due, now_millis()).await? {
            return Ok(false);
        }
        let attempt = match webhooks::open_secret(&self.master, &due.secret_sealed) {
            Some(secret) => self.post(due, &secret).await,
            None => Attempt::NoAnswer(
                "the webhook's secret does not open with this master key".to_owned(),
            ),
        };
        let metrics = domain::metrics::get();
        let delivered =
            matches!(attempt, Attempt::Answered(status) if (200..300).contains(&status));
        match &attempt {
            Attempt::Answered(_) if delivered => metrics.webhook_attempt("delivered"),
            Attempt::Answered(status) => {
                metrics.webhook_attempt("refused");
                tracing::info!(event = %due.id, status, url = %due.url, "a webhook receiver refused an event");
            }
            Attempt::NoAnswer(reason) => {
                metrics.webhook_attempt("no_answer");
                tracing::info!(event = %due.id, reason = %reason, url = %due.url, "a webhook receiver did not answer");
            }
        }
        webhooks::settle(&self.pool, due, &attempt, now_millis()).await?;
        Ok(delivered)
    }

    async fn post(&self, due: &Due, secret: &[u8]) -> Attempt {
        let body = Bytes::from(due.payload.clone());
        let signature = webhooks::sign(secret, now_millis() / 1000, &body);
        let request = http::Request::post(&due.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(
                http::header::USER_AGENT,
                concat!("bucketshare-webhook/", env!("CARGO_PKG_VERSION")),
            )
            .header(webhooks::SIGNATURE_HEADER, signature)
            .header(webhooks::EVENT_HEADER, &due.event)
            .header(webhooks::DELIVERY_HEADER, &due.id)
            .body(Full::new(body));
        let request = match request {
            Ok(request) => request,
            Err(err) => return Attempt::NoAnswer(format!("cannot make the request: {err}")),
        };
        match tokio::time::timeout(ATTEMPT_TIMEOUT, self.client.request(request)).await {
            Ok(Ok(response)) => Attempt::Answered(response.status().as_u16()),
            Ok(Err(err)) => Attempt::NoAnswer(error_chain(&err)),
            Err(_) => {
                Attempt::NoAnswer(format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs()))
            }
        }
    }
}

/// An error with its causes, as one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
