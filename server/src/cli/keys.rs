//! `bucketshare key …`

use std::time::Duration;

use clap::Subcommand;
use domain::now_unix;
use domain::secrets::AccessKeyId;
use domain::users::keys::{self, AccessKey, KeyStatus, NewKey};
use serde::Serialize;

use domain::links::{Change, Revival};

use super::{
    Context, confirm_links_killed, confirm_links_revived, print_json, print_table, show_time,
};
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
    /// Deactivate a key: requests and share links signed with it fail at once.
    Disable {
        id: AccessKeyId,
        /// Do not ask before stopping live share links.
        #[arg(long, short)]
        yes: bool,
    },
    /// Reactivate a key, and so the share links its disabling stopped.
    Enable {
        id: AccessKeyId,
        /// Do not ask before bringing stopped share links back.
        #[arg(long, short)]
        yes: bool,
    },
    /// Delete a key (and so the share links signed with it).
    Delete {
        id: AccessKeyId,
        /// Do not ask before stopping live share links.
        #[arg(long, short)]
        yes: bool,
    },
    /// Create a new key for the same user and deactivate this one (and its share links).
    Rotate {
        id: AccessKeyId,
        #[arg(long)]
        json: bool,
        /// Do not ask before stopping live share links.
        #[arg(long, short)]
        yes: bool,
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
            let new = keys::create(&cx.pool, &cx.master, &user, expires_at, &cx.by).await?;
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
        KeyCommand::Disable { id, yes } => {
            keys::get(&cx.pool, &id).await?;
            confirm_links_killed(cx, Change::Key(id.as_str()), yes).await?;
            keys::set_status(&cx.pool, &id, KeyStatus::Inactive, &cx.by).await?;
            println!("Disabled access key {id}.");
        }
        KeyCommand::Enable { id, yes } => {
            keys::get(&cx.pool, &id).await?;
            confirm_links_revived(cx, Revival::Key(id.as_str()), yes).await?;
            keys::set_status(&cx.pool, &id, KeyStatus::Active, &cx.by).await?;
            println!("Enabled access key {id}.");
        }
        KeyCommand::Delete { id, yes } => {
            keys::get(&cx.pool, &id).await?;
            confirm_links_killed(cx, Change::Key(id.as_str()), yes).await?;
            keys::delete(&cx.pool, &id, &cx.by).await?;
            println!("Deleted access key {id}.");
        }
        KeyCommand::Rotate { id, json, yes } => {
            keys::get(&cx.pool, &id).await?;
            confirm_links_killed(cx, Change::Key(id.as_str()), yes).await?;
            let new = keys::rotate(&cx.pool, &cx.master, &id, &cx.by).await?;
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
