//! `bucketshare key …`

use std::time::Duration;

use clap::Subcommand;
use domain::keys::{self, AccessKey, KeyStatus, NewKey};
use domain::now_unix;
use domain::secrets::AccessKeyId;
use serde::Serialize;

use super::{Context, print_json, print_table, show_time};
use crate::config::parse_duration;

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an access key for a user; the secret is shown only now.
    Create {
        user: String,
        /// Let the key expire after this long (e.g. 90d).
        #[arg(long, value_parser = parse_duration)]
        expires: Option<Duration>,
        #[arg(long)]
        json: bool,
    },
    /// List access keys, of one user or of all.
    List {
        user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Deactivate a key: requests signed with it fail at once.
    Disable { id: AccessKeyId },
    /// Reactivate a key.
    Enable { id: AccessKeyId },
    /// Delete a key.
    Delete { id: AccessKeyId },
    /// Create a new key for the same user and deactivate this one.
    Rotate {
        id: AccessKeyId,
        #[arg(long)]
        json: bool,
    },
}

/// What `key create --json` and `key rotate --json` print.
#[derive(Serialize)]
struct Created<'a> {
    name: &'a str,
    access_key_id: &'a str,
    secret_access_key: &'a str,
}

pub async fn run(cx: &Context, command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Create {
            user,
            expires,
            json,
        } => {
            let expires_at = expires
                .map(|d| i64::try_from(d.as_secs()).map(|s| now_unix().saturating_add(s)))
                .transpose()
                .map_err(|_| anyhow::anyhow!("--expires is too far in the future"))?;
            let new = keys::create(&cx.pool, &cx.master, &user, expires_at).await?;
            show_new(&new, json, "Created")?;
        }
        KeyCommand::List { user, json } => {
            let all = keys::list(&cx.pool, user.as_deref()).await?;
            if json {
                print_json(&all)?;
            } else {
                print_table(
                    &[
                        "ACCESS KEY ID",
                        "USER",
                        "STATUS",
                        "CREATED",
                        "LAST USED",
                        "EXPIRES",
                    ],
                    &all.iter().map(row).collect::<Vec<_>>(),
                );
            }
        }
        KeyCommand::Disable { id } => {
            keys::set_status(&cx.pool, &id, KeyStatus::Inactive).await?;
            println!("Disabled access key {id}.");
        }
        KeyCommand::Enable { id } => {
            keys::set_status(&cx.pool, &id, KeyStatus::Active).await?;
            println!("Enabled access key {id}.");
        }
        KeyCommand::Delete { id } => {
            keys::delete(&cx.pool, &id).await?;
            println!("Deleted access key {id}.");
        }
        KeyCommand::Rotate { id, json } => {
            let new = keys::rotate(&cx.pool, &cx.master, &id).await?;
            show_new(&new, json, "Rotated: disabled the old key and created")?;
        }
    }
    Ok(())
}

fn show_new(new: &NewKey, json: bool, verb: &str) -> anyhow::Result<()> {
    if json {
        print_json(&Created {
            name: &new.key.user,
            access_key_id: new.key.id.as_str(),
            secret_access_key: new.secret.expose(),
        })
    } else {
        println!(
            "{verb} access key {} for user {}.",
            new.key.id, new.key.user
        );
        println!("Secret access key: {}", new.secret.expose());
        println!("The secret is shown only now; store it safely.");
        Ok(())
    }
}

fn row(key: &AccessKey) -> Vec<String> {
    let status = match key.status {
        KeyStatus::Active if key.is_expired(now_unix()) => "expired",
        KeyStatus::Active => "active",
        KeyStatus::Inactive => "inactive",
    };
    vec![
        key.id.to_string(),
        key.user.clone(),
        status.to_owned(),
        show_time(Some(key.created_at)),
        show_time(key.last_used_at),
        show_time(key.expires_at),
    ]
}
