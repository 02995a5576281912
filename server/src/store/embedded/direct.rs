//! A GET's object row read beside its bytes, on SQLite, from a connection of the thread's own
//! (rusqlite, on the same file and the same WAL as the pool). Through the pool, the row was a
//! hop to sqlx's worker thread and the bytes another to the blocking pool; on a 4 KiB
//! share-link GET those thread switches were most of the time.
//!
//! On the async worker itself, without waiting ([`DirectRows::find`]): SQLite's answer if it
//! is not busy, and a small object's bytes only if they are all in the page cache
//! (`RWF_NOWAIT`); bytes that are not are read after, in one blocking task, as a larger
//! object's stream. Only while SQLite is busy does the row wait, on a blocking thread
//! ([`DirectRows::row_waiting`]), as the pool's connections do. What stays on the worker is an
//! indexed lookup in a database whose pages are read often, and a file's open. PostgreSQL
//! reads the row through the pool as before.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use domain::db::{Backend, Pool};

use super::objects::ObjectRow;
use crate::store::blob_path;

/// The SQLite file GETs read object rows from directly.
#[derive(Debug, Clone)]
pub(super) struct DirectRows {
    db: Arc<PathBuf>,
}

thread_local! {
    /// This thread's connection, and the file it is open on.
    static CONNECTION: RefCell<Option<(Arc<PathBuf>, rusqlite::Connection)>> =
        const { RefCell::new(None) };
}

impl DirectRows {
    /// The pool's SQLite file; `None` on PostgreSQL or a URL that names no file.
    pub(super) fn of(pool: &Pool) -> Option<DirectRows> {
        let options = pool.connect_options();
        let url = options.database_url.as_str();
        if Backend::of_url(url) != Backend::Sqlite {
            return None;
        }
        let path = url.strip_prefix("sqlite://")?.split('?').next()?;
        let path = percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .ok()?;
        Some(DirectRows {
            db: Arc::new(PathBuf::from(path.as_ref())),
        })
    }

    /// On the async worker, waiting for nothing: the row of `bucket`/`key` (`None` if there is
    /// none), with its bytes if it has at most `small` of them and they are all in the page
    /// cache (read from the blob under `objects_dir`). An error while SQLite is busy.
    pub(super) fn find(
        &self,
        objects_dir: &std::path::Path,
        bucket: &str,
        key: &str,
        small: u64,
    ) -> rusqlite::Result<Option<(ObjectRow, Option<Bytes>)>> {
        let Some(row) = self.row(bucket, key, Wait::No)? else {
            return Ok(None);
        };
        let bytes = u64::try_from(row.size)
            .ok()
            .filter(|size| *size <= small)
            .and_then(|size| read_cached(&blob_path(objects_dir, &row.blob), size));
        Ok(Some((row, bytes)))
    }

    /// On a blocking thread: the row of `bucket`/`key`, waiting while SQLite is busy as long
    /// as the pool's connections do.
    pub(super) fn row_waiting(
        &self,
        bucket: &str,
        key: &str,
    ) -> rusqlite::Result<Option<ObjectRow>> {
        self.row(bucket, key, Wait::AsThePool)
    }

    fn row(&self, bucket: &str, key: &str, wait: Wait) -> rusqlite::Result<Option<ObjectRow>> {
        CONNECTION.with(|cell| {
            let mut held = cell.borrow_mut();
            // Equal `Arc`s of a value that is `Eq` compare their pointers first.
            if held.as_ref().is_none_or(|(db, _)| *db != self.db) {
                *held = Some((self.db.clone(), open(&self.db)?));
            }
            let Some((_, connection)) = held.as_ref() else {
                return Ok(None);
            };
            connection.busy_timeout(match wait {
                Wait::No => std::time::Duration::ZERO,
                Wait::AsThePool => BUSY_TIMEOUT,
            })?;
            let mut statement = connection.prepare_cached(
                "SELECT blob, size, etag, content_type, metadata, last_modified, stored
                 FROM objects WHERE bucket = ?1 AND key = ?2",
            )?;
            let mut rows = statement.query((bucket, key))?;
            let Some(found) = rows.next()? else {
                return Ok(None);
            };
            Ok(Some(ObjectRow {
                blob: found.get(0)?,
                size: found.get(1)?,
                etag: found.get(2)?,
                content_type: found.get(3)?,
                metadata: found.get(4)?,
                last_modified: found.get(5)?,
                stored: found.get(6)?,
            }))
        })
    }
}

/// Whether a row's read may wait while SQLite is busy.
#[derive(Debug, Clone, Copy)]
enum Wait {
    /// On the async worker: busy is an error (a blocking thread asks again).
    No,
    /// On a blocking thread: as long as the pool's connections wait.
    AsThePool,
}

/// The pool's busy timeout (`server/src/db.rs`).
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A connection that only reads, with a small page cache (there is one per thread that reads).
fn open(db: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let connection = rusqlite::Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.execute_batch("PRAGMA cache_size = -512; PRAGMA query_only = ON;")?;
    Ok(connection)
}

/// The file's first `size` bytes if they are all in the page cache (`preadv2` with
/// `RWF_NOWAIT`, Linux 4.14 and later); `None` if reading them would wait for the disk, the
/// file is gone or shorter, or this is not Linux.
#[cfg(target_os = "linux")]
fn read_cached(path: &std::path::Path, size: u64) -> Option<Bytes> {
    let file = std::fs::File::open(path).ok()?;
    let mut buf = vec![0; usize::try_from(size).ok()?];
    let mut done = 0;
    while done < buf.len() {
        let read = rustix::io::preadv2(
            &file,
            &mut [std::io::IoSliceMut::new(&mut buf[done..])],
            done as u64,
            rustix::io::ReadWriteFlags::NOWAIT,
        )
        .ok()?;
        if read == 0 {
            return None;
        }
        done += read;
    }
    Some(Bytes::from(buf))
}

#[cfg(not(target_os = "linux"))]
fn read_cached(_: &std::path::Path, _: u64) -> Option<Bytes> {
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The file is the pool's, in a data dir whose path the URL had to encode; a row written
    /// through the pool is read at once; a small object's bytes come with it when its file is
    /// there and holds them, a larger one's do not, and a row changed through the pool is seen
    /// by the same thread's connection (it holds no snapshot).
    #[tokio::test]
    async fn rows_written_through_the_pool_are_read_directly_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a b?#%é");
        std::fs::create_dir_all(data.join("blobs/ab")).unwrap();
        let pool = crate::db::open(crate::db::Location::File(&data.join("t.db")))
            .await
            .unwrap();
        let direct = DirectRows::of(&pool).unwrap();
        assert_eq!(*direct.db, std::path::absolute(data.join("t.db")).unwrap());
        sqlx::query("INSERT INTO buckets (name, created_at) VALUES ('b', 0)")
            .execute(&pool)
            .await
            .unwrap();
        let find = |key: &str, small: u64| {
            let (row, bytes) = direct.find(&data, "b", key, small).unwrap()?;
            Some((row.size, bytes))
        };
        assert_eq!(find("k", 1024), None);
        for (key, blob, size) in [("k", "ab01", 5), ("gone", "ab02", 3)] {
            sqlx::query(
                "INSERT INTO objects (bucket, key, blob, size, etag, last_modified)
                 VALUES ('b', $1, $2, $3, 'e', 0)",
            )
            .bind(key)
            .bind(blob)
            .bind(size)
            .execute(&pool)
            .await
            .unwrap();
        }
        std::fs::write(blob_path(&data, "ab01"), b"hello").unwrap();
        // A file just written is in the page cache.
        assert_eq!(find("k", 1024), Some((5, Some(Bytes::from("hello")))));
        assert_eq!(find("k", 4), Some((5, None)), "larger than the small read");
        assert_eq!(find("gone", 1024), Some((3, None)), "its file is gone");
        assert_eq!(find("none", 1024), None);
        let waited = {
            let direct = direct.clone();
            tokio::task::spawn_blocking(move || direct.row_waiting("b", "k"))
        };
        assert_eq!(waited.await.unwrap().unwrap().unwrap().blob, "ab01");
        sqlx::query("UPDATE objects SET size = 6 WHERE key = 'k'")
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(
            find("k", 1024),
            Some((6, None)),
            "the file is shorter than its row"
        );
    }
}
