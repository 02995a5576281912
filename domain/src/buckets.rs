//! Buckets bucketshare knows, with their owner.

use serde::{Deserialize, Serialize};

use crate::audit::{self, Action, Origin};
use crate::db::Pool;
use crate::{Error, Result, insert_failed, now_unix, write_tx};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Bucket {
    pub name: String,
    pub owner: Option<String>,
    pub created_at: i64,
    pub objects: i64,
    pub bytes: i64,
}

/// The counts are the embedded store's, kept by triggers as objects come and go
/// (`bucket_usage`, migration 0021), never counted here.
const SELECT_BUCKET: &str = "SELECT b.name, u.name AS owner, b.created_at,
        COALESCE(s.objects, 0) AS objects, COALESCE(s.bytes, 0) AS bytes
    FROM buckets b LEFT JOIN iam_users u ON u.id = b.owner_user_id
        LEFT JOIN bucket_usage s ON s.bucket = b.name";

/// Checks a bucket name by S3's rules: 3 to 63 characters of lowercase letters, digits, dots
/// and hyphens, starting and ending with a letter or digit, no `..`, not shaped like an IP
/// address.
pub fn check_name(name: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid("bucket name", format!("`{name}` {why}")));
    if name.len() < 3 || name.len() > 63 {
        return bad("must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return bad("may hold only lowercase letters, digits, dots and hyphens");
    }
    let edge_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !edge_ok(name.bytes().next()) || !edge_ok(name.bytes().last()) {
        return bad("must start and end with a letter or digit");
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return bad("must not hold `..`, `.-` or `-.`");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("must not look like an IP address");
    }
    Ok(())
}

/// Creates the bucket `name`, owned by `owner` (who gets the `owner` grant) if given.
///
/// This fails if: the name is invalid or taken, or the owner does not exist.
pub async fn create(pool: &Pool, name: &str, owner: Option<&str>, by: &Origin) -> Result<Bucket> {
    check_name(name)?;
    let mut tx = write_tx(pool).await?;
    let owner_id: Option<i64> = match owner {
        Some(owner) => Some(crate::users::id_of(&mut tx, owner).await?),
        None => None,
    };
    sqlx::query("INSERT INTO buckets (name, owner_user_id, created_at) VALUES ($1, $2, $3)")
        .bind(name)
        .bind(owner_id)
        .bind(now_unix())
        .execute(&mut *tx)
        .await
        .map_err(|e| insert_failed(e, "bucket", name))?;
    if let Some(owner_id) = owner_id {
        crate::grants::add_owner_in(&mut tx, owner_id, name).await?;
    }
    let detail = serde_json::json!({ "owner": owner });
    audit::record_action(
        &mut tx,
        by,
        Action::new("bucket.create", name)
            .on(name, None)
            .detail(detail),
    )
    .await?;
    tx.commit().await?;
    get(pool, name).await
}

/// Every bucket, by name.
pub async fn list(pool: &Pool) -> Result<Vec<Bucket>> {
    Ok(sqlx::query_as(&format!("{SELECT_BUCKET} ORDER BY b.name"))
        .fetch_all(pool)
        .await?)
}

/// The name of the user who owns bucket `name`, if it exists and its owner is still a user.
pub async fn owner(pool: &Pool, name: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT u.name FROM buckets b JOIN iam_users u ON u.id = b.owner_user_id
         WHERE b.name = $1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?)
}

/// The buckets on which `user` holds a grant that has not expired.
pub async fn visible_to(pool: &Pool, user: &str) -> Result<Vec<Bucket>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT_BUCKET} WHERE b.name IN (
            SELECT g.bucket FROM grants g JOIN iam_users gu ON gu.id = g.user_id
            WHERE gu.name = $1 AND (g.expires_at IS NULL OR g.expires_at > $2))
         ORDER BY b.name"
    ))
    .bind(user)
    .bind(now_unix())
    .fetch_all(pool)
    .await?)
}

/// Fails with [`Error::NotFound`] unless the bucket `name` exists: one indexed lookup, without
/// the object counts of [`get`], on the pool or inside a transaction.
pub async fn require<'c, E>(conn: E, name: &str) -> Result<()>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM buckets WHERE name = $1")
        .bind(name)
        .fetch_optional(conn)
        .await?;
    found
        .map(|_| ())
        .ok_or_else(|| Error::not_found("bucket", name))
}

/// The bucket `name`, with its object counts.
pub async fn get(pool: &Pool, name: &str) -> Result<Bucket> {
    sqlx::query_as(&format!("{SELECT_BUCKET} WHERE b.name = $1"))
        .bind(name)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("bucket", name))
}

/// What deleting a bucket deleted.
#[derive(Debug, Default)]
pub struct Deleted {
    /// How many objects went with it.
    pub objects: usize,
    /// The embedded store's blob names no row names any more, for it to remove from disk:
    /// objects', their pieces' and unfinished multipart uploads' parts'.
    pub blobs: Vec<String>,
}

/// Deletes the bucket `name`, its grants, its unfinished multipart uploads, and, with `force`,
/// its objects.
///
/// This fails if: the bucket does not exist, or it holds objects and `force` is off.
pub async fn delete(pool: &Pool, name: &str, force: bool, by: &Origin) -> Result<Deleted> {
    let mut tx = write_tx(pool).await?;
    require(&mut *tx, name).await?;
    let blobs: Vec<String> = sqlx::query_scalar("SELECT blob FROM objects WHERE bucket = $1")
        .bind(name)
        .fetch_all(&mut *tx)
        .await?;
    if !blobs.is_empty() && !force {
        return Err(Error::BucketNotEmpty {
            name: name.to_owned(),
            objects: Some(blobs.len()),
        });
    }
    // Unfinished multipart uploads are not objects; they go with the bucket.
    let parts: Vec<String> = sqlx::query_scalar(
        "SELECT p.blob FROM multipart_parts p JOIN multipart_uploads u ON u.id = p.upload_id
         WHERE u.bucket = $1",
    )
    .bind(name)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM multipart_uploads WHERE bucket = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM multipart_completed WHERE bucket = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    // Objects made of pieces (completed multipart uploads) name them there; the names of
    // pieces have no file of their own.
    let pieces: Vec<(String, String)> = sqlx::query_as(
        "DELETE FROM object_pieces WHERE object IN (SELECT blob FROM objects WHERE bucket = $1)
         RETURNING object, blob",
    )
    .bind(name)
    .fetch_all(&mut *tx)
    .await?;
    let named: std::collections::HashSet<&str> =
        pieces.iter().map(|(object, _)| object.as_str()).collect();
    let files: Vec<String> = blobs
        .iter()
        .filter(|blob| !named.contains(blob.as_str()))
        .cloned()
        .chain(pieces.iter().map(|(_, blob)| blob.clone()))
        .collect();
    sqlx::query("DELETE FROM objects WHERE bucket = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    let links: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM share_links WHERE bucket = $1")
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
    retire_links(&mut tx, name, crate::now_unix()).await?;
    sqlx::query("DELETE FROM buckets WHERE name = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    let detail = serde_json::json!({
        "force": force,
        "objects_deleted": blobs.len(),
        "links_deleted": links,
    });
    audit::record_action(
        &mut tx,
        by,
        Action::new("bucket.delete", name)
            .on(name, None)
            .detail(detail),
    )
    .await?;
    tx.commit().await?;
    Ok(Deleted {
        objects: blobs.len(),
        blobs: files.into_iter().chain(parts).collect(),
    })
}

/// Keeps the signatures of a bucket's links (those that could still be used) as revoked, in
/// the transaction that deletes the bucket and, with it, the links: a bucket created again under
/// the same name does not bring them back.
async fn retire_links(tx: &mut crate::db::Tx, bucket: &str, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO retired_link_signatures (signature_hash, link_id, expires_at)
         SELECT signature_hash, id, expires_at FROM share_links
         WHERE bucket = $1 AND signature_hash IS NOT NULL AND expires_at > $2
         ON CONFLICT (signature_hash) DO NOTHING",
    )
    .bind(bucket)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM retired_link_signatures WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_s3_rules() {
        for ok in ["abc", "team-share", "logs.2026", "a1b", &"x".repeat(63)] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "Team",
            "under_score",
            "-lead",
            "trail-",
            "a..b",
            "a.-b",
            "192.168.1.1",
            &"x".repeat(64),
            "../etc",
            "a/b",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
