//! The S3 endpoint attacked: revocation that cannot be dodged by re-encoding a URL, grants that
//! stay inside their prefix for every operation, revocation that outlives the bucket, an audit
//! that hostile text cannot jam, and listeners that hold against slow and greedy clients.

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use domain::grants::Permission;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::TestResult;
use crate::links::{events, get, link, ok, payload};
use crate::s3env::{S3Env, admin, code, eventually};

/// The auth parameter names of a SigV4 link and a SigV2 URL, each letter of which an attacker
/// may percent-encode.
const V4_NAMES: [&str; 6] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
];

/// `url` with the query parameter `name` renamed to `renamed`.
fn rename(url: &str, name: &str, renamed: &str) -> String {
    url.replacen(&format!("&{name}="), &format!("&{renamed}="), 1)
        .replacen(&format!("?{name}="), &format!("?{renamed}="), 1)
}

/// Every way of writing `name` with one character percent-encoded (upper and lower hex), in
/// other case, and with `+`-free forms only (a name has no spaces).
fn encodings(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, c) in name.char_indices() {
        let (head, tail) = (&name[..i], &name[i + c.len_utf8()..]);
        out.push(format!("{head}%{:02X}{tail}", c as u32));
        out.push(format!("{head}%{:02x}{tail}", c as u32));
    }
    out.push(name.to_lowercase());
    out.push(name.to_uppercase());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_link_stays_refused_however_its_parameter_names_are_written() -> TestResult {
    let env = S3Env::start().await;
    let alice = env.user("alice", true).await;
    let s3 = env.client(&alice);
    s3.create_bucket().bucket("team").send().await?;
    s3.put_object()
        .bucket("team")
        .key("secret.txt")
        .body(ByteStream::from(payload(1000)))
        .send()
        .await?;
    let (id, url) = link(&env, "s3://team/secret.txt", "alice", &["--expires", "1h"]);
    assert_eq!(get(&url).await.0, 200);
    ok(&env, &["link", "revoke", &id]);

    let mut variants = 0;
    for name in V4_NAMES {
        for renamed in encodings(name) {
            let variant = rename(&url, name, &renamed);
            let (status, _, body) = get(&variant).await;
            assert!(
                status == 400 || status == 403,
                "{variant} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
            assert!(
                String::from_utf8_lossy(&body).contains("<Code>"),
                "{variant}: an S3 error"
            );
            variants += 1;
        }
        // The parameter twice, plainly and encoded.
        let value = url
            .split(&format!("{name}="))
            .nth(1)
            .and_then(|rest| rest.split('&').next())
            .unwrap_or_default()
            .to_owned();
        let doubled = format!("{url}&{}={value}", encodings(name)[0]);
        assert!(matches!(get(&doubled).await.0, 400 | 403), "{doubled}");
        variants += 1;
    }
    // Every variant that names the link's signature is audited as a refused use of the link;
    // none is counted as an access.
    let signature_variants = encodings("X-Amz-Signature")
        .iter()
        .filter(|n| n.as_str() != "x-amz-signature" && n.as_str() != "X-AMZ-SIGNATURE")
        .count() as i64;
    assert!(
        eventually(|| async {
            events(&env, &format!("link_id = '{id}' AND outcome = 'denied'")).await
                >= signature_variants
        })
        .await,
        "refusals of the revoked link are audited"
    );
    let count: i64 = sqlx::query_scalar("SELECT access_count FROM share_links WHERE id = $1")
        .bind(&id)
        .fetch_one(&env.pool)
        .await?;
    assert_eq!(count, 1, "only the use before revocation counts");
    assert!(variants > 100);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_grant_reaches_no_key_outside_its_prefix_by_any_operation() -> TestResult {
    let env = S3Env::start().await;
    let alice = env.user("alice", true).await;
    let bob = env.user("bob", false).await;
    let owner = env.client(&alice);
    owner.create_bucket().bucket("team").send().await?;
    for key in ["in/a.txt", "out/b.txt"] {
        owner
            .put_object()
            .bucket("team")
            .key(key)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await?;
    }
    domain::grants::add(
        &env.pool,
        "bob",
        "team",
        Permission::Owner,
        "in/",
        None,
        &admin(),
    )
    .await?;
    let s3 = env.client(&bob);
    // Inside the prefix: allowed.
    s3.list_objects_v2()
        .bucket("team")
        .prefix("in/")
        .send()
        .await?;
    s3.get_object()
        .bucket("team")
        .key("in/a.txt")
        .send()
        .await?;
    // Bucket operations that are not listings need the whole bucket.
    assert_eq!(
        code(s3.head_bucket().bucket("team").send().await),
        "HTTP 403"
    );
    assert_eq!(
        code(s3.get_bucket_location().bucket("team").send().await),
        "AccessDenied"
    );
    assert_eq!(
        code(s3.delete_bucket().bucket("team").send().await),
        "AccessDenied"
    );
    assert_eq!(
        code(
            s3.list_objects_v2()
                .bucket("team")
                .prefix("out/")
                .send()
                .await
        ),
        "AccessDenied"
    );
    assert_eq!(
        code(s3.list_objects().bucket("team").send().await),
        "AccessDenied"
    );
    assert_eq!(
        code(s3.list_multipart_uploads().bucket("team").send().await),
        "AccessDenied"
    );
    assert_eq!(
        code(s3.get_object().bucket("team").key("out/b.txt").send().await),
        "AccessDenied"
    );
    assert_eq!(
        code(
            s3.copy_object()
                .bucket("team")
                .key("in/copy.txt")
                .copy_source("team/out/b.txt")
                .send()
                .await
        ),
        "AccessDenied"
    );
    let delete = |keys: &[&str]| {
        Delete::builder()
            .set_objects(Some(
                keys.iter()
                    .map(|k| ObjectIdentifier::builder().key(*k).build().unwrap())
                    .collect(),
            ))
            .build()
            .unwrap()
    };
    assert_eq!(
        code(
            s3.delete_objects()
                .bucket("team")
                .delete(delete(&["in/a.txt", "out/b.txt"]))
                .send()
                .await
        ),
        "AccessDenied"
    );
    // The query `prefix` of a non-listing operation counts for nothing (it used to).
    let raw = reqwest::Client::new()
        .delete(format!("{}/team?prefix=in/", env.endpoint))
        .send()
        .await?;
    assert_eq!(raw.status(), 403);
    // Nothing outside the prefix changed.
    owner
        .get_object()
        .bucket("team")
        .key("out/b.txt")
        .send()
        .await?;
    // S3's limit on one DeleteObjects.
    let many: Vec<String> = (0..1001).map(|i| format!("in/{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(
        code(
            owner
                .delete_objects()
                .bucket("team")
                .delete(delete(&many))
                .send()
                .await
        ),
        "MalformedXML"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_link_stays_revoked_when_its_bucket_is_deleted_and_made_again() -> TestResult {
    let env = S3Env::start().await;
    let alice = env.user("alice", true).await;
    let s3 = env.client(&alice);
    s3.create_bucket().bucket("team").send().await?;
    let put = || {
        s3.put_object()
            .bucket("team")
            .key("a.txt")
            .body(ByteStream::from_static(b"again"))
            .send()
    };
    put().await?;
    let (id, url) = link(&env, "s3://team/a.txt", "alice", &["--expires", "1h"]);
    ok(&env, &["link", "revoke", &id]);
    ok(&env, &["bucket", "delete", "team", "--force"]);
    s3.create_bucket().bucket("team").send().await?;
    put().await?;
    let (status, _, body) = get(&url).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    // Signatures are kept as hashes only.
    let plain: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM share_links WHERE signature IS NOT NULL")
            .fetch_one(&env.pool)
            .await?;
    assert_eq!(plain, 0);
    Ok(())
}

/// Sends raw bytes to the endpoint and returns what came back before the server closed the
/// connection or `wait` passed.
async fn raw(endpoint: &str, request: &[u8], wait: Duration) -> String {
    let addr = endpoint.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(wait, tcp.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_never_jams_the_audit() -> TestResult {
    let env = S3Env::start().await;
    let alice = env.user("alice", true).await;
    let s3 = env.client(&alice);
    s3.create_bucket().bucket("team").send().await?;
    s3.put_object()
        .bucket("team")
        .key("a.txt")
        .body(ByteStream::from_static(b"a"))
        .send()
        .await?;
    // NUL and control characters, and a huge user agent, on a refused pre-signed request.
    let long = "x".repeat(10_000);
    let request = format!(
        "GET /team/a%00b%1b?X-Amz-Signature=zz%00&AWSAccessKeyId=A HTTP/1.1\r\nHost: h\r\nUser-Agent: {long}\tevil\r\nX-Request-Id: id\u{80}\r\nConnection: close\r\n\r\n"
    );
    let answer = raw(&env.endpoint, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    // The writer goes on: a real link use afterwards is recorded.
    let (id, url) = link(&env, "s3://team/a.txt", "alice", &["--expires", "1h"]);
    assert_eq!(get(&url).await.0, 200);
    let recorded = eventually(|| async {
        events(
            &env,
            // The download's event (the link's creation is an event of it too, without a
            // status).
            &format!(
                "link_id = '{id}' AND outcome = 'allowed' AND error_code IS NULL AND status = 200"
            ),
        )
        .await
            == 1
    })
    .await;
    // What was recorded instead, if anything.
    let seen: Vec<(Option<String>, Option<String>, Option<i64>)> =
        sqlx::query_as("SELECT outcome, error_code, status FROM audit_events WHERE link_id = $1")
            .bind(&id)
            .fetch_all(&env.pool)
            .await?;
    assert!(
        recorded,
        "a complete download is recorded as complete; recorded: {seen:?}"
    );
    let hostile = || async {
        sqlx::query_as::<_, (Option<String>, Option<String>)>(
            "SELECT object_key, user_agent FROM audit_events WHERE object_key LIKE 'a%b%'",
        )
        .fetch_all(&env.pool)
        .await
        .unwrap()
    };
    assert!(
        eventually(|| async { !hostile().await.is_empty() }).await,
        "the hostile request is recorded"
    );
    let stored = hostile().await;
    let (key, agent) = stored.first().cloned().unwrap();
    let (key, agent) = (key.unwrap(), agent.unwrap());
    assert!(!key.contains('\0') && !key.contains('\u{1b}'), "{key:?}");
    assert!(agent.chars().count() <= 257, "{}", agent.len());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_for_another_region_or_service_are_client_errors() -> TestResult {
    let env = S3Env::start().await;
    let alice = env.user("alice", true).await;
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(&env.endpoint)
        .region(aws_sdk_s3::config::Region::new("eu-west-9"))
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            &alice.id,
            &alice.secret,
            None,
            None,
            "test",
        ))
        .build();
    let other_region = aws_sdk_s3::Client::from_conf(config);
    assert_eq!(
        code(other_region.list_buckets().send().await),
        "AuthorizationHeaderMalformed"
    );
    let request = format!(
        "GET /team HTTP/1.1\r\nHost: h\r\nAuthorization: AWS4-HMAC-SHA256 Credential={}/20261129/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature={}\r\nConnection: close\r\n\r\n",
        alice.id,
        "0".repeat(64)
    );
    let answer = raw(&env.endpoint, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_greedy_clients_meet_the_listener_limits() -> TestResult {
    let router = axum::Router::new().route(
        "/upload",
        axum::routing::put(|body: axum::body::Body| async move {
            match axum::body::to_bytes(body, usize::MAX).await {
                Ok(bytes) => format!("got {}", bytes.len()),
                Err(err) => format!("cut off: {err}"),
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let limits = server::listen::Limits {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        max_connections: 2,
        max_header_bytes: 8192,
    };
    tokio::spawn(server::listen::serve(
        listener,
        router,
        limits,
        std::future::pending(),
    ));
    // Headers never finished: the connection is closed after the header timeout.
    let started = std::time::Instant::now();
    let answer = raw(
        &endpoint,
        b"GET /upload HTTP/1.1\r\nHost: h\r\n",
        Duration::from_secs(10),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(5), "{answer}");
    // A body that stalls halfway is cut off.
    let answer = raw(
        &endpoint,
        b"PUT /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\nConnection: close\r\n\r\nhalf",
        Duration::from_secs(10),
    )
    .await;
    assert!(answer.contains("cut off") || answer.is_empty(), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(8));
    // A request head larger than the limit: 431.
    let big = format!(
        "GET /upload HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let answer = raw(&endpoint, big.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    // Two idle connections take every slot: a third is served only once one goes.
    let addr = endpoint.trim_start_matches("http://").to_owned();
    let first = tokio::net::TcpStream::connect(&addr).await?;
    let _second = tokio::net::TcpStream::connect(&addr).await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let third = tokio::spawn({
        let endpoint = endpoint.clone();
        async move {
            raw(
                &endpoint,
                b"PUT /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                Duration::from_secs(10),
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!third.is_finished(), "served beyond the connection limit");
    drop(first);
    let answer = third.await?;
    assert!(answer.contains("got 2"), "{answer}");
    Ok(())
}

#[test]
fn uploads_in_progress_survive_another_instances_sweep() -> TestResult {
    let dir = tempfile::tempdir()?;
    let objects = dir.path().join("objects");
    let scratch = server::store::Scratch::create(&objects)?;
    let receiving = scratch.dir().join("upload");
    std::fs::write(&receiving, b"half")?;
    // Another instance starts: this process is alive, its upload stays.
    assert_eq!(server::store::sweep_scratch(&objects)?, 0);
    assert!(receiving.exists());
    // This process goes (its lock with it): the next sweep removes what it left.
    drop(scratch);
    assert_eq!(server::store::sweep_scratch(&objects)?, 1);
    assert!(!receiving.exists());
    assert_eq!(std::fs::read_dir(objects.join("tmp"))?.count(), 0);
    Ok(())
}

#[tokio::test]
async fn an_existing_data_dir_open_to_others_is_made_private() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    std::fs::create_dir(&data)?;
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755))?;
    let _pool = crate::harness::open_data_dir(&data).await?;
    let mode = std::fs::metadata(&data)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{mode:o}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delimiter_listing_folds_big_folders_and_pages_across_them() -> TestResult {
    let env = S3Env::start().await;
    if !env.embedded() {
        return Ok(()); // rows are made in the embedded store's index
    }
    let alice = env.user("alice", true).await;
    let s3 = env.client(&alice);
    s3.create_bucket().bucket("team").send().await?;
    // 20,000 keys in one folder and 20,000 in another, made in SQL (listings read rows only).
    for folder in ["big/", "huge/"] {
        sqlx::query(
            "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
             INSERT INTO objects (bucket, key, blob, size, etag, last_modified)
             SELECT 'team', $1 || n.i, $1 || 'blob' || n.i, 1, 'e', 0 FROM n",
        )
        .bind(folder)
        .execute(&env.pool)
        .await?;
    }
    for key in ["a.txt", "big.txt", "z/1", "zz.txt"] {
        s3.put_object()
            .bucket("team")
            .key(key)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await?;
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket("team")
            .delimiter("/")
            .max_keys(2)
            .set_continuation_token(token.clone())
            .send()
            .await?;
        for object in page.contents() {
            seen.push(object.key().unwrap_or_default().to_owned());
        }
        for common in page.common_prefixes() {
            seen.push(common.prefix().unwrap_or_default().to_owned());
        }
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, ["a.txt", "big.txt", "big/", "huge/", "z/", "zz.txt"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iam_user_never_adopts_a_bucket_the_upstream_already_has() -> TestResult {
    let env = S3Env::start().await;
    if env.embedded() {
        return Ok(()); // only an upstream store has buckets bucketshare does not know
    }
    // An admin adopts (creates) `legacy` upstream; then bucketshare forgets its row, as if the
    // bucket were another data dir's or made outside bucketshare.
    env.store
        .create_bucket(&env.pool, "legacy", None, &admin())
        .await?;
    sqlx::query("DELETE FROM buckets WHERE name = 'legacy'")
        .execute(&env.pool)
        .await?;
    let alice = env.user("alice", true).await;
    let s3 = env.client(&alice);
    assert_eq!(
        code(s3.create_bucket().bucket("legacy").send().await),
        "BucketAlreadyExists"
    );
    // A bucket nobody has is created as usual. (Whether an admin may adopt `legacy` again
    // depends on the engine: s3s-fs answers BucketAlreadyExists to its own account.)
    s3.create_bucket().bucket("fresh").send().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_audit_cannot_keep_up_pre_signed_requests_get_slow_down_not_a_hang() -> TestResult
{
    let env = S3Env::start().await;
    let alice = env.user("alice", true).await;
    env.client(&alice)
        .create_bucket()
        .bucket("team")
        .send()
        .await?;
    env.client(&alice)
        .put_object()
        .bucket("team")
        .key("a.txt")
        .body(ByteStream::from_static(b"a"))
        .send()
        .await?;
    // A second endpoint on the same data dir whose audit queue holds one event.
    let mut store_args = crate::s3env::store_args();
    store_args.store_bucket_prefix = env.upstream_prefix.clone().unwrap_or_default();
    let store = server::store::Store::open(&store_args, &env.pool, env.dir.path()).await?;
    let network = domain::audit::Network::new(Vec::new(), false);
    let (log, _writer) = server::s3::AuditLog::start_with_room(env.pool.clone(), network, true, 1);
    let settings = server::s3::S3Settings {
        domain: None,
        live: env.settings.clone(),
        data_dir: Some(env.dir.path().to_owned()),
    };
    let router = server::s3::router(env.pool.clone(), env.master.clone(), store, &settings, log)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    tokio::spawn(server::listen::serve(
        listener,
        router,
        Default::default(),
        std::future::pending(),
    ));
    let s3 = env.client_with(&alice.id, &alice.secret);
    let config = s3.config().to_builder().endpoint_url(&endpoint).build();
    let url = aws_sdk_s3::Client::from_conf(config)
        .get_object()
        .bucket("team")
        .key("a.txt")
        .presigned(aws_sdk_s3::presigning::PresigningConfig::expires_in(
            Duration::from_secs(600),
        )?)
        .await?
        .uri()
        .to_owned();
    // The database's writer is busy elsewhere: the audit writer takes one event and waits.
    let held = domain::db::write_tx(&env.pool).await?;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let status = reqwest::get(&url).await?.status().as_u16();
        assert!(started.elapsed() < Duration::from_secs(4), "answered fast");
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [200, 200, 503],
        "the third finds no room: SlowDown"
    );
    held.rollback().await?;
    // Once the writer goes on, the allowed requests are all recorded.
    assert!(
        eventually(|| async {
            events(&env, "outcome = 'allowed' AND action = 'GetObject'").await == 2
        })
        .await
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_are_audited_complete_or_cut_short_as_they_were() -> TestResult {
    let env = S3Env::start().await;
    let alice = env.user("alice", true).await;
    let s3 = env.client(&alice);
    s3.create_bucket().bucket("team").send().await?;
    let size = 8 * 1024 * 1024;
    s3.put_object()
        .bucket("team")
        .key("big.bin")
        .body(ByteStream::from(payload(size)))
        .send()
        .await?;
    let (id, url) = link(&env, "s3://team/big.bin", "alice", &["--expires", "1h"]);
    // Complete, as curl or a browser reads it.
    let (status, _, bytes) = get(&url).await;
    assert_eq!((status, bytes.len()), (200, size));
    // Cut short: read the head and a little of the body, then hang up.
    let target = url.trim_start_matches(&env.endpoint);
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\n\r\n",
        env.endpoint.trim_start_matches("http://")
    );
    let mut tcp =
        tokio::net::TcpStream::connect(env.endpoint.trim_start_matches("http://")).await?;
    tcp.write_all(request.as_bytes()).await?;
    let mut some = vec![0u8; 64 * 1024];
    tcp.read_exact(&mut some).await?;
    drop(tcp);
    let recorded = || async {
        sqlx::query_as::<_, (Option<String>, i64)>(
            "SELECT error_code, bytes_sent FROM audit_events
             WHERE link_id = $1 AND action = 'GetObject' ORDER BY id",
        )
        .bind(&id)
        .fetch_all(&env.pool)
        .await
        .unwrap()
    };
    assert!(eventually(|| async { recorded().await.len() == 2 }).await);
    let events = recorded().await;
    assert_eq!(events[0], (None, size as i64), "complete");
    assert_eq!(events[1].0.as_deref(), Some("ClientDisconnected"));
    assert!(events[1].1 < size as i64, "{events:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_get_racing_overwrites_and_deletes_answers_old_new_or_404_never_500() -> TestResult {
    let env = S3Env::start().await;
    if !env.embedded() {
        return Ok(()); // an upstream store's own races are its own
    }
    let alice = env.user("alice", true).await;
    let s3 = env.client(&alice);
    s3.create_bucket().bucket("team").send().await?;
    let versions: Vec<Vec<u8>> = (0..4u8).map(|v| vec![b'a' + v; 64 * 1024]).collect();
    s3.put_object()
        .bucket("team")
        .key("hot")
        .body(ByteStream::from(versions[0].clone()))
        .send()
        .await?;
    let writer = {
        let s3 = s3.clone();
        let versions = versions.clone();
        tokio::spawn(async move {
            for round in 0..150 {
                if round % 10 == 9 {
                    let _ = s3.delete_object().bucket("team").key("hot").send().await;
                } else {
                    let body = versions[round % versions.len()].clone();
                    let _ = s3
                        .put_object()
                        .bucket("team")
                        .key("hot")
                        .body(ByteStream::from(body))
                        .send()
                        .await;
                }
            }
        })
    };
    let mut answers = std::collections::BTreeMap::new();
    while !writer.is_finished() {
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let s3 = s3.clone();
                tokio::spawn(async move {
                    match s3.get_object().bucket("team").key("hot").send().await {
                        Ok(out) => Ok(out.body.collect().await.map(|b| b.into_bytes().to_vec())),
                        Err(err) => Err(err.raw_response().map(|r| r.status().as_u16())),
                    }
                })
            })
            .collect();
        for reader in readers {
            match reader.await? {
                Ok(Ok(body)) => {
                    assert!(versions.contains(&body), "a mix of versions");
                    *answers.entry(200).or_insert(0) += 1;
                }
                Ok(Err(_)) => *answers.entry(0).or_insert(0) += 1,
                Err(status) => *answers.entry(status.unwrap_or(0)).or_insert(0) += 1,
            }
        }
    }
    writer.await?;
    assert!(
        answers.keys().all(|s| *s == 200 || *s == 404),
        "{answers:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_the_database_refuses_never_holds_up_the_others() -> TestResult {
    let env = S3Env::start().await;
    if domain::db::Backend::of(&env.pool) != domain::db::Backend::Sqlite {
        return Ok(()); // the refusing trigger below is SQLite's dialect
    }
    let alice = env.user("alice", true).await;
    let s3 = env.client(&alice);
    s3.create_bucket().bucket("team").send().await?;
    s3.put_object()
        .bucket("team")
        .key("a.txt")
        .body(ByteStream::from_static(b"a"))
        .send()
        .await?;
    let (id, url) = link(&env, "s3://team/a.txt", "alice", &["--expires", "1h"]);
    // The database refuses one kind of event (as PostgreSQL refused NUL bytes before they were
    // cleaned out).
    sqlx::query(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON audit_events
         WHEN NEW.user_agent = 'poison'
         BEGIN SELECT RAISE(ABORT, 'poisoned event'); END",
    )
    .execute(&env.pool)
    .await?;
    let http = reqwest::Client::new();
    let mut uses = Vec::new();
    for n in 0..20 {
        let agent = if n == 7 { "poison" } else { "curl" };
        uses.push(http.get(&url).header("user-agent", agent).send());
    }
    for answer in futures_util::future::join_all(uses).await {
        assert_eq!(answer?.status(), 200);
    }
    assert!(
        eventually(|| async {
            events(&env, &format!("link_id = '{id}' AND action = 'GetObject'")).await == 19
        })
        .await,
        "the 19 other uses are recorded"
    );
    // And the writer goes on with what comes next.
    assert_eq!(get(&url).await.0, 200);
    assert!(
        eventually(|| async {
            events(&env, &format!("link_id = '{id}' AND action = 'GetObject'")).await == 20
        })
        .await
    );
    Ok(())
}
