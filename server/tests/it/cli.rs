//! The admin CLI, run as the real binary on a temp data dir.

use std::path::Path;
use std::process::{Command, Output};

use domain::secrets::{AccessKeyId, MasterKey};
use domain::users::keys::{self, KeyStatus};

use crate::harness::TestResult;

/// The binary on the data dir `data_dir` (and its PostgreSQL database when the tests run
/// against one).
fn command(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bucketshare"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("BUCKETSHARE_MASTER_KEY")
        .env_remove("BUCKETSHARE_DATABASE_URL");
    if let Some(url) = crate::harness::database_url_blocking(data_dir) {
        command.env("BUCKETSHARE_DATABASE_URL", url.0);
    }
    command
}

fn bucketshare(data_dir: &Path, args: &[&str]) -> Output {
    command(data_dir).args(args).output().unwrap()
}

fn ok(data_dir: &Path, args: &[&str]) -> String {
    let out = bucketshare(data_dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(data_dir: &Path, args: &[&str]) -> (i32, String) {
    let out = bucketshare(data_dir, args);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(out.stdout.is_empty(), "{args:?} printed {:?}", out.stdout);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

#[tokio::test]
async fn users_and_keys_from_creation_to_deletion() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path();

    let created = json(&ok(data, &["user", "create", "alice", "--json"]));
    assert_eq!(created["name"], "alice");
    let first_id = created["access_key_id"].as_str().unwrap().to_owned();
    let first_secret = created["secret_access_key"].as_str().unwrap().to_owned();
    assert_eq!(first_id.len(), 20);
    assert_eq!(first_secret.len(), 40);

    // Listed without secrets.
    let listed = ok(data, &["key", "list", "alice", "--json"]);
    assert!(listed.contains(&first_id));
    assert!(!listed.contains(&first_secret));
    let users = json(&ok(data, &["user", "list", "--json"]));
    assert_eq!(users[0]["name"], "alice");
    assert_eq!(users[0]["keys"], 1);
    assert_eq!(users[0]["can_create_buckets"], false);
    assert!(ok(data, &["user", "list"]).contains("alice"));

    // The secret is sealed at rest: not in the database files, but recoverable with the master
    // key, which lives in a private file beside them.
    for file in ["bucketshare.db", "bucketshare.db-wal"] {
        if let Ok(bytes) = std::fs::read(data.join(file)) {
            assert!(
                !bytes.windows(40).any(|w| w == first_secret.as_bytes()),
                "secret in clear in {file}"
            );
        }
    }
    let pool = crate::harness::open_data_dir(data).await?;
    let (master, _) = MasterKey::load_or_create(data, None)?;
    let first: AccessKeyId = first_id.parse()?;
    let creds = keys::credentials(&pool, &master, &first).await?.unwrap();
    assert_eq!(creds.secret.expose(), first_secret);
    assert!(creds.usable(domain::now_unix()));

    // Rotation: a new key works, the old one no longer does.
    let rotated = json(&ok(data, &["key", "rotate", &first_id, "--json"]));
    let second: AccessKeyId = rotated["access_key_id"].as_str().unwrap().parse()?;
    assert_ne!(second, first);
    let old = keys::credentials(&pool, &master, &first).await?.unwrap();
    assert_eq!(old.key.status, KeyStatus::Inactive);
    assert!(!old.usable(domain::now_unix()));
    let new = keys::credentials(&pool, &master, &second).await?.unwrap();
    assert_eq!(
        new.secret.expose(),
        rotated["secret_access_key"].as_str().unwrap()
    );

    // Disabling the user stops every key; enabling brings them back.
    ok(data, &["user", "disable", "alice"]);
    let creds = keys::credentials(&pool, &master, &second).await?.unwrap();
    assert!(!creds.usable(domain::now_unix()));
    ok(data, &["user", "enable", "alice"]);
    ok(data, &["key", "disable", second.as_str()]);
    assert!(
        !keys::credentials(&pool, &master, &second)
            .await?
            .unwrap()
            .usable(domain::now_unix())
    );
    ok(data, &["key", "enable", second.as_str()]);
    assert!(
        keys::credentials(&pool, &master, &second)
            .await?
            .unwrap()
            .usable(domain::now_unix())
    );

    // A key with an expiry.
    let expiring = ok(data, &["key", "create", "alice", "--expires", "30d"]);
    assert!(expiring.contains("Secret access key: "));
    let table = ok(data, &["key", "list"]);
    assert_eq!(table.lines().count(), 4, "{table}");

    // Deleting the user deletes their keys.
    ok(data, &["key", "delete", first.as_str()]);
    assert!(keys::credentials(&pool, &master, &first).await?.is_none());
    ok(data, &["user", "delete", "alice"]);
    assert!(keys::credentials(&pool, &master, &second).await?.is_none());
    let keys_left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_keys")
        .fetch_one(&pool)
        .await?;
    assert_eq!(keys_left, 0);
    Ok(())
}

#[test]
fn mistakes_get_clear_errors_and_change_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path();
    ok(data, &["user", "create", "bob", "--can-create-buckets"]);

    let (code, err) = fails(data, &["user", "create", "bob"]);
    assert_eq!(
        (code, err.trim()),
        (1, "bucketshare: user `bob` already exists")
    );
    let (code, err) = fails(data, &["user", "create", "no spaces"]);
    assert_eq!(code, 1);
    assert!(err.contains("may hold only letters"), "{err}");
    let (_, err) = fails(data, &["key", "create", "nobody"]);
    assert!(err.contains("user `nobody` does not exist"), "{err}");
    let (_, err) = fails(data, &["key", "list", "nobody"]);
    assert!(err.contains("does not exist"), "{err}");
    let (code, err) = fails(data, &["key", "delete", "not-a-key"]);
    assert_eq!(code, 2, "clap refuses it before anything runs");
    assert!(err.contains("is not an access key id"), "{err}");
    let (_, err) = fails(data, &["key", "delete", "AKAAAAAAAAAAAAAAAAAA"]);
    assert!(
        err.contains("access key `AKAAAAAAAAAAAAAAAAAA` does not exist"),
        "{err}"
    );
    let (code, err) = fails(data, &["key", "create", "bob", "--expires", "0s"]);
    assert_eq!(code, 2);
    assert!(err.contains("--expires"), "{err}");

    let users = json(&ok(data, &["user", "list", "--json"]));
    assert_eq!(users.as_array().map(Vec::len), Some(1));
    assert_eq!(users[0]["keys"], 1);
    assert_eq!(users[0]["can_create_buckets"], true);
    Ok(())
}

#[test]
fn a_bad_database_url_is_refused_clearly_and_its_password_never_shown() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("new");
    let run = |url: &str| -> Result<(Option<i32>, String, std::time::Duration), std::io::Error> {
        let started = std::time::Instant::now();
        let out = command(&data)
            .args(["--database-url", url, "user", "list"])
            .output()?;
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        Ok((out.status.code(), err, started.elapsed()))
    };
    let (code, err, _) = run("mysql://ops:s3cretpw@db/bucketshare")?;
    assert_eq!(code, Some(1));
    assert!(
        err.contains("--database-url: `mysql://ops:***@db/bucketshare` must be a postgres:// URL"),
        "{err}"
    );
    assert!(
        !err.contains("s3cretpw"),
        "the password is never echoed: {err}"
    );
    assert!(!data.exists(), "nothing was created");
    // Nothing listens on port 1: the cause is named at once, not after the pool's timeout.
    let (code, err, took) = run("postgres://ops:s3cretpw@127.0.0.1:1/bucketshare")?;
    assert_eq!(code, Some(1));
    assert!(
        err.contains("cannot open the database postgres://ops:***@127.0.0.1:1/bucketshare"),
        "{err}"
    );
    assert!(err.contains("refused"), "{err}");
    assert!(
        !err.contains("s3cretpw"),
        "the password is never echoed: {err}"
    );
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    Ok(())
}

#[test]
fn a_wrong_master_key_is_refused_before_anything_runs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path();
    let out = command(data)
        .args(["user", "create", "carol"])
        .env("BUCKETSHARE_MASTER_KEY", "too short")
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("BUCKETSHARE_MASTER_KEY"), "{err}");
    assert!(
        !err.contains("too short"),
        "the key itself is never echoed: {err}"
    );
    assert!(
        json(&ok(data, &["user", "list", "--json"]))
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    Ok(())
}

#[tokio::test]
async fn buckets_and_grants() -> TestResult {
    use domain::grants::{self, Need};
    let dir = tempfile::tempdir()?;
    let data = dir.path();
    ok(data, &["user", "create", "alice"]);
    ok(data, &["user", "create", "bob"]);

    let out = ok(
        data,
        &["bucket", "create", "team-share", "--owner", "alice"],
    );
    assert_eq!(out.trim(), "Created bucket team-share owned by alice.");
    ok(data, &["bucket", "create", "archive"]);
    let (_, err) = fails(data, &["bucket", "create", "archive"]);
    assert!(err.contains("bucket `archive` already exists"), "{err}");
    let (_, err) = fails(data, &["bucket", "create", "Bad_Name"]);
    assert!(err.contains("lowercase letters"), "{err}");
    let (_, err) = fails(data, &["bucket", "create", "orphan", "--owner", "nobody"]);
    assert!(err.contains("user `nobody` does not exist"), "{err}");
    assert!(
        json(&ok(data, &["bucket", "list", "--json"]))
            .as_array()
            .is_some_and(|b| b.len() == 2)
    );

    // The creator owns the bucket; bob gets read on a prefix, for a while.
    ok(
        data,
        &[
            "grant",
            "add",
            "bob",
            "team-share",
            "read",
            "--prefix",
            "reports/",
            "--expires",
            "1h",
        ],
    );
    let (code, err) = fails(data, &["grant", "add", "bob", "team-share", "admin"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("not one of read, write, read-write, owner"),
        "{err}"
    );
    let (_, err) = fails(data, &["grant", "add", "bob", "nowhere", "read"]);
    assert!(err.contains("bucket `nowhere` does not exist"), "{err}");

    let listed = json(&ok(
        data,
        &["grant", "list", "--bucket", "team-share", "--json"],
    ));
    let rows: Vec<(String, String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["user"].as_str().unwrap().to_owned(),
                g["permission"].as_str().unwrap().to_owned(),
                g["prefix"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("alice".into(), "owner".into(), "".into()),
            ("bob".into(), "read".into(), "reports/".into())
        ]
    );

    let pool = crate::harness::open_data_dir(data).await?;
    assert!(grants::allows(&pool, "alice", "team-share", "any/key", Need::Owner).await?);
    assert!(grants::allows(&pool, "bob", "team-share", "reports/q1.pdf", Need::Read).await?);
    assert!(!grants::allows(&pool, "bob", "team-share", "reports/q1.pdf", Need::Write).await?);
    assert!(!grants::allows(&pool, "bob", "team-share", "payroll/x", Need::Read).await?);
    assert!(!grants::allows(&pool, "bob", "archive", "reports/x", Need::Read).await?);
    // An expired grant stops working by itself.
    sqlx::query("UPDATE grants SET expires_at = 1 WHERE prefix = 'reports/'")
        .execute(&pool)
        .await?;
    assert!(!grants::allows(&pool, "bob", "team-share", "reports/q1.pdf", Need::Read).await?);
    assert!(ok(data, &["grant", "list", "--user", "bob"]).contains("expired"));
    let visible = domain::buckets::visible_to(&pool, "bob").await?;
    assert!(visible.is_empty());

    ok(
        data,
        &[
            "grant",
            "remove",
            "bob",
            "team-share",
            "--prefix",
            "reports/",
        ],
    );
    let (_, err) = fails(
        data,
        &[
            "grant",
            "remove",
            "bob",
            "team-share",
            "--prefix",
            "reports/",
        ],
    );
    assert!(err.contains("does not exist"), "{err}");

    // Deleting a bucket takes its grants along.
    ok(data, &["bucket", "delete", "team-share"]);
    assert!(
        json(&ok(data, &["grant", "list", "--json"]))
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    let (_, err) = fails(data, &["bucket", "delete", "team-share"]);
    assert!(err.contains("does not exist"), "{err}");
    Ok(())
}

/// Without `--public-s3-url`, `serve` signs links for the address it listens on and records
/// it, and the admin commands beside it sign for that too, saying so; its log, written to a
/// file, carries no terminal colours.
#[tokio::test]
async fn links_name_the_running_servers_address_and_logs_to_a_file_are_plain() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path();
    ok(data, &["user", "create", "alice"]);
    ok(data, &["bucket", "create", "team"]);
    ok(data, &["grant", "add", "alice", "team", "read-write"]);
    // An upload link (to an object not there yet), made with `before` the command: what the
    // CLI said on stderr, and the link.
    let link = |before: &[&str]| {
        let mut args = before.to_vec();
        args.extend([
            "link",
            "create",
            "s3://team/a.txt",
            "--as",
            "alice",
            "--method",
            "PUT",
        ]);
        let out = bucketshare(data, &args);
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{said}");
        (said, String::from_utf8_lossy(&out.stdout).into_owned())
    };
    // Before any server started: the default, said.
    let (said, _) = link(&[]);
    assert!(
        said.contains("http://127.0.0.1:9000, the default"),
        "{said}"
    );

    let log = std::fs::File::create(data.join("serve.log"))?;
    let mut server = command(data)
        .args([
            "serve",
            "--console-addr",
            "127.0.0.1:0",
            "--s3-addr",
            "127.0.0.1:0",
        ])
        .env("BUCKETSHARE_ADMIN_PASSWORD", "a-long-enough-password-1")
        .stderr(log)
        .spawn()?;
    let mut logged = String::new();
    for _ in 0..200 {
        logged = std::fs::read_to_string(data.join("serve.log"))?;
        if logged.contains("bucketshare is serving") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        !logged.contains('\u{1b}'),
        "colour codes in a file: {logged:?}"
    );
    let s3 = logged
        .split("public_s3_url=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default()
        .to_owned();
    assert!(
        s3.starts_with("http://127.0.0.1:") && !s3.ends_with(":0"),
        "{logged}"
    );
    assert_ne!(s3, "http://127.0.0.1:9000");

    // After: the address the server listened on, said.
    let (said, url) = link(&[]);
    assert!(
        said.contains(&format!(
            "{s3}, the public S3 URL the server last started with"
        )),
        "{said}"
    );
    assert!(url.contains(&format!("{s3}/team/a.txt?")), "{url}");
    // Told otherwise, it says so.
    let (said, _) = link(&["--public-s3-url", "https://files.example.com"]);
    assert!(
        said.contains("https://files.example.com, from --public-s3-url"),
        "{said}"
    );
    Ok(())
}
