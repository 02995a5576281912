//! Webhooks as a receiver sees them: a server started here on 127.0.0.1 gets signed events for
//! a download, an upload, a wrong password and a page's last download; while it is down the
//! events wait (and the audit has them all), and once it is back they arrive. A receiver that
//! never answers slows no request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::audit::webhooks;
use domain::grants::Permission;
use domain::links::pages;
use domain::settings::Settings;
use serde_json::{Value, json};

use crate::harness::TestResult;
use crate::links::{cli, link, ok};
use crate::s3env::{S3Env, admin};

/// One POST the receiver got.
#[derive(Debug, Clone)]
struct Got {
    signature: String,
    event: String,
    delivery: String,
    body: Vec<u8>,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// How the receiver answers.
#[derive(Clone, Copy)]
enum Answer {
    Ok,
    Never,
}

/// A webhook receiver on 127.0.0.1: records what it gets. Stopping it closes its listener and
/// every connection it had (the sender's pooled ones too).
struct Receiver {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(port: u16, got: Arc<Mutex<Vec<Got>>>, answer: Answer) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let got = got.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: http::Request<hyper::body::Incoming>| {
                            let got = got.clone();
                            async move {
                                if let Answer::Never = answer {
                                    std::future::pending::<()>().await;
                                }
                                let header = |name: &str| {
                                    req.headers()
                                        .get(name)
                                        .and_then(|v| v.to_str().ok())
                                        .unwrap_or_default()
                                        .to_owned()
                                };
                                let (signature, event, delivery) = (
                                    header(webhooks::SIGNATURE_HEADER),
                                    header(webhooks::EVENT_HEADER),
                                    header(webhooks::DELIVERY_HEADER),
                                );
                                let body = http_body_util::BodyExt::collect(req.into_body())
                                    .await
                                    .map(|b| b.to_bytes().to_vec())
                                    .unwrap_or_default();
                                got.lock().unwrap().push(Got {
                                    signature,
                                    event,
                                    delivery,
                                    body,
                                });
                                Ok::<_, std::convert::Infallible>(http::Response::new(
                                    http_body_util::Full::new(bytes::Bytes::from_static(b"ok")),
                                ))
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { port, task }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    async fn stop(self) -> u16 {
        self.task.abort();
        let _ = self.task.await;
        self.port
    }
}

/// Checks `got`'s signature as a receiver would, with `secret`: HMAC-SHA256 of `T.BODY`,
/// computed here with the `hmac` crate directly, and a recent `T`.
fn verify(got: &Got, secret: &str) -> bool {
    use hmac::Mac as _;
    let Some((t, v1)) = got
        .signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let Ok(t) = t.parse::<i64>() else {
        return false;
    };
    let now = domain::now_unix();
    if (now - t).abs() > 300 {
        return false;
    }
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&got.body);
    let Ok(v1) = hex::decode(v1) else {
        return false;
    };
    mac.verify_slice(&v1).is_ok()
}

/// Waits (up to 20 s) until `got` holds an event of `kind` on which `also` holds.
async fn arrives(got: &Arc<Mutex<Vec<Got>>>, kind: &str, also: impl Fn(&Value) -> bool) -> Got {
    for _ in 0..400 {
        let found = got
            .lock()
            .unwrap()
            .iter()
            .find(|g| g.event == kind && also(&g.json()))
            .cloned();
        if let Some(found) = found {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no {kind} event arrived; got {:?}",
        got.lock()
            .unwrap()
            .iter()
            .map(|g| g.event.clone())
            .collect::<Vec<_>>()
    );
}

/// A bucket `shared` with `doc.txt`, which `ann` may read and write.
async fn shared(env: &S3Env) -> TestResult {
    env.user("ann", false).await;
    env.store
        .create_bucket(&env.pool, "shared", None, &admin())
        .await?;
    domain::grants::add(
        &env.pool,
        "ann",
        "shared",
        Permission::ReadWrite,
        "",
        None,
        &admin(),
    )
    .await?;
    let stream: domain::store::UploadBody<'_> = Box::pin(futures_util::stream::once(async {
        Ok(bytes::Bytes::from_static(b"the document"))
    }));
    env.store
        .upload("shared", "doc.txt", Some("text/plain".into()), stream)
        .await?;
    Ok(())
}

async fn page(env: &S3Env, new: pages::NewPage<'_>) -> pages::Created {
    pages::create(&env.pool, new, &Settings::default(), &admin())
        .await
        .unwrap()
}

/// Sends `body` as `name` through the upload page at `url` (offer, one part, done).
async fn upload(http: &reqwest::Client, url: &str, name: &str, body: &[u8]) {
    let offered = http
        .post(format!("{url}/uploads"))
        .header("content-type", "application/json")
        .body(json!({ "name": name, "size": body.len(), "uploader": "Bob" }).to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let offered: Value = serde_json::from_str(&offered).unwrap();
    let id = offered["id"].as_str().unwrap();
    let part = http
        .put(format!("{url}/uploads/{id}/1"))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 200);
    let done = http
        .post(format!("{url}/uploads/{id}/done"))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
}

/// The events of `kind` the audit holds for `link`.
async fn audited(env: &S3Env, link: &str, code: Option<&str>, action: &str) -> usize {
    let filter = domain::audit::Filter {
        link: Some(link.to_owned()),
        ..domain::audit::Filter::default()
    };
    domain::audit::query(&env.pool, &filter, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action && (code.is_none() || e.error_code.as_deref() == code))
        .count()
}

#[tokio::test]
async fn receivers_get_signed_events_and_none_is_lost_while_they_are_down() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    tokio::spawn(server::webhooks::Sender::new(env.pool.clone(), env.master.clone())?.run());
    let got = Arc::new(Mutex::new(Vec::new()));
    let receiver = Receiver::start(0, got.clone(), Answer::Ok).await;
    let http = reqwest::Client::new();

    // A file page with a password and a 2-download limit, with its own webhook.
    let file = page(
        &env,
        pages::NewPage {
            bucket: "shared",
            key: "doc.txt",
            user: "ann",
            max_downloads: Some(2),
            password: Some(zeroize::Zeroizing::new("open sesame 42".into())),
            ..pages::NewPage::default()
        },
    )
    .await;
    let (hook, secret) = webhooks::attach(
        &env.pool,
        &env.master,
        &admin(),
        Some(&file.link.id),
        &receiver.url(),
    )
    .await?;
    assert!(secret.expose().starts_with("whsec_"), "{}", secret.expose());
    assert_eq!(hook.scope, file.link.id);
    // Nothing of the secret is stored in the clear, nor in the audit.
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT secret_sealed FROM webhooks WHERE id = $1")
        .bind(&hook.id)
        .fetch_one(&env.pool)
        .await?;
    assert!(!String::from_utf8_lossy(&sealed).contains(&secret.expose()[6..]));
    let attach_events = audited(&env, &file.link.id, None, "webhook.attach").await;
    assert_eq!(attach_events, 1);

    // A wrong password, then the right one and both downloads: the second is the last.
    let file_url = format!("{}/s/{}", env.endpoint, file.token);
    let wrong = http
        .post(&file_url)
        .form(&[("password", "not it at all")])
        .send()
        .await?;
    assert_eq!(wrong.status(), 401);
    let failed = arrives(&got, "link.password_failed", |_| true).await;
    assert!(verify(&failed, secret.expose()), "{failed:?}");
    let event = failed.json();
    assert_eq!(event["type"], "link.password_failed");
    assert_eq!(event["link"], file.link.id.as_str());
    assert_eq!(event["id"], failed.delivery.as_str());
    assert_eq!(event["error"], "WrongPassword");
    // Another secret does not verify it; neither does a changed body.
    let (_, other) =
        webhooks::attach(&env.pool, &env.master, &admin(), None, &receiver.url()).await?;
    assert!(!verify(&failed, other.expose()));
    let mut tampered = failed.clone();
    tampered.body[2] ^= 1;
    assert!(!verify(&tampered, secret.expose()));

    let manual = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let right = manual
        .post(&file_url)
        .form(&[("password", "open sesame 42")])
        .send()
        .await?;
    assert_eq!(right.status(), 303);
    let cookie = right.headers()["set-cookie"]
        .to_str()?
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        let res = manual
            .get(format!("{file_url}/download"))
            .header("cookie", &cookie)
            .send()
            .await?;
        assert_eq!(res.status(), 200);
        assert_eq!(res.bytes().await?, &b"the document"[..]);
    }
    let download = arrives(&got, "link.access", |e| e["operation"] == "PageDownload").await;
    assert!(verify(&download, secret.expose()));
    let event = download.json();
    assert_eq!(event["bucket"], "shared");
    assert_eq!(event["key"], "doc.txt");
    assert_eq!(event["status"], 200);
    assert_eq!(event["bytes_sent"], 12);
    let exhausted = arrives(&got, "link.exhausted", |_| true).await;
    assert!(verify(&exhausted, secret.expose()));

    // An upload page and a pre-signed URL have no webhook of their own: the default one
    // (attached above, with its own secret) hears them.
    let inbox = page(
        &env,
        pages::NewPage {
            bucket: "shared",
            key: "inbox/",
            user: "ann",
            upload: Some(domain::links::uploads::Rules::default()),
            ..pages::NewPage::default()
        },
    )
    .await;
    let inbox_url = format!("{}/s/{}", env.endpoint, inbox.token);
    upload(&http, &inbox_url, "forms.pdf", b"%PDF-1.7 signed").await;
    let arrived = arrives(&got, "link.upload", |_| true).await;
    assert!(verify(&arrived, other.expose()));
    assert!(!verify(&arrived, secret.expose()));
    let event = arrived.json();
    assert_eq!(event["link"], inbox.link.id.as_str());
    assert_eq!(event["name"], "forms.pdf");
    assert_eq!(event["size"], 15);
    assert_eq!(event["uploader"], "Bob");
    assert!(
        event["key"].as_str().unwrap().ends_with("/forms.pdf"),
        "{event}"
    );
    // The upload page's own calls (offer, part, done) are not accesses.
    assert!(!got.lock().unwrap().iter().any(|g| {
        g.json()["operation"]
            .as_str()
            .is_some_and(|o| o.starts_with("PageUpload"))
    }));
    let (presigned, presigned_url) = link(&env, "s3://shared/doc.txt", "ann", &[]);
    assert_eq!(reqwest::get(&presigned_url).await?.status(), 200);
    let access = arrives(&got, "link.access", |e| e["link"] == presigned.as_str()).await;
    assert!(verify(&access, other.expose()));

    // Everything so far was delivered.
    let default_hook = webhooks::get(&env.pool, None).await?.unwrap();
    for id in [&hook.id, &default_hook.id] {
        assert!(
            crate::s3env::eventually(|| async {
                let (_, waiting) = webhooks::recent(&env.pool, id, 1).await.unwrap();
                waiting == 0
            })
            .await
        );
    }

    // The receiver goes down; the link is used meanwhile; the audit has every use at once.
    let port = receiver.stop().await;
    let before = got.lock().unwrap().len();
    for _ in 0..3 {
        assert_eq!(reqwest::get(&presigned_url).await?.status(), 200);
    }
    let served = |n: usize| {
        let env = &env;
        let presigned = presigned.clone();
        async move {
            crate::s3env::eventually(|| async {
                audited(env, &presigned, None, "GetObject").await == n
            })
            .await
        }
    };
    assert!(served(4).await);
    // The sender tries, fails, and says so on the webhook.
    let failing = async {
        for _ in 0..200 {
            let hook = webhooks::get(&env.pool, None).await.unwrap().unwrap();
            if hook.failures > 0 {
                return hook;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no failure recorded");
    }
    .await;
    assert!(failing.last_error.is_some(), "{failing:?}");
    assert_eq!(got.lock().unwrap().len(), before);
    let (_, waiting) = webhooks::recent(&env.pool, &default_hook.id, 10).await?;
    assert_eq!(waiting, 3);

    // Back up (same address): every event waiting arrives, each once, signed.
    let receiver = Receiver::start(port, got.clone(), Answer::Ok).await;
    let accesses = || -> Vec<Got> {
        got.lock()
            .unwrap()
            .iter()
            .filter(|g| g.event == "link.access" && g.json()["link"] == presigned.as_str())
            .cloned()
            .collect()
    };
    for _ in 0..400 {
        if accesses().len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let arrived = accesses();
    assert_eq!(arrived.len(), 4, "{arrived:?}");
    assert!(arrived.iter().all(|g| verify(g, other.expose())));
    let ids: std::collections::HashSet<_> = arrived.iter().map(|g| g.delivery.clone()).collect();
    assert_eq!(ids.len(), 4);
    assert!(
        crate::s3env::eventually(|| async {
            let hook = webhooks::get(&env.pool, None).await.unwrap().unwrap();
            hook.failures == 0 && hook.last_status == Some(200)
        })
        .await
    );
    let (events, waiting) = webhooks::recent(&env.pool, &default_hook.id, 10).await?;
    assert_eq!(waiting, 0);
    assert!(events.iter().all(|e| e.delivered), "{events:?}");
    receiver.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_receiver_that_never_answers_slows_no_request() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    tokio::spawn(server::webhooks::Sender::new(env.pool.clone(), env.master.clone())?.run());
    let got = Arc::new(Mutex::new(Vec::new()));
    let receiver = Receiver::start(0, got.clone(), Answer::Never).await;
    webhooks::attach(&env.pool, &env.master, &admin(), None, &receiver.url()).await?;
    let file = page(
        &env,
        pages::NewPage {
            bucket: "shared",
            key: "doc.txt",
            user: "ann",
            ..pages::NewPage::default()
        },
    )
    .await;
    let url = format!("{}/s/{}/download", env.endpoint, file.token);
    let http = reqwest::Client::new();
    // 40 downloads, each well within a second although every delivery hangs for 10 s.
    for _ in 0..40 {
        let res = tokio::time::timeout(Duration::from_secs(5), http.get(&url).send())
            .await
            .expect("a download waited on the webhook")?;
        assert_eq!(res.status(), 200);
    }
    assert!(
        crate::s3env::eventually(|| async {
            audited(&env, &file.link.id, None, "PageDownload").await == 40
        })
        .await
    );
    // Another link's own receiver is not held up by the one that hangs: its event arrives
    // while the default webhook's attempts wait on their 10 s timeouts.
    let healthy = Arc::new(Mutex::new(Vec::new()));
    let other = Receiver::start(0, healthy.clone(), Answer::Ok).await;
    let (id, url) = link(&env, "s3://shared/doc.txt", "ann", &[]);
    webhooks::attach(&env.pool, &env.master, &admin(), Some(&id), &other.url()).await?;
    assert_eq!(reqwest::get(&url).await?.status(), 200);
    let waited = std::time::Instant::now();
    while healthy.lock().unwrap().is_empty() {
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "a hanging receiver held up another webhook's event"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The hanging one was tried once at a time: its failures count attempts, not events.
    let hanging = webhooks::get(&env.pool, None).await?.unwrap();
    assert!(hanging.failures <= 1, "{hanging:?}");
    other.stop().await;
    receiver.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_failing_receiver_is_probed_one_event_at_a_time_and_a_new_url_gets_the_backlog()
-> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    tokio::spawn(server::webhooks::Sender::new(env.pool.clone(), env.master.clone())?.run());
    // Nothing listens there: every attempt fails at once.
    let dead = Receiver::start(0, Arc::default(), Answer::Ok).await;
    let dead_url = dead.url();
    dead.stop().await;
    webhooks::attach(&env.pool, &env.master, &admin(), None, &dead_url).await?;
    let (_, url) = link(&env, "s3://shared/doc.txt", "ann", &[]);
    for _ in 0..5 {
        assert_eq!(reqwest::get(&url).await?.status(), 200);
    }
    let hook = webhooks::get(&env.pool, None).await?.unwrap();
    assert!(
        crate::s3env::eventually(|| async {
            webhooks::recent(&env.pool, &hook.id, 0).await.unwrap().1 == 5
                && webhooks::get(&env.pool, None)
                    .await
                    .unwrap()
                    .unwrap()
                    .failures
                    >= 1
        })
        .await
    );
    // Within the first second: one attempt, not one per event.
    let failing = webhooks::get(&env.pool, None).await?.unwrap();
    assert_eq!(failing.failures, 1, "{failing:?}");
    let (events, _) = webhooks::recent(&env.pool, &hook.id, 10).await?;
    assert_eq!(
        events.iter().map(|e| e.attempts).sum::<i64>(),
        1,
        "{events:?}"
    );

    // The admin fixes the URL: the same webhook, a new secret, and the backlog goes there.
    let got = Arc::new(Mutex::new(Vec::new()));
    let receiver = Receiver::start(0, got.clone(), Answer::Ok).await;
    let (moved, secret) =
        webhooks::attach(&env.pool, &env.master, &admin(), None, &receiver.url()).await?;
    assert_eq!(moved.id, hook.id);
    assert_eq!(moved.failures, 0);
    for _ in 0..400 {
        if got.lock().unwrap().len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let arrived = got.lock().unwrap().clone();
    assert_eq!(arrived.len(), 5, "{arrived:?}");
    assert!(arrived.iter().all(|g| verify(g, secret.expose())));
    // In the order they happened.
    let times: Vec<String> = arrived
        .iter()
        .map(|g| g.json()["at"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    receiver.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_cli_and_the_console_attach_test_and_remove_webhooks() -> TestResult {
    let env = S3Env::start().await;
    shared(&env).await?;
    let (id, _) = link(&env, "s3://shared/doc.txt", "ann", &[]);
    // Bad URLs are refused by name, and nothing is attached.
    for bad in ["ftp://x/", "not a url", "https://u:p@h/"] {
        let out = cli(&env, &["link", "webhook", &id, "--url", bad]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("url"), "{err}");
    }
    assert!(webhooks::get(&env.pool, Some(&id)).await?.is_none());
    let out = cli(
        &env,
        &["link", "webhook", "lnosuchlink0000", "--url", "https://h/"],
    );
    assert!(!out.status.success());

    let made = ok(
        &env,
        &[
            "link",
            "webhook",
            &id,
            "--url",
            "https://hooks.example.com/in",
        ],
    );
    assert!(made.contains("whsec_"), "{made}");
    let shown = ok(&env, &["link", "webhook", &id]);
    assert!(shown.contains("https://hooks.example.com/in"), "{shown}");
    assert!(!shown.contains("whsec_"), "{shown}");
    ok(&env, &["link", "webhook", &id, "--test"]);
    let (events, waiting) = webhooks::recent(
        &env.pool,
        &webhooks::get(&env.pool, Some(&id)).await?.unwrap().id,
        10,
    )
    .await?;
    assert_eq!(waiting, 1);
    assert_eq!(events[0].event, "webhook.test");
    // Either --url or --remove, not both; a link or --default, not neither.
    assert!(
        !cli(
            &env,
            &["link", "webhook", &id, "--url", "https://h/", "--remove"]
        )
        .status
        .success()
    );
    assert!(!cli(&env, &["link", "webhook"]).status.success());
    let removed = ok(&env, &["link", "webhook", &id, "--remove"]);
    assert!(removed.contains("Removed"), "{removed}");
    assert!(webhooks::get(&env.pool, Some(&id)).await?.is_none());
    let default = ok(
        &env,
        &[
            "link",
            "webhook",
            "--default",
            "--url",
            "http://127.0.0.1:9/x",
        ],
    );
    assert!(default.contains("whsec_"), "{default}");
    assert!(webhooks::get(&env.pool, None).await?.is_some());
    // Attached, removed, attached (the default): each is an admin action in the audit.
    assert_eq!(
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM audit_events WHERE action LIKE 'webhook.%'"
        )
        .fetch_one(&env.pool)
        .await?,
        3
    );
    Ok(())
}
