//! An S3 endpoint on a free loopback port over a fresh data dir, and real `aws_sdk_s3` clients.

use std::sync::Arc;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use domain::db::Pool;
use domain::secrets::MasterKey;

pub struct S3Env {
    pub pool: Pool,
    pub master: Arc<MasterKey>,
    /// The settings in force on this endpoint (SigV2, longest pre-signed lifetime…).
    pub settings: domain::settings::Live,
    pub endpoint: String,
    pub objects_dir: std::path::PathBuf,
    /// The object store, as the console and the CLI use it.
    pub store: Arc<dyn domain::store::ObjectStore>,
    /// With an upstream store: this endpoint's bucket prefix there (unique per test, so that
    /// tests sharing one upstream server never see each other's buckets).
    pub upstream_prefix: Option<String>,
    pub dir: tempfile::TempDir,
}

/// The store the tests run against: the embedded one, unless `BUCKETSHARE_STORE=s3` and the
/// `BUCKETSHARE_STORE_*` variables name an upstream (scripts/test.sh runs the S3 and link
/// tests a second time so, against a real S3 server).
pub fn store_args() -> server::config::StoreArgs {
    use clap::Parser;
    server::config::Cli::try_parse_from(["bucketshare"])
        .unwrap()
        .store
}

/// The admin that tests act as.
pub fn admin() -> domain::audit::Origin {
    domain::audit::Origin::admin("test-admin")
}

/// Polls `check` until it holds, for up to 5 s (audit events are written asynchronously).
pub async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

pub struct Key {
    pub id: String,
    pub secret: String,
}

impl S3Env {
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// An endpoint that also answers virtual-host-style requests for `BUCKET.{domain}`.
    pub async fn start_with(domain: Option<&str>) -> Self {
        Self::start_full(domain, domain::audit::Network::default(), true).await
    }

    /// An endpoint with virtual hosts under `domain`, trusted proxies as `network` says, and
    /// S3 requests audited when `audit_requests`.
    pub async fn start_full(
        domain: Option<&str>,
        network: domain::audit::Network,
        audit_requests: bool,
    ) -> Self {
        Self::start_on(store_args(), domain, network, audit_requests).await
    }

    /// An endpoint over the store `store_args` describes.
    pub async fn start_on(
        mut store_args: server::config::StoreArgs,
        domain: Option<&str>,
        network: domain::audit::Network,
        audit_requests: bool,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pool = crate::harness::open_data_dir(dir.path()).await.unwrap();
        let (master, _) = MasterKey::load_or_create(dir.path(), None).unwrap();
        let master = Arc::new(master);
        let objects_dir = server::store::objects_dir(dir.path());
        let upstream_prefix = (store_args.store == server::config::StoreKind::S3).then(|| {
            use rand::Rng;
            let n: u32 = rand::rng().random();
            format!("t{n:08x}-")
        });
        if let Some(prefix) = &upstream_prefix {
            store_args.store_bucket_prefix = prefix.clone();
        }
        let store = server::store::Store::open(&store_args, &pool, dir.path())
            .await
            .unwrap();
        let console = store.console();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let live = domain::settings::Live::new(
            domain::settings::Settings {
                public_s3_url: endpoint.clone(),
                truncate_ips: network.truncating(),
                ..Default::default()
            },
            network.clone(),
        );
        let settings = server::s3::S3Settings {
            domain: domain.map(str::to_owned),
            live: live.clone(),
            data_dir: Some(dir.path().to_owned()),
        };
        let (log, _writer) = server::s3::AuditLog::start(pool.clone(), network, audit_requests);
        let router =
            server::s3::router(pool.clone(), master.clone(), store.clone(), &settings, log)
                .unwrap();
        tokio::spawn(server::listen::serve(
            listener,
            router,
            Default::default(),
            std::future::pending(),
        ));
        S3Env {
            pool,
            master,
            settings: live,
            endpoint,
            objects_dir,
            store: console,
            upstream_prefix,
            dir,
        }
    }

    /// A second instance over the same data dir and store, as behind a load balancer: its own
    /// database connections, audit writer and listener. Returns its endpoint.
    pub async fn second_instance(&self) -> String {
        let pool = crate::harness::open_data_dir(self.dir.path())
            .await
            .unwrap();
        let mut store_args = store_args();
        if let Some(prefix) = &self.upstream_prefix {
            store_args.store_bucket_prefix = prefix.clone();
        }
        let store = server::store::Store::open(&store_args, &pool, self.dir.path())
            .await
            .unwrap();
        let settings = server::s3::S3Settings {
            domain: None,
            live: self.settings.clone(),
            data_dir: Some(self.dir.path().to_owned()),
        };
        let (log, _writer) =
            server::s3::AuditLog::start(pool.clone(), domain::audit::Network::default(), true);
        let router = server::s3::router(pool, self.master.clone(), store, &settings, log).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server::listen::serve(
            listener,
            router,
            Default::default(),
            std::future::pending(),
        ));
        endpoint
    }

    /// Whether objects live in the embedded store (whose files tests may look at).
    pub fn embedded(&self) -> bool {
        self.upstream_prefix.is_none()
    }

    /// Creates an IAM user and returns their first key.
    pub async fn user(&self, name: &str, can_create_buckets: bool) -> Key {
        let (_, new) =
            domain::users::create(&self.pool, &self.master, name, can_create_buckets, &admin())
                .await
                .unwrap();
        Key {
            id: new.key.id.to_string(),
            secret: new.secret.expose().to_owned(),
        }
    }

    pub fn client(&self, key: &Key) -> Client {
        self.client_with(&key.id, &key.secret)
    }

    pub fn client_with(&self, id: &str, secret: &str) -> Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new("us-east-1"))
            .force_path_style(true)
            .credentials_provider(Credentials::new(id, secret, None, None, "test"))
            .build();
        Client::from_conf(config)
    }
}

/// The S3 error code of a failed SDK call.
pub fn code<E, R>(result: Result<R, aws_sdk_s3::error::SdkError<E>>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match result {
        Ok(ok) => format!("<succeeded: {ok:?}>"),
        Err(err) => err
            .as_service_error()
            .and_then(|e| e.code().map(str::to_owned))
            .or_else(|| {
                err.raw_response()
                    .map(|r| format!("HTTP {}", r.status().as_u16()))
            })
            .unwrap_or_else(|| format!("{err:?}")),
    }
}
