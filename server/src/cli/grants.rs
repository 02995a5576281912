//! `bucketshare grant …`

use std::time::Duration;

use clap::Subcommand;
use domain::grants::{self, Grant, Permission};
use domain::now_unix;

use domain::links::Change;

use super::{Context, confirm_links_killed, print_json, print_table, show_time};
use crate::config::parse_duration;

#[derive(Debug, Subcommand)]
pub enum GrantCommand {
    /// Give a user a permission on a bucket (replaces their grant on the same prefix).
    Add {
        user: String,
        bucket: String,
        /// read (list, get), write (put, delete, multipart), read-write, or owner (both, plus
        /// sharing and deleting the bucket)
        permission: Permission,
        /// Limit the grant to keys starting with this prefix.
        #[arg(long, default_value = "")]
        prefix: String,
        /// Let the grant expire after this long (e.g. 7d).
        #[arg(long, value_parser = parse_duration)]
        expires: Option<Duration>,
    },
    /// Take a user's grant on a bucket (and prefix) away.
    Remove {
        user: String,
        bucket: String,
        #[arg(long, default_value = "")]
        prefix: String,
        /// Do not ask before stopping live share links.
        #[arg(long, short)]
        yes: bool,
    },
    /// List grants.
    List {
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        bucket: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cx: &Context, command: GrantCommand) -> anyhow::Result<()> {
    match command {
        GrantCommand::Add {
            user,
            bucket,
            permission,
            prefix,
            expires,
        } => {
            let expires_at = expires
                .map(|d| i64::try_from(d.as_secs()).map(|s| now_unix().saturating_add(s)))
                .transpose()
                .map_err(|_| anyhow::anyhow!("--expires is too far in the future"))?;
            let granted = grants::add(
                &cx.pool, &user, &bucket, permission, &prefix, expires_at, &cx.by,
            )
            .await?;
            let grant = granted.grant;
            println!(
                "Granted {} on {}{} to {}{}{}.",
                grant.permission,
                grant.bucket,
                scope(&grant.prefix),
                grant.user,
                grant
                    .expires_at
                    .map(|at| format!(" until {}", show_time(Some(at))))
                    .unwrap_or_default(),
                granted
                    .replaced
                    .map(|(before, _)| format!(" (it replaces their {before} grant there)"))
                    .unwrap_or_default()
            );
        }
        GrantCommand::Remove {
            user,
            bucket,
            prefix,
            yes,
        } => {
            let change = Change::Grant {
                user: &user,
                bucket: &bucket,
                prefix: &prefix,
            };
            confirm_links_killed(cx, change, yes).await?;
            grants::remove(&cx.pool, &user, &bucket, &prefix, &cx.by).await?;
            println!("Removed {user}'s grant on {bucket}{}.", scope(&prefix));
        }
        GrantCommand::List { user, bucket, json } => {
            let all = grants::list(&cx.pool, user.as_deref(), bucket.as_deref()).await?;
            if json {
                print_json(&all)?;
            } else {
                print_table(
                    &[
                        "BUCKET",
                        "PREFIX",
                        "USER",
                        "PERMISSION",
                        "EXPIRES",
                        "CREATED",
                    ],
                    &all.iter().map(row).collect::<Vec<_>>(),
                );
            }
        }
    }
    Ok(())
}

fn scope(prefix: &str) -> String {
    if prefix.is_empty() {
        String::new()
    } else {
        format!(" (keys under {prefix})")
    }
}

fn row(grant: &Grant) -> Vec<String> {
    let expired = grant.expires_at.is_some_and(|at| at <= now_unix());
    vec![
        grant.bucket.clone(),
        if grant.prefix.is_empty() {
            "*".to_owned()
        } else {
            grant.prefix.clone()
        },
        grant.user.clone(),
        grant.permission.to_string(),
        if expired {
            "expired".to_owned()
        } else {
            show_time(grant.expires_at)
        },
        show_time(Some(grant.created_at)),
    ]
}
