use http::StatusCode;

use crate::harness::{TestApp, TestResult};

#[tokio::test]
async fn probes_answer_and_readiness_follows_the_database() -> TestResult {
    let app = TestApp::new().await;
    let mut client = app.client();
    let live = client.get("/healthz").await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(client.get("/readyz").await.status, StatusCode::OK);
    app.pool.close().await;
    assert_eq!(
        client.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(client.get("/healthz").await.status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn responses_carry_a_request_id_and_security_headers() -> TestResult {
    let app = TestApp::new().await;
    let answer = app.client().get("/login").await;
    assert_eq!(answer.status, StatusCode::OK);
    let id = answer
        .headers
        .get("x-request-id")
        .map(|v| v.to_str().unwrap_or_default().len());
    assert_eq!(id, Some(36), "a UUID request id");
    assert_eq!(answer.headers["x-content-type-options"], "nosniff");
    assert_eq!(answer.headers["x-frame-options"], "DENY");
    Ok(())
}

/// Whatever builds the binary (cargo-leptos or a plain `cargo build`), its pages ask for the
/// WASM file the site has; `serve` says at start when the site root lacks it.
#[tokio::test]
async fn pages_ask_for_the_wasm_the_site_has_and_serve_says_when_it_is_missing() -> TestResult {
    let app = TestApp::new().await;
    let page = app.client().get("/login").await;
    assert!(page.body.contains("/pkg/bucketshare.wasm"), "{}", page.body);
    assert!(page.body.contains("/pkg/bucketshare.js"), "{}", page.body);
    assert!(!page.body.contains("_bg.wasm"), "{}", page.body);

    let dir = tempfile::tempdir()?;
    let site = server::site::Site::choose(Some(dir.path()));
    let problem = site.problem().unwrap_or_default();
    assert!(problem.contains("bucketshare.js and "), "{problem}");
    assert!(problem.contains("bucketshare.wasm missing"), "{problem}");
    std::fs::create_dir(dir.path().join("pkg"))?;
    std::fs::write(dir.path().join("pkg/bucketshare.js"), "")?;
    let problem = site.problem().unwrap_or_default();
    assert!(!problem.contains("bucketshare.js"), "{problem}");
    assert!(problem.contains("bucketshare.wasm missing"), "{problem}");
    std::fs::write(dir.path().join("pkg/bucketshare.wasm"), "")?;
    assert_eq!(site.problem(), None);
    Ok(())
}
