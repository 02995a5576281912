//! Files sent in parts by bucketshare itself (an upload page's), and new objects that must not
//! replace one: asked of either store through its own S3 implementation, as the page's user,
//! so that both stores do what their S3 endpoint does for a multipart upload (part checks,
//! ETags, the upstream's names) and nothing is written twice.

use domain::store::{Part, Target, UploadBody};
use s3s::dto::{
    AbortMultipartUploadInput, CompleteMultipartUploadInput, CompletedMultipartUpload,
    CompletedPart, CreateMultipartUploadInput, HeadObjectInput, ListPartsInput, PutObjectInput,
    StreamingBlob, UploadPartInput,
};
use s3s::{S3, S3Request};

use super::Caller;
use super::answers::failure;

/// A request of `user` to the store itself (no HTTP request behind it).
fn request<T>(input: T, user: &str) -> S3Request<T> {
    let mut extensions = http::Extensions::new();
    extensions.insert(Caller {
        user: user.to_owned(),
        access_key_id: String::new(),
    });
    S3Request {
        input,
        method: http::Method::PUT,
        uri: http::Uri::default(),
        headers: http::HeaderMap::new(),
        extensions,
        credentials: None,
        region: None,
        service: None,
        trailing_headers: None,
    }
}

fn built<T>(input: Result<T, s3s::dto::builders::BuildError>) -> domain::Result<T> {
    input.map_err(|e| domain::Error::Store(format!("cannot form a request: {e}")))
}

/// A body of `size` bytes for the store: its length known ahead, as S3 clients send it.
struct Sized {
    body: std::sync::Mutex<UploadBody<'static>>,
    remaining: usize,
}

impl futures_util::Stream for Sized {
    type Item = Result<bytes::Bytes, s3s::StdError>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let body = this
            .body
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match body.as_mut().poll_next(cx) {
            std::task::Poll::Ready(Some(Ok(chunk))) => {
                this.remaining = this.remaining.saturating_sub(chunk.len());
                std::task::Poll::Ready(Some(Ok(chunk)))
            }
            std::task::Poll::Ready(Some(Err(why))) => {
                std::task::Poll::Ready(Some(Err(std::io::Error::other(why).into())))
            }
            other => other.map(|_| None),
        }
    }
}

impl s3s::stream::ByteStream for Sized {
    fn remaining_length(&self) -> s3s::stream::RemainingLength {
        s3s::stream::RemainingLength::new_exact(self.remaining)
    }
}

fn blob(body: UploadBody<'static>, size: u64) -> StreamingBlob {
    StreamingBlob::new(Sized {
        body: std::sync::Mutex::new(body),
        remaining: usize::try_from(size).unwrap_or(usize::MAX),
    })
}

/// Whether `bucket`/`key` holds an object now.
async fn exists<S: S3>(store: &S, bucket: &str, key: &str, user: &str) -> domain::Result<bool> {
    let input = built(
        HeadObjectInput::builder()
            .bucket(bucket.to_owned())
            .key(key.to_owned())
            .build(),
    )?;
    match store.head_object(request(input, user)).await {
        Ok(_) => Ok(true),
        Err(e)
            if *e.code() == s3s::S3ErrorCode::NoSuchKey
                || e.status_code() == Some(http::StatusCode::NOT_FOUND) =>
        {
            Ok(false)
        }
        Err(e) => Err(failure(e, bucket)),
    }
}

/// `key` is taken: what the page then says.
fn taken(key: &str) -> domain::Error {
    domain::Error::AlreadyExists {
        what: "object",
        name: key.to_owned(),
    }
}

/// A store failure, or [`taken`] when the store refused to replace an object.
fn refused(e: s3s::S3Error, bucket: &str, key: &str) -> domain::Error {
    if *e.code() == s3s::S3ErrorCode::PreconditionFailed {
        taken(key)
    } else {
        failure(e, bucket)
    }
}

/// Stores `body` (`size` bytes) as `bucket`/`key` unless an object is there
/// ([`domain::Error::AlreadyExists`]). Asked with `If-None-Match: *`, and looked at first for
/// an engine that does not honour it.
pub(crate) async fn put_new<S: S3>(
    store: &S,
    at: Target<'_>,
    content_type: Option<String>,
    size: u64,
    body: UploadBody<'static>,
) -> domain::Result<()> {
    if exists(store, at.bucket, at.key, at.user).await? {
        return Err(taken(at.key));
    }
    let input = built(
        PutObjectInput::builder()
            .bucket(at.bucket.to_owned())
            .key(at.key.to_owned())
            .content_type(content_type)
            .content_length(i64::try_from(size).ok())
            .if_none_match(Some(s3s::dto::ETagCondition::Any))
            .body(Some(blob(body, size)))
            .build(),
    )?;
    store
        .put_object(request(input, at.user))
        .await
        .map(|_| ())
        .map_err(|e| refused(e, at.bucket, at.key))
}

/// Starts a multipart upload of `key`; its id.
pub(crate) async fn start<S: S3>(
    store: &S,
    at: Target<'_>,
    content_type: Option<String>,
) -> domain::Result<String> {
    let input = built(
        CreateMultipartUploadInput::builder()
            .bucket(at.bucket.to_owned())
            .key(at.key.to_owned())
            .content_type(content_type)
            .build(),
    )?;
    let out = store
        .create_multipart_upload(request(input, at.user))
        .await
        .map_err(|e| failure(e, at.bucket))?;
    out.output
        .upload_id
        .ok_or_else(|| domain::Error::Store("the store gave no upload id".to_owned()))
}

/// Stores part `number` of upload `id`: `size` bytes from `body` (an earlier copy of that part
/// is replaced). Its ETag.
pub(crate) async fn put<S: S3>(
    store: &S,
    at: Target<'_>,
    id: &str,
    number: i32,
    size: u64,
    body: UploadBody<'static>,
) -> domain::Result<String> {
    let input = built(
        UploadPartInput::builder()
            .bucket(at.bucket.to_owned())
            .key(at.key.to_owned())
            .upload_id(id.to_owned())
            .part_number(number)
            .content_length(i64::try_from(size).ok())
            .body(Some(blob(body, size)))
            .build(),
    )?;
    let out = store
        .upload_part(request(input, at.user))
        .await
        .map_err(|e| failure(e, at.bucket))?;
    Ok(out
        .output
        .e_tag
        .map(|e| e.value().to_owned())
        .unwrap_or_default())
}

/// The parts of upload `id` stored so far, by number.
pub(crate) async fn list<S: S3>(store: &S, at: Target<'_>, id: &str) -> domain::Result<Vec<Part>> {
    let mut parts = Vec::new();
    let mut marker: Option<i32> = None;
    loop {
        let input = built(
            ListPartsInput::builder()
                .bucket(at.bucket.to_owned())
                .key(at.key.to_owned())
                .upload_id(id.to_owned())
                .part_number_marker(marker)
                .build(),
        )?;
        let out = store
            .list_parts(request(input, at.user))
            .await
            .map_err(|e| failure(e, at.bucket))?
            .output;
        for part in out.parts.unwrap_or_default() {
            parts.push(Part {
                number: part.part_number.unwrap_or(0),
                size: part.size.unwrap_or(0),
                etag: part.e_tag.map(|e| e.value().to_owned()).unwrap_or_default(),
            });
        }
        match out.next_part_number_marker {
            Some(next) if out.is_truncated == Some(true) => marker = Some(next),
            _ => break,
        }
    }
    parts.sort_by_key(|p| p.number);
    Ok(parts)
}

/// Joins `parts` into the object `key`, unless an object is there
/// ([`domain::Error::AlreadyExists`]; looked at first, for an engine that does not honour
/// `If-None-Match`).
pub(crate) async fn finish<S: S3>(
    store: &S,
    at: Target<'_>,
    id: &str,
    parts: &[Part],
) -> domain::Result<()> {
    if exists(store, at.bucket, at.key, at.user).await? {
        return Err(taken(at.key));
    }
    let completed = CompletedMultipartUpload {
        parts: Some(
            parts
                .iter()
                .map(|p| CompletedPart {
                    part_number: Some(p.number),
                    e_tag: Some(s3s::dto::ETag::Strong(p.etag.clone())),
                    ..CompletedPart::default()
                })
                .collect(),
        ),
    };
    let input = built(
        CompleteMultipartUploadInput::builder()
            .bucket(at.bucket.to_owned())
            .key(at.key.to_owned())
            .upload_id(id.to_owned())
            .multipart_upload(Some(completed))
            .if_none_match(Some(s3s::dto::ETagCondition::Any))
            .build(),
    )?;
    store
        .complete_multipart_upload(request(input, at.user))
        .await
        .map(|_| ())
        .map_err(|e| refused(e, at.bucket, at.key))
}

/// Gives upload `id` up: its parts are removed. One already gone is no error.
pub(crate) async fn abort<S: S3>(store: &S, at: Target<'_>, id: &str) -> domain::Result<()> {
    let input = built(
        AbortMultipartUploadInput::builder()
            .bucket(at.bucket.to_owned())
            .key(at.key.to_owned())
            .upload_id(id.to_owned())
            .build(),
    )?;
    match store.abort_multipart_upload(request(input, at.user)).await {
        Ok(_) => Ok(()),
        Err(e) if *e.code() == s3s::S3ErrorCode::NoSuchUpload => Ok(()),
        Err(e) => Err(failure(e, at.bucket)),
    }
}

/// [`domain::store::Parts`] for a store, written once for both: each method asks the store's
/// own S3 implementation (the functions above).
macro_rules! through_s3 {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl domain::store::Parts for $store {
            async fn upload_new(
                &self,
                at: domain::store::Target<'_>,
                content_type: Option<String>,
                size: u64,
                body: domain::store::UploadBody<'static>,
            ) -> domain::Result<()> {
                crate::store::parts::put_new(self, at, content_type, size, body).await
            }

            async fn start_parts(
                &self,
                at: domain::store::Target<'_>,
                content_type: Option<String>,
            ) -> domain::Result<String> {
                crate::store::parts::start(self, at, content_type).await
            }

            async fn put_part(
                &self,
                at: domain::store::Target<'_>,
                id: &str,
                number: i32,
                size: u64,
                body: domain::store::UploadBody<'static>,
            ) -> domain::Result<String> {
                crate::store::parts::put(self, at, id, number, size, body).await
            }

            async fn parts(
                &self,
                at: domain::store::Target<'_>,
                id: &str,
            ) -> domain::Result<Vec<domain::store::Part>> {
                crate::store::parts::list(self, at, id).await
            }

            async fn finish_parts(
                &self,
                at: domain::store::Target<'_>,
                id: &str,
                parts: &[domain::store::Part],
            ) -> domain::Result<()> {
                crate::store::parts::finish(self, at, id, parts).await
            }

            async fn abort_parts(
                &self,
                at: domain::store::Target<'_>,
                id: &str,
            ) -> domain::Result<()> {
                crate::store::parts::abort(self, at, id).await
            }
        }
    };
}
pub(crate) use through_s3;
