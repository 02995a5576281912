//! Listings: buckets, and objects page by page straight from the SQLite index (keyset
//! pagination in S3's byte order), folding keys into common prefixes under a delimiter.

use crate::store::answers::{
    db_error, decode_token, encode_token, encoder, plain_listing, timestamp, versions_of,
};
use s3s::dto::*;
use s3s::{S3Result, s3_error};

use super::EmbeddedStore;

/// S3's page size limit.
const MAX_KEYS: i32 = 1000;
/// Rows fetched per query while filling a page, at most and at first.
const BATCH: i64 = 1000;
const FIRST_BATCH: i64 = 32;

/// One page of a listing.
struct Page {
    objects: Vec<Object>,
    prefixes: Vec<String>,
    /// Where the next page starts (exclusive), if there is one.
    next: Option<String>,
}

/// Lists keys of `bucket` under `prefix` after `after`, folding at `delimiter`.
async fn page(
    store: &EmbeddedStore,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    after: &str,
    max_keys: i32,
) -> S3Result<Page> {
    store.require_bucket(bucket).await?;
    let max = usize::try_from(max_keys.clamp(0, MAX_KEYS)).unwrap_or(0);
    let mut page = Page {
        objects: Vec::new(),
        prefixes: Vec::new(),
        next: None,
    };
    // An empty page is all that was asked for: S3 does not call it truncated.
    if max == 0 {
        return Ok(page);
    }
    // The cursor is exclusive; start at the prefix when that is further on.
    let mut cursor = after.to_owned();
    let mut inclusive_prefix = prefix > after;
    if inclusive_prefix {
        cursor = prefix.to_owned();
    }
    let mut last_listed = String::new();
    // Rows per query: small after a folder was folded (the next rows may be another folder's),
    // growing while rows are listed one by one. A folder costs one query, however many keys it
    // holds: the cursor jumps past it.
    let mut batch = FIRST_BATCH;
    loop {
        let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(if inclusive_prefix {
            "SELECT key, size, etag, last_modified FROM objects
             WHERE bucket = $1 AND key >= $2 ORDER BY key LIMIT $3"
        } else {
            "SELECT key, size, etag, last_modified FROM objects
             WHERE bucket = $1 AND key > $2 ORDER BY key LIMIT $3"
        })
        .bind(bucket)
        .bind(&cursor)
        .bind(batch)
        .fetch_all(&store.pool)
        .await
        .map_err(db_error)?;
        inclusive_prefix = false;
        let exhausted = (rows.len() as i64) < batch;
        let mut jumped = false;
        for (key, size, etag, last_modified) in rows {
            cursor.clone_from(&key);
            if !key.starts_with(prefix) {
                return Ok(page);
            }
            let folded = delimiter.filter(|d| !d.is_empty()).and_then(|d| {
                key[prefix.len()..]
                    .find(d)
                    .map(|at| key[..prefix.len() + at + d.len()].to_owned())
            });
            if let Some(common) = &folded
                && page.prefixes.last() == Some(common)
            {
                continue;
            }
            if page.objects.len() + page.prefixes.len() == max {
                page.next = Some(last_listed);
                return Ok(page);
            }
            match folded {
                Some(common) => {
                    cursor = past(&common, true);
                    last_listed.clone_from(&common);
                    page.prefixes.push(common);
                    jumped = true;
                    break;
                }
                None => {
                    last_listed.clone_from(&key);
                    page.objects.push(Object {
                        key: Some(key),
                        size: Some(size),
                        e_tag: Some(ETag::Strong(etag)),
                        last_modified: Some(timestamp(last_modified)),
                        storage_class: Some(ObjectStorageClass::from_static(
                            ObjectStorageClass::STANDARD,
                        )),
                        ..Default::default()
                    });
                }
            }
        }
        if jumped {
            batch = FIRST_BATCH;
        } else if exhausted {
            return Ok(page);
        } else {
            batch = (batch * 2).min(BATCH);
        }
    }
}

/// The position after a common prefix: every key starting with it sorts before this.
fn past(common_or_key: &str, is_prefix: bool) -> String {
    if is_prefix {
        format!("{common_or_key}\u{10FFFF}")
    } else {
        common_or_key.to_owned()
    }
}

fn common_prefixes(prefixes: Vec<String>) -> Option<Vec<CommonPrefix>> {
    Some(
        prefixes
            .into_iter()
            .map(|p| CommonPrefix { prefix: Some(p) })
            .collect(),
    )
}

/// A page's keys and common prefixes, encoded.
fn encoded(mut page: Page, encode: &impl Fn(String) -> String) -> Page {
    for object in &mut page.objects {
        object.key = object.key.take().map(encode);
    }
    page.prefixes = page.prefixes.into_iter().map(encode).collect();
    page
}

pub(super) async fn list_objects_v2(
    store: &EmbeddedStore,
    input: ListObjectsV2Input,
) -> S3Result<ListObjectsV2Output> {
    let prefix = input.prefix.clone().unwrap_or_default();
    let max_keys = input.max_keys.unwrap_or(MAX_KEYS);
    if max_keys < 0 {
        return Err(s3_error!(InvalidArgument, "max-keys must not be negative"));
    }
    let after = match &input.continuation_token {
        Some(token) => decode_token(token)?,
        None => input.start_after.clone().unwrap_or_default(),
    };
    let delimiter = input.delimiter.as_deref();
    let page = page(store, &input.bucket, &prefix, delimiter, &after, max_keys).await?;
    let next_token = page.next.as_ref().map(|last| {
        let is_prefix = page.prefixes.last() == Some(last);
        encode_token(&past(last, is_prefix))
    });
    let key_count = i32::try_from(page.objects.len() + page.prefixes.len()).unwrap_or(i32::MAX);
    let encode = encoder(input.encoding_type.as_ref());
    let mut page = encoded(page, &encode);
    if input.fetch_owner == Some(true) {
        // Objects have no owner of their own here: the bucket's owner stands for them.
        let owner = domain::buckets::owner(&store.pool, &input.bucket)
            .await
            .map_err(db_error)?
            .map(|name| Owner {
                display_name: Some(name.clone()),
                id: Some(name),
            });
        for object in &mut page.objects {
            object.owner.clone_from(&owner);
        }
    }
    Ok(ListObjectsV2Output {
        name: Some(input.bucket),
        prefix: Some(encode(prefix)),
        delimiter: input.delimiter.filter(|d| !d.is_empty()).map(&encode),
        max_keys: Some(max_keys),
        key_count: Some(key_count),
        is_truncated: Some(next_token.is_some()),
        continuation_token: input.continuation_token,
        next_continuation_token: next_token,
        start_after: input.start_after.map(&encode),
        contents: Some(page.objects),
        common_prefixes: common_prefixes(page.prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    })
}

pub(super) async fn list_objects_v1(
    store: &EmbeddedStore,
    input: ListObjectsInput,
) -> S3Result<ListObjectsOutput> {
    let prefix = input.prefix.clone().unwrap_or_default();
    let max_keys = input.max_keys.unwrap_or(MAX_KEYS);
    if max_keys < 0 {
        return Err(s3_error!(InvalidArgument, "max-keys must not be negative"));
    }
    let delimiter = input.delimiter.as_deref();
    let marker = resume_after(input.marker.as_deref(), &prefix, delimiter);
    let page = page(store, &input.bucket, &prefix, delimiter, &marker, max_keys).await?;
    let truncated = page.next.is_some();
    let encode = encoder(input.encoding_type.as_ref());
    // S3 sends NextMarker only with a delimiter; clients use the last key otherwise.
    let next_marker = page
        .next
        .clone()
        .filter(|_| input.delimiter.as_deref().is_some_and(|d| !d.is_empty()));
    let page = encoded(page, &encode);
    Ok(ListObjectsOutput {
        name: Some(input.bucket),
        // Version 1 gives the prefix back as sent, encoded or not (clients decode only the
        // other names: botocore's `decode_list_object`).
        prefix: Some(prefix),
        // Echoed even when not given, as S3 does (an empty `Marker`).
        marker: Some(encode(input.marker.unwrap_or_default())),
        delimiter: input.delimiter.filter(|d| !d.is_empty()).map(&encode),
        max_keys: Some(max_keys),
        is_truncated: Some(truncated),
        next_marker: next_marker.map(&encode),
        contents: Some(page.objects),
        common_prefixes: common_prefixes(page.prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    })
}

/// Where a listing resumes after `marker` (exclusive): a marker that is one of the listing's
/// common prefixes (as `NextMarker` and `NextKeyMarker` are when a page ends on a folder)
/// resumes past every key under it, not inside it.
fn resume_after(marker: Option<&str>, prefix: &str, delimiter: Option<&str>) -> String {
    let marker = marker.unwrap_or_default();
    let folded = delimiter.filter(|d| !d.is_empty()).is_some_and(|d| {
        marker
            .strip_prefix(prefix)
            .and_then(|rest| rest.find(d).map(|at| at + d.len() == rest.len()))
            .unwrap_or(false)
    });
    past(marker, folded)
}

/// ListObjectVersions on a store without versioning: each object is its one version, `null`,
/// the latest, and there are no delete markers (what S3 answers for a bucket that never had
/// versioning; tools that empty buckets ask it). Answered from the plain listing
/// ([`plain_listing`], [`versions_of`]), paged by `key-marker` (exclusive) as S3's is.
pub(super) async fn list_object_versions(
    store: &EmbeddedStore,
    input: ListObjectVersionsInput,
) -> S3Result<ListObjectVersionsOutput> {
    let listed = list_objects_v1(store, plain_listing(&input)?).await?;
    Ok(versions_of(input, listed))
}
