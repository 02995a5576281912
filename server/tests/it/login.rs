use std::time::Duration;

use app::state::AuthSettings;
use http::StatusCode;

use crate::harness::{PASSWORD, TestApp, TestResult, test_auth};

#[tokio::test]
async fn signing_in_reaches_the_dashboard_with_a_new_session_id() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();

    let page = client.get("/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/login"));

    let (admin, _) = client.session().await;
    assert_eq!(admin, None);
    let anonymous_cookie = client.cookie.clone();
    assert!(
        anonymous_cookie.is_some(),
        "the sign-in form's session has a cookie"
    );

    let answer = client.login("admin", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.location(), Some("/"));
    assert_ne!(
        client.cookie, anonymous_cookie,
        "session id cycled at sign-in"
    );

    let (admin, _) = client.session().await;
    assert_eq!(admin.as_deref(), Some("admin"));
    let dashboard = client.get("/").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    let text = dashboard.body.replace("<!>", "");
    assert!(
        text.contains("Welcome, admin"),
        "dashboard names the admin: {text}"
    );
    assert!(dashboard.body.contains("Active share links"));

    // The old, pre-sign-in session id is worth nothing.
    let mut replay = app.client();
    replay.cookie = anonymous_cookie;
    assert_eq!(replay.get("/").await.status, StatusCode::SEE_OTHER);

    // A signed-in admin asking for the sign-in page goes to the dashboard.
    assert_eq!(client.get("/login").await.location(), Some("/"));
    Ok(())
}

#[tokio::test]
async fn session_cookie_is_http_only_and_same_site() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    let answer = client.call("session", &[]).await;
    let cookie = answer.headers["set-cookie"].to_str()?;
    assert!(cookie.starts_with("bucketshare_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http in tests: {cookie}");
    Ok(())
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_is_refused_alike() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    for (user, password) in [
        ("admin", "not the password"),
        ("nobody", PASSWORD),
        ("", ""),
    ] {
        let answer = client.login(user, password).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{user}: {}",
            answer.body
        );
        assert_eq!(answer.error_kind(), "invalid_credentials");
    }
    assert_eq!(client.get("/").await.location(), Some("/login"));
    assert_eq!(
        client.call("dashboard", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    Ok(())
}

#[tokio::test]
async fn requests_without_the_sessions_token_are_refused() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    let (_, csrf) = client.session().await;

    // Wrong token, and no token at all: no sign-in, whatever the password.
    let wrong = client
        .call(
            "login",
            &[
                ("csrf", "forged"),
                ("username", "admin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(wrong.error_kind(), "csrf_rejected");
    let missing = client
        .call("login", &[("username", "admin"), ("password", PASSWORD)])
        .await;
    assert!(missing.status.is_client_error(), "{}", missing.status);
    // Another session's token is no better.
    let mut other = app.client();
    let (_, others_csrf) = other.session().await;
    let foreign = client
        .call(
            "login",
            &[
                ("csrf", &others_csrf),
                ("username", "admin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert_eq!(client.session().await.0, None);

    // A post from another site is refused before it reaches any server function.
    let cross = client
        .post(
            "login",
            &[
                ("csrf", &csrf),
                ("username", "admin"),
                ("password", PASSWORD),
            ],
            "application/json",
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let cross = client
        .post(
            "login",
            &[
                ("csrf", &csrf),
                ("username", "admin"),
                ("password", PASSWORD),
            ],
            "application/json",
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    // The same post from the console's own origin works.
    let same = client
        .post(
            "login",
            &[
                ("csrf", &csrf),
                ("username", "admin"),
                ("password", PASSWORD),
            ],
            "application/json",
            &[
                ("origin", "http://console.test"),
                ("sec-fetch-site", "same-origin"),
            ],
        )
        .await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.body);

    // Signed in, a mutation still needs the token: signing out with a forged one fails.
    let logout = client.call("logout", &[("csrf", "forged")]).await;
    assert_eq!(logout.status, StatusCode::FORBIDDEN);
    assert_eq!(client.session().await.0.as_deref(), Some("admin"));
    Ok(())
}

#[tokio::test]
async fn an_idle_session_expires() -> TestResult {
    let app = TestApp::with(test_auth(), Duration::from_secs(1)).await;
    let mut client = app.client();
    client.login_ok().await;
    assert_eq!(client.get("/").await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(client.get("/").await.location(), Some("/login"));
    assert_eq!(
        client.call("dashboard", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    Ok(())
}

#[tokio::test]
async fn signing_out_ends_the_session_for_good() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    client.login_ok().await;
    let signed_in_cookie = client.cookie.clone();
    let (_, csrf) = client.session().await;
    let answer = client.call("logout", &[("csrf", &csrf)]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.location(), Some("/login"));
    assert_eq!(client.get("/").await.location(), Some("/login"));
    // Replaying the old cookie does not bring the session back.
    let mut replay = app.client();
    replay.cookie = signed_in_cookie;
    assert_eq!(replay.get("/").await.location(), Some("/login"));
    Ok(())
}

#[tokio::test]
async fn repeated_failures_lock_the_account_then_the_address() -> TestResult {
    let auth = AuthSettings {
        max_failures_per_account: 3,
        max_failures_per_ip: 6,
        ..test_auth()
    };
    let app = TestApp::with(auth, Duration::from_secs(3600)).await;
    let mut attacker = app.client_from("198.51.100.7:5000");
    for _ in 0..3 {
        let answer = attacker.login("admin", "guess").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    // The account is locked from that address: even the right password is refused there...
    let answer = attacker.login("admin", PASSWORD).await;
    assert_eq!(
        answer.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        answer.body
    );
    assert_eq!(answer.error_kind(), "throttled");
    // ...and case or spaces do not make a fresh account.
    assert_eq!(
        attacker.login(" ADMIN ", "guess").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A few wrong passwords from one place do not lock the admin out everywhere.
    let mut elsewhere = app.client_from("203.0.113.9:6000");
    assert_eq!(
        elsewhere.login("admin", PASSWORD).await.status,
        StatusCode::OK
    );

    // The attacking address runs out of tries on other names too.
    for name in ["root", "operator"] {
        assert_eq!(
            attacker.login(name, "guess").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attacker.login("root", "guess").await.status,
        StatusCode::UNAUTHORIZED
    );
    let answer = attacker.login("someone", "guess").await;
    assert_eq!(
        answer.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        answer.body
    );
    Ok(())
}

#[tokio::test]
async fn a_guess_spread_over_many_addresses_meets_the_slower_global_limit() -> TestResult {
    let auth = AuthSettings {
        max_failures_per_account: 1,
        max_failures_per_ip: 100,
        ..test_auth()
    };
    let app = TestApp::with(auth, Duration::from_secs(3600)).await;
    // One failure per address, from 20 addresses: the global limit (20 x 1) is reached.
    for n in 0..20 {
        let mut client = app.client_from(&format!("198.51.100.{n}:5000"));
        assert_eq!(
            client.login("admin", "guess").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let mut fresh = app.client_from("203.0.113.50:5000");
    assert_eq!(
        fresh.login("admin", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    Ok(())
}

#[tokio::test]
async fn concurrent_wrong_passwords_cannot_all_slip_under_the_limit() -> TestResult {
    let auth = AuthSettings {
        max_failures_per_account: 3,
        ..test_auth()
    };
    let app = TestApp::with(auth, Duration::from_secs(3600)).await;
    let mut clients: Vec<_> = (0..12)
        .map(|_| app.client_from("198.51.100.7:5000"))
        .collect();
    for client in &mut clients {
        client.session().await;
    }
    let answers =
        futures_util::future::join_all(clients.iter_mut().map(|c| c.login("admin", "guess"))).await;
    let wrong = answers
        .iter()
        .filter(|a| a.status == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = answers
        .iter()
        .filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((wrong, throttled), (3, 9), "only 3 passwords may be tried");
    Ok(())
}

#[tokio::test]
async fn a_success_forgives_earlier_failures_of_the_account() -> TestResult {
    let auth = AuthSettings {
        max_failures_per_account: 3,
        ..test_auth()
    };
    let app = TestApp::with(auth, Duration::from_secs(3600)).await;
    let mut client = app.client();
    for _ in 0..2 {
        assert_eq!(
            client.login("admin", "typo").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    client.login_ok().await;
    let mut later = app.client();
    for _ in 0..2 {
        assert_eq!(
            later.login("admin", "typo").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    later.login_ok().await;
    Ok(())
}

#[tokio::test]
async fn the_sign_in_form_works_without_javascript() -> TestResult {
    let app = TestApp::new().await;
    let mut browser = app.client();
    let page = browser.get("/login").await;
    assert_eq!(page.status, StatusCode::OK);
    // The whole form is in the HTML as sent, token included: nothing is left for scripts to
    // stream in.
    let form = page
        .body
        .split(r#"<form action="/api/login" method="post">"#)
        .nth(1);
    let form = form
        .and_then(|rest| rest.split("</form>").next())
        .unwrap_or_default();
    assert!(
        form.contains(r#"type="hidden" name="csrf" value=""#),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<template"), "{}", page.body);
    let (_, csrf) = browser.session().await;

    let referer = "http://console.test/login";
    let failed = browser
        .post_form(
            "login",
            &[("csrf", &csrf), ("username", "admin"), ("password", "nope")],
            referer,
        )
        .await;
    assert_eq!(failed.status, StatusCode::FOUND);
    let back = failed.location().unwrap_or_default().to_owned();
    assert!(back.starts_with("http://console.test/login?"), "{back}");
    let path = back.trim_start_matches("http://console.test");
    let page = browser.get(path).await;
    assert!(
        page.body.contains("Wrong user name or password."),
        "{back}: {}",
        page.body
    );

    let ok = browser
        .post_form(
            "login",
            &[
                ("csrf", &csrf),
                ("username", "admin"),
                ("password", PASSWORD),
            ],
            referer,
        )
        .await;
    assert_eq!(ok.status, StatusCode::FOUND);
    assert_eq!(ok.location(), Some("/"));
    assert_eq!(browser.get("/").await.status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn every_console_page_needs_a_session() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    for path in ["/", "/account", "/no/such/page"] {
        assert_eq!(client.get(path).await.location(), Some("/login"), "{path}");
    }
    client.login_ok().await;
    assert_eq!(client.get("/account").await.status, StatusCode::OK);
    assert_eq!(
        client.get("/no/such/page").await.status,
        StatusCode::NOT_FOUND
    );
    Ok(())
}
