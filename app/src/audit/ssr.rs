//! Reading the audit trail for the console and its exports.

use domain::audit::{Event, Filter};
use domain::db::Pool;

use super::{AuditEvent, AuditQuery, PAGE};
use crate::error::AppError;

/// The filters of `query` as the domain takes them.
///
/// This fails if: a time or the outcome cannot be read.
pub fn filter(query: &AuditQuery) -> Result<Filter, AppError> {
    let text = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let outcome = text(&query.outcome)
        .map(|o| o.parse())
        .transpose()
        .map_err(|_| AppError::invalid("outcome", "Choose allowed, denied or failed."))?;
    Ok(Filter {
        actor: text(&query.actor),
        action: text(&query.action),
        bucket: text(&query.bucket),
        outcome,
        since: time(&query.since, "since")?,
        until: time(&query.until, "until")?,
        ..Filter::default()
    })
}

/// A date (`2026-11-28`) or RFC 3339 time, UTC, as Unix milliseconds.
fn time(text: &str, field: &str) -> Result<Option<i64>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let parsed = humantime::parse_rfc3339_weak(text)
        .or_else(|_| humantime::parse_rfc3339_weak(&format!("{text}T00:00:00Z")))
        .map_err(|_| {
            AppError::invalid(
                field,
                "Give a date like 2026-11-28 or 2026-11-28T08:00:00Z.",
            )
        })?;
    Ok(parsed
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
}

pub async fn page(pool: &Pool, query: &AuditQuery) -> Result<Vec<AuditEvent>, AppError> {
    let before = query.before.trim().parse::<i64>().ok();
    let events = domain::audit::query(pool, &filter(query)?, before, PAGE)
        .await
        .map_err(|e| crate::error::ssr::domain(e, "actor"))?;
    Ok(events.into_iter().map(event_view).collect())
}

pub fn event_view(e: Event) -> AuditEvent {
    let kind = serde_json::to_value(e.actor_kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    AuditEvent {
        id: e.id,
        at: e.at,
        actor_kind: kind,
        actor: e.actor,
        access_key_id: e.access_key_id,
        link_id: e.link_id,
        action: e.action,
        target: e.target,
        bucket: e.bucket,
        object_key: e.object_key,
        outcome: e.outcome.to_string(),
        status: e.status,
        error_code: e.error_code,
        bytes_sent: e.bytes_sent,
        client_ip: e.client_ip,
        user_agent: e.user_agent,
    }
}
