//! Server side of admin authentication: password hashing, the session's admin and anti-forgery
//! token, sign-in throttling, and the first admin of a fresh data dir.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::ConnectInfo;
use domain::admins;
use domain::audit::{Action, Origin};
use domain::db::Pool;
use rand::Rng;
use rand::distr::Alphanumeric;
use subtle::ConstantTimeEq;
use tower_sessions::Session;
use zeroize::Zeroizing;

use crate::error::{AppError, ssr::internal};
use crate::state::{AuthSettings, app_state, now_unix};

/// Session keys. The admin id and the password epoch it was signed in under; the CSRF token.
const ADMIN_ID: &str = "admin_id";
const AUTH_EPOCH: &str = "auth_epoch";
const CSRF: &str = "csrf";

/// The user name of the admin created on first start.
pub const FIRST_ADMIN: &str = "admin";
/// Shortest password accepted for an admin.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password accepted (hashing cost grows with length; nobody types more).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// A signed-in admin: proof that the request carries a valid admin session. Server functions
/// obtain one on their first line and pass it to what they call.
#[derive(Debug, Clone)]
pub struct Admin {
    pub id: i64,
    pub name: String,
}

// ---------------------------------------------------------------------------------------------
// Passwords

/// argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).
fn argon2() -> Result<Argon2<'static>, AppError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| internal("argon2 params", e))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Password hashes computed at once at most: each takes 19 MiB and tens of ms of CPU, so a
/// burst of sign-ins queues here instead of exhausting memory and the blocking threads.
static ARGON2_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Hashes a password into a PHC string, on a blocking thread (argon2 takes tens of ms of CPU).
pub async fn hash_password(password: Zeroizing<String>) -> Result<String, AppError> {
    let _slot = ARGON2_SLOTS
        .acquire()
        .await
        .map_err(|e| internal("argon2 slots", e))?;
    tokio::task::spawn_blocking(move || {
        argon2()?
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| internal("hashing a password", e))
    })
    .await?
}

/// Checks a password against a stored PHC string, on a blocking thread. `None` as the hash
/// verifies against a dummy hash, so that an unknown user costs the same time as a known one.
async fn verify_password(
    password: Zeroizing<String>,
    hash: Option<String>,
) -> Result<bool, AppError> {
    let _slot = ARGON2_SLOTS
        .acquire()
        .await
        .map_err(|e| internal("argon2 slots", e))?;
    tokio::task::spawn_blocking(move || {
        let argon2 = argon2()?;
        let stored = match &hash {
            Some(hash) => hash.as_str(),
            None => dummy_hash(&argon2)?,
        };
        let parsed =
            PasswordHash::new(stored).map_err(|e| internal("stored hash unreadable", e))?;
        Ok(argon2.verify_password(password.as_bytes(), &parsed).is_ok() && hash.is_some())
    })
    .await?
}

/// A failure of the admin accounts' storage: the database's, so logged and answered 500.
fn domain_failure(err: domain::Error) -> AppError {
    internal("admin accounts", err)
}

/// A hash of a random password, made once, for verifying unknown user names against.
fn dummy_hash(argon2: &Argon2<'_>) -> Result<&'static str, AppError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let hash = argon2
        .hash_password(random_string(32).as_bytes())
        .map_err(|e| internal("hashing the dummy password", e))?
        .to_string();
    Ok(DUMMY.get_or_init(|| hash))
}

/// A random alphanumeric string (62 symbols, ~5.95 bits each) from the OS-seeded thread RNG.
pub fn random_string(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Why a new password is refused, if it is.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Err(format!(
            "Use at least {MIN_PASSWORD_LEN} characters (this one has {chars})."
        ));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(format!("Use at most {MAX_PASSWORD_LEN} bytes."));
    }
    if password.trim() != password {
        return Err("The password must not start or end with spaces.".to_owned());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The first admin

/// Creates the admin `admin` if there is no admin at all. The password is `password` when
/// given, or a generated one, which is returned so that the caller can show it once.
///
/// This fails if: a given password is too weak (nothing is created then), or the database fails.
pub async fn ensure_first_admin(
    pool: &Pool,
    password: Option<String>,
) -> Result<FirstAdmin, AppError> {
    if admins::count(pool).await.map_err(domain_failure)? > 0 {
        return Ok(FirstAdmin::AlreadyThere);
    }
    let (password, generated) = match password {
        Some(password) => {
            check_new_password(&password)
                .map_err(|message| AppError::invalid("BUCKETSHARE_ADMIN_PASSWORD", message))?;
            (Zeroizing::new(password), false)
        }
        None => (Zeroizing::new(random_string(24)), true),
    };
    let hash = hash_password(password.clone()).await?;
    // If another process created it meanwhile, theirs stands.
    let created = admins::create(pool, FIRST_ADMIN, &hash, None)
        .await
        .map_err(domain_failure)?;
    Ok(match (created, generated) {
        (false, _) => FirstAdmin::AlreadyThere,
        (true, false) => FirstAdmin::CreatedWithGivenPassword,
        (true, true) => FirstAdmin::CreatedWithGeneratedPassword(password),
    })
}

/// What [`ensure_first_admin`] did.
#[derive(Debug)]
pub enum FirstAdmin {
    AlreadyThere,
    CreatedWithGivenPassword,
    /// Show this once to whoever started the server; it is stored only as a hash.
    CreatedWithGeneratedPassword(Zeroizing<String>),
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// The session of the request being served.
pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| internal("no session layer", e))
}

/// Keeps `value` in the session under `name`, sealed with the master key: a secret shown once
/// (a new key's secret, a new link's URL) never lies in a session row in clear.
pub async fn insert_sealed<T: serde::Serialize>(
    session: &Session,
    name: &str,
    value: &T,
) -> Result<(), AppError> {
    use base64::Engine as _;
    let clear = zeroize::Zeroizing::new(
        serde_json::to_vec(value).map_err(|e| internal("encoding a session value", e))?,
    );
    let sealed = app_state()?
        .master
        .seal_bytes(name, &clear)
        .map_err(|e| internal("sealing a session value", e))?;
    session
        .insert(
            name,
            base64::engine::general_purpose::STANDARD.encode(sealed),
        )
        .await?;
    Ok(())
}

/// What [`insert_sealed`] kept under `name`; `None` if nothing (or nothing readable) is there.
pub async fn get_sealed<T: serde::de::DeserializeOwned>(
    session: &Session,
    name: &str,
) -> Result<Option<T>, AppError> {
    use base64::Engine as _;
    let Some(text) = session.get::<String>(name).await? else {
        return Ok(None);
    };
    let Ok(sealed) = base64::engine::general_purpose::STANDARD.decode(text) else {
        return Ok(None);
    };
    let Some(clear) = app_state()?.master.open_bytes(name, &sealed) else {
        return Ok(None);
    };
    Ok(serde_json::from_slice(&clear).ok())
}

/// The address the request came from: the peer's, or from `X-Forwarded-For` when the peer is
/// a trusted proxy. `None` when the server runs without peer info.
async fn client_addr() -> Option<IpAddr> {
    let ConnectInfo(addr) = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .ok()?;
    let headers: http::HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let state = app_state().ok()?;
    Some(state.auth.network.client_ip(addr.ip(), forwarded))
}

/// The client address as throttling counts it ("unknown" without peer info).
async fn client_ip() -> String {
    client_addr()
        .await
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// `name` acting from this request (inside a server function), as recorded in the audit trail.
pub async fn admin_origin(name: &str) -> Origin {
    let headers: http::HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    let peer = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .ok()
        .map(|ConnectInfo(addr)| addr.ip());
    let network = app_state()
        .map(|s| s.auth.network.clone())
        .unwrap_or_default();
    origin_of(name, &network, peer, &headers)
}

/// `name` acting from a request with these `headers` from `peer`, as the audit records it.
pub fn origin_of(
    name: &str,
    network: &domain::audit::Network,
    peer: Option<IpAddr>,
    headers: &http::HeaderMap,
) -> Origin {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let forwarded = header("x-forwarded-for");
    Origin {
        client_ip: peer.map(|ip| network.record(network.client_ip(ip, forwarded.as_deref()))),
        user_agent: header("user-agent"),
        request_id: header("x-request-id"),
        ..Origin::admin(name)
    }
}

/// Records a console action that changes nothing else (sign-in, sign-out).
async fn audit_alone(pool: &Pool, by: &Origin, action: Action<'_>) -> Result<(), AppError> {
    let mut tx = domain::db::write_tx(pool).await?;
    domain::audit::record_action(&mut tx, by, action)
        .await
        .map_err(|e| internal("cannot write the audit trail", e))?;
    tx.commit().await?;
    Ok(())
}

/// The session's anti-forgery token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, AppError> {
    if let Some(token) = session.get::<String>(CSRF).await? {
        return Ok(token);
    }
    let token = random_string(43);
    session.insert(CSRF, &token).await?;
    Ok(token)
}

/// The current request's session's anti-forgery token: for forms rendered as HTML by a server
/// function (`crate::fragment`), which carry it themselves.
pub async fn current_csrf_token() -> Result<String, AppError> {
    csrf_token(&session().await?).await
}

/// Checks a submitted anti-forgery token against the session's, in constant time.
///
/// This fails if: the session has no token (it expired or never rendered a form), or the
/// tokens differ.
pub async fn check_csrf(session: &Session, submitted: &str) -> Result<(), AppError> {
    let expected = session.get::<String>(CSRF).await?;
    match expected {
        Some(expected) if bool::from(expected.as_bytes().ct_eq(submitted.as_bytes())) => Ok(()),
        _ => Err(AppError::CsrfRejected),
    }
}

/// The admin signed in on `session`, if the session is signed in, the admin still exists and is
/// active, and their password has not changed since (a password change signs out every other
/// session).
pub async fn current_admin(pool: &Pool, session: &Session) -> Result<Option<Admin>, AppError> {
    let Some(id) = session.get::<i64>(ADMIN_ID).await? else {
        return Ok(None);
    };
    let epoch = session.get::<i64>(AUTH_EPOCH).await?;
    let row = admins::active(pool, id).await.map_err(domain_failure)?;
    Ok(match row {
        Some((name, changed_at)) if Some(changed_at) == epoch => Some(Admin { id, name }),
        _ => None,
    })
}

/// The signed-in admin of this request. For read-only server functions.
///
/// This fails if: nobody is signed in on this session ([`AppError::Unauthenticated`]).
pub async fn require_admin() -> Result<Admin, AppError> {
    let state = app_state()?;
    let session = session().await?;
    current_admin(&state.pool, &session)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// The signed-in admin of this request, for server functions that change something: the
/// submitted anti-forgery token must match the session's.
///
/// This fails if: the token does not match ([`AppError::CsrfRejected`]), or nobody is signed in.
pub async fn require_admin_for_change(csrf: &str) -> Result<Admin, AppError> {
    let state = app_state()?;
    let session = session().await?;
    check_csrf(&session, csrf).await?;
    current_admin(&state.pool, &session)
        .await?
        .ok_or(AppError::Unauthenticated)
}

// ---------------------------------------------------------------------------------------------
// Signing in and out

/// Signs `username` in on this request's session.
///
/// This fails if: the anti-forgery token does not match; the account or the client address
/// has had too many failures lately ([`AppError::Throttled`], checked before the password so
/// that guessing stops costing us CPU); or the name or password is wrong
/// ([`AppError::InvalidCredentials`], after a constant delay).
pub async fn login(csrf: &str, username: &str, password: String) -> Result<Admin, AppError> {
    let password = Zeroizing::new(password);
    let state = app_state()?;
    let session = session().await?;
    check_csrf(&session, csrf).await?;

    let username = username.trim();
    let ip = client_ip().await;
    let throttle = Throttle {
        pool: &state.pool,
        settings: &state.auth,
    };
    let attempt = throttle.charge(username, &ip).await?;

    let row = admins::credentials(&state.pool, username)
        .await
        .map_err(domain_failure)?;
    let (stored_hash, admin) = match row {
        Some(found) => (
            Some(found.password_hash),
            Some((
                Admin {
                    id: found.id,
                    name: found.name,
                },
                found.password_changed_at,
            )),
        ),
        None => (None, None),
    };
    let ok = verify_password(password, stored_hash).await?;
    let Some((admin, epoch)) = admin.filter(|_| ok) else {
        // The attempt charged above stays as a failure.
        tracing::warn!(%username, %ip, "failed admin sign-in");
        let origin = admin_origin(username).await;
        audit_alone(
            &state.pool,
            &origin,
            Action::new("admin.login", username).denied(),
        )
        .await?;
        tokio::time::sleep(state.auth.failed_login_delay).await;
        return Err(AppError::InvalidCredentials);
    };

    throttle.succeeded(attempt, username, &ip).await?;
    // A new session id at every privilege change stops session fixation; a new token too.
    session.cycle_id().await?;
    session.insert(ADMIN_ID, admin.id).await?;
    session.insert(AUTH_EPOCH, epoch).await?;
    session.insert(CSRF, random_string(43)).await?;
    tracing::info!(admin = %admin.name, %ip, "admin signed in");
    let origin = admin_origin(&admin.name).await;
    audit_alone(
        &state.pool,
        &origin,
        Action::new("admin.login", &admin.name),
    )
    .await?;
    Ok(admin)
}

/// Ends this request's session (its row is deleted from the store).
pub async fn logout(admin: &Admin) -> Result<(), AppError> {
    session().await?.flush().await?;
    tracing::info!(admin = %admin.name, "admin signed out");
    let origin = admin_origin(&admin.name).await;
    audit_alone(
        &app_state()?.pool,
        &origin,
        Action::new("admin.logout", &admin.name),
    )
    .await?;
    Ok(())
}

/// Changes `admin`'s password after checking the current one. Every other session of this
/// admin is signed out; this one stays signed in under a new id.
///
/// This fails if: the current password is wrong (counted as a failed sign-in, so that this form
/// cannot be used to guess it), the new one is too weak, or the confirmation differs.
pub async fn change_password(
    admin: &Admin,
    current: String,
    new: String,
    confirm: String,
) -> Result<(), AppError> {
    let (current, new, confirm) = (
        Zeroizing::new(current),
        Zeroizing::new(new),
        Zeroizing::new(confirm),
    );
    check_new_password(&new).map_err(|message| AppError::invalid("new_password", message))?;
    if *new != *confirm {
        return Err(AppError::invalid(
            "confirm_password",
            "The two new passwords differ.",
        ));
    }
    let state = app_state()?;
    let ip = client_ip().await;
    let throttle = Throttle {
        pool: &state.pool,
        settings: &state.auth,
    };
    let attempt = throttle.charge(&admin.name, &ip).await?;
    let stored = admins::password_hash(&state.pool, admin.id)
        .await
        .map_err(domain_failure)?;
    if !verify_password(current, Some(stored)).await? {
        tokio::time::sleep(state.auth.failed_login_delay).await;
        return Err(AppError::invalid(
            "current_password",
            "The current password is wrong.",
        ));
    }
    throttle.succeeded(attempt, &admin.name, &ip).await?;
    let hash = hash_password(new).await?;
    // The epoch must move even when two changes fall in the same second.
    let origin = admin_origin(&admin.name).await;
    let epoch = admins::set_password(&state.pool, admin.id, &hash, &origin)
        .await
        .map_err(domain_failure)?;
    let session = session().await?;
    session.cycle_id().await?;
    session.insert(AUTH_EPOCH, epoch).await?;
    tracing::info!(admin = %admin.name, "admin changed their password");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Throttling

/// Counts failed sign-ins over a sliding window, in the database so that counts survive
/// restarts and are shared by every instance. Three limits: per account *and* client address
/// (`max_failures_per_account`: guessing one account from one place), per address
/// (`max_failures_per_ip`: one place trying many accounts), and per account from anywhere at
/// [`GLOBAL_FACTOR`] times the first (a distributed guess) — so that locking the account `admin`
/// out takes far more than a handful of wrong passwords sent from anywhere.
///
/// Checking and counting are one step ([`Throttle::charge`]): every attempt is recorded as a
/// failure in the transaction that checks the limits, before its password is verified, and
/// taken back if it succeeds. Concurrent wrong passwords cannot all slip under a limit.
struct Throttle<'a> {
    pool: &'a Pool,
    settings: &'a AuthSettings,
}

/// How many more failures than per account and address lock an account from everywhere.
const GLOBAL_FACTOR: i64 = 20;

impl Throttle<'_> {
    fn window_start(&self) -> i64 {
        now_unix() - self.settings.failure_window.as_secs() as i64
    }

    /// Checks the limits and records this attempt as a failure, in one transaction; gives the
    /// attempt's row id back to [`Throttle::succeeded`].
    ///
    /// This fails if: a limit is reached in the window ([`AppError::Throttled`]).
    async fn charge(&self, username: &str, ip: &str) -> Result<i64, AppError> {
        let username = username.to_lowercase();
        let since = self.window_start();
        let mut tx = domain::db::write_tx(self.pool).await?;
        let counts: (i64, i64, i64, Option<i64>) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN username = $1 AND ip = $2 THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN ip = $2 THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN username = $1 THEN 1 ELSE 0 END), 0),
                    MIN(at)
             FROM login_failures WHERE at > $3 AND (username = $1 OR ip = $2)",
        )
        .bind(&username)
        .bind(ip)
        .bind(since)
        .fetch_one(&mut *tx)
        .await?;
        let (pair, by_ip, by_account, oldest) = counts;
        let per_account = i64::from(self.settings.max_failures_per_account);
        if pair >= per_account
            || by_ip >= i64::from(self.settings.max_failures_per_ip)
            || by_account >= per_account * GLOBAL_FACTOR
        {
            let oldest = oldest.unwrap_or_else(now_unix);
            let retry_after = (oldest - since).max(1) as u64;
            tracing::warn!(%username, %ip, pair, by_ip, by_account, "sign-in throttled");
            return Err(AppError::Throttled {
                retry_after_secs: retry_after,
            });
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO login_failures (username, ip, at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(&username)
        .bind(ip)
        .bind(now_unix())
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM login_failures WHERE at <= $1")
            .bind(since)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The attempt `id` succeeded: it is not a failure, and the account's failures from this
    /// address are forgiven (not the address's others, nor other addresses').
    async fn succeeded(&self, id: i64, username: &str, ip: &str) -> Result<(), AppError> {
        sqlx::query("DELETE FROM login_failures WHERE id = $1 OR (username = $2 AND ip = $3)")
            .bind(id)
            .bind(username.to_lowercase())
            .bind(ip)
            .execute(self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_passwords_are_checked() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password(" leading-space-password").is_err());
        assert!(check_new_password(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
        assert!(check_new_password("correct horse battery").is_ok());
        // Counted in characters, not bytes.
        assert!(check_new_password("ééééééééééé").is_err());
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_do() -> Result<(), AppError> {
        let hash = hash_password(Zeroizing::new("correct horse battery".into())).await?;
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify_password(
                Zeroizing::new("correct horse battery".into()),
                Some(hash.clone())
            )
            .await?
        );
        assert!(!verify_password(Zeroizing::new("wrong".into()), Some(hash)).await?);
        assert!(!verify_password(Zeroizing::new("anything".into()), None).await?);
        Ok(())
    }
}
