//! Share links: pre-signed URLs recorded server-side, so that each can be listed, revoked and
//! counted. The URL itself is made by the caller (aws-sdk-s3's presigner); this module keeps
//! the record and answers "is this signature a revoked link?" on every pre-signed request.

use rand::Rng;
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::{Error, Result, now_unix};

/// Longest a link may live: 7 days, as S3 allows for pre-signed URLs.
pub const MAX_LIFETIME_SECS: i64 = 604_800;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Link {
    pub id: String,
    pub bucket: String,
    pub key: String,
    pub method: String,
    pub user: Option<String>,
    pub access_key_id: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
    pub label: Option<String>,
    pub access_count: i64,
    pub last_access_at: Option<i64>,
}

impl Link {
    /// Neither revoked nor expired at `now`.
    pub fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

const SELECT_LINK: &str = "SELECT l.id, l.bucket, l.object_key AS key, l.method, u.name AS user,
        l.access_key_id, l.created_by, l.created_at, l.expires_at, l.revoked_at, l.revoked_by,
        l.label, l.access_count, l.last_access_at
    FROM share_links l LEFT JOIN iam_users u ON u.id = l.user_id";

/// A new link's id: `L` and 15 random base32 characters.
pub fn new_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut rng = rand::rng();
    let rest: String = (0..15)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("l{rest}")
}

/// What is recorded when a link is issued.
pub struct NewLink<'a> {
    pub id: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
    pub method: &'a str,
    pub user: &'a str,
    pub access_key_id: &'a str,
    pub created_by: &'a str,
    pub expires_at: i64,
    pub label: Option<&'a str>,
    pub signature: &'a str,
}

/// Records an issued link.
pub async fn record(pool: &SqlitePool, link: NewLink<'_>) -> Result<Link> {
    let mut conn = pool.acquire().await?;
    let user_id = crate::users::id_of(&mut conn, link.user).await?;
    sqlx::query(
        "INSERT INTO share_links (id, bucket, object_key, method, user_id, access_key_id,
             created_by, created_at, expires_at, label, signature)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(link.id)
    .bind(link.bucket)
    .bind(link.key)
    .bind(link.method)
    .bind(user_id)
    .bind(link.access_key_id)
    .bind(link.created_by)
    .bind(now_unix())
    .bind(link.expires_at)
    .bind(link.label)
    .bind(link.signature)
    .execute(&mut *conn)
    .await?;
    get(pool, link.id).await
}

/// The link `id`.
pub async fn get(pool: &SqlitePool, id: &str) -> Result<Link> {
    sqlx::query_as(&format!("{SELECT_LINK} WHERE l.id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("link", id))
}

/// Links, newest first: active ones only unless `all`, filtered by bucket and/or user.
pub async fn list(
    pool: &SqlitePool,
    all: bool,
    bucket: Option<&str>,
    user: Option<&str>,
) -> Result<Vec<Link>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT_LINK} WHERE (?1 OR (l.revoked_at IS NULL AND l.expires_at > ?2))
           AND (?3 IS NULL OR l.bucket = ?3) AND (?4 IS NULL OR u.name = ?4)
         ORDER BY l.created_at DESC, l.id"
    ))
    .bind(all)
    .bind(now_unix())
    .bind(bucket)
    .bind(user)
    .fetch_all(pool)
    .await?)
}

/// Revokes the link `id`; revoking a revoked link changes nothing.
pub async fn revoke(pool: &SqlitePool, id: &str, by: &str) -> Result<Link> {
    sqlx::query(
        "UPDATE share_links SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
    )
    .bind(now_unix())
    .bind(by)
    .bind(id)
    .execute(pool)
    .await?;
    get(pool, id).await
}

/// What a pre-signed request's signature says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Use {
    /// Not a registered link (made outside bucketshare): the usual rules apply.
    Unregistered,
    /// A registered link, still valid as far as bucketshare is concerned.
    Link(String),
    /// A registered link that was revoked.
    Revoked(String),
}

/// Looks a pre-signed request up by its signature.
pub async fn lookup(pool: &SqlitePool, signature: &str) -> Result<Use> {
    let found: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT id, revoked_at FROM share_links WHERE signature = ?")
            .bind(signature)
            .fetch_optional(pool)
            .await?;
    Ok(match found {
        None => Use::Unregistered,
        Some((id, Some(_))) => Use::Revoked(id),
        Some((id, None)) => Use::Link(id),
    })
}

/// Counts one served access of the link `id`.
pub async fn count_access(pool: &SqlitePool, id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE share_links SET access_count = access_count + 1, last_access_at = ? WHERE id = ?",
    )
    .bind(now_unix())
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}
