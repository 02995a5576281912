//! The embedded store: objects in files under the data dir ([`files`]), indexed in the
//! database. This file routes s3s's calls; objects, multipart uploads, listings and what the
//! console asks of the store live in their own files, and the headers and checksums an object
//! keeps in [`stored`] and [`checksum`].

mod checksum;
mod console;
mod direct;
mod files;
mod listing;
mod multipart;
mod objects;
mod pieces;
mod stored;

pub use files::{Scratch, blob_path, objects_dir, remove_blobs, sweep_scratch};
pub use objects::{sweep_orphans, sweep_orphans_older_than};

use crate::store::answers::{
    caller, caller_origin, create_bucket_answer, current_only, db_error, delete_bucket_answer,
    list_buckets, require_bucket,
};
use std::path::PathBuf;

use domain::db::Pool;
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result};

use domain::store::ObjectStore;

/// Objects in files under `objects_dir`, indexed in SQLite.
#[derive(Clone)]
pub struct EmbeddedStore {
    pub(super) pool: Pool,
    pub(super) objects_dir: PathBuf,
    /// Where this process receives uploads before they become blobs.
    pub(super) scratch: std::sync::Arc<Scratch>,
    /// On SQLite: the file a GET reads its row from on the thread that reads its bytes.
    direct: Option<direct::DirectRows>,
}

impl EmbeddedStore {
    /// This fails if: the scratch directory for uploads cannot be made under `objects_dir`.
    pub fn new(pool: Pool, objects_dir: PathBuf) -> std::io::Result<Self> {
        let scratch = std::sync::Arc::new(Scratch::create(&objects_dir)?);
        Ok(EmbeddedStore {
            direct: direct::DirectRows::of(&pool),
            pool,
            objects_dir,
            scratch,
        })
    }

    /// Fails with `NoSuchBucket` unless `bucket` exists.
    pub(super) async fn require_bucket(&self, bucket: &str) -> S3Result<()> {
        require_bucket(&self.pool, bucket).await
    }
}

/// A failed insert: `gone` if the row it belongs to (bucket, upload) was deleted meanwhile (a
/// foreign key violation), else a database error.
pub(super) fn insert_error(err: sqlx::Error, gone: s3s::S3Error) -> s3s::S3Error {
    match err.as_database_error().map(|e| e.kind()) {
        Some(sqlx::error::ErrorKind::ForeignKeyViolation) => gone,
        _ => db_error(err),
    }
}

/// A filesystem failure, logged, as S3's `InternalError`.
pub(super) fn io_error(err: impl std::fmt::Display) -> s3s::S3Error {
    crate::store::answers::internal("file", err)
}

#[async_trait::async_trait]
impl S3 for EmbeddedStore {
    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let user = caller(&req)?;
        list_buckets(&self.pool, &user, &req.input)
            .await
            .map(S3Response::new)
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let origin = caller_origin(&req)?;
        let bucket = req.input.bucket;
        let created =
            domain::buckets::create(&self.pool, &bucket, Some(&origin.name), &origin).await;
        create_bucket_answer(&self.pool, &origin.name, &bucket, created.map(|_| ())).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.require_bucket(&req.input.bucket).await?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.require_bucket(&req.input.bucket).await?;
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
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        listing::list_objects_v2(self, req.input)
            .await
            .map(S3Response::new)
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        listing::list_objects_v1(self, req.input)
            .await
            .map(S3Response::new)
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        listing::list_object_versions(self, req.input)
            .await
            .map(S3Response::new)
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        objects::put(self, req.input, req.trailing_headers.as_ref())
            .await
            .map(S3Response::new)
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        objects::get(self, req.input).await.map(S3Response::new)
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        objects::head(self, req.input).await.map(S3Response::new)
    }

    async fn get_object_attributes(
        &self,
        req: S3Request<GetObjectAttributesInput>,
    ) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        objects::attributes(self, req.input)
            .await
            .map(S3Response::new)
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        current_only(req.input.version_id.as_deref())?;
        objects::delete(self, &req.input.bucket, &req.input.key).await?;
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        objects::delete_many(self, req.input)
            .await
            .map(S3Response::new)
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        objects::copy(self, req.input).await.map(S3Response::new)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let user = caller(&req)?;
        multipart::create(self, &user, req.input)
            .await
            .map(S3Response::new)
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        multipart::upload_part(self, req.input, req.trailing_headers.as_ref())
            .await
            .map(S3Response::new)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        multipart::complete(self, req.input)
            .await
            .map(S3Response::new)
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        multipart::abort(self, req.input).await?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        multipart::list_parts(self, req.input)
            .await
            .map(S3Response::new)
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        multipart::list_uploads(self, req.input)
            .await
            .map(S3Response::new)
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        multipart::upload_part_copy(self, req.input)
            .await
            .map(S3Response::new)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A row whose bucket is gone (deleted between the request's checks and its commit) is
    /// the client's `NoSuch…` error, not an internal one: on SQLite, and on PostgreSQL when the
    /// tests have one (`BUCKETSHARE_TEST_POSTGRES`, see `scripts/postgres-tests.sh`).
    #[tokio::test]
    async fn an_insert_into_a_deleted_bucket_is_no_such_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.db");
        let mut pools = vec![
            crate::db::open(crate::db::Location::File(&file))
                .await
                .unwrap(),
        ];
        if let Ok(server) = std::env::var("BUCKETSHARE_TEST_POSTGRES") {
            use sqlx::Connection;
            let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
                .await
                .unwrap();
            let _ = sqlx::query("DROP DATABASE IF EXISTS bs_unit_store")
                .execute(&mut admin)
                .await;
            sqlx::query("CREATE DATABASE bs_unit_store")
                .execute(&mut admin)
                .await
                .unwrap();
            let url = format!("{server}/bs_unit_store");
            pools.push(
                crate::db::open(crate::db::Location::Url(&url))
                    .await
                    .unwrap(),
            );
        }
        for pool in pools {
            let err = sqlx::query(
                "INSERT INTO objects (bucket, key, blob, size, etag, last_modified)
                 VALUES ('gone', 'k', 'b', 0, 'e', 0)",
            )
            .execute(&pool)
            .await
            .unwrap_err();
            let mapped = insert_error(err, s3s::s3_error!(NoSuchBucket));
            assert_eq!(*mapped.code(), s3s::S3ErrorCode::NoSuchBucket);
        }
    }
}
