//! `bucketshare link …`: issue, list, show and revoke share links.

use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use clap::{Subcommand, ValueEnum};
use domain::grants::{self, Need};
use domain::keys::{self, KeyStatus};
use domain::links::{self, Link, MAX_LIFETIME_SECS, NewLink};
use domain::now_unix;
use serde::Serialize;

use super::{Context, print_json, print_table, show_time};
use crate::config::parse_duration;

#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Issue a share link to one object, signed as an IAM user who may read (or write) it.
    Create {
        /// s3://BUCKET/KEY
        object: String,
        /// The IAM user the link is signed as.
        #[arg(long = "as")]
        user: String,
        /// How long the link works: 1s to 7d.
        #[arg(long, default_value = "1h", value_parser = parse_duration)]
        expires: Duration,
        /// GET to download; PUT for an upload-only link.
        #[arg(long, value_enum, default_value_t = Method::Get)]
        method: Method,
        #[arg(long)]
        label: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List links: active ones, or all with --all.
    List {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        bucket: Option<String>,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one link.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke one link: it stops working at once.
    Revoke { id: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum Method {
    Get,
    Put,
}

/// The columns of `link list` and `link show`.
const HEADER: &[&str] = &[
    "ID",
    "OBJECT",
    "METHOD",
    "AS",
    "EXPIRES",
    "STATE",
    "ACCESSES",
    "LAST ACCESS",
];

#[derive(Serialize)]
struct Created<'a> {
    id: &'a str,
    url: &'a str,
    expires_at: i64,
}

pub async fn run(cx: &Context, command: LinkCommand) -> anyhow::Result<()> {
    match command {
        LinkCommand::Create {
            object,
            user,
            expires,
            method,
            label,
            json,
        } => {
            let (bucket, key) = parse_object(&object)?;
            let secs = i64::try_from(expires.as_secs()).unwrap_or(i64::MAX);
            if secs > MAX_LIFETIME_SECS {
                anyhow::bail!("--expires: a link lives at most 7d (604800 s)");
            }
            let need = match method {
                Method::Get => Need::Read,
                Method::Put => Need::Write,
            };
            if !grants::allows(&cx.pool, &user, bucket, key, need).await? {
                let verb = if need == Need::Read { "read" } else { "write" };
                anyhow::bail!("user `{user}` may not {verb} {object}; grant it first");
            }
            let now = now_unix();
            let active = keys::list(&cx.pool, Some(&user))
                .await?
                .into_iter()
                .rev()
                .find(|k| k.status == KeyStatus::Active && !k.is_expired(now + secs))
                .ok_or_else(|| {
                    anyhow::anyhow!("user `{user}` has no active access key valid that long")
                })?;
            let creds = keys::credentials(&cx.pool, &cx.master, &active.id)
                .await?
                .filter(|c| c.usable(now))
                .ok_or_else(|| anyhow::anyhow!("user `{user}` is disabled"))?;
            let url = presign(cx, &creds, bucket, key, method, expires).await?;
            let signature = crate::s3::presigned_signature(&url.parse()?)
                .ok_or_else(|| anyhow::anyhow!("the presigner made a URL without a signature"))?;
            let id = links::new_id();
            let link = links::record(
                &cx.pool,
                NewLink {
                    id: &id,
                    bucket,
                    key,
                    method: if method == Method::Get { "GET" } else { "PUT" },
                    user: &user,
                    access_key_id: active.id.as_str(),
                    created_by: "cli",
                    expires_at: now + secs,
                    label: label.as_deref(),
                    signature: &signature,
                },
            )
            .await?;
            if json {
                print_json(&Created {
                    id: &link.id,
                    url: &url,
                    expires_at: link.expires_at,
                })?;
            } else {
                println!(
                    "Link {} (expires {}):",
                    link.id,
                    show_time(Some(link.expires_at))
                );
                println!("{url}");
            }
        }
        LinkCommand::List {
            all,
            bucket,
            user,
            json,
        } => {
            let found = links::list(&cx.pool, all, bucket.as_deref(), user.as_deref()).await?;
            if json {
                print_json(&found)?;
            } else {
                print_table(HEADER, &found.iter().map(row).collect::<Vec<_>>());
            }
        }
        LinkCommand::Show { id, json } => {
            let link = links::get(&cx.pool, &id).await?;
            if json {
                print_json(&link)?;
            } else {
                print_table(HEADER, &[row(&link)]);
            }
        }
        LinkCommand::Revoke { id } => {
            links::revoke(&cx.pool, &id, "cli").await?;
            println!("Revoked link {id}.");
        }
    }
    Ok(())
}

/// `s3://BUCKET/KEY` → (bucket, key).
fn parse_object(text: &str) -> anyhow::Result<(&str, &str)> {
    text.strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty())
        .ok_or_else(|| anyhow::anyhow!("`{text}` is not of the form s3://BUCKET/KEY"))
}

/// A SigV4 pre-signed URL for one object on the public S3 address.
async fn presign(
    cx: &Context,
    creds: &keys::Credentials,
    bucket: &str,
    key: &str,
    method: Method,
    expires: Duration,
) -> anyhow::Result<String> {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&cx.public_s3_url)
        .region(Region::new("us-east-1"))
        .force_path_style(true)
        .credentials_provider(Credentials::new(
            creds.key.id.as_str(),
            creds.secret.expose(),
            None,
            None,
            "bucketshare",
        ))
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let presigning = PresigningConfig::expires_in(expires)?;
    let request = match method {
        Method::Get => {
            client
                .get_object()
                .bucket(bucket)
                .key(key)
                .presigned(presigning)
                .await?
        }
        Method::Put => {
            client
                .put_object()
                .bucket(bucket)
                .key(key)
                .presigned(presigning)
                .await?
        }
    };
    Ok(request.uri().to_owned())
}

fn row(link: &Link) -> Vec<String> {
    let now = now_unix();
    let state = if link.revoked_at.is_some() {
        "revoked"
    } else if link.is_active(now) {
        "active"
    } else {
        "expired"
    };
    vec![
        link.id.clone(),
        format!("s3://{}/{}", link.bucket, link.key),
        link.method.clone(),
        link.user.clone().unwrap_or_else(|| "-".to_owned()),
        show_time(Some(link.expires_at)),
        state.to_owned(),
        link.access_count.to_string(),
        show_time(link.last_access_at),
    ]
}
