//! Upload pages: share pages (kind [`LinkKind::Page`], method `PUT`) at which recipients
//! without an account drop files into a bucket prefix. A page acts as its user, whose write
//! grant on the prefix is checked on every request (by the links' state, as for any link); it
//! carries its limits ([`Terms`]: largest file, total bytes, number of files, allowed types, a
//! name asked of the uploader) within the sharing policy ([`check_rules`]).
//!
//! Nothing is overwritten or exposed: each file lands at `PREFIX/YYYY-MM-DD/NAME`, its name
//! cleaned ([`clean_name`]) and given a ` (2)` suffix where that key is taken; the key is
//! reserved here before any byte is stored ([`begin`]: a unique index, so two uploads never
//! take one name), and the store writes it only if no object is there. A file counts against
//! the page's limits when its upload starts, atomically, and is given back if the upload is
//! abandoned ([`abandon`]), so concurrent uploads never together pass a limit. Each file that
//! arrived is an audit event of the link (`link.upload`, with its name, size, the uploader's
//! address and given name, and how long it took) and a row the link page lists ([`arrivals`]).

use serde::{Deserialize, Serialize};

use super::{Link, LinkKind};
use crate::audit::{self, Action, Origin};
use crate::db::Pool;
use crate::settings::Settings;
use crate::{Error, Result, now_unix, write_tx};

/// An upload page's limits (`None`: no limit) and what it has taken; empty on other links.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Terms {
    /// The largest file, in bytes.
    #[sqlx(rename = "upload_max_file")]
    pub max_file: Option<i64>,
    /// All files together, in bytes.
    #[sqlx(rename = "upload_max_total")]
    pub max_total: Option<i64>,
    /// How many files.
    #[sqlx(rename = "upload_max_files")]
    pub max_files: Option<i64>,
    /// Allowed extensions (`.pdf`) and media types (`image/*`), comma-separated.
    #[sqlx(rename = "upload_types")]
    pub types: Option<String>,
    /// Whether the uploader must give a name or e-mail address.
    #[sqlx(rename = "upload_ask_name", try_from = "crate::db::Flag")]
    pub ask_name: bool,
    /// Files and bytes taken (uploads going on included).
    #[sqlx(rename = "uploaded_files")]
    pub files: i64,
    #[sqlx(rename = "uploaded_bytes")]
    pub bytes: i64,
}

/// The limits an upload page is made with.
#[derive(Debug, Clone, Default)]
pub struct Rules<'a> {
    pub max_file: Option<i64>,
    pub max_total: Option<i64>,
    pub max_files: Option<i64>,
    /// Allowed extensions and media types, separated by commas or spaces: `.pdf, image/*`.
    pub types: Option<&'a str>,
    pub ask_name: bool,
}

impl Link {
    /// Whether this is an upload page.
    pub fn is_upload(&self) -> bool {
        self.kind == LinkKind::Page && self.method == "PUT"
    }
}

/// The largest object S3 stores (5 TiB): no file may be declared larger.
pub const MAX_OBJECT: i64 = 5 << 40;

/// The most entries an allowed-types list takes.
const MAX_TYPES: usize = 50;

/// Checks an upload page's limits against the sharing policy (file and total limits within
/// the admin's), naming the rule it refuses by; whether upload pages are allowed and need a
/// password is [`super::pages::check_policy`]'s. Returns the allowed types as stored
/// (lowercase, `.ext` and `type/sub`).
pub fn check_rules(rules: &Rules<'_>, policy: &Settings) -> Result<Option<String>> {
    for (field, value) in [
        ("max file size", rules.max_file),
        ("max total", rules.max_total),
        ("max files", rules.max_files),
    ] {
        if value.is_some_and(|n| n < 1) {
            return Err(Error::invalid(field, "a limit is at least 1"));
        }
    }
    if rules.max_file.is_some_and(|n| n > MAX_OBJECT) {
        return Err(Error::invalid(
            "max file size",
            "S3 stores objects of at most 5 TiB",
        ));
    }
    let within = |field: &'static str, what: &str, value: Option<i64>, most: i64| {
        if most > 0 && value.is_none_or(|n| n > most) {
            Err(Error::invalid(
                field,
                format!(
                    "the sharing policy allows upload pages {what} of at most {}; set one",
                    human_bytes(most)
                ),
            ))
        } else {
            Ok(())
        }
    };
    within(
        "max file size",
        "files",
        rules.max_file,
        policy.max_upload_file,
    )?;
    within(
        "max total",
        "a total",
        rules.max_total,
        policy.max_upload_total,
    )?;
    rules
        .types
        .map(normalize_types)
        .transpose()
        .map(Option::flatten)
}

/// An allowed-types list as stored: each entry lowercase, extensions with their dot, media
/// types as `type/sub` or `type/*`; `None` when it names nothing.
fn normalize_types(list: &str) -> Result<Option<String>> {
    let mut out: Vec<String> = Vec::new();
    for entry in list
        .split([',', ' ', ';'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let entry = entry.to_ascii_lowercase();
        let token = |t: &str| {
            t.len() <= 64
                && t.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        let normalized = match entry.split_once('/') {
            Some((kind, sub)) if token(kind) && (sub == "*" || token(sub)) => entry.clone(),
            Some(_) => None
                .ok_or_else(|| Error::invalid("types", format!("`{entry}` is not a media type")))?,
            None => {
                let ext = entry.trim_start_matches('.');
                if ext.is_empty()
                    || ext.len() > 16
                    || !ext.bytes().all(|b| b.is_ascii_alphanumeric())
                {
                    return Err(Error::invalid(
                        "types",
                        format!(
                            "`{entry}` is neither an extension (.pdf) nor a media type (image/*)"
                        ),
                    ));
                }
                format!(".{ext}")
            }
        };
        if !out.contains(&normalized) {
            out.push(normalized);
        }
    }
    if out.len() > MAX_TYPES {
        return Err(Error::invalid(
            "types",
            format!("at most {MAX_TYPES} types (this list has {})", out.len()),
        ));
    }
    Ok((!out.is_empty()).then(|| out.join(",")))
}

/// A number of bytes as the pages and messages say it (`10 MiB`), exact when it is a whole
/// number of units.
pub fn human_bytes(n: i64) -> String {
    const UNITS: [(i64, &str); 4] = [
        (1 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    for (size, unit) in UNITS {
        if n >= size {
            let whole = n / size;
            return if n % size == 0 {
                format!("{whole} {unit}")
            } else {
                format!("{:.1} {unit}", n as f64 / size as f64)
            };
        }
    }
    format!("{n} bytes")
}

/// A size as people write it: `500`, `10 MiB`, `10M` and `1.5 GiB` (binary units), `10 MB` (decimal
/// units); `None` for something else.
pub fn parse_size(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => return None,
    };
    let bytes = (number * scale).round();
    (number.is_finite() && bytes >= 0.0 && bytes <= MAX_OBJECT as f64 * 1024.0)
        .then_some(bytes as i64)
}

/// What a recipient offers to upload: read from the page's form or its script.
#[derive(Debug, Clone, Default)]
pub struct Offer<'a> {
    /// The file's name as the browser gave it (any path in it is dropped).
    pub name: &'a str,
    pub size: i64,
    /// The name or e-mail address the uploader gave.
    pub uploader: Option<&'a str>,
    pub client_ip: Option<&'a str>,
}

/// Why an upload is refused: a code for the audit and what the recipient is told (the limit
/// named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

impl Refused {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Refused {
            code,
            message: message.into(),
        }
    }
}

/// An offer checked against the page's terms: the cleaned file name and uploader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub name: String,
    pub size: i64,
    pub content_type: Option<String>,
    pub uploader: Option<String>,
}

/// The longest name an uploader may give, in characters.
pub const MAX_UPLOADER_CHARS: usize = 200;

/// The longest file name kept, in bytes (most file systems' limit).
pub const MAX_NAME_BYTES: usize = 255;

/// Checks what `offer` sends against page `terms` before any byte is stored: its name, its
/// size against the largest file and what is left of the total, its type, the uploader's
/// name if asked. (The number of files and the total are checked again, atomically, by
/// [`begin`].)
pub fn check_offer(terms: &Terms, offer: &Offer<'_>) -> std::result::Result<Checked, Refused> {
    let uploader = offer
        .uploader
        .map(|u| clean_text(u.trim()))
        .filter(|u| !u.is_empty());
    if terms.ask_name && uploader.is_none() {
        return Err(Refused::new(
            "NameRequired",
            "Give your name or e-mail address first.",
        ));
    }
    if let Some(u) = &uploader
        && u.chars().count() > MAX_UPLOADER_CHARS
    {
        return Err(Refused::new(
            "NameTooLong",
            format!("Your name is at most {MAX_UPLOADER_CHARS} characters."),
        ));
    }
    let Some(name) = clean_name(offer.name) else {
        return Err(Refused::new(
            "BadName",
            "That file has no usable name; rename it and try again.",
        ));
    };
    if name.len() > MAX_NAME_BYTES {
        return Err(Refused::new(
            "BadName",
            format!("File names are at most {MAX_NAME_BYTES} bytes; rename “{name}”."),
        ));
    }
    if offer.size < 0 || offer.size > MAX_OBJECT {
        return Err(Refused::new("TooLarge", "Files are at most 5 TiB."));
    }
    if let Some(max) = terms.max_file
        && offer.size > max
    {
        return Err(Refused::new(
            "TooLarge",
            format!(
                "“{name}” is {} ({} bytes): files here are at most {}.",
                human_bytes(offer.size),
                offer.size,
                human_bytes(max)
            ),
        ));
    }
    if let Some(max) = terms.max_files
        && terms.files >= max
    {
        return Err(too_many(max));
    }
    if let Some(max) = terms.max_total
        && terms.bytes.saturating_add(offer.size) > max
    {
        return Err(over_total(max, terms.bytes));
    }
    // Typed by its extension only: what the sender declares is not believed (an `.html` sent
    // as `image/png` is no image), and the stored type is the one its name implies.
    let content_type = mime_guess::from_path(&name)
        .first_raw()
        .and_then(crate::store::plain_type);
    if let Some(types) = &terms.types
        && !type_allowed(types, &name, content_type.as_deref())
    {
        return Err(Refused::new(
            "TypeNotAllowed",
            format!(
                "“{name}” is not a type this page takes; it takes {}.",
                types.replace(',', ", ")
            ),
        ));
    }
    Ok(Checked {
        name,
        size: offer.size,
        content_type,
        uploader,
    })
}

fn too_many(max: i64) -> Refused {
    Refused::new(
        "TooManyFiles",
        format!(
            "This page takes at most {max} file{}, and has them.",
            if max == 1 { "" } else { "s" }
        ),
    )
}

fn over_total(max: i64, taken: i64) -> Refused {
    Refused::new(
        "TotalExceeded",
        format!(
            "This page takes at most {} in all; {} is left.",
            human_bytes(max),
            human_bytes((max - taken).max(0))
        ),
    )
}

/// Whether a file `name` of media type `content_type` is one the allowed `types` name.
fn type_allowed(types: &str, name: &str, content_type: Option<&str>) -> bool {
    let ext = name
        .rsplit_once('.')
        .map(|(_, ext)| format!(".{}", ext.to_ascii_lowercase()));
    types.split(',').any(|allowed| {
        if allowed.starts_with('.') {
            ext.as_deref() == Some(allowed)
        } else if let Some(kind) = allowed.strip_suffix("/*") {
            content_type.is_some_and(|t| t.split_once('/').is_some_and(|(k, _)| k == kind))
        } else {
            content_type == Some(allowed)
        }
    })
}

/// Control and bidirectional-formatting characters become `_`: nothing in a name can hide
/// what it is or break a listing.
fn clean_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}'..='\u{200f}'
                    | '\u{2060}'..='\u{2064}' | '\u{061c}' | '\u{feff}')
            {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// A file name as it is stored: only its last path segment (`/` and `\` both separate), control
/// and bidi characters as `_`, blanks trimmed; `None` for nothing usable (empty, or only dots
/// and blanks, such as `..`).
pub fn clean_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned = clean_text(last).trim().to_owned();
    if cleaned.chars().all(|c| c == '.' || c.is_whitespace()) {
        return None;
    }
    Some(cleaned)
}

/// The keys a file `name` may land at under `prefix` on `day` (`YYYY-MM-DD`), in order:
/// `PREFIX/DAY/NAME`, then `NAME (2).ext`, `NAME (3).ext`… (100 in all).
pub fn candidates(prefix: &str, day: &str, name: &str) -> Vec<String> {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    (1..=100)
        .map(|n| {
            if n == 1 {
                format!("{prefix}{day}/{name}")
            } else {
                format!("{prefix}{day}/{stem} ({n}){ext}")
            }
        })
        .collect()
}

/// Today's date (UTC) as `YYYY-MM-DD`: the folder an upload lands in.
pub fn today() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .chars()
        .take(10)
        .collect()
}

/// A file sent to an upload page: reserved by [`begin`], then completed or abandoned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct PageUpload {
    pub id: String,
    pub link_id: String,
    pub bucket: String,
    pub key: String,
    /// The file's name as cleaned.
    pub name: String,
    pub size: i64,
    pub content_type: Option<String>,
    pub uploader: Option<String>,
    pub client_ip: Option<String>,
    /// The store's multipart upload, while the file is sent in parts.
    pub upload_id: Option<String>,
    pub started_at: i64,
    pub completed_at: Option<i64>,
}

const SELECT: &str = "SELECT id, link_id, bucket, object_key AS key, name, size, content_type,
    uploader, client_ip, upload_id, started_at, completed_at FROM page_uploads";

/// Reserves a file's place on page `link`: counts it against the page's number of files and
/// total (atomically: concurrent uploads never together pass a limit) and takes the first of
/// `keys` no other upload took. `Ok(Err(_))`: refused, the limit named; nothing counted.
pub async fn begin(
    pool: &Pool,
    link: &Link,
    file: &Checked,
    client_ip: Option<&str>,
    keys: &[String],
) -> Result<std::result::Result<PageUpload, Refused>> {
    let mut tx = write_tx(pool).await?;
    let counted = sqlx::query(
        "UPDATE share_links SET uploaded_files = uploaded_files + 1,
             uploaded_bytes = uploaded_bytes + $2
         WHERE id = $1
             AND (upload_max_files IS NULL OR uploaded_files < upload_max_files)
             AND (upload_max_total IS NULL OR uploaded_bytes + $2 <= upload_max_total)",
    )
    .bind(&link.id)
    .bind(file.size)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if counted == 0 {
        let (files, bytes): (i64, i64) =
            sqlx::query_as("SELECT uploaded_files, uploaded_bytes FROM share_links WHERE id = $1")
                .bind(&link.id)
                .fetch_one(&mut *tx)
                .await?;
        let terms = &link.upload;
        return Ok(Err(match terms.max_files {
            Some(max) if files >= max => too_many(max),
            _ => over_total(terms.max_total.unwrap_or(0), bytes),
        }));
    }
    let id = crate::random_id('u');
    let now = now_unix();
    for key in keys {
        let taken = sqlx::query(
            "INSERT INTO page_uploads (id, link_id, bucket, object_key, name, size,
                 content_type, uploader, client_ip, started_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (bucket, object_key) DO NOTHING",
        )
        .bind(&id)
        .bind(&link.id)
        .bind(&link.bucket)
        .bind(key)
        .bind(&file.name)
        .bind(file.size)
        .bind(&file.content_type)
        .bind(&file.uploader)
        .bind(client_ip)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken == 1 {
            tx.commit().await?;
            return Ok(Ok(PageUpload {
                id,
                link_id: link.id.clone(),
                bucket: link.bucket.clone(),
                key: key.clone(),
                name: file.name.clone(),
                size: file.size,
                content_type: file.content_type.clone(),
                uploader: file.uploader.clone(),
                client_ip: client_ip.map(str::to_owned),
                upload_id: None,
                started_at: now,
                completed_at: None,
            }));
        }
    }
    // Rolled back: nothing counted.
    Ok(Err(Refused::new(
        "NameTaken",
        format!("Too many files named “{}” today; rename it.", file.name),
    )))
}

/// Notes the store's multipart upload of `upload`.
pub async fn started(pool: &Pool, upload: &str, store_upload: &str) -> Result<()> {
    sqlx::query("UPDATE page_uploads SET upload_id = $1 WHERE id = $2")
        .bind(store_upload)
        .bind(upload)
        .execute(pool)
        .await?;
    Ok(())
}

/// `completed_at` of an upload whose object is being made: neither going on (no part, status,
/// cancel or second completion reaches it) nor arrived yet.
const COMPLETING: i64 = 0;

/// Claims `upload` for completion: from now on it can be neither given up nor completed by
/// another request. `false` when it is no longer going on (completed, claimed, given up).
pub async fn claim(pool: &Pool, upload: &str) -> Result<bool> {
    let claimed = sqlx::query(&format!(
        "UPDATE page_uploads SET completed_at = {COMPLETING} WHERE id = $1 AND completed_at IS NULL"
    ))
    .bind(upload)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// Puts a claimed upload back to going on (its object could not be made).
pub async fn release(pool: &Pool, upload: &str) -> Result<()> {
    sqlx::query(&format!(
        "UPDATE page_uploads SET completed_at = NULL WHERE id = $1 AND completed_at = {COMPLETING}"
    ))
    .bind(upload)
    .execute(pool)
    .await?;
    Ok(())
}

/// The upload `id` of page `link`, if there is one.
pub async fn find(pool: &Pool, link: &str, id: &str) -> Result<Option<PageUpload>> {
    Ok(
        sqlx::query_as(&format!("{SELECT} WHERE id = $1 AND link_id = $2"))
            .bind(id)
            .bind(link)
            .fetch_optional(pool)
            .await?,
    )
}

/// Records that `upload`, claimed ([`claim`]), arrived (its object exists): the row completed,
/// one use of its link, and the `link.upload` event with what arrived, from whom, in how long.
/// `false` when it was not claimed (nothing recorded).
pub async fn finish(
    pool: &Pool,
    upload: &PageUpload,
    by: &Origin,
    took: std::time::Duration,
) -> Result<bool> {
    let mut tx = write_tx(pool).await?;
    let now = now_unix();
    let done = sqlx::query(&format!(
        "UPDATE page_uploads SET completed_at = $1 WHERE id = $2 AND completed_at = {COMPLETING}"
    ))
    .bind(now)
    .bind(&upload.id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE share_links SET access_count = access_count + 1, last_access_at = $1
         WHERE id = $2",
    )
    .bind(now)
    .bind(&upload.link_id)
    .execute(&mut *tx)
    .await?;
    let detail = serde_json::json!({
        "name": upload.name,
        "size": upload.size,
        "content_type": upload.content_type,
        "uploader": upload.uploader,
        "secs": (took.as_secs_f64() * 1000.0).round() / 1000.0,
    });
    audit::record_action(
        &mut tx,
        by,
        Action::new("link.upload", &upload.link_id)
            .link(&upload.link_id)
            .on(&upload.bucket, Some(&upload.key))
            .detail(detail.clone()),
    )
    .await?;
    let mut fields = serde_json::json!({
        "link": upload.link_id,
        "bucket": upload.bucket,
        "key": upload.key,
        "client_ip": upload.client_ip,
    });
    if let (Some(fields), serde_json::Value::Object(detail)) = (fields.as_object_mut(), detail) {
        fields.extend(detail);
    }
    audit::webhooks::enqueue_for_link(
        &mut tx,
        &upload.link_id,
        audit::webhooks::Kind::Upload,
        fields,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Gives `upload` up (its sender stopped, or it could not be stored): its name and its place
/// in the page's limits are free again. `false` (nothing done) for an upload no longer going
/// on: completed, being completed, or given up already.
pub async fn abandon(pool: &Pool, upload: &PageUpload) -> Result<bool> {
    let mut tx = write_tx(pool).await?;
    let gone = sqlx::query("DELETE FROM page_uploads WHERE id = $1 AND completed_at IS NULL")
        .bind(&upload.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if gone == 1 {
        sqlx::query(
            "UPDATE share_links SET uploaded_files = uploaded_files - 1,
                 uploaded_bytes = uploaded_bytes - $1
             WHERE id = $2",
        )
        .bind(upload.size)
        .bind(&upload.link_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(gone == 1)
}

/// What arrived through page `link`, newest first, at most `limit`.
pub async fn arrivals(pool: &Pool, link: &str, limit: u32) -> Result<Vec<PageUpload>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE link_id = $1 AND completed_at > {COMPLETING}
         ORDER BY completed_at DESC, id DESC LIMIT {limit}"
    ))
    .bind(link)
    .fetch_all(pool)
    .await?)
}

/// Uploads started before `before` that never completed (a completion cut off by a stop
/// included), at most `limit`: what a sweep gives up (their store uploads aborted, their
/// places freed, after [`release`]).
pub async fn unfinished(pool: &Pool, before: i64, limit: u32) -> Result<Vec<PageUpload>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE (completed_at IS NULL OR completed_at = {COMPLETING}) AND started_at < $1
         ORDER BY started_at LIMIT {limit}"
    ))
    .bind(before)
    .fetch_all(pool)
    .await?)
}

/// How many files arrived through upload pages since `since` (Unix seconds).
pub async fn count_since(pool: &Pool, since: i64) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM page_uploads WHERE completed_at >= $1")
            .bind(since.max(COMPLETING + 1))
            .fetch_one(pool)
            .await?,
    )
}

/// How many parts a file of `size` bytes is sent in (an empty file: one empty part).
pub fn part_count(size: i64) -> i64 {
    let part = part_size(size);
    ((size + part - 1) / part).max(1)
}

/// The length of part `n` (from 1) of a file of `size` bytes.
pub fn part_len(size: i64, n: i64) -> i64 {
    let part = part_size(size);
    (size - (n - 1) * part).clamp(0, part)
}

/// The part size a file of `size` bytes is sent in: 8 MiB, or more where 10,000 parts (S3's
/// most) would not hold it, in whole MiB.
pub fn part_size(size: i64) -> i64 {
    const MIB: i64 = 1 << 20;
    let needed = (size + 9_999) / 10_000;
    (8 * MIB).max((needed + MIB - 1) / MIB * MIB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_only_their_last_segment_and_lose_what_hides() {
        assert_eq!(clean_name("report.pdf").as_deref(), Some("report.pdf"));
        assert_eq!(clean_name("../../other-bucket/x").as_deref(), Some("x"));
        assert_eq!(clean_name("C:\\Users\\me\\a.txt").as_deref(), Some("a.txt"));
        assert_eq!(clean_name("/etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(clean_name("a\u{0}b\nc.txt").as_deref(), Some("a_b_c.txt"));
        assert_eq!(
            clean_name("evil\u{202e}fdp.exe").as_deref(),
            Some("evil_fdp.exe")
        );
        assert_eq!(
            clean_name("  spaced name.txt  ").as_deref(),
            Some("spaced name.txt")
        );
        for nothing in ["", "..", ".", " . ", "dir/", "a/..", "\\.."] {
            assert_eq!(clean_name(nothing), None, "{nothing:?}");
        }
    }

    #[test]
    fn clashing_names_get_a_number_before_their_extension() {
        let keys = candidates("in/", "2026-11-30", "a.tar.gz");
        assert_eq!(keys[0], "in/2026-11-30/a.tar.gz");
        assert_eq!(keys[1], "in/2026-11-30/a.tar (2).gz");
        assert_eq!(keys.len(), 100);
        assert_eq!(candidates("", "d", ".env")[1], "d/.env (2)");
        assert_eq!(candidates("", "d", "README")[2], "d/README (3)");
    }

    #[test]
    fn offers_are_refused_naming_the_limit_they_pass() {
        let terms = Terms {
            max_file: Some(10 << 20),
            max_total: Some(25 << 20),
            max_files: Some(3),
            types: normalize_types(".PDF, image/*").unwrap(),
            ask_name: true,
            files: 1,
            bytes: 20 << 20,
        };
        let offer = |name: &'static str, size: i64, _declared: Option<&'static str>| Offer {
            name,
            size,
            uploader: Some("Ann <ann@example.com>"),
            client_ip: None,
        };
        let code = |o: Offer<'_>| check_offer(&terms, &o).err().map(|r| r.code);
        assert_eq!(code(offer("a.pdf", 1 << 20, None)), None);
        assert_eq!(code(offer("a.PDF", 1 << 20, None)), None);
        assert_eq!(code(offer("p.png", 1 << 20, Some("image/png"))), None);
        // Typed by the name alone: what the sender declares changes nothing.
        assert_eq!(code(offer("p.png", 1 << 20, Some("text/plain"))), None);
        assert_eq!(
            code(offer("x.html", 1, Some("image/png"))),
            Some("TypeNotAllowed")
        );
        let typed = check_offer(&terms, &offer("p.png", 1, Some("text/html"))).unwrap();
        assert_eq!(typed.content_type.as_deref(), Some("image/png"));
        assert_eq!(code(offer("a.exe", 1, None)), Some("TypeNotAllowed"));
        assert_eq!(code(offer("a.pdf", (10 << 20) + 1, None)), Some("TooLarge"));
        assert_eq!(
            code(offer("a.pdf", (5 << 20) + 1, None)),
            Some("TotalExceeded")
        );
        assert_eq!(code(offer("..", 1, None)), Some("BadName"));
        let refused = check_offer(&terms, &offer("big.pdf", 11 << 20, None)).unwrap_err();
        assert!(
            refused.message.contains("at most 10 MiB"),
            "{}",
            refused.message
        );
        let anonymous = Offer {
            uploader: Some("  "),
            ..offer("a.pdf", 1, None)
        };
        assert_eq!(code(anonymous), Some("NameRequired"));
        let full = Terms {
            files: 3,
            ..terms.clone()
        };
        assert_eq!(
            check_offer(&full, &offer("a.pdf", 1, None))
                .unwrap_err()
                .code,
            "TooManyFiles"
        );
    }

    #[test]
    fn allowed_types_are_stored_plainly_or_refused_with_the_entry() {
        assert_eq!(
            normalize_types("pdf .DOCX image/* ").unwrap().as_deref(),
            Some(".pdf,.docx,image/*")
        );
        assert_eq!(normalize_types(" , ").unwrap(), None);
        assert!(normalize_types("*/*x").is_err());
        assert!(normalize_types(".p d f").is_ok());
        assert!(normalize_types("a/b/c").is_err());
        assert!(normalize_types("../x").is_err());
    }

    #[test]
    fn the_policy_names_the_rule_an_upload_page_breaks() {
        let field = |rules: Rules<'_>, policy: &Settings| match check_rules(&rules, policy) {
            Ok(_) => "ok",
            Err(Error::Invalid { field, .. }) => field,
            Err(_) => "other",
        };
        let open = Settings::default();
        assert_eq!(field(Rules::default(), &open), "ok");
        let strict = Settings {
            max_upload_file: 1 << 30,
            max_upload_total: 10 << 30,
            upload_password: true,
            ..Settings::default()
        };
        let within = Rules {
            max_file: Some(1 << 30),
            max_total: Some(2 << 30),
            ..Rules::default()
        };
        assert_eq!(field(within.clone(), &strict), "ok");
        assert_eq!(
            field(
                Rules {
                    max_file: None,
                    ..within.clone()
                },
                &strict
            ),
            "max file size"
        );
        assert_eq!(
            field(
                Rules {
                    max_total: Some((10 << 30) + 1),
                    ..within.clone()
                },
                &strict
            ),
            "max total"
        );
        assert_eq!(
            field(
                Rules {
                    max_files: Some(0),
                    ..within
                },
                &strict
            ),
            "max files"
        );
    }

    #[test]
    fn parts_are_8_mib_unless_10000_would_not_hold_the_file() {
        assert_eq!(part_size(0), 8 << 20);
        assert_eq!(part_size(80_000 << 20), 8 << 20);
        assert_eq!(part_size((80_000 << 20) + 1), 9 << 20);
        assert_eq!((part_count(0), part_len(0, 1)), (1, 0));
        let size = (20 << 20) + 5;
        assert_eq!(part_count(size), 3);
        assert_eq!(part_len(size, 2), 8 << 20);
        assert_eq!(part_len(size, 3), (4 << 20) + 5);
        assert!(part_size(MAX_OBJECT) * 10_000 >= MAX_OBJECT);
        assert_eq!(human_bytes(10 << 20), "10 MiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12), "12 bytes");
        assert_eq!(parse_size("10 MiB"), Some(10 << 20));
        assert_eq!(parse_size("10M"), Some(10 << 20));
        assert_eq!(parse_size("1.5 GiB"), Some(3 << 29));
        assert_eq!(parse_size("10 MB"), Some(10_000_000));
        assert_eq!(parse_size("500"), Some(500));
        for bad in ["", "ten", "10 XB", "-1", "1e9"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }
}
