//! `bucketshare user …`

use clap::Subcommand;
use domain::users::{self, User, UserStatus};
use serde::Serialize;

use domain::links::{Change, Revival};

use super::{
    Context, confirm_links_killed, confirm_links_revived, print_json, print_table, show_time,
};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user and their first access key; the secret is shown only now.
    Create {
        /// 1 to 64 letters, digits and +=,.@_-
        name: String,
        /// Allow the user to create buckets (they own what they create).
        #[arg(long)]
        can_create_buckets: bool,
        /// Print {"name","access_key_id","secret_access_key"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: their keys and share links stop working at once.
    Disable {
        name: String,
        /// Do not ask before stopping live share links.
        #[arg(long, short)]
        yes: bool,
    },
    /// Enable a disabled user, and so the share links its disabling stopped.
    Enable {
        name: String,
        /// Do not ask before bringing stopped share links back.
        #[arg(long, short)]
        yes: bool,
    },
    /// Delete a user, their access keys, and so their share links.
    Delete {
        name: String,
        /// Do not ask before stopping live share links.
        #[arg(long, short)]
        yes: bool,
    },
}

/// What `user create --json` prints.
#[derive(Serialize)]
struct Created<'a> {
    name: &'a str,
    access_key_id: &'a str,
    secret_access_key: &'a str,
}

pub async fn run(cx: &Context, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            name,
            can_create_buckets,
            json,
        } => {
            let (user, new) =
                users::create(&cx.pool, &cx.master, &name, can_create_buckets, &cx.by).await?;
            if json {
                print_json(&Created {
                    name: &user.name,
                    access_key_id: new.key.id.as_str(),
                    secret_access_key: new.secret.expose(),
                })?;
            } else {
                println!("Created user {}.", user.name);
                println!("Access key id:     {}", new.key.id);
                println!("Secret access key: {}", new.secret.expose());
                println!("The secret is shown only now; store it safely.");
            }
        }
        UserCommand::List { json } => {
            let all = users::list(&cx.pool).await?;
            if json {
                print_json(&all)?;
            } else {
                print_table(
                    &["NAME", "STATUS", "CAN CREATE BUCKETS", "KEYS", "CREATED"],
                    &all.iter().map(row).collect::<Vec<_>>(),
                );
            }
        }
        UserCommand::Disable { name, yes } => {
            users::get(&cx.pool, &name).await?;
            confirm_links_killed(cx, Change::User(&name), yes).await?;
            users::set_status(&cx.pool, &name, UserStatus::Disabled, &cx.by).await?;
            println!("Disabled user {name}.");
        }
        UserCommand::Enable { name, yes } => {
            users::get(&cx.pool, &name).await?;
            confirm_links_revived(cx, Revival::User(&name), yes).await?;
            users::set_status(&cx.pool, &name, UserStatus::Active, &cx.by).await?;
            println!("Enabled user {name}.");
        }
        UserCommand::Delete { name, yes } => {
            users::get(&cx.pool, &name).await?;
            confirm_links_killed(cx, Change::User(&name), yes).await?;
            users::delete(&cx.pool, &name, &cx.by).await?;
            println!("Deleted user {name} and their access keys.");
        }
    }
    Ok(())
}

fn row(user: &User) -> Vec<String> {
    vec![
        user.name.clone(),
        match user.status {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
        .to_owned(),
        if user.can_create_buckets { "yes" } else { "no" }.to_owned(),
        user.keys.to_string(),
        show_time(Some(user.created_at)),
    ]
}
