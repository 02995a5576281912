//! Server side of admin authentication: password hashing, the session's admin and anti-forgery
//! token, sign-in throttling, and the first admin of a fresh data dir.

use std::net::{IpAddr, SocketAddr};

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
use crate::state::{AuthSettings, app_state};

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

/// Hashes a password into a PHC string ([`domain::passwords`]).
pub async fn hash_password(password: Zeroizing<String>) -> Result<String, AppError> {
    domain::passwords::hash(password)
        .await
        .map_err(|e| internal("hashing a password", e))
}

/// Checks a password against a stored PHC string; `None` costs the same and fails.
async fn verify_password(
    password: Zeroizing<String>,
    hash: Option<String>,
) -> Result<bool, AppError> {
    domain::passwords::verify(password, hash)
        .await
        .map_err(|e| internal("checking a password", e))
}

/// A failure of the admin accounts' storage: the database's, so logged and answered 500.
fn domain_failure(err: domain::Error) -> AppError {
    internal("admin accounts", err)
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

/// Sign-in attempts, throttled by [`domain::throttle`] with the limits of `settings`.
struct Throttle<'a> {
    pool: &'a Pool,
    settings: &'a AuthSettings,
}

impl Throttle<'_> {
    /// Checks the limits and records this attempt as a failure; gives the attempt's id back to
    /// [`Throttle::succeeded`].
    ///
    /// This fails if: a limit is reached in the window ([`AppError::Throttled`]).
    async fn charge(&self, username: &str, ip: &str) -> Result<i64, AppError> {
        let limits = domain::throttle::Limits {
            per_account: self.settings.max_failures_per_account,
            per_ip: self.settings.max_failures_per_ip,
            window: self.settings.failure_window,
        };
        domain::throttle::charge(self.pool, &limits, username, ip)
            .await
            .map_err(domain_failure)?
            .map_err(|t| AppError::Throttled {
                retry_after_secs: t.retry_after_secs,
            })
    }

    /// The attempt `id` succeeded: it is not a failure.
    async fn succeeded(&self, id: i64, username: &str, ip: &str) -> Result<(), AppError> {
        domain::throttle::succeeded(self.pool, id, username, ip)
            .await
            .map_err(domain_failure)
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
}
