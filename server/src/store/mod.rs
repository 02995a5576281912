//! Where objects live: in files under the data dir ([`embedded`]) or in an existing S3 store
//! ([`upstream`]). A data dir keeps the kind of store it was first used with (recorded in the
//! database), so that a start on the wrong store is refused instead of showing empty buckets.

pub(crate) mod answers;
pub mod embedded;
mod parts;
pub mod upstream;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use domain::db::Pool;
use domain::store::ObjectStore;

use crate::config::{StoreArgs, StoreKind};
pub use embedded::{
    EmbeddedStore, Scratch, blob_path, objects_dir, remove_blobs, sweep_orphans,
    sweep_orphans_older_than, sweep_scratch,
};
pub use upstream::UpstreamStore;

/// The IAM user behind an S3 request: found by the endpoint's access check
/// ([`crate::s3`]), put in the request's extensions, and read by the store as the author of the
/// changes it makes.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: String,
    pub access_key_id: String,
}

/// The object store a server or an admin command works with.
#[derive(Clone)]
pub enum Store {
    Embedded(EmbeddedStore),
    Upstream(UpstreamStore),
}

impl Store {
    /// Opens the store `args` describe, after checking that it is the kind this data dir's
    /// buckets live in (and recording it on first use).
    pub async fn open(args: &StoreArgs, pool: &Pool, data_dir: &Path) -> anyhow::Result<Self> {
        let upstream = match args.store {
            StoreKind::Embedded => None,
            StoreKind::S3 => Some(upstream::Settings::from_args(args)?),
        };
        check_identity(pool, args, upstream.as_ref().map(|u| u.endpoint.as_str())).await?;
        Ok(match upstream {
            None => {
                let dir = objects_dir(data_dir);
                let store = EmbeddedStore::new(pool.clone(), dir.clone()).with_context(|| {
                    format!("cannot make a scratch directory under {}", dir.display())
                })?;
                Store::Embedded(store)
            }
            Some(settings) => Store::Upstream(UpstreamStore::new(pool.clone(), settings)),
        })
    }

    /// The store as the console and the admin commands use it.
    pub fn console(&self) -> Arc<dyn ObjectStore> {
        match self {
            Store::Embedded(store) => Arc::new(store.clone()),
            Store::Upstream(store) => Arc::new(store.clone()),
        }
    }
}

/// Compares the store asked for with the one recorded for the data dir; records it if none is.
async fn check_identity(
    pool: &Pool,
    args: &StoreArgs,
    endpoint: Option<&str>,
) -> anyhow::Result<()> {
    let kind = args.store.as_str();
    let prefix = args.store_bucket_prefix.as_str();
    let recorded: Option<(String, Option<String>, String)> =
        sqlx::query_as("SELECT kind, endpoint, bucket_prefix FROM store_identity WHERE id = 1")
            .fetch_optional(pool)
            .await
            .context("cannot read which store this data dir uses")?;
    match recorded {
        None => {
            sqlx::query(
                "INSERT INTO store_identity (id, kind, endpoint, bucket_prefix, recorded_at)
                 VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
            )
            .bind(kind)
            .bind(endpoint)
            .bind(prefix)
            .bind(domain::now_unix())
            .execute(pool)
            .await
            .context("cannot record which store this data dir uses")?;
        }
        Some((was, _, _)) if was != kind => bail!(
            "this data dir's buckets live in the {was} store, not the {kind} one: start with \
             --store {was} (a data dir keeps its store; to move, copy the objects and start a new \
             data dir)"
        ),
        Some((_, _, was_prefix)) if was_prefix != prefix => bail!(
            "this data dir's buckets are named with the prefix `{was_prefix}` upstream, not \
             `{prefix}`: start with --store-bucket-prefix '{was_prefix}'"
        ),
        Some((_, was_endpoint, _)) => {
            if was_endpoint.as_deref() != endpoint {
                // Endpoints move (a new hostname, a load balancer); the buckets are the same.
                tracing::warn!(
                    was = was_endpoint.as_deref().unwrap_or("-"),
                    now = endpoint.unwrap_or("-"),
                    "the upstream store's endpoint changed"
                );
                sqlx::query("UPDATE store_identity SET endpoint = $1 WHERE id = 1")
                    .bind(endpoint)
                    .execute(pool)
                    .await
                    .context("cannot record the new store endpoint")?;
            }
        }
    }
    Ok(())
}
