//! The embedded store as the console sees it: a folder view of a bucket, deleting objects,
//! and uploads streamed from the console's upload form (through the same write path as S3
//! PUTs: temp file, fsync, rename, then the row).

use crate::store::answers::{check_key, failure};
use domain::audit::Origin;
use domain::db::Pool;
use domain::{Error, Result};

use super::EmbeddedStore;
use super::objects::{self, NewObject};
use domain::store::ObjectRead;
use domain::store::{Listing, ObjectInfo, ObjectRow};

#[async_trait::async_trait]
impl domain::store::ObjectStore for EmbeddedStore {
    async fn create_bucket(
        &self,
        pool: &Pool,
        name: &str,
        owner: Option<&str>,
        by: &Origin,
    ) -> domain::Result<domain::buckets::Bucket> {
        domain::buckets::create(pool, name, owner, by).await
    }

    async fn delete_bucket(
        &self,
        pool: &Pool,
        name: &str,
        with_contents: bool,
        by: &Origin,
    ) -> domain::Result<Option<usize>> {
        let deleted = domain::buckets::delete(pool, name, with_contents, by).await?;
        crate::store::remove_blobs(&self.objects_dir, deleted.blobs).await;
        Ok(Some(deleted.objects))
    }

    async fn ready(&self) -> Result<()> {
        match tokio::fs::metadata(&self.objects_dir).await {
            Ok(meta) if meta.is_dir() => Ok(()),
            // Created with the first object.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Ok(_) => Err(Error::Store(format!(
                "{} is not a directory",
                self.objects_dir.display()
            ))),
            Err(err) => Err(Error::Store(format!(
                "{}: {err}",
                self.objects_dir.display()
            ))),
        }
    }

    async fn list(&self, bucket: &str, prefix: &str, after: &str, limit: usize) -> Result<Listing> {
        // One indexed step per entry: a folder is skipped whole by jumping past its prefix. The
        // cursor is exclusive; the first step starts at the prefix itself when that is further
        // on, and listing stops at the first key outside the prefix (a condition on the prefix
        // in SQL would not bound the index range: it scanned to the bucket's end).
        let next = async |cursor: &str, inclusive: bool| {
            sqlx::query_as::<_, (String, i64, i64, Option<String>)>(if inclusive {
                "SELECT key, size, last_modified, content_type FROM objects
                 WHERE bucket = $1 AND key >= $2 ORDER BY key LIMIT 1"
            } else {
                "SELECT key, size, last_modified, content_type FROM objects
                 WHERE bucket = $1 AND key > $2 ORDER BY key LIMIT 1"
            })
            .bind(bucket)
            .bind(cursor)
            .fetch_optional(&self.pool)
            .await
            .map(|row| row.filter(|(key, ..)| key.starts_with(prefix)))
        };
        let mut listing = Listing::default();
        let mut inclusive = prefix > after;
        let mut cursor = if inclusive { prefix } else { after }.to_owned();
        while listing.folders.len() + listing.objects.len() < limit {
            let Some((key, size, last_modified, content_type)) = next(&cursor, inclusive).await?
            else {
                return Ok(listing);
            };
            inclusive = false;
            match key[prefix.len()..].find('/') {
                Some(slash) => {
                    let folder = key[..prefix.len() + slash + 1].to_owned();
                    // Every key in the folder sorts before the folder followed by U+10FFFF.
                    cursor = format!("{folder}\u{10FFFF}");
                    listing.folders.push(folder);
                }
                None => {
                    cursor = key.clone();
                    listing.objects.push(ObjectRow {
                        key,
                        size,
                        last_modified,
                        content_type,
                        live_links: 0,
                    });
                }
            }
        }
        if next(&cursor, false).await?.is_some() {
            listing.next = Some(cursor);
        }
        Ok(listing)
    }

    async fn walk(
        &self,
        bucket: &str,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<ObjectRow>> {
        // Both bounds on the index's key column; the walk ends at the first key outside the
        // prefix.
        let rows = sqlx::query_as::<_, (String, i64, i64, Option<String>)>(
            "SELECT key, size, last_modified, content_type FROM objects
             WHERE bucket = $1 AND key >= $2 AND key > $3 ORDER BY key LIMIT $4",
        )
        .bind(bucket)
        .bind(prefix)
        .bind(after)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .take_while(|(key, ..)| key.starts_with(prefix))
            .map(|(key, size, last_modified, content_type)| ObjectRow {
                key,
                size,
                last_modified,
                content_type,
                live_links: 0,
            })
            .collect())
    }

    async fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        objects::delete(self, bucket, key)
            .await
            .map_err(|e| failure(e, bucket))
    }

    async fn object(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>> {
        match objects::row(self, bucket, key).await {
            Ok(row) => Ok(Some(info(key, &row))),
            Err(err) if is_missing(&err) => Ok(None),
            Err(err) => Err(failure(err, bucket)),
        }
    }

    async fn read(
        &self,
        bucket: &str,
        key: &str,
        range: &(dyn Fn(u64) -> Option<std::ops::Range<u64>> + Send + Sync),
    ) -> Result<Option<ObjectRead>> {
        let whole_or = |size| Ok(range(size).unwrap_or(0..size));
        let (row, _, body) = match objects::open(self, bucket, key, whole_or).await {
            Ok(found) => found,
            Err(err) if is_missing(&err) => return Ok(None),
            Err(err) => return Err(failure(err, bucket)),
        };
        let range = range(u64::try_from(row.size).map_err(|e| Error::Store(e.to_string()))?);
        Ok(Some(ObjectRead {
            info: info(key, &row),
            range,
            body: Box::pin(body),
        }))
    }

    /// This fails if: the bucket does not exist, the key is not one S3 accepts, or the body
    /// cannot be read or written.
    async fn upload(
        &self,
        bucket: &str,
        key: &str,
        content_type: Option<String>,
        body: domain::store::UploadBody<'_>,
    ) -> Result<u64> {
        check_key(key).map_err(|e| failure(e, bucket))?;
        self.require_bucket(bucket)
            .await
            .map_err(|e| failure(e, bucket))?;
        let (blob, size, md5) = objects::write_blob(self, body)
            .await
            .map_err(|e| failure(e, bucket))?;
        objects::commit(
            self,
            NewObject {
                bucket,
                key,
                blob,
                size,
                etag: hex::encode(md5),
                content_type,
                metadata: None,
                stored: Default::default(),
                condition: Default::default(),
                completes: None,
            },
        )
        .await
        .map_err(|e| failure(e, bucket))?;
        Ok(size)
    }
}

crate::store::parts::through_s3!(EmbeddedStore);

/// Whether an S3 error means "no such object or bucket".
fn is_missing(err: &s3s::S3Error) -> bool {
    matches!(
        err.code(),
        s3s::S3ErrorCode::NoSuchKey | s3s::S3ErrorCode::NoSuchBucket
    )
}

fn info(key: &str, row: &objects::ObjectRow) -> ObjectInfo {
    let mut metadata: Vec<(String, String)> = objects::user_metadata(row)
        .map(|m| m.into_iter().collect())
        .unwrap_or_default();
    metadata.sort();
    ObjectInfo {
        key: key.to_owned(),
        size: row.size,
        content_type: row.content_type.clone(),
        etag: row.etag.clone(),
        last_modified: row.last_modified,
        metadata,
        live_links: 0,
    }
}
