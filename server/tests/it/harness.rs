//! A console on a fresh data dir, and a cookie-keeping client to drive it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use app::auth::ssr::{FirstAdmin, ensure_first_admin};
use app::state::{AppState, AuthSettings};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use domain::db::Pool;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use server::config::{Redacted, ServeArgs};
use tower::ServiceExt;

pub const PASSWORD: &str = "a long test password";

/// Names a PostgreSQL server (`postgres://user@host:port`) to run the tests against instead
/// of SQLite: `scripts/postgres-tests.sh` starts one and sets it.
const POSTGRES_VAR: &str = "BUCKETSHARE_TEST_POSTGRES";

/// Opens the database of the data dir `dir` as `serve` would: its SQLite file, or with
/// [`POSTGRES_VAR`] set, a PostgreSQL database of its own (see [`database_url`]).
pub async fn open_data_dir(dir: &Path) -> anyhow::Result<Pool> {
    let url = database_url(dir).await;
    server::serve::open_data_dir(dir, url.as_ref()).await
}

/// With [`POSTGRES_VAR`] set, the `--database-url` of the data dir `dir`: a database named
/// after the dir, created on first use, so that tests stay apart and reopening a dir (a second
/// instance, a restart) reopens its database.
pub async fn database_url(dir: &Path) -> Option<Redacted> {
    use sqlx::Connection;
    let server = std::env::var(POSTGRES_VAR).ok()?;
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&std::path::absolute(dir).unwrap(), &mut hasher);
    let name = format!("bs_{:016x}", std::hash::Hasher::finish(&hasher));
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .unwrap();
    if let Err(err) = sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
    {
        // 42P04: it exists already.
        let code = err.as_database_error().and_then(|e| e.code());
        assert_eq!(code.as_deref(), Some("42P04"), "{err}");
    }
    Some(Redacted(format!("{server}/{name}")))
}

/// [`database_url`] for code that is not async (commands run as child processes).
pub fn database_url_blocking(dir: &Path) -> Option<Redacted> {
    let dir = dir.to_owned();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(database_url(&dir))
    })
    .join()
    .unwrap()
}

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub struct TestApp {
    pub router: Router,
    pub pool: Pool,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(test_auth(), Duration::from_secs(3600)).await
    }

    /// A console with the given sign-in guard and session idle timeout, whose admin `admin`
    /// has the password [`PASSWORD`].
    pub async fn with(auth: AuthSettings, idle: Duration) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pool = open_data_dir(dir.path()).await.unwrap();
        let created = ensure_first_admin(&pool, Some(PASSWORD.to_owned()))
            .await
            .unwrap();
        assert!(matches!(created, FirstAdmin::CreatedWithGivenPassword));
        let sessions = server::sessions::Sessions::open(&pool).await.unwrap();
        let args = ServeArgs {
            session_idle_timeout: idle,
            ..ServeArgs::default()
        };
        let state = AppState {
            leptos_options: LeptosOptions::builder()
                .output_name("bucketshare")
                .site_root(dir.path().to_string_lossy().into_owned())
                .build(),
            pool: pool.clone(),
            auth: Arc::new(auth),
            master: Arc::new(
                domain::secrets::MasterKey::load_or_create(dir.path(), None)
                    .unwrap()
                    .0,
            ),
            settings: domain::settings::Live::new(
                domain::settings::Settings::default(),
                domain::audit::Network::default(),
            ),
            store: Arc::new(
                server::store::EmbeddedStore::new(
                    pool.clone(),
                    server::store::objects_dir(dir.path()),
                )
                .unwrap(),
            ),
        };
        let sessions = sessions.layer(&args).unwrap();
        TestApp {
            router: server::web::app(state, sessions),
            pool,
            _dir: dir,
        }
    }

    pub fn client(&self) -> Client<'_> {
        self.client_from("192.0.2.10:40000")
    }

    pub fn client_from(&self, addr: &str) -> Client<'_> {
        Client {
            app: self,
            cookie: None,
            addr: addr.parse().unwrap(),
        }
    }
}

/// Production limits, with a short failure delay so that tests run fast.
pub fn test_auth() -> AuthSettings {
    AuthSettings {
        failed_login_delay: Duration::from_millis(5),
        ..AuthSettings::default()
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// The body as it came, before any decoding (a gzip stream stays one).
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// The `kind` of a server function's JSON error.
    pub fn error_kind(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
            .unwrap_or_else(|| format!("<no error kind in {:?}>", self.body))
    }
}

/// A browser stand-in: keeps the session cookie, comes from one address.
pub struct Client<'a> {
    app: &'a TestApp,
    pub cookie: Option<String>,
    addr: SocketAddr,
}

impl Client<'_> {
    pub async fn send(&mut self, mut req: Request<Body>) -> Answer {
        if let Some(cookie) = &self.cookie {
            req.headers_mut()
                .insert(header::COOKIE, cookie.parse().unwrap());
        }
        req.extensions_mut().insert(ConnectInfo(self.addr));
        let res = self.app.router.clone().oneshot(req).await.unwrap();
        for set in res.headers().get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap().trim().to_owned();
            if set.contains("Max-Age=0") {
                self.cookie = None;
            } else if pair.starts_with("bucketshare_session=") {
                self.cookie = Some(pair);
            }
        }
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes: bytes.to_vec(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let req = Request::builder()
            .uri(path)
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    /// Calls a server function the way the hydrated console does (JSON answers).
    pub async fn call(&mut self, name: &str, form: &[(&str, &str)]) -> Answer {
        self.post(name, form, "application/json", &[]).await
    }

    /// Calls a server function that changes something, with the session's token.
    pub async fn change(&mut self, name: &str, form: &[(&str, &str)]) -> Answer {
        let (_, csrf) = self.session().await;
        let mut with_token = vec![("csrf", csrf.as_str())];
        with_token.extend_from_slice(form);
        self.call(name, &with_token).await
    }

    /// Posts a form the way a browser without JavaScript does (redirect answers).
    pub async fn post_form(&mut self, name: &str, form: &[(&str, &str)], referer: &str) -> Answer {
        self.post(name, form, "text/html", &[("referer", referer)])
            .await
    }

    pub async fn post(
        &mut self,
        name: &str,
        form: &[(&str, &str)],
        accept: &str,
        extra: &[(&str, &str)],
    ) -> Answer {
        let body = serde_urlencoded::to_string(form).unwrap();
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/{name}"))
            .header(header::HOST, "console.test")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, accept);
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }

    /// Uploads files through the console's upload form (`(name field, file name, bytes)`; a
    /// `None` name field is a plain form's post), as the script does; the answer's JSON.
    pub async fn upload(
        &mut self,
        bucket: &str,
        files: &[(Option<&str>, &str, &str)],
    ) -> serde_json::Value {
        let (_, csrf) = self.session().await;
        let boundary = "XyZ";
        let part = |name: &str, filename: Option<&str>, value: &str| {
            // The type a browser gives a file of that name.
            let content_type = |f: &str| match f.rsplit('.').next() {
                Some("html") => "text/html",
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                Some("pdf") => "application/pdf",
                _ => "text/plain",
            };
            let filename = filename
                .map(|f| format!("; filename=\"{f}\"\r\nContent-Type: {}", content_type(f)))
                .unwrap_or_default();
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{filename}\r\n\r\n{value}\r\n"
            )
        };
        let mut body = part("csrf", None, &csrf) + &part("prefix", None, "");
        for (name, filename, bytes) in files {
            if let Some(name) = name {
                body.push_str(&part("name", None, name));
            }
            body.push_str(&part("file", Some(filename), bytes));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/buckets/{bucket}/upload"))
            .header(header::HOST, "console.test")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header(header::ACCEPT, "application/json")
            .body(Body::from(body))
            .unwrap();
        let answer = self.send(req).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        serde_json::from_str(&answer.body).unwrap()
    }

    /// The session's anti-forgery token (and whether someone is signed in).
    pub async fn session(&mut self) -> (Option<String>, String) {
        let answer = self.call("session", &[]).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let v: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        (
            v["admin"].as_str().map(str::to_owned),
            v["csrf"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn login(&mut self, username: &str, password: &str) -> Answer {
        let (_, csrf) = self.session().await;
        self.call(
            "login",
            &[
                ("csrf", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    pub async fn login_ok(&mut self) {
        let answer = self.login("admin", PASSWORD).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
}

/// Makes `n` copies of the share link `id` straight in the database (`ID-1` … `ID-n`, each a
/// second older than the one before), for tests that need many links.
pub async fn copy_link(pool: &Pool, id: &str, n: i64) {
    sqlx::query(
        "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
         INSERT INTO share_links (id, bucket, object_key, method, user_id, access_key_id,
             created_by, created_at, expires_at, signature_hash)
         SELECT l.id || '-' || n.i, l.bucket, l.object_key, l.method, l.user_id,
             l.access_key_id, l.created_by, l.created_at - n.i, l.expires_at,
             l.signature_hash || n.i
         FROM share_links l, n WHERE l.id = $1",
    )
    .bind(id)
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
}
