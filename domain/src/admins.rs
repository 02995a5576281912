//! Console admins: their accounts, password hashes and status, each change audited here as
//! users' and keys' are. The console makes and verifies the hashes (argon2id) and keeps the
//! sessions and the sign-in throttle (`app::auth`); this module only stores what they decide.

use crate::audit::{self, Action, Origin};
use crate::db::Pool;
use crate::{Error, Result, now_unix, write_tx};

crate::text_enum! {
    #[text(case = "lowercase", field = "status")]
    /// Whether an admin may sign in.
    pub enum AdminStatus {
        Active,
        Disabled,
    }
}

/// An admin as the Settings page lists them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AdminAccount {
    pub name: String,
    pub status: AdminStatus,
    pub created_at: i64,
}

/// What signing in as an active admin checks: the stored hash, and the password's epoch that
/// the session keeps (a password change moves it and so signs out the other sessions).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credentials {
    pub id: i64,
    pub name: String,
    pub password_hash: String,
    pub password_changed_at: i64,
}

/// How many admins there are, active or not.
pub async fn count(pool: &Pool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM admins")
        .fetch_one(pool)
        .await?)
}

/// Adds the admin `name` with the password hash `hash`, audited as made `by` someone when
/// given (the first admin, made at start, has nobody to be made by). `false`, and nothing
/// changed, when an admin of that name exists.
pub async fn create(pool: &Pool, name: &str, hash: &str, by: Option<&Origin>) -> Result<bool> {
    let now = now_unix();
    let mut tx = write_tx(pool).await?;
    let inserted = sqlx::query(
        "INSERT INTO admins (name, password_hash, created_at, password_changed_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(hash)
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    if let Some(by) = by {
        audit::record_action(&mut tx, by, Action::new("admin.create", name)).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// The active admin `name`'s credentials, if there is one.
pub async fn credentials(pool: &Pool, name: &str) -> Result<Option<Credentials>> {
    Ok(sqlx::query_as(
        "SELECT id, name, password_hash, password_changed_at FROM admins
         WHERE name = $1 AND status = 'active'",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?)
}

/// The active admin with id `id`: their name and password epoch, if there is one.
pub async fn active(pool: &Pool, id: i64) -> Result<Option<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT name, password_changed_at FROM admins WHERE id = $1 AND status = 'active'",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// The stored password hash of the admin with id `id`.
pub async fn password_hash(pool: &Pool, id: i64) -> Result<String> {
    sqlx::query_scalar("SELECT password_hash FROM admins WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("admin", &id.to_string()))
}

/// Stores `hash` as admin `id`'s password and moves their password epoch (by at least one, even
/// when two changes fall in the same second); returns the new epoch.
pub async fn set_password(pool: &Pool, id: i64, hash: &str, by: &Origin) -> Result<i64> {
    let mut tx = write_tx(pool).await?;
    let changed: Option<(String, i64)> = sqlx::query_as(
        "UPDATE admins SET password_hash = $1,
             password_changed_at = CASE WHEN $2 > password_changed_at THEN $2
                                        ELSE password_changed_at + 1 END
         WHERE id = $3 RETURNING name, password_changed_at",
    )
    .bind(hash)
    .bind(now_unix())
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((name, epoch)) = changed else {
        return Err(Error::not_found("admin", &id.to_string()));
    };
    audit::record_action(&mut tx, by, Action::new("admin.password", &name)).await?;
    tx.commit().await?;
    Ok(epoch)
}

/// Every admin, by name.
pub async fn list(pool: &Pool) -> Result<Vec<AdminAccount>> {
    Ok(
        sqlx::query_as("SELECT name, status, created_at FROM admins ORDER BY name")
            .fetch_all(pool)
            .await?,
    )
}

/// Enables or disables the admin `name` (audited when it changes anything). A disabled
/// admin's sessions end at their next request, which checks the account is active.
///
/// This fails if: there is no such admin.
pub async fn set_status(pool: &Pool, name: &str, status: AdminStatus, by: &Origin) -> Result<()> {
    let mut tx = write_tx(pool).await?;
    let changed = sqlx::query("UPDATE admins SET status = $1 WHERE name = $2 AND status <> $1")
        .bind(status)
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if changed == 0 {
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM admins WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        return match exists {
            None => Err(Error::not_found("admin", name)),
            Some(_) => Ok(()),
        };
    }
    let action = match status {
        AdminStatus::Active => "admin.enable",
        AdminStatus::Disabled => "admin.disable",
    };
    audit::record_action(&mut tx, by, Action::new(action, name)).await?;
    tx.commit().await?;
    Ok(())
}
