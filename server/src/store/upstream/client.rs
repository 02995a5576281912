//! The upstream S3 store: its settings, the aws-sdk-s3 client that reaches it with the service
//! credential, and how its failures are told apart (unreachable vs refused).

use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    StalledStreamProtectionConfig,
};
use aws_sdk_s3::error::SdkError;

use crate::config::StoreArgs;

/// How long connecting to the upstream may take before the attempt counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the upstream may stay silent while answering a request.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Attempts per request (the first and two retries, for throttling, 5xx and connection errors;
/// an upload body that cannot be replayed is not retried).
const MAX_ATTEMPTS: u32 = 3;

/// What bucketshare needs to reach the upstream store.
#[derive(Clone)]
pub struct Settings {
    pub endpoint: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    pub path_style: bool,
    pub bucket_prefix: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("path_style", &self.path_style)
            .field("bucket_prefix", &self.bucket_prefix)
            .finish()
    }
}

impl Settings {
    /// The settings of `--store s3`: every one it needs present, the secret read from its file
    /// if given that way.
    pub fn from_args(args: &StoreArgs) -> anyhow::Result<Self> {
        let Some(endpoint) = args.store_endpoint.clone() else {
            bail!("--store s3 needs --store-endpoint (the upstream store's S3 URL)");
        };
        let Some(access_key) = args.store_access_key.clone().filter(|k| !k.is_empty()) else {
            bail!("--store s3 needs --store-access-key (the service credential's key id)");
        };
        let secret_key = match (&args.store_secret_key, &args.store_secret_key_file) {
            (Some(secret), _) => secret.0.clone(),
            (None, Some(file)) => std::fs::read_to_string(file)
                .with_context(|| format!("cannot read --store-secret-key-file {}", file.display()))?
                .trim()
                .to_owned(),
            (None, None) => bail!(
                "--store s3 needs --store-secret-key or --store-secret-key-file (the service \
                 credential's secret)"
            ),
        };
        if secret_key.is_empty() {
            bail!("the upstream store's secret key is empty");
        }
        let prefix = &args.store_bucket_prefix;
        check_bucket_prefix(prefix)?;
        Ok(Settings {
            endpoint,
            region: args.store_region.clone(),
            access_key,
            secret_key,
            path_style: args.store_path_style,
            bucket_prefix: prefix.clone(),
        })
    }

    /// The client for the upstream: bounded connect and read times, a few retries with short
    /// backoff, checksums only where S3 requires them (engines differ in what they accept), and
    /// no stalled-stream cut-off (a slow downloader legitimately slows the upstream read).
    pub fn client(&self) -> aws_sdk_s3::Client {
        let credentials = Credentials::new(
            &self.access_key,
            &self.secret_key,
            None,
            None,
            "bucketshare-store",
        );
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(self.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(self.path_style)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .read_timeout(READ_TIMEOUT)
                    .build(),
            )
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(100))
                    .with_max_backoff(Duration::from_secs(1)),
            )
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// The upstream name of bucketshare's bucket `bucket`.
    pub fn bucket(&self, bucket: &str) -> String {
        format!("{}{bucket}", self.bucket_prefix)
    }

    /// bucketshare's name of the upstream bucket `upstream`.
    pub fn local_bucket(&self, upstream: &str) -> String {
        upstream
            .strip_prefix(&self.bucket_prefix)
            .unwrap_or(upstream)
            .to_owned()
    }
}

/// Whether an SDK failure means the upstream could not be reached or did not answer in time
/// (as opposed to an answer refusing the request).
pub fn unreachable<E, R>(err: &SdkError<E, R>) -> bool {
    matches!(
        err,
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
    )
}

/// The S3 error code an SDK failure came back with, if the upstream answered.
pub fn error_code<E: aws_sdk_s3::error::ProvideErrorMetadata, R>(
    err: &SdkError<E, R>,
) -> Option<&str> {
    match err {
        SdkError::ServiceError(e) => e.err().code(),
        _ => None,
    }
}

/// A failure reaching the upstream, said plainly (for the console, the CLI and logs).
pub fn describe<E, R>(endpoint: &str, err: &SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if unreachable(err) {
        return format!("the upstream store at {endpoint} cannot be reached");
    }
    match err {
        SdkError::ServiceError(e) => {
            let meta = e.err();
            format!(
                "the upstream store refused: {} ({})",
                meta.message().unwrap_or("no message"),
                meta.code().unwrap_or("no code")
            )
        }
        other => format!(
            "the upstream store gave an unexpected answer: {}",
            aws_sdk_s3::error::DisplayErrorContext(other)
        ),
    }
}

/// `--store-bucket-prefix`: empty, or lowercase letters and digits ending in one `-`
/// (`team-`, `t1-`). Then the prefix is everything up to an upstream name's first `-`, so two
/// data dirs with different prefixes can never map two of their buckets to one upstream name
/// (with `a-` and `a-b-` allowed, `a-` + `b-c` and `a-b-` + `c` would both be `a-b-c`). An empty
/// prefix gives bucketshare the whole upstream namespace: do not share an upstream between a
/// data dir without a prefix and others.
pub fn check_bucket_prefix(prefix: &str) -> anyhow::Result<()> {
    let Some(stem) = prefix.strip_suffix('-') else {
        if prefix.is_empty() {
            return Ok(());
        }
        bail!("--store-bucket-prefix `{prefix}` must end with `-` (e.g. `{prefix}-`)");
    };
    if stem.is_empty()
        || stem.len() > 19
        || !stem
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        bail!(
            "--store-bucket-prefix `{prefix}` must be 1 to 19 lowercase letters or digits \
             followed by one `-` (e.g. `team-`), so that prefixes of different data dirs \
             never collide upstream"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_prefixes_cannot_collide_between_data_dirs() {
        for ok in ["", "team-", "t0a1b2c3d-", "a-"] {
            assert!(check_bucket_prefix(ok).is_ok(), "{ok}");
        }
        for bad in [
            "team",
            "a-b-",
            "Team-",
            "-",
            "a.b-",
            "a--",
            "abcdefghijklmnopqrst-",
        ] {
            assert!(check_bucket_prefix(bad).is_err(), "{bad}");
        }
    }
}
