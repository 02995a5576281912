//! Settings an admin changes while bucketshare runs (the console's Settings page): the public
//! S3 URL links are signed for, the default and longest link lifetimes, the sharing policy for
//! share and upload pages, audit retention, IP truncation and SigV2. The command line gives each one's value; the `settings` table holds
//! the values an admin set instead. [`Live`] is the running server's current view, refreshed
//! after a change and every few seconds (so that every instance on the database follows).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::audit::{self, Action, Network, Origin};
use crate::db::Pool;
use crate::{Error, Result, now_unix, write_tx};

/// S3's own limit for a pre-signed URL: 7 days.
pub const MAX_LINK_SECS: i64 = 604_800;

/// The settings in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The S3 address as link recipients reach it; links are signed for it.
    pub public_s3_url: String,
    /// The lifetime the share dialog offers first, in seconds.
    pub default_link_secs: i64,
    /// The longest lifetime of a link, and of any pre-signed URL the endpoint accepts.
    pub max_link_secs: i64,
    /// Audit events older than this many seconds are deleted.
    pub audit_retention_secs: i64,
    /// Client addresses are stored truncated (/24, /48).
    pub truncate_ips: bool,
    /// SigV2 requests and pre-signed URLs are accepted.
    pub sigv2: bool,
    /// Sharing policy: the longest lifetime of a share page, in seconds; 0: no limit (pages
    /// may never expire).
    pub max_page_secs: i64,
    /// Sharing policy: share pages living longer than this many seconds (or never expiring)
    /// need a password; 0: none need one for their lifetime.
    pub page_password_after_secs: i64,
    /// Sharing policy: folder pages need a password.
    pub folder_password: bool,
    /// Sharing policy: folder pages may be made.
    pub folder_pages: bool,
    /// Sharing policy: upload pages may be made (and work).
    pub upload_pages: bool,
    /// Sharing policy: the largest file an upload page may take, in bytes; 0: no limit.
    pub max_upload_file: i64,
    /// Sharing policy: the most an upload page may take in all, in bytes; 0: no limit.
    pub max_upload_total: i64,
    /// Sharing policy: upload pages need a password.
    pub upload_password: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_s3_url: "http://127.0.0.1:9000".to_owned(),
            default_link_secs: 3600,
            max_link_secs: MAX_LINK_SECS,
            audit_retention_secs: 365 * 86_400,
            truncate_ips: false,
            sigv2: true,
            max_page_secs: 0,
            page_password_after_secs: 0,
            folder_password: false,
            folder_pages: true,
            upload_pages: true,
            max_upload_file: 0,
            max_upload_total: 0,
            upload_password: false,
        }
    }
}

/// The names settings are stored under.
const NAMES: [&str; 14] = [
    "public_s3_url",
    "default_link_secs",
    "max_link_secs",
    "audit_retention_secs",
    "truncate_ips",
    "sigv2",
    "max_page_secs",
    "page_password_after_secs",
    "folder_password",
    "folder_pages",
    "upload_pages",
    "max_upload_file",
    "max_upload_total",
    "upload_password",
];

impl Settings {
    fn get(&self, name: &str) -> String {
        match name {
            "public_s3_url" => self.public_s3_url.clone(),
            "default_link_secs" => self.default_link_secs.to_string(),
            "max_link_secs" => self.max_link_secs.to_string(),
            "audit_retention_secs" => self.audit_retention_secs.to_string(),
            "truncate_ips" => self.truncate_ips.to_string(),
            "sigv2" => self.sigv2.to_string(),
            "max_page_secs" => self.max_page_secs.to_string(),
            "page_password_after_secs" => self.page_password_after_secs.to_string(),
            "folder_password" => self.folder_password.to_string(),
            "folder_pages" => self.folder_pages.to_string(),
            "upload_pages" => self.upload_pages.to_string(),
            "max_upload_file" => self.max_upload_file.to_string(),
            "max_upload_total" => self.max_upload_total.to_string(),
            "upload_password" => self.upload_password.to_string(),
            _ => String::new(),
        }
    }

    /// Sets `name` from its stored text; a value that does not parse is left as it was.
    fn set(&mut self, name: &str, value: &str) {
        match name {
            "public_s3_url" => self.public_s3_url = value.to_owned(),
            "default_link_secs" => set_parsed(&mut self.default_link_secs, value),
            "max_link_secs" => set_parsed(&mut self.max_link_secs, value),
            "audit_retention_secs" => set_parsed(&mut self.audit_retention_secs, value),
            "truncate_ips" => set_parsed(&mut self.truncate_ips, value),
            "sigv2" => set_parsed(&mut self.sigv2, value),
            "max_page_secs" => set_parsed(&mut self.max_page_secs, value),
            "page_password_after_secs" => set_parsed(&mut self.page_password_after_secs, value),
            "folder_password" => set_parsed(&mut self.folder_password, value),
            "folder_pages" => set_parsed(&mut self.folder_pages, value),
            "upload_pages" => set_parsed(&mut self.upload_pages, value),
            "max_upload_file" => set_parsed(&mut self.max_upload_file, value),
            "max_upload_total" => set_parsed(&mut self.max_upload_total, value),
            "upload_password" => set_parsed(&mut self.upload_password, value),
            _ => {}
        }
    }

    /// Checks every value, naming the field of the first that is wrong.
    pub fn check(&self) -> Result<()> {
        check_public_url(&self.public_s3_url)?;
        let link_range = 1..=MAX_LINK_SECS;
        if !link_range.contains(&self.max_link_secs) {
            return Err(Error::invalid(
                "max_link_secs",
                "The longest link lifetime must be from 1 second to 7 days.",
            ));
        }
        if !link_range.contains(&self.default_link_secs) {
            return Err(Error::invalid(
                "default_link_secs",
                "The default link lifetime must be from 1 second to 7 days.",
            ));
        }
        if self.default_link_secs > self.max_link_secs {
            return Err(Error::invalid(
                "default_link_secs",
                "The default link lifetime cannot be longer than the longest one.",
            ));
        }
        if self.max_page_secs < 0 {
            return Err(Error::invalid(
                "max_page_secs",
                "The longest share-page lifetime is a duration, or none.",
            ));
        }
        if self.page_password_after_secs < 0 {
            return Err(Error::invalid(
                "page_password_after_secs",
                "Give a duration, or none.",
            ));
        }
        for (field, value) in [
            ("max_upload_file", self.max_upload_file),
            ("max_upload_total", self.max_upload_total),
        ] {
            if value < 0 {
                return Err(Error::invalid(field, "Give a size, or none."));
            }
        }
        if self.audit_retention_secs < 86_400 {
            return Err(Error::invalid(
                "audit_retention_secs",
                "Keep audit events at least one day.",
            ));
        }
        Ok(())
    }

    /// The names whose value differs between `self` and `other`.
    pub fn differing(&self, other: &Settings) -> Vec<&'static str> {
        NAMES
            .into_iter()
            .filter(|name| self.get(name) != other.get(name))
            .collect()
    }
}

fn set_parsed<T: std::str::FromStr>(field: &mut T, value: &str) {
    if let Ok(parsed) = value.parse() {
        *field = parsed;
    }
}

/// A number of seconds as a person says it, in the largest unit that divides it: `7 days`,
/// `1 hour`, `90 minutes`, `45 seconds` (humantime reads each back).
pub fn human(secs: i64) -> String {
    let (n, unit) = [(86_400, "day"), (3600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(size, _)| secs != 0 && secs % size == 0)
        .map(|(size, unit)| (secs / size, unit))
        .unwrap_or((secs, "second"));
    let plural = if n == 1 { "" } else { "s" };
    format!("{n} {unit}{plural}")
}

/// An http(s) URL with a host and no query: what links can be signed for.
pub fn check_public_url(url: &str) -> Result<()> {
    let bad = || {
        Err(Error::invalid(
            "public_s3_url",
            format!("`{url}` is not an http:// or https:// URL with a host and no query."),
        ))
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return bad();
    };
    let host = rest.split('/').next().unwrap_or("");
    if !matches!(scheme, "http" | "https") || host.is_empty() || url.contains(['?', '#', ' ']) {
        return bad();
    }
    Ok(())
}

/// The settings in force: `base` (the command line's) with the stored values over it.
pub async fn load(pool: &Pool, base: &Settings) -> Result<Settings> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, value FROM settings")
        .fetch_all(pool)
        .await?;
    let mut settings = base.clone();
    for (name, value) in rows {
        settings.set(&name, &value);
    }
    Ok(settings)
}

/// Records the settings `serve` runs with (its command line's; the public S3 URL is the
/// address it listens on without `--public-s3-url`), for the admin commands run beside it: they
/// sign links for that URL and issue share pages under that policy. The last server started
/// on the database wins.
pub async fn record_served(pool: &Pool, base: &Settings) -> Result<()> {
    let mut tx = write_tx(pool).await?;
    for name in NAMES {
        sqlx::query(
            "INSERT INTO served_with (name, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value,
             updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(base.get(name))
        .bind(now_unix())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The command line's settings of the last `serve` on this database ([`record_served`]); the
/// built-in ones where no server ever said.
pub async fn served(pool: &Pool) -> Result<Settings> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, value FROM served_with")
        .fetch_all(pool)
        .await?;
    let mut settings = Settings::default();
    for (name, value) in rows {
        settings.set(&name, &value);
    }
    Ok(settings)
}

/// The public S3 URL the last `serve` on this database ran with, if one ever started.
pub async fn served_url(pool: &Pool) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM served_with WHERE name = 'public_s3_url'")
            .fetch_optional(pool)
            .await?,
    )
}

/// The names an admin has set (which differ from the command line).
pub async fn overridden(pool: &Pool) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT name FROM settings ORDER BY name")
            .fetch_all(pool)
            .await?,
    )
}

/// Makes `wanted` the settings in force: values equal to the command line's (`base`) are
/// stored as "not set", so that the command line governs them again. One audited change.
pub async fn save(pool: &Pool, base: &Settings, wanted: &Settings, by: &Origin) -> Result<()> {
    wanted.check()?;
    let before = load(pool, base).await?;
    let changed = before.differing(wanted);
    if changed.is_empty() {
        return Ok(());
    }
    let mut tx = write_tx(pool).await?;
    for name in NAMES {
        if wanted.get(name) == base.get(name) {
            sqlx::query("DELETE FROM settings WHERE name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(
                "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value,
                 updated_at = excluded.updated_at",
            )
            .bind(name)
            .bind(wanted.get(name))
            .bind(now_unix())
            .execute(&mut *tx)
            .await?;
        }
    }
    let detail: serde_json::Map<String, serde_json::Value> = changed
        .iter()
        .map(|name| {
            (
                (*name).to_owned(),
                serde_json::json!({ "before": before.get(name), "after": wanted.get(name) }),
            )
        })
        .collect();
    audit::record_action(
        &mut tx,
        by,
        Action::new("settings.change", &changed.join(",")).detail(detail.into()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The running server's settings: read by every request that needs one, refreshed from the
/// database after a change here and every [`Live::REFRESH`] (changes made by another instance).
#[derive(Clone)]
pub struct Live {
    base: Arc<Settings>,
    current: Arc<RwLock<Settings>>,
    /// Shares the truncation switch with everything that records client addresses.
    network: Network,
    changed: Arc<tokio::sync::Notify>,
}

impl Live {
    /// How often settings are re-read from the database.
    pub const REFRESH: Duration = Duration::from_secs(2);

    pub fn new(base: Settings, network: Network) -> Self {
        network.set_truncating(base.truncate_ips);
        Live {
            current: Arc::new(RwLock::new(base.clone())),
            base: Arc::new(base),
            network,
            changed: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// The settings in force now.
    pub fn get(&self) -> Settings {
        self.read(Settings::clone)
    }

    /// One value of the settings in force, without copying the rest (for per-request reads).
    pub fn read<T>(&self, value: impl FnOnce(&Settings) -> T) -> T {
        match self.current.read() {
            Ok(current) => value(&current),
            Err(poisoned) => value(&poisoned.into_inner()),
        }
    }

    /// The command line's settings.
    pub fn base(&self) -> &Settings {
        &self.base
    }

    /// Re-reads the settings; returns them.
    pub async fn refresh(&self, pool: &Pool) -> Result<Settings> {
        let settings = load(pool, &self.base).await?;
        self.network.set_truncating(settings.truncate_ips);
        match self.current.write() {
            Ok(mut current) => *current = settings.clone(),
            Err(poisoned) => *poisoned.into_inner() = settings.clone(),
        }
        Ok(settings)
    }

    /// Saves `wanted` and applies it at once in this process.
    pub async fn save(&self, pool: &Pool, wanted: &Settings, by: &Origin) -> Result<()> {
        save(pool, &self.base, wanted, by).await?;
        self.refresh(pool).await?;
        self.changed.notify_waiters();
        Ok(())
    }

    /// Resolves after the next change saved in this process, or after [`Live::REFRESH`].
    pub async fn next_change(&self) {
        let _ = tokio::time::timeout(Self::REFRESH, self.changed.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_and_named() {
        let ok = Settings::default();
        assert!(ok.check().is_ok());
        let field = |s: Settings| match s.check() {
            Err(Error::Invalid { field, .. }) => field,
            _ => "",
        };
        for url in [
            "ftp://x",
            "http://",
            "example.com",
            "http://a/b?c=d",
            "http://a b",
        ] {
            let s = Settings {
                public_s3_url: url.to_owned(),
                ..Settings::default()
            };
            assert_eq!(field(s), "public_s3_url", "{url}");
        }
        let long = Settings {
            max_link_secs: MAX_LINK_SECS + 1,
            ..Settings::default()
        };
        assert_eq!(field(long), "max_link_secs");
        let inverted = Settings {
            default_link_secs: 7200,
            max_link_secs: 3600,
            ..Settings::default()
        };
        assert_eq!(field(inverted), "default_link_secs");
        let short = Settings {
            audit_retention_secs: 3600,
            ..Settings::default()
        };
        assert_eq!(field(short), "audit_retention_secs");
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human(604_800), "7 days");
        assert_eq!(human(86_400), "1 day");
        assert_eq!(human(5400), "90 minutes");
        assert_eq!(human(3600), "1 hour");
        assert_eq!(human(45), "45 seconds");
        for secs in [604_800, 5400, 45, 1] {
            let back = humantime::parse_duration(&human(secs)).map(|d| d.as_secs());
            assert_eq!(back.ok(), u64::try_from(secs).ok());
        }
    }

    #[test]
    fn stored_text_round_trips_and_bad_text_is_ignored() {
        let mut s = Settings::default();
        let wanted = Settings {
            public_s3_url: "https://files.example.com".into(),
            default_link_secs: 900,
            max_link_secs: 86_400,
            audit_retention_secs: 30 * 86_400,
            truncate_ips: true,
            sigv2: false,
            max_page_secs: 90 * 86_400,
            page_password_after_secs: 86_400,
            folder_password: true,
            folder_pages: false,
            upload_pages: false,
            max_upload_file: 1 << 30,
            max_upload_total: 10 << 30,
            upload_password: true,
        };
        for name in NAMES {
            s.set(name, &wanted.get(name));
        }
        assert_eq!(s, wanted);
        s.set("max_link_secs", "soon");
        assert_eq!(s.max_link_secs, 86_400);
        assert_eq!(Settings::default().differing(&wanted).len(), 14);
    }
}
