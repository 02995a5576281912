use http::StatusCode;

use crate::harness::{PASSWORD, TestApp, TestResult};

const NEW: &str = "an even longer new password";

#[tokio::test]
async fn changing_the_password_checks_it_and_signs_out_other_sessions() -> TestResult {
    let app = TestApp::new().await;
    let mut here = app.client();
    let mut elsewhere = app.client_from("192.0.2.99:1234");
    here.login_ok().await;
    elsewhere.login_ok().await;
    let (_, csrf) = here.session().await;

    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        let csrf = csrf.clone();
        move || {
            vec![
                ("csrf".to_owned(), csrf.clone()),
                ("current_password".to_owned(), current.to_owned()),
                ("new_password".to_owned(), new.to_owned()),
                ("confirm_password".to_owned(), confirm.to_owned()),
            ]
        }
    };
    for (form, field) in [
        (change("wrong current", NEW, NEW)(), "current_password"),
        (change(PASSWORD, "short", "short")(), "new_password"),
        (
            change(PASSWORD, NEW, "a different confirmation")(),
            "confirm_password",
        ),
    ] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let answer = here.call("change_password", &form).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            answer.body
        );
        let v: serde_json::Value = serde_json::from_str(&answer.body)?;
        assert_eq!(v["field"], field);
    }
    // Nothing changed so far.
    assert_eq!(
        app.client().login("admin", PASSWORD).await.status,
        StatusCode::OK
    );

    let ok = change(PASSWORD, NEW, NEW)();
    let ok: Vec<(&str, &str)> = ok.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let answer = here.call("change_password", &ok).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    // This session goes on; the other one is signed out.
    assert_eq!(here.get("/").await.status, StatusCode::OK);
    assert_eq!(elsewhere.get("/").await.location(), Some("/login"));
    // The old password is gone, the new one works.
    let mut fresh = app.client_from("192.0.2.50:1");
    assert_eq!(
        fresh.login("admin", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(fresh.login("admin", NEW).await.status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn changing_the_password_needs_a_session_and_its_token() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    let (_, csrf) = client.session().await;
    let form = [
        ("csrf", csrf.as_str()),
        ("current_password", PASSWORD),
        ("new_password", NEW),
        ("confirm_password", NEW),
    ];
    let answer = client.call("change_password", &form).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    client.login_ok().await;
    let forged = [
        ("csrf", "forged"),
        ("current_password", PASSWORD),
        ("new_password", NEW),
        ("confirm_password", NEW),
    ];
    assert_eq!(
        client.call("change_password", &forged).await.status,
        StatusCode::FORBIDDEN
    );
    Ok(())
}
