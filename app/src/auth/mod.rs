//! Admin sign-in: the session's state, the sign-in page, and signing out.

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::{FormError, PasswordInput};
use crate::error::AppError;
use crate::form::{FormAction, ServerForm};

/// What the console knows about the visitor's session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    /// The signed-in admin's name, if any.
    pub admin: Option<String>,
    /// The anti-forgery token every form of this session must send back.
    pub csrf: String,
}

/// The session, fetched once per page load and again whenever [`SessionEpoch`] moves.
pub type SessionResource = Resource<Result<SessionState, AppError>>;

/// Moves whenever this tab signs in or out, so that the session (and its anti-forgery token,
/// which changes then) is fetched again.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionEpoch(RwSignal<u64>);

impl SessionEpoch {
    pub fn get(self) -> u64 {
        self.0.get()
    }

    /// Fetches the session again each time a form's action completes (`version` is its
    /// [`FormAction::version`]). Actions are created by the page that shows their form (inside
    /// the routes), where a plain form post's error, carried back in the URL, finds them.
    pub fn follow(self, version: ReadSignal<usize>) {
        Effect::new(move |seen: Option<usize>| {
            let now = version.get();
            if seen.is_some_and(|seen| seen != now) {
                self.0.update(|epoch| *epoch += 1);
            }
            now
        });
    }
}

/// The visitor's session. Public on purpose: anyone may learn whether they are signed in, and
/// the sign-in form needs the anti-forgery token before anybody is.
#[server(endpoint = "session")]
pub async fn session_info() -> Result<SessionState, AppError> {
    let state = crate::state::app_state()?;
    let session = ssr::session().await?;
    let admin = ssr::current_admin(&state.pool, &session).await?;
    Ok(SessionState {
        admin: admin.map(|a| a.name),
        csrf: ssr::csrf_token(&session).await?,
    })
}

/// Signs in with a name and password, then goes to the dashboard.
#[server(endpoint = "login")]
pub async fn login(csrf: String, username: String, password: String) -> Result<(), AppError> {
    let signed_in = ssr::login(&csrf, &username, password).await;
    domain::metrics::get().sign_in(match &signed_in {
        Ok(_) => "ok",
        Err(AppError::InvalidCredentials) => "failed",
        Err(AppError::Throttled { .. }) => "throttled",
        Err(_) => "refused",
    });
    signed_in?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Signs out, then goes to the sign-in page.
#[server(endpoint = "logout")]
pub async fn logout(csrf: String) -> Result<(), AppError> {
    let admin = ssr::require_admin_for_change(&csrf).await?;
    ssr::logout(&admin).await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// The hidden anti-forgery field every form carries.
#[component]
pub fn CsrfField() -> impl IntoView {
    let session = expect_context::<SessionResource>();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let token = session.await.map(|s| s.csrf).unwrap_or_default();
                view! { <input type="hidden" name="csrf" value=token /> }
            })}
        </Transition>
    }
}

/// The sign-in page. Works as a plain form post before (or without) the WASM bundle.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = FormAction::<Login>::new();
    expect_context::<SessionEpoch>().follow(login.version());
    let pending = login.pending();
    view! {
        <Title text="Sign in" />
        <main class="auth">
            <section class="card" aria-labelledby="login-title">
                <h1 id="login-title">"Sign in to bucketshare"</h1>
                <ServerForm action=login>
                    <CsrfField />
                    <label for="username">"User name"</label>
                    <input
                        id="username"
                        name="username"
                        autocomplete="username"
                        required
                        autofocus
                        spellcheck="false"
                        autocapitalize="none"
                    />
                    <PasswordInput
                        id="password"
                        name="password"
                        label="Password"
                        autocomplete="current-password"
                    />
                    <FormError error=login.error() />
                    <button type="submit" class="primary" disabled=pending>
                        {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ServerForm>
            </section>
        </main>
    }
}

/// The "Sign out" button of the console's header.
#[component]
pub fn LogoutButton() -> impl IntoView {
    let logout = FormAction::<Logout>::new();
    expect_context::<SessionEpoch>().follow(logout.version());
    view! {
        <ServerForm action=logout class="logout">
            <CsrfField />
            <button type="submit">"Sign out"</button>
        </ServerForm>
    }
}
