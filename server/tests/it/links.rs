//! Share links end to end: issued and revoked with the real CLI binary, used over HTTP against
//! an S3 endpoint on the same data dir, killed by key, user and grant changes, and found in
//! the audit trail with the right fields.

use std::process::{Command, Output};

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use domain::grants::Permission;
use serde_json::Value;

use crate::harness::TestResult;
use crate::s3env::{S3Env, admin, eventually};

/// The CLI on the endpoint's data dir, with links signed for the endpoint.
///
/// Tests that run it use the multi-threaded runtime: the CLI blocks the thread it waits on,
/// and the in-process endpoint's audit writer must go on committing meanwhile.
pub(crate) fn cli(env: &S3Env, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bucketshare"));
    if let Some(prefix) = &env.upstream_prefix {
        command.env("BUCKETSHARE_STORE_BUCKET_PREFIX", prefix);
    }
    command
        .arg("--data-dir")
        .arg(env.dir.path())
        .arg("--public-s3-url")
        .arg(&env.endpoint)
        .args(args)
        .env_remove("BUCKETSHARE_MASTER_KEY")
        .env_remove("BUCKETSHARE_DATABASE_URL")
        .env("USER", "ops");
    if let Some(url) = crate::harness::database_url_blocking(env.dir.path()) {
        command.env("BUCKETSHARE_DATABASE_URL", url.0);
    }
    command.output().unwrap()
}

pub(crate) fn ok(env: &S3Env, args: &[&str]) -> String {
    let out = cli(env, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub(crate) fn json(env: &S3Env, args: &[&str]) -> Value {
    serde_json::from_str(&ok(env, args)).unwrap()
}

/// Issues a link and returns (id, url).
pub(crate) fn link(env: &S3Env, object: &str, user: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["link", "create", object, "--as", user, "--json"];
    args.extend_from_slice(extra);
    let created = json(env, &args);
    (
        created["id"].as_str().unwrap().to_owned(),
        created["url"].as_str().unwrap().to_owned(),
    )
}

pub(crate) async fn get(url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let res = reqwest::get(url).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.unwrap().to_vec())
}

pub(crate) async fn events(env: &S3Env, sql_where: &str) -> i64 {
    sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM audit_events WHERE {sql_where}"
    ))
    .fetch_one(&env.pool)
    .await
    .unwrap()
}

/// An object of `len` bytes that no error document could contain.
pub(crate) fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'A' + (i % 23) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_is_served_counted_revoked_and_audited() -> TestResult {
    let env = S3Env::start().await;
    let alice = env.user("alice", true).await;
    let s3 = env.client(&alice);
    s3.create_bucket().bucket("team").send().await?;
    let body = payload(10_000);
    s3.put_object()
        .bucket("team")
        .key("reports/q1 final.pdf")
        .content_type("application/pdf")
        .body(ByteStream::from(body.clone()))
        .send()
        .await?;

    let (id, url) = link(
        &env,
        "s3://team/reports/q1 final.pdf",
        "alice",
        &["--expires", "1h", "--label", "for bob"],
    );
    assert!(url.contains(&format!("bucketshare-link={id}")), "{url}");
    // The same link issued twice at once: two links, each its own URL.
    let twice: Vec<(String, String)> = (0..2)
        .map(|_| {
            link(
                &env,
                "s3://team/reports/q1 final.pdf",
                "alice",
                &["--expires", "1h"],
            )
        })
        .collect();
    assert_ne!(twice[0].1, twice[1].1);
    ok(&env, &["link", "revoke", &twice[0].0]);
    assert_eq!(get(&twice[0].1).await.0, 403);
    assert_eq!(get(&twice[1].1).await.0, 200);
    ok(&env, &["link", "revoke", &twice[1].0]);
    let (status, headers, bytes) = get(&url).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, body);
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"q1 final.pdf\"; filename*=UTF-8''q1%20final.pdf"
    );

    // Counted, with the bytes it served, off the request path.
    assert!(
        eventually(|| async {
            let shown = json(&env, &["link", "show", &id, "--json"]);
            shown["access_count"] == 1 && shown["bytes_served"] == 10_000
        })
        .await
    );
    // The dashboard counts them too (by the hour, kept by the same writer): two downloads and
    // the refused use of the revoked link, today.
    let overview = app::dashboard::ssr::overview(&env.pool).await?;
    assert_eq!(overview.figures.accesses_24h, 3);
    let today = overview.accesses.last().map(|d| (d.allowed, d.denied));
    assert_eq!(today, Some((2, 1)), "{:?}", overview.accesses);
    let listed = json(&env, &["link", "list", "--json"]);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["state"], "active");
    assert_eq!(listed[0]["label"], "for bob");

    // The access is in the audit with who, what, how much and from where.
    let trail = json(&env, &["audit", "--link", &id, "--json"]);
    let served = &trail[0];
    assert_eq!(served["actor_kind"], "link");
    assert_eq!(served["actor"], "alice");
    assert_eq!(served["access_key_id"], alice.id.as_str());
    assert_eq!(served["action"], "GetObject");
    assert_eq!(served["bucket"], "team");
    assert_eq!(served["object_key"], "reports/q1 final.pdf");
    assert_eq!(served["outcome"], "allowed");
    assert_eq!(served["status"], 200);
    assert_eq!(served["bytes_sent"], 10_000);
    assert_eq!(served["client_ip"], "127.0.0.1");

    // Every edit of the URL: 403 and none of the object's bytes.
    let url_parsed = reqwest::Url::parse(&url)?;
    let mut tampered = Vec::new();
    for (name, _) in url_parsed.query_pairs() {
        let mut edited = url_parsed.clone();
        let pairs: Vec<(String, String)> = url_parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == name {
                    // Flip one character, keeping the value's shape.
                    let mut v = v.into_owned();
                    let last = v.pop().unwrap_or('0');
                    v.push(if last == '1' { '2' } else { '1' });
                    v
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        edited.query_pairs_mut().clear().extend_pairs(pairs);
        tampered.push((format!("query {name}"), edited.to_string()));
    }
    tampered.push((
        "path".into(),
        url.replace("q1%20final.pdf", "q2%20final.pdf"),
    ));
    tampered.push(("bucket".into(), url.replace("/team/", "/temp/")));
    tampered.push(("extra parameter".into(), format!("{url}&x-id=PutObject")));
    let http = reqwest::Client::new();
    for (what, bad) in &tampered {
        let res = http.get(bad).send().await?;
        let status = res.status().as_u16();
        let text = res.bytes().await?;
        assert!(status == 403 || status == 400, "{what}: {status}");
        assert!(
            !text.windows(64).any(|w| w == &body[..64]),
            "{what}: object bytes in the refusal"
        );
    }
    // The host is signed too, and so is the method.
    let host = http
        .get(&url)
        .header("host", "elsewhere.example")
        .send()
        .await?;
    assert_eq!(host.status().as_u16(), 403, "host");
    for method in [reqwest::Method::PUT, reqwest::Method::DELETE] {
        let res = http.request(method.clone(), &url).body("x").send().await?;
        assert_eq!(res.status().as_u16(), 403, "{method}");
    }
    assert_eq!(
        s3.head_object()
            .bucket("team")
            .key("reports/q1 final.pdf")
            .send()
            .await?
            .content_length(),
        Some(10_000),
        "the object survived the tampering"
    );

    // Revoked: refused at once, and the refusal is audited against the link.
    let out = ok(&env, &["link", "revoke", &id]);
    assert!(out.contains(&id), "{out}");
    let (status, _, bytes) = get(&url).await;
    assert_eq!(status, 403);
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("AccessDenied") && text.contains("revoked"),
        "{text}"
    );
    assert!(
        eventually(|| async {
            events(
                &env,
                &format!(
                    "link_id = '{id}' AND outcome = 'denied' AND status = 403 \
                     AND error_code = 'AccessDenied'"
                ),
            )
            .await
                == 1
        })
        .await
    );
    let shown = json(&env, &["link", "show", &id, "--json"]);
    assert_eq!(shown["state"], "revoked");
    assert_eq!(shown["revoked_by"], "cli:ops");
    assert_eq!(shown["access_count"], 1, "refusals are not accesses");

    // The admin actions are there, by whom, with the link as target.
    let actions = json(&env, &["audit", "--user", "cli:ops", "--json"]);
    let of_link: Vec<&Value> = actions
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"] == id.as_str())
        .collect();
    let names: Vec<&str> = of_link
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["link.revoke", "link.create"]);
    assert_eq!(of_link[0]["actor_kind"], "admin");

    // CSV export: a header and one line per event.
    // The link's history: created, served, refused (tampered, revoked), revoked.
    let trail = json(&env, &["audit", "--link", &id, "--json", "--limit", "0"]);
    let trail = trail.as_array().unwrap();
    assert_eq!(trail.last().unwrap()["action"], "link.create");
    assert!(trail.iter().any(|e| e["action"] == "link.revoke"));
    let csv = ok(&env, &["audit", "--link", &id, "--csv", "--limit", "0"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,time,actor_kind,actor,"), "{csv}");
    assert_eq!(lines.len(), 1 + trail.len(), "{csv}");
    // Pages: two at a time, following the cursor, give the same events.
    let first = ok(&env, &["audit", "--link", &id, "--limit", "2"]);
    assert_eq!(first.lines().count(), 1 + 2, "{first}");
    let page = json(&env, &["audit", "--link", &id, "--limit", "2", "--json"]);
    let cursor = page[1]["id"].as_i64().unwrap().to_string();
    let next = json(
        &env,
        &[
            "audit", "--link", &id, "--limit", "2", "--json", "--before", &cursor,
        ],
    );
    assert_eq!(next[0], trail[2]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_die_with_their_key_user_or_grant_and_the_cli_says_how_many() -> TestResult {
    let env = S3Env::start().await;
    let owner = env.user("owner", true).await;
    let s3 = env.client(&owner);
    s3.create_bucket().bucket("docs").send().await?;
    for key in ["a.txt", "b.txt", "private/c.txt"] {
        s3.put_object()
            .bucket("docs")
            .key(key)
            .body(ByteStream::from_static(b"hello"))
            .send()
            .await?;
    }
    let bob = env.user("bob", false).await;
    domain::grants::add(
        &env.pool,
        "bob",
        "docs",
        Permission::Read,
        "",
        None,
        &admin(),
    )
    .await?;
    domain::grants::add(
        &env.pool,
        "bob",
        "docs",
        Permission::Read,
        "private/",
        None,
        &admin(),
    )
    .await?;
    let (_, a) = link(&env, "s3://docs/a.txt", "bob", &[]);
    let (_, b) = link(&env, "s3://docs/b.txt", "bob", &[]);
    let (_, c) = link(&env, "s3://docs/private/c.txt", "bob", &[]);
    for url in [&a, &b, &c] {
        assert_eq!(get(url).await.0, 200);
    }

    // A grant removal says what it kills: private/c.txt is still covered by the whole-bucket
    // grant, so removing the private/ one kills nothing.
    let out = cli(
        &env,
        &["grant", "remove", "bob", "docs", "--prefix", "private/"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(get(&c).await.0, 200);
    let out = cli(&env, &["grant", "remove", "bob", "docs"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "This stops 3 live share links."
    );
    for url in [&a, &b, &c] {
        let (status, _, bytes) = get(url).await;
        assert_eq!(status, 403);
        assert!(String::from_utf8_lossy(&bytes).contains("AccessDenied"));
    }
    assert_eq!(
        json(&env, &["link", "list", "--json"]),
        serde_json::json!([])
    );
    let all = json(&env, &["link", "list", "--all", "--json"]);
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|l| l["state"] == "no permission"),
        "{all}"
    );

    // The key: disabling it kills its links; the CLI says so first.
    domain::grants::add(
        &env.pool,
        "bob",
        "docs",
        Permission::Read,
        "",
        None,
        &admin(),
    )
    .await?;
    assert_eq!(get(&a).await.0, 200);
    // A revoked link, which nothing brings back.
    let (revoked, _) = link(&env, "s3://docs/b.txt", "bob", &[]);
    ok(&env, &["link", "revoke", &revoked]);
    let out = cli(&env, &["key", "disable", &bob.id]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "This stops 3 live share links."
    );
    assert_eq!(get(&a).await.0, 403);
    let all = json(&env, &["link", "list", "--all", "--user", "bob", "--json"]);
    // Links made in the same second list in no set order: compared sorted.
    let mut states: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["state"].as_str().unwrap())
        .collect();
    states.sort_unstable();
    assert_eq!(
        states,
        ["key disabled", "key disabled", "key disabled", "revoked"]
    );
    // Enabling it again says how many it brings back, counting only links nothing else
    // stops: not a revoked one, and none while the user is disabled too.
    let revived = || domain::links::revived_by(&env.pool, domain::links::Revival::Key(&bob.id));
    assert_eq!(revived().await?, 3);
    ok(&env, &["user", "disable", "bob"]);
    assert_eq!(revived().await?, 0);
    assert_eq!(
        domain::links::revived_by(&env.pool, domain::links::Revival::User("bob")).await?,
        0,
        "the key is still disabled"
    );
    ok(&env, &["user", "enable", "bob"]);
    let out = cli(&env, &["key", "enable", &bob.id]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "This brings back 3 live share links."
    );
    assert_eq!(get(&a).await.0, 200);

    // The user: disabling kills, deleting kills for good.
    let out = cli(&env, &["user", "disable", "bob"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "This stops 3 live share links."
    );
    assert_eq!(get(&b).await.0, 403);
    let out = cli(&env, &["user", "enable", "bob"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "This brings back 3 live share links."
    );
    assert_eq!(get(&b).await.0, 200);
    // Nothing stopped, nothing to say.
    let out = cli(&env, &["user", "enable", "bob"]);
    assert!(out.status.success() && out.stderr.is_empty());

    // Bulk revocation: one object, then a user's, then a bucket's.
    let (_, a2) = link(&env, "s3://docs/a.txt", "owner", &[]);
    let out = ok(&env, &["link", "revoke", "--object", "s3://docs/a.txt"]);
    assert!(out.starts_with("Revoked 2 links."), "{out}");
    assert_eq!(get(&a).await.0, 403);
    assert_eq!(get(&a2).await.0, 403);
    assert_eq!(get(&b).await.0, 200);
    let out = ok(&env, &["link", "revoke", "--user", "bob"]);
    assert!(out.starts_with("Revoked 2 links."), "{out}");
    assert_eq!(get(&b).await.0, 403);
    let (_, d) = link(&env, "s3://docs/b.txt", "owner", &[]);
    let out = ok(&env, &["link", "revoke", "--bucket", "docs"]);
    assert!(out.starts_with("Revoked 1 link."), "{out}");
    assert_eq!(get(&d).await.0, 403);
    let out = cli(&env, &["link", "revoke", "--bucket", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`nope` does not exist"));
    let out = cli(&env, &["link", "revoke"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "one of ID/--object/--user/--bucket"
    );

    // Deleting the user: nothing of theirs works, and the audit holds each change. With over
    // 1,000 working links (copies of one, made in SQL), the warning stops counting there.
    let (e_id, e) = link(&env, "s3://docs/b.txt", "bob", &[]);
    crate::harness::copy_link(&env.pool, &e_id, 1005).await;
    let out = cli(&env, &["user", "delete", "bob", "--yes"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "This stops more than 1000 live share links."
    );
    assert_eq!(get(&e).await.0, 403);
    for action in [
        "grant.remove",
        "key.disable",
        "key.enable",
        "user.disable",
        "user.delete",
    ] {
        assert!(
            events(&env, &format!("action = '{action}' AND actor = 'cli:ops'")).await >= 1,
            "{action}"
        );
    }
    let disabled: String = sqlx::query_scalar(
        "SELECT detail FROM audit_events WHERE action = 'key.disable' ORDER BY id DESC",
    )
    .fetch_one(&env.pool)
    .await?;
    let detail: Value = serde_json::from_str(&disabled)?;
    assert_eq!(detail["before"], "active");
    assert_eq!(detail["after"], "inactive");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_links_and_unregistered_presigned_urls() -> TestResult {
    let env = S3Env::start().await;
    let alice = env.user("alice", true).await;
    let s3 = env.client(&alice);
    s3.create_bucket().bucket("inbox").send().await?;

    // Upload-only: PUT works, GET with the same URL does not.
    let (id, url) = link(
        &env,
        "s3://inbox/drop/report.csv",
        "alice",
        &["--method", "PUT"],
    );
    let http = reqwest::Client::new();
    let put = http.put(&url).body("a,b\n1,2\n").send().await?;
    assert_eq!(put.status().as_u16(), 200);
    let got = s3
        .get_object()
        .bucket("inbox")
        .key("drop/report.csv")
        .send()
        .await?;
    assert_eq!(
        got.body.collect().await?.into_bytes().as_ref(),
        b"a,b\n1,2\n"
    );
    assert_eq!(http.get(&url).send().await?.status().as_u16(), 403);
    assert!(
        eventually(|| async {
            events(
                &env,
                &format!("link_id = '{id}' AND action = 'PutObject' AND outcome = 'allowed'"),
            )
            .await
                == 1
        })
        .await
    );

    // A link can only be issued as someone allowed to do what it does.
    let reader = env.user("reader", false).await;
    domain::grants::add(
        &env.pool,
        "reader",
        "inbox",
        Permission::Read,
        "",
        None,
        &admin(),
    )
    .await?;
    let out = cli(
        &env,
        &[
            "link",
            "create",
            "s3://inbox/x",
            "--as",
            "reader",
            "--method",
            "PUT",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("may not write"));
    let out = cli(
        &env,
        &[
            "link",
            "create",
            "s3://inbox/x",
            "--as",
            "alice",
            "--expires",
            "8d",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most 7d"));

    // A URL pre-signed with the user's own key (not through bucketshare) obeys the same rules
    // and is audited as unregistered pre-signed access.
    let own = env
        .client(&reader)
        .get_object()
        .bucket("inbox")
        .key("drop/report.csv")
        .presigned(PresigningConfig::expires_in(
            std::time::Duration::from_secs(60),
        )?)
        .await?
        .uri()
        .to_owned();
    assert_eq!(get(&own).await.0, 200);
    domain::grants::remove(&env.pool, "reader", "inbox", "", &admin()).await?;
    assert_eq!(get(&own).await.0, 403);
    assert!(
        eventually(|| async {
            events(
                &env,
                &format!(
                    "actor_kind = 'presigned' AND actor = 'reader' AND access_key_id = '{}' \
                     AND link_id IS NULL AND outcome IN ('allowed', 'denied')",
                    reader.id
                ),
            )
            .await
                == 2
        })
        .await
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_link_requests_loses_no_event() -> TestResult {
    let env = S3Env::start().await;
    let alice = env.user("alice", true).await;
    let s3 = env.client(&alice);
    s3.create_bucket().bucket("flood").send().await?;
    s3.put_object()
        .bucket("flood")
        .key("small.txt")
        .body(ByteStream::from_static(b"0123456789"))
        .send()
        .await?;
    let (id, url) = link(&env, "s3://flood/small.txt", "alice", &[]);
    const REQUESTS: usize = 3_000;
    let http = reqwest::Client::new();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..48 {
        let (http, url) = (http.clone(), url.clone());
        tasks.spawn(async move {
            let mut ok = 0;
            for _ in (worker..REQUESTS).step_by(48) {
                let res = http.get(&url).send().await.unwrap();
                if res.status() == 200 && res.bytes().await.unwrap().len() == 10 {
                    ok += 1;
                }
            }
            ok
        });
    }
    let mut served = 0;
    while let Some(done) = tasks.join_next().await {
        served += done?;
    }
    assert_eq!(served, REQUESTS);
    let counted = || async {
        let shown = json(&env, &["link", "show", &id, "--json"]);
        (
            events(
                &env,
                &format!("link_id = '{id}' AND action = 'GetObject' AND outcome = 'allowed'"),
            )
            .await,
            shown["access_count"].as_i64().unwrap_or(0),
            shown["bytes_served"].as_i64().unwrap_or(0),
        )
    };
    assert!(
        eventually(|| async { counted().await.0 == REQUESTS as i64 }).await,
        "{:?}",
        counted().await
    );
    assert_eq!(
        counted().await,
        (REQUESTS as i64, REQUESTS as i64, 10 * REQUESTS as i64)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_is_append_only_and_admin_actions_are_atomic() -> TestResult {
    let env = S3Env::start().await;
    env.user("carol", false).await;
    // Rows cannot be changed.
    let changed = sqlx::query("UPDATE audit_events SET actor = 'someone else'")
        .execute(&env.pool)
        .await;
    assert!(
        changed.is_err_and(|e| e.to_string().contains("append-only")),
        "audit rows were changed"
    );
    // An action whose audit record cannot be written does not happen.
    let refuse = match domain::db::Backend::of(&env.pool) {
        domain::db::Backend::Sqlite => {
            "CREATE TRIGGER refuse_disable BEFORE INSERT ON audit_events
             WHEN NEW.action = 'user.disable' BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END"
        }
        domain::db::Backend::Postgres => {
            "CREATE FUNCTION refuse_disable() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'audit unavailable'; END $$;
             CREATE TRIGGER refuse_disable BEFORE INSERT ON audit_events FOR EACH ROW
             WHEN (NEW.action = 'user.disable') EXECUTE FUNCTION refuse_disable();"
        }
    };
    sqlx::raw_sql(refuse).execute(&env.pool).await?;
    let out = cli(&env, &["user", "disable", "carol"]);
    assert!(!out.status.success());
    let user = domain::users::get(&env.pool, "carol").await?;
    assert_eq!(user.status, domain::users::UserStatus::Active);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_addresses_come_from_trusted_proxies_only_and_can_be_truncated() -> TestResult {
    let network = domain::audit::Network::new(vec!["127.0.0.1/32".parse()?], true);
    let env = S3Env::start_full(None, network, true).await;
    let alice = env.user("alice", true).await;
    env.client(&alice)
        .create_bucket()
        .bucket("ips")
        .send()
        .await?;
    let http = reqwest::Client::new();
    // Refused, anonymous, through a proxy that says who the client was.
    let res = http
        .get(format!("{}/ips/x", env.endpoint))
        .header("x-forwarded-for", "198.51.100.77, 127.0.0.1")
        .send()
        .await?;
    assert_eq!(res.status().as_u16(), 403);
    assert!(
        eventually(|| async {
            events(
                &env,
                "actor_kind = 'anonymous' AND bucket = 'ips' AND client_ip = '198.51.100.0'",
            )
            .await
                == 1
        })
        .await
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_request_audit_off_links_still_count_and_admin_actions_stay() -> TestResult {
    let env = S3Env::start_full(None, domain::audit::Network::default(), false).await;
    let alice = env.user("alice", true).await;
    let s3 = env.client(&alice);
    s3.create_bucket().bucket("quiet").send().await?;
    s3.put_object()
        .bucket("quiet")
        .key("a.txt")
        .body(ByteStream::from_static(b"abc"))
        .send()
        .await?;
    let (id, url) = link(&env, "s3://quiet/a.txt", "alice", &[]);
    for _ in 0..3 {
        assert_eq!(get(&url).await.0, 200);
    }
    assert!(
        eventually(|| async {
            let shown = json(&env, &["link", "show", &id, "--json"]);
            shown["access_count"] == 3 && shown["bytes_served"] == 9
        })
        .await
    );
    assert_eq!(events(&env, "action = 'GetObject'").await, 0);
    assert_eq!(
        events(&env, &format!("action = 'link.create' AND target = '{id}'")).await,
        1
    );
    Ok(())
}

#[tokio::test]
async fn retention_deletes_only_events_older_than_it() -> TestResult {
    let env = S3Env::start().await;
    env.user("carol", false).await; // one recent admin event
    sqlx::query(
        "INSERT INTO audit_events (at, actor_kind, actor, action, outcome)
         VALUES (1000, 'admin', 'old', 'user.create', 'allowed'),
                (2000, 'anonymous', NULL, 'GetObject', 'denied')",
    )
    .execute(&env.pool)
    .await?;
    // The dashboard's hourly counts go with the events of their hours.
    let this_hour = domain::audit::now_millis() / 3_600_000;
    sqlx::query("INSERT INTO access_hours (hour, allowed, denied) VALUES (0, 1, 1), ($1, 5, 0)")
        .bind(this_hour)
        .execute(&env.pool)
        .await?;
    let day_ago = domain::audit::now_millis() - 86_400_000;
    assert_eq!(domain::audit::sweep(&env.pool, day_ago).await?, 2);
    assert_eq!(events(&env, "at < 1000000").await, 0);
    let hours: Vec<i64> = sqlx::query_scalar("SELECT hour FROM access_hours")
        .fetch_all(&env.pool)
        .await?;
    assert_eq!(hours, [this_hour]);
    assert_eq!(
        events(&env, "action = 'user.create' AND actor = 'test-admin'").await,
        1
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_revoked_through_one_instance_is_refused_by_another() -> TestResult {
    let env = S3Env::start().await;
    let other = env.second_instance().await;
    let alice = env.user("alice", true).await;
    let s3 = env.client(&alice);
    s3.create_bucket().bucket("team").send().await?;
    s3.put_object()
        .bucket("team")
        .key("plan.txt")
        .body(ByteStream::from_static(b"the plan"))
        .send()
        .await?;
    let (id, url) = link(&env, "s3://team/plan.txt", "alice", &["--expires", "1h"]);
    // Both instances sit behind one public address: the request reaches the second one with
    // the Host the link was signed for.
    let public = env.endpoint.trim_start_matches("http://").to_owned();
    let through_other = url.replacen(&env.endpoint, &other, 1);
    let get_other = || async {
        reqwest::Client::new()
            .get(&through_other)
            .header("host", &public)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(get_other().await, 200);
    // Revoked through the first instance (what its console does)...
    domain::links::revoke(&env.pool, &id, &admin()).await?;
    let revoked_at = std::time::Instant::now();
    // ...the second refuses it on the next request: its view of links hears of the change at
    // once (in one process, or through the data dir's changes file).
    assert_eq!(get_other().await, 403);
    assert!(revoked_at.elapsed() < std::time::Duration::from_secs(1));
    // Each instance audits what it served; both land in the one trail.
    assert!(
        eventually(|| async {
            events(
                &env,
                &format!("link_id = '{id}' AND action = 'GetObject' AND outcome = 'denied'"),
            )
            .await
                == 1
                && events(
                    &env,
                    &format!("link_id = '{id}' AND action = 'GetObject' AND outcome = 'allowed'"),
                )
                .await
                    == 1
        })
        .await
    );
    Ok(())
}

/// A change the endpoint's view cannot hear of directly (made on another machine: here, written
/// straight into the database, bypassing this process and the data dir's changes file) still
/// applies within a second, through the database's access generation: a revocation, a disabled
/// key, a grant removed. Until then the cached answers are the old ones; none outlives 1 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_elsewhere_reach_the_cached_view_within_a_second() -> TestResult {
    let env = S3Env::start().await;
    let alice = env.user("alice", true).await;
    let s3 = env.client(&alice);
    s3.create_bucket().bucket("team").send().await?;
    s3.put_object()
        .bucket("team")
        .key("plan.txt")
        .body(ByteStream::from_static(b"the plan"))
        .send()
        .await?;
    let (id, url) = link(&env, "s3://team/plan.txt", "alice", &["--expires", "1h"]);
    let status = |url: String| async move {
        reqwest::get(&url)
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    // Served, so the view holds the link, the key and the grants.
    for _ in 0..3 {
        assert_eq!(status(url.clone()).await, 200);
    }
    let refused_within = |url: String| async move {
        let changed = std::time::Instant::now();
        loop {
            if status(url.clone()).await == 403 {
                return changed.elapsed();
            }
            assert!(
                changed.elapsed() < std::time::Duration::from_secs(1),
                "still served a second after the change"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    let now = domain::now_unix();
    sqlx::query("UPDATE share_links SET revoked_at = $1 WHERE id = $2")
        .bind(now)
        .bind(&id)
        .execute(&env.pool)
        .await?;
    let took = refused_within(url.clone()).await;
    eprintln!("revocation made elsewhere refused after {took:?}");

    // A key disabled elsewhere: its header-signed requests stop too.
    let (_, url) = link(&env, "s3://team/plan.txt", "alice", &["--expires", "1h"]);
    assert_eq!(status(url.clone()).await, 200);
    assert!(
        s3.get_object()
            .bucket("team")
            .key("plan.txt")
            .send()
            .await
            .is_ok()
    );
    sqlx::query("UPDATE access_keys SET status = 'inactive' WHERE id = $1")
        .bind(&alice.id)
        .execute(&env.pool)
        .await?;
    refused_within(url.clone()).await;
    assert_eq!(
        crate::s3env::code(s3.get_object().bucket("team").key("plan.txt").send().await),
        "InvalidAccessKeyId"
    );
    sqlx::query("UPDATE access_keys SET status = 'active' WHERE id = $1")
        .bind(&alice.id)
        .execute(&env.pool)
        .await?;
    assert!(
        eventually(|| async { status(url.clone()).await == 200 }).await,
        "the key enabled again is served again"
    );

    // A grant removed elsewhere.
    sqlx::query("DELETE FROM grants WHERE bucket = 'team'")
        .execute(&env.pool)
        .await?;
    refused_within(url).await;
    Ok(())
}

/// Someone who opens a dead link in a browser reads why in words; S3 clients (and scripts not
/// asking for HTML) still get S3's XML; the audit records the S3 error either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_opening_a_dead_link_gets_a_page_in_words() -> TestResult {
    let env = S3Env::start().await;
    let owner = env.user("owner", true).await;
    let s3 = env.client(&owner);
    s3.create_bucket().bucket("docs").send().await?;
    for key in ["kept.txt", "gone.txt"] {
        s3.put_object()
            .bucket("docs")
            .key(key)
            .body(ByteStream::from_static(b"hello"))
            .send()
            .await?;
    }
    let chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let browse = async |url: &str| {
        let res = reqwest::Client::new()
            .get(url)
            .header("accept", chrome)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let kind = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        (status, kind, res.text().await.unwrap())
    };
    let (revoked, revoked_url) = link(&env, "s3://docs/kept.txt", "owner", &[]);
    let (_, live_url) = link(&env, "s3://docs/kept.txt", "owner", &[]);
    let (_, gone_url) = link(&env, "s3://docs/gone.txt", "owner", &[]);
    // A working link is the file, whatever the browser accepts.
    let (status, _, body) = browse(&live_url).await;
    assert_eq!((status, body.as_str()), (200, "hello"));
    ok(&env, &["link", "revoke", &revoked]);
    s3.delete_object()
        .bucket("docs")
        .key("gone.txt")
        .send()
        .await?;
    let tampered = live_url.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    for (url, status, says) in [
        (&revoked_url, 403, "This link has been revoked"),
        (&gone_url, 404, "The file is no longer there"),
        (&tampered, 400, "This link does not work"),
    ] {
        let (got, kind, page) = browse(url).await;
        assert_eq!(
            (got, kind.as_str()),
            (status, "text/html; charset=utf-8"),
            "{page}"
        );
        assert!(page.contains(&format!("<h1>{says}</h1>")), "{page}");
        assert!(!page.contains("<Error>"), "{page}");
        // A client not asking for HTML gets S3's document.
        let (got, _, xml) = get(url).await;
        assert_eq!(got, status);
        assert!(String::from_utf8_lossy(&xml).contains("<Error><Code>"));
    }
    // The audit has each browser visit with its S3 error code, as for the XML ones.
    assert!(
        eventually(|| async {
            events(
                &env,
                &format!("link_id = '{revoked}' AND error_code = 'AccessDenied'"),
            )
            .await
                == 2
        })
        .await
    );
    // The 404s as sent whole (the page replaced a body read to its end), not cut short.
    assert!(
        eventually(|| async {
            events(
                &env,
                "status = 404 AND outcome = 'failed' AND error_code IS NULL",
            )
            .await
                == 2
        })
        .await
    );
    Ok(())
}

/// `/metrics` (served with `--metrics-token`) answers only the token's bearer, in Prometheus'
/// text format, and counts what the endpoint served: S3 requests by operation and status
/// class, uses of share links by outcome (a revoked one among them), audit events written.
#[tokio::test]
async fn metrics_count_requests_and_link_uses_for_the_token_bearer_only() -> TestResult {
    use tower::ServiceExt;
    let env = S3Env::start().await;
    let alice = env.user("alice", true).await;
    let s3 = env.client(&alice);
    s3.create_bucket().bucket("counted").send().await?;
    s3.put_object()
        .bucket("counted")
        .key("a.txt")
        .body(ByteStream::from_static(b"counted bytes"))
        .send()
        .await?;
    let (id, url) = link(&env, "s3://counted/a.txt", "alice", &["--expires", "1h"]);
    assert_eq!(get(&url).await.0, 200);
    domain::links::revoke(&env.pool, &id, &admin()).await?;
    assert_eq!(get(&url).await.0, 403);

    let token = server::config::MetricsToken("metrics-token-0123456789".to_owned());
    let scrape = |authorization: Option<&str>| {
        let mut request = http::Request::get("/metrics");
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let request = request.body(axum::body::Body::empty());
        let router = server::web::metrics(token.clone());
        async move {
            let res = router.oneshot(request?).await?;
            let status = res.status().as_u16();
            let kind = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = axum::body::to_bytes(res.into_body(), 1 << 20).await?;
            Ok::<_, Box<dyn std::error::Error>>((status, kind, String::from_utf8(body.to_vec())?))
        }
    };
    assert_eq!(scrape(None).await?.0, 401);
    assert_eq!(scrape(Some("Bearer metrics-token-012345678")).await?.0, 401);
    assert_eq!(scrape(Some("metrics-token-0123456789")).await?.0, 401);

    // Audit events are written just after the answers.
    let written = || async {
        let (_, _, text) = scrape(Some("Bearer metrics-token-0123456789")).await.ok()?;
        let samples = parse_exposition(&text)?;
        let value = |name: &str| samples.get(name).copied().unwrap_or(0.0);
        (value("bucketshare_audit_events_written_total") >= 2.0).then_some(samples)
    };
    assert!(eventually(|| async { written().await.is_some() }).await);
    let (status, kind, text) = scrape(Some("Bearer metrics-token-0123456789")).await?;
    assert_eq!(status, 200);
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    let samples = parse_exposition(&text).ok_or("not Prometheus' text format")?;
    let value = |name: &str| samples.get(name).copied().unwrap_or(0.0);
    for (sample, at_least) in [
        (
            r#"bucketshare_s3_requests_total{operation="PutObject",status="2xx"}"#,
            1.0,
        ),
        (
            r#"bucketshare_s3_requests_total{operation="GetObject",status="4xx"}"#,
            1.0,
        ),
        (r#"bucketshare_link_uses_total{outcome="allowed"}"#, 1.0),
        (r#"bucketshare_link_uses_total{outcome="revoked"}"#, 1.0),
        ("bucketshare_s3_received_bytes_total", 13.0),
        ("bucketshare_s3_access_check_seconds_count", 3.0),
    ] {
        assert!(
            value(sample) >= at_least,
            "{sample} = {} in:\n{text}",
            value(sample)
        );
    }
    Ok(())
}

/// Prometheus' text exposition format, read strictly: `# HELP`/`# TYPE`/`# UNIT` comments,
/// samples `name{label="value",…} number`, and `# EOF` last. `None` for anything else.
fn parse_exposition(text: &str) -> Option<std::collections::HashMap<String, f64>> {
    let mut samples = std::collections::HashMap::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "# EOF" {
            return lines.peek().is_none().then_some(samples);
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let kind = comment.split(' ').next()?;
            if !["HELP", "TYPE", "UNIT"].contains(&kind) {
                return None;
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ')?;
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        let labels = &series[name_end..];
        let valid_labels = labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}'));
        if !valid_name || !valid_labels {
            return None;
        }
        let value: f64 = value.parse().ok()?;
        samples.insert(series.to_owned(), value);
    }
    None
}

/// The permission rule is written once (`Permission::allows`, `Grant::covers`) and the link
/// states are computed in SQL from it (`grants::sql_covers`): for every method, permission,
/// prefix (none, the key's folder, a sibling folder, a longer name sharing the start) and
/// expiry (none, future, past), the state a link's list shows and the Rust rule the S3 endpoint
/// applies agree on whether the link works.
#[tokio::test]
async fn link_states_in_sql_and_the_rust_permission_rule_agree_for_every_grant() -> TestResult {
    use domain::links::{self, LinkState, ListFilter, Method, Request};
    let env = S3Env::start().await;
    env.user("rule", false).await;
    env.store
        .create_bucket(&env.pool, "rules", None, &admin())
        .await?;
    let settings = env.settings.get();
    let issue = async |key: &str, method: Method| {
        links::issue(
            &env.pool,
            &env.master,
            &settings,
            Request {
                bucket: "rules",
                key,
                method,
                user: "rule",
                lifetime: std::time::Duration::from_secs(3600),
                label: None,
            },
            &admin(),
        )
        .await
    };
    // Issued while the user owns the bucket; the grant under test then replaces that one.
    domain::grants::add(
        &env.pool,
        "rule",
        "rules",
        Permission::Owner,
        "",
        None,
        &admin(),
    )
    .await?;
    let keys = ["docs/a.txt", "docsx/b.txt", "c.txt"];
    let mut issued = Vec::new();
    for key in keys {
        for method in [Method::Get, Method::Put] {
            issued.push((issue(key, method).await?.link.id, key, method));
        }
    }
    domain::grants::remove(&env.pool, "rule", "rules", "", &admin()).await?;
    let now = domain::now_unix();
    let mut compared = 0;
    for &permission in Permission::all() {
        for prefix in ["", "docs/", "docsx/", "other/"] {
            for expires_at in [None, Some(now + 3600)] {
                domain::grants::add(
                    &env.pool,
                    "rule",
                    "rules",
                    permission,
                    prefix,
                    expires_at,
                    &admin(),
                )
                .await?;
                let grant = domain::grants::of_user_on(&env.pool, "rule", "rules").await?;
                assert_eq!(grant.len(), 1);
                let all = ListFilter {
                    all: true,
                    bucket: Some("rules".to_owned()),
                    ..ListFilter::default()
                };
                let states = links::list(&env.pool, &all).await?;
                for (id, key, method) in &issued {
                    let state = &states.iter().find(|l| &l.id == id).unwrap().state;
                    let rust = permission.allows(method.need()) && grant[0].covers(key, now);
                    assert_eq!(
                        *state == LinkState::Active,
                        rust,
                        "{permission} on `{prefix}` (expiry {expires_at:?}), {method:?} {key}: SQL says {state}"
                    );
                    assert!(
                        matches!(state, LinkState::Active | LinkState::NoPermission),
                        "{state}"
                    );
                    compared += 1;
                }
                domain::grants::remove(&env.pool, "rule", "rules", prefix, &admin()).await?;
            }
        }
    }
    assert_eq!(compared, 4 * 4 * 2 * 6);
    // Once the grant has expired, the SQL says no permission, as `covers` does: the states
    // computed for a minute later (the links themselves live an hour).
    domain::grants::add(
        &env.pool,
        "rule",
        "rules",
        Permission::Owner,
        "",
        Some(now + 60),
        &admin(),
    )
    .await?;
    let grant = domain::grants::of_user_on(&env.pool, "rule", "rules").await?;
    let later = now + 61;
    assert!(grant[0].covers("docs/a.txt", now) && !grant[0].covers("docs/a.txt", later));
    for (at, expected) in [(now, LinkState::Active), (later, LinkState::NoPermission)] {
        let filter = ListFilter {
            all: true,
            at: Some(at),
            ..ListFilter::default()
        };
        let listed = links::list(&env.pool, &filter).await?;
        assert_eq!(listed.len(), issued.len());
        assert!(listed.iter().all(|l| l.state == expected), "{listed:?}");
    }
    Ok(())
}
