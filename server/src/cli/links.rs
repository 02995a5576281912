//! `bucketshare link …`: issue, list, show and revoke share links.

use clap::{Subcommand, ValueEnum};
use domain::links::{self, Link, Scope};
use serde::Serialize;

use super::{Context, print_json, print_table, show_time};
use crate::config::{parse_duration, parse_size};

#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Issue a share link to one object, as an IAM user who may read (or write) it: a
    /// pre-signed S3 URL, or with --page a share page served by bucketshare (of a file, or of
    /// a folder: s3://BUCKET/FOLDER/, with a trailing slash), or with --upload an upload page
    /// at which people without an account drop files into a folder.
    #[command(group = clap::ArgGroup::new("any_page").args(["page", "upload"]))]
    Create {
        /// s3://BUCKET/KEY; with --page also s3://BUCKET/FOLDER/ (s3://BUCKET/: all of it);
        /// with --upload the folder files land in (as FOLDER/YYYY-MM-DD/NAME)
        object: String,
        /// The IAM user the link is signed as (a page acts as them).
        #[arg(long = "as")]
        user: String,
        /// A share page (`PUBLIC/s/TOKEN`): a landing page and download for people, which may
        /// outlive 7 days, never expire, and count downloads.
        #[arg(long, conflicts_with = "upload")]
        page: bool,
        /// An upload page (`PUBLIC/s/TOKEN`) into the folder: people without an account
        /// upload files there, nothing they send replaces an object, and they cannot list or
        /// read the folder. Acts as the user, who must be allowed to write all of the folder.
        #[arg(long)]
        upload: bool,
        /// An upload page's largest file: 100M, 2GiB, 500MB…
        #[arg(long, requires = "upload", value_parser = parse_size)]
        max_file_size: Option<i64>,
        /// An upload page's most bytes in all.
        #[arg(long, requires = "upload", value_parser = parse_size)]
        max_total: Option<i64>,
        /// An upload page's most files.
        #[arg(long, requires = "upload", value_parser = clap::value_parser!(i64).range(1..))]
        max_files: Option<i64>,
        /// The files an upload page takes: extensions and media types, e.g. ".pdf,.docx,image/*".
        #[arg(long, requires = "upload")]
        allow_types: Option<String>,
        /// An upload page asks each uploader's name or e-mail address (recorded in the audit).
        #[arg(long, requires = "upload")]
        ask_name: bool,
        /// How long the link works: 1s to 7d for a pre-signed URL (default 1h); any duration
        /// or `never` for a page or an upload page (default 7d).
        #[arg(long)]
        expires: Option<String>,
        /// GET to download; PUT for an upload-only link (pre-signed URLs only).
        #[arg(long, value_enum, default_value_t = Method::Get)]
        method: Method,
        /// A page's download limit (a download is a request for the file's first byte).
        #[arg(long, requires = "page", value_parser = clap::value_parser!(i64).range(1..))]
        max_downloads: Option<i64>,
        /// A page's note to its recipients.
        #[arg(long, requires = "any_page")]
        note: Option<String>,
        /// A page's password, read from the first line of standard input.
        #[arg(long, requires = "any_page", conflicts_with = "password_file")]
        password_stdin: bool,
        /// A page's password, read from the first line of this file.
        #[arg(long, requires = "any_page", value_name = "FILE")]
        password_file: Option<std::path::PathBuf>,
        #[arg(long)]
        label: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Change a share page's expiry, download limit or password; its URL stays the same.
    #[command(group = clap::ArgGroup::new("change").required(true).multiple(true)
        .args(["expires", "max_downloads", "no_max_downloads", "password_stdin", "password_file", "no_password"]))]
    Update {
        id: String,
        /// A new lifetime from now (any duration), or `never`.
        #[arg(long)]
        expires: Option<String>,
        /// A new download limit (downloads already counted stay counted).
        #[arg(long, conflicts_with = "no_max_downloads", value_parser = clap::value_parser!(i64).range(1..))]
        max_downloads: Option<i64>,
        /// No download limit any more.
        #[arg(long)]
        no_max_downloads: bool,
        /// A new password, from the first line of standard input.
        #[arg(long, conflicts_with_all = ["password_file", "no_password"])]
        password_stdin: bool,
        /// A new password, from the first line of this file.
        #[arg(long, value_name = "FILE", conflicts_with = "no_password")]
        password_file: Option<std::path::PathBuf>,
        /// No password any more.
        #[arg(long)]
        no_password: bool,
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
    /// Attach a webhook to a link (or, with --default, the default one for links without
    /// their own), test it, remove it, or show how its deliveries went. Attaching prints the
    /// secret the receiver checks signatures with, this once.
    #[command(group = clap::ArgGroup::new("link-or-default").required(true).args(["id", "default"]))]
    #[command(group = clap::ArgGroup::new("webhook-change").args(["url", "test", "remove"]))]
    Webhook {
        id: Option<String>,
        /// The default webhook instead of a link's.
        #[arg(long)]
        default: bool,
        /// Post events to this URL (https:// or http://), with a new secret.
        #[arg(long)]
        url: Option<String>,
        /// Send a test event.
        #[arg(long)]
        test: bool,
        /// Remove the webhook (its undelivered events too; the audit keeps them).
        #[arg(long)]
        remove: bool,
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
    "KIND",
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
    kind: links::LinkKind,
    url: &'a str,
    /// `None`: a page that never expires.
    expires_at: Option<i64>,
}

pub async fn run(cx: &Context, command: LinkCommand) -> anyhow::Result<()> {
    match command {
        LinkCommand::Create {
            object,
            user,
            page,
            upload,
            max_file_size,
            max_total,
            max_files,
            allow_types,
            ask_name,
            expires,
            method,
            max_downloads,
            note,
            password_stdin,
            password_file,
            label,
            json,
        } if page || upload => {
            let (bucket, key) = parse_shared(&object)?;
            let password = read_password(password_stdin, password_file.as_deref())?;
            if method != Method::Get {
                anyhow::bail!(
                    "--method: a share page is for downloads (GET); an upload page is --upload"
                );
            }
            if upload && !links::pages::is_folder(key) {
                anyhow::bail!(
                    "{object}: an upload page takes files into a folder; end it with / \
                     (s3://{bucket}/{key}/)"
                );
            }
            let rules = upload.then_some(links::uploads::Rules {
                max_file: max_file_size,
                max_total,
                max_files,
                types: allow_types.as_deref(),
                ask_name,
            });
            let lifetime = match expires.as_deref().unwrap_or("7d") {
                "never" => None,
                text => Some(parse_duration(text).map_err(|e| anyhow::anyhow!("--expires: {e}"))?),
            };
            let settings = cx.settings().await?;
            let created = links::pages::create(
                &cx.pool,
                links::pages::NewPage {
                    bucket,
                    key,
                    user: &user,
                    lifetime,
                    max_downloads,
                    password,
                    note: note.as_deref(),
                    label: label.as_deref(),
                    upload: rules,
                },
                &settings,
                &cx.by,
            )
            .await?;
            eprintln!("Served at {}.", cx.public_s3_url.said(&settings));
            let url = format!(
                "{}/s/{}",
                settings.public_s3_url.trim_end_matches('/'),
                created.token
            );
            let link = created.link;
            let expires_at = (link.expires_at != links::pages::NEVER).then_some(link.expires_at);
            if json {
                print_json(&Created {
                    id: &link.id,
                    kind: link.kind,
                    url: &url,
                    expires_at,
                })?;
            } else {
                let until = expires_at.map_or("never".to_owned(), |at| show_time(Some(at)));
                let what = if link.is_upload() {
                    "Upload page"
                } else {
                    "Share page"
                };
                println!("{what} {} (expires {until}):", link.id);
                println!("{url}");
            }
        }
        LinkCommand::Create {
            object,
            user,
            expires,
            method,
            label,
            json,
            ..
        } => {
            let expires = parse_duration(expires.as_deref().unwrap_or("1h"))
                .map_err(|e| anyhow::anyhow!("--expires: {e}"))?;
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
                    kind: link.kind,
                    url: &url,
                    expires_at: Some(link.expires_at),
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
        LinkCommand::Update {
            id,
            expires,
            max_downloads,
            no_max_downloads,
            password_stdin,
            password_file,
            no_password,
            json,
        } => {
            let lifetime = match expires.as_deref() {
                None => None,
                Some("never") => Some(None),
                Some(text) => Some(Some(
                    parse_duration(text).map_err(|e| anyhow::anyhow!("--expires: {e}"))?,
                )),
            };
            let password = match read_password(password_stdin, password_file.as_deref())? {
                Some(password) => Some(Some(password)),
                None if no_password => Some(None),
                None => None,
            };
            let change = links::pages::Update {
                lifetime,
                max_downloads: match (max_downloads, no_max_downloads) {
                    (Some(n), _) => Some(Some(n)),
                    (None, true) => Some(None),
                    (None, false) => None,
                },
                password,
            };
            let settings = cx.settings().await?;
            let link = links::pages::update(&cx.pool, &id, change, &settings, &cx.by).await?;
            if json {
                print_json(&link)?;
            } else {
                print_table(HEADER, &[row(&link)]);
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
        LinkCommand::Webhook {
            id,
            default: _,
            url,
            test,
            remove,
            json,
        } => webhook(cx, id.as_deref(), url.as_deref(), test, remove, json).await?,
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

/// A page's password from `--password-stdin` or `--password-file`: the first line, without
/// its line ending.
fn read_password(
    stdin: bool,
    file: Option<&std::path::Path>,
) -> anyhow::Result<Option<zeroize::Zeroizing<String>>> {
    let text = match (stdin, file) {
        (true, _) => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            zeroize::Zeroizing::new(line)
        }
        (false, Some(path)) => zeroize::Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("--password-file {}: {e}", path.display()))?,
        ),
        (false, None) => return Ok(None),
    };
    let first = text.lines().next().unwrap_or_default();
    if first.is_empty() {
        anyhow::bail!("the password is empty");
    }
    Ok(Some(zeroize::Zeroizing::new(first.to_owned())))
}

/// What a page shares: `s3://BUCKET/KEY`, or a folder, `s3://BUCKET/PREFIX/` (`s3://BUCKET/`:
/// all of the bucket).
fn parse_shared(text: &str) -> anyhow::Result<(&str, &str)> {
    let rest = text.strip_prefix("s3://").unwrap_or_default();
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() || (key.is_empty() && !text.ends_with('/')) {
        anyhow::bail!("`{text}` is not of the form s3://BUCKET/KEY or s3://BUCKET/FOLDER/");
    }
    Ok((bucket, key))
}

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
        match link.kind {
            links::LinkKind::Page if link.is_upload() => "upload".to_owned(),
            links::LinkKind::Page if link.is_folder() => "folder".to_owned(),
            links::LinkKind::Page => "page".to_owned(),
            links::LinkKind::Presigned => link.method.clone(),
        },
        link.user.clone().unwrap_or_else(|| "-".to_owned()),
        if link.expires_at == links::pages::NEVER {
            "never".to_owned()
        } else {
            show_time(Some(link.expires_at))
        },
        link.state.to_string(),
        link.access_count.to_string(),
        link.bytes_served.to_string(),
        show_time(link.last_access_at),
        link.label.clone().unwrap_or_default(),
    ]
}

/// `link webhook`: attaches, tests, removes or shows the webhook of link `id` (`None`: the
/// default one).
async fn webhook(
    cx: &Context,
    id: Option<&str>,
    url: Option<&str>,
    test: bool,
    remove: bool,
    json: bool,
) -> anyhow::Result<()> {
    use domain::audit::webhooks;
    let which = id.map_or("the default webhook".to_owned(), |id| format!("link {id}"));
    if let Some(url) = url {
        let (hook, secret) = webhooks::attach(&cx.pool, &cx.master, &cx.by, id, url).await?;
        let (_, waiting) = webhooks::recent(&cx.pool, &hook.id, 0).await?;
        if json {
            print_json(&serde_json::json!({ "webhook": hook, "secret": secret.expose() }))?;
        } else {
            println!("Events of {which} now go to {}.", hook.url);
            if waiting > 0 {
                println!("The {waiting} events waiting to be delivered go there too.");
            }
            println!("Secret (shown this once; receivers check X-Bucketshare-Signature with it):");
            println!("{}", secret.expose());
        }
        return Ok(());
    }
    if remove {
        if webhooks::remove(&cx.pool, &cx.by, id).await? {
            println!("Removed the webhook of {which}.");
        } else {
            println!("{which} has no webhook: nothing changed.");
        }
        return Ok(());
    }
    if test {
        webhooks::send_test(&cx.pool, &cx.by, id).await?;
        println!("A test event for {which} is queued; a running `serve` sends it.");
        return Ok(());
    }
    let Some(hook) = webhooks::get(&cx.pool, id).await? else {
        anyhow::bail!("{which} has no webhook of its own (attach one with --url)");
    };
    let (events, waiting) = webhooks::recent(&cx.pool, &hook.id, 20).await?;
    if json {
        print_json(&serde_json::json!({ "webhook": hook, "waiting": waiting, "events": events }))?;
        return Ok(());
    }
    println!("Posts to:  {}", hook.url);
    println!("Delivered: {} events; {waiting} waiting", hook.delivered);
    match (hook.failures, &hook.last_error) {
        (0, _) => println!(
            "Last:      {}",
            hook.last_status
                .map_or("nothing sent yet".to_owned(), |s| format!("answered {s}"))
        ),
        (n, error) => println!(
            "Failing:   {n} attempts in a row; last: {}",
            error.as_deref().unwrap_or("no answer")
        ),
    }
    print_table(
        &["EVENT", "ID", "ATTEMPTS", "RESULT"],
        &events
            .iter()
            .map(|e| {
                vec![
                    e.event.clone(),
                    e.id.clone(),
                    e.attempts.to_string(),
                    match (e.delivered, e.done_at) {
                        (true, _) => format!("delivered ({})", e.last_status.unwrap_or_default()),
                        (false, Some(_)) => "given up".to_owned(),
                        (false, None) => {
                            e.last_error.clone().unwrap_or_else(|| "waiting".to_owned())
                        }
                    },
                ]
            })
            .collect::<Vec<_>>(),
    );
    Ok(())
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

    #[test]
    fn pages_share_objects_or_folders() {
        assert_eq!(parse_shared("s3://b/k").unwrap(), ("b", "k"));
        assert_eq!(parse_shared("s3://b/dir/").unwrap(), ("b", "dir/"));
        assert_eq!(parse_shared("s3://b/").unwrap(), ("b", ""));
        assert!(parse_shared("s3://b").is_err());
        assert!(parse_shared("s3:///k").is_err());
        assert!(parse_shared("b/k").is_err());
    }
}
