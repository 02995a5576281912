//! Throttled password attempts, for admins signing in and for share pages' passwords. Failures
//! are counted over a sliding window in the database (`login_failures`), so that counts survive
//! restarts and are shared by every instance. Three limits: per account *and* client address
//! (guessing one account from one place), per address (one place trying many accounts), and
//! per account from anywhere at [`GLOBAL_FACTOR`] times the first (a distributed guess), so
//! that locking an account out takes far more than a handful of wrong passwords sent from
//! anywhere.
//!
//! Checking and counting are one step ([`charge`]): every attempt is recorded as a failure in
//! the transaction that checks the limits, before its password is verified, and taken back if
//! it succeeds ([`succeeded`]). Concurrent wrong passwords cannot all slip under a limit.

use std::time::Duration;

use crate::db::Pool;
use crate::{Result, now_unix, write_tx};

/// How many more failures than per account and address lock an account from everywhere.
pub const GLOBAL_FACTOR: i64 = 20;

/// The limits of one kind of account.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures from one address on one account.
    pub per_account: u32,
    /// Failures from one address on any accounts.
    pub per_ip: u32,
    /// The window they are counted over.
    pub window: Duration,
}

/// Too many failures: try again in `retry_after_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_secs: u64,
}

/// Checks the limits for `account` (any name: an admin's, or `page:ID`) from `ip`, and records
/// this attempt as a failure, in one transaction; gives the attempt's row id back to
/// [`succeeded`], or says how long to wait.
pub async fn charge(
    pool: &Pool,
    limits: &Limits,
    account: &str,
    ip: &str,
) -> Result<std::result::Result<i64, Throttled>> {
    let account = account.to_lowercase();
    let since = now_unix() - i64::try_from(limits.window.as_secs()).unwrap_or(i64::MAX);
    let mut tx = write_tx(pool).await?;
    let counts: (i64, i64, i64, Option<i64>) = sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN username = $1 AND ip = $2 THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN ip = $2 THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN username = $1 THEN 1 ELSE 0 END), 0),
                MIN(at)
         FROM login_failures WHERE at > $3 AND (username = $1 OR ip = $2)",
    )
    .bind(&account)
    .bind(ip)
    .bind(since)
    .fetch_one(&mut *tx)
    .await?;
    let (pair, by_ip, by_account, oldest) = counts;
    let per_account = i64::from(limits.per_account);
    if pair >= per_account
        || by_ip >= i64::from(limits.per_ip)
        || by_account >= per_account * GLOBAL_FACTOR
    {
        let oldest = oldest.unwrap_or_else(now_unix);
        let retry_after_secs = u64::try_from((oldest - since).max(1)).unwrap_or(1);
        tracing::warn!(%account, %ip, pair, by_ip, by_account, "password attempts throttled");
        return Ok(Err(Throttled { retry_after_secs }));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO login_failures (username, ip, at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(&account)
    .bind(ip)
    .bind(now_unix())
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM login_failures WHERE at <= $1")
        .bind(since)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// The attempt `id` succeeded: it is not a failure, and the account's failures from this
/// address are forgiven (not the address's others, nor other addresses').
pub async fn succeeded(pool: &Pool, id: i64, account: &str, ip: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE id = $1 OR (username = $2 AND ip = $3)")
        .bind(id)
        .bind(account.to_lowercase())
        .bind(ip)
        .execute(pool)
        .await?;
    Ok(())
}
