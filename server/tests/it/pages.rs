//! Share pages as their recipients use them: over HTTP against an S3 endpoint, without a
//! session: the landing page, the download (with ranges), the download limit under concurrent
//! requests, and the pages that say why a link no longer works.

use domain::grants::Permission;
use domain::links::{self, LinkState, pages};
use domain::settings::Settings;

use crate::harness::TestResult;
use crate::links::cli;
use crate::s3env::{S3Env, admin, eventually};

/// Stores `body` as `shared/KEY` with `content_type`, through the console's store.
async fn put(env: &S3Env, key: &str, body: &[u8], content_type: &str) {
    let bytes = bytes::Bytes::copy_from_slice(body);
    let stream: domain::store::UploadBody<'_> =
        Box::pin(futures_util::stream::once(async move { Ok(bytes) }));
    env.store
        .upload("shared", key, Some(content_type.to_owned()), stream)
        .await
        .unwrap();
}

/// A bucket `shared` holding `dir/report.txt` (and `page.html`), readable by `ann`.
async fn shared(env: &S3Env) -> TestResult {
    let key = env.user("ann", false).await;
    env.store
        .create_bucket(&env.pool, "shared", None, &admin())
        .await?;
    domain::grants::add(
        &env.pool,
        "ann",
        "shared",
        Permission::Read,
        "",
        None,
        &admin(),
    )
    .await?;
    let _ = key; // ann reads through pages only; the console's store writes the objects.
    for (key, body, content_type) in [
        (
            "dir/report.txt",
            &b"quarterly numbers, all of them"[..],
            "text/plain",
        ),
        (
            "page.html",
            &b"<script>document.title='ran'</script>"[..],
            "text/html",
        ),
    ] {
        put(env, key, body, content_type).await;
    }
    Ok(())
}

async fn page(env: &S3Env, key: &str, max_downloads: Option<i64>) -> pages::Created {
    pages::create(
        &env.pool,
        pages::NewPage {
            bucket: "shared",
            key,
            user: "ann",
            max_downloads,
            note: Some("Here are the <b>numbers</b> we spoke of."),
            label: Some("for Bob"),
            ..pages::NewPage::default()
        },
        &Settings::default(),
        &admin(),
    )
    .await
    .unwrap()
}

async fn get(url: &str, range: Option<&str>) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(range) = range {
        req = req.header("range", range);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_file_page_shows_what_is_shared_and_serves_it_with_ranges() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    let created = page(&env, "dir/report.txt", None).await;
    assert_eq!(created.link.kind, links::LinkKind::Page);
    assert_eq!(created.link.state, LinkState::Active);
    assert_eq!(created.link.expires_at, pages::NEVER);
    let url = format!("{}/s/{}", env.endpoint, created.token);

    let (status, headers, body) = get(&url, None).await;
    let html = String::from_utf8(body)?;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<h1>report.txt</h1>"), "{html}");
    assert!(html.contains("30 B"), "{html}");
    assert!(html.contains("text/plain"), "{html}");
    assert!(html.contains("Works until it is revoked."), "{html}");
    // The note is shown as text, never as markup.
    assert!(html.contains("&lt;b&gt;numbers&lt;/b&gt;"), "{html}");
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains(&format!("href=\"/s/{}/download\"", created.token)));
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    // The page may load nothing and run nothing; the file's bytes are sandboxed too.
    let csp = headers["content-security-policy"].to_str()?;
    assert!(
        csp.starts_with("default-src 'none'") && !csp.contains("script"),
        "{csp}"
    );

    let (status, headers, body) = get(&format!("{url}/download"), None).await;
    assert_eq!(status, 200);
    assert_eq!(body, b"quarterly numbers, all of them");
    assert!(
        headers["content-security-policy"]
            .to_str()?
            .starts_with("sandbox")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-disposition"]
            .to_str()?
            .starts_with("attachment")
    );
    assert!(
        headers["content-disposition"]
            .to_str()?
            .contains("report.txt")
    );
    let (status, headers, body) = get(&format!("{url}/download"), Some("bytes=10-16")).await;
    assert_eq!(status, 206);
    assert_eq!(body, b"numbers");
    assert_eq!(headers["content-range"], "bytes 10-16/30");

    // Each view and download is an event of the link, with the bytes sent.
    let id = created.link.id.clone();
    let counted = eventually(|| async {
        links::get(&env.pool, &id)
            .await
            .is_ok_and(|l| l.access_count == 3 && l.bytes_served >= 37)
    })
    .await;
    assert!(counted, "{:?}", links::get(&env.pool, &id).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_one_download_page_gives_exactly_one_body_to_twenty_racing_requests() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    let created = page(&env, "dir/report.txt", Some(1)).await;
    let url = format!("{}/s/{}/download", env.endpoint, created.token);
    let racing = (0..20).map(|_| get(&url, None));
    let answers = futures_util::future::join_all(racing).await;
    let whole = answers
        .iter()
        .filter(|(status, _, body)| *status == 200 && body == b"quarterly numbers, all of them")
        .count();
    let gone = answers.iter().filter(|(status, ..)| *status == 410).count();
    assert_eq!((whole, gone), (1, 19));
    let link = links::get(&env.pool, &created.link.id).await?;
    assert_eq!((link.downloads, link.state), (1, LinkState::Exhausted));
    // Exhausted: the landing page says so, and a resumed range is refused too.
    let (status, _, body) = get(&format!("{}/s/{}", env.endpoint, created.token), None).await;
    assert_eq!(status, 410);
    assert!(String::from_utf8(body)?.contains("used as many times as it allows"));
    assert_eq!(get(&url, Some("bytes=5-")).await.0, 410);
    Ok(())
}

#[tokio::test]
async fn pages_die_with_revocation_expiry_and_their_users_rights() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    let status = |token: &str| {
        let url = format!("{}/s/{token}", env.endpoint);
        async move { get(&url, None).await }
    };

    let revoked = page(&env, "dir/report.txt", None).await;
    links::revoke(&env.pool, &revoked.link.id, &admin()).await?;
    // The metric counts it (the registry is the process's: other tests may add to it too).
    let revoked_uses = || {
        let text = domain::metrics::encode();
        text.lines()
            .find_map(|l| l.strip_prefix(r#"bucketshare_link_uses_total{outcome="revoked"} "#))
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let before = revoked_uses();
    let (code, headers, body) = status(&revoked.token).await;
    assert!(revoked_uses() >= before + 1.0);
    assert_eq!(code, 410);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(String::from_utf8(body)?.contains("This link has been revoked."));

    let short = pages::create(
        &env.pool,
        pages::NewPage {
            bucket: "shared",
            key: "dir/report.txt",
            user: "ann",
            lifetime: Some(std::time::Duration::from_secs(1)),
            ..pages::NewPage::default()
        },
        &Settings::default(),
        &admin(),
    )
    .await?;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (code, _, body) = status(&short.token).await;
    assert_eq!(code, 410);
    assert!(String::from_utf8(body)?.contains("This link has expired."));

    // The grant goes: the page is gone (404), and comes back with it.
    let live = page(&env, "dir/report.txt", None).await;
    assert_eq!(status(&live.token).await.0, 200);
    domain::grants::remove(&env.pool, "ann", "shared", "", &admin()).await?;
    let (code, _, body) = status(&live.token).await;
    assert_eq!(code, 404);
    assert!(String::from_utf8(body)?.contains("This file is no longer shared."));
    assert_eq!(
        get(&format!("{}/s/{}/download", env.endpoint, live.token), None)
            .await
            .0,
        404
    );
    domain::grants::add(
        &env.pool,
        "ann",
        "shared",
        Permission::Read,
        "",
        None,
        &admin(),
    )
    .await?;
    assert_eq!(status(&live.token).await.0, 200);
    // The user is disabled: gone again.
    domain::users::set_status(
        &env.pool,
        "ann",
        domain::users::UserStatus::Disabled,
        &admin(),
    )
    .await?;
    assert_eq!(status(&live.token).await.0, 404);

    // A token nobody was given, and one a letter off, find nothing.
    let mut wrong = live.token.clone();
    wrong.replace_range(0..1, if wrong.starts_with('A') { "B" } else { "A" });
    for token in ["nothing", wrong.as_str(), ""] {
        let (code, _, body) = status(token).await;
        assert_eq!(code, 404, "{token}");
        assert!(!String::from_utf8(body)?.contains("report"), "{token}");
    }
    // Refusals are events of their links, recorded as denied.
    let id = revoked.link.id.clone();
    let recorded = eventually(|| async {
        sqlx::query_scalar::<_, String>(
            "SELECT outcome FROM audit_events WHERE link_id = $1 AND error_code = 'revoked'",
        )
        .bind(&id)
        .fetch_optional(&env.pool)
        .await
        .ok()
        .flatten()
        .as_deref()
            == Some("denied")
    })
    .await;
    assert!(recorded);
    Ok(())
}

#[tokio::test]
async fn a_page_needs_a_readable_object_and_says_what_is_wrong() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    let by = admin();
    let open_policy = Settings::default();
    let make = |key: &'static str, user: &'static str, max: Option<i64>| {
        pages::create(
            &env.pool,
            pages::NewPage {
                bucket: "shared",
                key,
                user,
                max_downloads: max,
                ..pages::NewPage::default()
            },
            &open_policy,
            &by,
        )
    };
    let refused = |result: domain::Result<pages::Created>| match result {
        Err(err) => err.to_string(),
        Ok(_) => "made".to_owned(),
    };
    assert!(refused(make("dir/report.txt", "nobody", None).await).contains("nobody"));
    assert!(refused(make("dir/report.txt", "ann", Some(0)).await).contains("at least 1"));
    env.user("bob", false).await;
    assert!(refused(make("dir/report.txt", "bob", None).await).contains("may not read"));
    // A folder page needs a grant on all of the folder.
    domain::grants::add(
        &env.pool,
        "bob",
        "shared",
        Permission::Read,
        "dir/",
        None,
        &by,
    )
    .await?;
    assert!(make("dir/", "bob", None).await.unwrap().link.is_folder());
    assert!(refused(make("", "bob", None).await).contains("may not read all of s3://shared/"));
    assert!(make("", "ann", None).await.unwrap().link.is_folder());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_makes_lists_and_revokes_pages() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    let out = cli(
        &env,
        &[
            "link",
            "create",
            "s3://shared/dir/report.txt",
            "--as",
            "ann",
            "--page",
            "--expires",
            "30d",
            "--max-downloads",
            "3",
            "--note",
            "For you",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(created["kind"], "page");
    let url = created["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/s/", env.endpoint)), "{url}");
    assert!(created["expires_at"].as_i64().unwrap() > domain::now_unix() + 29 * 86_400);
    assert_eq!(
        get(&format!("{url}/download"), None).await.2,
        b"quarterly numbers, all of them"
    );

    let out = cli(
        &env,
        &[
            "link",
            "create",
            "s3://shared/dir/report.txt",
            "--as",
            "ann",
            "--page",
            "--expires",
            "never",
            "--json",
        ],
    );
    let forever: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert!(forever["expires_at"].is_null(), "{forever}");

    let out = cli(&env, &["link", "list", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let first = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == created["id"])
        .unwrap();
    assert_eq!(first["kind"], "page");
    assert_eq!(first["max_downloads"], 3);
    assert_eq!(first["downloads"], 1);
    assert_eq!(first["note"], "For you");
    let out = cli(&env, &["link", "list"]);
    let table = String::from_utf8(out.stdout)?;
    assert!(table.contains("page") && table.contains("never"), "{table}");

    let file = env.dir.path().join("page-password");
    std::fs::write(&file, "a page password\nnot this line\n")?;
    let out = cli(
        &env,
        &[
            "link",
            "create",
            "s3://shared/dir/report.txt",
            "--as",
            "ann",
            "--page",
            "--password-file",
            file.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let protected: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let shown = cli(
        &env,
        &["link", "show", protected["id"].as_str().unwrap(), "--json"],
    );
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout)?;
    assert_eq!(shown["password"], true);
    let unlock = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .post(protected["url"].as_str().unwrap())
        .form(&[("password", "a page password")])
        .send()
        .await?;
    assert_eq!(unlock.status(), 303);

    let id = created["id"].as_str().unwrap();
    assert!(cli(&env, &["link", "revoke", id]).status.success());
    assert_eq!(get(url, None).await.0, 410);

    // Mistakes get clear errors and make nothing.
    for (args, expected) in [
        (vec!["--page", "--expires", "soon"], "--expires"),
        (vec!["--page", "--method", "PUT"], "GET"),
        (vec!["--max-downloads", "2"], "--page"),
        (vec!["--page", "--max-downloads", "0"], "max-downloads"),
        (vec!["--password-stdin"], "--page"),
        (
            vec!["--page", "--password-file", "/nonexistent/pw"],
            "--password-file",
        ),
    ] {
        let mut all = vec![
            "link",
            "create",
            "s3://shared/dir/report.txt",
            "--as",
            "ann",
        ];
        all.extend(args);
        let out = cli(&env, &all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(expected),
            "{all:?}: {err}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_password_page_opens_for_the_right_password_only_and_throttles_guesses() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    let by = admin();
    let open_policy = Settings::default();
    let protected = |password: &str| {
        pages::create(
            &env.pool,
            pages::NewPage {
                bucket: "shared",
                key: "dir/report.txt",
                user: "ann",
                password: Some(zeroize::Zeroizing::new(password.to_owned())),
                ..pages::NewPage::default()
            },
            &open_policy,
            &by,
        )
    };
    let first = protected("open sesame 42").await.unwrap();
    assert!(first.link.password);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let url = format!("{}/s/{}", env.endpoint, first.token);
    let open = |url: String, cookie: Option<String>| {
        let mut req = http.get(url);
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let post = |url: &str, password: &str| http.post(url).form(&[("password", password)]).send();

    // Locked: the page asks for the password and shows nothing of the file; the download too.
    let (status, html) = open(url.clone(), None).await;
    assert_eq!(status, 401);
    assert!(html.contains("asks for a password") && html.contains("type=\"password\""));
    assert!(
        !html.contains("Download") && !html.contains("30 B"),
        "{html}"
    );
    let (status, body) = open(format!("{url}/download"), None).await;
    assert_eq!(status, 401);
    assert!(!body.contains("quarterly"));

    let wrong = post(&url, "open sesame 43").await?;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    assert!(wrong.text().await?.contains("Wrong password."));
    let right = post(&url, "open sesame 42").await?;
    assert_eq!(right.status(), 303);
    assert_eq!(right.headers()["location"], format!("/s/{}", first.token));
    let set = right.headers()["set-cookie"].to_str()?.to_owned();
    assert!(set.contains(&format!("Path=/s/{}", first.token)), "{set}");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    let (status, html) = open(url.clone(), Some(cookie.clone())).await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>report.txt</h1>"));
    let (status, body) = open(format!("{url}/download"), Some(cookie.clone())).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "quarterly numbers, all of them")
    );

    // The cookie opens that page only; a forged one opens nothing.
    let second = protected("open sesame 42").await.unwrap();
    let other = format!("{}/s/{}", env.endpoint, second.token);
    assert_eq!(open(other.clone(), Some(cookie.clone())).await.0, 401);
    let forged =
        "bucketshare_page=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(open(url.clone(), Some(forged.to_owned())).await.0, 401);

    // Guesses: five wrong ones from this address, then even the right one waits.
    for _ in 0..5 {
        assert_eq!(post(&other, "guess guess guess").await?.status(), 401);
    }
    let throttled = post(&other, "open sesame 42").await?;
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().contains_key("retry-after"));
    assert!(throttled.text().await?.contains("Too many wrong passwords"));
    // The first page, already open in that browser, is not affected.
    assert_eq!(open(url.clone(), Some(cookie)).await.0, 200);

    // Too short a password is refused when the page is made.
    let short = protected("short")
        .await
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(short.contains("from 8 to 256 characters"), "{short}");
    // Wrong passwords are events of the link, denied.
    let id = second.link.id.clone();
    let recorded = eventually(|| async {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM audit_events WHERE link_id = $1 AND error_code = 'WrongPassword'
               AND outcome = 'denied'",
        )
        .bind(&id)
        .fetch_one(&env.pool)
        .await
        .is_ok_and(|n| n == 5)
    })
    .await;
    assert!(recorded);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_page_changes_expiry_limit_and_password_at_the_same_address() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    let made = crate::links::json(
        &env,
        &[
            "link",
            "create",
            "s3://shared/dir/report.txt",
            "--as",
            "ann",
            "--page",
            "--max-downloads",
            "1",
            "--json",
        ],
    );
    let (id, url) = (made["id"].as_str().unwrap(), made["url"].as_str().unwrap());
    let download = format!("{url}/download");
    assert_eq!(get(&download, None).await.0, 200);
    assert_eq!(get(&download, None).await.0, 410);

    // A higher limit brings the used-up page back, at the same URL.
    let changed = crate::links::json(
        &env,
        &["link", "update", id, "--max-downloads", "3", "--json"],
    );
    assert_eq!(
        (changed["state"].as_str(), changed["downloads"].as_i64()),
        (Some("active"), Some(1))
    );
    assert_eq!(get(&download, None).await.0, 200);
    // No limit; a lifetime of a day instead of never.
    let changed = crate::links::json(
        &env,
        &[
            "link",
            "update",
            id,
            "--no-max-downloads",
            "--expires",
            "1d",
            "--json",
        ],
    );
    assert!(changed["max_downloads"].is_null());
    let day = changed["expires_at"].as_i64().unwrap() - domain::now_unix();
    assert!((86_390..=86_400).contains(&day), "{day}");
    // A password, then none.
    let file = env.dir.path().join("pw");
    std::fs::write(&file, "the new password\n")?;
    crate::links::ok(
        &env,
        &[
            "link",
            "update",
            id,
            "--password-file",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(get(&download, None).await.0, 401);
    crate::links::ok(&env, &["link", "update", id, "--no-password"]);
    assert_eq!(get(&download, None).await.0, 200);

    // What cannot be changed says why and changes nothing.
    let (presigned, _) = crate::links::link(&env, "s3://shared/dir/report.txt", "ann", &[]);
    for (args, expected) in [
        (vec!["link", "update", id], "required"),
        (
            vec!["link", "update", presigned.as_str(), "--expires", "1h"],
            "only share pages",
        ),
        (
            vec![
                "link",
                "update",
                id,
                "--max-downloads",
                "2",
                "--no-max-downloads",
            ],
            "cannot be used",
        ),
        (vec!["link", "update", id, "--expires", "soon"], "--expires"),
        (
            vec!["link", "update", "lnothing", "--expires", "1h"],
            "does not exist",
        ),
    ] {
        let out = cli(&env, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(expected),
            "{args:?}: {err}"
        );
    }
    crate::links::ok(&env, &["link", "revoke", id]);
    let out = cli(&env, &["link", "update", id, "--expires", "1h"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("stays revoked"));
    assert_eq!(get(&download, None).await.0, 410);
    Ok(())
}

#[tokio::test]
async fn images_media_and_text_preview_in_the_page_and_nothing_else_does() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    let png = b"\x89PNG\r\n\x1a\n not really a picture".to_vec();
    put(&env, "pic.png", &png, "image/png").await;
    put(&env, "clip.mp4", &[7u8; 4096], "video/mp4").await;
    let long = "<b>line</b>\n".repeat(10_000);
    put(&env, "notes.txt", long.as_bytes(), "text/plain").await;
    put(&env, "doc.pdf", b"%PDF-1.4", "application/pdf").await;
    let landing = async |key: &str, max: Option<i64>| {
        let made = pages::create(
            &env.pool,
            pages::NewPage {
                bucket: "shared",
                key,
                user: "ann",
                max_downloads: max,
                ..pages::NewPage::default()
            },
            &Settings::default(),
            &admin(),
        )
        .await
        .unwrap();
        let url = format!("{}/s/{}", env.endpoint, made.token);
        let (status, headers, body) = get(&url, None).await;
        assert_eq!(status, 200);
        (url, headers, String::from_utf8(body).unwrap())
    };

    let (url, headers, html) = landing("pic.png", None).await;
    assert!(html.contains("<img class=\"preview\" src=\"/s/"), "{html}");
    let csp = headers["content-security-policy"].to_str()?.to_owned();
    assert!(
        csp.contains("img-src 'self'") && csp.contains("media-src 'self'"),
        "{csp}"
    );
    let (status, headers, body) = get(&format!("{url}/preview"), None).await;
    assert_eq!((status, body), (200, png));
    assert_eq!(headers["content-type"], "image/png");
    assert!(
        headers["content-disposition"]
            .to_str()?
            .starts_with("inline")
    );
    assert!(
        headers["content-security-policy"]
            .to_str()?
            .starts_with("sandbox")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");

    // Video seeks with ranges.
    let (url, _, html) = landing("clip.mp4", None).await;
    assert!(html.contains("<video class=\"preview\" controls"), "{html}");
    let (status, headers, body) = get(&format!("{url}/preview"), Some("bytes=1000-1999")).await;
    assert_eq!((status, body.len()), (206, 1000));
    assert_eq!(headers["content-range"], "bytes 1000-1999/4096");

    // Text: its start, escaped, in the page itself.
    let (url, _, html) = landing("notes.txt", None).await;
    assert!(
        html.contains("<pre class=\"preview\">&lt;b&gt;line&lt;/b&gt;"),
        "{}",
        &html[..300]
    );
    assert!(html.contains("The start of the file"));
    // Its first 16 KiB only: 1,365 whole lines of 12 bytes and the start of the next.
    assert_eq!(html.matches("&lt;b&gt;line&lt;/b&gt;").count(), 1365);
    assert_eq!(get(&format!("{url}/preview"), None).await.0, 404);

    // A PDF shows in a frame of its page, framed by this origin only, and never sandboxed
    // (Chromium's viewer would refuse it).
    let (url, _, html) = landing("doc.pdf", None).await;
    assert!(html.contains("<iframe class=\"preview pdf\""), "{html}");
    let (status, headers, body) = get(&format!("{url}/preview"), None).await;
    assert_eq!((status, body.as_slice()), (200, &b"%PDF-1.4"[..]));
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(headers["x-frame-options"], "SAMEORIGIN");
    assert_eq!(headers["content-security-policy"], "frame-ancestors 'self'");
    assert!(
        headers["content-disposition"]
            .to_str()?
            .starts_with("inline")
    );

    // HTML or a download-limited page's file has no preview.
    for (key, max) in [("page.html", None), ("pic.png", Some(5))] {
        let (url, _, html) = landing(key, max).await;
        assert!(!html.contains("class=\"preview\""), "{key}: {html}");
        assert_eq!(get(&format!("{url}/preview"), None).await.0, 404, "{key}");
    }
    Ok(())
}

/// What a fresh-eyes attack found, each closed: ranges that would have served the whole file
/// uncounted, HEAD using up a download, a download counted for a file that is gone, a
/// content type list read as HTML, bare 405s, and passwords posted to pages without one.
#[tokio::test]
async fn a_limited_page_counts_every_answer_with_bytes_and_nothing_else() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let downloads = async |id: &str| links::get(&env.pool, id).await.unwrap().downloads;

    let limited = page(&env, "dir/report.txt", Some(2)).await;
    let url = format!("{}/s/{}/download", env.endpoint, limited.token);
    // Ranges past the end are refused (never the whole file instead), and count nothing.
    for range in ["bytes=1000-", "bytes=30-"] {
        let (status, headers, body) = get(&url, Some(range)).await;
        assert_eq!((status, body.is_empty()), (416, false), "{range}");
        assert_eq!(headers["content-range"], "bytes */30");
        assert!(!String::from_utf8(body)?.contains("quarterly"));
    }
    // HEAD sends no bytes and counts nothing.
    let head = http.head(&url).send().await?;
    assert_eq!(head.status(), 200);
    assert_eq!(downloads(&limited.link.id).await, 0);
    // A suffix longer than the file serves it whole, and counts; so does a resumed range.
    let (status, _, body) = get(&url, Some("bytes=-1000")).await;
    assert_eq!((status, body.len()), (206, 30));
    let (status, _, body) = get(&url, Some("bytes=1-")).await;
    assert_eq!((status, body.len()), (206, 29));
    assert_eq!(downloads(&limited.link.id).await, 2);
    assert_eq!(get(&url, Some("bytes=5-9")).await.0, 410);

    // A file gone for a while uses up nothing: once back, it downloads.
    let gone = page(&env, "dir/report.txt", Some(1)).await;
    let url = format!("{}/s/{}/download", env.endpoint, gone.token);
    env.store.delete_object("shared", "dir/report.txt").await?;
    assert_eq!(get(&url, None).await.0, 404);
    assert_eq!(get(&url, None).await.0, 404);
    put(
        &env,
        "dir/report.txt",
        b"quarterly numbers, all of them",
        "text/plain",
    )
    .await;
    assert_eq!(get(&url, None).await.0, 200);

    // A list of types is no type: no preview, and downloads say octet-stream.
    put(
        &env,
        "phish.mp4",
        b"<h1>Please sign in</h1>",
        "video/mp4, text/html",
    )
    .await;
    let phish = page(&env, "phish.mp4", None).await;
    let phish_url = format!("{}/s/{}", env.endpoint, phish.token);
    let (_, _, html) = get(&phish_url, None).await;
    assert!(!String::from_utf8(html)?.contains("class=\"preview\""));
    assert_eq!(get(&format!("{phish_url}/preview"), None).await.0, 404);
    let (_, headers, _) = get(&format!("{phish_url}/download"), None).await;
    assert_eq!(headers["content-type"], "application/octet-stream");

    // Other methods: a plain 405 with the same headers as every page.
    let put = http.put(format!("{phish_url}/download")).send().await?;
    assert_eq!(put.status(), 405);
    assert_eq!(put.headers()["x-content-type-options"], "nosniff");
    assert!(put.headers().contains_key("content-security-policy"));
    // A password posted to a page that has none: back to the page, no attempt counted.
    for _ in 0..8 {
        let post = http
            .post(&phish_url)
            .form(&[("password", "x")])
            .send()
            .await?;
        assert_eq!(post.status(), 303);
    }
    let counted: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE username LIKE 'page:%'")
            .fetch_one(&env.pool)
            .await?;
    assert_eq!(counted, 0);
    Ok(())
}

/// The entries of a zip, by name, with their bytes.
fn unzip(bytes: Vec<u8>) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut file = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut bytes).unwrap();
            (file.name().to_owned(), bytes)
        })
        .collect()
}

#[tokio::test]
async fn a_folder_page_lists_serves_and_zips_its_folder_and_nothing_outside() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    for (key, body) in [
        ("dir/sub/deep.txt", &b"deep down"[..]),
        ("dir/a b&c.txt", b"odd name"),
        ("dir/sub/", b""),
        ("dirt.txt", b"beside the folder, not in it"),
    ] {
        put(&env, key, body, "text/plain").await;
    }
    // A key that looks like a way out: the embedded store keeps it (S3 allows it); an upstream
    // store may refuse `..` segments, and then there is none.
    let way_out = bytes::Bytes::from_static(b"a key that looks like a way out");
    let dotted = env
        .store
        .upload(
            "shared",
            "dir/../x",
            Some("text/plain".to_owned()),
            Box::pin(futures_util::stream::once(async move { Ok(way_out) })),
        )
        .await
        .is_ok();
    let created = page(&env, "dir/", None).await;
    assert!(created.link.is_folder());
    let url = format!("{}/s/{}", env.endpoint, created.token);

    let (status, _, body) = get(&url, None).await;
    let html = String::from_utf8(body)?;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<h1>dir</h1>"), "{html}");
    assert!(html.contains("sub/</a>"), "{html}");
    assert!(html.contains(">report.txt</a>"), "{html}");
    assert!(html.contains(">a b&amp;c.txt</a>"), "{html}");
    assert!(!html.contains("dirt.txt"), "{html}");
    assert!(html.contains("Download all (zip)"), "{html}");
    let (status, _, body) = get(&format!("{url}?path=sub/"), None).await;
    let html = String::from_utf8(body)?;
    assert_eq!(status, 200);
    assert!(html.contains(">deep.txt</a>"), "{html}");
    assert!(!html.contains("report.txt"), "{html}");

    // A file in it: its own page, and its bytes.
    let (status, _, body) = get(&format!("{url}?path=a%20b%26c.txt"), None).await;
    let html = String::from_utf8(body)?;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<h1>a b&amp;c.txt</h1>"), "{html}");
    assert!(html.contains("/download?path=a%20b%26c.txt"), "{html}");
    let (status, _, body) = get(&format!("{url}/download?path=sub/deep.txt"), None).await;
    assert_eq!((status, body.as_slice()), (200, &b"deep down"[..]));
    // Nothing outside: the path is text after the prefix, never a way up.
    for path in ["../dirt.txt", "%2E%2E/dirt.txt", "/dirt.txt", "t.txt"] {
        let (status, _, _) = get(&format!("{url}/download?path={path}"), None).await;
        assert_eq!(status, 404, "{path}");
    }
    // `dir/../x` is a key under `dir/`: it is served as what it is.
    let (status, _, body) = get(&format!("{url}/download?path=../x"), None).await;
    if dotted {
        assert_eq!((status, body.len()), (200, 31));
    } else {
        assert_eq!(status, 404);
    }
    // A repeated or malformed query is refused, not read twice.
    let (status, _, _) = get(&format!("{url}/download?path=a&path=b"), None).await;
    assert_eq!(status, 400);
    // A folder is not a file, a file page has no folder.
    assert_eq!(get(&format!("{url}/download?path=sub/"), None).await.0, 404);
    let file_page = page(&env, "dir/report.txt", None).await;
    let file_url = format!("{}/s/{}", env.endpoint, file_page.token);
    assert_eq!(get(&format!("{file_url}/zip"), None).await.0, 404);
    assert_eq!(get(&format!("{file_url}?path=x"), None).await.0, 404);

    // Download all: every file under the folder, by its path in it, and the way-out key
    // neutralised; the folder marker is no entry.
    let (status, headers, body) = get(&format!("{url}/zip"), None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/zip");
    assert!(headers["content-disposition"].to_str()?.contains("dir.zip"));
    let entries = unzip(body);
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    let expected: &[&str] = if dotted {
        &["_/x", "a b&c.txt", "report.txt", "sub/deep.txt"]
    } else {
        &["a b&c.txt", "report.txt", "sub/deep.txt"]
    };
    assert_eq!(names, expected);
    assert_eq!(entries["report.txt"], b"quarterly numbers, all of them");
    assert_eq!(entries["sub/deep.txt"], b"deep down");
    // A sub-folder's zip.
    let (_, _, body) = get(&format!("{url}/zip?path=sub/"), None).await;
    assert_eq!(
        unzip(body).keys().collect::<Vec<_>>(),
        ["deep.txt"],
        "a sub-folder zips alone"
    );
    // Each file download and each zip counted (two files, or one, and two zips).
    let counted = if dotted { 4 } else { 3 };
    eventually(|| async {
        links::get(&env.pool, &created.link.id)
            .await
            .unwrap()
            .downloads
            == counted
    })
    .await;
    Ok(())
}

#[tokio::test]
async fn a_folder_page_with_one_download_gives_one_zip_and_dies_with_the_grant() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    put(&env, "dir/b.txt", b"b", "text/plain").await;
    let created = page(&env, "dir/", Some(1)).await;
    let url = format!("{}/s/{}", env.endpoint, created.token);
    let (status, _, body) = get(&format!("{url}/zip"), None).await;
    assert_eq!(status, 200);
    assert_eq!(unzip(body).len(), 2);
    assert_eq!(get(&format!("{url}/zip"), None).await.0, 410);
    assert_eq!(
        get(&format!("{url}/download?path=b.txt"), None).await.0,
        410
    );

    let open = page(&env, "dir/", None).await;
    let url = format!("{}/s/{}", env.endpoint, open.token);
    assert_eq!(get(&url, None).await.0, 200);
    domain::grants::remove(&env.pool, "ann", "shared", "", &admin()).await?;
    for path in ["", "/zip", "/download?path=b.txt"] {
        let (status, _, body) = get(&format!("{url}{path}"), None).await;
        assert_eq!(status, 404, "{path}");
        assert!(String::from_utf8(body)?.contains("no longer shared"));
    }
    Ok(())
}

#[tokio::test]
async fn the_sharing_policy_refuses_pages_naming_the_rule() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    let by = admin();
    let policy = Settings {
        max_page_secs: 30 * 86_400,
        page_password_after_secs: 7 * 86_400,
        folder_password: true,
        ..Settings::default()
    };
    let make = |key: &'static str, days: Option<u64>, password: Option<&str>| {
        pages::create(
            &env.pool,
            pages::NewPage {
                bucket: "shared",
                key,
                user: "ann",
                lifetime: days.map(|d| std::time::Duration::from_secs(d * 86_400)),
                password: password.map(|p| zeroize::Zeroizing::new(p.to_owned())),
                ..pages::NewPage::default()
            },
            &policy,
            &by,
        )
    };
    let message = |result: domain::Result<pages::Created>| match result {
        Err(err) => err.to_string(),
        Ok(_) => "made".to_owned(),
    };
    assert!(
        message(make("dir/report.txt", None, Some("long enough 1")).await)
            .contains("at most 30 days")
    );
    assert!(
        message(make("dir/report.txt", Some(31), Some("long enough 1")).await)
            .contains("at most 30 days")
    );
    assert!(
        message(make("dir/report.txt", Some(8), None).await)
            .contains("requires a password on pages that live longer than 7 days")
    );
    assert!(
        message(make("dir/", Some(1), None).await).contains("requires a password on folder pages")
    );
    let fine = make("dir/report.txt", Some(7), None).await?;
    let folder = make("dir/", Some(1), Some("long enough 1")).await?;
    // Changes are held to it too.
    let longer = pages::Update {
        lifetime: Some(Some(std::time::Duration::from_secs(20 * 86_400))),
        ..Default::default()
    };
    let refused = pages::update(&env.pool, &fine.link.id, longer, &policy, &by).await;
    assert!(
        message(refused.map(|link| pages::Created {
            link,
            token: String::new()
        }))
        .contains("password")
    );
    let unprotect = pages::Update {
        password: Some(None),
        ..Default::default()
    };
    let refused = pages::update(&env.pool, &folder.link.id, unprotect, &policy, &by).await;
    assert!(
        message(refused.map(|link| pages::Created {
            link,
            token: String::new()
        }))
        .contains("folder pages")
    );
    let off = Settings {
        folder_pages: false,
        ..Settings::default()
    };
    let refused = pages::create(
        &env.pool,
        pages::NewPage {
            bucket: "shared",
            key: "dir/",
            user: "ann",
            ..pages::NewPage::default()
        },
        &off,
        &by,
    )
    .await;
    assert!(message(refused).contains("allows no folder pages"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_under_way_stops_with_its_page_and_an_empty_folder_counts_nothing() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    let chunk = vec![7u8; 512 * 1024];
    for i in 0..40 {
        put(
            &env,
            &format!("big/f{i:02}.bin"),
            &chunk,
            "application/octet-stream",
        )
        .await;
    }
    let created = page(&env, "big/", Some(3)).await;
    let url = format!("{}/s/{}", env.endpoint, created.token);

    // Nothing to download: 404, and the limit untouched.
    let (status, _, _) = get(&format!("{url}/zip?path=nothing/"), None).await;
    assert_eq!(status, 404);
    assert_eq!(links::get(&env.pool, &created.link.id).await?.downloads, 0);

    // A zip read slowly: revoked meanwhile, it stops between files rather than run on.
    let mut res = reqwest::get(format!("{url}/zip")).await?;
    assert_eq!(res.status(), 200);
    let first = res.chunk().await?.map_or(0, |c| c.len());
    assert!(first > 0);
    links::revoke(&env.pool, &created.link.id, &admin()).await?;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let mut read = first;
    let ended = loop {
        match res.chunk().await {
            Ok(Some(c)) => read += c.len(),
            Ok(None) => break "whole",
            Err(_) => break "cut off",
        }
    };
    assert_eq!(ended, "cut off", "read {read} bytes of a 20 MiB zip");
    assert!(read < 40 * 512 * 1024, "{read}");

    // Folder pages turned off: existing ones stop too.
    let other = page(&env, "big/", None).await;
    let other_url = format!("{}/s/{}", env.endpoint, other.token);
    assert_eq!(get(&other_url, None).await.0, 200);
    let off = Settings {
        folder_pages: false,
        ..env.settings.get()
    };
    env.settings.save(&env.pool, &off, &admin()).await?;
    let (status, _, body) = get(&format!("{other_url}/zip"), None).await;
    assert_eq!(status, 410);
    assert!(String::from_utf8(body)?.contains("Folder pages are turned off"));
    Ok(())
}
