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
        ("audit/page", audit_query),
        ("buckets/list", vec![]),
        ("buckets/create", vec![("name", "team"), ("owner", "")]),
        ("buckets/delete", vec![("name", "team"), ("confirm", "yes")]),
        (
            "buckets/view",
            vec![("name", "team"), ("prefix", ""), ("after", "")],
        ),
        (
            "buckets/delete_object",
            vec![("bucket", "team"), ("key", "a.txt")],
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
            "audit/page",
            "buckets/list",
            "buckets/view",
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
    let ok = client
        .call(
            "buckets/create",
            &[("csrf", &csrf), ("name", "team"), ("owner", "")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
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
