//! The upstream store behind the S3 trait: s3s-aws's proxy forwards each operation through
//! aws-sdk-s3 (bodies stream both ways); this file keeps what bucketshare decides itself.
//! Buckets are bucketshare's (in SQLite, with grants and links): only registered buckets are
//! reached upstream, under their prefixed upstream names, and listing buckets shows the caller's.
//! A request the upstream never answered (refused connection, timeout) becomes 503
//! `ServiceUnavailable`; an answer keeps its S3 error.

use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use domain::audit::Origin;
use domain::db::Pool;
use futures_util::StreamExt;
use s3s::dto::*;
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

mod client;

pub use client::Settings;

use super::answers::{
    self, caller, caller_origin, create_bucket_answer, delete_bucket_answer, unavailable,
};
use domain::store::{Listing, ObjectInfo, ObjectRow};
use domain::store::{ObjectRead, ObjectStore, UploadBody};

/// Objects in an upstream S3 store; users, grants and links in SQLite.
#[derive(Clone)]
pub struct UpstreamStore {
    pool: Pool,
    settings: Arc<Settings>,
    client: aws_sdk_s3::Client,
    proxy: Arc<s3s_aws::Proxy>,
}

/// Parts of a console upload sent upstream: S3 wants at least 5 MiB per part but the last.
const UPLOAD_PART: usize = 8 * 1024 * 1024;

impl UpstreamStore {
    pub fn new(pool: Pool, settings: Settings) -> Self {
        let client = settings.client();
        UpstreamStore {
            pool,
            proxy: Arc::new(s3s_aws::Proxy::builder(client.clone()).build()),
            client,
            settings: Arc::new(settings),
        }
    }

    /// The upstream name of `bucket` if bucketshare has it; `NoSuchBucket` otherwise (other
    /// buckets of the upstream store are never reached).
    async fn upstream_bucket(&self, bucket: &str) -> S3Result<String> {
        answers::require_bucket(&self.pool, bucket).await?;
        Ok(self.settings.bucket(bucket))
    }

    /// The upstream name of the bucket of an object request, after checking its key. Keys with
    /// `.` or `..` segments are refused here though S3 allows them: an upstream's HTTP stack
    /// might normalize `b/../c/k` into another bucket's object.
    async fn upstream_object(&self, bucket: &str, key: &str) -> S3Result<String> {
        check_key(key)?;
        self.upstream_bucket(bucket).await
    }

    /// Puts bucketshare's bucket name back where the upstream answered with its own.
    fn local(&self, bucket: &mut Option<String>) {
        if let Some(name) = bucket {
            *name = self.settings.local_bucket(name);
        }
    }

    /// A failure from the proxy, with the ones where the upstream never answered made 503.
    fn answer(&self, err: S3Error) -> S3Error {
        let unanswered = *err.code() == S3ErrorCode::InternalError
            && err.source().is_some_and(|source| {
                let shown = format!("{source:?}");
                shown.starts_with("DispatchFailure") || shown.starts_with("TimeoutError")
            });
        if !unanswered {
            return err;
        }
        tracing::warn!(endpoint = %self.settings.endpoint, error = ?err.source(), "upstream store unreachable");
        unavailable()
    }

    /// The 503 for a direct SDK call that never got an answer.
    fn answer_unreachable<E, R>(&self, err: &aws_sdk_s3::error::SdkError<E, R>) -> S3Error
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        self.describe(err);
        unavailable()
    }

    fn describe<E, R>(&self, err: &aws_sdk_s3::error::SdkError<E, R>) -> String
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let text = client::describe(&self.settings.endpoint, err);
        tracing::warn!(error = %text, "upstream store");
        text
    }

    /// Deletes every object and unfinished upload of the upstream bucket, a page at a time;
    /// returns how many objects went.
    async fn empty(&self, upstream: &str) -> Result<usize, String> {
        let mut deleted = 0;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(upstream)
                .max_keys(1000)
                .send()
                .await
                .map_err(|e| self.describe(&e))?;
            let keys: Vec<ObjectIdentifier> = page
                .contents()
                .iter()
                .filter_map(|o| {
                    ObjectIdentifier::builder()
                        .set_key(o.key.clone())
                        .build()
                        .ok()
                })
                .collect();
            if keys.is_empty() {
                break;
            }
            deleted += keys.len();
            let delete = Delete::builder()
                .set_objects(Some(keys))
                .quiet(true)
                .build()
                .map_err(|e| e.to_string())?;
            let done = self
                .client
                .delete_objects()
                .bucket(upstream)
                .delete(delete)
                .send()
                .await
                .map_err(|e| self.describe(&e))?;
            if let Some(failed) = done.errors().first() {
                return Err(format!(
                    "the upstream store did not delete `{}`: {}",
                    failed.key().unwrap_or("?"),
                    failed.message().unwrap_or("no reason given")
                ));
            }
        }
        let uploads = match self
            .client
            .list_multipart_uploads()
            .bucket(upstream)
            .send()
            .await
        {
            Ok(uploads) => uploads,
            // Some engines (s3s-fs) cannot list uploads; deleting the bucket then decides.
            Err(err) if client::error_code(&err) == Some("NotImplemented") => return Ok(deleted),
            Err(err) => return Err(self.describe(&err)),
        };
        for upload in uploads.uploads() {
            self.client
                .abort_multipart_upload()
                .bucket(upstream)
                .set_key(upload.key.clone())
                .set_upload_id(upload.upload_id.clone())
                .send()
                .await
                .map_err(|e| self.describe(&e))?;
        }
        Ok(deleted)
    }

    /// Sends a console upload of unknown length upstream: one PUT when it fits in a part,
    /// else a multipart upload of 8 MiB parts (aborted if anything fails), so memory stays at
    /// one part whatever the size.
    async fn send_upload(
        &self,
        upstream: &str,
        key: &str,
        content_type: Option<String>,
        mut body: UploadBody<'_>,
    ) -> Result<u64, String> {
        let mut part = Vec::with_capacity(UPLOAD_PART);
        let first_full = fill(&mut body, &mut part).await?;
        if !first_full {
            let size = part.len() as u64;
            self.client
                .put_object()
                .bucket(upstream)
                .key(key)
                .set_content_type(content_type)
                .body(ByteStream::from(part))
                .send()
                .await
                .map_err(|e| self.describe(&e))?;
            return Ok(size);
        }
        let created = self
            .client
            .create_multipart_upload()
            .bucket(upstream)
            .key(key)
            .set_content_type(content_type)
            .send()
            .await
            .map_err(|e| self.describe(&e))?;
        let Some(upload_id) = created.upload_id().map(str::to_owned) else {
            return Err("the upstream store gave no upload id".to_owned());
        };
        let sent = self.send_parts(upstream, key, &upload_id, part, body).await;
        if sent.is_err() {
            let aborted = self
                .client
                .abort_multipart_upload()
                .bucket(upstream)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
            if let Err(err) = aborted {
                tracing::warn!(error = %self.describe(&err), upload_id, "cannot abort an upload");
            }
        }
        sent
    }

    async fn send_parts(
        &self,
        upstream: &str,
        key: &str,
        upload_id: &str,
        mut part: Vec<u8>,
        mut body: UploadBody<'_>,
    ) -> Result<u64, String> {
        let mut done = Vec::new();
        let mut size = 0u64;
        loop {
            let number = i32::try_from(done.len() + 1).map_err(|e| e.to_string())?;
            size += part.len() as u64;
            let sent = self
                .client
                .upload_part()
                .bucket(upstream)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(std::mem::take(&mut part)))
                .send()
                .await
                .map_err(|e| self.describe(&e))?;
            done.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(sent.e_tag)
                    .build(),
            );
            part.reserve(UPLOAD_PART);
            let full = fill(&mut body, &mut part).await?;
            if part.is_empty() && !full {
                break;
            }
        }
        self.client
            .complete_multipart_upload()
            .bucket(upstream)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(done))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| self.describe(&e))?;
        Ok(size)
    }
}

/// The refusal to delete a bucket that holds objects (worded as the embedded store's).
fn not_empty(name: &str) -> domain::Error {
    domain::Error::BucketNotEmpty {
        name: name.to_owned(),
        objects: None,
    }
}

/// A key the upstream can be given safely.
fn check_key(key: &str) -> S3Result<()> {
    answers::check_key(key)?;
    if key
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(s3_error!(
            InvalidArgument,
            "Object keys with `.` or `..` segments are not accepted by this endpoint"
        ));
    }
    Ok(())
}

/// Reads `body` into `part` until it holds a whole part or the body ends; `true` if full.
async fn fill(body: &mut UploadBody<'_>, part: &mut Vec<u8>) -> Result<bool, String> {
    while part.len() < UPLOAD_PART {
        match body.next().await {
            Some(chunk) => part.extend_from_slice(&chunk?),
            None => return Ok(false),
        }
    }
    Ok(true)
}

#[async_trait::async_trait]
impl S3 for UpstreamStore {
    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let user = caller(&req)?;
        answers::list_buckets(&self.pool, &user, &req.input)
            .await
            .map(S3Response::new)
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let origin = caller_origin(&req)?;
        let bucket = req.input.bucket;
        // An IAM user never adopts a bucket the upstream already has: that is an admin's act.
        let created = self
            .create_bucket_as(&bucket, Some(&origin.name), &origin, Adopt::No)
            .await;
        create_bucket_answer(&self.pool, &origin.name, &bucket, created.map(|_| ())).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.upstream_bucket(&req.input.bucket).await?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.upstream_bucket(&req.input.bucket).await?;
        Ok(S3Response::new(GetBucketLocationOutput::default()))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let origin = caller_origin(&req)?;
        let deleted =
            ObjectStore::delete_bucket(self, &self.pool, &req.input.bucket, false, &origin).await;
        delete_bucket_answer(deleted.map(|_| ()))
    }

    async fn list_objects_v2(
        &self,
        mut req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        req.input.bucket = self.upstream_bucket(&req.input.bucket).await?;
        // Names are asked plain and encoded here: not every engine encodes them when asked.
        let encoding = req.input.encoding_type.take();
        let mut res = self
            .proxy
            .list_objects_v2(req)
            .await
            .map_err(|e| self.answer(e))?;
        self.local(&mut res.output.name);
        answers::encode_v2(&mut res.output, encoding);
        Ok(res)
    }

    async fn list_objects(
        &self,
        mut req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        req.input.bucket = self.upstream_bucket(&req.input.bucket).await?;
        let encoding = req.input.encoding_type.take();
        let mut res = self
            .proxy
            .list_objects(req)
            .await
            .map_err(|e| self.answer(e))?;
        self.local(&mut res.output.name);
        answers::encode_v1(&mut res.output, encoding);
        Ok(res)
    }

    /// Listed from the upstream's plain listing (bucketshare offers no versioning): each
    /// object its one `null` version, the latest.
    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let mut plain = answers::plain_listing(&req.input)?;
        plain.bucket = self.upstream_bucket(&req.input.bucket).await?;
        let asked = req.input.clone();
        let req = req.map_input(|_| plain);
        let listed = self
            .proxy
            .list_objects(req)
            .await
            .map_err(|e| self.answer(e))?
            .output;
        Ok(S3Response::new(answers::versions_of(asked, listed)))
    }

    async fn put_object(
        &self,
        mut req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        req.input.bucket = self
            .upstream_object(&req.input.bucket, &req.input.key)
            .await?;
        self.proxy.put_object(req).await.map_err(|e| self.answer(e))
    }

    async fn get_object(
        &self,
        mut req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        req.input.bucket = self
            .upstream_object(&req.input.bucket, &req.input.key)
            .await?;
        answers::current_only(req.input.version_id.take().as_deref())?;
        // The `response-*` overrides are applied here, not left to the upstream: not every
        // engine honours them, and share links rely on them for the file name.
        let input = &mut req.input;
        let content_type = input.response_content_type.take();
        let content_disposition = input.response_content_disposition.take();
        let cache_control = input.response_cache_control.take();
        let content_encoding = input.response_content_encoding.take();
        let content_language = input.response_content_language.take();
        let expires = input.response_expires.take();
        let mut res = self
            .proxy
            .get_object(req)
            .await
            .map_err(|e| self.answer(e))?;
        let output = &mut res.output;
        output.content_type = content_type.or(output.content_type.take());
        output.content_disposition = content_disposition.or(output.content_disposition.take());
        output.cache_control = cache_control.or(output.cache_control.take());
        output.content_encoding = content_encoding.or(output.content_encoding.take());
        output.content_language = content_language.or(output.content_language.take());
        if let Some(at) = expires {
            output.expires = answers::http_date(&at);
        }
        Ok(res)
    }

    async fn head_object(
        &self,
        mut req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        req.input.bucket = self
            .upstream_object(&req.input.bucket, &req.input.key)
            .await?;
        answers::current_only(req.input.version_id.take().as_deref())?;
        self.proxy
            .head_object(req)
            .await
            .map_err(|e| self.answer(e))
    }

    async fn delete_object(
        &self,
        mut req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        req.input.bucket = self
            .upstream_object(&req.input.bucket, &req.input.key)
            .await?;
        answers::current_only(req.input.version_id.take().as_deref())?;
        self.proxy
            .delete_object(req)
            .await
            .map_err(|e| self.answer(e))
    }

    async fn delete_objects(
        &self,
        mut req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        for object in &req.input.delete.objects {
            check_key(&object.key)?;
        }
        req.input.bucket = self.upstream_bucket(&req.input.bucket).await?;
        // As the embedded store: only the one version there is (`null`, sent upstream as
        // none); another is said per key and not deleted.
        let mut refused = Vec::new();
        let objects = std::mem::take(&mut req.input.delete.objects);
        for mut object in objects {
            match answers::current_only(object.version_id.as_deref()) {
                Ok(()) => {
                    object.version_id = None;
                    req.input.delete.objects.push(object);
                }
                Err(err) => refused.push(answers::not_deleted(object, &err)),
            }
        }
        let mut res = if req.input.delete.objects.is_empty() {
            S3Response::new(DeleteObjectsOutput::default())
        } else {
            self.proxy
                .delete_objects(req)
                .await
                .map_err(|e| self.answer(e))?
        };
        if !refused.is_empty() {
            res.output
                .errors
                .get_or_insert_with(Vec::new)
                .extend(refused);
        }
        Ok(res)
    }

    async fn copy_object(
        &self,
        mut req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        req.input.bucket = self
            .upstream_object(&req.input.bucket, &req.input.key)
            .await?;
        req.input.copy_source = self.upstream_source(req.input.copy_source).await?;
        self.proxy
            .copy_object(req)
            .await
            .map_err(|e| self.answer(e))
    }

    async fn create_multipart_upload(
        &self,
        mut req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        req.input.bucket = self
            .upstream_object(&req.input.bucket, &req.input.key)
            .await?;
        let mut res = self
            .proxy
            .create_multipart_upload(req)
            .await
            .map_err(|e| self.answer(e))?;
        self.local(&mut res.output.bucket);
        Ok(res)
    }

    async fn upload_part(
        &self,
        mut req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        req.input.bucket = self
            .upstream_object(&req.input.bucket, &req.input.key)
            .await?;
        self.proxy
            .upload_part(req)
            .await
            .map_err(|e| self.answer(e))
    }

    async fn complete_multipart_upload(
        &self,
        mut req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        req.input.bucket = self
            .upstream_object(&req.input.bucket, &req.input.key)
            .await?;
        let mut res = self
            .proxy
            .complete_multipart_upload(req)
            .await
            .map_err(|e| self.answer(e))?;
        self.local(&mut res.output.bucket);
        // The upstream's own address of the object is not one clients can use.
        res.output.location = None;
        Ok(res)
    }

    async fn abort_multipart_upload(
        &self,
        mut req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        req.input.bucket = self
            .upstream_object(&req.input.bucket, &req.input.key)
            .await?;
        self.proxy
            .abort_multipart_upload(req)
            .await
            .map_err(|e| self.answer(e))
    }

    async fn list_parts(
        &self,
        mut req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        req.input.bucket = self
            .upstream_object(&req.input.bucket, &req.input.key)
            .await?;
        let mut res = self
            .proxy
            .list_parts(req)
            .await
            .map_err(|e| self.answer(e))?;
        self.local(&mut res.output.bucket);
        Ok(res)
    }

    async fn list_multipart_uploads(
        &self,
        mut req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        req.input.bucket = self.upstream_bucket(&req.input.bucket).await?;
        let mut res = self
            .proxy
            .list_multipart_uploads(req)
            .await
            .map_err(|e| self.answer(e))?;
        self.local(&mut res.output.bucket);
        Ok(res)
    }

    async fn upload_part_copy(
        &self,
        mut req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        req.input.bucket = self
            .upstream_object(&req.input.bucket, &req.input.key)
            .await?;
        req.input.copy_source = self.upstream_source(req.input.copy_source).await?;
        if let (Some(range), CopySource::Bucket { bucket, key, .. }) =
            (&req.input.copy_source_range, &req.input.copy_source)
        {
            // Checked here as S3 does (InvalidRange past the end): some engines clamp instead.
            let head = self
                .client
                .head_object()
                .bucket(bucket.as_ref())
                .key(key.as_ref())
                .send()
                .await;
            match head {
                Ok(head) => {
                    let size = u64::try_from(head.content_length().unwrap_or(0)).unwrap_or(0);
                    answers::parse_copy_range(range, size)?;
                }
                Err(err) if client::unreachable(&err) => {
                    return Err(self.answer_unreachable(&err));
                }
                // The copy itself reports a missing source as the upstream words it.
                Err(_) => {}
            }
        }
        self.proxy
            .upload_part_copy(req)
            .await
            .map_err(|e| self.answer(e))
    }
}

impl UpstreamStore {
    /// A copy source in a registered bucket, named as upstream.
    async fn upstream_source(&self, source: CopySource) -> S3Result<CopySource> {
        match source {
            CopySource::Bucket {
                bucket,
                key,
                version_id,
            } => {
                answers::current_only(version_id.as_deref())?;
                Ok(CopySource::Bucket {
                    bucket: self.upstream_object(&bucket, &key).await?.into(),
                    key,
                    version_id: None,
                })
            }
            _ => Err(s3_error!(
                NotImplemented,
                "Copying from an access point or outpost is not supported"
            )),
        }
    }
}

/// Whether creating a bucket may take over one the upstream already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Adopt {
    /// An admin (console, CLI): existing buckets of the service account are how stores already
    /// in use get shared.
    Yes,
    /// An IAM user's CreateBucket: only a bucket that does not exist upstream.
    No,
}

impl UpstreamStore {
    /// Creates `name` upstream, then its row.
    async fn create_bucket_as(
        &self,
        name: &str,
        owner: Option<&str>,
        by: &Origin,
        adopt: Adopt,
    ) -> domain::Result<domain::buckets::Bucket> {
        domain::buckets::check_name(name)?;
        let taken = || domain::Error::AlreadyExists {
            what: "bucket",
            name: name.to_owned(),
        };
        match domain::buckets::require(&self.pool, name).await {
            Ok(()) => return Err(taken()),
            Err(domain::Error::NotFound { .. }) => {}
            Err(err) => return Err(err),
        }
        let upstream = self.settings.bucket(name);
        // Some engines answer a repeated creation by its owner with success (as AWS does in
        // us-east-1), so existence is asked first when adopting is not allowed.
        if adopt == Adopt::No
            && self
                .client
                .head_bucket()
                .bucket(&upstream)
                .send()
                .await
                .is_ok()
        {
            return Err(taken());
        }
        if let Err(err) = self.client.create_bucket().bucket(&upstream).send().await {
            match client::error_code(&err) {
                // An existing upstream bucket of the service account is adopted by an admin:
                // that is how buckets already in the store are shared through bucketshare.
                Some("BucketAlreadyOwnedByYou") if adopt == Adopt::Yes => {}
                Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists") if adopt == Adopt::No => {
                    return Err(taken());
                }
                Some("BucketAlreadyExists") => {
                    return Err(domain::Error::Store(format!(
                        "the upstream store already has a bucket `{upstream}` that its service \
                         account does not own"
                    )));
                }
                _ => return Err(domain::Error::Store(self.describe(&err))),
            }
        }
        domain::buckets::create(&self.pool, name, owner, by).await
    }
}

#[async_trait::async_trait]
impl ObjectStore for UpstreamStore {
    async fn create_bucket(
        &self,
        _pool: &Pool,
        name: &str,
        owner: Option<&str>,
        by: &Origin,
    ) -> domain::Result<domain::buckets::Bucket> {
        self.create_bucket_as(name, owner, by, Adopt::Yes).await
    }

    async fn delete_bucket(
        &self,
        pool: &Pool,
        name: &str,
        with_contents: bool,
        by: &Origin,
    ) -> domain::Result<Option<usize>> {
        domain::buckets::require(pool, name).await?;
        let upstream = self.settings.bucket(name);
        let emptied = if with_contents {
            self.empty(&upstream).await.map_err(domain::Error::Store)?
        } else {
            // Checked here rather than left to the upstream: not every engine refuses to
            // delete a bucket that holds objects.
            let page = self
                .client
                .list_objects_v2()
                .bucket(&upstream)
                .max_keys(1)
                .send()
                .await;
            match page {
                Ok(page) if page.key_count().unwrap_or(0) > 0 || !page.contents().is_empty() => {
                    return Err(not_empty(name));
                }
                Ok(_) => {}
                Err(err) if client::error_code(&err) == Some("NoSuchBucket") => {}
                Err(err) => return Err(domain::Error::Store(self.describe(&err))),
            }
            0
        };
        if let Err(err) = self.client.delete_bucket().bucket(&upstream).send().await {
            match client::error_code(&err) {
                // Already gone upstream: the registration goes too.
                Some("NoSuchBucket") => {}
                Some("BucketNotEmpty") => {
                    return Err(not_empty(name));
                }
                _ => return Err(domain::Error::Store(self.describe(&err))),
            }
        }
        domain::buckets::delete(pool, name, true, by).await?;
        Ok(Some(emptied))
    }

    fn counts_objects(&self) -> bool {
        false
    }

    async fn ready(&self) -> domain::Result<()> {
        self.client
            .list_buckets()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| domain::Error::Store(client::describe(&self.settings.endpoint, &e)))
    }

    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> domain::Result<Listing> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(self.settings.bucket(bucket))
            .prefix(prefix)
            .delimiter("/")
            .max_keys(i32::try_from(limit).unwrap_or(1000))
            .set_continuation_token((!after.is_empty()).then(|| after.to_owned()))
            .send()
            .await
            .map_err(|e| domain::Error::Store(self.describe(&e)))?;
        let mut listing = Listing {
            folders: page
                .common_prefixes()
                .iter()
                .filter_map(|p| p.prefix.clone())
                .collect(),
            objects: page.contents().iter().filter_map(object_row).collect(),
            next: None,
        };
        if page.is_truncated() == Some(true) {
            listing.next = page.next_continuation_token.clone();
        }
        Ok(listing)
    }

    async fn walk(
        &self,
        bucket: &str,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> domain::Result<Vec<ObjectRow>> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(self.settings.bucket(bucket))
            .prefix(prefix)
            .max_keys(i32::try_from(limit).unwrap_or(1000))
            .set_start_after((!after.is_empty()).then(|| after.to_owned()))
            .send()
            .await
            .map_err(|e| domain::Error::Store(self.describe(&e)))?;
        Ok(page.contents().iter().filter_map(object_row).collect())
    }

    async fn delete_object(&self, bucket: &str, key: &str) -> domain::Result<()> {
        self.client
            .delete_object()
            .bucket(self.settings.bucket(bucket))
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| domain::Error::Store(self.describe(&e)))
    }

    async fn object(&self, bucket: &str, key: &str) -> domain::Result<Option<ObjectInfo>> {
        let Ok(upstream) = self.upstream_object(bucket, key).await else {
            return Ok(None);
        };
        let head = self
            .client
            .head_object()
            .bucket(&upstream)
            .key(key)
            .send()
            .await;
        match head {
            Ok(head) => {
                let mut metadata: Vec<(String, String)> = head
                    .metadata
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                metadata.sort();
                Ok(Some(ObjectInfo {
                    key: key.to_owned(),
                    size: head.content_length.unwrap_or(0),
                    content_type: head.content_type.clone(),
                    etag: head
                        .e_tag
                        .clone()
                        .unwrap_or_default()
                        .trim_matches('"')
                        .to_owned(),
                    last_modified: head.last_modified.map(|t| t.secs()).unwrap_or(0),
                    metadata,
                    live_links: 0,
                }))
            }
            // A HEAD's error has no body: a 404 is all there is to go on.
            Err(err) if err.raw_response().map(|r| r.status().as_u16()) == Some(404) => Ok(None),
            Err(err) => Err(domain::Error::Store(self.describe(&err))),
        }
    }

    async fn read(
        &self,
        bucket: &str,
        key: &str,
        range: &(dyn Fn(u64) -> Option<std::ops::Range<u64>> + Send + Sync),
    ) -> domain::Result<Option<ObjectRead>> {
        let Some(info) = self.object(bucket, key).await? else {
            return Ok(None);
        };
        let range = range(u64::try_from(info.size).unwrap_or(0));
        let got = self
            .client
            .get_object()
            .bucket(self.settings.bucket(bucket))
            .key(key)
            // The object the HEAD described, not one put since.
            .if_match(format!("\"{}\"", info.etag))
            .set_range(
                range
                    .as_ref()
                    .map(|r| format!("bytes={}-{}", r.start, r.end.saturating_sub(1))),
            )
            .send()
            .await
            .map_err(|e| domain::Error::Store(self.describe(&e)))?;
        let body = got.body.into_async_read();
        Ok(Some(ObjectRead {
            info,
            range,
            body: Box::pin(tokio_util::io::ReaderStream::new(body)),
        }))
    }

    async fn upload(
        &self,
        bucket: &str,
        key: &str,
        content_type: Option<String>,
        body: UploadBody<'_>,
    ) -> domain::Result<u64> {
        let upstream = self
            .upstream_object(bucket, key)
            .await
            .map_err(|e| answers::failure(e, bucket))?;
        self.send_upload(&upstream, key, content_type, body)
            .await
            .map_err(domain::Error::Store)
    }
}

crate::store::parts::through_s3!(UpstreamStore);

/// A listed upstream object as the console's listings show it (`None` without a key).
/// (Listings are asked without `encoding-type=url`: s3s-fs answers `EncodingType` url with its
/// keys unencoded, so its answer cannot be trusted to say; a key with a character XML 1.0
/// cannot carry then fails the listing, with the store's error.)
fn object_row(o: &aws_sdk_s3::types::Object) -> Option<ObjectRow> {
    Some(ObjectRow {
        key: o.key.clone()?,
        size: o.size.unwrap_or(0),
        last_modified: o.last_modified.map(|t| t.secs()).unwrap_or(0),
        content_type: None,
        live_links: 0,
    })
}
