//! The dashboard: what bucketshare holds and what happened lately, at a glance.

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::{AuditEvent, EventTable};
use crate::auth::SessionResource;
use crate::components::{LoadError, Time};
use crate::error::AppError;
use crate::links::LinkRow;

/// The figures on the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub iam_users: i64,
    /// Active access keys.
    pub access_keys: i64,
    pub buckets: i64,
    /// Share links that work now, counted up to [`COUNT_CAP`] + 1.
    pub active_links: i64,
    /// Requests through links and other pre-signed URLs in the last 24 hours.
    pub accesses_24h: i64,
    /// Files that arrived through upload pages in the last 24 hours.
    pub uploads_24h: i64,
    /// Whether any grant, and any share link (even an old one), exists: the last two steps of
    /// getting started.
    pub any_grant: bool,
    pub any_link: bool,
}

/// Active links are counted up to this; beyond, the dashboard says "more than".
pub const COUNT_CAP: u32 = 1_000;

/// Link accesses of one day (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    /// The day's start, Unix seconds.
    pub day: i64,
    pub allowed: i64,
    pub denied: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub figures: Figures,
    /// The last 7 days, oldest first.
    pub accesses: Vec<DayCount>,
    /// The latest refused requests.
    pub denied: Vec<AuditEvent>,
    /// Links that stop working within a day.
    pub expiring: Vec<LinkRow>,
}

#[server(endpoint = "dashboard")]
pub async fn dashboard_stats() -> Result<Overview, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    ssr::overview(&crate::state::app_state()?.pool).await
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
    let body = move || {
        Suspend::new(async move {
            match stats.await {
                Ok(o) => {
                    let s = o.figures;
                    let active = if s.active_links > i64::from(COUNT_CAP) {
                        format!("{COUNT_CAP}+")
                    } else {
                        s.active_links.to_string()
                    };
                    view! {
                        <GetStarted figures=s />
                        <section aria-labelledby="figures-title">
                            <h2 id="figures-title">"At a glance"</h2>
                            <dl class="figures">
                                <Figure label="IAM users" value=s.iam_users.to_string() />
                                <Figure label="Active access keys" value=s.access_keys.to_string() />
                                <Figure label="Buckets" value=s.buckets.to_string() />
                                <Figure label="Active share links" value=active />
                                <Figure label="Link accesses, last 24 h" value=s.accesses_24h.to_string() />
                                <Figure label="Files received, last 24 h" value=s.uploads_24h.to_string() />
                            </dl>
                        </section>
                        <section aria-labelledby="chart-title">
                            <h2 id="chart-title">"Link accesses, last 7 days (UTC)"</h2>
                            <AccessChart days=o.accesses />
                        </section>
                        <section aria-labelledby="expiring-title">
                            <h2 id="expiring-title">"Links expiring within a day"</h2>
                            <ExpiringLinks links=o.expiring />
                        </section>
                        <section aria-labelledby="denied-title">
                            <h2 id="denied-title">"Latest refused requests"</h2>
                            <EventTable events=o.denied />
                            <p><a href="/audit?outcome=denied">"All refused requests"</a></p>
                        </section>
                    }
                    .into_any()
                }
                Err(error) => view! { <LoadError error /> }.into_any(),
            }
        })
    };
    view! {
        <Transition fallback=|| view! { <h1>"Welcome"</h1> }>{greeting}</Transition>
        <Transition fallback=|| view! { <p>"Loading figures…"</p> }>{body}</Transition>
    }
}

/// The first hour's steps, ticked as they are done; gone once all are.
#[component]
fn GetStarted(figures: Figures) -> impl IntoView {
    let steps = [
        (
            figures.iam_users > 0,
            "Create an IAM user",
            "/users",
            "the Users page",
            "their S3 access key is shown once, with ready-made settings for their tools.",
        ),
        (
            figures.buckets > 0,
            "Create a bucket",
            "/buckets",
            "the Buckets page",
            "and upload a file to it.",
        ),
        (
            figures.any_grant,
            "Grant the user access to the bucket",
            "/buckets",
            "a bucket's Access tab",
            "read, write or both, for all of it or a folder, until a date if you wish.",
        ),
        (
            figures.any_link,
            "Share a file",
            "/buckets",
            "a bucket's Objects",
            "a link anyone can open, signed as the user, listed and revocable under Links.",
        ),
    ];
    let done = steps.iter().filter(|step| step.0).count();
    // Fixed texts only: built as one string, which costs the WASM far less than a view per step.
    let items: String = steps
        .iter()
        .map(|(done, what, href, place, why)| {
            let (class, tick, said) = if *done {
                ("done", "✓", "Done: ")
            } else {
                ("", "○", "To do: ")
            };
            format!(
                "<li class=\"{class}\"><span class=\"tick\" aria-hidden=\"true\">{tick}</span>\
                 <span class=\"visually-hidden\">{said}</span><strong>{what}</strong> in \
                 <a href=\"{href}\">{place}</a>: {why}</li>"
            )
        })
        .collect();
    (done < steps.len()).then(|| {
        view! {
            <section class="card getting-started" aria-labelledby="start-title">
                <h2 id="start-title">"Get started (" {done} " of " {steps.len()} " done)"</h2>
                <ol class="checklist" inner_html=items></ol>
            </section>
        }
    })
}

/// Links about to stop: which, to what, until when; each opens its page (to revoke or see
/// its accesses). Lighter than the Links table, which brings its forms and countdowns.
#[component]
fn ExpiringLinks(links: Vec<LinkRow>) -> impl IntoView {
    if links.is_empty() {
        return view! { <p class="empty">"None."</p> }.into_any();
    }
    view! {
        <ul class="plain expiring">
            {links
                .into_iter()
                .map(|l| {
                    view! {
                        <li>
                            <a href=format!("/links/{}", l.id) class="clamp">
                                {l.label.clone().unwrap_or_else(|| l.id.clone())}
                            </a>
                            <small class="clamp">
                                {format!("{}/{}", l.bucket, l.key)} " · until " <Time at=l.expires_at />
                            </small>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn Figure(label: &'static str, #[prop(into)] value: String) -> impl IntoView {
    view! {
        <div class="figure">
            <dt>{label}</dt>
            <dd>{value}</dd>
        </div>
    }
}

/// Bars of served (and refused) link accesses per day, with the numbers as text too.
#[component]
fn AccessChart(days: Vec<DayCount>) -> impl IntoView {
    let most = days
        .iter()
        .map(|d| d.allowed + d.denied)
        .max()
        .unwrap_or(0)
        .max(1);
    let described = days
        .iter()
        .map(|d| {
            let date = crate::components::utc(d.day);
            format!(
                "{}: {} served, {} refused",
                &date[..10],
                d.allowed,
                d.denied
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    view! {
        <div class="chart" role="img" aria-label=described>
            {days
                .iter()
                .map(|d| {
                    let total = d.allowed + d.denied;
                    let height = format!("height: {}%", total * 100 / most);
                    view! {
                        <div class="bar">
                            <small>{total}</small>
                            <span class="fill" style=height></span>
                            <small>{crate::components::utc(d.day)[5..10].to_owned()}</small>
                        </div>
                    }
                })
                .collect_view()}
        </div>
    }
}
