//! `bucketshare link …`: issue, list, show and revoke share links.

use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use clap::{Subcommand, ValueEnum};
use domain::grants::{self, Need};
use domain::keys::{self, KeyStatus};
use domain::links::{self, Link, MAX_LIFETIME_SECS, NewLink, Scope};
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
    /// Revoke one link, or every live link of an object, a user or a bucket: they stop working
    /// at once.
    #[command(group = clap::ArgGroup::new("which").required(true).args(["id", "object", "user", "bucket"]))]
    Revoke {
        id: Option<String>,
        /// Every link to this object (s3://BUCKET/KEY).
        #[arg(long)]
        object: Option<String>,
        /// Every link signed as this user.
        #[arg(long)]
        user: Option<String>,
        /// Every link into this bucket.
        #[arg(long)]
        bucket: Option<String>,
    },
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
    "BYTES",
    "LAST ACCESS",
    "LABEL",
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
                    created_by: &cx.by.name,
                    expires_at: now + secs,
                    label: label.as_deref(),
                    signature: &signature,
                },
                &cx.by,
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
            let filter = links::ListFilter {
                all,
                bucket,
                user,
                key: None,
            };
            let found = links::list(&cx.pool, &filter).await?;
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
        LinkCommand::Revoke { id: Some(id), .. } => {
            let link = links::revoke(&cx.pool, &id, &cx.by).await?;
            println!("Revoked link {id} (s3://{}/{}).", link.bucket, link.key);
        }
        LinkCommand::Revoke {
            object,
            user,
            bucket,
            ..
        } => {
            let scope = match (object, user, bucket) {
                (Some(object), _, _) => {
                    let (bucket, key) = parse_object(&object)?;
                    Scope::Object {
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                    }
                }
                (_, Some(user), _) => Scope::User(user),
                (_, _, Some(bucket)) => Scope::Bucket(bucket),
                _ => anyhow::bail!("say which links: ID, --object, --user or --bucket"),
            };
            let revoked = links::revoke_many(&cx.pool, &scope, &cx.by).await?;
            let plural = if revoked.len() == 1 { "" } else { "s" };
            println!("Revoked {} link{plural}.", revoked.len());
            for id in revoked {
                println!("{id}");
            }
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
                .response_content_disposition(attachment(key))
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

/// `Content-Disposition` for a download that keeps the object's file name (the last part of
/// its key): a plain ASCII `filename` for old clients and the exact UTF-8 one (RFC 6266).
pub fn attachment(key: &str) -> String {
    let name = key
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("download");
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                encoded.push(char::from(byte));
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

fn row(link: &Link) -> Vec<String> {
    vec![
        link.id.clone(),
        format!("s3://{}/{}", link.bucket, link.key),
        link.method.clone(),
        link.user.clone().unwrap_or_else(|| "-".to_owned()),
        show_time(Some(link.expires_at)),
        link.state.clone(),
        link.access_count.to_string(),
        link.bytes_served.to_string(),
        show_time(link.last_access_at),
        link.label.clone().unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_keep_their_file_name() {
        assert_eq!(
            attachment("reports/q1.pdf"),
            "attachment; filename=\"q1.pdf\"; filename*=UTF-8''q1.pdf"
        );
        assert_eq!(
            attachment("a/ré sumé \"v2\".txt"),
            "attachment; filename=\"r_ sum_ _v2_.txt\"; filename*=UTF-8''r%C3%A9%20sum%C3%A9%20%22v2%22.txt"
        );
        assert_eq!(
            attachment("dir/"),
            "attachment; filename=\"download\"; filename*=UTF-8''download"
        );
        assert!(parse_object("s3://b/k/x").is_ok());
        assert!(parse_object("s3://b/").is_err());
        assert!(parse_object("b/k").is_err());
    }
}
