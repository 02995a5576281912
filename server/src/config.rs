//! Command line and environment: every setting is a flag and a `BUCKETSHARE_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// bucketshare: share an object store safely, with IAM users, per-bucket grants and
/// revocable, audited share links.
///
/// Without a command, runs `serve`.
#[derive(Debug, Parser)]
#[command(name = "bucketshare", version, about, long_about)]
pub struct Cli {
    /// Directory holding the database (bucketshare.db) and the master key. Created (mode
    /// 0700) if missing.
    #[arg(
        long,
        env = "BUCKETSHARE_DATA_DIR",
        default_value = "data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Keep the metadata (users, keys, grants, links, audit, sessions) in this PostgreSQL
    /// database instead of `<data-dir>/bucketshare.db`, so that several instances can share it:
    /// `postgres://user:password@host:5432/bucketshare`. Instances sharing it need the same
    /// master key (`--master-key`).
    /// Checked when the database is opened (`db::check_url`): clap's own refusal would echo
    /// the value, password included.
    #[arg(
        long,
        env = "BUCKETSHARE_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub database_url: Option<Redacted>,

    /// Log filter, in tracing's EnvFilter syntax (e.g. `info`, `bucketshare=debug,info`).
    #[arg(long, env = "BUCKETSHARE_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log line format.
    #[arg(long, env = "BUCKETSHARE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// The master key sealing access key secrets: base64 of 32 random bytes. Without it, the
    /// key is read from `<data-dir>/master.key`, which is created (mode 0600) on first start.
    /// Losing it makes every stored secret unusable; keep a copy with your backups.
    #[arg(
        long,
        env = "BUCKETSHARE_MASTER_KEY",
        hide_env_values = true,
        global = true
    )]
    pub master_key: Option<Redacted>,

    /// The S3 endpoint's address as link recipients reach it (scheme, host, port; behind a
    /// reverse proxy, the proxy's). Share links are signed for this URL. Without it, `serve`
    /// uses the address `--s3-addr` listens on, and the admin commands the URL the server
    /// last started with (http://127.0.0.1:9000 before any start).
    #[arg(long, env = "BUCKETSHARE_PUBLIC_S3_URL", global = true, value_parser = parse_public_url)]
    pub public_s3_url: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where objects live. The admin commands that create or delete buckets need these too.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// `embedded`: objects in files under the data dir. `s3`: objects in an existing
    /// S3-compatible store (Garage, MinIO, Ceph, AWS), reached with one service credential
    /// that IAM users never see. A data dir keeps the kind of store it was first used with.
    #[arg(long, env = "BUCKETSHARE_STORE", value_enum, default_value_t = StoreKind::Embedded, global = true)]
    pub store: StoreKind,

    /// The upstream store's S3 endpoint (with `--store s3`), e.g. `http://127.0.0.1:3900`.
    #[arg(long, env = "BUCKETSHARE_STORE_ENDPOINT", global = true, value_parser = parse_public_url)]
    pub store_endpoint: Option<String>,

    /// The upstream store's region (Garage's default is `garage`).
    #[arg(
        long,
        env = "BUCKETSHARE_STORE_REGION",
        default_value = "us-east-1",
        global = true
    )]
    pub store_region: String,

    /// The access key id of the service credential for the upstream store.
    #[arg(long, env = "BUCKETSHARE_STORE_ACCESS_KEY", global = true)]
    pub store_access_key: Option<String>,

    /// The secret of the service credential (prefer `--store-secret-key-file`).
    #[arg(
        long,
        env = "BUCKETSHARE_STORE_SECRET_KEY",
        hide_env_values = true,
        global = true,
        conflicts_with = "store_secret_key_file"
    )]
    pub store_secret_key: Option<Redacted>,

    /// A file holding the service credential's secret (surrounding whitespace ignored).
    #[arg(long, env = "BUCKETSHARE_STORE_SECRET_KEY_FILE", global = true)]
    pub store_secret_key_file: Option<PathBuf>,

    /// Address upstream buckets as `ENDPOINT/BUCKET` rather than `BUCKET.ENDPOINT` (needed by
    /// most self-hosted stores on an IP address).
    #[arg(long, env = "BUCKETSHARE_STORE_PATH_STYLE", global = true)]
    pub store_path_style: bool,

    /// Prepended to every bucket name upstream, so that bucketshare's buckets do not collide
    /// with others in the same store (`team` is `PREFIXteam` upstream).
    #[arg(
        long,
        env = "BUCKETSHARE_STORE_BUCKET_PREFIX",
        default_value = "",
        global = true
    )]
    pub store_bucket_prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// Files under `<data-dir>/objects`.
    Embedded,
    /// An upstream S3-compatible store.
    S3,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Embedded => "embedded",
            StoreKind::S3 => "s3",
        }
    }
}

/// An http(s) URL without query or fragment, kept without its trailing slash.
fn parse_public_url(text: &str) -> Result<String, String> {
    let uri: http::Uri = text
        .parse()
        .map_err(|e| format!("`{text}` is not a URL ({e})"))?;
    match (uri.scheme_str(), uri.host(), uri.query()) {
        (Some("http" | "https"), Some(_), None) => Ok(text.trim_end_matches('/').to_owned()),
        _ => Err(format!(
            "`{text}` must be an http:// or https:// URL with a host and no query"
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web console (the default command).
    Serve(ServeArgs),
    #[command(flatten)]
    Admin(crate::cli::AdminCommand),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address the web console listens on.
    #[arg(
        long,
        env = "BUCKETSHARE_CONSOLE_ADDR",
        default_value = "127.0.0.1:3000"
    )]
    pub console_addr: SocketAddr,

    /// Address the S3 endpoint listens on.
    #[arg(long, env = "BUCKETSHARE_S3_ADDR", default_value = "127.0.0.1:9000")]
    pub s3_addr: SocketAddr,

    /// Base domain for virtual-host-style S3 requests (`BUCKET.DOMAIN`); path-style requests
    /// always work.
    #[arg(long, env = "BUCKETSHARE_S3_DOMAIN")]
    pub s3_domain: Option<String>,

    /// Refuse SigV2 requests and pre-signed URLs (aws cli v1's `presign` default); SigV4 only.
    #[arg(long, env = "BUCKETSHARE_DISABLE_SIGV2")]
    pub disable_sigv2: bool,

    /// Directory with the built console assets (`pkg/`, as cargo-leptos writes them). Default:
    /// the assets built into the binary, if it has them (scripts/release.sh), else `target/site`.
    #[arg(long, env = "BUCKETSHARE_SITE_ROOT")]
    pub site_root: Option<PathBuf>,

    /// Password of the first admin (`admin`), used only when the data dir has no admin yet.
    /// Without it, a strong password is generated and printed once.
    #[arg(long, env = "BUCKETSHARE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<Redacted>,

    /// Mark session cookies `Secure`. Turn on whenever the console is reached over https
    /// (for example behind a TLS-terminating reverse proxy).
    #[arg(long, env = "BUCKETSHARE_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Sign out a console session after this long without a request (e.g. `30m`, `8h`).
    #[arg(long, env = "BUCKETSHARE_SESSION_IDLE_TIMEOUT", default_value = "1h", value_parser = parse_duration)]
    pub session_idle_timeout: Duration,

    /// Failed sign-ins of one account, within the failure window, after which it is locked
    /// until the window slides past them.
    #[arg(long, env = "BUCKETSHARE_LOGIN_MAX_FAILURES_PER_ACCOUNT", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub login_max_failures_per_account: u32,

    /// Failed sign-ins from one client address, within the failure window, after which it is
    /// refused.
    #[arg(long, env = "BUCKETSHARE_LOGIN_MAX_FAILURES_PER_IP", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub login_max_failures_per_ip: u32,

    /// The sliding window over which failed sign-ins are counted.
    #[arg(long, env = "BUCKETSHARE_LOGIN_FAILURE_WINDOW", default_value = "15m", value_parser = parse_duration)]
    pub login_failure_window: Duration,

    /// Reverse proxies (addresses or CIDR networks, comma-separated) whose `X-Forwarded-For`
    /// gives the client address. Requests from anyone else are recorded under their own address.
    #[arg(long, env = "BUCKETSHARE_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Record S3 requests made through share links and pre-signed URLs, and refused ones, in
    /// the audit trail (`false` keeps only admin actions; link access counts are kept anyway).
    #[arg(long, env = "BUCKETSHARE_AUDIT_REQUESTS", default_value_t = true, action = clap::ArgAction::Set)]
    pub audit_requests: bool,

    /// Delete audit events older than this (e.g. `90d`, `1y`).
    #[arg(long, env = "BUCKETSHARE_AUDIT_RETENTION", default_value = "365d", value_parser = parse_duration)]
    pub audit_retention: Duration,

    /// Store client addresses in the audit trail truncated (IPv4 to /24, IPv6 to /48).
    #[arg(long, env = "BUCKETSHARE_AUDIT_TRUNCATE_IPS")]
    pub audit_truncate_ips: bool,

    /// Sharing policy: the longest lifetime of a share page (e.g. `30d`). Unset: any, and
    /// pages that never expire.
    #[arg(long, env = "BUCKETSHARE_MAX_PAGE_LIFETIME", value_parser = parse_duration)]
    pub max_page_lifetime: Option<Duration>,

    /// Sharing policy: share pages that live longer than this (or never expire) need a
    /// password. Unset: no page needs one for its lifetime.
    #[arg(long, env = "BUCKETSHARE_PAGE_PASSWORD_AFTER", value_parser = parse_duration)]
    pub page_password_after: Option<Duration>,

    /// Sharing policy: folder pages need a password.
    #[arg(long, env = "BUCKETSHARE_FOLDER_PAGE_PASSWORD")]
    pub folder_page_password: bool,

    /// Sharing policy: no folder pages (share pages of single files only).
    #[arg(long, env = "BUCKETSHARE_NO_FOLDER_PAGES")]
    pub no_folder_pages: bool,

    /// Sharing policy: no upload pages (existing ones stop taking files).
    #[arg(long, env = "BUCKETSHARE_NO_UPLOAD_PAGES")]
    pub no_upload_pages: bool,

    /// Sharing policy: upload pages need a password.
    #[arg(long, env = "BUCKETSHARE_UPLOAD_PAGE_PASSWORD")]
    pub upload_page_password: bool,

    /// Sharing policy: the largest file an upload page may take (e.g. `2GiB`, `500MB`); each
    /// page must then set a limit within it. Unset: any size.
    #[arg(long, env = "BUCKETSHARE_MAX_UPLOAD_FILE_SIZE", value_parser = parse_size)]
    pub max_upload_file_size: Option<i64>,

    /// Sharing policy: the most an upload page may take in all (e.g. `20GiB`); each page must
    /// then set a total within it. Unset: no limit.
    #[arg(long, env = "BUCKETSHARE_MAX_UPLOAD_TOTAL", value_parser = parse_size)]
    pub max_upload_total: Option<i64>,

    /// Serve Prometheus metrics at `/metrics` on the console listener, to requests that carry
    /// `Authorization: Bearer TOKEN` (16 to 256 visible ASCII characters). Unset: no `/metrics`.
    #[arg(long, env = "BUCKETSHARE_METRICS_TOKEN", value_parser = parse_metrics_token, hide_env_values = true)]
    pub metrics_token: Option<MetricsToken>,

    /// How long a client may take to send a request's headers, and the longest a connection
    /// may stay idle between requests (both listeners).
    #[arg(long, env = "BUCKETSHARE_HEADER_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub header_timeout: Duration,

    /// The longest pause allowed within a request body (a stalled upload is cut off).
    #[arg(long, env = "BUCKETSHARE_BODY_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub body_timeout: Duration,

    /// Open connections accepted at most, per listener; further clients wait to be accepted.
    #[arg(long, env = "BUCKETSHARE_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=8192))]
    pub max_connections: u32,

    /// The largest request head (request line and headers) accepted, in bytes; larger ones get
    /// 431.
    #[arg(long, env = "BUCKETSHARE_MAX_HEADER_BYTES", default_value_t = 65_536, value_parser = clap::value_parser!(u32).range(8192..=1_048_576))]
    pub max_header_bytes: u32,
}

impl ServeArgs {
    /// The settings of `bucketshare` run without a command: what `bucketshare serve` would get
    /// with no flags, so `BUCKETSHARE_*` variables still apply.
    pub fn from_env() -> Result<Self, clap::Error> {
        use clap::{CommandFactory, FromArgMatches};
        let Some(serve) = Cli::command().find_subcommand("serve").cloned() else {
            return Ok(ServeArgs::default());
        };
        let matches = serve.try_get_matches_from(["serve"])?;
        ServeArgs::from_arg_matches(&matches)
    }
}

impl Default for ServeArgs {
    fn default() -> Self {
        // The defaults clap gives `bucketshare serve` with no flags and no environment (a unit
        // test holds the two together). For tests and embedding.
        ServeArgs {
            console_addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            s3_addr: SocketAddr::from(([127, 0, 0, 1], 9000)),
            s3_domain: None,
            disable_sigv2: false,
            site_root: None,
            admin_password: None,
            secure_cookies: false,
            session_idle_timeout: Duration::from_secs(3600),
            login_max_failures_per_account: 5,
            login_max_failures_per_ip: 20,
            login_failure_window: Duration::from_secs(15 * 60),
            trusted_proxies: Vec::new(),
            audit_requests: true,
            audit_retention: Duration::from_secs(365 * 86_400),
            audit_truncate_ips: false,
            max_page_lifetime: None,
            page_password_after: None,
            folder_page_password: false,
            no_folder_pages: false,
            no_upload_pages: false,
            upload_page_password: false,
            max_upload_file_size: None,
            max_upload_total: None,
            metrics_token: None,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            max_connections: 4096,
            max_header_bytes: 65_536,
        }
    }
}

/// A secret setting: kept as given, never shown by `Debug` (so never in logs).
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for Redacted {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Redacted(s.to_owned()))
    }
}

/// A network (`10.0.0.0/8`) or one address (`10.0.0.1`).
fn parse_net(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{text}` is not an IP address or a CIDR network like 10.0.0.0/8"))
}

/// The bearer token `/metrics` asks for. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(pub String);

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(…)")
    }
}

fn parse_metrics_token(text: &str) -> Result<MetricsToken, String> {
    if !(16..=256).contains(&text.len()) {
        return Err(format!(
            "the metrics token must be 16 to 256 characters long (this one has {}); e.g. `openssl rand -hex 24`",
            text.len()
        ));
    }
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "the metrics token must be visible ASCII characters, without spaces".to_owned(),
        );
    }
    Ok(MetricsToken(text.to_owned()))
}

/// A duration such as `90s`, `15m`, `1h 30m` or `7d`; at least one second.
/// A size flag's value (`100M`, `2GiB`, `500MB`), at least 1 byte.
pub fn parse_size(text: &str) -> Result<i64, String> {
    domain::links::uploads::parse_size(text)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{text}` is not a size such as 100M, 2GiB or 500MB"))
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration like 90s, 15m, 1h or 7d ({e})"))?;
    if duration < Duration::from_secs(1) {
        return Err(format!("`{text}` is shorter than one second"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_means_serve_with_defaults() -> Result<(), clap::Error> {
        let cli = Cli::try_parse_from(["bucketshare"])?;
        assert!(cli.command.is_none());
        let Some(Command::Serve(args)) = Cli::try_parse_from(["bucketshare", "serve"])?.command
        else {
            return Err(clap::Error::raw(
                clap::error::ErrorKind::MissingSubcommand,
                "`serve` did not parse as serve",
            ));
        };
        let defaults = ServeArgs::default();
        assert_eq!(format!("{args:?}"), format!("{defaults:?}"));
        let from_env = ServeArgs::from_env()?;
        assert_eq!(format!("{from_env:?}"), format!("{defaults:?}"));
        Ok(())
    }

    #[test]
    fn secrets_never_show_in_debug_output() -> Result<(), clap::Error> {
        let cli =
            Cli::try_parse_from(["bucketshare", "serve", "--admin-password", "hunter2hunter2"])?;
        let shown = format!("{cli:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        Ok(())
    }

    #[test]
    fn bad_values_are_refused_clearly() {
        let err = Cli::try_parse_from(["bucketshare", "serve", "--console-addr", "nowhere"])
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("--console-addr"), "{err}");
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert!(
            Cli::try_parse_from(["bucketshare", "serve", "--login-max-failures-per-ip", "0"])
                .is_err()
        );
        let proxies = Cli::try_parse_from([
            "bucketshare",
            "serve",
            "--trusted-proxies",
            "10.0.0.0/8, 192.0.2.7",
        ]);
        assert!(
            matches!(&proxies, Ok(Cli { command: Some(Command::Serve(a)), .. }) if a.trusted_proxies.len() == 2),
            "{proxies:?}"
        );
        let err = Cli::try_parse_from(["bucketshare", "serve", "--trusted-proxies", "10.0.0.0/33"])
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("CIDR"), "{err}");
        assert!(
            Cli::try_parse_from(["bucketshare", "serve", "--audit-requests", "maybe"]).is_err()
        );
    }
}
