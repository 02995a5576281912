use app::auth::ssr::{FirstAdmin, ensure_first_admin};
use app::error::AppError;
use http::StatusCode;

use crate::harness::{TestApp, TestResult};

#[tokio::test]
async fn first_start_creates_one_admin_with_a_generated_password() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pool = crate::harness::open_data_dir(&dir.path().join("fresh")).await?;
    let FirstAdmin::CreatedWithGeneratedPassword(password) =
        ensure_first_admin(&pool, None).await?
    else {
        panic!("no password was generated");
    };
    assert!(password.len() >= 20);
    assert!(matches!(
        ensure_first_admin(&pool, None).await?,
        FirstAdmin::AlreadyThere
    ));
    let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins")
        .fetch_one(&pool)
        .await?;
    assert_eq!(admins, 1);
    // Stored as an argon2id hash, never as the password.
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM admins")
        .fetch_one(&pool)
        .await?;
    assert!(hash.starts_with("$argon2id$"));
    assert!(!hash.contains(password.as_str()));
    Ok(())
}

#[tokio::test]
async fn a_weak_given_password_creates_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pool = crate::harness::open_data_dir(dir.path()).await?;
    let err = ensure_first_admin(&pool, Some("short".into())).await.err();
    assert!(
        matches!(err, Some(AppError::Invalid { ref field, .. }) if field == "BUCKETSHARE_ADMIN_PASSWORD")
    );
    let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins")
        .fetch_one(&pool)
        .await?;
    assert_eq!(admins, 0);
    Ok(())
}

#[tokio::test]
async fn the_database_is_in_wal_mode_and_migrated() -> TestResult {
    let app = TestApp::new().await;
    if domain::db::Backend::of(&app.pool) == domain::db::Backend::Sqlite {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&app.pool)
            .await?;
        assert_eq!(mode, "wal");
        let fks: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&app.pool)
            .await?;
        assert_eq!(fks, 1);
    }
    // The dashboard's figures come from real tables.
    let mut client = app.client();
    client.login_ok().await;
    let answer = client.call("dashboard", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&answer.body)?;
    assert_eq!(v["figures"]["iam_users"], 0);
    sqlx::query("INSERT INTO iam_users (name, created_at) VALUES ('alice', 0), ('bob', 0)")
        .execute(&app.pool)
        .await?;
    let answer = client.call("dashboard", &[]).await;
    let v: serde_json::Value = serde_json::from_str(&answer.body)?;
    assert_eq!(v["figures"]["iam_users"], 2);
    assert_eq!(v["figures"]["buckets"], 0);
    assert_eq!(v["figures"]["active_links"], 0);
    assert_eq!(v["accesses"].as_array().map(Vec::len), Some(7));
    Ok(())
}
