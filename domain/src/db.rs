//! The metadata database, SQLite or PostgreSQL, reached through sqlx's `Any` driver: every query
//! in bucketshare is written once, in the SQL both understand (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`, timestamps passed in rather than computed by the database).

use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, Encode, Type};

use crate::Result;

/// The connection pool every function here takes.
pub type Pool = sqlx::AnyPool;
/// A write transaction on [`Pool`], from [`write_tx`]: the connection in a transaction (use it
/// as `&mut *tx`), and this process's turn to write.
pub struct Tx {
    tx: sqlx::Transaction<'static, Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// An admin action was recorded in it ([`Tx::mark_changed`]): its commit tells this
    /// process's views ([`local_changes`]).
    changed: bool,
    backend: Backend,
}

/// Admin changes this process committed since it started: the S3 endpoint's view of keys,
/// users, grants and links (`crate::access`) drops what it holds when this moves, so that a
/// change made through this process applies to its very next request. (Other processes on the
/// same data dir tell it through [`CHANGES_FILE`]; instances elsewhere through the database's
/// `access_generation`, within a fraction of a second.)
static LOCAL_CHANGES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// See [`LOCAL_CHANGES`].
pub fn local_changes() -> u64 {
    LOCAL_CHANGES.load(std::sync::atomic::Ordering::Acquire)
}

/// The file in a data dir that every process on it (servers, the admin CLI) appends a byte to
/// when it commits an admin action: another process's view sees the file change at its next
/// request ([`changes_mark`]), without asking the database.
pub const CHANGES_FILE: &str = "access.changes";

static CHANGES_PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Makes this process's admin changes known through `data_dir`'s [`CHANGES_FILE`] (once per
/// process: `serve` and the CLI call it when they open a data dir).
pub fn announce_changes_in(data_dir: &std::path::Path) {
    let _ = CHANGES_PATH.set(data_dir.join(CHANGES_FILE));
}

fn announce_change() {
    use std::io::Write as _;
    let Some(path) = CHANGES_PATH.get() else {
        return;
    };
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let appended = options.open(path).and_then(|mut file| file.write_all(b"."));
    if let Err(err) = appended {
        tracing::warn!(
            error = %err,
            file = %path.display(),
            "cannot mark a change for the other processes on this data dir; they see it within a second"
        );
    }
}

/// What [`CHANGES_FILE`] at `path` looks like now (its length and modification time): any
/// change of it is a change another process made. One `stat`.
pub fn changes_mark(path: &std::path::Path) -> (u64, i128) {
    match std::fs::metadata(path) {
        Ok(meta) => {
            let modified = meta
                .modified()
                .ok()
                .and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(0));
            (meta.len(), modified)
        }
        Err(_) => (0, 0),
    }
}

impl Tx {
    /// Commits; if an admin action was recorded, [`local_changes`] moves once it is.
    pub async fn commit(self) -> sqlx::Result<()> {
        let changed = self.changed;
        self.tx.commit().await?;
        if changed {
            LOCAL_CHANGES.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            announce_change();
        }
        Ok(())
    }

    /// The database this transaction writes to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Notes that this transaction changes what someone may do (every admin action does).
    pub fn mark_changed(&mut self) {
        self.changed = true;
    }

    pub async fn rollback(self) -> sqlx::Result<()> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

/// This process's SQLite writers, in the order they asked. SQLite's own wait for its write lock
/// (the busy timeout) is not fair: under a steady stream of writes one writer can lose every
/// retry for seconds and fail with "database is locked". Writers of one process queue here
/// instead, so only one at a time waits on SQLite (for other processes, such as the admin CLI).
static SQLITE_WRITERS: std::sync::LazyLock<std::sync::Arc<tokio::sync::Mutex<()>>> =
    std::sync::LazyLock::new(std::sync::Arc::default);

/// Which database a pool reaches; the few statements that differ ask this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file in the data dir: one machine, any number of processes on it.
    Sqlite,
    /// A PostgreSQL server (`--database-url`): instances on several machines share it.
    Postgres,
}

impl Backend {
    pub fn of(pool: &Pool) -> Backend {
        Backend::of_url(pool.connect_options().database_url.as_str())
    }

    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// The advisory lock every PostgreSQL write transaction takes: writers queue one behind the
/// other, as they do on SQLite, so a read-then-write inside one never races another's.
const WRITE_LOCK: i64 = 0x6275_636b_6574; // "bucket"

/// A transaction that writes. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`) so
/// that a concurrent writer makes it wait (busy timeout) rather than fail half-way; on
/// PostgreSQL it takes [`WRITE_LOCK`] for the same effect.
pub async fn write_tx(pool: &Pool) -> sqlx::Result<Tx> {
    match Backend::of(pool) {
        Backend::Sqlite => {
            let turn = SQLITE_WRITERS.clone().lock_owned().await;
            let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            Ok(Tx {
                tx,
                _turn: Some(turn),
                changed: false,
                backend: Backend::Sqlite,
            })
        }
        Backend::Postgres => {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT 1 FROM pg_advisory_xact_lock($1)")
                .bind(WRITE_LOCK)
                .execute(&mut *tx)
                .await?;
            Ok(Tx {
                tx,
                _turn: None,
                changed: false,
                backend: Backend::Postgres,
            })
        }
    }
}

/// A statement whose conditions depend on the caller's filters: each bound value gets the next
/// `$n` placeholder, so only the values used are sent (PostgreSQL refuses unused ones).
#[derive(Default)]
pub struct Filtered {
    sql: String,
    args: AnyArguments<'static>,
    count: usize,
}

impl Filtered {
    pub fn new(sql: &str) -> Self {
        Filtered {
            sql: sql.to_owned(),
            ..Filtered::default()
        }
    }

    /// Appends SQL text as is.
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Send + Encode<'static, Any> + Type<Any>,
    {
        let placeholder = self.param(value);
        self.sql.push_str(&placeholder);
        self
    }

    /// Adds `value` and returns its placeholder, for SQL that names it more than once.
    pub fn param<T>(&mut self, value: T) -> String
    where
        T: 'static + Send + Encode<'static, Any> + Type<Any>,
    {
        self.count += 1;
        // Encoding into Any's buffer only records the value; it cannot fail for the types used.
        let _ = self.args.add(value);
        format!("${}", self.count)
    }

    /// The SQL text and its arguments, for `sqlx::query_as_with` and friends.
    pub fn into_parts(self) -> (String, AnyArguments<'static>) {
        (self.sql, self.args)
    }
}

/// Declares an enum of plain variants whose text is written once: strum names each variant
/// (by `case`, as serde does), and the macro gives it `as_str`, `all`, `Display`, `FromStr` (an
/// unknown text is [`crate::Error::Invalid`] about `field`, listing the texts it could be) and
/// the sqlx traits that store it as that text (a `TEXT` column with a `CHECK` in both
/// databases).
///
/// ```ignore
/// text_enum! {
///     #[text(case = "lowercase", field = "status")]
///     /// Whether a user may sign requests.
///     pub enum UserStatus { Active, Disabled }
/// }
/// ```
#[macro_export]
macro_rules! text_enum {
    (
        #[text(case = $case:literal, field = $field:literal)]
        $(#[$meta:meta])*
        $vis:vis enum $ty:ident { $( $(#[$vmeta:meta])* $variant:ident ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize,
            strum::IntoStaticStr, strum::VariantArray,
        )]
        #[serde(rename_all = $case)]
        #[strum(serialize_all = $case)]
        $vis enum $ty {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $ty {
            /// Its text: in the database, in JSON, on the command line and in forms.
            pub fn as_str(self) -> &'static str {
                self.into()
            }

            /// Every variant, in declaration order.
            pub fn all() -> &'static [Self] {
                <$ty as ::strum::VariantArray>::VARIANTS
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::Error;
            fn from_str(text: &str) -> $crate::Result<Self> {
                let all = $ty::all();
                all.iter()
                    .copied()
                    .find(|v| v.as_str() == text)
                    .ok_or_else(|| $crate::Error::Invalid {
                        field: $field,
                        message: format!(
                            "`{text}` is not one of {}",
                            all.iter()
                                .map(|v| v.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })
            }
        }

        impl sqlx::Type<sqlx::Any> for $ty {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <&str as sqlx::Type<sqlx::Any>>::type_info()
            }
            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, sqlx::Any>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $ty {
            fn decode(
                value: sqlx::any::AnyValueRef<'r>,
            ) -> std::result::Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                Ok(text.parse::<$ty>()?)
            }
        }
    };
}

/// A yes/no column, stored as 0 or 1 in both databases (SQLite has no boolean type). Read a
/// `bool` field with `#[sqlx(try_from = "Flag")]`; bind `i64::from(flag)`.
pub struct Flag(pub bool);

impl Type<Any> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }
    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Any> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Flag(<i64 as sqlx::Decode<'r, Any>>::decode(value)? != 0))
    }
}

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0
    }
}
