//! Share pages: links served by bucketshare itself at `PUBLIC/s/<token>`, beside pre-signed
//! URLs. A page is a link of kind [`LinkKind::Page`]: it has no signature and no access key; it
//! acts as the user who made it, whose grant on the object is checked on every request (so it
//! dies with the grant, the user, its revocation or its expiry, like a pre-signed link, and
//! lists with the same states). It shares one object, or a folder: a key that is empty (the
//! whole bucket) or ends with `/` is a prefix, and the grant must cover all of it
//! ([`Link::is_folder`]). What an admin allows of pages is the sharing policy in the
//! [`Settings`], checked when a page is made or changed ([`check_policy`]). It may live forever ([`NEVER`]), carry a download limit
//! counted atomically ([`count_download`]), a password ([`unlock`], throttled per page and
//! address; the unlocked state is a sealed cookie value, [`unlocked`]) and a note to the
//! recipient.
//!
//! The token (256 random bits, base64url) is shown once; only its SHA-256 is stored, and a
//! request finds its page by that hash through a unique index.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use zeroize::Zeroizing;

use super::{Link, LinkKind, MAX_LABEL_CHARS, new_id, select_links_where, signature_hash};
use crate::audit::{self, Action, Origin};
use crate::db::Pool;
use crate::settings::{Settings, human};
use crate::{Error, Result, now_unix, write_tx};

pub use model::NEVER;

/// The longest note to the recipient, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// A page to make (the defaults: no limit, password, note or label, and a lifetime of
/// `None`: it never expires).
#[derive(Default)]
pub struct NewPage<'a> {
    pub bucket: &'a str,
    /// The object shared; a folder when it is empty or ends with `/`.
    pub key: &'a str,
    /// The IAM user the page acts as.
    pub user: &'a str,
    /// How long it works; `None`: until revoked (or until its user's rights go).
    pub lifetime: Option<std::time::Duration>,
    /// How many downloads it allows; `None`: no limit.
    pub max_downloads: Option<i64>,
    /// Asked of the recipient before anything else.
    pub password: Option<Zeroizing<String>>,
    /// Shown to the recipient on the page.
    pub note: Option<&'a str>,
    /// Shown to admins only.
    pub label: Option<&'a str>,
    /// Makes it an upload page of the folder `key`, with these limits ([`super::uploads`]).
    pub upload: Option<super::uploads::Rules<'a>>,
}

/// A page just made: its record and its token (shown once: only its hash is kept).
#[derive(Debug, Clone)]
pub struct Created {
    pub link: Link,
    pub token: String,
}

/// Makes a share page.
///
/// This fails if: the lifetime or the download limit is out of range, the note or label is too
/// long, the sharing policy does not allow the page, the user does not exist, or may not read
/// the object (all of the folder) now.
pub async fn create(
    pool: &Pool,
    page: NewPage<'_>,
    policy: &Settings,
    by: &Origin,
) -> Result<Created> {
    let now = now_unix();
    let expires_at = expiry(page.lifetime, now)?;
    check_limit(page.max_downloads)?;
    let folder = is_folder(page.key);
    let shared = match (&page.upload, folder) {
        (Some(_), true) if page.key.split('/').any(|s| s == "." || s == "..") => {
            return Err(Error::invalid(
                "object",
                "an upload page's folder has no . or .. segments (tools that save keys as paths would leave it)",
            ));
        }
        (Some(_), true) => Shared::Upload,
        (Some(_), false) => {
            return Err(Error::invalid(
                "object",
                "an upload page takes files into a folder: end the key with /",
            ));
        }
        (None, true) => Shared::Folder,
        (None, false) => Shared::File,
    };
    check_policy(policy, shared, expires_at, now, page.password.is_some())?;
    let types = match &page.upload {
        Some(rules) if page.max_downloads.is_none() => super::uploads::check_rules(rules, policy)?,
        Some(_) => {
            return Err(Error::invalid(
                "max downloads",
                "an upload page has no downloads to limit; limit its files",
            ));
        }
        None => None,
    };
    let rules = page.upload.clone().unwrap_or_default();
    let note = page.note.map(str::trim).filter(|n| !n.is_empty());
    if let Some(note) = note {
        let chars = note.chars().count();
        if chars > MAX_NOTE_CHARS {
            return Err(Error::invalid(
                "note",
                format!("at most {MAX_NOTE_CHARS} characters (this one has {chars})"),
            ));
        }
    }
    let label = page.label.map(str::trim).filter(|l| !l.is_empty());
    if let Some(label) = label {
        let chars = label.chars().count();
        if chars > MAX_LABEL_CHARS {
            return Err(Error::invalid(
                "label",
                format!("at most {MAX_LABEL_CHARS} characters (this one has {chars})"),
            ));
        }
    }
    let password_hash = match page.password {
        Some(password) => {
            check_password(&password)?;
            Some(crate::passwords::hash(password).await?)
        }
        None => None,
    };
    crate::users::get(pool, page.user).await?;
    let method = if shared == Shared::Upload {
        super::Method::Put
    } else {
        super::Method::Get
    };
    if !crate::grants::allows(pool, page.user, page.bucket, page.key, method.need()).await? {
        return Err(Error::invalid(
            "user",
            format!(
                "user `{}` may not {} {}s3://{}/{}; grant it first",
                page.user,
                if method == super::Method::Put {
                    "write"
                } else {
                    "read"
                },
                if folder { "all of " } else { "" },
                page.bucket,
                page.key
            ),
        ));
    }
    let token = new_token();
    let id = new_id();
    let mut tx = write_tx(pool).await?;
    let user_id = crate::users::id_of(&mut tx, page.user).await?;
    sqlx::query(
        "INSERT INTO share_links (id, bucket, object_key, method, user_id, access_key_id,
             created_by, created_at, expires_at, label, kind, token_hash, max_downloads, note,
             password_hash, upload_max_file, upload_max_total, upload_max_files, upload_types,
             upload_ask_name)
         VALUES ($1, $2, $3, $4, $5, '', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
             $17, $18, $19)",
    )
    .bind(&id)
    .bind(page.bucket)
    .bind(page.key)
    .bind(method.as_str())
    .bind(user_id)
    .bind(&by.name)
    .bind(now)
    .bind(expires_at)
    .bind(label)
    .bind(LinkKind::Page)
    .bind(token_hash(&token))
    .bind(page.max_downloads)
    .bind(note)
    .bind(&password_hash)
    .bind(rules.max_file)
    .bind(rules.max_total)
    .bind(rules.max_files)
    .bind(&types)
    .bind(i64::from(rules.ask_name))
    .execute(&mut *tx)
    .await?;
    let mut detail = serde_json::json!({
        "kind": LinkKind::Page,
        "as": page.user,
        "expires_at": (expires_at != NEVER).then_some(expires_at),
        "max_downloads": page.max_downloads,
        "password": password_hash.is_some(),
        "label": label,
    });
    if shared == Shared::Upload {
        detail["upload"] = serde_json::json!({
            "max_file": rules.max_file,
            "max_total": rules.max_total,
            "max_files": rules.max_files,
            "types": types,
            "ask_name": rules.ask_name,
        });
    }
    audit::record_action(
        &mut tx,
        by,
        Action::new("link.create", &id)
            .on(page.bucket, Some(page.key))
            .detail(detail),
    )
    .await?;
    tx.commit().await?;
    Ok(Created {
        link: super::get(pool, &id).await?,
        token,
    })
}

/// What [`update`] changes of a live page; `None` leaves a value as it is.
#[derive(Default)]
pub struct Update {
    /// A new lifetime from now; `Some(None)`: never expires.
    pub lifetime: Option<Option<std::time::Duration>>,
    /// A new download limit; `Some(None)`: none.
    pub max_downloads: Option<Option<i64>>,
    /// A new password; `Some(None)`: none.
    pub password: Option<Option<Zeroizing<String>>>,
}

/// Changes a page's expiry, download limit or password, keeping its address. A new password
/// ends what the old one opened.
///
/// This fails if: `id` is not a share page, it was revoked (revocation is final), nothing is
/// changed, a new value is out of range, or a new expiry or the password's removal is against
/// the sharing policy.
pub async fn update(
    pool: &Pool,
    id: &str,
    change: Update,
    policy: &Settings,
    by: &Origin,
) -> Result<Link> {
    let link = super::get(pool, id).await?;
    if link.kind != LinkKind::Page {
        return Err(Error::invalid(
            "link",
            format!("{id} is a pre-signed URL: only share pages can be changed"),
        ));
    }
    if link.revoked_at.is_some() {
        return Err(Error::invalid(
            "link",
            format!("{id} was revoked; a revoked link stays revoked"),
        ));
    }
    if link.is_upload() && change.max_downloads.is_some() {
        return Err(Error::invalid(
            "max downloads",
            "an upload page has no downloads to limit",
        ));
    }
    if change.lifetime.is_none() && change.max_downloads.is_none() && change.password.is_none() {
        return Err(Error::invalid("link", "say what to change"));
    }
    let now = now_unix();
    let new_expiry = change
        .lifetime
        .map(|lifetime| expiry(lifetime, now))
        .transpose()?;
    if let Some(Some(limit)) = change.max_downloads {
        check_limit(Some(limit))?;
    }
    let password_changed = change.password.is_some();
    let new_hash = match &change.password {
        Some(Some(password)) => {
            check_password(password)?;
            Some(crate::passwords::hash(password.clone()).await?)
        }
        _ => None,
    };
    // Read again, and the policy checked, in the write: two changes made at once (one
    // removing the password, one lengthening the page) are each held to what the other did.
    let mut tx = write_tx(pool).await?;
    let (stored_expiry, stored_limit, stored_password, revoked): (i64, Option<i64>, i64, i64) =
        sqlx::query_as(
            "SELECT expires_at, max_downloads,
                 CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END,
                 CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END
             FROM share_links WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if revoked == 1 {
        return Err(Error::invalid(
            "link",
            format!("{id} was revoked; a revoked link stays revoked"),
        ));
    }
    let expires_at = new_expiry.unwrap_or(stored_expiry);
    let max_downloads = change.max_downloads.unwrap_or(stored_limit);
    if change.lifetime.is_some() || change.password.is_some() {
        let password = match &change.password {
            None => stored_password == 1,
            Some(new) => new.is_some(),
        };
        check_policy(policy, link.shared(), expires_at, now, password)?;
    }
    sqlx::query(
        "UPDATE share_links SET expires_at = $1, max_downloads = $2,
             password_hash = CASE WHEN $3 = 1 THEN $4 ELSE password_hash END
         WHERE id = $5",
    )
    .bind(expires_at)
    .bind(max_downloads)
    .bind(i64::from(password_changed))
    .bind(&new_hash)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let detail = serde_json::json!({
        "expires_at": (expires_at != NEVER).then_some(expires_at),
        "max_downloads": max_downloads,
        "password": if password_changed { Some(new_hash.is_some()) } else { None },
    });
    audit::record_action(
        &mut tx,
        by,
        Action::new("link.update", id)
            .on(&link.bucket, Some(&link.key))
            .detail(detail),
    )
    .await?;
    tx.commit().await?;
    super::get(pool, id).await
}

/// The page a token opens, with its state now; `None` when no page has that token.
pub async fn open(pool: &Pool, token: &str) -> Result<Option<Link>> {
    Ok(sqlx::query_as(&select_links_where("l.token_hash = $2"))
        .bind(now_unix())
        .bind(token_hash(token))
        .fetch_optional(pool)
        .await?)
}

/// What counting a download did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Counted; the page may serve more.
    Yes,
    /// Counted, and it was the page's last allowed download.
    Last,
    /// Not counted: the page's limit was reached before.
    Refused,
}

/// Counts one download of page `id` if its limit allows another. One statement, so concurrent
/// downloads of a 1-download page count exactly one (and exactly one is [`Counted::Last`]).
pub async fn count_download(pool: &Pool, id: &str) -> Result<Counted> {
    let counted: Option<(i64, Option<i64>)> = sqlx::query_as(
        "UPDATE share_links SET downloads = downloads + 1
         WHERE id = $1 AND (max_downloads IS NULL OR downloads < max_downloads)
         RETURNING downloads, max_downloads",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(match counted {
        None => Counted::Refused,
        Some((downloads, Some(max))) if downloads >= max => Counted::Last,
        Some(_) => Counted::Yes,
    })
}

/// When a page made or changed `now` with `lifetime` expires ([`NEVER`] for none).
fn expiry(lifetime: Option<std::time::Duration>, now: i64) -> Result<i64> {
    let Some(lifetime) = lifetime else {
        return Ok(NEVER);
    };
    let secs = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
    if secs < 1 || now.saturating_add(secs) >= NEVER {
        return Err(Error::invalid(
            "expiry",
            "a page lives at least 1 second, or never expires",
        ));
    }
    Ok(now + secs)
}

/// Whether a page's key names a folder (a prefix): empty, or ending with `/`.
pub fn is_folder(key: &str) -> bool {
    key.is_empty() || key.ends_with('/')
}

impl Link {
    /// Whether this is a share page of a folder (for downloads: an upload page is not).
    pub fn is_folder(&self) -> bool {
        self.kind == LinkKind::Page && self.method == "GET" && is_folder(&self.key)
    }

    /// What a page shares, as the sharing policy tells pages apart.
    pub fn shared(&self) -> Shared {
        if self.is_upload() {
            Shared::Upload
        } else if self.is_folder() {
            Shared::Folder
        } else {
            Shared::File
        }
    }
}

/// What a page shares: one file, a folder to download from, or a folder to upload into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shared {
    File,
    Folder,
    Upload,
}

/// Refuses a page made or changed `now` that the sharing policy does not allow, naming the
/// rule: folder or upload pages off, a lifetime longer than the longest allowed, or no
/// password where one is required (on folder pages, on upload pages, or on pages living longer
/// than a set time).
pub fn check_policy(
    policy: &Settings,
    shared: Shared,
    expires_at: i64,
    now: i64,
    password: bool,
) -> Result<()> {
    let longer_than = |secs: i64| secs > 0 && (expires_at == NEVER || expires_at - now > secs);
    let folder = shared == Shared::Folder;
    if shared == Shared::Upload && !policy.upload_pages {
        return Err(Error::invalid(
            "kind",
            "the sharing policy allows no upload pages",
        ));
    }
    if !password && shared == Shared::Upload && policy.upload_password {
        return Err(Error::invalid(
            "password",
            "the sharing policy requires a password on upload pages",
        ));
    }
    if folder && !policy.folder_pages {
        return Err(Error::invalid(
            "object",
            "the sharing policy allows no folder pages; share files one by one",
        ));
    }
    if longer_than(policy.max_page_secs) {
        return Err(Error::invalid(
            "expiry",
            format!(
                "the sharing policy allows share pages of at most {}",
                human(policy.max_page_secs)
            ),
        ));
    }
    if !password && folder && policy.folder_password {
        return Err(Error::invalid(
            "password",
            "the sharing policy requires a password on folder pages",
        ));
    }
    if !password && longer_than(policy.page_password_after_secs) {
        return Err(Error::invalid(
            "password",
            format!(
                "the sharing policy requires a password on pages that live longer than {}",
                human(policy.page_password_after_secs)
            ),
        ));
    }
    Ok(())
}

fn check_limit(max_downloads: Option<i64>) -> Result<()> {
    if max_downloads.is_some_and(|n| n < 1) {
        return Err(Error::invalid(
            "max downloads",
            "a download limit is at least 1",
        ));
    }
    Ok(())
}

/// The shortest and longest page password.
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=256;

fn check_password(password: &str) -> Result<()> {
    let chars = password.chars().count();
    if !PASSWORD_CHARS.contains(&chars) {
        return Err(Error::invalid(
            "password",
            format!(
                "from {} to {} characters (this one has {chars})",
                PASSWORD_CHARS.start(),
                PASSWORD_CHARS.end()
            ),
        ));
    }
    Ok(())
}

/// Wrong passwords allowed per page from one address, and from one address on any pages and
/// sign-ins, in [`PASSWORD_WINDOW`]; a page takes [`crate::throttle::GLOBAL_FACTOR`] times the
/// first from everywhere.
pub const PASSWORD_LIMITS: crate::throttle::Limits = crate::throttle::Limits {
    per_account: 5,
    per_ip: 20,
    window: PASSWORD_WINDOW,
};
const PASSWORD_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// What a password given for a page did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unlock {
    /// Right: the value of the cookie that keeps the page open for [`UNLOCKED_SECS`].
    Open(String),
    Wrong,
    /// Too many wrong passwords lately, from this address or for this page.
    Throttled(crate::throttle::Throttled),
}

/// How long a right password keeps a page open in that browser.
pub const UNLOCKED_SECS: i64 = 3600;

/// What the unlocked state is sealed for.
const UNLOCKED: &str = "share-page-unlocked";

/// Checks `password` for page `link` from `ip`, throttled ([`PASSWORD_LIMITS`]).
pub async fn unlock(
    pool: &Pool,
    master: &crate::secrets::MasterKey,
    link: &Link,
    password: Zeroizing<String>,
    ip: &str,
) -> Result<Unlock> {
    let account = format!("page:{}", link.id);
    let attempt = match crate::throttle::charge(pool, &PASSWORD_LIMITS, &account, ip).await? {
        Ok(attempt) => attempt,
        Err(throttled) => return Ok(Unlock::Throttled(throttled)),
    };
    let stored = password_hash(pool, &link.id).await?;
    if !crate::passwords::verify(password, stored.clone()).await? {
        return Ok(Unlock::Wrong);
    }
    crate::throttle::succeeded(pool, attempt, &account, ip).await?;
    let until = now_unix() + UNLOCKED_SECS;
    let clear = format!("{}\n{until}\n{}", link.id, fingerprint(stored.as_deref()));
    let sealed = master.seal_bytes(UNLOCKED, clear.as_bytes())?;
    Ok(Unlock::Open(URL_SAFE_NO_PAD.encode(sealed)))
}

/// Whether `cookie` (what [`unlock`] gave) keeps page `link` open now: sealed by this master
/// key for this page, not past its hour, and for the password the page has now.
pub async fn unlocked(
    pool: &Pool,
    master: &crate::secrets::MasterKey,
    link: &Link,
    cookie: &str,
) -> Result<bool> {
    let Some(clear) = URL_SAFE_NO_PAD
        .decode(cookie)
        .ok()
        .and_then(|sealed| master.open_bytes(UNLOCKED, &sealed))
    else {
        return Ok(false);
    };
    let text = String::from_utf8_lossy(&clear);
    let mut parts = text.split('\n');
    let (Some(id), Some(until), Some(print)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(false);
    };
    if id != link.id
        || until
            .parse::<i64>()
            .map_or(true, |until| until <= now_unix())
    {
        return Ok(false);
    }
    let stored = password_hash(pool, &link.id).await?;
    Ok(print == fingerprint(stored.as_deref()))
}

/// Page `id`'s password hash, if it has a password.
async fn password_hash(pool: &Pool, id: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT password_hash FROM share_links WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
            .flatten(),
    )
}

/// A short digest of a password hash: a cookie made for one password does not open the page
/// once its password changed.
fn fingerprint(hash: Option<&str>) -> String {
    signature_hash(hash.unwrap_or_default())[..16].to_owned()
}

/// A new token: 256 random bits, base64url without padding (43 characters).
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a token: its SHA-256, hex, as for link signatures.
fn token_hash(token: &str) -> String {
    signature_hash(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sharing_policy_names_the_rule_it_refuses_by() {
        let now = 1_000_000;
        let day = 86_400;
        let field = |policy: &Settings, folder: bool, expires_at, password| match check_policy(
            policy,
            if folder { Shared::Folder } else { Shared::File },
            expires_at,
            now,
            password,
        ) {
            Ok(()) => "ok",
            Err(Error::Invalid { field, .. }) => field,
            Err(_) => "other",
        };
        let open = Settings::default();
        assert_eq!(field(&open, true, NEVER, false), "ok");
        let strict = Settings {
            max_page_secs: 30 * day,
            page_password_after_secs: 7 * day,
            folder_password: true,
            folder_pages: true,
            ..Settings::default()
        };
        assert_eq!(field(&strict, false, now + 30 * day, true), "ok");
        assert_eq!(field(&strict, false, now + 30 * day + 1, true), "expiry");
        assert_eq!(field(&strict, false, NEVER, true), "expiry");
        assert_eq!(field(&strict, false, now + 7 * day, false), "ok");
        assert_eq!(field(&strict, false, now + 7 * day + 1, false), "password");
        assert_eq!(field(&strict, true, now + day, false), "password");
        assert_eq!(field(&strict, true, now + day, true), "ok");
        let no_folders = Settings {
            folder_pages: false,
            ..Settings::default()
        };
        assert_eq!(field(&no_folders, true, now + day, true), "object");
        assert_eq!(field(&no_folders, false, now + day, true), "ok");
        let upload = |policy: &Settings, password| match check_policy(
            policy,
            Shared::Upload,
            now + day,
            now,
            password,
        ) {
            Ok(()) => "ok",
            Err(Error::Invalid { field, .. }) => field,
            Err(_) => "other",
        };
        assert_eq!(upload(&open, false), "ok");
        let no_uploads = Settings {
            upload_pages: false,
            ..Settings::default()
        };
        assert_eq!(upload(&no_uploads, true), "kind");
        let upload_password = Settings {
            upload_password: true,
            ..Settings::default()
        };
        assert_eq!(upload(&upload_password, false), "password");
        assert_eq!(upload(&upload_password, true), "ok");
        // The folder-page rules are for folders shared to download.
        assert_eq!(upload(&strict, true), "ok");
        assert_eq!(upload(&no_folders, false), "ok");
    }

    #[test]
    fn tokens_carry_256_random_bits_and_are_stored_as_hashes() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
