//! The SQLite database: opened in WAL mode with full fsync, migrated at start.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// The file name of the database inside the data dir.
pub const DB_FILE: &str = "bucketshare.db";

/// Opens (creating if needed) the database at `path` and applies pending migrations.
///
/// `synchronous = FULL`: a transaction is on disk when it commits, so an acknowledged admin
/// action survives a crash or power loss; WAL keeps readers off writers' backs.
pub async fn open(path: &Path) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    // No ping before handing out a connection: SQLite runs in this process, and each ping is a
    // round trip to the connection's worker thread (two context switches per query; the
    // benchmark's profile of pre-signed GETs was dominated by them).
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open the database {}", path.display()))?;
    sqlx::migrate!("../migrations")
        .run(&pool)
        .await
        .with_context(|| format!("cannot migrate the database {}", path.display()))?;
    Ok(pool)
}
