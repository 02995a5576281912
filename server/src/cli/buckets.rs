//! `bucketshare bucket …`

use clap::Subcommand;
use domain::buckets::{self, Bucket};

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
            if json {
                print_json(&all)?;
            } else {
                print_table(
                    &["NAME", "OWNER", "OBJECTS", "BYTES", "CREATED"],
                    &all.iter().map(row).collect::<Vec<_>>(),
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

fn row(bucket: &Bucket) -> Vec<String> {
    vec![
        bucket.name.clone(),
        bucket.owner.clone().unwrap_or_else(|| "-".to_owned()),
        bucket.objects.to_string(),
        bucket.bytes.to_string(),
        show_time(Some(bucket.created_at)),
    ]
}
