//! The types the console's browser code and the server both hold, in a crate of their own so
//! that the domain (which needs a database) and the browser build (which cannot have one) share
//! them: what a bucket's listing and an object's details look like. The object store's
//! interface that returns them is `domain::store::ObjectStore`.

use serde::{Deserialize, Serialize};

/// One page of a bucket's objects under a prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// Folders (common prefixes) right under the prefix, each ending with `/`.
    pub folders: Vec<String>,
    pub objects: Vec<ObjectRow>,
    /// Where the next page starts, if there is one.
    pub next: Option<String>,
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRow {
    pub key: String,
    pub size: i64,
    pub last_modified: i64,
    pub content_type: Option<String>,
    /// Working share links to it: what deleting it stops (filled in by the console).
    #[serde(default)]
    pub live_links: i64,
}

/// One object as its details panel shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    pub key: String,
    pub size: i64,
    pub content_type: Option<String>,
    pub etag: String,
    pub last_modified: i64,
    /// User metadata (`x-amz-meta-*`), by name.
    pub metadata: Vec<(String, String)>,
    /// Working share links to it (filled in by the console).
    #[serde(default)]
    pub live_links: i64,
}
