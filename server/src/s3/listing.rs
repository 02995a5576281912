//! Listings: buckets, and objects page by page straight from the SQLite index (keyset
//! pagination in S3's byte order), folding keys into common prefixes under a delimiter.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN;
use s3s::dto::*;
use s3s::{S3Result, s3_error};

use domain::db::Pool;

use super::objects::timestamp;
use super::store::{EmbeddedStore, db_error};

/// S3's page size limit.
const MAX_KEYS: i32 = 1000;
/// Rows fetched per query while filling a page, at most and at first.
const BATCH: i64 = 1000;
const FIRST_BATCH: i64 = 32;

/// S3's page size limit for ListBuckets.
const MAX_BUCKETS: i32 = 10_000;

/// The buckets `user` holds a grant on, by name, paged by `max-buckets` and a continuation
/// token (the last name returned) and filtered by `prefix`, as S3's ListBuckets is.
pub(super) async fn list_buckets(
    pool: &Pool,
    user: &str,
    input: &ListBucketsInput,
) -> S3Result<ListBucketsOutput> {
    let max = input.max_buckets.unwrap_or(MAX_BUCKETS);
    if !(1..=MAX_BUCKETS).contains(&max) {
        return Err(s3_error!(
            InvalidArgument,
            "max-buckets must be between 1 and {MAX_BUCKETS}"
        ));
    }
    let after = input
        .continuation_token
        .as_deref()
        .map(decode_token)
        .transpose()?
        .unwrap_or_default();
    let prefix = input.prefix.as_deref().unwrap_or_default();
    let mut visible = domain::buckets::visible_to(pool, user)
        .await
        .map_err(db_error)?
        .into_iter()
        .filter(|b| b.name.starts_with(prefix) && b.name > after)
        .peekable();
    let mut buckets = Vec::new();
    while buckets.len() < usize::try_from(max).unwrap_or(0) {
        let Some(b) = visible.next() else { break };
        buckets.push(Bucket {
            name: Some(b.name),
            creation_date: Some(timestamp(b.created_at)),
            ..Default::default()
        });
    }
    let next = visible
        .peek()
        .is_some()
        .then(|| {
            buckets
                .last()
                .and_then(|b| b.name.as_deref())
                .map(encode_token)
        })
        .flatten();
    Ok(ListBucketsOutput {
        buckets: Some(buckets),
        owner: Some(Owner {
            display_name: Some(user.to_owned()),
            id: Some(user.to_owned()),
        }),
        continuation_token: next,
        prefix: input.prefix.clone(),
    })
}

/// A continuation token: where a listing goes on (exclusive), opaque to clients.
fn encode_token(after: &str) -> String {
    TOKEN.encode(after)
}

fn decode_token(token: &str) -> S3Result<String> {
    TOKEN
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        })
}

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

/// Names as a listing returns them: with `encoding-type=url`, percent-encoded as S3 does (every
/// byte but unreserved characters and `/`; a space is `%20`), which boto3 and the aws cli ask
/// for on every listing and decode. Unencoded, `a+b` came back to them as `a b`.
fn encoder(encoding: Option<&EncodingType>) -> impl Fn(String) -> String + use<> {
    let url = encoding.is_some_and(|e| e.as_str() == EncodingType::URL);
    move |name: String| {
        if !url {
            return name;
        }
        let mut out = String::with_capacity(name.len());
        for byte in name.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                    out.push(char::from(byte));
                }
                _ => out.push_str(&format!("%{byte:02X}")),
            }
        }
        out
    }
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

/// The plain listing (names unencoded) a versions listing is answered from.
pub(super) fn plain_listing(asked: &ListObjectVersionsInput) -> S3Result<ListObjectsInput> {
    if let Some(version) = asked.version_id_marker.as_deref()
        && asked.key_marker.is_none()
    {
        return Err(s3_error!(
            InvalidArgument,
            "A version-id marker ({version}) needs a key marker"
        ));
    }
    Ok(ListObjectsInput {
        bucket: asked.bucket.clone(),
        delimiter: asked.delimiter.clone(),
        marker: asked.key_marker.clone(),
        max_keys: asked.max_keys,
        prefix: asked.prefix.clone(),
        ..Default::default()
    })
}

/// A plain listing ([`plain_listing`], from either store) as the versions listing `asked` for.
pub(super) fn versions_of(
    asked: ListObjectVersionsInput,
    mut listed: ListObjectsOutput,
) -> ListObjectVersionsOutput {
    encode_v1(&mut listed, asked.encoding_type.clone());
    // Unlike version 1's, the versions listing's prefix is encoded too.
    listed.prefix = listed
        .prefix
        .take()
        .map(encoder(asked.encoding_type.as_ref()));
    let truncated = listed.is_truncated.unwrap_or(false);
    let objects = listed.contents.unwrap_or_default();
    // Without a delimiter S3 sends no NextMarker: the last key is where to go on.
    let next_key_marker = listed
        .next_marker
        .or_else(|| objects.last().and_then(|o| o.key.clone()))
        .filter(|_| truncated);
    let next_is_prefix = listed
        .common_prefixes
        .as_ref()
        .and_then(|p| p.last())
        .and_then(|p| p.prefix.as_ref())
        .is_some_and(|p| next_key_marker.as_ref() == Some(p));
    ListObjectVersionsOutput {
        name: Some(asked.bucket),
        prefix: listed.prefix,
        delimiter: listed.delimiter,
        key_marker: listed.marker,
        version_id_marker: asked.version_id_marker,
        max_keys: listed.max_keys,
        is_truncated: Some(truncated),
        next_version_id_marker: next_key_marker
            .as_ref()
            .filter(|_| !next_is_prefix)
            .map(|_| "null".to_owned()),
        next_key_marker,
        versions: Some(objects.into_iter().map(as_version).collect()),
        common_prefixes: listed.common_prefixes,
        encoding_type: listed.encoding_type,
        ..Default::default()
    }
}

/// An object of an unversioned bucket as its one version.
fn as_version(o: Object) -> ObjectVersion {
    ObjectVersion {
        key: o.key,
        size: o.size,
        e_tag: o.e_tag,
        last_modified: o.last_modified,
        is_latest: Some(true),
        version_id: Some("null".to_owned()),
        storage_class: Some(ObjectVersionStorageClass::from_static(
            ObjectVersionStorageClass::STANDARD,
        )),
        ..Default::default()
    }
}

/// A plain (unencoded) ListObjectsV2 answer, an upstream store's, as `encoding` asks for it.
pub(super) fn encode_v2(output: &mut ListObjectsV2Output, encoding: Option<EncodingType>) {
    output.delimiter = output.delimiter.take().filter(|d| !d.is_empty());
    let encode = encoder(encoding.as_ref());
    encode_names(&mut output.contents, &mut output.common_prefixes, &encode);
    for name in [
        &mut output.prefix,
        &mut output.delimiter,
        &mut output.start_after,
    ] {
        *name = name.take().map(&encode);
    }
    output.encoding_type = encoding;
}

/// A plain (unencoded) ListObjects answer, an upstream store's, as `encoding` asks for it.
pub(super) fn encode_v1(output: &mut ListObjectsOutput, encoding: Option<EncodingType>) {
    output.delimiter = output.delimiter.take().filter(|d| !d.is_empty());
    let encode = encoder(encoding.as_ref());
    encode_names(&mut output.contents, &mut output.common_prefixes, &encode);
    for name in [
        &mut output.delimiter,
        &mut output.marker,
        &mut output.next_marker,
    ] {
        *name = name.take().map(&encode);
    }
    output.encoding_type = encoding;
}

fn encode_names(
    objects: &mut Option<Vec<Object>>,
    prefixes: &mut Option<Vec<CommonPrefix>>,
    encode: &impl Fn(String) -> String,
) {
    for object in objects.iter_mut().flatten() {
        object.key = object.key.take().map(encode);
    }
    for common in prefixes.iter_mut().flatten() {
        common.prefix = common.prefix.take().map(encode);
    }
}
