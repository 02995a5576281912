//! The embedded store's files: each object's bytes live in one file under
//! `<data-dir>/objects/blobs/`, named by a random id (never by the object key), sharded by the
//! id's first two characters. Which blob holds which object is recorded in SQLite (`objects`).

use std::path::{Path, PathBuf};

/// The directory of the embedded store inside the data dir.
pub fn objects_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("objects")
}

/// Where the blob `name` lives.
pub fn blob_path(objects_dir: &Path, name: &str) -> PathBuf {
    let shard = name.get(..2).unwrap_or("__");
    objects_dir.join("blobs").join(shard).join(name)
}

/// Removes blobs whose rows are already gone. A blob that cannot be removed is logged and
/// left for the orphan sweep at the next start.
pub async fn remove_blobs(objects_dir: &Path, blobs: Vec<String>) {
    for blob in blobs {
        let path = blob_path(objects_dir, &blob);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => tracing::warn!(path = %path.display(), error = %err, "cannot remove blob"),
        }
    }
}
