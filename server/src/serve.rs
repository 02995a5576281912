//! `bucketshare serve`: opens the data dir, makes sure an admin exists, and runs the console
//! until SIGTERM or Ctrl-C.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use app::auth::ssr::{FIRST_ADMIN, FirstAdmin, ensure_first_admin};
use app::error::AppError;
use app::state::{AppState, AuthSettings};
use domain::db::Pool;
use leptos::config::LeptosOptions;

use crate::config::{Redacted, ServeArgs, StoreArgs};
use crate::sessions::Sessions;
use crate::store::Store;
use crate::{db, s3, web};
use domain::audit::Network;
use domain::secrets::{MasterKey, MasterKeySource};
use domain::settings::{Live, Settings};

pub async fn run(
    data_dir: &Path,
    database_url: Option<&Redacted>,
    master_key: Option<&Redacted>,
    public_s3_url: Option<&str>,
    store_args: &StoreArgs,
    args: ServeArgs,
) -> anyhow::Result<()> {
    let site = crate::site::Site::choose(args.site_root.as_deref());
    if let Some(problem) = site.problem() {
        tracing::warn!("{problem}");
    }
    let pool = open_data_dir(data_dir, database_url).await?;
    domain::db::announce_changes_in(data_dir);
    // Loaded (and on first start created) now, so that a wrong key stops the start, not the
    // first request.
    let (master, source) = MasterKey::load_or_create(data_dir, master_key.map(|k| k.0.as_str()))?;
    if source == MasterKeySource::NewFile {
        tracing::info!(
            file = %data_dir.join(MasterKey::FILE).display(),
            "created the master key; keep a copy with your backups"
        );
    }
    announce_first_admin(&pool, args.admin_password.clone().map(|p| p.0)).await?;
    let sessions = Sessions::open(&pool).await?;
    let sweeper = tokio::spawn(sessions.clone().sweep());

    // Bound first: without --public-s3-url, links are signed for the address it listens on.
    let s3_listener = tokio::net::TcpListener::bind(args.s3_addr)
        .await
        .with_context(|| format!("cannot listen on {} (--s3-addr)", args.s3_addr))?;
    let public_s3_url = match public_s3_url {
        Some(url) => url.to_owned(),
        None => listening_url(s3_listener.local_addr()?),
    };
    let network = Network::new(args.trusted_proxies.clone(), args.audit_truncate_ips);
    let base = Settings {
        public_s3_url: public_s3_url.clone(),
        audit_retention_secs: i64::try_from(args.audit_retention.as_secs()).unwrap_or(i64::MAX),
        truncate_ips: args.audit_truncate_ips,
        sigv2: !args.disable_sigv2,
        max_page_secs: secs(args.max_page_lifetime),
        page_password_after_secs: secs(args.page_password_after),
        folder_password: args.folder_page_password,
        folder_pages: !args.no_folder_pages,
        upload_pages: !args.no_upload_pages,
        upload_password: args.upload_page_password,
        max_upload_file: args.max_upload_file_size.unwrap_or(0),
        max_upload_total: args.max_upload_total.unwrap_or(0),
        ..Settings::default()
    };
    domain::settings::record_served(&pool, &base)
        .await
        .context("cannot record the settings served with")?;
    let settings = Live::new(base, network.clone());
    settings
        .refresh(&pool)
        .await
        .context("cannot read the settings")?;
    let refresher = tokio::spawn(refresh_settings(settings.clone(), pool.clone()));
    let master = Arc::new(master);
    let objects = Store::open(store_args, &pool, data_dir).await?;
    let state = AppState {
        store: objects.console(),
        leptos_options: leptos_options(&args, &site),
        pool: pool.clone(),
        master: master.clone(),
        settings: settings.clone(),
        auth: Arc::new(AuthSettings {
            max_failures_per_account: args.login_max_failures_per_account,
            max_failures_per_ip: args.login_max_failures_per_ip,
            failure_window: args.login_failure_window,
            network: network.clone(),
            ..AuthSettings::default()
        }),
    };
    let mut console = web::app_with_site(state, sessions.layer(&args)?, site);
    if let Some(token) = args.metrics_token.clone() {
        console = console.merge(web::metrics(token));
    }

    // Blobs that interrupted writes left are removed in the background: the sweep touches
    // only old files no row names, so serving meanwhile is safe, and a big store starts at once.
    let orphans = match objects {
        Store::Embedded(_) => {
            let (pool, dir) = (pool.clone(), crate::store::objects_dir(data_dir));
            // Dead processes' scratch files first, before serving (quick: one directory each).
            let scratch = dir.clone();
            tokio::task::spawn_blocking(move || crate::store::sweep_scratch(&scratch))
                .await?
                .context("cannot clean up interrupted uploads")?;
            Some(tokio::spawn(async move {
                let started = std::time::Instant::now();
                match crate::store::sweep_orphans(&pool, &dir).await {
                    Ok(swept) => tracing::info!(
                        files = swept,
                        secs = started.elapsed().as_secs_f64(),
                        "looked for what interrupted uploads left behind"
                    ),
                    Err(err) => tracing::warn!(
                        error = %err,
                        "cannot clean up what interrupted uploads left; trying at the next start"
                    ),
                }
            }))
        }
        Store::Upstream(_) => None,
    };
    let s3_settings = s3::S3Settings {
        domain: args.s3_domain.clone(),
        live: settings.clone(),
        data_dir: Some(data_dir.to_owned()),
    };
    let (audit_log, audit_writer) = s3::AuditLog::start(pool.clone(), network, args.audit_requests);
    let retention = tokio::spawn(sweep_old_audit_events(pool.clone(), settings.clone()));
    let unfinished = tokio::spawn(sweep_unfinished_uploads(pool.clone(), objects.console()));
    let webhook_sender = tokio::spawn(
        crate::webhooks::Sender::new(pool.clone(), master.clone())
            .context("cannot set up the webhook sender")?
            .run(),
    );
    let s3_router = s3::router(pool.clone(), master, objects, &s3_settings, audit_log)?;

    let console_listener = tokio::net::TcpListener::bind(args.console_addr)
        .await
        .with_context(|| format!("cannot listen on {} (--console-addr)", args.console_addr))?;
    tracing::info!(
        console = %format!("http://{}", console_listener.local_addr()?),
        s3 = %format!("http://{}", s3_listener.local_addr()?),
        public_s3_url = %settings.get().public_s3_url,
        data_dir = %data_dir.display(),
        store = store_args.store.as_str(),
        "bucketshare is serving"
    );

    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|&s| s).await;
        }
    };
    let limits = crate::listen::Limits::of(&args);
    let console_server = crate::listen::serve(console_listener, console, limits, until_stopped());
    let s3_server = crate::listen::serve(s3_listener, s3_router, limits, until_stopped());
    let (console_result, s3_result) = tokio::join!(console_server, s3_server);
    console_result.context("the console server failed")?;
    s3_result.context("the S3 endpoint failed")?;

    sweeper.abort();
    retention.abort();
    unfinished.abort();
    webhook_sender.abort();
    if let Some(orphans) = orphans {
        orphans.abort();
    }
    refresher.abort();
    // Every sender went with the S3 router: the writer stores what is queued, then ends.
    if let Err(err) = audit_writer.await {
        tracing::error!(error = %err, "the audit writer failed");
    }
    pool.close().await;
    tracing::info!("bucketshare stopped");
    Ok(())
}

/// Creates the data dir (owner-only) if needed and opens the database: the data dir's SQLite
/// file, or the PostgreSQL server of `database_url`.
pub async fn open_data_dir(
    data_dir: &Path,
    database_url: Option<&Redacted>,
) -> anyhow::Result<Pool> {
    if let Some(url) = database_url {
        db::check_url(&url.0).map_err(|message| anyhow::anyhow!("--database-url: {message}"))?;
    }
    if !data_dir.exists() {
        create_private_dir(data_dir)
            .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    } else if !data_dir.is_dir() {
        bail!("the data dir {} is not a directory", data_dir.display());
    } else {
        make_private(data_dir)
            .with_context(|| format!("cannot restrict the data dir {}", data_dir.display()))?;
    }
    match database_url {
        Some(url) => db::open(db::Location::Url(&url.0)).await,
        None => db::open(db::Location::File(&data_dir.join(db::DB_FILE))).await,
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// An existing data dir readable by others (made by hand, or restored from a backup) is made
/// the owner's alone (0700): it holds the database and the master key.
#[cfg(unix)]
fn make_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        tracing::warn!(
            data_dir = %dir.display(),
            was = format!("{:o}", mode & 0o777),
            "the data dir was open to other users; it is now 0700"
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Creates the first admin on an empty data dir and, if its password was generated, prints it
/// once on standard output.
async fn announce_first_admin(pool: &Pool, password: Option<String>) -> anyhow::Result<()> {
    match ensure_first_admin(pool, password).await {
        Ok(FirstAdmin::AlreadyThere) => {}
        Ok(FirstAdmin::CreatedWithGivenPassword) => tracing::info!(
            admin = FIRST_ADMIN,
            "created the first admin with the password from BUCKETSHARE_ADMIN_PASSWORD"
        ),
        Ok(FirstAdmin::CreatedWithGeneratedPassword(password)) => {
            println!(
                "\n  ┌──────────────────────────────────────────────────────────────┐\
                 \n  │ First start: created the console admin.                      │\
                 \n  │   user:     {FIRST_ADMIN:<49}│\
                 \n  │   password: {:<49}│\
                 \n  │ This password is shown only now. Change it after signing in. │\
                 \n  └──────────────────────────────────────────────────────────────┘\n",
                password.as_str()
            );
        }
        Err(AppError::Invalid { field, message }) => bail!("{field}: {message}"),
        Err(err) => bail!("cannot create the first admin: {err}"),
    }
    Ok(())
}

/// Deletes audit events older than the retention in force, at start and then every hour.
async fn sweep_old_audit_events(pool: Pool, settings: Live) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every.tick().await;
        let keep = settings
            .read(|s| s.audit_retention_secs)
            .saturating_mul(1000);
        let before = domain::audit::now_millis().saturating_sub(keep);
        match domain::audit::sweep(&pool, before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "deleted audit events past retention"),
            Err(err) => tracing::warn!(error = %err, "could not delete old audit events"),
        }
    }
}

/// How long an upload page's file may stay unfinished (its parts kept for the sender to
/// resume) before it is given up.
const UNFINISHED_UPLOAD_SECS: i64 = 7 * 86_400;

/// Gives up upload pages' files left unfinished for [`UNFINISHED_UPLOAD_SECS`], at start and
/// then every hour: their parts removed from the store, their places in the pages' limits
/// freed. With several instances, each may try one: aborting twice is harmless.
async fn sweep_unfinished_uploads(pool: Pool, store: Arc<dyn domain::store::ObjectStore>) {
    use domain::links::uploads;
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every.tick().await;
        let before = domain::now_unix() - UNFINISHED_UPLOAD_SECS;
        let stale = match uploads::unfinished(&pool, before, 1000).await {
            Ok(stale) => stale,
            Err(err) => {
                tracing::warn!(error = %err, "could not look for unfinished uploads");
                continue;
            }
        };
        for upload in &stale {
            let at = domain::store::Target {
                bucket: &upload.bucket,
                key: &upload.key,
                user: "bucketshare",
            };
            if let Some(id) = &upload.upload_id
                && let Err(err) = store.abort_parts(at, id).await
            {
                tracing::warn!(error = %err, upload = %upload.id, "could not give up an upload");
                continue;
            }
            // A completion cut off by a stop left it claimed: given up all the same.
            let released = uploads::release(&pool, &upload.id).await;
            if let Err(err) = released.and(uploads::abandon(&pool, upload).await) {
                tracing::warn!(error = %err, upload = %upload.id, "could not give up an upload");
            }
        }
        if !stale.is_empty() {
            tracing::info!(
                files = stale.len(),
                "gave up upload-page files left unfinished"
            );
        }
    }
}

/// Re-reads the settings every few seconds: another instance (or the CLI) may change them.
async fn refresh_settings(settings: Live, pool: Pool) {
    loop {
        tokio::time::sleep(Live::REFRESH).await;
        if let Err(err) = settings.refresh(&pool).await {
            tracing::warn!(error = %err, "could not re-read the settings");
        }
    }
}

fn leptos_options(args: &ServeArgs, site: &crate::site::Site) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("bucketshare")
        .site_root(site.root().to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(args.console_addr)
        .build()
}

/// Resolves on Ctrl-C or SIGTERM; in-flight requests then finish before the server stops.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// The public S3 URL when `--public-s3-url` is not given: the address the S3 endpoint listens
/// on. Listening on every address (`0.0.0.0`, `::`) names none that others reach: links then
/// point at this machine's loopback, which is said in a warning.
fn listening_url(addr: std::net::SocketAddr) -> String {
    if !addr.ip().is_unspecified() {
        return format!("http://{addr}");
    }
    let loopback = std::net::SocketAddr::new(
        match addr.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        },
        addr.port(),
    );
    tracing::warn!(
        "--s3-addr {addr} listens on every address, which names none that link recipients \
         reach: links point at http://{loopback} until --public-s3-url (or Settings in the \
         console) says where recipients reach this server"
    );
    format!("http://{loopback}")
}

/// A policy duration in seconds; 0 for none.
fn secs(duration: Option<std::time::Duration>) -> i64 {
    duration.map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1))
}

#[cfg(test)]
mod tests {
    #[test]
    fn without_a_public_url_links_name_the_address_listened_on()
    -> Result<(), std::net::AddrParseError> {
        for (addr, url) in [
            ("127.0.0.1:9100", "http://127.0.0.1:9100"),
            ("192.0.2.7:9000", "http://192.0.2.7:9000"),
            ("[2001:db8::1]:9000", "http://[2001:db8::1]:9000"),
            ("0.0.0.0:9000", "http://127.0.0.1:9000"),
            ("[::]:9000", "http://[::1]:9000"),
        ] {
            assert_eq!(super::listening_url(addr.parse()?), url, "{addr}");
        }
        Ok(())
    }
}
