//! `bucketshare link …`: issue, list, show and revoke share links.

use std::time::Duration;

use clap::{Subcommand, ValueEnum};
use domain::links::{self, Link, Scope};
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
            let settings = cx.settings().await?;
            eprintln!("Signed for {}.", cx.public_s3_url.said(&settings));
            let issued = links::issue(
                &cx.pool,
                &cx.master,
                &settings,
                links::Request {
                    bucket,
                    key,
                    method: match method {
                        Method::Get => links::Method::Get,
                        Method::Put => links::Method::Put,
                    },
                    user: &user,
                    lifetime: expires,
                    label: label.as_deref(),
                },
                &cx.by,
            )
            .await
            .map_err(|err| match err {
                domain::Error::Invalid {
                    field: "expiry", ..
                } => {
                    anyhow::anyhow!("--expires: a link lives at most 7d (604800 s)")
                }
                other => other.into(),
            })?;
            let (link, url) = (issued.link, issued.url);
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
                ..links::ListFilter::default()
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

fn row(link: &Link) -> Vec<String> {
    vec![
        link.id.clone(),
        format!("s3://{}/{}", link.bucket, link.key),
        link.method.clone(),
        link.user.clone().unwrap_or_else(|| "-".to_owned()),
        show_time(Some(link.expires_at)),
        link.state.to_string(),
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
    fn objects_are_named_as_s3_urls() {
        assert!(parse_object("s3://b/k/x").is_ok());
        assert!(parse_object("s3://b/").is_err());
        assert!(parse_object("b/k").is_err());
    }
}
