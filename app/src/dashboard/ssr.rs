//! Dashboard queries.

use domain::db::Pool;

use super::{DayCount, Figures, Overview};
use crate::error::AppError;
use crate::error::ssr::domain as domain_error;
use domain::now_unix;

/// Days in the accesses chart.
const DAYS: i64 = 7;

/// Counts what the dashboard shows; `hours` are the access counts of the chart's week
/// ([`domain::audit::access_hours`]), read once for the chart and the 24-hour figure.
async fn stats(pool: &Pool, now: i64, hours: &[(i64, i64, i64)]) -> Result<Figures, AppError> {
    let (iam_users, access_keys, buckets, any_grant, any_link): (i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM iam_users),
                (SELECT COUNT(*) FROM access_keys WHERE status = 'active'),
                (SELECT COUNT(*) FROM buckets),
                (SELECT COUNT(*) FROM (SELECT 1 FROM grants LIMIT 1) AS g),
                (SELECT COUNT(*) FROM (SELECT 1 FROM share_links LIMIT 1) AS l)",
        )
        .fetch_one(pool)
        .await?;
    // The last 24 hours, counted by the hour: the 24 hours that start after now - 24 h (the
    // current one included, so far).
    let since = (now - 86_400 + 3_599) / 3_600 * 3_600;
    let accesses_24h = hours
        .iter()
        .filter(|(hour, _, _)| *hour >= since)
        .map(|(_, allowed, denied)| allowed + denied)
        .sum();
    let active_links = domain::links::count_active(pool, super::COUNT_CAP)
        .await
        .map_err(|e| domain_error(e, "links"))?;
    let uploads_24h = domain::links::uploads::count_since(pool, now - 86_400)
        .await
        .map_err(|e| domain_error(e, "links"))?;
    Ok(Figures {
        uploads_24h,
        iam_users,
        access_keys,
        buckets,
        active_links,
        accesses_24h,
        any_grant: any_grant > 0,
        any_link: any_link > 0,
    })
}

pub async fn overview(pool: &Pool) -> Result<Overview, AppError> {
    let now = now_unix();
    let today = now - now.rem_euclid(86_400);
    let start = today - (DAYS - 1) * 86_400;
    let hours = domain::audit::access_hours(pool, start * 1000)
        .await
        .map_err(|e| domain_error(e, "audit"))?;
    let accesses = (0..DAYS)
        .map(|i| {
            let day = start / 86_400 + i;
            let (allowed, denied) = hours
                .iter()
                .filter(|(hour, _, _)| hour / 86_400 == day)
                .fold((0, 0), |(a, d), (_, allowed, denied)| {
                    (a + allowed, d + denied)
                });
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
        figures: stats(pool, now, &hours).await?,
        accesses,
        denied,
        expiring,
    })
}
