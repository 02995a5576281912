//! S3 access keys of IAM users: created with a secret shown once, listed, disabled, rotated,
//! deleted, and looked up (secret unsealed) to check a request's signature.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::audit::{self, Action, Origin};
use crate::db::Pool;
use crate::secrets::{AccessKeyId, MasterKey, SecretKey};
use crate::users::UserStatus;
use crate::{Error, Result, now_unix, write_tx};

crate::text_enum! {
    #[text(case = "lowercase", field = "status")]
    pub enum KeyStatus {
        Active,
        Inactive,
    }
}

/// An access key as admins see it (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct AccessKey {
    #[sqlx(try_from = "String")]
    pub id: AccessKeyId,
    pub user: String,
    pub status: KeyStatus,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
}

impl AccessKey {
    /// Whether the key is past its expiry at `now`.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A key just created: the only moment its secret is handed out.
#[derive(Debug)]
pub struct NewKey {
    pub key: AccessKey,
    pub secret: SecretKey,
}

/// What checking a request's signature needs: the key, its user's state, and the secret.
#[derive(Debug)]
pub struct Credentials {
    pub key: AccessKey,
    pub user_status: UserStatus,
    pub secret: SecretKey,
}

impl Credentials {
    /// Whether requests signed with this key may be served at `now`: the key is active and
    /// not expired, and its user is active.
    pub fn usable(&self, now: i64) -> bool {
        self.key.status == KeyStatus::Active
            && !self.key.is_expired(now)
            && self.user_status == UserStatus::Active
    }
}

const SELECT_KEY: &str = "SELECT k.id, u.name AS \"user\", k.status, k.created_at, k.last_used_at,
        k.expires_at
    FROM access_keys k JOIN iam_users u ON u.id = k.user_id";

fn not_found(id: &str) -> Error {
    Error::not_found("access key", id)
}

/// Creates a new active key for `user`, expiring at `expires_at` (Unix seconds) if given.
///
/// This fails if: the user does not exist, or the expiry is not in the future.
pub async fn create(
    pool: &Pool,
    master: &MasterKey,
    user: &str,
    expires_at: Option<i64>,
    by: &Origin,
) -> Result<NewKey> {
    let mut tx = write_tx(pool).await?;
    let key = create_in(&mut tx, master, user, expires_at).await?;
    let detail = serde_json::json!({ "user": user, "expires_at": expires_at });
    audit::record_action(
        &mut tx,
        by,
        Action::new("key.create", key.key.id.as_str()).detail(detail),
    )
    .await?;
    tx.commit().await?;
    Ok(key)
}

pub(crate) async fn create_in(
    conn: &mut AnyConnection,
    master: &MasterKey,
    user: &str,
    expires_at: Option<i64>,
) -> Result<NewKey> {
    let now = now_unix();
    if expires_at.is_some_and(|at| at <= now) {
        return Err(Error::invalid("expiry", "must be in the future"));
    }
    let user_id = crate::users::id_of(&mut *conn, user).await?;
    let id = AccessKeyId::generate();
    let secret = SecretKey::generate();
    sqlx::query(
        "INSERT INTO access_keys (id, user_id, secret_sealed, status, created_at, expires_at)
         VALUES ($1, $2, $3, 'active', $4, $5)",
    )
    .bind(id.as_str())
    .bind(user_id)
    .bind(master.seal(&id, &secret)?)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    let key = get_in(conn, &id).await?;
    Ok(NewKey { key, secret })
}

/// Keys of `user`, or of everyone, by user then creation.
pub async fn list(pool: &Pool, user: Option<&str>) -> Result<Vec<AccessKey>> {
    if let Some(user) = user {
        // Listing the keys of a user who does not exist is a mistake worth saying.
        crate::users::get(pool, user).await?;
    }
    Ok(sqlx::query_as(&format!(
        "{SELECT_KEY} WHERE $1 IS NULL OR u.name = $1 ORDER BY u.name, k.created_at, k.id"
    ))
    .bind(user)
    .fetch_all(pool)
    .await?)
}

/// The key `id`.
pub async fn get(pool: &Pool, id: &AccessKeyId) -> Result<AccessKey> {
    get_in(&mut *pool.acquire().await?, id).await
}

async fn get_in(conn: &mut AnyConnection, id: &AccessKeyId) -> Result<AccessKey> {
    sqlx::query_as(&format!("{SELECT_KEY} WHERE k.id = $1"))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| not_found(id.as_str()))
}

/// Activates or deactivates `id`. An inactive key stops working at once.
pub async fn set_status(
    pool: &Pool,
    id: &AccessKeyId,
    status: KeyStatus,
    by: &Origin,
) -> Result<AccessKey> {
    let mut tx = write_tx(pool).await?;
    let before = get_in(&mut tx, id).await?;
    sqlx::query("UPDATE access_keys SET status = $1 WHERE id = $2")
        .bind(status)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    let action = match status {
        KeyStatus::Active => "key.enable",
        KeyStatus::Inactive => "key.disable",
    };
    let detail =
        serde_json::json!({ "user": before.user, "before": before.status, "after": status });
    audit::record_action(&mut tx, by, Action::new(action, id.as_str()).detail(detail)).await?;
    let key = get_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(key)
}

/// Deletes `id`.
pub async fn delete(pool: &Pool, id: &AccessKeyId, by: &Origin) -> Result<()> {
    let mut tx = write_tx(pool).await?;
    let before = get_in(&mut tx, id).await?;
    sqlx::query("DELETE FROM access_keys WHERE id = $1")
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    let detail = serde_json::json!({ "user": before.user });
    audit::record_action(
        &mut tx,
        by,
        Action::new("key.delete", id.as_str()).detail(detail),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces `id` with a new key of the same user and expiry; the old key is deactivated in the
/// same transaction (delete it once nothing uses it).
pub async fn rotate(
    pool: &Pool,
    master: &MasterKey,
    id: &AccessKeyId,
    by: &Origin,
) -> Result<NewKey> {
    let mut tx = write_tx(pool).await?;
    let old = get_in(&mut tx, id).await?;
    let expires_at = old.expires_at.filter(|&at| at > now_unix());
    let new = create_in(&mut tx, master, &old.user, expires_at).await?;
    sqlx::query("UPDATE access_keys SET status = 'inactive' WHERE id = $1")
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    let detail = serde_json::json!({ "user": old.user, "new_access_key_id": new.key.id.as_str() });
    audit::record_action(
        &mut tx,
        by,
        Action::new("key.rotate", id.as_str()).detail(detail),
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

/// The key `id` with its secret unsealed, for checking a signature; `None` if no such key.
/// Callers must still check [`Credentials::usable`]. One query: this runs for every signed
/// S3 request.
pub async fn credentials(
    pool: &Pool,
    master: &MasterKey,
    id: &AccessKeyId,
) -> Result<Option<Credentials>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        key: AccessKey,
        secret_sealed: Vec<u8>,
        user_status: UserStatus,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT k.id, u.name AS \"user\", k.status, k.created_at, k.last_used_at, k.expires_at,
                k.secret_sealed, u.status AS user_status
         FROM access_keys k JOIN iam_users u ON u.id = k.user_id WHERE k.id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(Credentials {
            secret: master.open(id, &row.secret_sealed)?,
            key: row.key,
            user_status: row.user_status,
        })
    })
    .transpose()
}
