//! Dashboard queries.

use sqlx::SqlitePool;

use super::Figures;
use crate::error::AppError;
use crate::state::now_unix;

/// Counts what the dashboard shows, in one read transaction so that the figures agree.
pub async fn stats(pool: &SqlitePool) -> Result<Figures, AppError> {
    let (iam_users, buckets, active_links) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM iam_users),
                (SELECT COUNT(*) FROM buckets),
                (SELECT COUNT(*) FROM share_links
                  WHERE revoked_at IS NULL AND expires_at > ?)",
    )
    .bind(now_unix())
    .fetch_one(pool)
    .await?;
    Ok(Figures {
        iam_users,
        buckets,
        active_links,
    })
}
