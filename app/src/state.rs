//! The state every console request shares, built once by the server binary.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use domain::db::Pool;
use leptos::config::LeptosOptions;

use crate::error::{AppError, ssr::internal};

/// Shared by the axum router and, through Leptos context, by every server function.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: Pool,
    pub auth: Arc<AuthSettings>,
    /// Seals and opens access key secrets (share links are signed with them).
    pub master: Arc<domain::secrets::MasterKey>,
    /// The settings in force (public S3 URL, link lifetimes, audit retention…), changed from
    /// the Settings page.
    pub settings: domain::settings::Live,
    /// The objects, as the console browses and changes them.
    pub store: Arc<dyn domain::store::ObjectStore>,
}

/// How sign-in is guarded. Defaults are what a production console should use; tests shorten
/// the delays.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// How long a failed sign-in takes at least, whatever failed (unknown user, wrong password).
    pub failed_login_delay: Duration,
    /// Failures in `failure_window` after which an account refuses sign-ins.
    pub max_failures_per_account: u32,
    /// Failures in `failure_window` after which a client address refuses sign-ins.
    pub max_failures_per_ip: u32,
    /// The sliding window over which failures are counted.
    pub failure_window: Duration,
    /// Trusted proxies, and whether addresses are stored truncated in the audit.
    pub network: domain::audit::Network,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            failed_login_delay: Duration::from_millis(400),
            max_failures_per_account: 5,
            max_failures_per_ip: 20,
            failure_window: Duration::from_secs(15 * 60),
            network: domain::audit::Network::default(),
        }
    }
}

/// The app state, from inside a server function.
pub fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| internal("app state missing from context", "not provided"))
}
