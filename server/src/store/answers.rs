//! What both stores answer the same way: who the caller is, the answers to bucket creation and
//! deletion (buckets are recorded in the database whichever store holds the objects), the
//! bucket listing, the shaping of object listings, and the checks of keys, versions and ranges.

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN;
use domain::audit::Origin;
use domain::db::Pool;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::Caller;

/// A domain error as S3 answers it: the one mapping, for the stores and the access check.
/// A missing bucket is `NoSuchBucket`, a missing key or user `InvalidAccessKeyId`, a refused
/// name `InvalidBucketName`, a non-empty bucket `BucketNotEmpty`, an existing bucket
/// `BucketAlreadyExists` (the owner is told apart by [`create_bucket_answer`]), an upstream
/// failure 503 ([`unavailable`]); the rest is the server's fault, logged, `InternalError`.
pub(crate) fn s3_error_of(err: domain::Error) -> s3s::S3Error {
    use domain::Error;
    match err {
        Error::NotFound { what: "bucket", .. } => {
            s3_error!(NoSuchBucket, "The specified bucket does not exist")
        }
        Error::NotFound {
            what: "access key" | "user",
            ..
        } => s3_error!(InvalidAccessKeyId),
        Error::AlreadyExists { what: "bucket", .. } => s3_error!(BucketAlreadyExists),
        Error::Invalid { message, .. } => s3_error!(InvalidBucketName, "{message}"),
        Error::BucketNotEmpty { .. } => s3_error!(BucketNotEmpty),
        Error::Store(message) => {
            tracing::warn!(error = %message, "S3 store: upstream failure");
            unavailable()
        }
        other => internal("database", other),
    }
}

/// A failure of the server's own (`what`: the database, a file, …), logged and counted, as
/// S3's `InternalError`: the one place a 500 is made.
pub(crate) fn internal(what: &'static str, err: impl std::fmt::Display) -> s3s::S3Error {
    tracing::error!(error = %err, "S3 endpoint: {what} error");
    if what == "database" {
        domain::metrics::get().database_error("s3");
    }
    s3_error!(InternalError)
}

/// Fails with `NoSuchBucket` unless bucketshare has `bucket` (whichever store holds it).
pub(crate) async fn require_bucket(pool: &Pool, bucket: &str) -> S3Result<()> {
    domain::buckets::require(pool, bucket)
        .await
        .map_err(s3_error_of)
}

pub(crate) fn caller<T>(req: &S3Request<T>) -> S3Result<String> {
    caller_origin(req).map(|origin| origin.name)
}

/// The IAM user behind a request, as the author of the changes it makes.
pub(crate) fn caller_origin<T>(req: &S3Request<T>) -> S3Result<Origin> {
    req.extensions
        .get::<Caller>()
        .map(|c| Origin::user(&c.user, &c.access_key_id))
        .ok_or_else(|| s3_error!(AccessDenied, "Access Denied"))
}

/// S3's answer to a bucket creation, whichever store made it.
pub(crate) async fn create_bucket_answer(
    pool: &Pool,
    user: &str,
    bucket: &str,
    created: domain::Result<()>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    match created {
        Ok(()) => Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{bucket}")),
            ..Default::default()
        })),
        Err(domain::Error::AlreadyExists { .. }) => {
            // S3 answers the owner differently from everyone else.
            let owns = domain::grants::allows(pool, user, bucket, "", domain::grants::Need::Owner)
                .await
                .map_err(s3_error_of)?;
            Err(if owns {
                s3_error!(BucketAlreadyOwnedByYou)
            } else {
                s3_error!(BucketAlreadyExists)
            })
        }
        Err(err) => Err(s3_error_of(err)),
    }
}

/// S3's answer to a bucket deletion, whichever store made it.
pub(crate) fn delete_bucket_answer(
    deleted: domain::Result<()>,
) -> S3Result<S3Response<DeleteBucketOutput>> {
    deleted
        .map(|()| S3Response::new(DeleteBucketOutput::default()))
        .map_err(s3_error_of)
}

/// S3's answer when the object store behind the endpoint cannot be reached.
pub(crate) fn unavailable() -> s3s::S3Error {
    domain::metrics::get().upstream_unavailable.inc();
    s3_error!(
        ServiceUnavailable,
        "The object store behind this endpoint cannot be reached; try again later"
    )
}

/// The buckets `user` holds a grant on, by name, paged by `max-buckets` and a continuation
/// token (the last name returned) and filtered by `prefix`, as S3's ListBuckets is.
pub(crate) async fn list_buckets(
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

/// The plain listing (names unencoded) a versions listing is answered from.
pub(crate) fn plain_listing(asked: &ListObjectVersionsInput) -> S3Result<ListObjectsInput> {
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
pub(crate) fn versions_of(
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

/// A plain (unencoded) ListObjectsV2 answer, an upstream store's, as `encoding` asks for it.
pub(crate) fn encode_v2(output: &mut ListObjectsV2Output, encoding: Option<EncodingType>) {
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
pub(crate) fn encode_v1(output: &mut ListObjectsOutput, encoding: Option<EncodingType>) {
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

pub(crate) fn timestamp(unix: i64) -> Timestamp {
    Timestamp::from(UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).unwrap_or(0)))
}

/// Keys are never used as paths, so none can escape the store; still, S3 refuses keys that
/// are empty or too long, and NUL has no business in one.
pub(crate) fn check_key(key: &str) -> S3Result<()> {
    if key.is_empty() {
        return Err(s3_error!(
            InvalidArgument,
            "The object key must not be empty"
        ));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(s3_error!(KeyTooLongError));
    }
    if key.contains('\0') {
        return Err(s3_error!(
            InvalidArgument,
            "The object key must not contain NUL"
        ));
    }
    Ok(())
}

/// Refuses a version other than `null`, the one version each object has here (there is no
/// versioning): a client asking for an older version must not get the current one instead.
pub(crate) fn current_only(version: Option<&str>) -> S3Result<()> {
    match version {
        None | Some("null") => Ok(()),
        Some(_) => Err(s3_error!(
            NoSuchVersion,
            "The specified version does not exist (this endpoint keeps one version of each object, null)."
        )),
    }
}

/// A time as HTTP writes it (`Expires`).
pub(crate) fn http_date(at: &Timestamp) -> Option<String> {
    let mut text = Vec::new();
    at.format(s3s::dto::TimestampFormat::HttpDate, &mut text)
        .ok()?;
    String::from_utf8(text).ok()
}

/// A DeleteObjects entry refused with `err`, as the answer lists it.
pub(crate) fn not_deleted(object: ObjectIdentifier, err: &s3s::S3Error) -> Error {
    Error {
        key: Some(object.key),
        version_id: object.version_id,
        code: Some(err.code().as_str().to_owned()),
        message: err.message().map(str::to_owned),
    }
}

/// `bytes=FIRST-LAST` (inclusive), within an object of `size` bytes.
pub(crate) fn parse_copy_range(text: &str, size: u64) -> S3Result<std::ops::Range<u64>> {
    let invalid = || {
        s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
        )
    };
    let (first, last) = text
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(invalid)?;
    let first: u64 = first.parse().map_err(|_| invalid())?;
    let last: u64 = last.parse().map_err(|_| invalid())?;
    if first > last || last >= size {
        return Err(s3_error!(
            InvalidRange,
            "The requested range is not satisfiable"
        ));
    }
    Ok(first..last + 1)
}

/// A database failure, logged, as S3's `InternalError`.
pub(crate) fn db_error(err: impl std::fmt::Display) -> s3s::S3Error {
    internal("database", err)
}

/// S3's page size limit for ListBuckets.
pub(crate) const MAX_BUCKETS: i32 = 10_000;

/// A continuation token: where a listing goes on (exclusive), opaque to clients.
pub(crate) fn encode_token(after: &str) -> String {
    TOKEN.encode(after)
}

pub(crate) fn decode_token(token: &str) -> S3Result<String> {
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

/// Names as a listing returns them: with `encoding-type=url`, percent-encoded as S3 does (every
/// byte but unreserved characters and `/`; a space is `%20`), which boto3 and the aws cli ask
/// for on every listing and decode. Unencoded, `a+b` came back to them as `a b`.
pub(crate) fn encoder(encoding: Option<&EncodingType>) -> impl Fn(String) -> String + use<> {
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

/// An object of an unversioned bucket as its one version.
pub(crate) fn as_version(o: Object) -> ObjectVersion {
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

pub(crate) fn encode_names(
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

/// S3's limit on key length, in bytes.
pub(crate) const MAX_KEY_LEN: usize = 1024;

/// An S3 error of a store as the console's and the CLI's error: a missing bucket,
/// a key S3 refuses, or a failure of the store (logged where it happened).
pub(crate) fn failure(err: s3s::S3Error, bucket: &str) -> domain::Error {
    let message = err.message().unwrap_or(err.code().as_str()).to_owned();
    match err.code() {
        s3s::S3ErrorCode::NoSuchBucket => domain::Error::NotFound {
            what: "bucket",
            name: bucket.to_owned(),
        },
        s3s::S3ErrorCode::InvalidArgument | s3s::S3ErrorCode::KeyTooLongError => {
            domain::Error::Invalid {
                field: "key",
                message,
            }
        }
        _ => domain::Error::Store(message),
    }
}
