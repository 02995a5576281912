//! Where an object's bytes are, and reading them. Most objects are one blob. An object
//! completed from a multipart upload of several parts keeps the parts' blobs, in order, as its
//! pieces (`object_pieces`): completing costs rows, not a second write of the bytes. Its row's
//! `blob` is then a name of the pieces ([`is_pieces`]), which has no file of its own.
//!
//! [`open`] reads a range of either kind, opening every file the range touches before the first
//! byte is sent: an overwrite or a delete that removes them meanwhile cannot cut the answer
//! short. [`release`], in the transaction that drops or replaces an object's row, turns a name
//! of pieces into the pieces' blobs, for removal after the commit.

use std::ops::Range;
use std::path::PathBuf;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use s3s::S3Result;
use tokio_util::io::ReaderStream;

use super::EmbeddedStore;
use super::files::{READ_CHUNK, new_blob_name};
use crate::store::answers::db_error;
use crate::store::blob_path;

/// How the name of an object's pieces ends; blob names are hex.
const SUFFIX: &str = ".parts";

/// Whether an object's `blob` names pieces rather than one blob.
pub(super) fn is_pieces(name: &str) -> bool {
    name.ends_with(SUFFIX)
}

/// A new name for an object's pieces.
pub(super) fn new_name() -> String {
    format!("{}{SUFFIX}", new_blob_name())
}

/// Records `blobs` (with their sizes), in order, as the pieces of `name`.
pub(super) async fn keep(
    tx: &mut domain::db::Tx,
    name: &str,
    blobs: &[(&str, u64)],
) -> S3Result<()> {
    for (number, (blob, size)) in (1_i64..).zip(blobs) {
        sqlx::query(
            "INSERT INTO object_pieces (blob, object, number, size) VALUES ($1, $2, $3, $4)",
        )
        .bind(blob)
        .bind(name)
        .bind(number)
        .bind(i64::try_from(*size).map_err(db_error)?)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

/// The blobs to remove once the transaction that dropped (or replaced) rows naming `names`
/// commits: each name of pieces becomes its pieces' blobs, whose rows go in `tx`.
pub(super) async fn release(
    tx: &mut domain::db::Tx,
    names: impl IntoIterator<Item = String>,
) -> S3Result<Vec<String>> {
    let mut blobs = Vec::new();
    for name in names {
        if is_pieces(&name) {
            let pieces: Vec<String> =
                sqlx::query_scalar("DELETE FROM object_pieces WHERE object = $1 RETURNING blob")
                    .bind(&name)
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(db_error)?;
            blobs.extend(pieces);
        } else {
            blobs.push(name);
        }
    }
    Ok(blobs)
}

/// The files of the object whose row names `blob` and `size`, in order, with their sizes.
/// `NotFound` when its pieces are gone: the object was replaced or deleted since its row was
/// read.
pub(super) async fn files(
    store: &EmbeddedStore,
    blob: &str,
    size: i64,
) -> std::io::Result<Vec<(PathBuf, u64)>> {
    let size = u64::try_from(size).map_err(std::io::Error::other)?;
    if !is_pieces(blob) {
        return Ok(vec![(blob_path(&store.objects_dir, blob), size)]);
    }
    let pieces: Vec<(String, i64)> =
        sqlx::query_as("SELECT blob, size FROM object_pieces WHERE object = $1 ORDER BY number")
            .bind(blob)
            .fetch_all(&store.pool)
            .await
            .map_err(std::io::Error::other)?;
    let files: Vec<(PathBuf, u64)> = pieces
        .into_iter()
        .map(|(blob, size)| {
            (
                blob_path(&store.objects_dir, &blob),
                u64::try_from(size).unwrap_or(0),
            )
        })
        .collect();
    if files.is_empty() || files.iter().map(|(_, size)| size).sum::<u64>() != size {
        return Err(std::io::ErrorKind::NotFound.into());
    }
    Ok(files)
}

/// The bytes `range` of the concatenation of `files`, as a body. Every file the range touches
/// is opened (and the first one positioned) before this returns, in one blocking task.
pub(super) async fn open(
    files: Vec<(PathBuf, u64)>,
    range: Range<u64>,
) -> std::io::Result<impl Stream<Item = std::io::Result<Bytes>> + Send + Sync + 'static> {
    let opened = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<_>> {
        use std::io::Seek as _;
        let mut opened = Vec::new();
        let mut start = 0;
        for (path, size) in files {
            let end = start + size;
            if end > range.start && start < range.end {
                let from = range.start.max(start) - start;
                let to = range.end.min(end) - start;
                let mut file = std::fs::File::open(&path)?;
                if from > 0 {
                    file.seek(std::io::SeekFrom::Start(from))?;
                }
                opened.push((file, to - from));
            }
            start = end;
        }
        Ok(opened)
    })
    .await
    .map_err(std::io::Error::other)??;
    Ok(
        futures_util::stream::iter(opened).flat_map(|(file, length)| {
            let part = tokio::io::AsyncReadExt::take(tokio::fs::File::from_std(file), length);
            ReaderStream::with_capacity(part, READ_CHUNK)
        }),
    )
}
