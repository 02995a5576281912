//! Webhooks, told of link events as the audit records them: a URL bucketshare POSTs a signed JSON event to when a link is used: an access
//! ([`Kind::Access`]), a file arriving at an upload page, a wrong page password, a page's last
//! allowed download. A link may have its own webhook; links without one use the default webhook
//! (Settings), if there is one.
//!
//! Events are never sent from the request that caused them. They are written to an outbox
//! (`webhook_deliveries`) in the same transaction as the audit event or the change that caused
//! them ([`enqueue`]), and a sender task (`server/src/webhooks.rs`) posts what is due
//! ([`due`], [`claim`], [`settle`]): so a receiver that is down, slow or wrong slows nothing
//! and loses nothing; events wait, retried with backoff, until they are answered 2xx or are
//! [`GIVE_UP_MS`] old. While a receiver fails, one event at a time probes it.
//!
//! Each POST carries `X-Bucketshare-Signature: t=UNIX,v1=HEX`, the HMAC-SHA256 of
//! `UNIX.BODY` under the webhook's secret ([`sign`]): a receiver checks it and the time, and
//! thus knows the event came from here, unchanged and recent. The secret (`whsec_…`) is shown
//! once, when the webhook is made; it is kept sealed with the master key.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{self as audit, Action, Origin, RequestEvent, now_millis};
use crate::db::Pool;
use crate::secrets::MasterKey;
use crate::{Error, Result, write_tx};

/// The header with the signature: `t=UNIX,v1=HEX`.
pub const SIGNATURE_HEADER: &str = "x-bucketshare-signature";
/// The header naming the event (`link.access`…).
pub const EVENT_HEADER: &str = "x-bucketshare-event";
/// The header with the delivery's id (the event's `id`; the same on every retry of it).
pub const DELIVERY_HEADER: &str = "x-bucketshare-delivery";
/// How long an event is retried before it is given up: three days.
pub const GIVE_UP_MS: i64 = 3 * 24 * 3600 * 1000;
/// The longest pause between attempts while a receiver fails.
pub const MAX_BACKOFF_MS: i64 = 5 * 60 * 1000;
/// How long a sender holds an event it claimed before another may try it (an attempt times
/// out well before).
pub const LEASE_MS: i64 = 60_000;
/// The longest URL a webhook may have.
const MAX_URL: usize = 2048;
/// What the secret is sealed as (see [`MasterKey::seal_bytes`]).
const SEALED_AS: &str = "webhook-secret";

/// What happened, as the event's `type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A link or page was used: a download, a view, a pre-signed request answered.
    #[serde(rename = "link.access")]
    Access,
    /// A file arrived through an upload page.
    #[serde(rename = "link.upload")]
    Upload,
    /// A wrong password was typed on a share page.
    #[serde(rename = "link.password_failed")]
    PasswordFailed,
    /// A page's last allowed download was taken: it serves no more.
    #[serde(rename = "link.exhausted")]
    Exhausted,
    /// Sent from the console or the CLI to try the receiver.
    #[serde(rename = "webhook.test")]
    Test,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Access => "link.access",
            Kind::Upload => "link.upload",
            Kind::PasswordFailed => "link.password_failed",
            Kind::Exhausted => "link.exhausted",
            Kind::Test => "webhook.test",
        }
    }
}

/// A webhook as stored, with what its deliveries did (times in Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Webhook {
    pub id: String,
    /// The link's id, or `""` for the default webhook.
    pub scope: String,
    pub url: String,
    pub created_at: i64,
    pub created_by: String,
    /// Events answered 2xx.
    pub delivered: i64,
    /// Failed attempts in a row (0 once one succeeds).
    pub failures: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<i64>,
    pub last_success_at: Option<i64>,
    /// Nothing is sent before this (the backoff after failures).
    pub retry_at: i64,
}

/// A webhook's secret, shown once.
pub struct Secret(Zeroizing<String>);

impl Secret {
    fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(&mut bytes[..]);
        Secret(Zeroizing::new(format!(
            "whsec_{}",
            URL_SAFE_NO_PAD.encode(&bytes[..])
        )))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The scope a link (or `None`: the default) is stored under.
fn scope(link: Option<&str>) -> &str {
    link.unwrap_or("")
}

/// A receiver's URL as it will be called: `http` or `https`, with a host, no credentials or
/// fragment, at most 2,048 characters.
pub fn check_url(text: &str) -> Result<String> {
    let invalid = |message: &str| Error::invalid("url", message);
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid("give the receiver's URL (https://…)"));
    }
    if text.len() > MAX_URL {
        return Err(invalid("a webhook URL has at most 2048 characters"));
    }
    let url = url::Url::parse(text).map_err(|e| invalid(&format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("a webhook URL starts with https:// or http://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("a webhook URL names a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "a webhook URL carries no user name or password: the signature proves the sender",
        ));
    }
    if url.fragment().is_some() {
        return Err(invalid("a webhook URL has no #fragment"));
    }
    Ok(url.to_string())
}

/// Attaches a webhook posting to `url` to `link` (`None`: the default one), with a new secret.
/// If it had one, that one is changed in place: its events still waiting go to the new URL,
/// signed with the new secret, at once (a wrong or moved URL is fixed this way without losing
/// them). Returns it and its secret, which is not kept in the clear: it cannot be shown again.
pub async fn attach(
    pool: &Pool,
    master: &MasterKey,
    by: &Origin,
    link: Option<&str>,
    url: &str,
) -> Result<(Webhook, Secret)> {
    let url = check_url(url)?;
    let secret = Secret::generate();
    let sealed = master.seal_bytes(SEALED_AS, secret.expose().as_bytes())?;
    let now = now_millis();
    let mut tx = write_tx(pool).await?;
    if let Some(link) = link {
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM share_links WHERE id = $1")
            .bind(link)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(Error::not_found("link", link));
        }
    }
    let before: Option<(String, String)> =
        sqlx::query_as("SELECT id, url FROM webhooks WHERE scope = $1")
            .bind(scope(link))
            .fetch_optional(&mut *tx)
            .await?;
    let id = match &before {
        Some((id, _)) => {
            sqlx::query(
                "UPDATE webhooks SET url = $1, secret_sealed = $2, created_at = $3,
                     created_by = $4, failures = 0, retry_at = 0, last_error = NULL
                 WHERE id = $5",
            )
            .bind(&url)
            .bind(sealed)
            .bind(now)
            .bind(&by.name)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE webhook_deliveries SET next_at = $1
                 WHERE webhook_id = $2 AND done_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            id.clone()
        }
        None => {
            let id = crate::random_id('w');
            sqlx::query(
                "INSERT INTO webhooks (id, scope, link_id, url, secret_sealed, created_at,
                     created_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&id)
            .bind(scope(link))
            .bind(link)
            .bind(&url)
            .bind(sealed)
            .bind(now)
            .bind(&by.name)
            .execute(&mut *tx)
            .await?;
            id
        }
    };
    let mut action = Action::new("webhook.attach", link.unwrap_or("default")).detail(
        serde_json::json!({ "url": url, "webhook": id, "replaced": before.map(|(_, url)| url) }),
    );
    if let Some(link) = link {
        action = action.link(link);
    }
    audit::record_action(&mut tx, by, action).await?;
    tx.commit().await?;
    let webhook = get(pool, link)
        .await?
        .ok_or_else(|| Error::not_found("webhook", &id))?;
    Ok((webhook, secret))
}

/// Removes `link`'s webhook (`None`: the default one), with its undelivered events; `false`
/// when there was none.
pub async fn remove(pool: &Pool, by: &Origin, link: Option<&str>) -> Result<bool> {
    let mut tx = write_tx(pool).await?;
    let url: Option<String> =
        sqlx::query_scalar("DELETE FROM webhooks WHERE scope = $1 RETURNING url")
            .bind(scope(link))
            .fetch_optional(&mut *tx)
            .await?;
    let Some(url) = url else {
        return Ok(false);
    };
    let mut action = Action::new("webhook.remove", link.unwrap_or("default"))
        .detail(serde_json::json!({ "url": url }));
    if let Some(link) = link {
        action = action.link(link);
    }
    audit::record_action(&mut tx, by, action).await?;
    tx.commit().await?;
    Ok(true)
}

/// `link`'s own webhook (`None`: the default one).
pub async fn get(pool: &Pool, link: Option<&str>) -> Result<Option<Webhook>> {
    Ok(sqlx::query_as(
        "SELECT id, scope, url, created_at, created_by, delivered, failures, last_status,
             last_error, last_attempt_at, last_success_at, retry_at
         FROM webhooks WHERE scope = $1",
    )
    .bind(scope(link))
    .fetch_optional(pool)
    .await?)
}

/// One event sent or to send, as the console shows it (times in Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Delivery {
    pub id: String,
    pub event: String,
    pub created_at: i64,
    pub attempts: i64,
    #[sqlx(try_from = "crate::db::Flag")]
    pub delivered: bool,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    /// When it was delivered or given up; `None` while it waits.
    pub done_at: Option<i64>,
}

/// The newest `limit` events of webhook `id`, and how many wait to be sent.
pub async fn recent(pool: &Pool, id: &str, limit: i64) -> Result<(Vec<Delivery>, i64)> {
    let shown = sqlx::query_as(
        "SELECT id, event, created_at, attempts, delivered, last_status, last_error, done_at
         FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let waiting = sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = $1 AND done_at IS NULL",
    )
    .bind(id)
    .fetch_one(pool)
    .await?;
    Ok((shown, waiting))
}

/// Sends a `webhook.test` event to `link`'s webhook (`None`: the default one).
pub async fn send_test(pool: &Pool, by: &Origin, link: Option<&str>) -> Result<()> {
    let Some(webhook) = get(pool, link).await? else {
        return Err(Error::not_found("webhook", link.unwrap_or("default")));
    };
    let mut tx = write_tx(pool).await?;
    let fields = serde_json::json!({ "link": link, "sent_by": by.name });
    enqueue(&mut tx, &webhook.id, Kind::Test, fields, now_millis()).await?;
    tx.commit().await?;
    Ok(())
}

/// Which webhook each link's events go to: its own, else the default; read once per batch of
/// events ([`Routes::load`]).
#[derive(Debug, Default)]
pub struct Routes {
    by_scope: HashMap<String, String>,
}

impl Routes {
    pub async fn load(conn: &mut sqlx::AnyConnection) -> Result<Self> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT scope, id FROM webhooks")
            .fetch_all(conn)
            .await?;
        Ok(Routes {
            by_scope: rows.into_iter().collect(),
        })
    }

    /// The webhook `link`'s events go to, if any.
    pub fn of(&self, link: &str) -> Option<&str> {
        self.by_scope
            .get(link)
            .or_else(|| self.by_scope.get(""))
            .map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.by_scope.is_empty()
    }
}

/// What a request through a link tells its webhook: none, one or two events.
pub fn kinds_of(event: &RequestEvent) -> Vec<Kind> {
    let mut kinds = Vec::new();
    if event.link_id.is_none() {
        return kinds;
    }
    let allowed = event.outcome == Some(audit::Outcome::Allowed);
    // An upload page's own calls (offers, parts, completions) are not accesses: the file's
    // arrival is its own event.
    let machinery = event.operation.starts_with("PageUpload") || event.operation == "PageUnlock";
    if allowed && !machinery {
        kinds.push(Kind::Access);
    }
    if event.error_code.as_deref() == Some("WrongPassword") {
        kinds.push(Kind::PasswordFailed);
    }
    if allowed && event.last_use {
        kinds.push(Kind::Exhausted);
    }
    kinds
}

/// What an event says of the request that caused it.
pub fn request_fields(event: &RequestEvent) -> serde_json::Value {
    serde_json::json!({
        "link": event.link_id,
        "operation": event.operation,
        "bucket": event.bucket,
        "key": event.key,
        "status": event.status,
        "error": event.error_code,
        "bytes_sent": event.bytes_sent,
        "client_ip": event.client_ip,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
    })
}

/// Queues event `kind` for webhook `webhook_id` in the caller's transaction: the payload is
/// `fields` with the event's `id`, `type` and `at` (RFC 3339, UTC). Its `seq` follows every
/// event queued before (writers take turns: `write_tx`), and events are sent in that order.
pub async fn enqueue(
    conn: &mut sqlx::AnyConnection,
    webhook_id: &str,
    kind: Kind,
    fields: serde_json::Value,
    at_ms: i64,
) -> Result<()> {
    let id = crate::random_id('e');
    let at = std::time::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(at_ms).unwrap_or_default());
    let mut payload = serde_json::json!({
        "id": id,
        "type": kind.as_str(),
        "at": humantime::format_rfc3339_millis(at).to_string(),
    });
    if let (Some(payload), serde_json::Value::Object(fields)) = (payload.as_object_mut(), fields) {
        for (name, value) in fields {
            payload.entry(name).or_insert(value);
        }
    }
    let now = now_millis();
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, webhook_id, event, payload, seq, created_at, next_at)
         VALUES ($1, $2, $3, $4,
             (SELECT COALESCE(MAX(seq), 0) + 1 FROM webhook_deliveries), $5, $5)",
    )
    .bind(&id)
    .bind(webhook_id)
    .bind(kind.as_str())
    .bind(payload.to_string())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Queues `kind` for `link`'s webhook (its own, else the default), if it has one, in the
/// caller's transaction.
pub async fn enqueue_for_link(
    conn: &mut sqlx::AnyConnection,
    link: &str,
    kind: Kind,
    fields: serde_json::Value,
) -> Result<()> {
    let webhook: Option<String> = sqlx::query_scalar(
        "SELECT id FROM webhooks WHERE scope = $1 OR scope = '' ORDER BY scope DESC LIMIT 1",
    )
    .bind(link)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(webhook) = webhook {
        enqueue(conn, &webhook, kind, fields, now_millis()).await?;
    }
    Ok(())
}

/// An event due to be sent, with where to and how to sign it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Due {
    pub id: String,
    pub webhook_id: String,
    pub event: String,
    pub payload: String,
    pub created_at: i64,
    pub next_at: i64,
    pub attempts: i64,
    pub url: String,
    pub secret_sealed: Vec<u8>,
    /// The webhook's failures in a row, before this attempt.
    pub failures: i64,
}

/// The webhooks with events due at `now` (Unix ms) and not backing off.
pub async fn due_webhooks(pool: &Pool, now: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT d.webhook_id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.done_at IS NULL AND d.next_at <= $1 AND w.retry_at <= $1
         GROUP BY d.webhook_id",
    )
    .bind(now)
    .fetch_all(pool)
    .await?)
}

/// Webhook `webhook`'s events due at `now` (Unix ms), oldest first: at most `limit`, and only
/// one while it has been failing (that one probes the receiver).
pub async fn due(pool: &Pool, webhook: &str, now: i64, limit: i64) -> Result<Vec<Due>> {
    let mut rows: Vec<Due> = sqlx::query_as(
        "SELECT d.id, d.webhook_id, d.event, d.payload, d.created_at, d.next_at, d.attempts,
             w.url, w.secret_sealed, w.failures
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.webhook_id = $1 AND d.done_at IS NULL AND d.next_at <= $2
             AND w.retry_at <= $2
         ORDER BY d.seq LIMIT $3",
    )
    .bind(webhook)
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    if rows.first().is_some_and(|d| d.failures > 0) {
        rows.truncate(1);
    }
    Ok(rows)
}

/// Takes `due` for one attempt at `now`: `false` if another sender took it first, or its
/// webhook started backing off since it was read (another attempt failed).
pub async fn claim(pool: &Pool, due: &Due, now: i64) -> Result<bool> {
    let taken = sqlx::query(
        "UPDATE webhook_deliveries SET next_at = $1, attempts = attempts + 1
         WHERE id = $2 AND next_at = $3 AND done_at IS NULL
             AND EXISTS (SELECT 1 FROM webhooks w
                         WHERE w.id = webhook_deliveries.webhook_id AND w.retry_at <= $4)",
    )
    .bind(now + LEASE_MS)
    .bind(&due.id)
    .bind(due.next_at)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(taken == 1)
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The receiver answered with this status (2xx: delivered).
    Answered(u16),
    /// No answer: the connection failed or timed out (the reason).
    NoAnswer(String),
}

/// The pause after a webhook's `failures`-th failure in a row: 1 s, doubling, at most
/// [`MAX_BACKOFF_MS`].
pub fn backoff_ms(failures: i64) -> i64 {
    let doublings = u32::try_from(failures.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    (1000_i64 << doublings).min(MAX_BACKOFF_MS)
}

/// Records what the attempt at `due` did at `now`, on the event and on its webhook.
pub async fn settle(pool: &Pool, due: &Due, attempt: &Attempt, now: i64) -> Result<()> {
    let (status, error) = match attempt {
        Attempt::Answered(status) if (200..300).contains(status) => {
            (Some(i64::from(*status)), None)
        }
        Attempt::Answered(status) => (Some(i64::from(*status)), Some(format!("answered {status}"))),
        Attempt::NoAnswer(reason) => (None, Some(audit::clean(reason, 300))),
    };
    let mut tx = write_tx(pool).await?;
    let Some(error) = error else {
        sqlx::query(
            "UPDATE webhook_deliveries SET done_at = $1, delivered = 1, last_status = $2,
                 last_error = NULL WHERE id = $3",
        )
        .bind(now)
        .bind(status)
        .bind(&due.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhooks SET delivered = delivered + 1, failures = 0, retry_at = 0,
                 last_status = $1, last_error = NULL, last_attempt_at = $2, last_success_at = $2
             WHERE id = $3",
        )
        .bind(status)
        .bind(now)
        .bind(&due.webhook_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(());
    };
    let failures: Option<i64> = sqlx::query_scalar(
        "UPDATE webhooks SET failures = failures + 1, last_status = $1, last_error = $2,
             last_attempt_at = $3
         WHERE id = $4 RETURNING failures",
    )
    .bind(status)
    .bind(&error)
    .bind(now)
    .bind(&due.webhook_id)
    .fetch_optional(&mut *tx)
    .await?;
    let pause = backoff_ms(failures.unwrap_or(1));
    sqlx::query("UPDATE webhooks SET retry_at = $1 WHERE id = $2")
        .bind(now + pause)
        .bind(&due.webhook_id)
        .execute(&mut *tx)
        .await?;
    if now - due.created_at >= GIVE_UP_MS {
        sqlx::query(
            "UPDATE webhook_deliveries SET done_at = $1, last_status = $2, last_error = $3
             WHERE id = $4",
        )
        .bind(now)
        .bind(status)
        .bind(format!(
            "given up after {} attempts: {error}",
            due.attempts + 1
        ))
        .bind(&due.id)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query(
            "UPDATE webhook_deliveries SET next_at = $1, last_status = $2, last_error = $3
             WHERE id = $4",
        )
        .bind(now + pause)
        .bind(status)
        .bind(&error)
        .bind(&due.id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Opens a webhook's sealed secret; `None` if this master key did not seal it.
pub fn open_secret(master: &MasterKey, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    master.open_bytes(SEALED_AS, sealed)
}

/// The signature header's value for `body` sent at `timestamp` (Unix seconds):
/// `t=TIMESTAMP,v1=HEX(HMAC-SHA256(secret, "TIMESTAMP.BODY"))`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    use hmac::Mac as _;
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        // HMAC takes a key of any length; this cannot happen.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Forgets events delivered or given up before `before` (Unix ms); how many.
pub async fn sweep(pool: &Pool, before: i64) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM webhook_deliveries WHERE done_at IS NOT NULL AND done_at < $1")
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert_eq!(
            check_url(" https://hooks.example.com/in?x=1 ").unwrap(),
            "https://hooks.example.com/in?x=1"
        );
        assert!(check_url("http://127.0.0.1:9000/").is_ok());
        for bad in [
            "",
            "hooks.example.com",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://example.com/#x",
            "javascript:alert(1)",
            "file:///etc/passwd",
        ] {
            assert!(check_url(bad).is_err(), "{bad} was taken");
        }
        assert!(check_url(&format!("https://e.com/{}", "a".repeat(2048))).is_err());
    }

    #[test]
    fn signatures_are_hmac_sha256_of_time_and_body() {
        let signed = sign(b"Jefe", 0, b"");
        assert!(signed.starts_with("t=0,v1="));
        assert_eq!(signed.len(), "t=0,v1=".len() + 64);
        assert_ne!(sign(b"Jefe", 1, b"x"), sign(b"Jefe", 2, b"x"));
        assert_ne!(sign(b"Jefe", 1, b"x"), sign(b"Jeff", 1, b"x"));
        // Computed independently: Python's hmac.new(b"key", b"1.body", sha256).
        assert_eq!(
            sign(b"key", 1, b"body"),
            "t=1,v1=91b5374b153842ad05b2c4eab9349b8321b14703165bd3fb8b034dfb8be98ae5"
        );
    }

    #[test]
    fn backoff_doubles_to_five_minutes() {
        assert_eq!(backoff_ms(1), 1000);
        assert_eq!(backoff_ms(2), 2000);
        assert_eq!(backoff_ms(5), 16_000);
        assert_eq!(backoff_ms(40), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(0), 1000);
    }

    #[test]
    fn requests_through_links_make_their_events() {
        let allowed = RequestEvent {
            link_id: Some("l1".into()),
            operation: "PageDownload".into(),
            outcome: Some(audit::Outcome::Allowed),
            ..RequestEvent::default()
        };
        assert_eq!(kinds_of(&allowed), vec![Kind::Access]);
        let last = RequestEvent {
            last_use: true,
            ..allowed.clone()
        };
        assert_eq!(kinds_of(&last), vec![Kind::Access, Kind::Exhausted]);
        let wrong = RequestEvent {
            operation: "PageUnlock".into(),
            outcome: Some(audit::Outcome::Denied),
            error_code: Some("WrongPassword".into()),
            ..allowed.clone()
        };
        assert_eq!(kinds_of(&wrong), vec![Kind::PasswordFailed]);
        let part = RequestEvent {
            operation: "PageUploadPart".into(),
            ..allowed.clone()
        };
        assert!(kinds_of(&part).is_empty());
        let no_link = RequestEvent {
            link_id: None,
            ..allowed
        };
        assert!(kinds_of(&no_link).is_empty());
    }
}
