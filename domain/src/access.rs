//! The S3 endpoint's view of who may do what: access keys with their secrets unsealed, each
//! key's user and grants, and what a pre-signed request's signature is (a link, a revoked one,
//! none). Every signed request needs these; reading them from the database each time was most
//! of a small download's cost.
//!
//! What the view holds is stamped with two counters read before it was loaded, and used only
//! while both still read the same:
//! - the database's `access_generation`, which triggers move with every change to keys, users,
//!   grants, links' signatures and revocations (migration 0020), whoever makes it: another
//!   instance, the admin CLI. The view reads it every [`POLL`]; if it cannot for
//!   [`STALE_AFTER`], it holds nothing and every request reads the database (fail closed);
//! - [`crate::db::local_changes`], which moves when this process commits an admin action, and
//!   the data dir's [`crate::db::CHANGES_FILE`], which the other processes on it (the CLI,
//!   other instances) append to when they do: a change made on this machine applies to the
//!   very next request.
//!
//! So a revocation, a disabled key or user, or a removed grant applies at once on the machine
//! that made it and within about [`POLL`] on instances elsewhere (PostgreSQL). Time is never
//! cached: expiries are compared with the clock on each request.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Result;
use crate::db::Pool;
use crate::grants::KeyGrants;
use crate::links::Use;
use crate::secrets::{AccessKeyId, MasterKey};
use crate::users::keys::Credentials;

/// How often the database's generation is read.
pub const POLL: Duration = Duration::from_millis(200);
/// How long the view trusts the generation it read last: past this (the database did not
/// answer), it holds nothing.
pub const STALE_AFTER: Duration = Duration::from_millis(800);
/// The most entries each table of the view holds; when full it starts again empty (a flood of
/// made-up keys or signatures cannot grow it).
const MAX_ENTRIES: usize = 50_000;

/// What an entry was loaded under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    generation: u64,
    local: u64,
    mark: (u64, i128),
}

/// One table of the view.
struct Table<K, V> {
    entries: Mutex<HashMap<K, (Stamp, V)>>,
}

impl<K: Eq + Hash, V: Clone> Table<K, V> {
    fn new() -> Self {
        Table {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &K, now: Stamp) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        match entries.get(key) {
            Some((stamp, value)) if *stamp == now => Some(value.clone()),
            _ => None,
        }
    }

    fn put(&self, key: K, stamp: Stamp, value: V) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, (stamp, value));
        }
    }
}

struct Inner {
    pool: Pool,
    master: Arc<MasterKey>,
    /// The database's generation as last read.
    generation: AtomicU64,
    /// When it was last read, in milliseconds after `started` (0: never).
    read_at: AtomicU64,
    started: Instant,
    /// The data dir's [`crate::db::CHANGES_FILE`], if there is one to watch.
    changes: Option<std::path::PathBuf>,
    keys: Table<String, Option<Arc<Credentials>>>,
    grants: Table<String, Option<Arc<KeyGrants>>>,
    signatures: Table<String, Use>,
}

/// The view; clones share it. Made by [`View::start`], which also starts reading the
/// generation; that stops when the last clone is gone.
#[derive(Clone)]
pub struct View {
    inner: Arc<Inner>,
}

impl View {
    /// A view over `pool` (secrets opened with `master`), watching `data_dir`'s changes file
    /// if given; until it has read the generation once, it holds nothing. Call within a Tokio
    /// runtime.
    pub fn start(pool: Pool, master: Arc<MasterKey>, data_dir: Option<&std::path::Path>) -> Self {
        let view = View {
            inner: Arc::new(Inner {
                pool,
                master,
                generation: AtomicU64::new(0),
                read_at: AtomicU64::new(0),
                started: Instant::now(),
                changes: data_dir.map(|dir| dir.join(crate::db::CHANGES_FILE)),
                keys: Table::new(),
                grants: Table::new(),
                signatures: Table::new(),
            }),
        };
        let watched = Arc::downgrade(&view.inner);
        tokio::spawn(async move {
            loop {
                let Some(inner) = watched.upgrade() else {
                    return;
                };
                if let Err(err) = inner.read_generation().await {
                    tracing::warn!(
                        error = %err,
                        "cannot read the access generation; keys and grants are read from the \
                         database meanwhile"
                    );
                }
                drop(inner);
                tokio::time::sleep(POLL).await;
            }
        });
        view
    }

    /// The stamp entries are valid under now, or `None` when the generation is stale.
    fn stamp(&self) -> Option<Stamp> {
        let inner = &self.inner;
        // The local counter first: a change committed after this read invalidates what is
        // loaded next (it is stamped with the old count).
        let local = crate::db::local_changes();
        let mark = inner
            .changes
            .as_deref()
            .map_or((0, 0), crate::db::changes_mark);
        let read_at = inner.read_at.load(Ordering::Acquire);
        let age = u64::try_from(inner.started.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_sub(read_at);
        if read_at == 0 || age > u64::try_from(STALE_AFTER.as_millis()).unwrap_or(0) {
            return None;
        }
        Some(Stamp {
            generation: inner.generation.load(Ordering::Acquire),
            local,
            mark,
        })
    }

    /// The key `id` with its secret, as [`crate::users::keys::credentials`].
    pub async fn credentials(&self, id: &AccessKeyId) -> Result<Option<Arc<Credentials>>> {
        let stamp = self.stamp();
        if let Some(found) = stamp.and_then(|s| self.inner.keys.get(&id.to_string(), s)) {
            return Ok(found);
        }
        let loaded = crate::users::keys::credentials(&self.inner.pool, &self.inner.master, id)
            .await?
            .map(Arc::new);
        if let Some(stamp) = stamp {
            self.inner.keys.put(id.to_string(), stamp, loaded.clone());
        }
        Ok(loaded)
    }

    /// The user of key `key_id` and their grants, as [`crate::grants::of_key`].
    pub async fn grants(&self, key_id: &str) -> Result<Option<Arc<KeyGrants>>> {
        let stamp = self.stamp();
        if let Some(found) = stamp.and_then(|s| self.inner.grants.get(&key_id.to_owned(), s)) {
            return Ok(found);
        }
        let loaded = crate::grants::of_key(&self.inner.pool, key_id)
            .await?
            .map(Arc::new);
        if let Some(stamp) = stamp {
            self.inner
                .grants
                .put(key_id.to_owned(), stamp, loaded.clone());
        }
        Ok(loaded)
    }

    /// What a pre-signed request's signature is, as [`crate::links::lookup`].
    pub async fn lookup(&self, signature: &str) -> Result<Use> {
        let stamp = self.stamp();
        if let Some(found) = stamp.and_then(|s| self.inner.signatures.get(&signature.to_owned(), s))
        {
            return Ok(found);
        }
        let loaded = crate::links::lookup(&self.inner.pool, signature).await?;
        if let Some(stamp) = stamp {
            self.inner
                .signatures
                .put(signature.to_owned(), stamp, loaded.clone());
        }
        Ok(loaded)
    }
}

impl Inner {
    async fn read_generation(&self) -> Result<()> {
        let generation: i64 = sqlx::query_scalar("SELECT n FROM access_generation WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        self.generation
            .store(u64::try_from(generation).unwrap_or(0), Ordering::Release);
        let at = u64::try_from(self.started.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        self.read_at.store(at, Ordering::Release);
        Ok(())
    }
}
