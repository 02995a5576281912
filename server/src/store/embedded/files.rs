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

/// A new blob's name: random, never derived from an object's key.
pub(super) fn new_blob_name() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

/// How much of a blob a GET reads at a time: fewer, larger chunks cost less per byte on the way
/// out (64 KiB chunks held a 64 MiB download to 0.66× nginx's rate).
pub const READ_CHUNK: usize = 512 * 1024;

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

/// This process's scratch directory for uploads being received: `objects/tmp/<id>/`, owned
/// through an exclusive lock on `objects/tmp/<id>.lock` held for as long as the process lives
/// (the kernel releases it when the process dies, `kill -9` included). Several instances may
/// share a data dir: the start-up sweep removes only the scratch directories whose lock it can
/// take, i.e. those of processes that are gone.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
    _lock: std::fs::File,
}

impl Scratch {
    pub fn create(objects_dir: &Path) -> std::io::Result<Scratch> {
        use rand::Rng;
        let tmp = objects_dir.join("tmp");
        std::fs::create_dir_all(&tmp)?;
        let id: String = format!("{:032x}", rand::rng().random::<u128>());
        // Locked under a name the sweep ignores, then renamed into place: the sweep never sees
        // this lock file unlocked.
        let locking = tmp.join(format!("{id}.locking"));
        let lock = std::fs::File::create(&locking)?;
        lock.try_lock().map_err(std::io::Error::other)?;
        std::fs::rename(&locking, tmp.join(format!("{id}.lock")))?;
        let dir = tmp.join(&id);
        std::fs::create_dir(&dir)?;
        Ok(Scratch { dir, _lock: lock })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Removes the scratch directories of processes that are gone (their lock can be taken), and
/// files left directly in `tmp/` by versions before scratch directories. Returns how many files
/// went.
pub fn sweep_scratch(objects_dir: &Path) -> std::io::Result<usize> {
    let tmp = objects_dir.join("tmp");
    let Ok(entries) = std::fs::read_dir(&tmp) else {
        return Ok(0);
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(id) = name.strip_suffix(".lock") {
            let lock = match std::fs::OpenOptions::new().write(true).open(&path) {
                Ok(lock) => lock,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            if lock.try_lock().is_ok() {
                let dir = tmp.join(id);
                removed += count_files(&dir);
                remove_all_if_there(&dir)?;
                remove_if_there(&path)?;
            }
        } else if path.is_file() && !name.ends_with(".locking") {
            remove_if_there(&path)?;
            removed += 1;
        }
    }
    // Scratch directories whose lock file is gone (a sweep interrupted between the two).
    for entry in std::fs::read_dir(&tmp)? {
        let path = entry?.path();
        if path.is_dir() && !path.with_extension("lock").exists() {
            removed += count_files(&path);
            remove_all_if_there(&path)?;
        }
    }
    Ok(removed)
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|e| e.count()).unwrap_or(0)
}

fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

fn remove_all_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}
