//! The object store as the console and the CLI use it (`ObjectStore`), against whichever
//! store the run uses (embedded, or a real upstream S3 server in the second run of
//! scripts/test.sh), and what happens when an upstream cannot be reached.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream;

use crate::s3env::{S3Env, admin, code, store_args};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// An upload body of `len` bytes arriving in 64 KiB chunks.
fn body(data: &[u8]) -> domain::store::UploadBody<'static> {
    let chunks: Vec<Result<Bytes, String>> = data
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(stream::iter(chunks))
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[tokio::test]
async fn the_console_store_creates_browses_uploads_and_deletes() -> TestResult {
    let env = S3Env::start().await;
    let key = env.user("alice", false).await;
    let store = &env.store;
    store
        .create_bucket(&env.pool, "media", Some("alice"), &admin())
        .await?;
    let again = store
        .create_bucket(&env.pool, "media", None, &admin())
        .await;
    assert!(
        matches!(again, Err(domain::Error::AlreadyExists { .. })),
        "{again:?}"
    );
    let bad = store
        .create_bucket(&env.pool, "No_Such", None, &admin())
        .await;
    assert!(matches!(bad, Err(domain::Error::Invalid { .. })), "{bad:?}");

    // 20 MiB: more than one part of an upstream multipart upload.
    let big = payload(20 * 1024 * 1024 + 3);
    let size = store
        .upload(
            "media",
            "video/big.bin",
            Some("video/mp4".into()),
            body(&big),
        )
        .await?;
    assert_eq!(size, big.len() as u64);
    for name in ["a.txt", "b.txt", "docs/one.txt", "docs/two.txt", "z.txt"] {
        store
            .upload("media", name, None, body(name.as_bytes()))
            .await?;
    }
    let empty = store.upload("media", "empty", None, body(b"")).await?;
    assert_eq!(empty, 0);
    let missing = store.upload("nowhere", "x", None, body(b"x")).await;
    assert!(missing.is_err());
    // The embedded store keeps keys out of paths; an upstream might normalize them into
    // another bucket, so `..` segments are refused there.
    let dots = store.upload("media", "../x", None, body(b"x")).await;
    assert_eq!(dots.is_err(), !env.embedded(), "{dots:?}");
    if dots.is_ok() {
        store.delete_object("media", "../x").await?;
    }

    // The bytes are what the S3 endpoint serves.
    let s3 = env.client(&key);
    let got = s3
        .get_object()
        .bucket("media")
        .key("video/big.bin")
        .send()
        .await?;
    assert_eq!(got.body.collect().await?.into_bytes().as_ref(), &big[..]);

    // Folded at `/`, in pages.
    let all = store.list("media", "", "", 100).await?;
    assert_eq!(all.folders, ["docs/", "video/"]);
    let keys: Vec<&str> = all.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["a.txt", "b.txt", "empty", "z.txt"]);
    assert_eq!(all.objects[0].size, 5);
    assert!(all.next.is_none());
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let page = store.list("media", "", &after, 2).await?;
        assert!(page.folders.len() + page.objects.len() <= 2);
        seen.extend(page.folders);
        seen.extend(page.objects.into_iter().map(|o| o.key));
        match page.next {
            Some(next) => after = next,
            None => break,
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        ["a.txt", "b.txt", "docs/", "empty", "video/", "z.txt"]
    );
    let docs = store.list("media", "docs/", "", 100).await?;
    let keys: Vec<&str> = docs.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["docs/one.txt", "docs/two.txt"]);
    // A folder in pages: keys sort before and after it, and the last page says it is the last.
    let first = store.list("media", "docs/", "", 1).await?;
    assert_eq!(first.objects[0].key, "docs/one.txt");
    let after = first.next.expect("a second page");
    let second = store.list("media", "docs/", &after, 1).await?;
    assert_eq!(second.objects[0].key, "docs/two.txt");
    assert!(second.folders.is_empty());
    assert!(second.next.is_none(), "{:?}", second.next);

    store.delete_object("media", "a.txt").await?;
    store.delete_object("media", "a.txt").await?; // deleting a missing object succeeds
    assert_eq!(
        code(s3.head_object().bucket("media").key("a.txt").send().await),
        "NotFound"
    );

    // Not empty: refused, nothing lost; with its contents: gone, upstream too.
    let refused = store
        .delete_bucket(&env.pool, "media", false, &admin())
        .await;
    assert!(
        matches!(refused, Err(domain::Error::BucketNotEmpty { .. })),
        "{refused:?}"
    );
    assert_eq!(store.list("media", "", "", 100).await?.objects.len(), 3);
    let deleted = store
        .delete_bucket(&env.pool, "media", true, &admin())
        .await?;
    assert_eq!(deleted, Some(6));
    assert!(domain::buckets::get(&env.pool, "media").await.is_err());
    assert_eq!(
        code(s3.list_objects_v2().bucket("media").send().await),
        "NoSuchBucket"
    );
    // Re-created, it starts empty.
    store
        .create_bucket(&env.pool, "media", Some("alice"), &admin())
        .await?;
    assert!(store.list("media", "", "", 100).await?.objects.is_empty());
    store.ready().await?;
    Ok(())
}

/// An upstream store on a port nobody listens on.
fn unreachable_store() -> server::config::StoreArgs {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9);
    let mut args = store_args();
    args.store = server::config::StoreKind::S3;
    args.store_endpoint = Some(format!("http://127.0.0.1:{closed}"));
    args.store_access_key = Some("SERVICEKEY".into());
    args.store_secret_key = Some(server::config::Redacted("service-secret".into()));
    args.store_secret_key_file = None;
    args.store_path_style = true;
    args
}

#[tokio::test]
async fn an_unreachable_upstream_answers_503_and_is_not_ready() -> TestResult {
    let env = S3Env::start_on(
        unreachable_store(),
        None,
        domain::audit::Network::default(),
        true,
    )
    .await;
    let key = env.user("alice", false).await;
    // Registered while the upstream was there.
    domain::buckets::create(&env.pool, "team", Some("alice"), &admin()).await?;
    let s3 = env.client(&key);
    let started = Instant::now();
    let got = s3.get_object().bucket("team").key("x").send().await;
    let took = started.elapsed();
    assert_eq!(code(got), "ServiceUnavailable");
    // Retries are few and short: a client is not kept waiting (generous bound, a hang guard).
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert_eq!(
        code(
            s3.put_object()
                .bucket("team")
                .key("x")
                .body(b"x".to_vec().into())
                .send()
                .await
        ),
        "ServiceUnavailable"
    );
    // Buckets bucketshare does not have are never looked for upstream.
    assert_eq!(
        code(s3.get_object().bucket("other").key("x").send().await),
        "NoSuchBucket"
    );
    let ready = env.store.ready().await;
    assert!(
        ready.as_ref().is_err_and(
            |e| matches!(e, domain::Error::Store(m) if m.contains("cannot be reached"))
        ),
        "{ready:?}"
    );
    let created = env
        .store
        .create_bucket(&env.pool, "later", None, &admin())
        .await;
    match created {
        Err(domain::Error::Store(message)) => assert!(message.contains("cannot be reached")),
        other => panic!("{other:?}"),
    }
    assert!(domain::buckets::get(&env.pool, "later").await.is_err());
    Ok(())
}

#[tokio::test]
async fn a_data_dir_keeps_the_store_it_was_first_used_with() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pool = crate::harness::open_data_dir(dir.path()).await?;
    let mut embedded = store_args();
    embedded.store = server::config::StoreKind::Embedded;
    server::store::Store::open(&embedded, &pool, dir.path()).await?;
    let other = server::store::Store::open(&unreachable_store(), &pool, dir.path()).await;
    let err = other.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("--store embedded"), "{err}");

    let dir = tempfile::tempdir()?;
    let pool = crate::harness::open_data_dir(dir.path()).await?;
    let upstream = unreachable_store();
    server::store::Store::open(&upstream, &pool, dir.path()).await?;
    let mut prefixed = upstream.clone();
    prefixed.store_bucket_prefix = "other-".into();
    let err = server::store::Store::open(&prefixed, &pool, dir.path())
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("--store-bucket-prefix"), "{err}");
    // A moved endpoint is fine: same buckets, new address.
    let mut moved = upstream.clone();
    moved.store_endpoint = Some("http://127.0.0.1:1".into());
    server::store::Store::open(&moved, &pool, dir.path()).await?;
    // Missing settings are named.
    let mut incomplete = upstream;
    incomplete.store_access_key = None;
    let err = server::store::Store::open(&incomplete, &pool, dir.path())
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("--store-access-key"), "{err}");
    Ok(())
}

/// What the buckets list and a bucket's Settings show (objects and bytes, kept by triggers as
/// objects change) against what a full listing finds, after each kind of change the S3
/// endpoint and the console make. The embedded store only: an upstream's objects are not rows.
#[tokio::test]
async fn a_buckets_counts_follow_every_change_to_its_objects() -> TestResult {
    let env = S3Env::start().await;
    if !env.embedded() {
        return Ok(());
    }
    let key = env.user("alice", true).await;
    let s3 = env.client(&key);
    s3.create_bucket().bucket("counted").send().await?;
    s3.create_bucket().bucket("other").send().await?;
    let check = |step: &'static str| {
        let (pool, s3) = (env.pool.clone(), s3.clone());
        async move {
            let mut truth = (0_i64, 0_i64);
            let mut pages = s3
                .list_objects_v2()
                .bucket("counted")
                .max_keys(2)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                for object in page.unwrap().contents() {
                    truth.0 += 1;
                    truth.1 += object.size().unwrap();
                }
            }
            let shown = domain::buckets::get(&pool, "counted").await.unwrap();
            assert_eq!((shown.objects, shown.bytes), truth, "after {step}");
            truth
        }
    };
    assert_eq!(check("creating the bucket").await, (0, 0));
    for (name, len) in [("a", 10), ("b", 20), ("dir/c", 30)] {
        s3.put_object()
            .bucket("counted")
            .key(name)
            .body(payload(len).into())
            .send()
            .await?;
    }
    s3.put_object()
        .bucket("other")
        .key("elsewhere")
        .body(payload(1000).into())
        .send()
        .await?;
    assert_eq!(check("three PUTs").await, (3, 60));
    s3.put_object()
        .bucket("counted")
        .key("a")
        .body(payload(15).into())
        .send()
        .await?;
    assert_eq!(check("replacing one by a larger one").await, (3, 65));
    s3.copy_object()
        .bucket("counted")
        .key("copy")
        .copy_source("counted/dir/c")
        .send()
        .await?;
    s3.copy_object()
        .bucket("counted")
        .key("b")
        .copy_source("other/elsewhere")
        .send()
        .await?;
    assert_eq!(check("two copies, one over an object").await, (4, 1075));
    let upload = s3
        .create_multipart_upload()
        .bucket("counted")
        .key("big")
        .send()
        .await?;
    let id = upload.upload_id().unwrap();
    let mut parts = aws_sdk_s3::types::CompletedMultipartUpload::builder();
    for (number, len) in [(1, 5 * 1024 * 1024), (2, 7)] {
        let part = s3
            .upload_part()
            .bucket("counted")
            .key("big")
            .upload_id(id)
            .part_number(number)
            .body(payload(len).into())
            .send()
            .await?;
        parts = parts.parts(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(number)
                .e_tag(part.e_tag().unwrap())
                .build(),
        );
    }
    assert_eq!(check("parts uploaded, not completed").await, (4, 1075));
    s3.complete_multipart_upload()
        .bucket("counted")
        .key("big")
        .upload_id(id)
        .multipart_upload(parts.build())
        .send()
        .await?;
    assert_eq!(
        check("a multipart upload completed").await,
        (5, 1075 + 5 * 1024 * 1024 + 7)
    );
    s3.delete_object().bucket("counted").key("a").send().await?;
    s3.delete_object().bucket("counted").key("a").send().await?;
    let mut gone = aws_sdk_s3::types::Delete::builder();
    for key in ["b", "none"] {
        gone = gone.objects(
            aws_sdk_s3::types::ObjectIdentifier::builder()
                .key(key)
                .build()?,
        );
    }
    let gone = gone.build()?;
    s3.delete_objects()
        .bucket("counted")
        .delete(gone)
        .send()
        .await?;
    assert_eq!(
        check("deleting one twice and a batch").await,
        (3, 30 + 30 + 5 * 1024 * 1024 + 7)
    );
    env.store
        .upload("counted", "console.txt", None, body(b"console"))
        .await?;
    assert_eq!(
        check("a console upload").await,
        (4, 67 + 5 * 1024 * 1024 + 7)
    );
    env.store
        .delete_bucket(&env.pool, "counted", true, &admin())
        .await?;
    env.store
        .create_bucket(&env.pool, "counted", Some("alice"), &admin())
        .await?;
    assert_eq!(check("deleted and made again").await, (0, 0));
    let other = domain::buckets::get(&env.pool, "other").await?;
    assert_eq!((other.objects, other.bytes), (1, 1000));
    Ok(())
}
