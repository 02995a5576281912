//! The dashboard: what bucketshare holds, at a glance.

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::SessionResource;
use crate::components::LoadError;
use crate::error::AppError;

/// The figures on the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub iam_users: i64,
    pub buckets: i64,
    /// Share links neither revoked nor expired.
    pub active_links: i64,
}

#[server(endpoint = "dashboard")]
pub async fn dashboard_stats() -> Result<Figures, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    ssr::stats(&crate::state::app_state()?.pool).await
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let session = expect_context::<SessionResource>();
    let stats = Resource::new(|| (), |_| dashboard_stats());
    let greeting = move || {
        Suspend::new(async move {
            let name = session.await.ok().and_then(|s| s.admin).unwrap_or_default();
            view! { <h1>"Welcome, " {name}</h1> }
        })
    };
    let figures = move || {
        Suspend::new(async move {
            match stats.await {
                Ok(s) => view! {
                    <dl class="figures">
                        <Figure label="IAM users" value=s.iam_users />
                        <Figure label="Buckets" value=s.buckets />
                        <Figure label="Active share links" value=s.active_links />
                    </dl>
                }
                .into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            }
        })
    };
    view! {
        <Transition fallback=|| view! { <h1>"Welcome"</h1> }>{greeting}</Transition>
        <section aria-labelledby="figures-title">
            <h2 id="figures-title">"At a glance"</h2>
            <Transition fallback=|| view! { <p>"Loading figures…"</p> }>{figures}</Transition>
        </section>
    }
}

#[component]
fn Figure(label: &'static str, value: i64) -> impl IntoView {
    view! {
        <div class="figure">
            <dt>{label}</dt>
            <dd>{value}</dd>
        </div>
    }
}
