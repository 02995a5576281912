//! Where an object's bytes are, and reading them. Most objects are one blob. An object
//! completed from a multipart upload of several parts keeps the parts' blobs, in order, as its
//! pieces (`object_pieces`): completing costs rows, not a second write of the bytes. Its row's
//! `blob` is then a name of the pieces ([`is_pieces`]), which has no file of its own.
//!
//! [`open`] reads a range of either kind, opening the first files the range touches before the
//! first byte is sent ([`OPEN_AHEAD`]): an overwrite or a delete that removes them meanwhile
//! cannot cut those short. [`release`], in the transaction that drops or replaces an object's row, turns a name
//! of pieces into the pieces' blobs, for removal after the commit.

use std::ops::Range;
use std::path::PathBuf;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
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

/// Records `blobs` (with their sizes), in order, as the pieces of `name`: in one statement
/// (an upload may have 10,000 parts, and the transaction holds the write lock).
pub(super) async fn keep(
    tx: &mut domain::db::Tx,
    name: &str,
    blobs: &[(&str, u64)],
) -> S3Result<()> {
    let rows: Vec<(&str, u64)> = blobs.to_vec();
    let elements = match tx.backend() {
        domain::db::Backend::Sqlite => {
            "SELECT e.value ->> 0 AS blob, e.key + 1 AS number, e.value ->> 1 AS size
             FROM json_each($2) AS e"
        }
        domain::db::Backend::Postgres => {
            "SELECT e.value ->> 0 AS blob, e.n AS number, CAST(e.value ->> 1 AS BIGINT) AS size
             FROM jsonb_array_elements(CAST($2 AS jsonb)) WITH ORDINALITY AS e(value, n)"
        }
    };
    sqlx::query(&format!(
        "INSERT INTO object_pieces (blob, object, number, size)
         SELECT p.blob, $1, p.number, p.size FROM ({elements}) AS p"
    ))
    .bind(name)
    .bind(serde_json::to_string(&rows).map_err(db_error)?)
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
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

/// How many of a range's files are opened before its first byte is sent. An overwrite or
/// delete racing a download removes the files it replaced: those already open are read whole;
/// a later one found gone ends the body short (the client sees fewer bytes than announced, and
/// retries). Opening every file would hold one descriptor per part (up to 10,000) for the
/// length of a download.
const OPEN_AHEAD: usize = 16;

/// An object's bytes, as they are read.
pub(super) type Body =
    std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send + Sync + 'static>>;

/// A file of a range: opened, or to open when the body reaches it.
enum Piece {
    Open(std::fs::File, u64),
    Later(PathBuf, u64, u64),
}

/// The bytes `range` of the concatenation of `files`, as a body. The first [`OPEN_AHEAD`]
/// files the range touches are opened (and the first one positioned) before this returns, in
/// one blocking task; the others as the body reaches them.
pub(super) async fn open(files: Vec<(PathBuf, u64)>, range: Range<u64>) -> std::io::Result<Body> {
    // Each file the range touches: its path, where in it the range starts, how much it gives.
    let mut touched = Vec::new();
    let mut start = 0;
    for (path, size) in files {
        let end = start + size;
        if end > range.start && start < range.end {
            let from = range.start.max(start) - start;
            touched.push((path, from, range.end.min(end) - start - from));
        }
        start = end;
    }
    let pieces = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<Piece>> {
        touched
            .into_iter()
            .enumerate()
            .map(|(i, (path, from, length))| {
                if i >= OPEN_AHEAD {
                    return Ok(Piece::Later(path, from, length));
                }
                Ok(Piece::Open(open_at(&path, from)?, length))
            })
            .collect()
    })
    .await
    .map_err(std::io::Error::other)??;
    let body = futures_util::stream::iter(pieces)
        .then(|piece| async move {
            let (file, length) = match piece {
                Piece::Open(file, length) => (file, length),
                Piece::Later(path, from, length) => {
                    let file = tokio::task::spawn_blocking(move || open_at(&path, from))
                        .await
                        .map_err(std::io::Error::other)??;
                    (file, length)
                }
            };
            let part = tokio::io::AsyncReadExt::take(tokio::fs::File::from_std(file), length);
            Ok::<_, std::io::Error>(ReaderStream::with_capacity(part, READ_CHUNK))
        })
        .try_flatten();
    Ok(Box::pin(body))
}

/// The file at `path`, positioned at `from`.
pub(super) fn open_at(path: &std::path::Path, from: u64) -> std::io::Result<std::fs::File> {
    use std::io::Seek as _;
    let mut file = std::fs::File::open(path)?;
    if from > 0 {
        file.seek(std::io::SeekFrom::Start(from))?;
    }
    Ok(file)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn read_all(body: Body) -> (Vec<u8>, Option<std::io::Error>) {
        let mut body = body;
        let mut got = Vec::new();
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(bytes) => got.extend_from_slice(&bytes),
                Err(err) => return (got, Some(err)),
            }
        }
        (got, None)
    }

    /// Files of 1, 2, … `count` bytes, each byte its file's number, and their concatenation.
    fn files(dir: &std::path::Path, count: u8) -> (Vec<(PathBuf, u64)>, Vec<u8>) {
        let mut files = Vec::new();
        let mut whole = Vec::new();
        for n in 1..=count {
            let bytes = vec![n; usize::from(n)];
            let path = dir.join(format!("f{n}"));
            std::fs::write(&path, &bytes).unwrap();
            files.push((path, u64::from(n)));
            whole.extend_from_slice(&bytes);
        }
        (files, whole)
    }

    /// Every range, over more files than are opened ahead: the bytes of the concatenation.
    #[tokio::test]
    async fn a_range_reads_across_the_files_it_touches() {
        let dir = tempfile::tempdir().unwrap();
        let (files, whole) = files(dir.path(), 24);
        let total = whole.len() as u64;
        for start in (0..=total).step_by(7) {
            for end in [start, start + 1, start + 20, total]
                .into_iter()
                .filter(|e| *e <= total)
            {
                let body = open(files.clone(), start..end).await.unwrap();
                let (got, err) = read_all(body).await;
                assert!(err.is_none(), "{start}..{end}");
                assert_eq!(got, whole[start as usize..end as usize], "{start}..{end}");
            }
        }
    }

    /// Files removed once a body is made: those opened ahead are read whole; one opened later
    /// ends the body with an error, short of its length (never other bytes).
    #[tokio::test]
    async fn files_removed_while_read_cut_the_body_short_past_those_opened_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let (files, whole) = files(dir.path(), 24);
        let total = whole.len() as u64;
        let body = open(files.clone(), 0..total).await.unwrap();
        std::fs::remove_file(&files[0].0).unwrap();
        std::fs::remove_file(&files[OPEN_AHEAD - 1].0).unwrap();
        std::fs::remove_file(&files[OPEN_AHEAD + 2].0).unwrap();
        let (got, err) = read_all(body).await;
        let ahead: usize = (1..=OPEN_AHEAD + 2).sum();
        assert_eq!(got, whole[..ahead]);
        assert_eq!(err.unwrap().kind(), std::io::ErrorKind::NotFound);
        // A file of the first ones gone before the body is made: no body.
        let gone = open(files, 0..total).await.err().unwrap();
        assert_eq!(gone.kind(), std::io::ErrorKind::NotFound);
    }
}
