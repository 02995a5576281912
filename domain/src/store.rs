//! What the console and the admin CLI ask of the object store, whichever holds the objects:
//! the server implements [`ObjectStore`] for the embedded store and for an upstream S3 store.
//! (S3 clients reach the stores through the S3 endpoint instead, which speaks the protocol.)

use crate::Result;
use crate::audit::Origin;
use crate::buckets::Bucket;
use crate::db::Pool;
pub use model::{Listing, ObjectInfo, ObjectRow};

/// The object store as the console and the admin CLI use it. Failures are
/// [`crate::Error::NotFound`] (no such bucket), [`crate::Error::Invalid`] (a key S3 would
/// refuse) or [`crate::Error::Store`] (the store failed or could not be reached; the message
/// says which).
#[async_trait::async_trait]
pub trait ObjectStore: Parts + Send + Sync {
    /// Creates `name` in the store and in the database (with the `owner` grant, if any).
    async fn create_bucket(
        &self,
        pool: &Pool,
        name: &str,
        owner: Option<&str>,
        by: &Origin,
    ) -> Result<Bucket>;

    /// Deletes `name` from the store and the database; unless `with_contents`, only if it
    /// holds no objects. Returns how many objects went with it, when the store knows.
    async fn delete_bucket(
        &self,
        pool: &Pool,
        name: &str,
        with_contents: bool,
        by: &Origin,
    ) -> Result<Option<usize>>;

    /// Whether the store answers (`/readyz`); the error says what is wrong.
    async fn ready(&self) -> Result<()>;

    /// Whether bucketshare's database counts this store's objects and bytes (the embedded
    /// store's index does; an upstream store keeps its own counts, which S3 does not expose).
    fn counts_objects(&self) -> bool {
        true
    }

    /// One page of `bucket` under `prefix`, folded at `/`, starting after `after`.
    async fn list(&self, bucket: &str, prefix: &str, after: &str, limit: usize) -> Result<Listing>;

    /// Up to `limit` objects of `bucket` whose keys start with `prefix`, in key order, after
    /// `after`, at any depth (not folded): what a folder's zip holds.
    async fn walk(
        &self,
        bucket: &str,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<ObjectRow>>;

    /// Deletes one object; deleting a missing one succeeds, as in S3.
    async fn delete_object(&self, bucket: &str, key: &str) -> Result<()>;

    /// One object's details (`None` when there is no such object or bucket).
    async fn object(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>>;

    /// Reads one object: whole, or the part `range` picks once the object's size is known
    /// (a range it cannot satisfy picks `None`: the whole object). `None` when there is no
    /// such object or bucket.
    async fn read(
        &self,
        bucket: &str,
        key: &str,
        range: &(dyn Fn(u64) -> Option<std::ops::Range<u64>> + Send + Sync),
    ) -> Result<Option<ObjectRead>>;

    /// Stores `body` as `bucket`/`key`, replacing what was there; returns its size.
    async fn upload(
        &self,
        bucket: &str,
        key: &str,
        content_type: Option<String>,
        body: UploadBody<'_>,
    ) -> Result<u64>;
}

/// Files sent by bucketshare itself (an upload page's): new objects that never replace one,
/// and uploads sent in parts, written as the user the page acts as.
#[async_trait::async_trait]
pub trait Parts: Send + Sync {
    /// Stores `body`, `size` bytes, as a new object `at`, written as `at.user`: refused with
    /// [`crate::Error::AlreadyExists`] if an object is there.
    async fn upload_new(
        &self,
        at: Target<'_>,
        content_type: Option<String>,
        size: u64,
        body: UploadBody<'static>,
    ) -> Result<()>;

    /// Starts an upload sent in parts of the object `at`; the store's id for it.
    async fn start_parts(&self, at: Target<'_>, content_type: Option<String>) -> Result<String>;

    /// Stores part `number` (1 to 10,000) of upload `id`: `size` bytes from `body` (an earlier
    /// copy of that part is replaced). Its ETag.
    async fn put_part(
        &self,
        at: Target<'_>,
        id: &str,
        number: i32,
        size: u64,
        body: UploadBody<'static>,
    ) -> Result<String>;

    /// The parts of upload `id` stored so far, by number.
    async fn parts(&self, at: Target<'_>, id: &str) -> Result<Vec<Part>>;

    /// Joins `parts` into the object, unless an object is there
    /// ([`crate::Error::AlreadyExists`]; the upload stays, to be given up).
    async fn finish_parts(&self, at: Target<'_>, id: &str, parts: &[Part]) -> Result<()>;

    /// Gives upload `id` up, its parts removed; one already gone is no error.
    async fn abort_parts(&self, at: Target<'_>, id: &str) -> Result<()>;
}

/// Where a file sent by bucketshare itself goes, and the user it is written as.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub user: &'a str,
}

/// A part of an upload, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub number: i32,
    pub size: i64,
    pub etag: String,
}

/// A media type reduced to one `type/subtype`, lowercase, without parameters: what recipients'
/// answers say and what an upload is stored with. `None` for anything else (a list such as
/// `video/mp4, text/html`, which a browser would read as its last type).
pub fn plain_type(given: &str) -> Option<String> {
    let essence = given.split(';').next()?.trim().to_ascii_lowercase();
    let (kind, sub) = essence.split_once('/')?;
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    (token(kind) && token(sub)).then_some(essence)
}

/// An object being read: its details, the bytes sent (`range`, all of them when `None`), and
/// those bytes as they come.
pub struct ObjectRead {
    pub info: ObjectInfo,
    pub range: Option<std::ops::Range<u64>>,
    pub body: ReadBody,
}

/// The bytes of a read, as they come from the store.
pub type ReadBody = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = std::result::Result<bytes::Bytes, std::io::Error>> + Send>,
>;

/// The bytes of an upload, as they arrive (an error says why the sender's bytes stopped).
pub type UploadBody<'a> = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = std::result::Result<bytes::Bytes, String>> + Send + 'a>,
>;
