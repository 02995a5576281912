//! Opening the metadata database: a SQLite file in the data dir (WAL, full fsync), or a
//! PostgreSQL server given by `--database-url`; migrated at start, each from its own set of
//! migrations (`migrations/sqlite`, `migrations/postgres`: the same steps, numbered alike).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use domain::db::{Backend, Pool};
use sqlx::any::AnyPoolOptions;
use sqlx::{Connection, Executor};

/// The file name of the SQLite database inside the data dir.
pub const DB_FILE: &str = "bucketshare.db";

/// Where the metadata lives.
#[derive(Debug, Clone, Copy)]
pub enum Location<'a> {
    /// A SQLite file (created if missing).
    File(&'a Path),
    /// A PostgreSQL server: `postgres://user:password@host:port/database`.
    Url(&'a str),
}

/// Opens the database and applies pending migrations.
///
/// SQLite: `synchronous = FULL`, so that a transaction is on disk when it commits and an
/// acknowledged admin action survives a crash or power loss; WAL keeps readers off writers'
/// backs. PostgreSQL: its own durability settings apply.
pub async fn open(location: Location<'_>) -> anyhow::Result<Pool> {
    sqlx::any::install_default_drivers();
    let (url, shown) = match location {
        Location::File(path) => {
            let path = std::path::absolute(path)
                .with_context(|| format!("cannot resolve {}", path.display()))?;
            (
                format!("sqlite://{}?mode=rwc", encode_path(&path)),
                path.display().to_string(),
            )
        }
        Location::Url(url) => (url.to_owned(), without_password(url)),
    };
    let options = match Backend::of_url(&url) {
        // No ping before handing out a connection: SQLite runs in this process, and each ping is
        // a round trip to the connection's worker thread (two context switches per query; the
        // benchmark's profile of pre-signed GETs was dominated by them).
        Backend::Sqlite => AnyPoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                    )
                    .await?;
                    Ok(())
                })
            }),
        // No ping before each use either: that is a network round trip per query. A connection
        // the server dropped fails its next query instead, and the pool replaces it.
        Backend::Postgres => {
            // One connection first, so that an unreachable server or a refused login says so
            // at once (the pool would retry until its acquire timeout, then only say that).
            sqlx::AnyConnection::connect(&url)
                .await
                .with_context(|| format!("cannot open the database {shown}"))?
                .close()
                .await
                .ok();
            AnyPoolOptions::new()
                .max_connections(16)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
        }
    };
    let pool = options
        .connect(&url)
        .await
        .with_context(|| format!("cannot open the database {shown}"))?;
    let migrated = match Backend::of(&pool) {
        Backend::Sqlite => sqlx::migrate!("../migrations/sqlite").run(&pool).await,
        Backend::Postgres => sqlx::migrate!("../migrations/postgres").run(&pool).await,
    };
    migrated.with_context(|| format!("cannot migrate the database {shown}"))?;
    let hashed = domain::links::hash_stored_signatures(&pool)
        .await
        .with_context(|| format!("cannot hash the link signatures in {shown}"))?;
    if hashed > 0 {
        tracing::info!(
            links = hashed,
            "share link signatures are now stored as hashes"
        );
    }
    Ok(pool)
}

/// `--database-url`: a PostgreSQL URL with a host. The message shows it without its password.
pub fn check_url(text: &str) -> Result<(), String> {
    let shown = without_password(text);
    let url = url::Url::parse(text).map_err(|e| format!("`{shown}` is not a URL ({e})"))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") || url.host_str().is_none() {
        return Err(format!(
            "`{shown}` must be a postgres:// URL with a host (without --database-url, the \
             database is the data dir's SQLite file)"
        ));
    }
    Ok(())
}

/// A database URL as it may be logged: without its password.
pub fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<the database URL>".to_owned(),
    }
}

/// A file path as the path of a `sqlite://` URL: bytes outside the unreserved set are
/// percent-encoded (sqlx decodes them), so that `?`, `#` or spaces in a data dir stay in it.
fn encode_path(path: &Path) -> String {
    let mut out = String::new();
    for byte in path.to_string_lossy().bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_their_special_characters() {
        assert_eq!(
            encode_path(Path::new("/tmp/a b?#%/x.db")),
            "/tmp/a%20b%3F%23%25/x.db"
        );
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            without_password("postgres://bs:secret@db:5432/bucketshare"),
            "postgres://bs:***@db:5432/bucketshare"
        );
        assert_eq!(without_password("not a url"), "<the database URL>");
    }
}
