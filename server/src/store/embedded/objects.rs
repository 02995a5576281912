//! Object operations of the embedded store. Bytes are streamed to a temp file, hashed on the
//! way, fsynced and renamed into place; only then is the object's row committed, replacing any
//! previous version, whose file is removed after the commit. A crash at any point leaves either
//! the old object or the new one visible, never a partial one; files without a row are swept at
//! the next start ([`sweep_orphans`]).

use crate::store::answers::{check_key, current_only, db_error, http_date, not_deleted, timestamp};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use md5::{Digest, Md5};
use s3s::dto::*;
use s3s::{S3Result, TrailingHeaders, s3_error};
use tokio::io::AsyncWriteExt;

use super::checksum::{Declared, declared_by};
use super::files::new_blob_name;
use super::stored::{self, Stored, headers_of, set_checksum, show};
use super::{EmbeddedStore, insert_error, io_error, pieces};
use crate::store::{blob_path, remove_blobs};

/// One object's row.
#[derive(sqlx::FromRow)]
pub(super) struct ObjectRow {
    pub blob: String,
    pub size: i64,
    pub etag: String,
    pub content_type: Option<String>,
    pub metadata: String,
    pub last_modified: i64,
    /// [`Stored`], as JSON.
    pub stored: String,
}

pub(super) async fn row(store: &EmbeddedStore, bucket: &str, key: &str) -> S3Result<ObjectRow> {
    let found: Option<ObjectRow> = sqlx::query_as(
        "SELECT blob, size, etag, content_type, metadata, last_modified, stored FROM objects
         WHERE bucket = $1 AND key = $2",
    )
    .bind(bucket)
    .bind(key)
    .fetch_optional(&store.pool)
    .await
    .map_err(db_error)?;
    match found {
        Some(row) => Ok(row),
        None => {
            store.require_bucket(bucket).await?;
            Err(s3_error!(NoSuchKey, "The specified key does not exist."))
        }
    }
}

/// A blob being written: a temp file that becomes a blob only in [`TempBlob::persist`].
struct TempBlob {
    path: PathBuf,
    file: Option<tokio::fs::File>,
}

impl Drop for TempBlob {
    fn drop(&mut self) {
        // Not persisted: the temp file goes (best effort; the start-up sweep catches the rest).
        if self.file.is_some() || self.path.exists() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Streams `body` into a new blob file, durably. Returns the blob's name, size and MD5.
pub(super) async fn write_blob<S, E>(
    store: &EmbeddedStore,
    mut body: S,
) -> S3Result<(String, u64, [u8; 16])>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let name = new_blob_name();
    let path = store.scratch.dir().join(&name);
    let file = tokio::fs::File::create(&path).await.map_err(io_error)?;
    let mut temp = TempBlob {
        path,
        file: Some(file),
    };
    let mut size: u64 = 0;
    let mut md5 = Md5::new();
    let mut pending = bytes::BytesMut::with_capacity(WRITE_CHUNK);
    let Some(file) = temp.file.as_mut() else {
        return Err(s3_error!(InternalError));
    };
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            tracing::info!(error = %e, "upload body ended early");
            s3_error!(
                IncompleteBody,
                "The request body ended before its declared end"
            )
        })?;
        md5.update(&chunk);
        size += chunk.len() as u64;
        pending.extend_from_slice(&chunk);
        if pending.len() >= WRITE_CHUNK {
            file.write_all(&pending).await.map_err(io_error)?;
            pending.clear();
        }
    }
    file.write_all(&pending).await.map_err(io_error)?;
    file.flush().await.map_err(io_error)?;
    file.sync_all().await.map_err(io_error)?;
    temp.file = None;

    let dest = blob_path(&store.objects_dir, &name);
    let shard = dest.parent().map(Path::to_path_buf).unwrap_or_default();
    tokio::fs::create_dir_all(&shard).await.map_err(io_error)?;
    tokio::fs::rename(&temp.path, &dest)
        .await
        .map_err(io_error)?;
    // The rename itself must survive a crash before the row refers to the blob.
    tokio::task::spawn_blocking(move || std::fs::File::open(&shard)?.sync_all())
        .await
        .map_err(io_error)?
        .map_err(io_error)?;
    Ok((name, size, md5.finalize().into()))
}

/// How much of an upload is gathered before it is written: each write is a hop to the blocking
/// pool, and the network's chunks are small (one hop per chunk was a sixth of a multipart
/// PUT's time, in thread switches).
const WRITE_CHUNK: usize = 1024 * 1024;

/// What a new object's row holds besides its bytes.
pub(super) struct NewObject<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    /// Its blob, or for a completed multipart upload of several parts a name of its pieces
    /// ([`super::pieces`]).
    pub blob: String,
    pub size: u64,
    pub etag: String,
    pub content_type: Option<String>,
    pub metadata: Option<Metadata>,
    pub stored: Stored,
    /// `If-Match` / `If-None-Match` of the write: checked against the object there is, in the
    /// transaction that replaces it.
    pub condition: WriteCondition<'a>,
    /// The multipart upload this object completes: it ends in the same transaction, so that two
    /// completions (or a completion and an abort) racing each other make one object at most.
    pub completes: Option<Completion<'a>>,
}

/// The multipart upload an object completes, and the blobs of the parts it is made of, in
/// order, with their sizes. Those blobs stay the upload's until the commit.
#[derive(Clone, Copy)]
pub(super) struct Completion<'a> {
    pub upload: &'a str,
    pub parts: &'a [(&'a str, u64)],
}

/// The conditions of a conditional write (PutObject, CompleteMultipartUpload, CopyObject).
#[derive(Default, Clone, Copy)]
pub(super) struct WriteCondition<'a> {
    pub if_match: Option<&'a ETagCondition>,
    pub if_none_match: Option<&'a ETagCondition>,
}

impl WriteCondition<'_> {
    /// S3's rules: `If-None-Match: *` fails (412) when the key exists; `If-Match` fails with
    /// 404 `NoSuchKey` when it does not, and with 412 when its ETag differs.
    fn check(&self, current_etag: Option<&str>) -> S3Result<()> {
        let matches = |condition: &ETagCondition, etag: &str| match condition {
            ETagCondition::Any => true,
            ETagCondition::ETag(given) => given.value().trim_matches('"') == etag,
        };
        if let Some(condition) = self.if_match {
            let Some(etag) = current_etag else {
                return Err(s3_error!(NoSuchKey, "The specified key does not exist."));
            };
            if !matches(condition, etag) {
                return Err(precondition_failed());
            }
        }
        if let (Some(condition), Some(etag)) = (self.if_none_match, current_etag)
            && matches(condition, etag)
        {
            return Err(precondition_failed());
        }
        Ok(())
    }
}

fn precondition_failed() -> s3s::S3Error {
    s3_error!(
        PreconditionFailed,
        "At least one of the pre-conditions you specified did not hold"
    )
}

/// Makes the object visible, replacing (and then removing) any previous version. If it fails
/// before the commit, a new blob is removed (a completion's parts stay their upload's); if the
/// commit itself fails, the blob stays: the database may have committed all the same (a
/// connection lost in the answer), and an orphan is the sweep's to remove.
pub(super) async fn commit(store: &EmbeddedStore, object: NewObject<'_>) -> S3Result<()> {
    match write_row(store, &object).await {
        Ok((tx, leftovers)) => {
            tx.commit().await.map_err(db_error)?;
            remove_blobs(&store.objects_dir, leftovers).await;
            Ok(())
        }
        Err(err) => {
            if object.completes.is_none() {
                remove_blobs(&store.objects_dir, vec![object.blob]).await;
            }
            Err(err)
        }
    }
}

/// [`commit`]'s transaction, to commit: with the blobs to remove once nothing names them.
async fn write_row(
    store: &EmbeddedStore,
    object: &NewObject<'_>,
) -> S3Result<(domain::db::Tx, Vec<String>)> {
    let metadata =
        serde_json::to_string(&object.metadata.clone().unwrap_or_default()).map_err(io_error)?;
    let mut tx = domain::db::write_tx(&store.pool).await.map_err(db_error)?;
    let old: Option<(String, String)> =
        sqlx::query_as("SELECT blob, etag FROM objects WHERE bucket = $1 AND key = $2")
            .bind(object.bucket)
            .bind(object.key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
    object
        .condition
        .check(old.as_ref().map(|(_, etag)| etag.as_str()))?;
    let mut leftovers = super::pieces::release(&mut tx, old.map(|(blob, _)| blob)).await?;
    if let Some(completion) = object.completes {
        let unused = super::multipart::finish(&mut tx, completion, object).await?;
        leftovers.extend(unused);
    }
    sqlx::query(
        "INSERT INTO objects
             (bucket, key, blob, size, etag, content_type, metadata, last_modified, stored)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (bucket, key) DO UPDATE SET blob = excluded.blob, size = excluded.size,
             etag = excluded.etag, content_type = excluded.content_type,
             metadata = excluded.metadata, last_modified = excluded.last_modified,
             stored = excluded.stored",
    )
    .bind(object.bucket)
    .bind(object.key)
    .bind(&object.blob)
    .bind(i64::try_from(object.size).map_err(io_error)?)
    .bind(&object.etag)
    .bind(&object.content_type)
    .bind(metadata)
    .bind(domain::now_unix())
    .bind(object.stored.to_json())
    .execute(&mut *tx)
    .await
    .map_err(|err| insert_error(err, s3_error!(NoSuchBucket)))?;
    Ok((tx, leftovers))
}

pub(super) async fn put(
    store: &EmbeddedStore,
    input: PutObjectInput,
    trailers: Option<&TrailingHeaders>,
) -> S3Result<PutObjectOutput> {
    let declared = declared_by!(input);
    let mut stored = headers_of!(input);
    let PutObjectInput {
        body,
        bucket,
        key,
        metadata,
        content_md5,
        content_type,
        content_length,
        checksum_algorithm,
        if_match,
        if_none_match,
        ..
    } = input;
    check_key(&key)?;
    store.require_bucket(&bucket).await?;
    let body = body.ok_or_else(|| s3_error!(IncompleteBody))?;
    let checks = Checks {
        content_md5: content_md5.as_deref(),
        content_length,
        declared,
        trailers,
    };
    let received = receive(store, body, checks).await?;
    stored.checksum = stored::keep(checksum_algorithm.as_ref(), &received.checksum);
    let etag = hex::encode(received.md5);
    let checksum = stored.checksum_fields();
    let checksum_type = stored.checksum.as_ref().map(|_| stored.checksum_type());
    commit(
        store,
        NewObject {
            bucket: &bucket,
            key: &key,
            blob: received.blob,
            size: received.size,
            etag: etag.clone(),
            content_type,
            metadata,
            stored,
            condition: WriteCondition {
                if_match: if_match.as_ref(),
                if_none_match: if_none_match.as_ref(),
            },
            completes: None,
        },
    )
    .await?;
    let mut output = PutObjectOutput {
        e_tag: Some(ETag::Strong(etag)),
        checksum_type,
        ..Default::default()
    };
    set_checksum!(output, checksum);
    Ok(output)
}

/// What an upload's body must satisfy once received.
pub(super) struct Checks<'a> {
    pub content_md5: Option<&'a str>,
    pub content_length: Option<i64>,
    pub declared: Declared,
    pub trailers: Option<&'a TrailingHeaders>,
}

/// An upload's body, received and checked.
pub(super) struct Received {
    pub blob: String,
    pub size: u64,
    pub md5: [u8; 16],
    /// The checksums the request declared, as computed over what was received.
    pub checksum: s3s::dto::Checksum,
}

/// Streams an upload's body into a new blob and checks it against the request's
/// `Content-Length`, `Content-MD5` and `x-amz-checksum-*`; a body that fails a check is removed
/// before anything refers to it.
pub(super) async fn receive(
    store: &EmbeddedStore,
    body: StreamingBlob,
    mut checks: Checks<'_>,
) -> S3Result<Received> {
    let mut hasher = checks.declared.hasher()?;
    let body = futures_util::TryStreamExt::inspect_ok(body, |bytes| hasher.update(bytes));
    let (blob, size, md5) = write_blob(store, body).await?;
    checks.declared.add_trailers(checks.trailers);
    let checksum = hasher.finalize();
    let verdict = md5_matches(checks.content_md5, checks.content_length, size, &md5)
        .and_then(|()| checks.declared.verify(&checksum));
    if let Err(err) = verdict {
        remove_blobs(&store.objects_dir, vec![blob]).await;
        return Err(err);
    }
    Ok(Received {
        blob,
        size,
        md5,
        checksum,
    })
}

/// Checks what was received against the request's `Content-Length` and `Content-MD5`.
fn md5_matches(
    content_md5: Option<&str>,
    content_length: Option<i64>,
    size: u64,
    md5: &[u8; 16],
) -> S3Result<()> {
    if content_length.is_some_and(|declared| u64::try_from(declared).ok() != Some(size)) {
        return Err(s3_error!(
            IncompleteBody,
            "The body does not match Content-Length"
        ));
    }
    let Some(text) = content_md5 else {
        return Ok(());
    };
    let expected = BASE64
        .decode(text.trim())
        .ok()
        .filter(|d| d.len() == 16)
        .ok_or_else(|| s3_error!(InvalidDigest, "The Content-MD5 you specified is not valid."))?;
    if expected != md5 {
        return Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        ));
    }
    Ok(())
}

pub(super) fn user_metadata(row: &ObjectRow) -> Option<Metadata> {
    serde_json::from_str::<Metadata>(&row.metadata)
        .ok()
        .filter(|m| !m.is_empty())
}

/// The conditional headers of a GET or HEAD, checked as S3 (and RFC 9110) does: `If-Match` and
/// `If-Unmodified-Since` fail with 412, `If-None-Match` and `If-Modified-Since` with 304.
struct Conditions<'a> {
    if_match: Option<&'a ETagCondition>,
    if_none_match: Option<&'a ETagCondition>,
    if_modified_since: Option<&'a Timestamp>,
    if_unmodified_since: Option<&'a Timestamp>,
}

/// The conditions of a GET or a HEAD (`GetObjectInput`, `HeadObjectInput`: the same fields).
macro_rules! conditions_of {
    ($input:expr) => {
        Conditions {
            if_match: $input.if_match.as_ref(),
            if_none_match: $input.if_none_match.as_ref(),
            if_modified_since: $input.if_modified_since.as_ref(),
            if_unmodified_since: $input.if_unmodified_since.as_ref(),
        }
    };
}

impl Conditions<'_> {
    fn check(&self, row: &ObjectRow) -> S3Result<()> {
        let matches = |condition: &ETagCondition| match condition {
            ETagCondition::Any => true,
            ETagCondition::ETag(etag) => etag.value().trim_matches('"') == row.etag,
        };
        let secs = |t: &Timestamp| time::OffsetDateTime::from(t.clone()).unix_timestamp();
        if let Some(condition) = self.if_match {
            if !matches(condition) {
                return Err(precondition_failed());
            }
        } else if self
            .if_unmodified_since
            .is_some_and(|t| row.last_modified > secs(t))
        {
            return Err(precondition_failed());
        }
        if let Some(condition) = self.if_none_match {
            if matches(condition) {
                return Err(not_modified(row));
            }
        } else if self
            .if_modified_since
            .is_some_and(|t| row.last_modified <= secs(t))
        {
            return Err(not_modified(row));
        }
        Ok(())
    }
}

/// 304, with the object's `ETag` and `Last-Modified` as RFC 9110 asks (a cache revalidates its
/// copy with them).
fn not_modified(row: &ObjectRow) -> s3s::S3Error {
    let mut err = s3_error!(NotModified);
    let mut headers = http::HeaderMap::new();
    if let Ok(etag) = http::HeaderValue::try_from(format!("\"{}\"", row.etag)) {
        headers.insert(http::header::ETAG, etag);
    }
    if let Some(date) =
        http_date(&timestamp(row.last_modified)).and_then(|d| http::HeaderValue::try_from(d).ok())
    {
        headers.insert(http::header::LAST_MODIFIED, date);
    }
    err.set_headers(headers);
    err
}

/// The byte range of part `number` of an object (`partNumber` on GET and HEAD): a multipart
/// object's parts as uploaded; any other object is its one part.
fn part_range(
    row: &ObjectRow,
    stored: &Stored,
    number: i32,
) -> S3Result<(std::ops::Range<u64>, i32)> {
    let size = u64::try_from(row.size).map_err(io_error)?;
    let sizes = stored.parts.clone().unwrap_or_else(|| vec![size]);
    let count = i32::try_from(sizes.len()).unwrap_or(i32::MAX);
    let index = number
        .checked_sub(1)
        .and_then(|i| usize::try_from(i).ok())
        .filter(|i| *i < sizes.len())
        .ok_or_else(|| {
            s3_error!(
                InvalidPart,
                "The object has {count} parts; part {number} does not exist."
            )
        })?;
    let start: u64 = sizes[..index].iter().sum();
    Ok((start..start + sizes[index], count))
}

/// An object's row and the bytes `range_of(size)` of it, opened. A request racing an overwrite
/// or a delete may read the row and then find its blob already removed: the row is read again,
/// so that the answer is the old object, the new one, or `NoSuchKey` — never an error of ours.
pub(super) async fn open(
    store: &EmbeddedStore,
    bucket: &str,
    key: &str,
    range_of: impl Fn(u64) -> S3Result<std::ops::Range<u64>>,
) -> S3Result<(ObjectRow, std::ops::Range<u64>, pieces::Body)> {
    let mut tries = 0;
    loop {
        let row = row(store, bucket, key).await?;
        let range = range_of(u64::try_from(row.size).map_err(io_error)?)?;
        let opened = match pieces::files(store, &row.blob, row.size).await {
            Ok(files) => pieces::open(files, range.clone()).await,
            Err(err) => Err(err),
        };
        match opened {
            Ok(body) => return Ok((row, range, body)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && tries < 5 => tries += 1,
            Err(err) => return Err(io_error(err)),
        }
    }
}

pub(super) async fn get(store: &EmbeddedStore, input: GetObjectInput) -> S3Result<GetObjectOutput> {
    current_only(input.version_id.as_deref())?;
    // A concurrent overwrite or delete may remove the blob between the row and the read: the
    // row is read again then (the new object, or 404).
    let mut tries = 0;
    loop {
        let (row, whole) = row_and_bytes(store, &input.bucket, &input.key).await?;
        conditions_of!(input).check(&row)?;
        let stored = Stored::read(&row.stored);
        let size = u64::try_from(row.size).map_err(io_error)?;
        let shown = |r: &std::ops::Range<u64>| {
            format!("bytes {}-{}/{size}", r.start, r.end.saturating_sub(1))
        };
        let (range, content_range, parts_count) = match (&input.range, input.part_number) {
            (Some(_), Some(_)) => {
                return Err(s3_error!(
                    InvalidRequest,
                    "Cannot specify both Range header and partNumber query parameter"
                ));
            }
            (None, None) => (0..size, None, None),
            (Some(range), None) => {
                let r = range.check(size)?;
                let content_range = shown(&r);
                (r, Some(content_range), None)
            }
            (None, Some(number)) => {
                let (r, count) = part_range(&row, &stored, number)?;
                let content_range = (stored.parts.is_some()).then(|| shown(&r));
                (r, content_range, Some(count))
            }
        };
        // A checksum covers the whole object: given back only with the whole object.
        let with_checksum = is_enabled(input.checksum_mode.as_ref()) && range == (0..size);
        let length = range.end - range.start;
        let read = match whole {
            Some(bytes) if bytes.len() as u64 == size => Ok(small_body(&bytes, range)),
            _ => read_body(store, &row, range).await,
        };
        let body = match read {
            Ok(body) => body,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && tries < 5 => {
                tries += 1;
                continue;
            }
            Err(err) => return Err(io_error(err)),
        };
        let mut output = GetObjectOutput {
            body: Some(body),
            content_length: Some(i64::try_from(length).map_err(io_error)?),
            content_range,
            accept_ranges: Some("bytes".to_owned()),
            e_tag: Some(ETag::Strong(row.etag.clone())),
            last_modified: Some(timestamp(row.last_modified)),
            // S3's `response-*` overrides of a signed GET (share links set the file name so).
            content_type: input.response_content_type.or(row.content_type.clone()),
            content_disposition: input.response_content_disposition,
            cache_control: input.response_cache_control,
            content_encoding: input.response_content_encoding,
            content_language: input.response_content_language,
            expires: input.response_expires.as_ref().and_then(http_date),
            metadata: user_metadata(&row),
            parts_count,
            ..Default::default()
        };
        show!(output, &stored, with_checksum, input.part_number);
        return Ok(output);
    }
}

/// A GET's row, and on SQLite a small object's bytes if they were in memory: both read on this
/// worker, without a thread switch, unless SQLite is busy ([`super::direct`]). The bytes not
/// given here are read after ([`read_body`]).
async fn row_and_bytes(
    store: &EmbeddedStore,
    bucket: &str,
    key: &str,
) -> S3Result<(ObjectRow, Option<Bytes>)> {
    let Some(direct) = store.direct.clone() else {
        return Ok((row(store, bucket, key).await?, None));
    };
    let found = match direct.find(&store.objects_dir, bucket, key, SMALL_READ) {
        Ok(found) => Ok(found),
        // Busy: asked again on a blocking thread, waiting as the pool's connections do.
        Err(_) => {
            let (b, k) = (bucket.to_owned(), key.to_owned());
            tokio::task::spawn_blocking(move || direct.row_waiting(&b, &k))
                .await
                .map_err(db_error)?
                .map(|found| found.map(|row| (row, None)))
        }
    };
    match found {
        Ok(Some(found)) => Ok(found),
        // Which error (no such key, or bucket) is the pool's to say, as for any row.
        Ok(None) => Ok((row(store, bucket, key).await?, None)),
        // The pool answers what the direct connection could not (it could not open, say).
        Err(err) => {
            tracing::warn!(error = %err, "cannot read an object's row directly; asking the pool");
            Ok((row(store, bucket, key).await?, None))
        }
    }
}

/// `range` of bytes held in memory, as a GET's body of one chunk.
fn small_body(bytes: &Bytes, range: std::ops::Range<u64>) -> StreamingBlob {
    let at = |offset: u64| usize::try_from(offset).map_or(bytes.len(), |o| o.min(bytes.len()));
    let part = bytes.slice(at(range.start)..at(range.end));
    StreamingBlob::wrap(futures_util::stream::once(async move {
        Ok::<_, std::io::Error>(part)
    }))
}

/// The bytes `range` of the object `row`, as a GET's body. Up to [`SMALL_READ`] of one blob
/// they are read in one blocking task (open, seek, read: one hop to the blocking pool, one
/// buffer of their size); larger ones, and objects made of pieces, stream in [`READ_CHUNK`](super::files::READ_CHUNK)s.
async fn read_body(
    store: &EmbeddedStore,
    row: &ObjectRow,
    range: std::ops::Range<u64>,
) -> std::io::Result<StreamingBlob> {
    let length = range.end - range.start;
    if length <= SMALL_READ && !pieces::is_pieces(&row.blob) {
        let path = blob_path(&store.objects_dir, &row.blob);
        let bytes = tokio::task::spawn_blocking(move || -> std::io::Result<Bytes> {
            use std::io::Read as _;
            let mut file = pieces::open_at(&path, range.start)?;
            let mut buf = vec![0; usize::try_from(length).unwrap_or(0)];
            file.read_exact(&mut buf)?;
            Ok(Bytes::from(buf))
        })
        .await
        .map_err(std::io::Error::other)??;
        return Ok(small_body(&bytes, 0..length));
    }
    let body = pieces::open(pieces::files(store, &row.blob, row.size).await?, range).await?;
    Ok(StreamingBlob::wrap(body))
}

/// The largest GET body read whole, in one blocking task (see [`read_body`]).
const SMALL_READ: u64 = 256 * 1024;

fn is_enabled(mode: Option<&ChecksumMode>) -> bool {
    mode.is_some_and(|m| m.as_str() == ChecksumMode::ENABLED)
}

pub(super) async fn head(
    store: &EmbeddedStore,
    input: HeadObjectInput,
) -> S3Result<HeadObjectOutput> {
    current_only(input.version_id.as_deref())?;
    let row = row(store, &input.bucket, &input.key).await?;
    conditions_of!(input).check(&row)?;
    let stored = Stored::read(&row.stored);
    let (length, parts_count) = match input.part_number {
        None => (row.size, None),
        Some(number) => {
            let (range, count) = part_range(&row, &stored, number)?;
            (
                i64::try_from(range.end - range.start).map_err(io_error)?,
                Some(count),
            )
        }
    };
    let mut output = HeadObjectOutput {
        content_length: Some(length),
        accept_ranges: Some("bytes".to_owned()),
        e_tag: Some(ETag::Strong(row.etag.clone())),
        last_modified: Some(timestamp(row.last_modified)),
        content_type: input.response_content_type.or(row.content_type.clone()),
        metadata: user_metadata(&row),
        parts_count,
        cache_control: input.response_cache_control,
        content_disposition: input.response_content_disposition,
        content_encoding: input.response_content_encoding,
        content_language: input.response_content_language,
        expires: input.response_expires.as_ref().and_then(http_date),
        ..Default::default()
    };
    show!(
        output,
        &stored,
        is_enabled(input.checksum_mode.as_ref()),
        input.part_number
    );
    Ok(output)
}

/// GetObjectAttributes: what was asked of ETag, size, storage class, checksum and parts (a
/// multipart object's, paged by `max-parts` and `part-number-marker`).
pub(super) async fn attributes(
    store: &EmbeddedStore,
    input: GetObjectAttributesInput,
) -> S3Result<GetObjectAttributesOutput> {
    current_only(input.version_id.as_deref())?;
    let row = row(store, &input.bucket, &input.key).await?;
    let stored = Stored::read(&row.stored);
    // One header, `x-amz-object-attributes: ETag,ObjectSize`, may arrive as one value.
    let asked = |name: &str| {
        input
            .object_attributes
            .iter()
            .flat_map(|a| a.as_str().split(','))
            .any(|a| a.trim() == name)
    };
    let object_parts = match &stored.parts {
        Some(sizes) if asked(ObjectAttributes::OBJECT_PARTS) => {
            let max = input.max_parts.unwrap_or(1000).clamp(0, 1000);
            let after = input.part_number_marker.unwrap_or(0).max(0);
            let numbered = (1..).zip(sizes.iter());
            let parts: Vec<ObjectPart> = numbered
                .clone()
                .filter(|(n, _)| *n > after)
                .take(usize::try_from(max).unwrap_or(0))
                .map(|(n, size)| {
                    let index = usize::try_from(n - 1).unwrap_or(usize::MAX);
                    let fields = stored.part_checksum_fields(index).unwrap_or_default();
                    let mut part = ObjectPart {
                        part_number: Some(n),
                        size: i64::try_from(*size).ok(),
                        ..Default::default()
                    };
                    set_checksum!(part, fields);
                    part
                })
                .collect();
            let last = parts.last().and_then(|p| p.part_number);
            let truncated = last.is_some_and(|l| usize::try_from(l).unwrap_or(0) < sizes.len());
            Some(GetObjectAttributesParts {
                total_parts_count: i32::try_from(sizes.len()).ok(),
                part_number_marker: input.part_number_marker,
                next_part_number_marker: last.filter(|_| truncated),
                max_parts: Some(max),
                is_truncated: Some(truncated),
                parts: Some(parts),
            })
        }
        _ => None,
    };
    Ok(GetObjectAttributesOutput {
        e_tag: asked(ObjectAttributes::ETAG).then(|| ETag::Strong(row.etag.clone())),
        object_size: asked(ObjectAttributes::OBJECT_SIZE).then_some(row.size),
        storage_class: asked(ObjectAttributes::STORAGE_CLASS)
            .then(|| StorageClass::from_static(StorageClass::STANDARD)),
        checksum: (asked(ObjectAttributes::CHECKSUM) && stored.checksum.is_some()).then(|| {
            let mut fields = stored.checksum_fields();
            fields.checksum_type = Some(stored.checksum_type());
            fields
        }),
        object_parts,
        last_modified: Some(timestamp(row.last_modified)),
        ..Default::default()
    })
}

/// Deletes an object; deleting one that is not there succeeds, as in S3.
pub(super) async fn delete(store: &EmbeddedStore, bucket: &str, key: &str) -> S3Result<()> {
    store.require_bucket(bucket).await?;
    // A write transaction, as every write of a row is: a conditional write decides on the row
    // it read, and no delete may land between its check and its commit.
    let mut tx = domain::db::write_tx(&store.pool).await.map_err(db_error)?;
    let blob: Option<String> =
        sqlx::query_scalar("DELETE FROM objects WHERE bucket = $1 AND key = $2 RETURNING blob")
            .bind(bucket)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
    let blobs = pieces::release(&mut tx, blob).await?;
    tx.commit().await.map_err(db_error)?;
    remove_blobs(&store.objects_dir, blobs).await;
    Ok(())
}

pub(super) async fn delete_many(
    store: &EmbeddedStore,
    input: DeleteObjectsInput,
) -> S3Result<DeleteObjectsOutput> {
    let quiet = input.delete.quiet.unwrap_or(false);
    let (mut deleted, mut errors) = (Vec::new(), Vec::new());
    for object in input.delete.objects {
        // A version other than the one there is (`null`) is not deleted: said for that key.
        if let Err(err) = current_only(object.version_id.as_deref()) {
            errors.push(not_deleted(object, &err));
            continue;
        }
        delete(store, &input.bucket, &object.key).await?;
        if !quiet {
            deleted.push(DeletedObject {
                key: Some(object.key),
                version_id: object.version_id,
                ..Default::default()
            });
        }
    }
    Ok(DeleteObjectsOutput {
        deleted: Some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..Default::default()
    })
}

pub(super) async fn copy(
    store: &EmbeddedStore,
    input: CopyObjectInput,
) -> S3Result<CopyObjectOutput> {
    let CopySource::Bucket {
        bucket: src_bucket,
        key: src_key,
        version_id,
    } = &input.copy_source
    else {
        return Err(s3_error!(NotImplemented, "Access points are not supported"));
    };
    current_only(version_id.as_deref())?;
    check_key(&input.key)?;
    store.require_bucket(&input.bucket).await?;
    let (source, _, body) = open(store, src_bucket, src_key, |size| Ok(0..size)).await?;
    // The source's conditions: any that does not hold fails the copy with 412, as in S3.
    Conditions {
        if_match: input.copy_source_if_match.as_ref(),
        if_none_match: input.copy_source_if_none_match.as_ref(),
        if_modified_since: input.copy_source_if_modified_since.as_ref(),
        if_unmodified_since: input.copy_source_if_unmodified_since.as_ref(),
    }
    .check(&source)
    .map_err(|err| {
        if *err.code() == s3s::S3ErrorCode::NotModified {
            precondition_failed()
        } else {
            err
        }
    })?;
    let replace = input
        .metadata_directive
        .as_ref()
        .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
    if !replace
        && src_bucket.as_ref() == input.bucket.as_str()
        && src_key.as_ref() == input.key.as_str()
    {
        return Err(s3_error!(
            InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
        ));
    }
    let (content_type, metadata, mut stored) = if replace {
        (
            input.content_type.clone(),
            input.metadata.clone(),
            headers_of!(input),
        )
    } else {
        (
            source.content_type.clone(),
            user_metadata(&source),
            Stored::read(&source.stored),
        )
    };
    // A copy is one part, whatever the source was; its checksum is the source's (same bytes).
    stored.parts = None;
    stored.checksum = Stored::read(&source.stored).checksum;
    let (blob, size, md5) = write_blob(store, body).await?;
    let etag = hex::encode(md5);
    commit(
        store,
        NewObject {
            bucket: &input.bucket,
            key: &input.key,
            blob,
            size,
            etag: etag.clone(),
            content_type,
            metadata,
            stored,
            condition: WriteCondition {
                if_match: input.if_match.as_ref(),
                if_none_match: input.if_none_match.as_ref(),
            },
            completes: None,
        },
    )
    .await?;
    Ok(CopyObjectOutput {
        copy_object_result: Some(CopyObjectResult {
            e_tag: Some(ETag::Strong(etag)),
            last_modified: Some(Timestamp::from(SystemTime::now())),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// Removes what interrupted writes left: everything in `tmp/`, and blob files that no object,
/// object's piece or multipart part refers to. `serve` runs it in the background once it listens: it removes
/// only blobs old enough that no write in flight can be about to name them ([`SWEEP_MIN_AGE`]).
pub async fn sweep_orphans(pool: &domain::db::Pool, objects_dir: &Path) -> anyhow::Result<usize> {
    sweep_orphans_older_than(pool, objects_dir, SWEEP_MIN_AGE).await
}

/// How old a blob no row refers to must be before the sweep removes it: another instance on the
/// same data dir (or this one, serving while the sweep runs) may have renamed a blob into place
/// and be about to commit its row right now. A row never comes to name an older blob that no
/// row named: every write and copy makes a new one, and a completion moves its parts' blobs
/// from their rows to the object's pieces in one transaction, which the sweep's one query per
/// shard sees before or after. (Uploads being received are in scratch
/// directories, swept only when their process is gone: [`crate::store::Scratch`].)
pub const SWEEP_MIN_AGE: std::time::Duration = std::time::Duration::from_secs(600);

/// [`sweep_orphans`] with the age given, for tests.
///
/// One shard (`blobs/XY/`, the names starting with `XY`) at a time: its old files listed in
/// one blocking task, the names rows hold in that range read in one query, the difference
/// removed. A million objects cost 256 queries, not a million.
pub async fn sweep_orphans_older_than(
    pool: &domain::db::Pool,
    objects_dir: &Path,
    min_age: std::time::Duration,
) -> anyhow::Result<usize> {
    let scratch = objects_dir.to_path_buf();
    let mut removed =
        tokio::task::spawn_blocking(move || crate::store::sweep_scratch(&scratch)).await??;
    let blobs_dir = objects_dir.join("blobs");
    let shards = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<PathBuf>> {
        match std::fs::read_dir(&blobs_dir) {
            Ok(entries) => entries.map(|e| e.map(|e| e.path())).collect(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(err) => Err(err),
        }
    })
    .await??;
    for shard in shards {
        let listed = shard.clone();
        let old = tokio::task::spawn_blocking(move || old_files(&listed, min_age)).await??;
        if old.is_empty() {
            continue;
        }
        let Some(prefix) = shard
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
        else {
            continue;
        };
        let known: std::collections::HashSet<String> = sqlx::query_scalar(
            "SELECT blob FROM objects WHERE blob >= $1 AND blob < $2
             UNION ALL SELECT blob FROM multipart_parts WHERE blob >= $1 AND blob < $2
             UNION ALL SELECT blob FROM object_pieces WHERE blob >= $1 AND blob < $2",
        )
        .bind(&prefix)
        .bind(format!("{prefix}\u{10FFFF}"))
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect();
        for name in old.into_iter().filter(|name| !known.contains(name)) {
            remove_if_there(&shard.join(&name)).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The names of the files in `dir` last modified at least `min_age` ago.
fn old_files(dir: &Path, min_age: std::time::Duration) -> std::io::Result<Vec<String>> {
    let mut old = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let aged = entry
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|at| at.elapsed().ok())
            .is_some_and(|age| age >= min_age);
        if aged && let Some(name) = entry.file_name().to_str() {
            old.push(name.to_owned());
        }
    }
    Ok(old)
}

/// Removes a file another instance may have removed first.
async fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}
