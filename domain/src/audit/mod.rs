//! The audit trail: who did what to which bucket, object, link or account, with what outcome.
//!
//! Admin actions are written by the mutation itself, in its own transaction (every mutating
//! function of this crate takes an [`Origin`]): an action that committed is always in the
//! trail. S3 request events are written in batches by the server's audit writer through
//! [`write_requests`], which also keeps the share links' counters. Link events also go to
//! the links' [`webhooks`], queued in the same transaction.

pub mod webhooks;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::Result;
use crate::db::{Filtered, Pool};

/// Milliseconds since the Unix epoch, the time unit of audit events.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

crate::text_enum! {
    #[text(case = "lowercase", field = "actor")]
    /// Who an event is about.
    pub enum ActorKind {
        /// A console admin, or the admin CLI.
        Admin,
        /// An IAM user's signed request.
        User,
        /// A request through a registered share link.
        Link,
        /// A request through a pre-signed URL made outside bucketshare.
        Presigned,
        /// A request with no signature.
        Anonymous,
    }
}

crate::text_enum! {
    #[text(case = "lowercase", field = "outcome")]
    pub enum Outcome {
        Allowed,
        Denied,
        /// Allowed, but it could not be carried out (a server error, a missing object…).
        Failed,
    }
}

/// Who makes an admin change, and from where: every mutation of this crate takes one and
/// records itself under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub kind: ActorKind,
    pub name: String,
    pub access_key_id: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl Origin {
    /// A console admin.
    pub fn admin(name: &str) -> Self {
        Origin {
            kind: ActorKind::Admin,
            name: name.to_owned(),
            access_key_id: None,
            client_ip: None,
            user_agent: None,
            request_id: None,
        }
    }

    /// The admin CLI, run by the operating-system user in `$USER`.
    pub fn cli() -> Self {
        match std::env::var("USER") {
            Ok(who) if !who.is_empty() => Origin::admin(&format!("cli:{who}")),
            _ => Origin::admin("cli"),
        }
    }

    /// An IAM user acting over S3 with one of their keys (creating or deleting a bucket).
    pub fn user(name: &str, access_key_id: &str) -> Self {
        Origin {
            kind: ActorKind::User,
            access_key_id: Some(access_key_id.to_owned()),
            ..Origin::admin(name)
        }
    }
}

/// What an admin action did, for [`record_action`].
pub struct Action<'a> {
    /// `user.create`, `key.rotate`, `link.revoke`…
    pub action: &'a str,
    pub target: &'a str,
    pub bucket: Option<&'a str>,
    pub key: Option<&'a str>,
    /// The share link acted on, so that its history shows with its accesses.
    pub link: Option<&'a str>,
    /// Before/after and other particulars, as JSON.
    pub detail: Option<serde_json::Value>,
    pub outcome: Outcome,
}

impl<'a> Action<'a> {
    pub fn new(action: &'a str, target: &'a str) -> Self {
        Action {
            action,
            target,
            bucket: None,
            key: None,
            link: None,
            detail: None,
            outcome: Outcome::Allowed,
        }
    }

    /// The action was refused (a failed sign-in).
    pub fn denied(mut self) -> Self {
        self.outcome = Outcome::Denied;
        self
    }

    pub fn on(mut self, bucket: &'a str, key: Option<&'a str>) -> Self {
        self.bucket = Some(bucket);
        self.key = key;
        self
    }

    pub fn link(mut self, id: &'a str) -> Self {
        self.link = Some(id);
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// Records an admin action in the caller's transaction (which then tells this process's
/// access views when it commits: see [`crate::db::local_changes`]).
pub async fn record_action(tx: &mut crate::db::Tx, by: &Origin, action: Action<'_>) -> Result<()> {
    tx.mark_changed();
    let conn: &mut AnyConnection = &mut *tx;
    sqlx::query(
        "INSERT INTO audit_events (at, actor_kind, actor, access_key_id, link_id, action, target,
             bucket, object_key, outcome, status, client_ip, user_agent, request_id, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11, $12, $13, $14)",
    )
    .bind(now_millis())
    .bind(by.kind)
    .bind(&by.name)
    .bind(&by.access_key_id)
    .bind(action.link)
    .bind(action.action)
    .bind(action.target)
    .bind(action.bucket)
    .bind(action.key)
    .bind(action.outcome)
    .bind(&by.client_ip)
    .bind(&by.user_agent)
    .bind(&by.request_id)
    .bind(action.detail.map(|d| d.to_string()))
    .execute(conn)
    .await?;
    Ok(())
}

/// Client-supplied text as the audit and the logs keep it: control characters (NUL included)
/// replaced by U+FFFD, and at most `max` characters (the cut marked with `…`). Whatever a
/// client sends, an event stays small and storable by either database.
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    for (n, c) in text.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { '\u{FFFD}' } else { c });
    }
    out
}

/// The longest client-supplied texts an event keeps, in characters: S3 keys and paths may be
/// 1,024 bytes; the rest is far shorter in practice.
pub const MAX_KEY_CHARS: usize = 1024;
pub const MAX_HEADER_CHARS: usize = 256;

/// One S3 request, as the endpoint saw it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestEvent {
    pub at: i64,
    pub kind: Option<ActorKind>,
    /// The IAM user, when known at request time (links know their signer); otherwise looked up
    /// from the access key when written.
    pub user: Option<String>,
    pub access_key_id: Option<String>,
    pub link_id: Option<String>,
    pub operation: String,
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub outcome: Option<Outcome>,
    pub status: u16,
    pub error_code: Option<String>,
    pub bytes_sent: u64,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// The request took a share page's last allowed download (its webhook hears of it).
    pub last_use: bool,
}

/// Writes a batch of request events in one transaction: the events themselves when `store` is
/// set (the audit can be switched off for S3 requests), and in any case the access counters of
/// the share links they went through (one update per link, however many of its accesses the
/// batch holds) and the hourly counts of pre-signed requests ([`access_hours`]).
pub async fn write_requests(pool: &Pool, events: &[RequestEvent], store: bool) -> Result<()> {
    // link id → (accesses, bytes, last access in Unix seconds)
    let mut served: std::collections::HashMap<&str, (i64, i64, i64)> =
        std::collections::HashMap::new();
    // hour → (allowed, not allowed), of requests through links and other pre-signed URLs
    let mut hours: std::collections::BTreeMap<i64, (i64, i64)> = std::collections::BTreeMap::new();
    for event in events {
        if matches!(event.kind, Some(ActorKind::Link | ActorKind::Presigned)) {
            let counts = hours.entry(event.at / HOUR_MS).or_default();
            if event.outcome == Some(Outcome::Allowed) {
                counts.0 += 1;
            } else {
                counts.1 += 1;
            }
        }
        if let Some(link) = &event.link_id
            && event.outcome == Some(Outcome::Allowed)
        {
            let counts = served.entry(link.as_str()).or_default();
            counts.0 += 1;
            counts.1 = counts
                .1
                .saturating_add(i64::try_from(event.bytes_sent).unwrap_or(i64::MAX));
            counts.2 = counts.2.max(event.at / 1000);
        }
    }
    let mut tx = crate::db::write_tx(pool).await?;
    let routes = webhooks::Routes::load(&mut tx).await?;
    if store && !events.is_empty() {
        insert_requests(&mut tx, events).await?;
    }
    // What the links' webhooks hear, whether the audit keeps the requests or not.
    for event in events.iter().filter(|_| !routes.is_empty()) {
        let Some(webhook) = event.link_id.as_deref().and_then(|link| routes.of(link)) else {
            continue;
        };
        for kind in webhooks::kinds_of(event) {
            let fields = webhooks::request_fields(event);
            webhooks::enqueue(&mut tx, webhook, kind, fields, event.at).await?;
        }
    }
    for (hour, (allowed, denied)) in hours {
        sqlx::query(
            "INSERT INTO access_hours (hour, allowed, denied) VALUES ($1, $2, $3)
             ON CONFLICT (hour) DO UPDATE SET allowed = access_hours.allowed + excluded.allowed,
                 denied = access_hours.denied + excluded.denied",
        )
        .bind(hour)
        .bind(allowed)
        .bind(denied)
        .execute(&mut *tx)
        .await?;
    }
    for (link, (count, bytes, last)) in served {
        sqlx::query(
            "UPDATE share_links SET access_count = access_count + $1,
                 bytes_served = bytes_served + $2,
                 last_access_at = CASE WHEN last_access_at > $3 THEN last_access_at ELSE $3 END
             WHERE id = $4",
        )
        .bind(count)
        .bind(bytes)
        .bind(last)
        .bind(link)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Stores `events` in one statement, whatever their number: they go as one JSON array, which
/// the database unpacks into rows. A statement per event was a round trip to the database's
/// connection each (two thread switches on SQLite), most of the writer's time; and a statement
/// of many rows of bound values costs SQLite time quadratic in their number.
async fn insert_requests(tx: &mut crate::db::Tx, events: &[RequestEvent]) -> Result<()> {
    /// An event as the statement reads it.
    #[derive(Serialize)]
    struct Row<'a> {
        at: i64,
        kind: &'static str,
        user: Option<String>,
        key_id: Option<String>,
        link: Option<&'a str>,
        action: &'a str,
        bucket: Option<String>,
        key: Option<String>,
        outcome: &'static str,
        status: u16,
        error: Option<String>,
        bytes: i64,
        ip: Option<String>,
        agent: Option<String>,
        request: Option<String>,
    }
    let text = |value: &Option<String>, max: usize| value.as_deref().map(|v| clean(v, max));
    let rows: Vec<Row> = events
        .iter()
        .map(|event| Row {
            at: event.at,
            kind: event.kind.unwrap_or(ActorKind::Anonymous).as_str(),
            user: text(&event.user, MAX_HEADER_CHARS),
            key_id: text(&event.access_key_id, MAX_HEADER_CHARS),
            link: event.link_id.as_deref(),
            action: &event.operation,
            bucket: text(&event.bucket, MAX_HEADER_CHARS),
            key: text(&event.key, MAX_KEY_CHARS),
            outcome: event.outcome.unwrap_or(Outcome::Denied).as_str(),
            status: event.status,
            error: text(&event.error_code, MAX_HEADER_CHARS),
            bytes: i64::try_from(event.bytes_sent).unwrap_or(i64::MAX),
            ip: text(&event.client_ip, MAX_HEADER_CHARS),
            agent: text(&event.user_agent, MAX_HEADER_CHARS),
            request: text(&event.request_id, MAX_HEADER_CHARS),
        })
        .collect();
    // The array's elements, in order, as rows of one column `value`, each parsed once (SQLite
    // would parse an element's text again for each field read from it).
    let elements = match tx.backend() {
        crate::db::Backend::Sqlite => {
            "(SELECT jsonb(value) AS value FROM json_each($1) ORDER BY key LIMIT -1) AS e"
        }
        crate::db::Backend::Postgres => {
            "jsonb_array_elements(CAST($1 AS jsonb)) WITH ORDINALITY AS e(value, n) ORDER BY e.n"
        }
    };
    let sql = format!(
        "INSERT INTO audit_events (at, actor_kind, actor, access_key_id, link_id, action, bucket,
             object_key, outcome, status, error_code, bytes_sent, client_ip, user_agent,
             request_id)
         SELECT CAST(e.value ->> 'at' AS BIGINT), e.value ->> 'kind',
             COALESCE(e.value ->> 'user', (SELECT u.name FROM access_keys k
                 JOIN iam_users u ON u.id = k.user_id WHERE k.id = e.value ->> 'key_id')),
             e.value ->> 'key_id', e.value ->> 'link', e.value ->> 'action',
             e.value ->> 'bucket', e.value ->> 'key', e.value ->> 'outcome',
             CAST(e.value ->> 'status' AS BIGINT), e.value ->> 'error',
             CAST(e.value ->> 'bytes' AS BIGINT), e.value ->> 'ip', e.value ->> 'agent',
             e.value ->> 'request'
         FROM {elements}"
    );
    sqlx::query(&sql)
        .bind(serde_json::to_string(&rows).map_err(|e| sqlx::Error::Encode(e.into()))?)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One audit event, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    /// Unix milliseconds.
    pub at: i64,
    pub actor_kind: ActorKind,
    pub actor: Option<String>,
    pub access_key_id: Option<String>,
    pub link_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub bucket: Option<String>,
    pub object_key: Option<String>,
    pub outcome: Outcome,
    pub status: Option<i64>,
    pub error_code: Option<String>,
    pub bytes_sent: i64,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub detail: Option<String>,
}

/// Which events to show. Every field narrows the result; times are Unix milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub link: Option<String>,
    /// Admin name or IAM user name.
    pub actor: Option<String>,
    pub access_key_id: Option<String>,
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<Outcome>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

/// Events matching `filter`, newest first, at most `limit`, older than the event `before`
/// when given (keyset pagination: pass the last id of a page to get the next one). Only the
/// filters given become conditions, so that SQLite can use the index that fits them.
pub async fn query(
    pool: &Pool,
    filter: &Filter,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<Event>> {
    let mut sql = Filtered::new(
        "SELECT id, at, actor_kind, actor, access_key_id, link_id, action, target, bucket,
                object_key, outcome, status, error_code, bytes_sent, client_ip, user_agent,
                request_id, detail
         FROM audit_events WHERE 1 = 1",
    );
    if let Some(before) = before {
        sql.push(" AND id < ").bind(before);
    }
    let text_filters = [
        ("link_id", &filter.link),
        ("access_key_id", &filter.access_key_id),
        ("object_key", &filter.key),
        ("action", &filter.action),
    ];
    for (column, value) in text_filters {
        if let Some(value) = value {
            sql.push(&format!(" AND {column} = ")).bind(value.clone());
        }
    }
    // An actor or bucket is matched whatever its case and by its beginning: by name (which
    // the indexes serve) when one is known under that name, else by prefix.
    let known = [
        (
            "actor",
            &filter.actor,
            "SELECT name FROM iam_users WHERE lower(name) = lower($1)
             UNION SELECT name FROM admins WHERE lower(name) = lower($1)",
        ),
        (
            "bucket",
            &filter.bucket,
            "SELECT name FROM buckets WHERE name = lower($1)",
        ),
    ];
    for (column, value, lookup) in known {
        let Some(value) = value else { continue };
        let names: Vec<String> = sqlx::query_scalar(lookup)
            .bind(value)
            .fetch_all(pool)
            .await?;
        match names.as_slice() {
            [name] => {
                sql.push(&format!(" AND {column} = ")).bind(name.clone());
            }
            _ => {
                let pattern: String = value
                    .to_lowercase()
                    .chars()
                    .flat_map(|c| match c {
                        '%' | '_' | '\\' => vec!['\\', c],
                        c => vec![c],
                    })
                    .chain(['%'])
                    .collect();
                sql.push(&format!(" AND lower({column}) LIKE "))
                    .bind(pattern)
                    .push(" ESCAPE '\\'");
            }
        }
    }
    if let Some(outcome) = filter.outcome {
        sql.push(" AND outcome = ").bind(outcome);
    }
    if let Some(since) = filter.since {
        sql.push(" AND at >= ").bind(since);
    }
    if let Some(until) = filter.until {
        sql.push(" AND at < ").bind(until);
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(i64::from(limit));
    let (sql, args) = sql.into_parts();
    Ok(sqlx::query_as_with(&sql, args).fetch_all(pool).await?)
}

/// Deletes events older than `before` (Unix milliseconds), a few thousand at a time so that
/// writers are never held up long; returns how many went.
pub async fn sweep(pool: &Pool, before: i64) -> Result<u64> {
    let mut total = 0;
    loop {
        let done = sqlx::query(
            "DELETE FROM audit_events WHERE id IN
                 (SELECT id FROM audit_events WHERE at < $1 ORDER BY at LIMIT 5000)",
        )
        .bind(before)
        .execute(pool)
        .await?;
        total += done.rows_affected();
        if done.rows_affected() < 5000 {
            break;
        }
    }
    sqlx::query("DELETE FROM access_hours WHERE hour < $1")
        .bind(before / HOUR_MS)
        .execute(pool)
        .await?;
    Ok(total)
}

/// An hour in Unix milliseconds, the unit of [`access_hours`].
const HOUR_MS: i64 = 3_600_000;

/// Requests through share links and other pre-signed URLs since `since` (Unix milliseconds),
/// counted per hour: `(hour start in Unix seconds, allowed, not allowed)`, oldest first. Kept by
/// the audit writer (even with the request audit off), so reading a week is at most 168 rows;
/// `since` is rounded down to its hour.
pub async fn access_hours(pool: &Pool, since: i64) -> Result<Vec<(i64, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT hour * 3600, allowed, denied FROM access_hours WHERE hour >= $1 ORDER BY hour",
    )
    .bind(since / HOUR_MS)
    .fetch_all(pool)
    .await?)
}

/// The columns of a CSV export, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "time",
    "actor_kind",
    "actor",
    "access_key_id",
    "link_id",
    "action",
    "target",
    "bucket",
    "object_key",
    "outcome",
    "status",
    "error_code",
    "bytes_sent",
    "client_ip",
    "user_agent",
    "request_id",
    "detail",
];

/// One event as a CSV line (no line end), in [`CSV_COLUMNS`] order; the time is RFC 3339, UTC.
pub fn csv_line(event: &Event) -> String {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let kind = serde_json::to_value(event.actor_kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let time =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(event.at.max(0).unsigned_abs());
    let cells = [
        event.id.to_string(),
        rfc3339_millis(time),
        kind,
        text(&event.actor),
        text(&event.access_key_id),
        text(&event.link_id),
        event.action.clone(),
        text(&event.target),
        text(&event.bucket),
        text(&event.object_key),
        event.outcome.to_string(),
        event.status.map(|s| s.to_string()).unwrap_or_default(),
        text(&event.error_code),
        event.bytes_sent.to_string(),
        text(&event.client_ip),
        text(&event.user_agent),
        text(&event.request_id),
        text(&event.detail),
    ];
    cells
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(",")
}

/// `2026-11-28T08:00:00.123Z`.
fn rfc3339_millis(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// One CSV cell (RFC 4180 quoting). Cells a spreadsheet would run as a formula (a user agent
/// is whatever the client sent) get a leading `'`.
fn csv_cell(text: &str) -> String {
    let formula =
        text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text.parse::<f64>().is_err();
    let text = if formula {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// Where requests come from: which peers are trusted proxies, and whether client addresses
/// are stored whole or truncated (a switch shared by every clone, so that the Settings page
/// turns it for the whole server).
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Store IPv4 addresses as /24 and IPv6 as /48.
    truncate_ips: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Network {
    pub fn new(trusted_proxies: Vec<ipnet::IpNet>, truncate_ips: bool) -> Self {
        let network = Network {
            trusted_proxies,
            ..Network::default()
        };
        network.set_truncating(truncate_ips);
        network
    }

    /// Whether client addresses are stored truncated.
    pub fn truncating(&self) -> bool {
        self.truncate_ips.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Turns truncation on or off, for every clone.
    pub fn set_truncating(&self, on: bool) {
        self.truncate_ips
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// The client's address as it will be recorded: the peer's, or, when the peer is a trusted
    /// proxy, the nearest address in `X-Forwarded-For` that is not one.
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let peer = canonical(peer);
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        let mut client = peer;
        if trusted(&peer)
            && let Some(header) = forwarded_for
        {
            for hop in header.rsplit(',') {
                match hop.trim().parse::<IpAddr>() {
                    Ok(ip) => {
                        client = canonical(ip);
                        if !trusted(&client) {
                            break;
                        }
                    }
                    // A hop that is not an address ends what can be believed.
                    Err(_) => break,
                }
            }
        }
        client
    }

    /// `ip` as stored: truncated when so configured.
    pub fn record(&self, ip: IpAddr) -> String {
        if !self.truncating() {
            return ip.to_string();
        }
        match ip {
            IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                std::net::Ipv4Addr::new(a, b, c, 0).to_string()
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0).to_string()
            }
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) as the IPv4 address they are.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let net = Network::new(vec!["10.0.0.0/8".parse().unwrap()], false);
        // An untrusted peer cannot claim another address.
        assert_eq!(
            net.client_ip(ip("203.0.113.9"), Some("198.51.100.1")),
            ip("203.0.113.9")
        );
        // A trusted proxy's header is read from the right, past other trusted hops.
        assert_eq!(
            net.client_ip(ip("10.0.0.2"), Some("6.6.6.6, 198.51.100.1, 10.0.0.7")),
            ip("198.51.100.1")
        );
        assert_eq!(net.client_ip(ip("10.0.0.2"), None), ip("10.0.0.2"));
        assert_eq!(
            net.client_ip(ip("10.0.0.2"), Some("junk, 10.0.0.3")),
            ip("10.0.0.3")
        );
        assert_eq!(
            net.client_ip(ip("::ffff:203.0.113.9"), None),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "-1");
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_853_400_123);
        assert_eq!(rfc3339_millis(at), "2026-11-28T08:10:00.123Z");
    }

    #[test]
    fn truncation_keeps_only_the_network() {
        let whole = Network::default();
        let cut = Network::new(Vec::new(), true);
        assert_eq!(whole.record(ip("203.0.113.9")), "203.0.113.9");
        assert_eq!(cut.record(ip("203.0.113.9")), "203.0.113.0");
        assert_eq!(cut.record(ip("2001:db8:1:2:3:4:5:6")), "2001:db8:1::");
    }
}
