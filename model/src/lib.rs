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

/// The expiry of a share page that never expires: 9999-12-31T23:59:59Z, so that every "still
/// works" comparison (`expires_at > now`) holds for it unchanged.
pub const NEVER: i64 = 253_402_300_799;

/// Whether a share link works now, or why not. Never stored: computed from the link, its
/// signer, key and grants each time it is read (`domain::links`). Its text (JSON, the CLI, the
/// SQL that computes it) is the strum name below.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(into = "&'static str", try_from = "String")]
pub enum LinkState {
    #[strum(serialize = "active")]
    Active,
    #[strum(serialize = "revoked")]
    Revoked,
    #[strum(serialize = "expired")]
    Expired,
    /// A share page that allowed as many downloads as its limit.
    #[strum(serialize = "exhausted")]
    Exhausted,
    #[strum(serialize = "user deleted")]
    UserDeleted,
    #[strum(serialize = "user disabled")]
    UserDisabled,
    #[strum(serialize = "key deleted")]
    KeyDeleted,
    #[strum(serialize = "key disabled")]
    KeyDisabled,
    #[strum(serialize = "key expired")]
    KeyExpired,
    #[strum(serialize = "no permission")]
    NoPermission,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl std::fmt::Display for LinkState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for LinkState {
    type Error = strum::ParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}
