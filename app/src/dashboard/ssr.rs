//! Dashboard queries.

use domain::db::Pool;

use super::{DayCount, Figures, Overview};
use crate::error::AppError;
use crate::error::ssr::domain as domain_error;
use crate::state::now_unix;

/// Days in the accesses chart.
const DAYS: i64 = 7;

/// Counts what the dashboard shows, in one read so that the figures agree.
pub async fn stats(pool: &Pool) -> Result<Figures, AppError> {
    let now = now_unix();
    let (iam_users, access_keys, buckets, accesses_24h) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM iam_users),
                (SELECT COUNT(*) FROM access_keys WHERE status = 'active'),
                (SELECT COUNT(*) FROM buckets),
                (SELECT COUNT(*) FROM audit_events
                  WHERE actor_kind IN ('link', 'presigned') AND at >= $1)",
    )
    .bind((now - 86_400) * 1000)
    .fetch_one(pool)
    .await?;
    let active_links = domain::links::count_active(pool, super::COUNT_CAP)
        .await
        .map_err(|e| domain_error(e, "links"))?;
    Ok(Figures {
        iam_users,
        access_keys,
        buckets,
        active_links,
        accesses_24h,
    })
}

pub async fn overview(pool: &Pool) -> Result<Overview, AppError> {
    let now = now_unix();
    let today = now - now.rem_euclid(86_400);
    let start = today - (DAYS - 1) * 86_400;
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT at / 86400000 AS day,
                SUM(CASE WHEN outcome = 'allowed' THEN 1 ELSE 0 END),
                SUM(CASE WHEN outcome = 'allowed' THEN 0 ELSE 1 END)
         FROM audit_events
         WHERE actor_kind IN ('link', 'presigned') AND at >= $1
         GROUP BY day",
    )
    .bind(start * 1000)
    .fetch_all(pool)
    .await?;
    let accesses = (0..DAYS)
        .map(|i| {
            let day = start / 86_400 + i;
            let (allowed, denied) = rows
                .iter()
                .find(|(d, _, _)| *d == day)
                .map_or((0, 0), |(_, a, d)| (*a, *d));
            DayCount {
                day: day * 86_400,
                allowed,
                denied,
            }
        })
        .collect();
    let denied = domain::audit::query(
        pool,
        &domain::audit::Filter {
            outcome: Some(domain::audit::Outcome::Denied),
            ..domain::audit::Filter::default()
        },
        None,
        5,
    )
    .await
    .map_err(|e| domain_error(e, "audit"))?
    .into_iter()
    .map(crate::audit::ssr::event_view)
    .collect();
    let expiring = domain::links::expiring(pool, now + 86_400, 10)
        .await
        .map_err(|e| domain_error(e, "links"))?
        .into_iter()
        .map(crate::links::ssr::link_row)
        .collect();
    Ok(Overview {
        figures: stats(pool).await?,
        accesses,
        denied,
        expiring,
    })
}
