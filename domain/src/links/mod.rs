//! Share links: pre-signed URLs recorded server-side, so that each can be listed, revoked and
//! counted. The URL itself is made by the caller (aws-sdk-s3's presigner); this module keeps
//! the record and answers "is this signature a revoked link?" on every pre-signed request.

use serde::{Deserialize, Serialize};

use crate::audit::{self, Action, Origin};
use crate::db::{Filtered, Pool};
use crate::{Error, Result, now_unix, write_tx};

/// Longest label a link may carry, in characters.
pub const MAX_LABEL_CHARS: usize = 200;

/// The region links are signed for, and the only one the S3 endpoint answers for.
pub const REGION: &str = "us-east-1";

pub mod pages;
pub mod uploads;

pub use model::LinkState;

crate::text_enum! {
    #[text(case = "lowercase", field = "kind")]
    /// What a link is: a pre-signed S3 URL, or a share page served by bucketshare ([`pages`]).
    pub enum LinkKind {
        Presigned,
        Page,
    }
}

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
    pub bytes_served: i64,
    pub last_access_at: Option<i64>,
    /// Whether it works, or why not.
    #[sqlx(try_from = "String")]
    pub state: LinkState,
    pub kind: LinkKind,
    /// A page's download limit, if it has one, and the downloads it counted.
    pub max_downloads: Option<i64>,
    pub downloads: i64,
    /// A page's note to its recipients.
    pub note: Option<String>,
    /// Whether a page asks for a password.
    #[sqlx(try_from = "crate::db::Flag")]
    pub password: bool,
    /// An upload page's limits and what it took ([`uploads`]); all empty for other links.
    #[sqlx(flatten)]
    #[serde(default)]
    pub upload: uploads::Terms,
}

/// SQL: whether a grant of the link `l`'s signer still lets the link do what it does
/// ([`Method::need`]) on its object at `$1` (now), leaving out grants matching `extra`.
fn covered(extra: &str) -> String {
    let by_method: Vec<String> = [Method::Get, Method::Put]
        .iter()
        .map(|method| {
            format!(
                "(l.method = '{}' AND {})",
                method.as_str(),
                crate::grants::sql_covers("g", method.need(), "l.object_key", "$1")
            )
        })
        .collect();
    format!(
        "EXISTS (SELECT 1 FROM grants g WHERE g.user_id = l.user_id AND g.bucket = l.bucket
            AND ({}) {extra})",
        by_method.join(" OR ")
    )
}

/// The state of a link that works, as the queries below filter on it.
const ACTIVE: LinkState = LinkState::Active;

/// SQL: the state of the link `l` (joined with its signer `u` and key `k`) at `$1`.
fn state() -> String {
    format!(
        "CASE
            WHEN l.revoked_at IS NOT NULL THEN '{revoked}'
            WHEN l.expires_at <= $1 THEN '{expired}'
            WHEN l.max_downloads IS NOT NULL AND l.downloads >= l.max_downloads THEN '{exhausted}'
            WHEN u.id IS NULL THEN '{user_deleted}'
            WHEN u.status <> 'active' THEN '{user_disabled}'
            WHEN l.kind = '{presigned}' AND k.id IS NULL THEN '{key_deleted}'
            WHEN l.kind = '{presigned}' AND k.status <> 'active' THEN '{key_disabled}'
            WHEN l.kind = '{presigned}' AND k.expires_at IS NOT NULL AND k.expires_at <= $1
                THEN '{key_expired}'
            WHEN NOT {covered} THEN '{no_permission}'
            ELSE '{active}'
        END",
        revoked = LinkState::Revoked,
        expired = LinkState::Expired,
        exhausted = LinkState::Exhausted,
        presigned = LinkKind::Presigned,
        user_deleted = LinkState::UserDeleted,
        user_disabled = LinkState::UserDisabled,
        key_deleted = LinkState::KeyDeleted,
        key_disabled = LinkState::KeyDisabled,
        key_expired = LinkState::KeyExpired,
        covered = covered(""),
        no_permission = LinkState::NoPermission,
        active = LinkState::Active,
    )
}

/// SQL: links with their state; `$1` is the time the state is computed for.
fn select_links() -> String {
    select_links_where("1 = 1")
}

/// SQL: links with their state, of those rows of `share_links l` that match `inner` (a
/// condition on the table's own columns, which can use its indexes).
fn select_links_where(inner: &str) -> String {
    format!(
        "SELECT * FROM (SELECT l.id, l.bucket, l.object_key AS key, l.method, u.name AS \"user\",
            l.access_key_id, l.created_by, l.created_at, l.expires_at, l.revoked_at,
            l.revoked_by, l.label, l.access_count, l.bytes_served, l.last_access_at,
            l.kind, l.max_downloads, l.downloads, l.note,
            CASE WHEN l.password_hash IS NULL THEN 0 ELSE 1 END AS password,
            l.upload_max_file, l.upload_max_total, l.upload_max_files, l.upload_types,
            l.upload_ask_name, l.uploaded_files, l.uploaded_bytes, {} AS state
        FROM share_links l LEFT JOIN iam_users u ON u.id = l.user_id
            LEFT JOIN access_keys k ON k.id = l.access_key_id
        WHERE {inner}) AS links",
        state()
    )
}

/// A new link's id: `l` and 15 random base32 characters.
pub fn new_id() -> String {
    crate::random_id('l')
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
    /// When it was signed (its URL's `X-Amz-Date`).
    pub created_at: i64,
    pub expires_at: i64,
    pub label: Option<&'a str>,
    pub signature: &'a str,
}

/// Records an issued link.
pub async fn record(pool: &Pool, link: NewLink<'_>, by: &Origin) -> Result<Link> {
    let mut tx = write_tx(pool).await?;
    let user_id = crate::users::id_of(&mut tx, link.user).await?;
    sqlx::query(
        "INSERT INTO share_links (id, bucket, object_key, method, user_id, access_key_id,
             created_by, created_at, expires_at, label, signature_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(link.id)
    .bind(link.bucket)
    .bind(link.key)
    .bind(link.method)
    .bind(user_id)
    .bind(link.access_key_id)
    .bind(link.created_by)
    .bind(link.created_at)
    .bind(link.expires_at)
    .bind(link.label)
    .bind(signature_hash(link.signature))
    .execute(&mut *tx)
    .await?;
    let detail = serde_json::json!({
        "method": link.method,
        "as": link.user,
        "access_key_id": link.access_key_id,
        "expires_at": link.expires_at,
        "label": link.label,
    });
    audit::record_action(
        &mut tx,
        by,
        Action::new("link.create", link.id)
            .link(link.id)
            .on(link.bucket, Some(link.key))
            .detail(detail),
    )
    .await?;
    tx.commit().await?;
    get(pool, link.id).await
}

/// The link `id`.
pub async fn get(pool: &Pool, id: &str) -> Result<Link> {
    sqlx::query_as(&format!("{} WHERE id = $2", select_links()))
        .bind(now_unix())
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("link", id))
}

/// Which links [`list`] shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListFilter {
    /// Also those that no longer work.
    pub all: bool,
    pub bucket: Option<String>,
    pub user: Option<String>,
    pub key: Option<String>,
    /// At most this many.
    pub limit: Option<u32>,
    /// Only links listed after this one (keyset pagination: the last id of a page).
    pub after: Option<String>,
    /// The time (Unix seconds) the states are computed for: now when `None`.
    pub at: Option<i64>,
}

/// Links, newest first: those that work, unless `all`.
pub async fn list(pool: &Pool, filter: &ListFilter) -> Result<Vec<Link>> {
    // Conditions on the table's own columns go inside, where indexes serve them.
    let mut inner = Filtered::new("");
    // `$1`: the time the links' state is computed for.
    let now = inner.param(filter.at.unwrap_or_else(now_unix));
    inner.push("1 = 1");
    if !filter.all {
        // `+` keeps SQLite off the expiry index here: walking the (created_at, id) index newest
        // first and stopping at `limit` is what keeps a page quick with many live links.
        inner.push(&format!(
            " AND l.revoked_at IS NULL AND +l.expires_at > {now}"
        ));
    }
    if let Some(bucket) = &filter.bucket {
        inner.push(" AND l.bucket = ").bind(bucket.clone());
    }
    if let Some(user) = &filter.user {
        inner
            .push(" AND l.user_id = (SELECT id FROM iam_users WHERE name = ")
            .bind(user.clone())
            .push(")");
    }
    if let Some(key) = &filter.key {
        inner.push(" AND l.object_key = ").bind(key.clone());
    }
    if let Some(after) = &filter.after {
        inner
            .push(" AND (l.created_at, l.id) < (SELECT created_at, id FROM share_links WHERE id = ")
            .bind(after.clone())
            .push(")");
    }
    let state = if filter.all {
        String::new()
    } else {
        format!("WHERE state = '{ACTIVE}'")
    };
    let limit = filter
        .limit
        .map_or_else(String::new, |n| format!("LIMIT {n}"));
    let (conditions, args) = inner.into_parts();
    let sql = format!(
        "{} {state} ORDER BY created_at DESC, id DESC {limit}",
        select_links_where(&conditions)
    );
    Ok(sqlx::query_as_with(&sql, args).fetch_all(pool).await?)
}

/// Links that work now and stop within `until` (Unix seconds), soonest first, at most `limit`.
pub async fn expiring(pool: &Pool, until: i64, limit: u32) -> Result<Vec<Link>> {
    Ok(sqlx::query_as(&format!(
        "{} WHERE state = '{ACTIVE}' ORDER BY expires_at, id LIMIT {limit}",
        select_links_where("l.revoked_at IS NULL AND l.expires_at > $1 AND l.expires_at <= $2")
    ))
    .bind(now_unix())
    .bind(until)
    .fetch_all(pool)
    .await?)
}

/// How many links work now, per signing user.
pub async fn active_by_user(pool: &Pool) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(&format!(
        "SELECT \"user\", COUNT(*) FROM ({}) AS active
         WHERE state = '{ACTIVE}' AND \"user\" IS NOT NULL GROUP BY \"user\"",
        select_links_where("l.revoked_at IS NULL AND l.expires_at > $1")
    ))
    .bind(now_unix())
    .fetch_all(pool)
    .await?)
}

/// How many links work now, counting at most `cap + 1` (a dashboard says "more than `cap`"
/// rather than check every one of a million links on each visit).
pub async fn count_active(pool: &Pool, cap: u32) -> Result<i64> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM ({}) AS live WHERE state = '{ACTIVE}' LIMIT {}) AS capped",
        select_links_where("l.revoked_at IS NULL AND l.expires_at > $1"),
        u64::from(cap) + 1
    ))
    .bind(now_unix())
    .fetch_one(pool)
    .await?)
}

/// Revokes the link `id`; revoking a revoked link changes nothing.
pub async fn revoke(pool: &Pool, id: &str, by: &Origin) -> Result<Link> {
    let link = get(pool, id).await?;
    if link.revoked_at.is_none() {
        revoke_many(pool, &Scope::Link(id.to_owned()), by).await?;
    }
    get(pool, id).await
}

/// A set of links to revoke at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Link(String),
    Object { bucket: String, key: String },
    User(String),
    Bucket(String),
}

/// Revokes every link of `scope` that is not revoked or expired, in one transaction, each
/// with its own audit event. Returns their ids.
///
/// This fails if: the user or bucket named by the scope does not exist.
pub async fn revoke_many(pool: &Pool, scope: &Scope, by: &Origin) -> Result<Vec<String>> {
    let mut tx = write_tx(pool).await?;
    let now = now_unix();
    let (clause, a, b) = match scope {
        Scope::Link(id) => ("id = $4", Some(id.as_str()), None),
        Scope::Object { bucket, key } => (
            "bucket = $4 AND object_key = $5",
            Some(bucket.as_str()),
            Some(key.as_str()),
        ),
        Scope::User(user) => {
            crate::users::id_of(&mut tx, user).await?;
            (
                "user_id = (SELECT id FROM iam_users WHERE name = $4)",
                Some(user.as_str()),
                None,
            )
        }
        Scope::Bucket(bucket) => {
            crate::buckets::require(&mut *tx, bucket).await?;
            ("bucket = $4", Some(bucket.as_str()), None)
        }
    };
    let revoked: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "UPDATE share_links SET revoked_at = $1, revoked_by = $2
         WHERE revoked_at IS NULL AND expires_at > $3 AND {clause}
         RETURNING id, bucket, object_key"
    ))
    .bind(now)
    .bind(&by.name)
    .bind(now)
    .bind(a)
    .bind(b)
    .fetch_all(&mut *tx)
    .await?;
    let scope_text = match scope {
        Scope::Link(_) => "link".to_owned(),
        Scope::Object { bucket, key } => format!("object s3://{bucket}/{key}"),
        Scope::User(user) => format!("user {user}"),
        Scope::Bucket(bucket) => format!("bucket {bucket}"),
    };
    for (id, bucket, key) in &revoked {
        audit::record_action(
            &mut tx,
            by,
            Action::new("link.revoke", id)
                .link(id)
                .on(bucket, Some(key))
                .detail(serde_json::json!({ "scope": scope_text })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(revoked.into_iter().map(|(id, _, _)| id).collect())
}

/// What a change would do to links that work now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<'a> {
    /// Disabling, deleting or rotating an access key.
    Key(&'a str),
    /// Disabling or deleting a user.
    User(&'a str),
    /// Removing a user's grant on a bucket and prefix.
    Grant {
        user: &'a str,
        bucket: &'a str,
        prefix: &'a str,
    },
}

/// How many working links [`killed_by`] counts at most: past this, "more than 1,000" is all an
/// admin needs before confirming, and counting a million links took seconds.
pub const KILLED_CAP: i64 = 1_000;

/// How many links that work now would stop working after `change`, counted up to
/// [`KILLED_CAP`] + 1 (a result above the cap means "more than [`KILLED_CAP`]").
pub async fn killed_by(pool: &Pool, change: &Change<'_>) -> Result<i64> {
    let mut query = Filtered::default();
    // `$1`, the time the state is computed for, in `select_links_where`.
    let now = query.param(now_unix());
    let signer = |query: &mut Filtered, user: &str| {
        format!(
            "l.user_id = (SELECT id FROM iam_users WHERE name = {})",
            query.param(user.to_owned())
        )
    };
    let which = match change {
        Change::Key(id) => format!("l.access_key_id = {}", query.param(id.to_string())),
        Change::User(user) => signer(&mut query, user),
        // Links this grant covers that no other grant of the user covers.
        Change::Grant {
            user,
            bucket,
            prefix,
        } => {
            let signer = signer(&mut query, user);
            let bucket = query.param(bucket.to_string());
            let prefix = query.param(prefix.to_string());
            format!(
                "{signer} AND l.bucket = {bucket} AND NOT {}",
                covered(&format!("AND g.prefix <> {prefix}"))
            )
        }
    };
    // The cheap conditions on the link's own columns first (they use its indexes), the
    // state's subqueries only for what is left, and no further than the cap.
    query.push(&format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM ({}) AS counted WHERE state = '{ACTIVE}' LIMIT {})
            AS capped",
        select_links_where(&format!(
            "l.revoked_at IS NULL AND l.expires_at > {now} AND {which}"
        )),
        KILLED_CAP + 1
    ));
    let (sql, args) = query.into_parts();
    Ok(sqlx::query_scalar_with(&sql, args).fetch_one(pool).await?)
}

/// How many working links each of `keys` in `bucket` has (keys with none are left out):
/// what deleting those objects would stop.
pub async fn live_by_object(
    pool: &Pool,
    bucket: &str,
    keys: &[String],
) -> Result<std::collections::HashMap<String, i64>> {
    if keys.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let mut query = Filtered::default();
    let now = query.param(now_unix());
    let bucket = query.param(bucket.to_owned());
    let listed: Vec<String> = keys.iter().map(|k| query.param(k.clone())).collect();
    query.push(&format!(
        "SELECT key, COUNT(*) FROM ({}) AS counted WHERE state = '{ACTIVE}' GROUP BY key",
        select_links_where(&format!(
            "l.revoked_at IS NULL AND l.expires_at > {now} AND l.bucket = {bucket}
                AND l.object_key IN ({})",
            listed.join(", ")
        ))
    ));
    let (sql, args) = query.into_parts();
    let rows: Vec<(String, i64)> = sqlx::query_as_with(&sql, args).fetch_all(pool).await?;
    Ok(rows.into_iter().collect())
}

/// What can bring stopped links back to work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revival<'a> {
    /// Enabling a disabled access key.
    Key(&'a str),
    /// Enabling a disabled user.
    User(&'a str),
}

/// How many links stopped now would work again after `revival` (nothing else in their way:
/// neither revoked nor expired, signer and key otherwise usable, a grant still covering
/// them), counted up to [`KILLED_CAP`] + 1 like [`killed_by`].
pub async fn revived_by(pool: &Pool, revival: Revival<'_>) -> Result<i64> {
    let mut query = Filtered::default();
    let now = query.param(now_unix());
    let key_usable = |status: &str| {
        format!(
            "EXISTS (SELECT 1 FROM access_keys k2 WHERE k2.id = l.access_key_id {status}
                AND (k2.expires_at IS NULL OR k2.expires_at > {now}))"
        )
    };
    let (which, blocked) = match revival {
        Revival::Key(id) => (
            format!(
                "l.access_key_id = {} AND {}",
                query.param(id.to_owned()),
                key_usable("")
            ),
            "key disabled",
        ),
        Revival::User(name) => (
            format!(
                "l.user_id = (SELECT id FROM iam_users WHERE name = {}) AND {}",
                query.param(name.to_owned()),
                key_usable("AND k2.status = 'active'")
            ),
            "user disabled",
        ),
    };
    // The state names the first thing in a link's way: the disabled key (or user) must be
    // the only one, so the conditions that come after it in the state are checked here.
    query.push(&format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM ({}) AS counted WHERE state = '{blocked}' LIMIT {})
            AS capped",
        select_links_where(&format!(
            "l.revoked_at IS NULL AND l.expires_at > {now} AND {which} AND {}",
            covered("")
        )),
        KILLED_CAP + 1
    ));
    let (sql, args) = query.into_parts();
    Ok(sqlx::query_scalar_with(&sql, args).fetch_one(pool).await?)
}

/// What to issue: a link to one object, signed as one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    /// `GET` to download, `PUT` for an upload-only link.
    pub method: Method,
    /// The IAM user the link is signed as.
    pub user: &'a str,
    /// 1 s to 7 days.
    pub lifetime: std::time::Duration,
    pub label: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "PUT")]
    Put,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
        }
    }

    /// What the signer must be allowed to do for the link to work.
    pub fn need(self) -> crate::grants::Need {
        match self {
            Method::Get => crate::grants::Need::Read,
            Method::Put => crate::grants::Need::Write,
        }
    }
}

/// An issued link: its record and its URL (shown once; only its signature is stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    pub link: Link,
    pub url: String,
}

/// Issues a link: checks that the signer may do what the link does, signs with their newest
/// active key that outlives the link (aws-sdk-s3's presigner, SigV4, for `public_url`), and
/// records it. Download links carry a `response-content-disposition` keeping the file name.
///
/// This fails if: the lifetime is out of range, the user does not exist, may not read (GET)
/// or write (PUT) the object, is disabled, or has no active key valid that long.
pub async fn issue(
    pool: &Pool,
    master: &crate::secrets::MasterKey,
    settings: &crate::settings::Settings,
    request: Request<'_>,
    by: &Origin,
) -> Result<Issued> {
    let public_url = settings.public_s3_url.as_str();
    let secs = i64::try_from(request.lifetime.as_secs()).unwrap_or(i64::MAX);
    let max = settings.max_link_secs.min(crate::settings::MAX_LINK_SECS);
    if !(1..=max).contains(&secs) {
        return Err(Error::invalid(
            "expiry",
            format!(
                "a link lives from 1 second to {} ({max} s) here",
                crate::settings::human(max)
            ),
        ));
    }
    if request.key.is_empty() {
        return Err(Error::invalid("object", "name an object"));
    }
    if let Some(label) = request.label {
        let chars = label.chars().count();
        if chars > MAX_LABEL_CHARS {
            return Err(Error::invalid(
                "label",
                format!("at most {MAX_LABEL_CHARS} characters (this one has {chars})"),
            ));
        }
    }
    crate::users::get(pool, request.user).await?;
    if !crate::grants::allows(
        pool,
        request.user,
        request.bucket,
        request.key,
        request.method.need(),
    )
    .await?
    {
        let verb = if request.method == Method::Get {
            "read"
        } else {
            "write"
        };
        return Err(Error::invalid(
            "user",
            format!(
                "user `{}` may not {verb} s3://{}/{}; grant it first",
                request.user, request.bucket, request.key
            ),
        ));
    }
    let now = now_unix();
    let expires_at = now + secs;
    let key = crate::users::keys::list(pool, Some(request.user))
        .await?
        .into_iter()
        .rev()
        .find(|k| k.status == crate::users::keys::KeyStatus::Active && !k.is_expired(expires_at))
        .ok_or_else(|| {
            Error::invalid(
                "user",
                format!(
                    "user `{}` has no active access key valid that long",
                    request.user
                ),
            )
        })?;
    let creds = crate::users::keys::credentials(pool, master, &key.id)
        .await?
        .filter(|c| c.usable(now))
        .ok_or_else(|| Error::invalid("user", format!("user `{}` is disabled", request.user)))?;
    let id = new_id();
    let url = presign(public_url, &creds, &request, &id, now)
        .await
        .map_err(|e| Error::invalid("link", format!("cannot sign the link: {e}")))?;
    let signature = signature_of(&url)
        .ok_or_else(|| Error::invalid("link", "the presigner made a URL without a signature"))?;
    let link = record(
        pool,
        NewLink {
            id: &id,
            bucket: request.bucket,
            key: request.key,
            method: request.method.as_str(),
            user: request.user,
            access_key_id: key.id.as_str(),
            created_by: &by.name,
            created_at: now,
            expires_at,
            label: request.label.filter(|l| !l.trim().is_empty()),
            signature: &signature,
        },
        by,
    )
    .await?;
    Ok(Issued { link, url })
}

/// The URL of a working link, made again: signing is deterministic, so the same signer's
/// secret, time, lifetime and address give the same URL, checked against the registry's hash
/// of its signature. `None` when the link no longer works, or its URL cannot be made again
/// (the public S3 URL changed since it was issued).
pub async fn url_again(
    pool: &Pool,
    master: &crate::secrets::MasterKey,
    settings: &crate::settings::Settings,
    id: &str,
) -> Result<Option<String>> {
    let link = get(pool, id).await?;
    let (Some(user), "active") = (link.user.as_deref(), link.state.as_str()) else {
        return Ok(None);
    };
    let Ok(key_id) = link.access_key_id.parse() else {
        return Ok(None);
    };
    let Some(creds) = crate::users::keys::credentials(pool, master, &key_id)
        .await?
        .filter(|c| c.usable(now_unix()))
    else {
        return Ok(None);
    };
    let stored: Option<String> =
        sqlx::query_scalar("SELECT signature_hash FROM share_links WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await?;
    let method = if link.method == "PUT" {
        Method::Put
    } else {
        Method::Get
    };
    // Links issued before the signing time was recorded may have been signed a second
    // before it.
    for signed_at in [link.created_at, link.created_at - 1] {
        let request = Request {
            bucket: &link.bucket,
            key: &link.key,
            method,
            user,
            lifetime: std::time::Duration::from_secs(
                u64::try_from(link.expires_at - signed_at).unwrap_or(0),
            ),
            label: None,
        };
        let Ok(url) = presign(
            settings.public_s3_url.as_str(),
            &creds,
            &request,
            &link.id,
            signed_at,
        )
        .await
        else {
            continue;
        };
        if signature_of(&url).map(|s| signature_hash(&s)) == stored {
            return Ok(Some(url));
        }
    }
    Ok(None)
}

/// A SigV4 pre-signed URL for one object on the public S3 address, signed at `signed_at`. It
/// carries the link's id in a signed `bucketshare-link` parameter (which S3 engines ignore), so
/// that two links issued alike in the same second still differ, and a URL says which link it is.
async fn presign(
    public_url: &str,
    creds: &crate::users::keys::Credentials,
    request: &Request<'_>,
    id: &str,
    signed_at: i64,
) -> std::result::Result<String, Box<dyn std::error::Error + Send + Sync>> {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_s3::presigning::PresigningConfig;
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(public_url)
        .region(Region::new(REGION))
        .force_path_style(true)
        .credentials_provider(Credentials::new(
            creds.key.id.as_str(),
            creds.secret.expose(),
            None,
            None,
            "bucketshare",
        ))
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let presigning = PresigningConfig::builder()
        .start_time(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(u64::try_from(signed_at).unwrap_or(0)),
        )
        .expires_in(request.lifetime)
        .build()?;
    let param = format!("bucketshare-link={id}");
    let tag = move |req: &mut aws_sdk_s3::config::http::HttpRequest| {
        let uri = req.uri();
        let tagged = if uri.contains('?') {
            format!("{uri}&{param}")
        } else {
            format!("{uri}?{param}")
        };
        if let Err(err) = req.set_uri(tagged) {
            tracing::error!(error = %err, "cannot tag a share link's URL");
        }
    };
    let signed = match request.method {
        Method::Get => {
            client
                .get_object()
                .bucket(request.bucket)
                .key(request.key)
                .response_content_disposition(attachment(request.key))
                .customize()
                .mutate_request(tag)
                .presigned(presigning)
                .await?
        }
        Method::Put => {
            client
                .put_object()
                .bucket(request.bucket)
                .key(request.key)
                .customize()
                .mutate_request(tag)
                .presigned(presigning)
                .await?
        }
    };
    Ok(signed.uri().to_owned())
}

/// The `X-Amz-Signature` of a pre-signed URL (as the endpoint reads it: percent-decoded).
fn signature_of(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "X-Amz-Signature").then(|| v.to_owned())
    })
}

/// `Content-Disposition` for a download that keeps the object's file name (the last part of
/// its key): a plain ASCII `filename` for old clients and the exact UTF-8 one (RFC 6266).
pub fn attachment(key: &str) -> String {
    let name = key
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("download");
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                encoded.push(char::from(byte));
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// What a pre-signed request's signature says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Use {
    /// Not a registered link (made outside bucketshare): the usual rules apply.
    Unregistered,
    /// A registered link, not revoked; its signer's key and grants are checked as usual.
    Link { id: String, user: Option<String> },
    /// A registered link that was revoked.
    Revoked { id: String, user: Option<String> },
}

/// Looks a pre-signed request up by its signature (as the endpoint decoded it). The signatures
/// of links whose bucket was deleted are still known, as revoked.
pub async fn lookup(pool: &Pool, signature: &str) -> Result<Use> {
    let hash = signature_hash(signature);
    let found: Option<(String, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT l.id, l.revoked_at, u.name FROM share_links l
         LEFT JOIN iam_users u ON u.id = l.user_id WHERE l.signature_hash = $1
         UNION ALL
         SELECT r.link_id, r.expires_at, NULL FROM retired_link_signatures r
         WHERE r.signature_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(pool)
    .await?;
    Ok(match found {
        None => Use::Unregistered,
        Some((id, Some(_), user)) => Use::Revoked { id, user },
        Some((id, None, user)) => Use::Link { id, user },
    })
}

/// What the registry keeps of a signature: its SHA-256, in hex. Enough to recognise a URL,
/// not to rebuild it.
pub fn signature_hash(signature: &str) -> String {
    use sha2::Digest as _;
    hex_lower(&sha2::Sha256::digest(signature.as_bytes()))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Replaces the plain signatures that databases from before hashing hold by their hashes
/// (SQLite has no SHA-256 to do it in a migration). Run at every start; a no-op once done.
pub async fn hash_stored_signatures(pool: &Pool) -> Result<u64> {
    let plain: Vec<(String, String)> =
        sqlx::query_as("SELECT id, signature FROM share_links WHERE signature IS NOT NULL")
            .fetch_all(pool)
            .await?;
    if plain.is_empty() {
        return Ok(0);
    }
    let mut tx = write_tx(pool).await?;
    for (id, signature) in &plain {
        sqlx::query("UPDATE share_links SET signature_hash = $1, signature = NULL WHERE id = $2")
            .bind(signature_hash(signature))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(plain.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_keep_their_file_name() {
        assert_eq!(
            attachment("reports/q1.pdf"),
            "attachment; filename=\"q1.pdf\"; filename*=UTF-8''q1.pdf"
        );
        assert_eq!(
            attachment("a/ré sumé \"v2\".txt"),
            "attachment; filename=\"r_ sum_ _v2_.txt\"; filename*=UTF-8''r%C3%A9%20sum%C3%A9%20%22v2%22.txt"
        );
        assert_eq!(
            attachment("dir/"),
            "attachment; filename=\"download\"; filename*=UTF-8''download"
        );
        assert_eq!(
            signature_of("http://h/b/k?X-Amz-Date=1&X-Amz-Signature=abc&x=y").as_deref(),
            Some("abc")
        );
    }
}
