//! `bucketshare bucket …`

use clap::Subcommand;
use domain::buckets::{self, Bucket};

use crate::config::StoreKind;

use super::{Context, print_json, print_table, show_time};

#[derive(Debug, Subcommand)]
pub enum BucketCommand {
    /// Create a bucket; an owner gets the `owner` grant on it.
    Create {
        /// 3 to 63 lowercase letters, digits, dots and hyphens
        name: String,
        #[arg(long)]
        owner: Option<String>,
    },
    /// List buckets with their owner, object count and size.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete an empty bucket (with --force, its objects too) and its grants.
    Delete {
        name: String,
        #[arg(long)]
        force: bool,
    },
}

pub async fn run(cx: &Context, command: BucketCommand) -> anyhow::Result<()> {
    match command {
        BucketCommand::Create { name, owner } => {
            let store = cx.store().await?;
            let bucket = store
                .create_bucket(&cx.pool, &name, owner.as_deref(), &cx.by)
                .await?;
            match bucket.owner {
                Some(owner) => println!("Created bucket {} owned by {owner}.", bucket.name),
                None => println!("Created bucket {}.", bucket.name),
            }
        }
        BucketCommand::List { json } => {
            let all = buckets::list(&cx.pool).await?;
            // An upstream store keeps its own counts: show none rather than the index's 0.
            let counted = cx.store.store == StoreKind::Embedded;
            if json {
                let all: Vec<_> = all
                    .iter()
                    .map(|b| {
                        let mut v = serde_json::json!(b);
                        if !counted {
                            v["objects"] = serde_json::Value::Null;
                            v["bytes"] = serde_json::Value::Null;
                        }
                        v
                    })
                    .collect();
                print_json(&all)?;
            } else {
                print_table(
                    &["NAME", "OWNER", "OBJECTS", "BYTES", "CREATED"],
                    &all.iter().map(|b| row(b, counted)).collect::<Vec<_>>(),
                );
            }
        }
        BucketCommand::Delete { name, force } => {
            let store = cx.store().await?;
            match store.delete_bucket(&cx.pool, &name, force, &cx.by).await? {
                Some(objects) if objects > 0 => {
                    println!("Deleted bucket {name} and its {objects} objects.");
                }
                _ => println!("Deleted bucket {name}."),
            }
        }
    }
    Ok(())
}

fn row(bucket: &Bucket, counted: bool) -> Vec<String> {
    let count = |n: i64| {
        if counted {
            n.to_string()
        } else {
            "-".to_owned()
        }
    };
    vec![
        bucket.name.clone(),
        bucket.owner.clone().unwrap_or_else(|| "-".to_owned()),
        count(bucket.objects),
        count(bucket.bytes),
        show_time(Some(bucket.created_at)),
    ]
}
