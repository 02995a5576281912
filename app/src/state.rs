//! The state every console request shares, built once by the server binary.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use domain::db::Pool;
use leptos::config::LeptosOptions;

use crate::error::{AppError, ssr::internal};

/// Shared by the axum router and, through Leptos context, by every server function.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: Pool,
    pub auth: Arc<AuthSettings>,
    /// Seals and opens access key secrets (share links are signed with them).
    pub master: Arc<domain::secrets::MasterKey>,
    /// The settings in force (public S3 URL, link lifetimes, audit retention…), changed from
    /// the Settings page.
    pub settings: domain::settings::Live,
    /// The objects, as the console browses and changes them.
    pub store: Arc<dyn ConsoleStore>,
}

/// What the console and the admin CLI need of the object store: the server implements it for
/// the embedded store and for an upstream S3 store.
#[async_trait::async_trait]
pub trait ConsoleStore: Send + Sync {
    /// Creates `name` in the store and in the database (with the `owner` grant, if any).
    async fn create_bucket(
        &self,
        pool: &Pool,
        name: &str,
        owner: Option<&str>,
        by: &domain::audit::Origin,
    ) -> domain::Result<domain::buckets::Bucket>;

    /// Deletes `name` from the store and the database; unless `with_contents`, only if it
    /// holds no objects. Returns how many objects went with it, when the store knows.
    async fn delete_bucket(
        &self,
        pool: &Pool,
        name: &str,
        with_contents: bool,
        by: &domain::audit::Origin,
    ) -> domain::Result<Option<usize>>;

    /// Whether the store answers (`/readyz`); the error says what is wrong.
    async fn ready(&self) -> Result<(), String>;

    /// Whether bucketshare's database counts this store's objects and bytes (the embedded
    /// store's index does; an upstream store keeps its own counts, which S3 does not expose).
    fn counts_objects(&self) -> bool {
        true
    }

    /// One page of `bucket` under `prefix`, folded at `/`, starting after `after`.
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<crate::buckets::Listing, String>;

    /// Deletes one object; deleting a missing one succeeds, as in S3.
    async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), String>;

    /// One object's details (`None` when there is no such object or bucket).
    async fn object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<crate::buckets::ObjectInfo>, String>;

    /// Reads one object: whole, or the part `range` picks once the object's size is known
    /// (a range it cannot satisfy picks `None`: the whole object). `None` when there is no
    /// such object or bucket.
    async fn read(
        &self,
        bucket: &str,
        key: &str,
        range: &(dyn Fn(u64) -> Option<std::ops::Range<u64>> + Send + Sync),
    ) -> Result<Option<ObjectRead>, String>;

    /// Stores `body` as `bucket`/`key`, replacing what was there; returns its size.
    async fn upload(
        &self,
        bucket: &str,
        key: &str,
        content_type: Option<String>,
        body: UploadBody<'_>,
    ) -> Result<u64, String>;
}

/// An object being read: its details, the bytes sent (`range`, all of them when `None`), and
/// those bytes as they come.
pub struct ObjectRead {
    pub info: crate::buckets::ObjectInfo,
    pub range: Option<std::ops::Range<u64>>,
    pub body: ReadBody,
}

/// The bytes of a read, as they come from the store.
pub type ReadBody = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send>,
>;

/// The bytes of an upload, as they arrive.
pub type UploadBody<'a> =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, String>> + Send + 'a>>;

/// How sign-in is guarded. Defaults are what a production console should use; tests shorten
/// the delays.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// How long a failed sign-in takes at least, whatever failed (unknown user, wrong password).
    pub failed_login_delay: Duration,
    /// Failures in `failure_window` after which an account refuses sign-ins.
    pub max_failures_per_account: u32,
    /// Failures in `failure_window` after which a client address refuses sign-ins.
    pub max_failures_per_ip: u32,
    /// The sliding window over which failures are counted.
    pub failure_window: Duration,
    /// Trusted proxies, and whether addresses are stored truncated in the audit.
    pub network: domain::audit::Network,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            failed_login_delay: Duration::from_millis(400),
            max_failures_per_account: 5,
            max_failures_per_ip: 20,
            failure_window: Duration::from_secs(15 * 60),
            network: domain::audit::Network::default(),
        }
    }
}

/// The app state, from inside a server function.
pub fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| internal("app state missing from context", "not provided"))
}

/// Seconds since the Unix epoch, the time unit of every timestamp column.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
