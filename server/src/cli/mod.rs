//! The admin CLI: `bucketshare user|key|bucket|grant|link|audit …`, in the style of `garage key`
//! and `mc admin`. Works on the data dir directly, whether or not a server runs on it (SQLite
//! in WAL mode lets both write). Every command is one transaction: it is done whole or not at
//! all. Errors go to stderr with exit status 1; `--json` prints machine-readable output.

mod audit;
mod buckets;
mod grants;
mod keys;
mod links;
mod users;

use std::path::{Path, PathBuf};

use clap::Subcommand;
use domain::audit::Origin;
use domain::db::Pool;
use domain::links::{self as share_links, Change};
use domain::secrets::MasterKey;
use serde::Serialize;

pub use audit::AuditArgs;
pub use buckets::BucketCommand;
pub use grants::GrantCommand;
pub use keys::KeyCommand;
pub use links::LinkCommand;
pub use users::UserCommand;

use crate::config::{Redacted, StoreArgs};

/// The admin commands, beside `serve`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage IAM users (each reaches S3 with their own access keys).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the S3 access keys of IAM users.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Manage buckets.
    #[command(subcommand)]
    Bucket(BucketCommand),
    /// Manage who may do what in which bucket.
    #[command(subcommand)]
    Grant(GrantCommand),
    /// Issue, list and revoke share links.
    #[command(subcommand)]
    Link(LinkCommand),
    /// Read the audit trail: link accesses, pre-signed and refused S3 requests, admin actions.
    Audit(AuditArgs),
}

/// What a command needs: the database and the master key of the data dir.
pub struct Context {
    pub pool: Pool,
    pub master: MasterKey,
    pub data_dir: PathBuf,
    /// Where objects live: opened only by the commands that need it (bucket create and
    /// delete), so that the others run without the upstream store's settings.
    pub store: StoreArgs,
    /// Where share links point, and why there (see [`PublicUrl`]).
    pub public_s3_url: PublicUrl,
    /// Who the changes are recorded under in the audit trail.
    pub by: Origin,
}

pub async fn run(
    data_dir: &Path,
    database_url: Option<&Redacted>,
    master_key: Option<&Redacted>,
    public_s3_url: Option<&str>,
    store: StoreArgs,
    command: AdminCommand,
) -> anyhow::Result<()> {
    let pool = crate::serve::open_data_dir(data_dir, database_url).await?;
    let (master, _) = MasterKey::load_or_create(data_dir, master_key.map(|k| k.0.as_str()))?;
    let public_s3_url = match public_s3_url {
        Some(url) => PublicUrl::Given(url.to_owned()),
        None => match domain::settings::served_url(&pool).await? {
            Some(url) => PublicUrl::Served(url),
            None => PublicUrl::Default,
        },
    };
    domain::db::announce_changes_in(data_dir);
    let cx = Context {
        pool,
        master,
        data_dir: data_dir.to_owned(),
        store,
        public_s3_url,
        by: Origin::cli(),
    };
    let result = match command {
        AdminCommand::User(command) => users::run(&cx, command).await,
        AdminCommand::Key(command) => keys::run(&cx, command).await,
        AdminCommand::Bucket(command) => buckets::run(&cx, command).await,
        AdminCommand::Grant(command) => grants::run(&cx, command).await,
        AdminCommand::Link(command) => links::run(&cx, command).await,
        AdminCommand::Audit(args) => audit::run(&cx, args).await,
    };
    cx.pool.close().await;
    result
}

/// The public S3 URL the admin commands sign links for, by where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicUrl {
    /// `--public-s3-url` (or its variable).
    Given(String),
    /// The URL the last `serve` on this data dir or database ran with.
    Served(String),
    /// Nothing says: the default.
    Default,
}

impl PublicUrl {
    fn url(&self) -> String {
        match self {
            PublicUrl::Given(url) | PublicUrl::Served(url) => url.clone(),
            PublicUrl::Default => domain::settings::Settings::default().public_s3_url,
        }
    }

    /// Where the URL links are signed for came from, in words, for `settings` in force.
    pub fn said(&self, settings: &domain::settings::Settings) -> String {
        let url = &settings.public_s3_url;
        if *url != self.url() {
            return format!("{url}, as set in the console's Settings");
        }
        match self {
            PublicUrl::Given(_) => format!("{url}, from --public-s3-url"),
            PublicUrl::Served(_) => {
                format!("{url}, the public S3 URL the server last started with")
            }
            PublicUrl::Default => format!(
                "{url}, the default (no server has started on this data dir yet; \
                 --public-s3-url says otherwise)"
            ),
        }
    }
}

impl Context {
    /// The settings in force: the running server's command line's (and `--public-s3-url`),
    /// with what an admin set in the console over them (as the server sees them).
    async fn settings(&self) -> anyhow::Result<domain::settings::Settings> {
        let base = domain::settings::Settings {
            public_s3_url: self.public_s3_url.url(),
            ..domain::settings::served(&self.pool).await?
        };
        Ok(domain::settings::load(&self.pool, &base).await?)
    }

    /// The object store of the data dir, as `--store` and its settings describe it.
    async fn store(&self) -> anyhow::Result<std::sync::Arc<dyn domain::store::ObjectStore>> {
        let store = crate::store::Store::open(&self.store, &self.pool, &self.data_dir).await?;
        Ok(store.console())
    }
}

/// Says on stderr how many share links that work now `change` will stop, and, on a terminal
/// and without `yes`, asks before going on.
///
/// This fails if: the admin answers anything but yes.
async fn confirm_links_killed(cx: &Context, change: Change<'_>, yes: bool) -> anyhow::Result<()> {
    let killed = share_links::killed_by(&cx.pool, &change).await?;
    ask_about_links(killed, "stops", yes)
}

/// Says on stderr how many stopped share links `revival` brings back, and, on a terminal and
/// without `yes`, asks before going on.
///
/// This fails if: the admin answers anything but yes.
async fn confirm_links_revived(
    cx: &Context,
    revival: share_links::Revival<'_>,
    yes: bool,
) -> anyhow::Result<()> {
    let revived = share_links::revived_by(&cx.pool, revival).await?;
    ask_about_links(revived, "brings back", yes)
}

/// "This {verb} N live share links.", then the question (when there are any).
fn ask_about_links(count: i64, verb: &str, yes: bool) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    if count == 0 {
        return Ok(());
    }
    if count > share_links::KILLED_CAP {
        eprintln!(
            "This {verb} more than {} live share links.",
            share_links::KILLED_CAP
        );
    } else {
        let plural = if count == 1 { "" } else { "s" };
        eprintln!("This {verb} {count} live share link{plural}.");
    }
    if yes || !std::io::stdin().is_terminal() {
        return Ok(());
    }
    eprint!("Go on? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        anyhow::bail!("nothing changed")
    }
}

/// Prints `value` as one line of JSON.
fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// Prints rows as a table with a header, columns padded to their widest cell.
fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// A Unix time as `2026-11-28 06:10:00Z`, or `-`.
fn show_time(at: Option<i64>) -> String {
    at.and_then(|at| time::OffsetDateTime::from_unix_timestamp(at).ok())
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_else(|| "-".to_owned())
}
