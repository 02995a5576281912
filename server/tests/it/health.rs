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
