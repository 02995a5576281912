//! **Download all** of a folder page: its files as one zip ([`crate::zip`]), written while
//! they are read. The files are walked in key order a thousand at a time, each read and sent
//! through a channel of two chunks, so memory holds one listing page, a few chunks and the
//! zip's central directory (a few dozen bytes per file) whatever the folder's size. A file
//! deleted while the zip is written is left out; a failure midway ends the answer early (the
//! recipient's download is then incomplete, never silently short). The page is checked again
//! between files (at most every [`RECHECK`]): a zip under way stops when the page does
//! (revoked, expired, its user's rights gone), and takes no file added after that.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use domain::store::ObjectStore;
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// Files listed per step of the walk.
const WALK: usize = 1000;

/// Chunks waiting to be sent (each up to the store's read size).
const QUEUED: usize = 2;

/// How often, at most, a zip under way checks that its page still works (between files).
const RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// A zip to write: every file of `bucket` under `prefix`, for page `link`.
pub struct Job {
    pub store: Arc<dyn ObjectStore>,
    pub pool: domain::db::Pool,
    pub link: String,
    pub bucket: String,
    pub prefix: String,
    /// Its place among the zips written at once, given back when it ends.
    pub permit: tokio::sync::OwnedSemaphorePermit,
}

/// The zip of `job`, as its bytes come.
pub fn archive(job: Job) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let (tx, rx) = mpsc::channel(QUEUED);
    tokio::spawn(async move {
        match write(&job, &tx).await {
            Ok(()) | Err(Stop::Gone) => {}
            Err(Stop::Failed(why)) => {
                let (bucket, prefix) = (&job.bucket, &job.prefix);
                tracing::warn!(bucket, prefix, error = %why, "a folder's zip stopped");
                let _ = tx.send(Err(std::io::Error::other(why))).await;
            }
        }
        drop(job.permit);
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

async fn write(job: &Job, tx: &Sender) -> Result<(), Stop> {
    let (store, bucket, prefix) = (&*job.store, job.bucket.as_str(), job.prefix.as_str());
    let mut zip = crate::zip::Writer::default();
    let mut names = Names::default();
    let mut after = String::new();
    let mut checked = std::time::Instant::now();
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
            if checked.elapsed() >= RECHECK {
                still_works(&job.pool, &job.link).await?;
                checked = std::time::Instant::now();
            }
            let name = names.unique(&name);
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

/// Fails when page `link` stopped working (its state now is not active).
async fn still_works(pool: &domain::db::Pool, link: &str) -> Result<(), Stop> {
    let state = domain::links::get(pool, link).await?.state;
    if state == domain::links::LinkState::Active {
        Ok(())
    } else {
        Err(Stop::Failed(format!("its page stopped working: {state}")))
    }
}

/// The names given so far in an archive: its files, and the folders their paths make.
#[derive(Default)]
struct Names {
    files: HashSet<String>,
    folders: HashSet<String>,
}

impl Names {
    /// `name`, changed where an earlier entry took it: a folder in its path that is a file
    /// already, or the whole name that is a file or folder already, gets ` (2)`, ` (3)`… (two
    /// keys may neutralise to one name; `a` and `a/b` are both keys). Unpackers then make every
    /// entry.
    fn unique(&mut self, name: &str) -> String {
        let mut segments: Vec<String> = name.split('/').map(str::to_owned).collect();
        let last = segments.len() - 1;
        let mut path = String::new();
        for (i, segment) in segments.iter_mut().enumerate() {
            let base = path.clone();
            let taken = |candidate: &str, files: &HashSet<String>, folders: &HashSet<String>| {
                let full = format!("{base}{candidate}");
                if i == last {
                    files.contains(&full) || folders.contains(&full)
                } else {
                    files.contains(&full)
                }
            };
            if taken(segment, &self.files, &self.folders) {
                let (stem, ext) = match segment.rfind('.') {
                    Some(dot) if i == last && dot > 0 => segment.split_at(dot),
                    _ => (segment.as_str(), ""),
                };
                let (stem, ext) = (stem.to_owned(), ext.to_owned());
                let mut n = 2;
                while taken(&format!("{stem} ({n}){ext}"), &self.files, &self.folders) {
                    n += 1;
                }
                *segment = format!("{stem} ({n}){ext}");
            }
            path.push_str(segment);
            if i < last {
                self.folders.insert(path.clone());
                path.push('/');
            }
        }
        self.files.insert(path.clone());
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_taken_twice_get_a_number_and_files_never_shadow_folders() {
        let mut names = Names::default();
        let mut add = |name: &str| names.unique(name);
        assert_eq!(add("a/b.txt"), "a/b.txt");
        assert_eq!(add("a/b.txt"), "a/b (2).txt");
        assert_eq!(add("a/b.txt"), "a/b (3).txt");
        assert_eq!(add("x.d/file"), "x.d/file");
        assert_eq!(add("x.d/file"), "x.d/file (2)");
        assert_eq!(add(".hidden"), ".hidden");
        assert_eq!(add(".hidden"), ".hidden (2)");
        // A file, then a key under it as a folder: the folder takes another name.
        assert_eq!(add("col/a"), "col/a");
        assert_eq!(add("col/a/b"), "col/a (2)/b");
        assert_eq!(add("col/a/c"), "col/a (2)/c");
        // A folder, then a file of its name (`dir/../x` is `_/x`, then `dir/_`).
        assert_eq!(add("_/x"), "_/x");
        assert_eq!(add("_"), "_ (2)");
    }
}
