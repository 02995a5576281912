//! Console sessions: stored in the metadata database (SQLite or PostgreSQL, whichever the data
//! dir uses) so that they survive restarts and every instance sees them.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use domain::db::{Backend, Pool};
use sqlx::SqlitePool;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion};
use tower_sessions::{Expiry, SessionManagerLayer, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::config::ServeArgs;

/// The session table, created by the session store itself.
const SESSION_TABLE: &str = "sessions";

/// The session store of the database `pool` reaches.
#[derive(Debug, Clone)]
pub enum Sessions {
    /// The store and its pool (for the sweep the store gets wrong).
    Sqlite(SqliteStore, SqlitePool),
    Postgres(PostgresStore),
}

impl Sessions {
    /// Opens the store (its own small pool on the same database) and creates its table.
    pub async fn open(pool: &Pool) -> anyhow::Result<Sessions> {
        let url = pool.connect_options().database_url.to_string();
        let sessions = match Backend::of(pool) {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(&url)?
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await
                    .context("cannot open the session store")?;
                Sessions::Sqlite(
                    SqliteStore::new(pool.clone())
                        .with_table_name(SESSION_TABLE)
                        .map_err(|e| anyhow::anyhow!("session table name: {e}"))?,
                    pool,
                )
            }
            Backend::Postgres => {
                let pool = PgPoolOptions::new()
                    .max_connections(4)
                    .connect(&url)
                    .await
                    .context("cannot open the session store")?;
                Sessions::Postgres(
                    PostgresStore::new(pool)
                        .with_table_name(SESSION_TABLE)
                        .map_err(|e| anyhow::anyhow!("session table name: {e}"))?,
                )
            }
        };
        // Instances starting together on a fresh PostgreSQL database race to create the table
        // (`CREATE TABLE IF NOT EXISTS` is not atomic there): the loser tries once more.
        let mut tries = 0;
        loop {
            let created = match &sessions {
                Sessions::Sqlite(store, _) => store.migrate().await,
                Sessions::Postgres(store) => store.migrate().await,
            };
            match created {
                Ok(()) => return Ok(sessions),
                Err(_) if tries == 0 => tries += 1,
                Err(err) => return Err(err).context("cannot create the session table"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Deletes expired sessions. (The SQLite store's own `delete_expired` compares its Unix
    /// timestamps with `datetime()` and never matches, so this does it right there.)
    pub async fn delete_expired(&self) -> anyhow::Result<()> {
        match self {
            Sessions::Sqlite(_, pool) => {
                let sql = format!("DELETE FROM {SESSION_TABLE} WHERE expiry_date < $1");
                sqlx::query(&sql)
                    .bind(domain::now_unix())
                    .execute(pool)
                    .await?;
            }
            Sessions::Postgres(store) => store.delete_expired().await?,
        }
        Ok(())
    }

    /// Deletes expired sessions every minute.
    pub async fn sweep(self) {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            if let Err(err) = self.delete_expired().await {
                tracing::warn!(error = %err, "could not delete expired sessions");
            }
        }
    }

    /// Session cookies: HttpOnly, SameSite=Lax, Secure when asked, expiring after idle time.
    pub fn layer(self, args: &ServeArgs) -> anyhow::Result<SessionManagerLayer<Sessions>> {
        let idle = time::Duration::try_from(args.session_idle_timeout)
            .context("--session-idle-timeout is too long")?;
        Ok(SessionManagerLayer::new(self)
            .with_name("bucketshare_session")
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(args.secure_cookies)
            .with_expiry(Expiry::OnInactivity(idle)))
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(store, _) => store.create(record).await,
            Sessions::Postgres(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(store, _) => store.save(record).await,
            Sessions::Postgres(store) => store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Sessions::Sqlite(store, _) => store.load(id).await,
            Sessions::Postgres(store) => store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(store, _) => store.delete(id).await,
            Sessions::Postgres(store) => store.delete(id).await,
        }
    }
}
