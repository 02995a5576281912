//! The console's server functions in-process: every one refuses a caller without a session,
//! changes need the session's anti-forgery token, and bad values come back as errors about
//! the field they concern, with nothing changed.

use http::StatusCode;

use crate::harness::{TestApp, TestResult};

/// Every server function of the console with arguments it accepts (the token is filled in).
fn every_server_function() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    let link_query = vec![
        ("query[bucket]", ""),
        ("query[user]", ""),
        ("query[status]", ""),
        ("query[search]", ""),
    ];
    let audit_query = vec![
        ("query[actor]", ""),
        ("query[action]", ""),
        ("query[bucket]", ""),
        ("query[outcome]", ""),
        ("query[since]", ""),
        ("query[until]", ""),
        ("query[before]", ""),
    ];
    vec![
        ("dashboard", vec![]),
        ("users/list", vec![("query", "")]),
        ("users/create", vec![("name", "eve")]),
        ("users/detail", vec![("name", "eve")]),
        ("users/new_key", vec![("user", "eve")]),
        ("users/change", vec![("name", "eve"), ("change", "enable")]),
        ("users/key", vec![("user", "eve"), ("change", "create")]),
        ("links/list", link_query),
        ("links/detail", vec![("id", "lnothing")]),
        ("links/revoke", vec![("id", "lnothing")]),
        (
            "links/create",
            vec![
                ("bucket", "team"),
                ("key", "a.txt"),
                ("user", "eve"),
                ("expires", "1h"),
                ("method", "GET"),
                ("label", ""),
            ],
        ),
        (
            "links/signers",
            vec![("bucket", "team"), ("key", "a.txt"), ("method", "GET")],
        ),
        ("links/dialog", vec![("bucket", "team"), ("key", "a.txt")]),
        (
            "links/share",
            vec![
                ("bucket", "team"),
                ("key", "a.txt"),
                ("user", "eve"),
                ("expires", "1h"),
                ("method", "GET"),
                ("label", ""),
            ],
        ),
        ("links/limits", vec![]),
        ("settings/get", vec![]),
        (
            "settings/save",
            vec![
                ("public_s3_url", "http://files.example"),
                ("default_link", "1h"),
                ("max_link", "1d"),
                ("audit_retention", "30d"),
                ("max_page", "none"),
                ("page_password_after", "none"),
            ],
        ),
        ("settings/reset", vec![("confirm", "yes")]),
        (
            "settings/create_admin",
            vec![
                ("admin_name", "eve"),
                ("admin_password", "a long enough password"),
                ("admin_confirm", "a long enough password"),
            ],
        ),
        (
            "settings/admin_status",
            vec![("name", "admin"), ("status", "disabled")],
        ),
        ("audit/page", audit_query),
        ("buckets/list", vec![]),
        ("buckets/create", vec![("name", "team"), ("owner", "")]),
        ("buckets/delete", vec![("name", "team"), ("confirm", "yes")]),
        (
            "buckets/view",
            vec![
                ("name", "team"),
                ("tab", "objects"),
                ("prefix", ""),
                ("after", ""),
            ],
        ),
        ("buckets/object", vec![("bucket", "team"), ("key", "a.txt")]),
        (
            "buckets/selection",
            vec![("bucket", "team"), ("keys[0]", "a.txt")],
        ),
        (
            "buckets/existing",
            vec![("bucket", "team"), ("keys[0]", "a.txt")],
        ),
        (
            "buckets/panel",
            vec![("bucket", "team"), ("prefix", ""), ("details", "a.txt")],
        ),
        (
            "buckets/folder",
            vec![("bucket", "team"), ("prefix", ""), ("after", "")],
        ),
        (
            "buckets/delete_objects",
            vec![
                ("bucket", "team"),
                ("prefix", ""),
                ("keys", "[\"a.txt\"]"),
                ("confirm", "yes"),
            ],
        ),
        (
            "buckets/share_objects",
            vec![
                ("bucket", "team"),
                ("prefix", ""),
                ("keys", "[\"a.txt\"]"),
                ("user", "eve"),
                ("expires", "1h"),
                ("label", ""),
            ],
        ),
        (
            "buckets/grant",
            vec![
                ("bucket", "team"),
                ("user", "eve"),
                ("permission", "read"),
                ("prefix", ""),
                ("expires", ""),
            ],
        ),
        (
            "buckets/ungrant",
            vec![
                ("bucket", "team"),
                ("user", "eve"),
                ("prefix", ""),
                ("confirm", "yes"),
            ],
        ),
        (
            "change_password",
            vec![
                ("current_password", "x"),
                ("new_password", "y"),
                ("confirm_password", "y"),
            ],
        ),
        ("logout", vec![]),
    ]
}

#[tokio::test]
async fn every_server_function_refuses_a_caller_without_a_session() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    let (_, csrf) = client.session().await;
    for (name, args) in every_server_function() {
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        form.extend(args);
        let answer = client.call(name, &form).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{name}: {}",
            answer.body
        );
        assert!(
            answer.body.contains("unauthenticated"),
            "{name}: {}",
            answer.body
        );
    }
    // Nothing was created on the way.
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM iam_users")
        .fetch_one(&app.pool)
        .await?;
    let buckets: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM buckets")
        .fetch_one(&app.pool)
        .await?;
    assert_eq!((users, buckets), (0, 0));
    // The two plain endpoints too.
    let export = client.get("/audit/export?format=csv").await;
    assert_eq!(
        export.status,
        StatusCode::SEE_OTHER,
        "export goes to sign-in"
    );
    let download = client.get("/buckets/team/download?key=a.txt").await;
    assert_eq!(
        download.status,
        StatusCode::SEE_OTHER,
        "download goes to sign-in"
    );
    Ok(())
}

#[tokio::test]
async fn changes_need_the_sessions_token() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    client.login_ok().await;
    for (name, args) in every_server_function() {
        let reads = [
            "dashboard",
            "users/list",
            "users/detail",
            "users/new_key",
            "links/list",
            "links/detail",
            "links/signers",
            "links/dialog",
            "links/limits",
            "settings/get",
            "audit/page",
            "buckets/list",
            "buckets/view",
            "buckets/object",
            "buckets/selection",
            "buckets/existing",
            "buckets/panel",
            "buckets/folder",
        ];
        if reads.contains(&name) {
            continue;
        }
        let mut form: Vec<(&str, &str)> = vec![("csrf", "forged")];
        form.extend(args);
        let answer = client.call(name, &form).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{name}: {}",
            answer.body
        );
    }
    Ok(())
}

/// A server function, its arguments, and the field and words its refusal must name.
type Refusal = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
    &'static str,
);

#[tokio::test]
async fn bad_values_are_errors_about_their_field_and_change_nothing() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    client.login_ok().await;
    let (_, csrf) = client.session().await;
    let field_error = |body: &str| -> (String, String) {
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        (
            v["field"].as_str().unwrap_or_default().to_owned(),
            v["message"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let cases: Vec<Refusal> = vec![
        (
            "users/create",
            vec![("name", "has space")],
            "name",
            "may hold only",
        ),
        (
            "buckets/create",
            vec![("name", "Bad_Name"), ("owner", "")],
            "name",
            "lowercase",
        ),
        (
            "buckets/create",
            vec![("name", "okname"), ("owner", "ghost")],
            "owner",
            "ghost",
        ),
        (
            "buckets/view",
            vec![
                ("name", "okname"),
                ("tab", "bogus"),
                ("prefix", ""),
                ("after", ""),
            ],
            "tab",
            "no tab \"bogus\"",
        ),
    ];
    for (name, args, field, words) in cases {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(args);
        let answer = client.call(name, &form).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            answer.body
        );
        let (got_field, message) = field_error(&answer.body);
        assert_eq!(got_field, field, "{name}: {}", answer.body);
        assert!(message.contains(words), "{name}: {message}");
        assert!(!message.to_lowercase().contains("sql"), "{message}");
    }
    let buckets: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM buckets")
        .fetch_one(&app.pool)
        .await?;
    assert_eq!(buckets, 0, "no bucket was made by a refused form");

    // A user and a bucket, then refusals that depend on them.
    let ok = client
        .call("users/create", &[("csrf", &csrf), ("name", "eve")])
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // The new key's secret waits in the session sealed, never in clear in the row.
    let table = match domain::db::Backend::of(&app.pool) {
        domain::db::Backend::Sqlite => "sessions",
        domain::db::Backend::Postgres => "tower_sessions.sessions",
    };
    let rows: Vec<Vec<u8>> = sqlx::query_scalar(&format!("SELECT data FROM {table}"))
        .fetch_all(&app.pool)
        .await?;
    assert!(!rows.is_empty());
    for row in rows {
        let text = String::from_utf8_lossy(&row);
        assert!(!text.contains("secret_access_key"), "{text}");
    }
    let ok = client
        .call(
            "buckets/create",
            &[("csrf", &csrf), ("name", "team"), ("owner", "")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    client.upload("team", &[(None, "a.txt", "hello")]).await;
    let grant = |permission: &'static str, expires: &'static str| {
        vec![
            ("bucket", "team"),
            ("user", "eve"),
            ("permission", permission),
            ("prefix", ""),
            ("expires", expires),
        ]
    };
    for (args, field) in [
        (grant("admin", ""), "permission"),
        (grant("read", "soon"), "expires"),
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(args);
        let answer = client.call("buckets/grant", &form).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            answer.body
        );
        assert_eq!(field_error(&answer.body).0, field, "{}", answer.body);
    }
    // A link nobody may sign, and one too long.
    let link = |expires: &'static str| {
        vec![
            ("bucket", "team"),
            ("key", "a.txt"),
            ("user", "eve"),
            ("expires", expires),
            ("method", "GET"),
            ("label", ""),
        ]
    };
    for (args, field, words) in [
        (link("1h"), "user", "may not read"),
        (link("8d"), "expires", "7 days"),
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(args);
        let answer = client.call("links/create", &form).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            answer.body
        );
        let (got, message) = field_error(&answer.body);
        assert_eq!(got, field, "{}", answer.body);
        assert!(message.contains(words), "{message}");
    }
    // Destructive changes need their confirmation box.
    let answer = client
        .call(
            "users/change",
            &[("csrf", &csrf), ("name", "eve"), ("change", "delete")],
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.body
    );
    assert_eq!(field_error(&answer.body).0, "confirm");
    let user = domain::users::get(&app.pool, "eve").await?;
    assert_eq!(user.name, "eve", "not deleted");
    let missing = client.call("users/detail", &[("name", "nobody")]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
    assert!(
        missing.body.contains("User `nobody` does not exist"),
        "{}",
        missing.body
    );
    Ok(())
}

#[tokio::test]
async fn settings_apply_at_once_are_checked_and_audited() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    client.login_ok().await;
    let (_, csrf) = client.session().await;
    let save = |url: &'static str, default: &'static str, max: &'static str, keep: &'static str| {
        vec![
            ("public_s3_url", url),
            ("default_link", default),
            ("max_link", max),
            ("audit_retention", keep),
            ("max_page", "none"),
            ("page_password_after", ""),
            ("folder_pages", "on"),
            ("upload_pages", "on"),
            ("max_upload_file", "none"),
            ("max_upload_total", ""),
        ]
    };
    // Bad values name their field, and nothing is saved.
    for (args, field) in [
        (save("ftp://files", "1h", "1d", "30d"), "public_s3_url"),
        (
            save("https://files.example.com", "1h", "8d", "30d"),
            "max_link_secs",
        ),
        (
            save("https://files.example.com", "2d", "1d", "30d"),
            "default_link_secs",
        ),
        (
            save("https://files.example.com", "1h", "1d", "1h"),
            "audit_retention_secs",
        ),
        (
            save("https://files.example.com", "soon", "1d", "30d"),
            "default_link_secs",
        ),
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(args);
        let answer = client.call("settings/save", &form).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            answer.body
        );
        let v: serde_json::Value = serde_json::from_str(&answer.body)?;
        assert_eq!(v["field"], field, "{}", answer.body);
    }
    // The sharing policy's sizes too.
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend(save("https://files.example.com", "1h", "1d", "30d"));
    form.retain(|(name, _)| *name != "max_upload_file");
    form.push(("max_upload_file", "big"));
    let answer = client.call("settings/save", &form).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("max_upload_file"), "{}", answer.body);
    // And its durations.
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend(save("https://files.example.com", "1h", "1d", "30d"));
    form.retain(|(name, _)| *name != "max_page");
    form.push(("max_page", "a while"));
    let answer = client.call("settings/save", &form).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("max_page_secs"), "{}", answer.body);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM settings")
        .fetch_one(&app.pool)
        .await?;
    assert_eq!(stored, 0);

    // Saved: in force at once, shown, audited once with before and after.
    let mut form = vec![("csrf", csrf.as_str()), ("truncate_ips", "on")];
    form.extend(save("https://files.example.com/", "15m", "1d", "90d"));
    let answer = client.call("settings/save", &form).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let shown: serde_json::Value =
        serde_json::from_str(&client.call("settings/get", &[]).await.body)?;
    assert_eq!(shown["form"]["public_s3_url"], "https://files.example.com");
    assert_eq!(shown["form"]["max_link"], "1 day");
    assert_eq!(shown["form"]["truncate_ips"], true);
    // SigV2 was not ticked: off now, and shown as set here.
    assert_eq!(shown["form"]["sigv2"], false);
    assert!(
        shown["command_line"]
            .as_array()
            .is_some_and(|c| c.len() == 6)
    );
    let limits: serde_json::Value =
        serde_json::from_str(&client.call("links/limits", &[]).await.body)?;
    assert_eq!(limits["default_secs"], 900);
    assert_eq!(limits["longest"], "1 day");
    let event: (String, String) =
        sqlx::query_as("SELECT actor, detail FROM audit_events WHERE action = 'settings.change'")
            .fetch_one(&app.pool)
            .await?;
    assert_eq!(event.0, "admin");
    assert!(event.1.contains("files.example.com"), "{}", event.1);

    // A link longer than the longest allowed now is refused, naming it.
    client
        .call("users/create", &[("csrf", &csrf), ("name", "eve")])
        .await;
    client
        .call(
            "buckets/create",
            &[("csrf", &csrf), ("name", "team"), ("owner", "eve")],
        )
        .await;
    client.upload("team", &[(None, "a.txt", "hello")]).await;
    let answer = client
        .call(
            "links/create",
            &[
                ("csrf", &csrf),
                ("bucket", "team"),
                ("key", "a.txt"),
                ("user", "eve"),
                ("expires", "2d"),
                ("method", "GET"),
                ("label", ""),
            ],
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.body
    );
    assert!(answer.body.contains("1 day"), "{}", answer.body);
    // Within it: signed for the new public URL.
    let answer = client
        .call(
            "links/create",
            &[
                ("csrf", &csrf),
                ("bucket", "team"),
                ("key", "a.txt"),
                ("user", "eve"),
                ("expires", "1h"),
                ("method", "GET"),
                ("label", ""),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer.body.contains("https://files.example.com/team/a.txt"),
        "{}",
        answer.body
    );

    // Reset: the command line governs again.
    let answer = client
        .call("settings/reset", &[("csrf", &csrf), ("confirm", "yes")])
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // The sharing policy's sizes too.
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend(save("https://files.example.com", "1h", "1d", "30d"));
    form.retain(|(name, _)| *name != "max_upload_file");
    form.push(("max_upload_file", "big"));
    let answer = client.call("settings/save", &form).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("max_upload_file"), "{}", answer.body);
    // And its durations.
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend(save("https://files.example.com", "1h", "1d", "30d"));
    form.retain(|(name, _)| *name != "max_page");
    form.push(("max_page", "a while"));
    let answer = client.call("settings/save", &form).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("max_page_secs"), "{}", answer.body);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM settings")
        .fetch_one(&app.pool)
        .await?;
    assert_eq!(stored, 0);
    Ok(())
}

#[tokio::test]
async fn admins_add_admins_and_a_disabled_admin_is_signed_out() -> TestResult {
    let app = TestApp::new().await;
    let mut admin = app.client();
    admin.login_ok().await;
    let (_, csrf) = admin.session().await;
    let create = |name: &'static str, pw: &'static str, confirm: &'static str| {
        vec![
            ("admin_name", name),
            ("admin_password", pw),
            ("admin_confirm", confirm),
        ]
    };
    for (args, field) in [
        (
            create("has space", "a long new password", "a long new password"),
            "admin_name",
        ),
        (create("eve", "short", "short"), "admin_password"),
        (
            create("eve", "a long new password", "another password!"),
            "admin_confirm",
        ),
        (
            create("admin", "a long new password", "a long new password"),
            "admin_name",
        ),
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(args);
        let answer = admin.call("settings/create_admin", &form).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            answer.body
        );
        let v: serde_json::Value = serde_json::from_str(&answer.body)?;
        assert_eq!(v["field"], field, "{}", answer.body);
    }
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend(create("eve", "a long new password", "a long new password"));
    let answer = admin.call("settings/create_admin", &form).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    // eve signs in and works.
    let mut eve = app.client_from("192.0.2.20:40000");
    let answer = eve.login("eve", "a long new password").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(eve.call("dashboard", &[]).await.status, StatusCode::OK);

    // Nobody disables themselves; admin disables eve, whose session ends at once.
    let own = admin
        .call(
            "settings/admin_status",
            &[("csrf", &csrf), ("name", "admin"), ("status", "disabled")],
        )
        .await;
    assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", own.body);
    let off = admin
        .call(
            "settings/admin_status",
            &[("csrf", &csrf), ("name", "eve"), ("status", "disabled")],
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(
        eve.call("dashboard", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let again = eve.login("eve", "a long new password").await;
    assert_ne!(again.status, StatusCode::OK, "{}", again.body);
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events
         WHERE action IN ('admin.create', 'admin.disable', 'admin.enable') ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await?;
    assert_eq!(actions, ["admin.create", "admin.disable"]);
    Ok(())
}

/// What a browser asks for: the export gzipped. Fails on an export stream that cannot be
/// polled after its end (the gzip layer polls once more): the answer was cut empty.
#[tokio::test]
async fn the_audit_export_downloads_whole_through_gzip() -> TestResult {
    use std::io::Read;

    let app = TestApp::new().await;
    let mut client = app.client();
    client.login_ok().await;
    // More events than one page of the export (1,000).
    let events: Vec<domain::audit::RequestEvent> = (0..1_205)
        .map(|i| domain::audit::RequestEvent {
            at: domain::audit::now_millis() - 10_000 + i,
            kind: Some(domain::audit::ActorKind::Presigned),
            operation: "GetObject".to_owned(),
            bucket: Some("docs".to_owned()),
            key: Some(format!("report-{i:04}.txt")),
            outcome: Some(domain::audit::Outcome::Allowed),
            status: 200,
            ..Default::default()
        })
        .collect();
    domain::audit::write_requests(&app.pool, &events, true).await?;
    for (format, parse) in [("csv", true), ("json", false)] {
        let req = http::Request::builder()
            .uri(format!("/audit/export?format={format}&bucket=docs"))
            .header(http::header::ACCEPT_ENCODING, "gzip, deflate, br, zstd")
            .body(axum::body::Body::empty())?;
        let answer = client.send(req).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(
            answer.headers.get(http::header::CONTENT_ENCODING),
            Some(&http::HeaderValue::from_static("gzip")),
            "{format}"
        );
        let mut text = String::new();
        flate2::read::GzDecoder::new(answer.bytes.as_slice()).read_to_string(&mut text)?;
        let keys: Vec<String> = if parse {
            let mut lines = text.lines();
            assert!(lines.next().unwrap_or("").starts_with("id,time,"), "{text}");
            lines
                .map(|l| l.split(',').nth(9).unwrap_or("").to_owned())
                .collect()
        } else {
            let rows: Vec<serde_json::Value> = serde_json::from_str(&text)?;
            rows.iter()
                .map(|e| e["object_key"].as_str().unwrap_or("").to_owned())
                .collect()
        };
        assert_eq!(keys.len(), 1_205, "{format}");
        assert_eq!(keys[0], "report-1204.txt", "{format}: newest first");
        assert_eq!(keys[1_204], "report-0000.txt", "{format}");
    }
    Ok(())
}

/// Stopping links asks first, and so does bringing them back: enabling a key (or user) whose
/// disabling stopped links says how many and needs the box ticked. A change that touches no
/// link needs no box.
#[tokio::test]
async fn enabling_what_stopped_links_says_how_many_it_brings_back_and_asks() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    client.login_ok().await;
    for (name, form) in [
        ("users/create", vec![("name", "eve")]),
        ("buckets/create", vec![("name", "team"), ("owner", "")]),
        (
            "buckets/grant",
            vec![
                ("bucket", "team"),
                ("user", "eve"),
                ("permission", "read-write"),
                ("prefix", ""),
                ("expires", ""),
            ],
        ),
        (
            "links/create",
            vec![
                ("bucket", "team"),
                ("key", "drop.txt"),
                ("user", "eve"),
                ("expires", "1h"),
                ("method", "PUT"),
                ("label", ""),
            ],
        ),
    ] {
        let answer = client.change(name, &form).await;
        assert_eq!(answer.status, StatusCode::OK, "{name}: {}", answer.body);
    }
    let key: String = sqlx::query_scalar("SELECT id FROM access_keys")
        .fetch_one(&app.pool)
        .await?;
    let refused = |answer: &crate::harness::Answer, says: &str| {
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            answer.body
        );
        let v: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
        assert_eq!(v["field"], "confirm", "{}", answer.body);
        assert!(answer.body.contains(says), "{says}: {}", answer.body);
    };
    let key_change = |change: &'static str, confirm: bool| {
        let mut form = vec![("user", "eve"), ("key", key.as_str()), ("change", change)];
        if confirm {
            form.push(("confirm", "yes"));
        }
        form
    };
    let status = async |pool: &domain::db::Pool| -> String {
        sqlx::query_scalar("SELECT status FROM access_keys")
            .fetch_one(pool)
            .await
            .unwrap_or_default()
    };

    refused(
        &client
            .change("users/key", &key_change("disable", false))
            .await,
        "This stops 1 live share link",
    );
    assert_eq!(status(&app.pool).await, "active");
    let done = client
        .change("users/key", &key_change("disable", true))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    // Enabling the key would revive the link: asked, and nothing changes unconfirmed.
    refused(
        &client
            .change("users/key", &key_change("enable", false))
            .await,
        "This brings back 1 live share link",
    );
    assert_eq!(status(&app.pool).await, "inactive");
    // The user has no live link now: disabling and enabling it touch none, and need no box.
    for change in ["disable", "enable"] {
        let done = client
            .change("users/change", &[("name", "eve"), ("change", change)])
            .await;
        assert_eq!(done.status, StatusCode::OK, "{change}: {}", done.body);
    }
    let done = client
        .change("users/key", &key_change("enable", true))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(status(&app.pool).await, "active");
    Ok(())
}

/// Input the console used to take silently, or change on the way: each now either says what
/// is wrong (about the field concerned) or is kept exactly as given.
#[tokio::test]
async fn the_console_says_what_it_will_not_take_and_keeps_names_exactly() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    client.login_ok().await;
    fn refused(answer: &crate::harness::Answer, field: &str, says: &str) {
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            answer.body
        );
        let v: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
        assert_eq!(v["field"], field, "{}", answer.body);
        assert!(answer.body.contains(says), "{says}: {}", answer.body);
    }
    fn said(answer: &crate::harness::Answer) -> String {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        serde_json::from_str(&answer.body).unwrap_or_default()
    }

    // IAM user names are one user whatever their case.
    said(&client.change("users/create", &[("name", "Alice")]).await);
    refused(
        &client.change("users/create", &[("name", "alice")]).await,
        "name",
        "`Alice` exists already",
    );
    said(
        &client
            .change("buckets/create", &[("name", "team"), ("owner", "")])
            .await,
    );
    let grant = |permission: &'static str, prefix: &'static str| {
        vec![
            ("bucket", "team"),
            ("user", "Alice"),
            ("permission", permission),
            ("prefix", prefix),
            ("expires", ""),
        ]
    };
    // A prefix is a folder: `reports` would also reach `reports-old/…`.
    refused(
        &client
            .change("buckets/grant", &grant("read", "reports"))
            .await,
        "prefix",
        "end it with /",
    );
    assert_eq!(
        said(&client.change("buckets/grant", &grant("read", "")).await),
        "Alice may now read all of team."
    );
    // Granting again replaces, and says so.
    assert_eq!(
        said(
            &client
                .change("buckets/grant", &grant("read-write", ""))
                .await
        ),
        "Alice's read grant on all of team is now read-write."
    );

    // Uploads keep the file's name exactly: the console's script sends it in a field of its
    // own; a plain form's file name has `"` written `%22` by the browser, undone.
    let uploaded = client
        .upload(
            "team",
            &[
                (
                    Some("say \"hi\" 100%22.txt"),
                    "say %22hi%22 100%22.txt",
                    "hello",
                ),
                (None, "plain %22form%22.txt", "hello"),
            ],
        )
        .await;
    assert_eq!(
        uploaded["uploaded"],
        serde_json::json!(["say \"hi\" 100%22.txt", "plain \"form\".txt"])
    );

    let link = |key: &'static str, expires: &'static str, label: &'static str| {
        vec![
            ("bucket", "team"),
            ("key", key),
            ("user", "Alice"),
            ("expires", expires),
            ("method", "GET"),
            ("label", label),
        ]
    };
    // A link to nothing, a link that dies before it can be sent, an over-long label.
    let missing = client
        .change("links/create", &link("nothing.txt", "1h", ""))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
    assert!(missing.body.contains("does not exist"), "{}", missing.body);
    refused(
        &client
            .change("links/create", &link("plain \"form\".txt", "1s", ""))
            .await,
        "expires",
        "at least 1 minute",
    );
    let long = "x".repeat(201);
    let long: &'static str = Box::leak(long.into_boxed_str());
    refused(
        &client
            .change("links/create", &link("plain \"form\".txt", "1h", long))
            .await,
        "label",
        "at most 200 characters (this one has 201)",
    );
    let made = client
        .change(
            "links/create",
            &link("plain \"form\".txt", "1m", &long[..200]),
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let links: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM share_links")
        .fetch_one(&app.pool)
        .await?;
    assert_eq!(links, 1, "only the good one was made");
    Ok(())
}

/// The audit's actor and bucket filters match whatever the case, and by the beginning of a
/// name; a known name is matched exactly (not `alice` for `al` when `al` exists).
#[tokio::test]
async fn audit_filters_match_names_by_case_and_beginning() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    client.login_ok().await;
    for (name, form) in [
        ("users/create", vec![("name", "alice")]),
        ("users/create", vec![("name", "al")]),
        ("buckets/create", vec![("name", "team-docs"), ("owner", "")]),
        ("buckets/create", vec![("name", "other"), ("owner", "")]),
    ] {
        let answer = client.change(name, &form).await;
        assert_eq!(answer.status, StatusCode::OK, "{name}: {}", answer.body);
    }
    let events = vec![
        ("alice", "team-docs"),
        ("al", "team-docs"),
        ("alice", "other"),
        ("bob-gone", "other"),
    ]
    .into_iter()
    .map(|(user, bucket)| domain::audit::RequestEvent {
        at: domain::audit::now_millis(),
        kind: Some(domain::audit::ActorKind::User),
        user: Some(user.to_owned()),
        operation: "GetObject".to_owned(),
        bucket: Some(bucket.to_owned()),
        key: Some("a.txt".to_owned()),
        outcome: Some(domain::audit::Outcome::Allowed),
        status: 200,
        ..Default::default()
    })
    .collect::<Vec<_>>();
    domain::audit::write_requests(&app.pool, &events, true).await?;
    let mut page = async |actor: &str, bucket: &str| -> Vec<(String, String)> {
        let answer = client
            .call(
                "audit/page",
                &[
                    ("query[actor]", actor),
                    ("query[action]", "GetObject"),
                    ("query[bucket]", bucket),
                    ("query[outcome]", ""),
                    ("query[since]", ""),
                    ("query[until]", ""),
                    ("query[before]", ""),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&answer.body).unwrap_or_default();
        let mut rows: Vec<(String, String)> = rows
            .iter()
            .map(|e| {
                (
                    e["actor"].as_str().unwrap_or_default().to_owned(),
                    e["bucket"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        rows.sort();
        rows
    };
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        page("ALICE", "").await,
        [pair("alice", "other"), pair("alice", "team-docs")]
    );
    assert_eq!(page("Al", "TEAM-DOCS").await, [pair("al", "team-docs")]);
    assert_eq!(
        page("BOB", "oth").await,
        [pair("bob-gone", "other")],
        "no such user any more: by the name's beginning"
    );
    assert_eq!(
        page("", "TEAM").await,
        [pair("al", "team-docs"), pair("alice", "team-docs")]
    );
    assert_eq!(page("b_", "").await, [], "_ is a character, not a wildcard");
    Ok(())
}

/// The object browser: a folder made before anything is put in it, names it refuses, and
/// each object's count of the live links deleting it would stop.
#[tokio::test]
async fn folders_are_made_and_objects_say_what_deleting_them_stops() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    client.login_ok().await;
    for (name, form) in [
        ("users/create", vec![("name", "alice")]),
        ("buckets/create", vec![("name", "team"), ("owner", "")]),
        (
            "buckets/grant",
            vec![
                ("bucket", "team"),
                ("user", "alice"),
                ("permission", "read"),
                ("prefix", ""),
                ("expires", ""),
            ],
        ),
    ] {
        let answer = client.change(name, &form).await;
        assert_eq!(answer.status, StatusCode::OK, "{name}: {}", answer.body);
    }
    let folder = |prefix: &'static str, name: &'static str| {
        vec![("bucket", "team"), ("prefix", prefix), ("name", name)]
    };
    let made = client
        .change("buckets/create_folder", &folder("", "reports"))
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    // The answer is the folder again, as the object browser lists it, saying what was done.
    let made = serde_json::from_str::<String>(&made.body)?.replace("<!>", "");
    assert!(made.contains("Folder reports created."), "{made}");
    assert!(
        made.contains("href=\"/buckets/team?prefix=reports/\""),
        "{made}"
    );
    let made = client
        .change("buckets/create_folder", &folder("reports/", "2026"))
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    for bad in ["", "a/b", "..", "  "] {
        let answer = client
            .change("buckets/create_folder", &folder("", bad))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad:?}: {}",
            answer.body
        );
    }
    let mut listing = async |prefix: &str| -> serde_json::Value {
        let answer = client
            .call(
                "buckets/view",
                &[
                    ("name", "team"),
                    ("tab", "objects"),
                    ("prefix", prefix),
                    ("after", ""),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        serde_json::from_str::<serde_json::Value>(&answer.body).unwrap_or_default()["listing"]
            .clone()
    };
    assert_eq!(
        listing("").await["folders"],
        serde_json::json!(["reports/"])
    );
    let inside = listing("reports/").await;
    assert_eq!(inside["folders"], serde_json::json!(["reports/2026/"]));
    assert_eq!(
        inside["objects"],
        serde_json::json!([]),
        "the folder's marker is not a file in it"
    );

    // A file with a live link says so; one without, nothing.
    client
        .upload(
            "team",
            &[(None, "a.txt", "hello"), (None, "b.txt", "hello")],
        )
        .await;
    let made = client
        .change(
            "links/create",
            &[
                ("bucket", "team"),
                ("key", "a.txt"),
                ("user", "alice"),
                ("expires", "1h"),
                ("method", "GET"),
                ("label", ""),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let answer = client
        .call(
            "buckets/view",
            &[
                ("name", "team"),
                ("tab", "objects"),
                ("prefix", ""),
                ("after", ""),
            ],
        )
        .await;
    let v: serde_json::Value = serde_json::from_str(&answer.body)?;
    let counts: Vec<(String, i64)> = v["listing"]["objects"]
        .as_array()
        .map(|objects| {
            objects
                .iter()
                .map(|o| {
                    (
                        o["key"].as_str().unwrap_or_default().to_owned(),
                        o["live_links"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(counts, [("a.txt".to_owned(), 1), ("b.txt".to_owned(), 0)]);
    Ok(())
}

/// Objects download from the console with their names and bytes, by ranges too; what is
/// shown in the details panel's preview runs nothing on the console's origin: HTML is shown as
/// text, SVG is not shown at all, and every answer is sandboxed (but PDFs, which Chromium would
/// not show sandboxed, framed by the console only). Each download is audited once.
#[tokio::test]
async fn objects_download_and_preview_without_running_anything() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    client.login_ok().await;
    client
        .change("buckets/create", &[("name", "docs"), ("owner", "")])
        .await;
    client
        .upload(
            "docs",
            &[
                (None, "report.txt", "hello world\n"),
                (None, "page.html", "<script>alert(1)</script>"),
                (
                    None,
                    "logo.svg",
                    "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
                ),
                (None, "pic.png", "not really a png"),
                (None, "doc.pdf", "%PDF-1.4 not really"),
            ],
        )
        .await;
    let get = async |client: &mut crate::harness::Client<'_>, path: &str, range: Option<&str>| {
        let mut req = http::Request::builder()
            .uri(path)
            .header(http::header::ACCEPT_ENCODING, "gzip");
        if let Some(range) = range {
            req = req.header(http::header::RANGE, range);
        }
        client
            .send(req.body(axum::body::Body::empty()).unwrap())
            .await
    };
    let header = |answer: &crate::harness::Answer, name: http::header::HeaderName| {
        answer
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };

    // Whole, then a range of it: stored bytes, never recompressed.
    let whole = get(&mut client, "/buckets/docs/download?key=report.txt", None).await;
    assert_eq!(whole.status, StatusCode::OK, "{}", whole.body);
    assert_eq!(whole.body, "hello world\n");
    assert_eq!(
        header(&whole, http::header::CONTENT_DISPOSITION),
        "attachment; filename=\"report.txt\"; filename*=UTF-8''report.txt"
    );
    assert_eq!(header(&whole, http::header::CONTENT_ENCODING), "");
    assert_eq!(header(&whole, http::header::CONTENT_LENGTH), "12");
    assert!(header(&whole, http::header::CONTENT_SECURITY_POLICY).starts_with("sandbox"));
    let part = get(
        &mut client,
        "/buckets/docs/download?key=report.txt",
        Some("bytes=6-"),
    )
    .await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body, "world\n");
    assert_eq!(header(&part, http::header::CONTENT_RANGE), "bytes 6-11/12");
    let suffix = get(
        &mut client,
        "/buckets/docs/download?key=report.txt",
        Some("bytes=-3"),
    )
    .await;
    assert_eq!(
        (suffix.status, suffix.body.as_str()),
        (StatusCode::PARTIAL_CONTENT, "ld\n")
    );
    // A range past the end is ignored (as RFC 9110 allows): the whole object.
    let past = get(
        &mut client,
        "/buckets/docs/download?key=report.txt",
        Some("bytes=99-"),
    )
    .await;
    assert_eq!(
        (past.status, past.body.as_str()),
        (StatusCode::OK, "hello world\n")
    );

    // Previews: (key, content type, disposition) as sent inline.
    for (key, content_type, disposition) in [
        ("report.txt", "text/plain; charset=utf-8", "inline"),
        ("page.html", "text/plain; charset=utf-8", "inline"),
        ("logo.svg", "image/svg+xml", "attachment"),
        ("pic.png", "image/png", "inline"),
        ("doc.pdf", "application/pdf", "inline"),
    ] {
        let shown = get(
            &mut client,
            &format!("/buckets/docs/download?key={key}&inline=1"),
            None,
        )
        .await;
        assert_eq!(shown.status, StatusCode::OK, "{key}");
        assert_eq!(
            header(&shown, http::header::CONTENT_TYPE),
            content_type,
            "{key}"
        );
        assert!(
            header(&shown, http::header::CONTENT_DISPOSITION).starts_with(disposition),
            "{key}"
        );
        let csp = header(&shown, http::header::CONTENT_SECURITY_POLICY);
        if key == "doc.pdf" {
            assert_eq!(csp, "", "{key}");
            assert_eq!(header(&shown, http::header::X_FRAME_OPTIONS), "SAMEORIGIN");
        } else {
            assert!(csp.starts_with("sandbox;"), "{key}: {csp}");
            assert_eq!(
                header(&shown, http::header::X_FRAME_OPTIONS),
                "DENY",
                "{key}"
            );
        }
    }
    let missing = get(&mut client, "/buckets/docs/download?key=nothing.txt", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let no_bucket = get(&mut client, "/buckets/nope/download?key=a", None).await;
    assert_eq!(no_bucket.status, StatusCode::NOT_FOUND);

    // The details: text comes escaped into the page.
    let details = client
        .call(
            "buckets/object",
            &[("bucket", "docs"), ("key", "page.html")],
        )
        .await;
    let details: serde_json::Value = serde_json::from_str(&details.body)?;
    assert_eq!(details["text"], "<script>alert(1)</script>");
    assert_eq!(details["info"]["size"], 25);
    let page = client.get("/buckets/docs?details=page.html").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert(1)"));

    // Audited: each whole download and each preview once; not ranges that start further on
    // (the rest of a preview's video, or a download resumed).
    let downloads: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'object.download' AND actor = 'admin'",
    )
    .fetch_one(&app.pool)
    .await?;
    assert_eq!(downloads, 1 + 1 + 5, "whole, past the end, previews");
    Ok(())
}

/// Ticked objects are deleted together, saying how many live links that stops; they are shared
/// together, one link each; a selection tells what is gone and who may sign for all.
#[tokio::test]
async fn ticked_objects_are_deleted_or_shared_together() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    client.login_ok().await;
    client.change("users/create", &[("name", "eve")]).await;
    client
        .change("buckets/create", &[("name", "team"), ("owner", "")])
        .await;
    client
        .change(
            "buckets/grant",
            &[
                ("bucket", "team"),
                ("user", "eve"),
                ("permission", "read"),
                ("prefix", "a/"),
                ("expires", ""),
            ],
        )
        .await;
    client
        .upload(
            "team",
            &[
                (Some("a/one.txt"), "one.txt", "1"),
                (Some("a/two.txt"), "two.txt", "2"),
                (Some("b/three.txt"), "three.txt", "3"),
            ],
        )
        .await;
    let made = client
        .change(
            "links/create",
            &[
                ("bucket", "team"),
                ("key", "a/one.txt"),
                ("user", "eve"),
                ("expires", "1h"),
                ("method", "GET"),
                ("label", ""),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);

    let picked = client
        .call(
            "buckets/selection",
            &[
                ("bucket", "team"),
                ("keys[0]", "a/one.txt"),
                ("keys[1]", "a/two.txt"),
                ("keys[2]", "a/gone.txt"),
                ("keys[3]", "a/one.txt"),
            ],
        )
        .await;
    let picked: serde_json::Value = serde_json::from_str(&picked.body)?;
    assert_eq!(
        picked["objects"].as_array().map(Vec::len),
        Some(2),
        "{picked}"
    );
    assert_eq!(picked["objects"][0]["live_links"], 1);
    assert_eq!(picked["missing"], serde_json::json!(["a/gone.txt"]));
    assert_eq!(picked["signers"], serde_json::json!(["eve"]));
    // The side panel says the same, in the page's HTML, with its form.
    let panel = client
        .call(
            "buckets/panel",
            &[
                ("bucket", "team"),
                ("prefix", "a/"),
                ("action", "delete"),
                ("keys[0]", "a/one.txt"),
                ("keys[1]", "a/two.txt"),
                ("keys[2]", "a/gone.txt"),
            ],
        )
        .await;
    let panel: Option<String> = serde_json::from_str(&panel.body)?;
    // (`<!>`: the empty comments Leptos puts between pieces of text)
    let panel = panel.unwrap_or_default().replace("<!>", "");
    for said in [
        "Not there any more: a/gone.txt",
        "Delete 2 objects for good. This stops 1 live share link.",
        "action=\"/api/buckets/delete_objects\"",
        "name=\"csrf\"",
    ] {
        assert!(panel.contains(said), "{said}: {panel}");
    }
    let none = client
        .call("buckets/panel", &[("bucket", "team"), ("prefix", "a/")])
        .await;
    assert_eq!(none.body, "null");
    // Nobody may read a/ and b/ both.
    let mixed = client
        .call(
            "buckets/selection",
            &[
                ("bucket", "team"),
                ("keys[0]", "a/one.txt"),
                ("keys[1]", "b/three.txt"),
            ],
        )
        .await;
    let mixed: serde_json::Value = serde_json::from_str(&mixed.body)?;
    assert_eq!(mixed["signers"], serde_json::json!([]));
    let existing = client
        .call(
            "buckets/existing",
            &[
                ("bucket", "team"),
                ("keys[0]", "a/one.txt"),
                ("keys[1]", "a/new.txt"),
            ],
        )
        .await;
    assert_eq!(existing.body, r#"["a/one.txt"]"#);

    // Shared together: one working link each, listed in the panel's next HTML.
    let keys = r#"["a/one.txt","a/two.txt"]"#;
    let shared = client
        .change(
            "buckets/share_objects",
            &[
                ("bucket", "team"),
                ("prefix", "a/"),
                ("keys", keys),
                ("user", "eve"),
                ("expires", "2h"),
                ("label", ""),
            ],
        )
        .await;
    assert_eq!(shared.status, StatusCode::OK, "{}", shared.body);
    let shared = serde_json::from_str::<String>(&shared.body)?.replace("<!>", "");
    assert!(shared.contains("2 links ready"), "{shared}");
    let urls: Vec<&str> = shared
        .split("readonly value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|url| url.contains("X-Amz-Signature"))
        .collect();
    assert_eq!(urls.len(), 2, "{shared}");
    assert!(urls[1].contains("/team/a/two.txt?"), "{shared}");
    assert!(
        shared.contains("href=\"/buckets/team?prefix=a/\""),
        "{shared}"
    );

    // Deleting: asks first, refuses what it cannot read, then says what it did.
    for (form, status) in [
        (
            vec![("bucket", "team"), ("prefix", ""), ("keys", keys)],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            vec![
                ("bucket", "team"),
                ("prefix", ""),
                ("keys", "a/one.txt"),
                ("confirm", "yes"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            vec![
                ("bucket", "team"),
                ("prefix", ""),
                ("keys", "[]"),
                ("confirm", "yes"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let answer = client.change("buckets/delete_objects", &form).await;
        assert_eq!(answer.status, status, "{form:?}: {}", answer.body);
    }
    let too_many = serde_json::to_string(&(0..1001).map(|i| format!("k{i}")).collect::<Vec<_>>())?;
    let answer = client
        .change(
            "buckets/delete_objects",
            &[
                ("bucket", "team"),
                ("prefix", ""),
                ("keys", &too_many),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.body
    );
    let deleted = client
        .change(
            "buckets/delete_objects",
            &[
                ("bucket", "team"),
                ("prefix", ""),
                ("keys", keys),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    let deleted = serde_json::from_str::<String>(&deleted.body)?.replace("<!>", "");
    assert!(
        deleted.contains("Deleted 2 objects; 3 live share links stopped."),
        "{deleted}"
    );
    let left = client
        .call(
            "buckets/existing",
            &[
                ("bucket", "team"),
                ("keys[0]", "a/one.txt"),
                ("keys[1]", "b/three.txt"),
            ],
        )
        .await;
    assert_eq!(left.body, r#"["b/three.txt"]"#);
    // A key sent twice is deleted (and audited) once.
    let twice = client
        .change(
            "buckets/delete_objects",
            &[
                ("bucket", "team"),
                ("prefix", "b/"),
                ("keys", r#"["b/three.txt","b/three.txt"]"#),
                ("confirm", "yes"),
            ],
        )
        .await;
    let twice = serde_json::from_str::<String>(&twice.body)?.replace("<!>", "");
    assert!(twice.contains("Deleted 1 object."), "{twice}");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'object.delete' AND object_key = 'b/three.txt'",
    )
    .fetch_one(&app.pool)
    .await?;
    assert_eq!(audited, 1);
    Ok(())
}

/// Eve, and her bucket `team` holding `a.txt`, made in the console.
async fn eve_owns_team_with_a_file(client: &mut crate::harness::Client<'_>) {
    client.change("users/create", &[("name", "eve")]).await;
    client
        .change("buckets/create", &[("name", "team"), ("owner", "eve")])
        .await;
    client.upload("team", &[(None, "a.txt", "hello")]).await;
}

/// A 3-hour link to `team/a.txt` for `method`, signed as eve in the console: its id and URL.
async fn share_the_file(client: &mut crate::harness::Client<'_>, method: &str) -> (String, String) {
    let made = client
        .change(
            "links/create",
            &[
                ("bucket", "team"),
                ("key", "a.txt"),
                ("user", "eve"),
                ("expires", "3h"),
                ("method", method),
                ("label", ""),
            ],
        )
        .await;
    let made: serde_json::Value = serde_json::from_str(&made.body).unwrap();
    (
        made["id"].as_str().unwrap().to_owned(),
        made["url"].as_str().unwrap().to_owned(),
    )
}

/// A link's page shows its URL again, the very one issued, while the link works; not once it
/// is revoked, nor after the public S3 URL changed (it could not be made again).
#[tokio::test]
async fn a_links_page_shows_its_url_again_while_it_works() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    client.login_ok().await;
    eve_owns_team_with_a_file(&mut client).await;
    let detail = async |client: &mut crate::harness::Client<'_>, id: &str| {
        let answer = client.call("links/detail", &[("id", id)]).await;
        serde_json::from_str::<serde_json::Value>(&answer.body).unwrap()
    };
    let (get_id, get_url) = share_the_file(&mut client, "GET").await;
    let (put_id, put_url) = share_the_file(&mut client, "PUT").await;
    let shown = detail(&mut client, &get_id).await;
    assert_eq!(shown["url"], get_url.as_str());
    assert!(
        shown["qr_svg"]
            .as_str()
            .is_some_and(|q| q.starts_with("<?xml"))
    );
    let shown = detail(&mut client, &put_id).await;
    assert_eq!(shown["url"], put_url.as_str());
    assert_eq!(shown["qr_svg"], "", "no QR code for an upload link");
    // Links issued before the signing time was kept may be a second off.
    sqlx::query("UPDATE share_links SET created_at = created_at + 1 WHERE id = $1")
        .bind(&put_id)
        .execute(&app.pool)
        .await?;
    assert_eq!(detail(&mut client, &put_id).await["url"], put_url.as_str());
    // Revoked: gone.
    client.change("links/revoke", &[("id", &get_id)]).await;
    assert_eq!(
        detail(&mut client, &get_id).await["url"],
        serde_json::Value::Null
    );
    // Another public URL: cannot be made again (the stored hash does not match).
    let saved = client
        .change(
            "settings/save",
            &[
                ("public_s3_url", "https://elsewhere.example.com"),
                ("default_link", "1h"),
                ("max_link", "7d"),
                ("audit_retention", "90d"),
                ("max_page", "none"),
                ("page_password_after", "none"),
                ("folder_pages", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(
        detail(&mut client, &put_id).await["url"],
        serde_json::Value::Null
    );
    Ok(())
}

/// The share dialog offers whoever may sign, grouped by what they may sign (so the form needs
/// no script), refuses a signer who may not, and answers with the link made.
#[tokio::test]
async fn the_share_dialog_groups_its_signers_and_answers_with_the_link() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    client.login_ok().await;
    client
        .change("buckets/create", &[("name", "team"), ("owner", "")])
        .await;
    for (user, permission) in [
        ("reader", "read"),
        ("writer", "write"),
        ("both", "read-write"),
    ] {
        client.change("users/create", &[("name", user)]).await;
        let granted = client
            .change(
                "buckets/grant",
                &[
                    ("bucket", "team"),
                    ("user", user),
                    ("permission", permission),
                    ("prefix", ""),
                    ("expires", ""),
                ],
            )
            .await;
        assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    }
    client.upload("team", &[(None, "a.txt", "hello")]).await;
    let dialog = client
        .call("links/dialog", &[("bucket", "team"), ("key", "a.txt")])
        .await;
    let dialog = serde_json::from_str::<String>(&dialog.body)?.replace("<!>", "");
    for group in [
        r#"<optgroup label="May download and upload"><option value="both">both</option></optgroup>"#,
        r#"<optgroup label="May download only"><option value="reader">reader</option></optgroup>"#,
        r#"<optgroup label="May upload only"><option value="writer">writer</option></optgroup>"#,
    ] {
        assert!(dialog.contains(group), "{group}: {dialog}");
    }
    let share = |user: &'static str, method: &'static str| {
        vec![
            ("bucket", "team"),
            ("key", "a.txt"),
            ("user", user),
            ("expires", "1h"),
            ("method", method),
            ("label", ""),
        ]
    };
    let refused = client.change("links/share", &share("writer", "GET")).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains(r#""field":"user""#),
        "{}",
        refused.body
    );
    let made = client.change("links/share", &share("reader", "GET")).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let made = serde_json::from_str::<String>(&made.body)?.replace("<!>", "");
    assert!(made.contains("Link ready"), "{made}");
    assert!(made.contains("X-Amz-Signature="), "{made}");
    assert!(
        made.contains("autofocus"),
        "the new URL takes the focus: {made}"
    );
    Ok(())
}

/// What the server renders as HTML for the page to show (a folder, the side panel, the share
/// dialog) escapes hostile names wherever they go: text, attributes, hidden form values.
#[tokio::test]
async fn server_rendered_pieces_escape_hostile_names() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    client.login_ok().await;
    client
        .change("buckets/create", &[("name", "team"), ("owner", "")])
        .await;
    let folder = "d<b>'/";
    let key = "d<b>'/x\"><img src=x onerror=alert(1)>&.txt";
    let uploaded = client.upload("team", &[(Some(key), "x.txt", "hi")]).await;
    assert!(uploaded.to_string().contains("img"), "{uploaded}");
    let calls: [(&str, Vec<(&str, &str)>); 5] = [
        (
            "buckets/folder",
            vec![("bucket", "team"), ("prefix", ""), ("after", "")],
        ),
        (
            "buckets/folder",
            vec![("bucket", "team"), ("prefix", folder), ("after", "")],
        ),
        (
            "buckets/panel",
            vec![("bucket", "team"), ("prefix", folder), ("details", key)],
        ),
        (
            "buckets/panel",
            vec![
                ("bucket", "team"),
                ("prefix", folder),
                ("action", "share"),
                ("keys[0]", key),
            ],
        ),
        ("links/dialog", vec![("bucket", "team"), ("key", key)]),
    ];
    for (name, args) in calls {
        let answer = client.call(name, &args).await;
        assert_eq!(answer.status, StatusCode::OK, "{name}: {}", answer.body);
        let html = serde_json::from_str::<Option<String>>(&answer.body)?.unwrap_or_default();
        assert!(!html.is_empty(), "{name} {args:?}");
        for raw in ["<img", "<b>"] {
            assert!(!html.contains(raw), "{name} {args:?} has {raw}: {html}");
        }
        assert!(
            html.contains("&lt;b&gt;") || html.contains("%3Cb%3E"),
            "{name} {args:?}: {html}"
        );
    }
    Ok(())
}

/// A user's page lists their newest links, 50 at most, and points to the links page for the
/// rest (rendering a user's 200 newest links was most of the page's time).
#[tokio::test]
async fn a_users_page_lists_their_newest_links_and_points_to_the_rest() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    client.login_ok().await;
    eve_owns_team_with_a_file(&mut client).await;
    let (id, _) = share_the_file(&mut client, "GET").await;
    let shown = async |client: &mut crate::harness::Client<'_>| {
        let answer = client.call("users/detail", &[("name", "eve")]).await;
        let detail: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        let ids: Vec<String> = detail["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_owned())
            .collect();
        (ids, detail["more_links"].as_bool().unwrap())
    };
    // 50 links: all shown, nothing more to point to.
    crate::harness::copy_link(&app.pool, &id, 49).await;
    let (ids, more) = shown(&mut client).await;
    assert_eq!((ids.len(), more), (50, false));
    assert_eq!(ids[0], id, "the newest first");
    // 51: the 50 newest, and the way to the rest.
    sqlx::query("DELETE FROM share_links WHERE id LIKE '%-%'")
        .execute(&app.pool)
        .await?;
    crate::harness::copy_link(&app.pool, &id, 50).await;
    let (ids, more) = shown(&mut client).await;
    assert_eq!((ids.len(), more), (50, true));
    assert!(!ids.contains(&format!("{id}-50")), "the oldest is left out");
    let page = client.get("/users/eve").await;
    assert!(
        page.body
            .contains("href=\"/links?user=eve&amp;status=all\""),
        "{}",
        page.body
    );
    Ok(())
}
