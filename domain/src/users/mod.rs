//! IAM users: the people and programs that reach buckets with S3 access keys. A user's keys
//! are part of them ([`keys`]): a user is created with a first key, and a key acts as its user.

pub mod keys;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::audit::{self, Action, Origin};
use crate::db::Pool;
use crate::secrets::MasterKey;
use crate::{Error, Result, insert_failed, now_unix, write_tx};
use keys::NewKey;

crate::text_enum! {
    #[text(case = "lowercase", field = "status")]
    /// Whether a user may use their keys at all.
    pub enum UserStatus {
        Active,
        Disabled,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct User {
    #[serde(skip)]
    pub id: i64,
    pub name: String,
    pub status: UserStatus,
    #[sqlx(try_from = "crate::db::Flag")]
    pub can_create_buckets: bool,
    pub created_at: i64,
    /// Number of access keys, active or not.
    pub keys: i64,
}

const SELECT_USER: &str = "SELECT u.id, u.name, u.status, u.can_create_buckets, u.created_at,
        (SELECT COUNT(*) FROM access_keys k WHERE k.user_id = u.id) AS keys
    FROM iam_users u";

/// Checks an IAM user name: 1 to 64 characters among letters, digits and `+=,.@_-` (as AWS
/// IAM allows), starting with a letter or digit.
pub fn check_name(name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    if name.is_empty() || name.len() > 64 {
        return Err(Error::invalid("user name", "must be 1 to 64 characters"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) || !name.chars().all(ok_char) {
        return Err(Error::invalid(
            "user name",
            format!(
                "`{name}` may hold only letters, digits and +=,.@_- and must start with a letter or digit"
            ),
        ));
    }
    Ok(())
}

/// Creates the user `name` with a first access key, in one transaction.
///
/// This fails if: the name is invalid or taken.
pub async fn create(
    pool: &Pool,
    master: &MasterKey,
    name: &str,
    can_create_buckets: bool,
    by: &Origin,
) -> Result<(User, NewKey)> {
    check_name(name)?;
    let mut tx = write_tx(pool).await?;
    // IAM treats user names without regard to case: `Alice` and `alice` would be one user to
    // every S3 tool and admin reading a list.
    let taken: Option<String> =
        sqlx::query_scalar("SELECT name FROM iam_users WHERE lower(name) = lower($1)")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(taken) = taken.filter(|taken| taken != name) {
        return Err(Error::invalid(
            "user name",
            format!("`{taken}` exists already: user names must differ by more than case"),
        ));
    }
    sqlx::query(
        "INSERT INTO iam_users (name, status, can_create_buckets, created_at)
         VALUES ($1, 'active', $2, $3)",
    )
    .bind(name)
    .bind(i64::from(can_create_buckets))
    .bind(now_unix())
    .execute(&mut *tx)
    .await
    .map_err(|e| insert_failed(e, "user", name))?;
    let key = keys::create_in(&mut tx, master, name, None).await?;
    let user = get_in(&mut tx, name).await?;
    let detail = serde_json::json!({
        "can_create_buckets": can_create_buckets,
        "access_key_id": key.key.id.as_str(),
    });
    audit::record_action(&mut tx, by, Action::new("user.create", name).detail(detail)).await?;
    tx.commit().await?;
    Ok((user, key))
}

/// Every user, by name.
pub async fn list(pool: &Pool) -> Result<Vec<User>> {
    Ok(sqlx::query_as(&format!("{SELECT_USER} ORDER BY u.name"))
        .fetch_all(pool)
        .await?)
}

/// The user `name`.
pub async fn get(pool: &Pool, name: &str) -> Result<User> {
    get_in(&mut *pool.acquire().await?, name).await
}

pub(crate) async fn get_in(conn: &mut AnyConnection, name: &str) -> Result<User> {
    sqlx::query_as(&format!("{SELECT_USER} WHERE u.name = $1"))
        .bind(name)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| Error::not_found("user", name))
}

/// The row id of the user `name`.
///
/// This fails if: there is no such user.
pub(crate) async fn id_of(conn: &mut AnyConnection, name: &str) -> Result<i64> {
    sqlx::query_scalar("SELECT id FROM iam_users WHERE name = $1")
        .bind(name)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| Error::not_found("user", name))
}

/// Enables or disables `name`. A disabled user's keys stop working at once.
pub async fn set_status(pool: &Pool, name: &str, status: UserStatus, by: &Origin) -> Result<User> {
    let mut tx = write_tx(pool).await?;
    let before = get_in(&mut tx, name).await?;
    sqlx::query("UPDATE iam_users SET status = $1 WHERE name = $2")
        .bind(status)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    let action = match status {
        UserStatus::Active => "user.enable",
        UserStatus::Disabled => "user.disable",
    };
    let detail = serde_json::json!({ "before": before.status, "after": status });
    audit::record_action(&mut tx, by, Action::new(action, name).detail(detail)).await?;
    let user = get_in(&mut tx, name).await?;
    tx.commit().await?;
    Ok(user)
}

/// Deletes `name` and, with it, their access keys.
pub async fn delete(pool: &Pool, name: &str, by: &Origin) -> Result<()> {
    let mut tx = write_tx(pool).await?;
    let done = sqlx::query("DELETE FROM iam_users WHERE name = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("user", name));
    }
    audit::record_action(&mut tx, by, Action::new("user.delete", name)).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_iam_rules() {
        for ok in ["alice", "ci-bot", "a", "team.lead@example", "x+y=z,w_v"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-lead",
            "has space",
            "slash/name",
            "ünïcode",
            &"n".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
