//! Per-bucket grants, and the permission rule: what each permission allows
//! ([`Permission::allows`]; which permission each S3 operation needs is
//! [`crate::operation::Operation::need`]).

use serde::{Deserialize, Serialize};

use crate::audit::{self, Action, Origin};
use crate::db::Pool;
use crate::{Error, Result, is_unique_violation, now_unix, write_tx};

crate::text_enum! {
    #[text(case = "kebab-case", field = "permission")]
    /// What a grant lets its user do in a bucket (or under a prefix of it).
    pub enum Permission {
        /// List, get and head objects.
        Read,
        /// Put, copy into, delete objects, and multipart uploads.
        Write,
        ReadWrite,
        /// Read and write, plus sharing the bucket's objects and deleting the bucket.
        Owner,
    }
}

/// What one S3 operation needs, from [`crate::operation::Operation::need`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Read,
    Write,
    Owner,
}

impl Permission {
    /// The permission rule: whether a grant of this permission allows what needs `need`. The
    /// queries that compute a link's state use the same rule, written out by [`sql_covers`].
    pub fn allows(self, need: Need) -> bool {
        matches!(
            (self, need),
            (Permission::Owner, _)
                | (Permission::Read | Permission::ReadWrite, Need::Read)
                | (Permission::Write | Permission::ReadWrite, Need::Write)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Grant {
    pub user: String,
    pub bucket: String,
    pub permission: Permission,
    pub prefix: String,
    pub expires_at: Option<i64>,
    pub created_at: i64,
}

/// What [`add`] did: the grant in force now, and the one it replaced (the same user, bucket
/// and prefix can hold one grant), as (permission, expiry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    pub grant: Grant,
    pub replaced: Option<(Permission, Option<i64>)>,
}

impl Grant {
    /// Whether the grant covers `key` (or, for listings, the listed prefix) at `now`.
    pub fn covers(&self, key: &str, now: i64) -> bool {
        key.starts_with(&self.prefix) && self.expires_at.is_none_or(|at| at > now)
    }
}

/// SQL: whether the grant row `grant` allows what needs `need` on the key `key` at `now` (SQL
/// expressions): [`Permission::allows`] and [`Grant::covers`] for queries. The permissions it
/// lists are computed from `allows`, so the rule is written once; a test holds the SQL and the
/// Rust to the same answer for every method, permission, prefix and expiry.
pub fn sql_covers(grant: &str, need: Need, key: &str, now: &str) -> String {
    let allowing: Vec<String> = Permission::all()
        .iter()
        .filter(|p| p.allows(need))
        .map(|p| format!("'{p}'"))
        .collect();
    format!(
        "({grant}.permission IN ({}) AND substr({key}, 1, length({grant}.prefix)) = {grant}.prefix
          AND ({grant}.expires_at IS NULL OR {grant}.expires_at > {now}))",
        allowing.join(", ")
    )
}

const SELECT_GRANT: &str = "SELECT u.name AS \"user\", g.bucket, g.permission, g.prefix,
        g.expires_at, g.created_at
    FROM grants g JOIN iam_users u ON u.id = g.user_id";

/// Grants `permission` on `bucket` (under `prefix`, '' for all of it) to `user`, replacing the
/// user's grant on the same bucket and prefix.
///
/// This fails if: the user or the bucket does not exist, the expiry is not in the future, or
/// the prefix does not end with `/`.
pub async fn add(
    pool: &Pool,
    user: &str,
    bucket: &str,
    permission: Permission,
    prefix: &str,
    expires_at: Option<i64>,
    by: &Origin,
) -> Result<Granted> {
    let now = now_unix();
    if expires_at.is_some_and(|at| at <= now) {
        return Err(Error::invalid("expiry", "must be in the future"));
    }
    if !prefix.is_empty() && !prefix.ends_with('/') {
        return Err(Error::invalid(
            "prefix",
            format!(
                "end it with / (a folder): `{prefix}` would also reach `{prefix}-old/…` and \
                 `{prefix}.txt`"
            ),
        ));
    }
    let mut tx = write_tx(pool).await?;
    let user_id = crate::users::id_of(&mut tx, user).await?;
    crate::buckets::require(&mut *tx, bucket).await?;
    let before: Option<(Permission, Option<i64>)> = sqlx::query_as(
        "SELECT permission, expires_at FROM grants WHERE user_id = $1 AND bucket = $2 AND prefix = $3",
    )
    .bind(user_id)
    .bind(bucket)
    .bind(prefix)
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO grants (user_id, bucket, permission, prefix, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id, bucket, prefix) DO UPDATE SET
             permission = excluded.permission, expires_at = excluded.expires_at,
             created_at = excluded.created_at",
    )
    .bind(user_id)
    .bind(bucket)
    .bind(permission)
    .bind(prefix)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let detail = serde_json::json!({
        "user": user,
        "prefix": prefix,
        "before": before.map(|(p, e)| serde_json::json!({ "permission": p, "expires_at": e })),
        "after": { "permission": permission, "expires_at": expires_at },
    });
    audit::record_action(
        &mut tx,
        by,
        Action::new("grant.add", user)
            .on(bucket, None)
            .detail(detail),
    )
    .await?;
    tx.commit().await?;
    Ok(Granted {
        grant: Grant {
            user: user.to_owned(),
            bucket: bucket.to_owned(),
            permission,
            prefix: prefix.to_owned(),
            expires_at,
            created_at: now,
        },
        replaced: before,
    })
}

/// Removes `user`'s grant on `bucket` under `prefix`.
pub async fn remove(
    pool: &Pool,
    user: &str,
    bucket: &str,
    prefix: &str,
    by: &Origin,
) -> Result<()> {
    let mut tx = write_tx(pool).await?;
    let removed: Option<(Permission, Option<i64>)> = sqlx::query_as(
        "DELETE FROM grants WHERE bucket = $1 AND prefix = $2
           AND user_id = (SELECT id FROM iam_users WHERE name = $3)
         RETURNING permission, expires_at",
    )
    .bind(bucket)
    .bind(prefix)
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((permission, expires_at)) = removed {
        let detail = serde_json::json!({
            "user": user,
            "prefix": prefix,
            "before": { "permission": permission, "expires_at": expires_at },
        });
        audit::record_action(
            &mut tx,
            by,
            Action::new("grant.remove", user)
                .on(bucket, None)
                .detail(detail),
        )
        .await?;
        tx.commit().await?;
    } else {
        let what = if prefix.is_empty() {
            format!("{user} on {bucket}")
        } else {
            format!("{user} on {bucket}/{prefix}")
        };
        return Err(Error::NotFound {
            what: "grant",
            name: what,
        });
    }
    Ok(())
}

/// Grants, filtered by user and/or bucket.
pub async fn list(pool: &Pool, user: Option<&str>, bucket: Option<&str>) -> Result<Vec<Grant>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT_GRANT} WHERE ($1 IS NULL OR u.name = $1) AND ($2 IS NULL OR g.bucket = $2)
         ORDER BY g.bucket, u.name, g.prefix"
    ))
    .bind(user)
    .bind(bucket)
    .fetch_all(pool)
    .await?)
}

/// The grants of user `user_id` on `bucket` that have not expired.
pub async fn of_user_on(pool: &Pool, user: &str, bucket: &str) -> Result<Vec<Grant>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT_GRANT} WHERE u.name = $1 AND g.bucket = $2
           AND (g.expires_at IS NULL OR g.expires_at > $3)"
    ))
    .bind(user)
    .bind(bucket)
    .bind(now_unix())
    .fetch_all(pool)
    .await?)
}

/// Whether `user` may do what needs `need` on `key` (or a listing of the prefix `key`) in
/// `bucket` at this moment.
pub async fn allows(pool: &Pool, user: &str, bucket: &str, key: &str, need: Need) -> Result<bool> {
    let now = now_unix();
    Ok(of_user_on(pool, user, bucket)
        .await?
        .iter()
        .any(|g| g.permission.allows(need) && g.covers(key, now)))
}

/// An access key's user and all their grants: what the S3 endpoint checks a request
/// against ([`KeyGrants::allows`]), read in one query ([`of_key`]) and kept by the endpoint's
/// view (`crate::access::View`) until something changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGrants {
    pub user: String,
    pub grants: Vec<Grant>,
}

impl KeyGrants {
    /// Whether the user may do what needs `need` on `key` (or a listing of the prefix `key`)
    /// in `bucket` at `now`.
    pub fn allows(&self, bucket: &str, key: &str, need: Need, now: i64) -> bool {
        self.grants.iter().any(|grant| {
            grant.bucket == bucket && grant.permission.allows(need) && grant.covers(key, now)
        })
    }
}

/// The user of the access key `key_id` and all their grants (expired ones too: whether a grant
/// is in force is decided when it is used); `None` if there is no such key. One query.
pub async fn of_key(pool: &Pool, key_id: &str) -> Result<Option<KeyGrants>> {
    /// A user's name and one of their grants, if any.
    type Row = (
        String,
        Option<String>,
        Option<Permission>,
        Option<String>,
        Option<i64>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT u.name, g.bucket, g.permission, g.prefix, g.expires_at
         FROM access_keys k JOIN iam_users u ON u.id = k.user_id
         LEFT JOIN grants g ON g.user_id = u.id
         WHERE k.id = $1",
    )
    .bind(key_id)
    .fetch_all(pool)
    .await?;
    let Some(user) = rows.first().map(|row| row.0.clone()) else {
        return Ok(None);
    };
    let grants = rows
        .into_iter()
        .filter_map(|(user, bucket, permission, prefix, expires_at)| {
            Some(Grant {
                user,
                bucket: bucket?,
                permission: permission?,
                prefix: prefix?,
                expires_at,
                created_at: 0,
            })
        })
        .collect();
    Ok(Some(KeyGrants { user, grants }))
}

/// Adds a grant inside an existing transaction (used when a bucket's creator becomes owner).
pub(crate) async fn add_owner_in(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    bucket: &str,
) -> Result<()> {
    let inserted = sqlx::query(
        "INSERT INTO grants (user_id, bucket, permission, prefix, created_at)
         VALUES ($1, $2, 'owner', '', $3)",
    )
    .bind(user_id)
    .bind(bucket)
    .bind(now_unix())
    .execute(conn)
    .await;
    match inserted {
        Err(err) if is_unique_violation(&err) => Ok(()),
        other => other.map(|_| ()).map_err(Error::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_allow_what_their_names_say() {
        let table = [
            (Permission::Read, [true, false, false]),
            (Permission::Write, [false, true, false]),
            (Permission::ReadWrite, [true, true, false]),
            (Permission::Owner, [true, true, true]),
        ];
        for (permission, expected) in table {
            let got = [Need::Read, Need::Write, Need::Owner].map(|need| permission.allows(need));
            assert_eq!(got, expected, "{permission}");
        }
    }

    #[test]
    fn permissions_read_back_as_written() {
        for text in ["read", "write", "read-write", "owner"] {
            assert_eq!(
                text.parse::<Permission>()
                    .map(|p| p.to_string())
                    .ok()
                    .as_deref(),
                Some(text)
            );
        }
        assert!("admin".parse::<Permission>().is_err());
    }

    #[test]
    fn grants_cover_their_prefix_until_they_expire() {
        let grant = Grant {
            user: "alice".into(),
            bucket: "team".into(),
            permission: Permission::Read,
            prefix: "reports/".into(),
            expires_at: Some(100),
            created_at: 0,
        };
        assert!(grant.covers("reports/q1.pdf", 99));
        assert!(!grant.covers("reports/q1.pdf", 100));
        assert!(!grant.covers("secrets/x", 50));
        assert!(!grant.covers("reports", 50));
    }
}
