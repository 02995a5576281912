//! Upload pages as their recipients use them, over HTTP without a session: files offered,
//! sent in parts, resumed and completed; every limit refused by name before bytes are sent;
//! nothing replaced, listed or read through the page; the plain form without script; and the
//! page dying with its revocation, its grant and the policy.

use domain::grants::Permission;
use domain::links::{LinkState, pages, uploads};
use domain::settings::Settings;
use serde_json::{Value, json};

use crate::harness::TestResult;
use crate::s3env::{S3Env, admin, eventually};

/// A bucket `drop` that `ann` may write (not read), and one `other` beside it.
async fn bucket(env: &S3Env) -> TestResult {
    env.user("ann", false).await;
    for name in ["drop", "other"] {
        env.store
            .create_bucket(&env.pool, name, None, &admin())
            .await?;
    }
    domain::grants::add(
        &env.pool,
        "ann",
        "drop",
        Permission::Write,
        "",
        None,
        &admin(),
    )
    .await?;
    Ok(())
}

async fn upload_page(env: &S3Env, rules: uploads::Rules<'_>) -> domain::Result<pages::Created> {
    pages::create(
        &env.pool,
        pages::NewPage {
            bucket: "drop",
            key: "inbox/",
            user: "ann",
            note: Some("Send the <b>signed</b> forms."),
            upload: Some(rules),
            ..pages::NewPage::default()
        },
        &Settings::default(),
        &admin(),
    )
    .await
}

struct Page {
    url: String,
    http: reqwest::Client,
}

impl Page {
    fn of(env: &S3Env, created: &pages::Created) -> Self {
        Page {
            url: format!("{}/s/{}", env.endpoint, created.token),
            http: reqwest::Client::new(),
        }
    }

    async fn offer(&self, offer: Value) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}/uploads", self.url))
            .header("content-type", "application/json")
            .body(offer.to_string())
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn part(&self, id: &str, n: i64, bytes: Vec<u8>) -> u16 {
        let res = self
            .http
            .put(format!("{}/uploads/{id}/{n}", self.url))
            .body(bytes)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        if status != 200 {
            eprintln!(
                "part {n}: {status} {}",
                res.text().await.unwrap_or_default()
            );
        }
        status
    }

    async fn call(&self, method: reqwest::Method, path: &str) -> (u16, Value) {
        let res = self
            .http
            .request(method, format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Offers and sends `body` whole, part by part; the name it arrived as.
    async fn send(&self, name: &str, body: &[u8]) -> Result<String, (u16, Value)> {
        let (status, offered) = self
            .offer(json!({ "name": name, "size": body.len(), "type": "application/pdf" }))
            .await;
        if status != 201 {
            return Err((status, offered));
        }
        let id = offered["id"].as_str().unwrap().to_owned();
        let part = offered["part_size"].as_i64().unwrap() as usize;
        for (i, chunk) in body.chunks(part).enumerate() {
            assert_eq!(self.part(&id, i as i64 + 1, chunk.to_vec()).await, 200);
        }
        if body.is_empty() {
            assert_eq!(self.part(&id, 1, Vec::new()).await, 200);
        }
        let (status, done) = self
            .call(reqwest::Method::POST, &format!("/uploads/{id}/done"))
            .await;
        if status != 200 {
            return Err((status, done));
        }
        Ok(done["name"].as_str().unwrap().to_owned())
    }
}

async fn stored(env: &S3Env, key: &str) -> Option<Vec<u8>> {
    let read = env.store.read("drop", key, &|_| None).await.unwrap()?;
    let mut body = read.body;
    let mut bytes = Vec::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    Some(bytes)
}

#[tokio::test]
async fn files_arrive_in_parts_resumed_and_never_replace_one_another() -> TestResult {
    let env = S3Env::start().await;
    bucket(&env).await?;
    let created = upload_page(&env, uploads::Rules::default()).await?;
    assert!(created.link.is_upload());
    assert_eq!(created.link.state, LinkState::Active);
    let page = Page::of(&env, &created);

    // The page: what it is for, the form, its script from this origin only.
    let res = reqwest::get(&page.url).await?;
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()?
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    let html = res.text().await?;
    assert!(html.contains("<h1>Send files</h1>"), "{html}");
    assert!(html.contains("&lt;b&gt;signed&lt;/b&gt;"), "{html}");
    assert!(html.contains("enctype=\"multipart/form-data\""), "{html}");
    let script = reqwest::get(format!("{}/upload.js", page.url)).await?;
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );

    // 20 MiB + 5 bytes: three parts of 8 MiB, 8 MiB and 4 MiB + 5.
    let body: Vec<u8> = (0..(20 << 20) + 5)
        .map(|i: u32| (i * 7 % 251) as u8)
        .collect();
    let (status, offered) = page
        .offer(json!({ "name": "../../other/forms.pdf", "size": body.len(), "uploader": "Bob" }))
        .await;
    assert_eq!(status, 201, "{offered}");
    assert_eq!(offered["parts"], 3);
    assert_eq!(offered["name"], "forms.pdf");
    let id = offered["id"].as_str().unwrap().to_owned();
    let part = 8 << 20;
    // A part of the wrong length, or a number the file does not have, is refused.
    assert_eq!(page.part(&id, 1, body[..100].to_vec()).await, 400);
    assert_eq!(page.part(&id, 4, body[..5].to_vec()).await, 400);
    assert_eq!(page.part(&id, 0, body[..5].to_vec()).await, 400);
    // Part 2 then 1 arrive; the file is not done until part 3 does.
    assert_eq!(page.part(&id, 2, body[part..2 * part].to_vec()).await, 200);
    assert_eq!(page.part(&id, 1, body[..part].to_vec()).await, 200);
    let (status, early) = page
        .call(reqwest::Method::POST, &format!("/uploads/{id}/done"))
        .await;
    assert_eq!(
        (status, early["code"].as_str()),
        (409, Some("MissingParts"))
    );
    // Resuming: the page says which parts arrived.
    let (status, state) = page
        .call(reqwest::Method::GET, &format!("/uploads/{id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(state["arrived"], json!([1, 2]));
    assert_eq!(page.part(&id, 3, body[2 * part..].to_vec()).await, 200);
    let (status, done) = page
        .call(reqwest::Method::POST, &format!("/uploads/{id}/done"))
        .await;
    assert_eq!(status, 200, "{done}");
    let day = uploads::today();
    let key = format!("inbox/{day}/forms.pdf");
    assert_eq!(stored(&env, &key).await.as_deref(), Some(&body[..]));
    // Finished is finished: no second completion, no more parts.
    let (status, _) = page
        .call(reqwest::Method::POST, &format!("/uploads/{id}/done"))
        .await;
    assert_eq!(status, 404);
    assert_eq!(page.part(&id, 1, body[..part].to_vec()).await, 404);

    // The same name twice lands beside it; an object put there by someone else is kept too.
    assert_eq!(
        page.send("forms.pdf", b"second").await.unwrap(),
        "forms (2).pdf"
    );
    assert_eq!(stored(&env, &key).await.as_deref(), Some(&body[..]));
    let third = format!("inbox/{day}/forms (3).pdf");
    let bytes = bytes::Bytes::from_static(b"the admin's own");
    env.store
        .upload(
            "drop",
            &third,
            None,
            Box::pin(futures_util::stream::once(async move { Ok(bytes) })),
        )
        .await?;
    assert_eq!(
        page.send("forms.pdf", b"third").await.unwrap(),
        "forms (4).pdf"
    );
    assert_eq!(
        stored(&env, &third).await.as_deref(),
        Some(&b"the admin's own"[..])
    );
    // An empty file is a file.
    assert_eq!(page.send("empty.txt", b"").await.unwrap(), "empty.txt");
    assert_eq!(
        stored(&env, &format!("inbox/{day}/empty.txt"))
            .await
            .as_deref(),
        Some(&b""[..])
    );

    // What arrived: listed for the link page, each an audit event with its uploader.
    let arrived = uploads::arrivals(&env.pool, &created.link.id, 10).await?;
    assert_eq!(arrived.len(), 4);
    let first = arrived.iter().find(|a| a.key == key).unwrap();
    assert_eq!(first.uploader.as_deref(), Some("Bob"));
    assert_eq!(first.size, body.len() as i64);
    let events = domain::audit::query(
        &env.pool,
        &domain::audit::Filter {
            link: Some(created.link.id.clone()),
            action: Some("link.upload".to_owned()),
            ..Default::default()
        },
        None,
        10,
    )
    .await?;
    assert_eq!(events.len(), 4);
    let first = events.last().unwrap();
    assert_eq!(first.actor.as_deref(), Some("Bob"));
    assert_eq!(first.object_key.as_deref(), Some(key.as_str()));
    assert!(
        first
            .detail
            .as_deref()
            .unwrap()
            .contains("\"size\":20971525")
    );
    Ok(())
}

#[tokio::test]
async fn every_limit_is_refused_by_name_before_a_byte_is_sent() -> TestResult {
    let env = S3Env::start().await;
    bucket(&env).await?;
    let created = upload_page(
        &env,
        uploads::Rules {
            max_file: Some(1000),
            max_total: Some(2500),
            max_files: Some(3),
            types: Some(".pdf, image/*"),
            ask_name: true,
        },
    )
    .await?;
    let page = Page::of(&env, &created);
    let html = reqwest::get(&page.url).await?.text().await?;
    assert!(html.contains("Files up to 1000 bytes each."), "{html}");
    assert!(html.contains("accept=\".pdf,image/*\""), "{html}");

    let offer = |name: &str, size: i64, uploader: Option<&str>| json!({ "name": name, "size": size, "type": "application/pdf", "uploader": uploader });
    let refused = |(status, body): (u16, Value)| {
        (
            status,
            body["code"].as_str().unwrap_or("").to_owned(),
            body["error"].as_str().unwrap_or("").to_owned(),
        )
    };
    let (status, code, said) = refused(page.offer(offer("a.pdf", 10, None)).await);
    assert_eq!((status, code.as_str()), (400, "NameRequired"), "{said}");
    let (status, code, said) = refused(page.offer(offer("a.pdf", 1001, Some("Bob"))).await);
    assert_eq!((status, code.as_str()), (413, "TooLarge"));
    assert!(said.contains("at most 1000 bytes"), "{said}");
    let (status, code, said) = refused(page.offer(offer("a.exe", 10, Some("Bob"))).await);
    assert_eq!((status, code.as_str()), (415, "TypeNotAllowed"));
    assert!(said.contains(".pdf, image/*"), "{said}");
    let (status, code, _) = refused(page.offer(offer("..", 10, Some("Bob"))).await);
    assert_eq!((status, code.as_str()), (400, "BadName"));
    // A file is typed by its name: declaring it an image does not make it one.
    let html = json!({ "name": "x.html", "size": 10, "type": "image/png", "uploader": "Bob" });
    let (status, code, _) = refused(page.offer(html).await);
    assert_eq!((status, code.as_str()), (415, "TypeNotAllowed"));

    // Three files, 2,500 bytes in all: a place given up (cancelled) is free again.
    let (status, a) = page.offer(offer("a.pdf", 1000, Some("Bob"))).await;
    assert_eq!(status, 201);
    let (status, b) = page.offer(offer("b.pdf", 1000, Some("Bob"))).await;
    assert_eq!(status, 201);
    let (status, code, said) = refused(page.offer(offer("c.pdf", 600, Some("Bob"))).await);
    assert_eq!((status, code.as_str()), (413, "TotalExceeded"));
    assert!(said.contains("500 bytes is left"), "{said}");
    let b_id = b["id"].as_str().unwrap();
    let (status, _) = page
        .call(reqwest::Method::DELETE, &format!("/uploads/{b_id}"))
        .await;
    assert_eq!(status, 204);
    let (status, _) = page.offer(offer("c.pdf", 1000, Some("Bob"))).await;
    assert_eq!(status, 201);
    let (status, _) = page.offer(offer("d.pdf", 100, Some("Bob"))).await;
    assert_eq!(status, 201);
    let (status, code, _) = refused(page.offer(offer("e.pdf", 1, Some("Bob"))).await);
    assert_eq!((status, code.as_str()), (409, "TooManyFiles"));
    // A malformed offer is refused, not guessed at.
    let (status, _) = page.offer(json!({ "name": "x.pdf" })).await;
    assert_eq!(status, 400);
    let _ = a;

    // Each refusal is an event of the link, denied, with its reason.
    let codes = || async {
        let denied = domain::audit::query(
            &env.pool,
            &domain::audit::Filter {
                link: Some(created.link.id.clone()),
                outcome: Some(domain::audit::Outcome::Denied),
                ..Default::default()
            },
            None,
            50,
        )
        .await
        .unwrap();
        denied
            .iter()
            .filter_map(|e| e.error_code.clone())
            .collect::<Vec<_>>()
    };
    let wanted = [
        "NameRequired",
        "TooLarge",
        "TypeNotAllowed",
        "TotalExceeded",
        "TooManyFiles",
    ];
    assert!(
        eventually(|| async {
            let seen = codes().await;
            wanted.iter().all(|w| seen.iter().any(|c| c == w))
        })
        .await,
        "{:?}",
        codes().await
    );
    Ok(())
}

#[tokio::test]
async fn twenty_racing_uploads_never_pass_the_page_limits() -> TestResult {
    let env = S3Env::start().await;
    bucket(&env).await?;
    let created = upload_page(
        &env,
        uploads::Rules {
            max_files: Some(7),
            ..uploads::Rules::default()
        },
    )
    .await?;
    let page = std::sync::Arc::new(Page::of(&env, &created));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let page = page.clone();
            tokio::spawn(async move { page.send("same.pdf", format!("file {i}").as_bytes()).await })
        })
        .collect();
    let mut landed = Vec::new();
    for task in tasks {
        match task.await? {
            Ok(name) => landed.push(name),
            Err((status, body)) => {
                assert_eq!((status, body["code"].as_str()), (409, Some("TooManyFiles")))
            }
        }
    }
    assert_eq!(landed.len(), 7, "{landed:?}");
    landed.sort();
    landed.dedup();
    assert_eq!(landed.len(), 7, "each under its own name");
    let link = domain::links::get(&env.pool, &created.link.id).await?;
    assert_eq!(link.upload.files, 7);
    Ok(())
}

#[tokio::test]
async fn nothing_is_read_or_listed_through_an_upload_page() -> TestResult {
    let env = S3Env::start().await;
    bucket(&env).await?;
    // ann may read too: still, the page shows nothing of the folder.
    domain::grants::add(
        &env.pool,
        "ann",
        "drop",
        Permission::ReadWrite,
        "",
        None,
        &admin(),
    )
    .await?;
    let created = upload_page(&env, uploads::Rules::default()).await?;
    let page = Page::of(&env, &created);
    let name = page.send("secret.pdf", b"only for the team").await.unwrap();
    assert_eq!(name, "secret.pdf");
    let day = uploads::today();
    for path in [
        "/download".to_owned(),
        "/zip".to_owned(),
        "/preview".to_owned(),
        format!("/download?path={day}/secret.pdf"),
        format!("?path={day}/"),
        "/download?path=../other/x".to_owned(),
    ] {
        let res = reqwest::get(format!("{}{path}", page.url)).await?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        // The page itself, whatever its query: the form, nothing of the folder.
        let form = path.starts_with('?') && status == 200 && text.contains("<h1>Send files</h1>");
        assert!(form || matches!(status, 400 | 404), "{path}: {status}");
        assert!(
            !text.contains("only for the team") && !text.contains("secret.pdf"),
            "{path}: {text}"
        );
    }
    // Nothing landed outside the page's folder.
    assert!(env.store.walk("other", "", "", 10).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn the_plain_form_takes_small_files_without_script() -> TestResult {
    let env = S3Env::start().await;
    bucket(&env).await?;
    let created = upload_page(
        &env,
        uploads::Rules {
            max_file: Some(64),
            ..uploads::Rules::default()
        },
    )
    .await?;
    let page = Page::of(&env, &created);
    let boundary = "XyZbOuNdArY";
    let mut body = Vec::new();
    let mut field = |headers: &str, content: &[u8]| {
        body.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    };
    field(
        "Content-Disposition: form-data; name=\"uploader\"",
        b"Carol",
    );
    field(
        "Content-Disposition: form-data; name=\"file\"; filename=\"note.txt\"\r\nContent-Type: text/plain",
        b"a small note",
    );
    field(
        "Content-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream",
        &[7u8; 65],
    );
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let res = page
        .http
        .post(format!("{}/files", page.url))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await?;
    assert_eq!(res.status(), 400, "one of the two was refused");
    let html = res.text().await?;
    assert!(html.contains("“note.txt” arrived."), "{html}");
    assert!(html.contains("at most 64 bytes"), "{html}");
    let day = uploads::today();
    assert_eq!(
        stored(&env, &format!("inbox/{day}/note.txt"))
            .await
            .as_deref(),
        Some(&b"a small note"[..])
    );
    assert_eq!(stored(&env, &format!("inbox/{day}/big.bin")).await, None);
    let arrived = uploads::arrivals(&env.pool, &created.link.id, 10).await?;
    assert_eq!(arrived[0].uploader.as_deref(), Some("Carol"));
    Ok(())
}

#[tokio::test]
async fn an_upload_page_dies_with_its_revocation_its_grant_and_the_policy() -> TestResult {
    let env = S3Env::start().await;
    bucket(&env).await?;
    // Made only by a user who may write all of the folder, into a folder, within the policy.
    let read_only = pages::create(
        &env.pool,
        pages::NewPage {
            bucket: "other",
            key: "x/",
            user: "ann",
            upload: Some(uploads::Rules::default()),
            ..pages::NewPage::default()
        },
        &Settings::default(),
        &admin(),
    )
    .await;
    assert!(
        matches!(read_only, Err(domain::Error::Invalid { field: "user", .. })),
        "{read_only:?}"
    );
    let file = pages::create(
        &env.pool,
        pages::NewPage {
            bucket: "drop",
            key: "a.pdf",
            user: "ann",
            upload: Some(uploads::Rules::default()),
            ..pages::NewPage::default()
        },
        &Settings::default(),
        &admin(),
    )
    .await;
    assert!(
        matches!(
            file,
            Err(domain::Error::Invalid {
                field: "object",
                ..
            })
        ),
        "{file:?}"
    );
    let strict = Settings {
        max_upload_file: 1 << 20,
        upload_password: true,
        ..Settings::default()
    };
    let refused = pages::create(
        &env.pool,
        pages::NewPage {
            bucket: "drop",
            key: "inbox/",
            user: "ann",
            upload: Some(uploads::Rules::default()),
            ..pages::NewPage::default()
        },
        &strict,
        &admin(),
    )
    .await;
    assert!(
        matches!(
            refused,
            Err(domain::Error::Invalid {
                field: "password",
                ..
            })
        ),
        "{refused:?}"
    );

    let created = upload_page(&env, uploads::Rules::default()).await?;
    let page = Page::of(&env, &created);
    let offer = json!({ "name": "a.pdf", "size": 3 });
    let (status, started) = page.offer(offer.clone()).await;
    assert_eq!(status, 201);
    let id = started["id"].as_str().unwrap().to_owned();

    // The grant goes: 404 for the page and for a part already started.
    domain::grants::remove(&env.pool, "ann", "drop", "", &admin()).await?;
    assert_eq!(page.offer(offer.clone()).await.0, 404);
    assert_eq!(page.part(&id, 1, b"abc".to_vec()).await, 404);
    domain::grants::add(
        &env.pool,
        "ann",
        "drop",
        Permission::Write,
        "",
        None,
        &admin(),
    )
    .await?;
    assert_eq!(page.part(&id, 1, b"abc".to_vec()).await, 200);

    // Upload pages turned off: they stop too.
    env.settings
        .save(
            &env.pool,
            &Settings {
                upload_pages: false,
                ..Settings::default()
            },
            &admin(),
        )
        .await?;
    assert_eq!(page.offer(offer.clone()).await.0, 410);
    env.settings
        .save(&env.pool, &Settings::default(), &admin())
        .await?;

    // Revoked: 410 for everything, the half-sent file never appears.
    domain::links::revoke(&env.pool, &created.link.id, &admin()).await?;
    assert_eq!(page.offer(offer.clone()).await.0, 410);
    let (status, _) = page
        .call(reqwest::Method::POST, &format!("/uploads/{id}/done"))
        .await;
    assert_eq!(status, 410);
    assert_eq!(reqwest::get(&page.url).await?.status(), 410);
    assert!(env.store.walk("drop", "", "", 10).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_completion_raced_by_a_cancel_never_stores_an_uncounted_file() -> TestResult {
    let env = S3Env::start().await;
    bucket(&env).await?;
    let created = upload_page(&env, uploads::Rules::default()).await?;
    let page = std::sync::Arc::new(Page::of(&env, &created));
    for i in 0..40 {
        let (status, offered) = page
            .offer(json!({ "name": format!("r{i}.pdf"), "size": 3 }))
            .await;
        assert_eq!(status, 201);
        let id = offered["id"].as_str().unwrap().to_owned();
        assert_eq!(page.part(&id, 1, b"abc".to_vec()).await, 200);
        let (done_path, cancel_path) = (format!("/uploads/{id}/done"), format!("/uploads/{id}"));
        let done = page.call(reqwest::Method::POST, &done_path);
        let cancel = page.call(reqwest::Method::DELETE, &cancel_path);
        let ((done, _), (cancel, _)) = tokio::join!(done, cancel);
        // One of the two wins; never a 5xx.
        assert!(
            matches!((done, cancel), (200, 404) | (404, 204)),
            "done {done}, cancel {cancel}"
        );
    }
    // Every object in the folder arrived, counted, listed and audited.
    let objects = env.store.walk("drop", "inbox/", "", 100).await?.len();
    let link = domain::links::get(&env.pool, &created.link.id).await?;
    let arrived = uploads::arrivals(&env.pool, &created.link.id, 100)
        .await?
        .len();
    assert_eq!(objects, arrived);
    assert_eq!(link.upload.files as usize, arrived);
    let events = domain::audit::query(
        &env.pool,
        &domain::audit::Filter {
            link: Some(created.link.id.clone()),
            action: Some("link.upload".to_owned()),
            ..Default::default()
        },
        None,
        100,
    )
    .await?;
    assert_eq!(events.len(), arrived);
    // Parts have one spelling each.
    let (status, offered) = page.offer(json!({ "name": "p.pdf", "size": 3 })).await;
    assert_eq!(status, 201);
    let id = offered["id"].as_str().unwrap().to_owned();
    for odd in ["01", "+1", "%2B1", "1.0"] {
        let res = page
            .http
            .put(format!("{}/uploads/{id}/{odd}", page.url))
            .body(b"abc".to_vec())
            .send()
            .await?;
        assert_eq!(res.status(), 400, "part {odd}");
    }
    Ok(())
}
