//! Who may do what: access keys (secrets unsealed with the master key) and the caller's
//! grants come from the endpoint's view (`domain::access::View`), and each request is checked
//! against them by the table in `domain::grants`. The view drops what it holds on any change:
//! at once for changes made in this process, within a fraction of a second for others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::access::View;
use domain::db::Pool;
use domain::grants::{self, Need};
use domain::operation::Operation;
use domain::secrets::AccessKeyId;
use domain::users::keys;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::dto::{
    CopyObjectInput, CopySource, DeleteObjectsInput, ListMultipartUploadsInput,
    ListObjectVersionsInput, ListObjectsInput, ListObjectsV2Input, UploadPartCopyInput,
};
use s3s::path::S3Path;
use s3s::{S3Request, S3Result, s3_error};

use super::audit::Place;
use crate::store::Caller;
use crate::store::answers::s3_error_of;

pub struct KeyAuth {
    pub pool: Pool,
    pub view: View,
    /// When each key's `last_used_at` was last written, so that a busy key costs one write a
    /// minute, not one per request.
    pub last_recorded: Arc<Mutex<HashMap<String, i64>>>,
}

/// How stale a key's `last_used_at` may get.
const LAST_USED_RESOLUTION_SECS: i64 = 60;

impl KeyAuth {
    pub fn new(pool: Pool, view: View) -> Self {
        KeyAuth {
            pool,
            view,
            last_recorded: Arc::default(),
        }
    }

    /// Records that `id` signed a request now, at most once a minute, off the request path.
    fn note_use(&self, id: &AccessKeyId, now: i64) {
        {
            let Ok(mut recorded) = self.last_recorded.lock() else {
                return;
            };
            match recorded.get(id.as_str()) {
                Some(&at) if now - at < LAST_USED_RESOLUTION_SECS => return,
                _ => recorded.insert(id.to_string(), now),
            };
        }
        let pool = self.pool.clone();
        let id = id.to_string();
        tokio::spawn(async move {
            let written = sqlx::query("UPDATE access_keys SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&id)
                .execute(&pool)
                .await;
            if let Err(err) = written {
                tracing::warn!(error = %err, key = %id, "could not record a key's last use");
            }
        });
    }
}

/// The access check's own failure (the database's), logged, as `InternalError`.
fn internal(err: impl std::fmt::Display) -> s3s::S3Error {
    crate::store::answers::internal("database", err)
}

#[async_trait::async_trait]
impl S3Auth for KeyAuth {
    /// The secret of an active key of an active user; `InvalidAccessKeyId` for anything else.
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        let invalid = || {
            s3_error!(
                InvalidAccessKeyId,
                "The AWS access key Id you provided does not exist in our records."
            )
        };
        let Ok(id) = access_key.parse::<AccessKeyId>() else {
            return Err(invalid());
        };
        let now = domain::now_unix();
        match self.view.credentials(&id).await {
            Ok(Some(creds)) if creds.usable(now) => {
                self.note_use(&id, now);
                Ok(SecretKey::from(creds.secret.expose()))
            }
            Ok(_) => Err(invalid()),
            Err(err) => Err(internal(err)),
        }
    }
}

pub struct GrantAccess {
    pub pool: Pool,
    pub view: View,
}

impl GrantAccess {
    async fn allows(&self, caller: &Caller, bucket: &str, key: &str, need: Need) -> S3Result<()> {
        match grants::allows(&self.pool, &caller.user, bucket, key, need).await {
            Ok(allowed) => self.answer(allowed, bucket).await,
            Err(err) => Err(internal(err)),
        }
    }

    /// The refusal for a request not allowed: as S3 does, a bucket that does not exist is
    /// named as such (names are not secret).
    async fn answer(&self, allowed: bool, bucket: &str) -> S3Result<()> {
        if allowed {
            return Ok(());
        }
        match domain::buckets::require(&self.pool, bucket).await {
            Err(err @ domain::Error::NotFound { .. }) => Err(s3_error_of(err)),
            _ => Err(s3_error!(AccessDenied, "Access Denied")),
        }
    }
}

impl GrantAccess {
    async fn may_read_source(&self, caller: &Caller, source: &CopySource) -> S3Result<()> {
        match source {
            CopySource::Bucket { bucket, key, .. } => {
                self.allows(caller, bucket, key, Need::Read).await
            }
            _ => Err(s3_error!(
                NotImplemented,
                "Only bucket/key copy sources are supported"
            )),
        }
    }
}

fn caller<T>(req: &S3Request<T>) -> S3Result<Caller> {
    req.extensions
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| s3_error!(AccessDenied, "Access Denied"))
}

/// S3's limit on the keys of one DeleteObjects request.
const MAX_DELETE_KEYS: usize = 1000;

/// A grant limited to a prefix never covers this: a bucket operation that is not a listing
/// needs a grant on the whole bucket.
const WHOLE_BUCKET: &str = "";

impl GrantAccess {
    /// Who the caller is and whether their grants allow the operation (the body of
    /// [`S3Access::check`], which times it).
    async fn check_grants(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let Some(credentials) = cx.credentials() else {
            return Err(s3_error!(AccessDenied, "Access Denied"));
        };
        let id: AccessKeyId = credentials
            .access_key
            .parse()
            .map_err(|_| s3_error!(InvalidAccessKeyId))?;
        let operation = Operation::named(cx.s3_op().name());
        if operation == Operation::PostObject {
            // Refused by the request reader already; kept closed here too.
            return Err(s3_error!(
                AccessDenied,
                "Browser POST uploads are not accepted"
            ));
        }
        // An object request, the common case, looks up the key's user and their grants at once.
        if let (Some(need), S3Path::Object { bucket, key }) = (operation.need(), cx.s3_path()) {
            let held = self
                .view
                .grants(id.as_str())
                .await
                .map_err(internal)?
                .ok_or_else(|| s3_error!(InvalidAccessKeyId))?;
            let allowed = held.allows(bucket, key, need, domain::now_unix());
            self.answer(allowed, bucket).await?;
            return admit(cx, held.user.clone(), id).await;
        }
        let user = keys::get(&self.pool, &id).await.map_err(s3_error_of)?.user;
        let caller = Caller {
            user,
            access_key_id: id.as_str().to_owned(),
        };
        match (operation.need(), cx.s3_path()) {
            (None, _) if operation == Operation::CreateBucket => {
                let user = domain::users::get(&self.pool, &caller.user)
                    .await
                    .map_err(internal)?;
                if !user.can_create_buckets {
                    return Err(s3_error!(AccessDenied, "This user may not create buckets"));
                }
            }
            (None, _) => {}
            // Listings are checked against the prefix they list (in their own hooks below, on
            // the prefix s3s parsed), DeleteObjects per key; every other bucket operation
            // needs a grant on the whole bucket.
            (Some(_), S3Path::Bucket { .. })
                if operation.lists_a_prefix() || operation == Operation::DeleteObjects => {}
            (Some(need), S3Path::Bucket { bucket }) => {
                self.allows(&caller, bucket, WHOLE_BUCKET, need).await?;
            }
            // Answered above, with the key lookup.
            (Some(_), S3Path::Object { .. }) => {}
            (Some(_), S3Path::Root) => return Err(s3_error!(AccessDenied, "Access Denied")),
        }
        admit(cx, caller.user, id).await
    }
}

#[async_trait::async_trait]
impl S3Access for GrantAccess {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let started = std::time::Instant::now();
        let checked = self.check_grants(cx).await;
        domain::metrics::get()
            .access_check
            .observe(started.elapsed().as_secs_f64());
        checked
    }

    /// Copying also reads the source: the caller needs read on it.
    async fn copy_object(&self, req: &mut S3Request<CopyObjectInput>) -> S3Result<()> {
        let caller = caller(req)?;
        self.may_read_source(&caller, &req.input.copy_source).await
    }

    async fn upload_part_copy(&self, req: &mut S3Request<UploadPartCopyInput>) -> S3Result<()> {
        let caller = caller(req)?;
        self.may_read_source(&caller, &req.input.copy_source).await
    }

    /// At most 1,000 keys, as in S3, and every one writable by the caller.
    async fn delete_objects(&self, req: &mut S3Request<DeleteObjectsInput>) -> S3Result<()> {
        let caller = caller(req)?;
        let objects = &req.input.delete.objects;
        if objects.len() > MAX_DELETE_KEYS {
            return Err(s3_error!(
                MalformedXML,
                "A DeleteObjects request may name at most 1000 keys."
            ));
        }
        let bucket = &req.input.bucket;
        let grants = grants::of_user_on(&self.pool, &caller.user, bucket)
            .await
            .map_err(internal)?;
        let now = domain::now_unix();
        let allowed = objects.iter().all(|object| {
            grants
                .iter()
                .any(|g| g.permission.allows(Need::Write) && g.covers(&object.key, now))
        });
        self.answer(allowed, bucket).await
    }

    async fn list_objects(&self, req: &mut S3Request<ListObjectsInput>) -> S3Result<()> {
        let prefix = req.input.prefix.clone().unwrap_or_default();
        self.may_list(req, &req.input.bucket.clone(), &prefix).await
    }

    async fn list_objects_v2(&self, req: &mut S3Request<ListObjectsV2Input>) -> S3Result<()> {
        let prefix = req.input.prefix.clone().unwrap_or_default();
        self.may_list(req, &req.input.bucket.clone(), &prefix).await
    }

    async fn list_object_versions(
        &self,
        req: &mut S3Request<ListObjectVersionsInput>,
    ) -> S3Result<()> {
        let prefix = req.input.prefix.clone().unwrap_or_default();
        self.may_list(req, &req.input.bucket.clone(), &prefix).await
    }

    async fn list_multipart_uploads(
        &self,
        req: &mut S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<()> {
        let prefix = req.input.prefix.clone().unwrap_or_default();
        self.may_list(req, &req.input.bucket.clone(), &prefix).await
    }
}

impl GrantAccess {
    /// A listing needs read on the prefix it lists, as s3s parsed it for the store.
    async fn may_list<T>(&self, req: &S3Request<T>, bucket: &str, prefix: &str) -> S3Result<()> {
        let caller = caller(req)?;
        self.allows(&caller, bucket, prefix, Need::Read).await
    }
}

/// Hands the caller to the store, and for a pre-signed request takes its place in the audit
/// queue (now that it is authenticated and allowed).
async fn admit(cx: &mut S3AccessContext<'_>, user: String, id: AccessKeyId) -> S3Result<()> {
    if let Some(place) = cx.extensions_mut().get::<Place>().cloned() {
        place.take().await?;
    }
    cx.extensions_mut().insert(Caller {
        user,
        access_key_id: id.as_str().to_owned(),
    });
    Ok(())
}
