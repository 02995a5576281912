//! bucketshare's domain, shared by the console, the admin CLI and the S3 endpoint: IAM users and
//! their S3 access keys, the master key that seals the keys' secrets at rest, grants, buckets,
//! share links, settings, the audit trail, metrics, and the object store's interface
//! ([`store`]).
//!
//! Every function takes the pool (or a transaction) it works on; nothing here is global.

pub mod access;
pub mod admins;
pub mod audit;
pub mod buckets;
pub mod db;
pub mod grants;
pub mod links;
pub mod metrics;
pub mod operation;
pub mod passwords;
pub mod secrets;
pub mod settings;
pub mod store;
pub mod throttle;
pub mod users;

/// What a domain operation can fail with. Messages are fit for an admin to read; database
/// details stay in [`Error::Database`], which callers log rather than show.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} `{name}` does not exist")]
    NotFound { what: &'static str, name: String },
    #[error("{what} `{name}` already exists")]
    AlreadyExists { what: &'static str, name: String },
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A bucket that still holds objects cannot be deleted without them (`objects`: how many,
    /// when the store knows).
    #[error(
        "bucket: `{name}` holds {}objects; delete them first or use --force",
        objects.map_or(String::new(), |n| format!("{n} "))
    )]
    BucketNotEmpty {
        name: String,
        objects: Option<usize>,
    },
    #[error("master key: {0}")]
    MasterKey(String),
    #[error(
        "cannot unseal the secret of access key {0}: the master key is not the one it was \
         sealed with, or the database was tampered with"
    )]
    Unseal(String),
    /// A password could not be hashed or checked (the hashing itself failed).
    #[error("password hashing: {0}")]
    Password(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The object store refused or could not be reached; the message says which and why.
    #[error("object store: {0}")]
    Store(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn not_found(what: &'static str, name: &str) -> Self {
        Error::NotFound {
            what,
            name: name.to_owned(),
        }
    }

    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            message: message.into(),
        }
    }
}

pub(crate) use db::write_tx;

/// Seconds since the Unix epoch, the time unit of every timestamp column.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A new id: `first` (what it names: `l` links, `u` uploads, `w` webhooks, `e` their events)
/// and 15 random base32 characters (75 bits).
pub fn random_id(first: char) -> String {
    use rand::Rng as _;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut rng = rand::rng();
    std::iter::once(first)
        .chain((0..15).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])))
        .collect()
}

/// What an insert of `what` named `name` failed with: [`Error::AlreadyExists`] when it broke a
/// UNIQUE or PRIMARY KEY constraint, else the database's error.
pub(crate) fn insert_failed(err: sqlx::Error, what: &'static str, name: &str) -> Error {
    if is_unique_violation(&err) {
        Error::AlreadyExists {
            what,
            name: name.to_owned(),
        }
    } else {
        Error::Database(err)
    }
}

/// Whether a database error is the violation of a UNIQUE or PRIMARY KEY constraint.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::UniqueViolation)
}
