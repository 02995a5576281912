//! **Download all** of a folder page: its files as one zip ([`crate::zip`]), written while
//! they are read. The files are walked in key order a thousand at a time, each read and sent
//! through a channel of a few chunks, so memory holds one listing page, a few chunks and the
//! zip's central directory (a few dozen bytes per file) whatever the folder's size. A file
//! deleted while the zip is written is left out; a failure midway ends the answer early (the
//! recipient's download is then incomplete, never silently short).

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use domain::store::ObjectStore;
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// Files listed per step of the walk.
const WALK: usize = 1000;

/// Chunks waiting to be sent (each up to the store's read size).
const QUEUED: usize = 4;

/// The zip of every file of `bucket` under `prefix`, as its bytes come.
pub fn archive(
    store: Arc<dyn ObjectStore>,
    bucket: String,
    prefix: String,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let (tx, rx) = mpsc::channel(QUEUED);
    tokio::spawn(async move {
        match write(&*store, &bucket, &prefix, &tx).await {
            Ok(()) | Err(Stop::Gone) => {}
            Err(Stop::Failed(why)) => {
                tracing::warn!(bucket, prefix, error = %why, "a folder's zip stopped");
                let _ = tx.send(Err(std::io::Error::other(why))).await;
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

/// Why writing stopped early.
enum Stop {
    /// The recipient went away.
    Gone,
    /// Reading the store or writing the zip failed.
    Failed(String),
}

impl From<crate::zip::Error> for Stop {
    fn from(err: crate::zip::Error) -> Self {
        Stop::Failed(err.to_string())
    }
}

impl From<domain::Error> for Stop {
    fn from(err: domain::Error) -> Self {
        Stop::Failed(err.to_string())
    }
}

type Sender = mpsc::Sender<Result<Bytes, std::io::Error>>;

async fn send(tx: &Sender, bytes: Bytes) -> Result<(), Stop> {
    tx.send(Ok(bytes)).await.map_err(|_| Stop::Gone)
}

async fn write(
    store: &dyn ObjectStore,
    bucket: &str,
    prefix: &str,
    tx: &Sender,
) -> Result<(), Stop> {
    let mut zip = crate::zip::Writer::default();
    let mut names = HashSet::new();
    let mut after = String::new();
    loop {
        let files = store.walk(bucket, prefix, &after, WALK).await?;
        let Some(last) = files.last() else {
            break;
        };
        after = last.key.clone();
        let full = files.len() == WALK;
        for file in files {
            // A zero-byte key ending with `/` is a folder's marker: the folder is implied.
            if file.key.ends_with('/') && file.size == 0 {
                continue;
            }
            let Some(name) = crate::zip::entry_name(&file.key, prefix) else {
                continue;
            };
            let name = unique(&mut names, name);
            let Some(read) = store.read(bucket, &file.key, &|_| None).await? else {
                continue; // deleted since the listing
            };
            let size = u64::try_from(read.info.size).unwrap_or(0);
            send(tx, zip.begin(&name, size, read.info.last_modified)?).await?;
            let mut body = read.body;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| Stop::Failed(format!("{}: {e}", file.key)))?;
                zip.data(&chunk)?;
                send(tx, chunk).await?;
            }
            send(tx, zip.end()?).await?;
        }
        if !full {
            break;
        }
    }
    send(tx, zip.finish()?).await
}

/// `name`, or if an earlier entry took it (two keys may neutralise to one name), `name` with
/// ` (2)`, ` (3)`… before its extension.
fn unique(taken: &mut HashSet<String>, name: String) -> String {
    if taken.insert(name.clone()) {
        return name;
    }
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > name.rfind('/').map_or(0, |s| s + 1) => name.split_at(dot),
        _ => (name.as_str(), ""),
    };
    let mut n = 2;
    loop {
        let candidate = format!("{stem} ({n}){ext}");
        if taken.insert(candidate.clone()) {
            return candidate;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_taken_twice_get_a_number() {
        let mut taken = HashSet::new();
        assert_eq!(unique(&mut taken, "a/b.txt".into()), "a/b.txt");
        assert_eq!(unique(&mut taken, "a/b.txt".into()), "a/b (2).txt");
        assert_eq!(unique(&mut taken, "a/b.txt".into()), "a/b (3).txt");
        assert_eq!(unique(&mut taken, "x.d/file".into()), "x.d/file");
        assert_eq!(unique(&mut taken, "x.d/file".into()), "x.d/file (2)");
        assert_eq!(unique(&mut taken, ".hidden".into()), ".hidden");
        assert_eq!(unique(&mut taken, ".hidden".into()), ".hidden (2)");
    }
}
