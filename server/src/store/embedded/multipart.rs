//! Multipart uploads of the embedded store: parts are blobs of their own until completion,
//! which checks every part's ETag and order and commits the object, made of the parts' blobs as
//! they are ([`super::pieces`]: no second copy of the bytes), with S3's multipart ETag (MD5 of
//! the parts' MD5s, then `-N`).

use crate::store::answers::{check_key, current_only, db_error, parse_copy_range, timestamp};
use futures_util::StreamExt;
use md5::{Digest, Md5};
use rand::Rng;
use s3s::dto::*;
use s3s::{S3Result, TrailingHeaders, s3_error};

use super::checksum::declared_by;
use super::objects::{
    Checks, Completion, NewObject, WriteCondition, commit, open, receive, write_blob,
};
use super::stored::{self, Stored, StoredChecksum, checksum_of, headers_of, set_checksum};
use super::{EmbeddedStore, insert_error, io_error, pieces};
use crate::store::{blob_path, remove_blobs};

/// S3's smallest part, except for the last one.
const MIN_PART_SIZE: i64 = 5 * 1024 * 1024;

#[derive(sqlx::FromRow)]
struct Upload {
    bucket: String,
    key: String,
    content_type: Option<String>,
    metadata: String,
    /// [`Stored`] headers, as JSON.
    stored: String,
}

async fn upload(store: &EmbeddedStore, id: &str, bucket: &str, key: &str) -> S3Result<Upload> {
    let found: Option<Upload> = sqlx::query_as(
        "SELECT bucket, key, content_type, metadata, stored FROM multipart_uploads WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&store.pool)
    .await
    .map_err(db_error)?;
    match found {
        Some(upload) if upload.bucket == bucket && upload.key == key => Ok(upload),
        _ => Err(s3_error!(
            NoSuchUpload,
            "The specified upload does not exist."
        )),
    }
}

pub(super) async fn create(
    store: &EmbeddedStore,
    initiator: &str,
    input: CreateMultipartUploadInput,
) -> S3Result<CreateMultipartUploadOutput> {
    check_key(&input.key)?;
    store.require_bucket(&input.bucket).await?;
    let checksum = stored::multipart_checksum(
        input.checksum_algorithm.as_ref(),
        input.checksum_type.as_ref(),
    )?;
    let id = hex::encode(rand::rng().random::<[u8; 24]>());
    let mut kept = headers_of!(input);
    if let Some((algorithm, kind)) = &checksum {
        kept.checksum = Some(StoredChecksum {
            algorithm: algorithm.clone(),
            value: String::new(),
        });
        kept.checksum_type = Some(kind.clone());
    }
    let stored = kept.to_json();
    let metadata = serde_json::to_string(&input.metadata.unwrap_or_default()).map_err(io_error)?;
    sqlx::query(
        "INSERT INTO multipart_uploads
             (id, bucket, key, content_type, metadata, initiator, created_at, stored)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(&input.bucket)
    .bind(&input.key)
    .bind(&input.content_type)
    .bind(metadata)
    .bind(initiator)
    .bind(domain::now_unix())
    .bind(stored)
    .execute(&store.pool)
    .await
    .map_err(db_error)?;
    Ok(CreateMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(id),
        checksum_algorithm: kept.algorithm(),
        checksum_type: checksum.map(|(_, kind)| ChecksumType::from(kind)),
        ..Default::default()
    })
}

pub(super) async fn upload_part(
    store: &EmbeddedStore,
    input: UploadPartInput,
    trailers: Option<&TrailingHeaders>,
) -> S3Result<UploadPartOutput> {
    let upload = upload(store, &input.upload_id, &input.bucket, &input.key).await?;
    check_part_number(input.part_number)?;
    let mut declared = declared_by!(input);
    // An upload made with a checksum algorithm keeps each part's checksum of it.
    let algorithm = Stored::read(&upload.stored).algorithm();
    if let Some(wanted) = &algorithm {
        match &declared.algorithm {
            Some(named) if named.as_str() != wanted.as_str() => {
                return Err(s3_error!(
                    InvalidRequest,
                    "This upload was created with the {} checksum algorithm, not {}",
                    wanted.as_str(),
                    named.as_str()
                ));
            }
            Some(_) => {}
            None => declared.algorithm = Some(wanted.clone()),
        }
    }
    let body = input.body.ok_or_else(|| s3_error!(IncompleteBody))?;
    let checks = Checks {
        content_md5: input.content_md5.as_deref(),
        content_length: input.content_length,
        declared,
        trailers,
    };
    let received = receive(store, body, checks).await?;
    let etag = hex::encode(received.md5);
    let checksum = algorithm
        .as_ref()
        .and_then(|a| stored::value_of(&received.checksum, a.as_str()));
    save_part(
        store,
        &input.upload_id,
        input.part_number,
        received.blob,
        received.size,
        &etag,
        checksum.as_deref(),
    )
    .await?;
    let fields = match (&algorithm, checksum) {
        (Some(a), Some(value)) => stored::fields(a.as_str(), value),
        _ => Checksum::default(),
    };
    let mut output = UploadPartOutput {
        e_tag: Some(ETag::Strong(etag)),
        ..Default::default()
    };
    set_checksum!(output, fields);
    Ok(output)
}

/// Records a part's blob, replacing (and then removing) an earlier upload of the same part.
async fn save_part(
    store: &EmbeddedStore,
    upload_id: &str,
    part_number: i32,
    blob: String,
    size: u64,
    etag: &str,
    checksum: Option<&str>,
) -> S3Result<()> {
    let mut tx = domain::db::write_tx(&store.pool).await.map_err(db_error)?;
    let old: Option<String> = sqlx::query_scalar(
        "SELECT blob FROM multipart_parts WHERE upload_id = $1 AND part_number = $2",
    )
    .bind(upload_id)
    .bind(part_number)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_error)?;
    let written = sqlx::query(
        "INSERT INTO multipart_parts
             (upload_id, part_number, blob, size, etag, created_at, checksum)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (upload_id, part_number) DO UPDATE SET blob = excluded.blob,
             size = excluded.size, etag = excluded.etag, created_at = excluded.created_at,
             checksum = excluded.checksum",
    )
    .bind(upload_id)
    .bind(part_number)
    .bind(&blob)
    .bind(i64::try_from(size).map_err(io_error)?)
    .bind(etag)
    .bind(domain::now_unix())
    .bind(checksum)
    .execute(&mut *tx)
    .await;
    if let Err(err) = written {
        remove_blobs(&store.objects_dir, vec![blob]).await;
        // The upload was completed or aborted meanwhile.
        return Err(insert_error(err, s3_error!(NoSuchUpload)));
    }
    tx.commit().await.map_err(db_error)?;
    remove_blobs(&store.objects_dir, old.into_iter().collect()).await;
    Ok(())
}

/// A part copied from (a byte range of) an existing object.
pub(super) async fn upload_part_copy(
    store: &EmbeddedStore,
    input: UploadPartCopyInput,
) -> S3Result<UploadPartCopyOutput> {
    upload(store, &input.upload_id, &input.bucket, &input.key).await?;
    check_part_number(input.part_number)?;
    let CopySource::Bucket {
        bucket: src_bucket,
        key: src_key,
        version_id,
    } = &input.copy_source
    else {
        return Err(s3_error!(
            NotImplemented,
            "Only bucket/key copy sources are supported"
        ));
    };
    current_only(version_id.as_deref())?;
    let range_of = |size| match input.copy_source_range.as_deref() {
        None => Ok(0..size),
        Some(text) => parse_copy_range(text, size),
    };
    let (_, _, part) = open(store, src_bucket, src_key, range_of).await?;
    let (blob, size, md5) = write_blob(store, part).await?;
    let etag = hex::encode(md5);
    save_part(
        store,
        &input.upload_id,
        input.part_number,
        blob,
        size,
        &etag,
        None,
    )
    .await?;
    Ok(UploadPartCopyOutput {
        copy_part_result: Some(CopyPartResult {
            e_tag: Some(ETag::Strong(etag)),
            last_modified: Some(timestamp(domain::now_unix())),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn check_part_number(number: i32) -> S3Result<()> {
    if (1..=10_000).contains(&number) {
        Ok(())
    } else {
        Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ))
    }
}

pub(super) async fn complete(
    store: &EmbeddedStore,
    mut input: CompleteMultipartUploadInput,
) -> S3Result<CompleteMultipartUploadOutput> {
    let upload = match upload(store, &input.upload_id, &input.bucket, &input.key).await {
        Ok(upload) => upload,
        Err(err) => return completed_before(store, &input).await?.ok_or(err),
    };
    let requested = input
        .multipart_upload
        .take()
        .and_then(|m| m.parts)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| s3_error!(MalformedXML, "The upload must list at least one part"))?;
    let mut kept = Stored::read(&upload.stored);
    let algorithm = kept.algorithm();
    let stored: Vec<(i32, String, i64, String, Option<String>)> = sqlx::query_as(
        "SELECT part_number, blob, size, etag, checksum FROM multipart_parts WHERE upload_id = $1
         ORDER BY part_number",
    )
    .bind(&input.upload_id)
    .fetch_all(&store.pool)
    .await
    .map_err(db_error)?;

    // Every listed part must exist with the ETag the client got, in ascending order, and all
    // but the last must be at least 5 MiB.
    let numbers: Vec<i32> = requested
        .iter()
        .map(|part| part.part_number.ok_or_else(|| s3_error!(InvalidPart)))
        .collect::<S3Result<_>>()?;
    if numbers.windows(2).any(|w| w[0] >= w[1]) {
        return Err(s3_error!(
            InvalidPartOrder,
            "The list of parts was not in ascending order."
        ));
    }
    let mut chosen = Vec::with_capacity(requested.len());
    let mut checksums: Vec<Option<String>> = Vec::with_capacity(requested.len());
    for (i, (part, &number)) in requested.iter().zip(&numbers).enumerate() {
        let Some((_, blob, size, etag, checksum)) = stored.iter().find(|(n, ..)| *n == number)
        else {
            // Its parts are gone too when another completion or an abort ended the upload
            // between the two reads above.
            let missing = s3_error!(InvalidPart, "Part {number} was not uploaded.");
            return ended_meanwhile(store, &input, missing).await;
        };
        let given = part.e_tag.as_ref().map(|e| e.value().trim_matches('"'));
        if given != Some(etag.as_str()) {
            return Err(s3_error!(
                InvalidPart,
                "The ETag of part {number} does not match."
            ));
        }
        let listed = algorithm
            .as_ref()
            .and_then(|a| stored::value_of(&checksum_of!(part), a.as_str()));
        if let (Some(listed), Some(checksum)) = (&listed, checksum)
            && listed != checksum
        {
            return Err(s3_error!(
                InvalidPart,
                "The checksum of part {number} does not match."
            ));
        }
        if i + 1 < requested.len() && *size < MIN_PART_SIZE {
            return Err(s3_error!(
                EntityTooSmall,
                "Part {number} is smaller than 5 MiB."
            ));
        }
        chosen.push((
            blob.clone(),
            etag.clone(),
            u64::try_from(*size).map_err(io_error)?,
        ));
        checksums.push(checksum.clone());
    }

    // The object is made of the parts' blobs as they are (one part: its blob), not a copy.
    let parts: Vec<(&str, u64)> = chosen
        .iter()
        .map(|(blob, _, size)| (blob.as_str(), *size))
        .collect();
    let blob = match parts.as_slice() {
        [(only, _)] => (*only).to_owned(),
        _ => pieces::new_name(),
    };
    let size = parts.iter().map(|(_, size)| size).sum();
    // The object will name these files: each must be there, whole. A file gone: another
    // completion (its pieces now) or an abort (gone) ended the upload meanwhile, or the disk
    // lost it.
    if let Err(err) = check_files(store, &chosen).await {
        return ended_meanwhile(store, &input, err).await;
    }
    if let Some(algorithm) = &algorithm {
        let verdict =
            object_checksum(store, &input, &chosen, checksums, algorithm, &mut kept).await;
        if let Err(err) = verdict {
            return match err.code() {
                // A part file gone while read: another completion of this upload finished
                // first, or an abort did.
                s3s::S3ErrorCode::InternalError => ended_meanwhile(store, &input, err).await,
                _ => Err(err),
            };
        }
    }

    let mut digests = Md5::new();
    for (_, etag, _) in &chosen {
        digests.update(hex::decode(etag).map_err(io_error)?);
    }
    let etag = format!("{}-{}", hex::encode(digests.finalize()), chosen.len());
    let metadata = serde_json::from_str::<Metadata>(&upload.metadata)
        .ok()
        .filter(|m| !m.is_empty());
    let mut stored = kept;
    stored.parts = Some(chosen.iter().map(|(.., size)| *size).collect());
    let checksum = stored.checksum.as_ref().map(|_| stored.checksum_fields());
    let checksum_type = checksum.as_ref().map(|_| stored.checksum_type());
    let committed = commit(
        store,
        NewObject {
            bucket: &input.bucket,
            key: &input.key,
            blob,
            size,
            etag: etag.clone(),
            content_type: upload.content_type,
            metadata,
            stored,
            condition: WriteCondition {
                if_match: input.if_match.as_ref(),
                if_none_match: input.if_none_match.as_ref(),
            },
            completes: Some(Completion {
                upload: &input.upload_id,
                parts: &parts,
            }),
        },
    )
    .await;
    if let Err(err) = committed {
        // Another completion (or an abort) ended the upload first.
        return match err.code() {
            s3s::S3ErrorCode::NoSuchUpload => completed_before(store, &input).await?.ok_or(err),
            _ => Err(err),
        };
    }
    let mut output = CompleteMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        e_tag: Some(ETag::Strong(etag)),
        checksum_type,
        ..Default::default()
    };
    set_checksum!(output, checksum.unwrap_or_default());
    Ok(output)
}

/// The checksum of an object completed from an upload made with `algorithm`: of the whole
/// object (its parts read in order) or composite (of the parts' checksums; a part copied from
/// another object has its computed now). Kept in `kept` with the parts' checksums. This fails
/// if: the completion declares another value (`BadDigest`), or a part cannot be read
/// (`InternalError`).
async fn object_checksum(
    store: &EmbeddedStore,
    input: &CompleteMultipartUploadInput,
    chosen: &[(String, String, u64)],
    mut parts: Vec<Option<String>>,
    algorithm: &ChecksumAlgorithm,
    kept: &mut Stored,
) -> S3Result<()> {
    let algorithm = algorithm.as_str();
    for (chosen, part) in chosen.iter().zip(parts.iter_mut()) {
        if part.is_none() {
            *part = checksum_of_files(store, algorithm, std::slice::from_ref(chosen)).await?;
        }
    }
    let parts: Vec<String> = parts.into_iter().flatten().collect();
    let value = if kept.checksum_type.as_deref() == Some(ChecksumType::COMPOSITE) {
        stored::composite(algorithm, &parts)?
    } else {
        checksum_of_files(store, algorithm, chosen)
            .await?
            .ok_or_else(|| s3_error!(InternalError, "no checksum computed"))?
    };
    let declared = stored::value_of(&checksum_of!(input), algorithm);
    if declared.is_some_and(|declared| declared != value) {
        return Err(s3_error!(
            BadDigest,
            "The {algorithm} checksum you specified did not match what we computed."
        ));
    }
    kept.checksum = Some(StoredChecksum {
        algorithm: algorithm.to_owned(),
        value,
    });
    kept.part_checksums = Some(parts);
    Ok(())
}

/// Fails (`InternalError`, logged) unless every chosen part's blob is on disk with its size.
async fn check_files(store: &EmbeddedStore, chosen: &[(String, String, u64)]) -> S3Result<()> {
    let files: Vec<_> = chosen
        .iter()
        .map(|(blob, _, size)| (blob_path(&store.objects_dir, blob), *size))
        .collect();
    tokio::task::spawn_blocking(move || {
        for (path, size) in files {
            let found = std::fs::metadata(&path)?.len();
            if found != size {
                return Err(std::io::Error::other(format!(
                    "{} holds {found} bytes, not {size}",
                    path.display()
                )));
            }
        }
        Ok(())
    })
    .await
    .map_err(io_error)?
    .map_err(io_error)
}

/// The `algorithm` checksum of the parts' bytes, one after the other.
async fn checksum_of_files(
    store: &EmbeddedStore,
    algorithm: &str,
    parts: &[(String, String, u64)],
) -> S3Result<Option<String>> {
    let files: Vec<_> = parts
        .iter()
        .map(|(blob, _, size)| (blob_path(&store.objects_dir, blob), *size))
        .collect();
    let total = files.iter().map(|(_, size)| size).sum();
    let mut bytes = pieces::open(files, 0..total).await.map_err(io_error)?;
    let mut hasher = stored::hasher_for(algorithm);
    while let Some(chunk) = bytes.next().await {
        hasher.update(&chunk.map_err(io_error)?);
    }
    Ok(stored::value_of(&hasher.finalize(), algorithm))
}

/// How long a completed upload is remembered for a client retrying its completion.
const REMEMBER_COMPLETED_SECS: i64 = 24 * 3600;

/// The answer to a CompleteMultipartUpload of an upload already completed (a client retrying
/// after a lost answer): the same, while the object is still the one it made.
async fn completed_before(
    store: &EmbeddedStore,
    input: &CompleteMultipartUploadInput,
) -> S3Result<Option<CompleteMultipartUploadOutput>> {
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT c.etag, o.stored FROM multipart_completed c
         JOIN objects o ON o.bucket = c.bucket AND o.key = c.key AND o.etag = c.etag
         WHERE c.id = $1 AND c.bucket = $2 AND c.key = $3",
    )
    .bind(&input.upload_id)
    .bind(&input.bucket)
    .bind(&input.key)
    .fetch_optional(&store.pool)
    .await
    .map_err(db_error)?;
    Ok(found.map(|(etag, stored)| {
        let stored = Stored::read(&stored);
        let mut output = CompleteMultipartUploadOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            e_tag: Some(ETag::Strong(etag)),
            checksum_type: stored.checksum.as_ref().map(|_| stored.checksum_type()),
            ..Default::default()
        };
        set_checksum!(output, stored.checksum_fields());
        output
    }))
}

/// The answer when a completion could not read its parts: another completion finished first
/// (its answer), or an abort did (`NoSuchUpload`); else `err`, the read's failure.
async fn ended_meanwhile(
    store: &EmbeddedStore,
    input: &CompleteMultipartUploadInput,
    err: s3s::S3Error,
) -> S3Result<CompleteMultipartUploadOutput> {
    if let Some(answer) = completed_before(store, input).await? {
        return Ok(answer);
    }
    match upload(store, &input.upload_id, &input.bucket, &input.key).await {
        Ok(_) => Err(err),
        Err(gone) => Err(gone),
    }
}

/// Ends the upload `completion` names as completed by `object`, in the transaction that
/// commits that object: remembers it ([`completed_before`]), makes the parts the object is
/// made of its pieces, and returns the blobs of the parts it left out, for removal after the
/// commit. `NoSuchUpload`: the upload had already ended (completed or aborted meanwhile);
/// `InvalidPart`: a part was uploaded again meanwhile.
pub(super) async fn finish(
    tx: &mut domain::db::Tx,
    completion: Completion<'_>,
    object: &NewObject<'_>,
) -> S3Result<Vec<String>> {
    let id = completion.upload;
    let uploaded: Vec<String> =
        sqlx::query_scalar("SELECT blob FROM multipart_parts WHERE upload_id = $1")
            .bind(id)
            .fetch_all(&mut **tx)
            .await
            .map_err(db_error)?;
    let ended = sqlx::query("DELETE FROM multipart_uploads WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    if ended.rows_affected() == 0 {
        return Err(s3_error!(
            NoSuchUpload,
            "The specified upload does not exist."
        ));
    }
    let used: std::collections::HashSet<&str> =
        completion.parts.iter().map(|(part, _)| *part).collect();
    let uploaded_set: std::collections::HashSet<&str> =
        uploaded.iter().map(String::as_str).collect();
    if !used.is_subset(&uploaded_set) {
        return Err(s3_error!(
            InvalidPart,
            "A part was uploaded again while the upload was being completed."
        ));
    }
    if pieces::is_pieces(&object.blob) {
        pieces::keep(tx, &object.blob, completion.parts).await?;
    }
    let now = domain::now_unix();
    sqlx::query("DELETE FROM multipart_completed WHERE completed_at < $1")
        .bind(now - REMEMBER_COMPLETED_SECS)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    sqlx::query(
        "INSERT INTO multipart_completed (id, bucket, key, etag, completed_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(object.bucket)
    .bind(object.key)
    .bind(&object.etag)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
    Ok(uploaded
        .iter()
        .filter(|blob| !used.contains(blob.as_str()))
        .cloned()
        .collect())
}

/// Deletes an aborted upload's rows; returns its parts' blobs for removal. `NoSuchUpload` when
/// a completion (or another abort) ended it first.
async fn drop_upload(store: &EmbeddedStore, id: &str) -> S3Result<Vec<String>> {
    let mut tx = domain::db::write_tx(&store.pool).await.map_err(db_error)?;
    let blobs: Vec<String> =
        sqlx::query_scalar("SELECT blob FROM multipart_parts WHERE upload_id = $1")
            .bind(id)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
    let ended = sqlx::query("DELETE FROM multipart_uploads WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    if ended.rows_affected() == 0 {
        return Err(s3_error!(
            NoSuchUpload,
            "The specified upload does not exist."
        ));
    }
    tx.commit().await.map_err(db_error)?;
    Ok(blobs)
}

pub(super) async fn abort(store: &EmbeddedStore, input: AbortMultipartUploadInput) -> S3Result<()> {
    upload(store, &input.upload_id, &input.bucket, &input.key).await?;
    let blobs = drop_upload(store, &input.upload_id).await?;
    remove_blobs(&store.objects_dir, blobs).await;
    Ok(())
}

pub(super) async fn list_parts(
    store: &EmbeddedStore,
    input: ListPartsInput,
) -> S3Result<ListPartsOutput> {
    let upload = upload(store, &input.upload_id, &input.bucket, &input.key).await?;
    let kept = Stored::read(&upload.stored);
    let max = input.max_parts.unwrap_or(1000).clamp(0, 1000);
    let after = input.part_number_marker.unwrap_or(0);
    let rows: Vec<(i32, i64, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT part_number, size, etag, created_at, checksum FROM multipart_parts
         WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number LIMIT $3",
    )
    .bind(&input.upload_id)
    .bind(after)
    .bind(i64::from(max) + 1)
    .fetch_all(&store.pool)
    .await
    .map_err(db_error)?;
    let truncated = rows.len() > usize::try_from(max).unwrap_or(0);
    let parts: Vec<Part> = rows
        .into_iter()
        .take(usize::try_from(max).unwrap_or(0))
        .map(|(number, size, etag, at, checksum)| {
            let fields = match (&kept.checksum, checksum) {
                (Some(c), Some(value)) => stored::fields(&c.algorithm, value),
                _ => Checksum::default(),
            };
            let mut part = Part {
                part_number: Some(number),
                size: Some(size),
                e_tag: Some(ETag::Strong(etag)),
                last_modified: Some(timestamp(at)),
                ..Default::default()
            };
            set_checksum!(part, fields);
            part
        })
        .collect();
    let next = parts
        .last()
        .and_then(|p| p.part_number)
        .filter(|_| truncated);
    Ok(ListPartsOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(input.upload_id),
        max_parts: Some(max),
        is_truncated: Some(truncated),
        next_part_number_marker: next,
        part_number_marker: input.part_number_marker,
        parts: Some(parts),
        checksum_algorithm: kept.algorithm(),
        checksum_type: kept.checksum.as_ref().map(|_| kept.checksum_type()),
        ..Default::default()
    })
}

pub(super) async fn list_uploads(
    store: &EmbeddedStore,
    input: ListMultipartUploadsInput,
) -> S3Result<ListMultipartUploadsOutput> {
    store.require_bucket(&input.bucket).await?;
    let prefix = input.prefix.clone().unwrap_or_default();
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT key, id, created_at FROM multipart_uploads
         WHERE bucket = $1 AND substr(key, 1, length($2)) = $3 ORDER BY key, id LIMIT 1000",
    )
    .bind(&input.bucket)
    .bind(&prefix)
    .bind(&prefix)
    .fetch_all(&store.pool)
    .await
    .map_err(db_error)?;
    let uploads = rows
        .into_iter()
        .map(|(key, id, at)| MultipartUpload {
            key: Some(key),
            upload_id: Some(id),
            initiated: Some(timestamp(at)),
            ..Default::default()
        })
        .collect();
    Ok(ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: input.prefix,
        max_uploads: Some(1000),
        is_truncated: Some(false),
        uploads: Some(uploads),
        ..Default::default()
    })
}
