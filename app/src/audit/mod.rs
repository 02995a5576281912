//! The audit trail in the browser: filters, keyset pagination ("Older events"), and CSV/JSON
//! export of what the filters select.

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::human_size;
use crate::components::{LoadError, Time, encode};
use crate::error::AppError;

/// One event as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: i64,
    /// Unix milliseconds.
    pub at: i64,
    pub actor_kind: String,
    pub actor: Option<String>,
    pub access_key_id: Option<String>,
    pub link_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub bucket: Option<String>,
    pub object_key: Option<String>,
    pub outcome: String,
    pub status: Option<i64>,
    pub error_code: Option<String>,
    pub bytes_sent: i64,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The page's filters, as in its URL (and the export's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub actor: String,
    pub action: String,
    pub bucket: String,
    pub outcome: String,
    /// `YYYY-MM-DD` or RFC 3339, UTC.
    pub since: String,
    pub until: String,
    /// Events older than this id (the next page).
    pub before: String,
}

impl AuditQuery {
    /// The query string for these filters.
    pub fn to_query_string(&self) -> String {
        let mut pairs = Vec::new();
        for (k, v) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("bucket", &self.bucket),
            ("outcome", &self.outcome),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if !v.is_empty() {
                pairs.push(format!("{k}={}", crate::components::encode(v)));
            }
        }
        pairs.join("&")
    }
}

/// Events per page.
pub const PAGE: u32 = 100;

#[server(endpoint = "audit/page")]
pub async fn audit_page(query: AuditQuery) -> Result<Vec<AuditEvent>, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    ssr::page(&crate::state::app_state()?.pool, &query).await
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let url = use_query_map();
    let query = Memo::new(move |_| {
        let q = url.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        AuditQuery {
            actor: get("actor"),
            action: get("action"),
            bucket: get("bucket"),
            outcome: get("outcome"),
            since: get("since"),
            until: get("until"),
            before: get("before"),
        }
    });
    let events = Resource::new(move || query.get(), audit_page);
    let table = move || {
        Suspend::new(async move {
            match events.await {
                Ok(events) => {
                    let q = query.get_untracked();
                    let older = (events.len() == PAGE as usize)
                        .then(|| events.last().map(|e| e.id))
                        .flatten()
                        .map(|last| {
                            let base = q.to_query_string();
                            let sep = if base.is_empty() { "" } else { "&" };
                            format!("/audit?{base}{sep}before={last}")
                        });
                    view! {
                        <EventTable events />
                        <nav class="pager" aria-label="Pages">
                            {(!q.before.is_empty())
                                .then(|| {
                                    view! {
                                        <a href=format!(
                                            "/audit?{}",
                                            q.to_query_string(),
                                        )>"Newest events"</a>
                                    }
                                })}
                            {older.map(|href| view! { <a href=href>"Older events"</a> })}
                        </nav>
                    }
                    .into_any()
                }
                Err(error) => view! { <LoadError error /> }.into_any(),
            }
        })
    };
    let value = move |k: &'static str| {
        move || {
            let q = query.get();
            match k {
                "actor" => q.actor,
                "action" => q.action,
                "bucket" => q.bucket,
                "since" => q.since,
                _ => q.until,
            }
        }
    };
    let export = move |format: &'static str| {
        move || {
            let base = query.get().to_query_string();
            let sep = if base.is_empty() { "" } else { "&" };
            format!("/audit/export?format={format}{sep}{base}")
        }
    };
    view! {
        <Title text="Audit" />
        <h1>"Audit"</h1>
        <form method="get" action="/audit" class="filters" role="search">
            <div class="field">
                <label for="a-actor">"Actor"</label>
                <input id="a-actor" name="actor" value=value("actor") placeholder="admin or user" />
            </div>
            <div class="field">
                <label for="a-action">"Action"</label>
                <input
                    id="a-action"
                    name="action"
                    list="known-actions"
                    value=value("action")
                    placeholder="GetObject, link.revoke…"
                />
                <datalist id="known-actions">
                    {KNOWN_ACTIONS
                        .iter()
                        .map(|a| view! { <option value=*a></option> })
                        .collect_view()}
                </datalist>
            </div>
            <div class="field">
                <label for="a-bucket">"Bucket"</label>
                <input id="a-bucket" name="bucket" value=value("bucket") />
            </div>
            <div class="field">
                <label for="a-outcome">"Outcome"</label>
                <select id="a-outcome" name="outcome">
                    <option value="" selected=move || query.get().outcome.is_empty()>"Any"</option>
                    {["allowed", "denied", "failed"]
                        .into_iter()
                        .map(|o| {
                            view! {
                                <option value=o selected=move || query.get().outcome == o>
                                    {o}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="a-since">"From (UTC)"</label>
                <input id="a-since" name="since" value=value("since") placeholder="2026-11-28" />
            </div>
            <div class="field">
                <label for="a-until">"Until (UTC)"</label>
                <input id="a-until" name="until" value=value("until") placeholder="2026-11-29T12:00:00Z" />
            </div>
            <button type="submit">"Filter"</button>
        </form>
        <p class="exports">
            "Export what these filters select: " <a href=export("csv") download="audit.csv">"CSV"</a>
            " · " <a href=export("json") download="audit.json">"JSON"</a>
        </p>
        <Transition fallback=|| view! { <p>"Loading events…"</p> }>{table}</Transition>
    }
}

/// What the action filter offers: the console's and CLI's actions, then the S3 operations
/// most often looked for (any other operation name can be typed).
const KNOWN_ACTIONS: &[&str] = &[
    "GetObject",
    "HeadObject",
    "PutObject",
    "DeleteObject",
    "DeleteObjects",
    "ListObjectsV2",
    "ListBuckets",
    "CreateMultipartUpload",
    "CompleteMultipartUpload",
    "admin.create",
    "admin.disable",
    "admin.enable",
    "admin.login",
    "admin.logout",
    "admin.password",
    "bucket.create",
    "bucket.delete",
    "grant.add",
    "grant.remove",
    "key.create",
    "key.delete",
    "key.disable",
    "key.enable",
    "key.rotate",
    "link.create",
    "link.revoke",
    "object.delete",
    "object.download",
    "object.upload",
    "settings.change",
    "user.create",
    "user.delete",
    "user.disable",
    "user.enable",
];

/// Audit events as a table, newest first.
#[component]
pub fn EventTable(events: Vec<AuditEvent>) -> impl IntoView {
    if events.is_empty() {
        return view! { <p class="empty">"No events."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="events">
                <thead>
                    <tr>
                        <th scope="col">"Time"</th>
                        <th scope="col">"Actor"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"On"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Bytes"</th>
                        <th scope="col">"Client"</th>
                    </tr>
                </thead>
                <tbody>
                    {events
                        .into_iter()
                        .map(|e| {
                            // Users, links, buckets and objects link to their pages (an
                            // `<a>` without `href` where there is no page: one view, less WASM).
                            let (on, on_href) = match (&e.bucket, &e.object_key, &e.target) {
                                (Some(b), Some(k), _) => {
                                    let folder = k.rfind('/').map_or("", |i| &k[..=i]);
                                    (
                                        format!("{b}/{k}"),
                                        Some(format!("/buckets/{b}?prefix={}", encode(folder))),
                                    )
                                }
                                (_, _, Some(t)) => (t.clone(), None),
                                (Some(b), None, None) => (b.clone(), Some(format!("/buckets/{b}"))),
                                _ => (String::new(), None),
                            };
                            let (via, via_href) = match (&e.link_id, &e.access_key_id) {
                                (Some(l), _) => (format!("link {l}"), Some(format!("/links/{l}"))),
                                (None, Some(k)) => (k.clone(), None),
                                (None, None) => (e.actor_kind.clone(), None),
                            };
                            let actor_href = e
                                .actor
                                .as_ref()
                                .filter(|_| matches!(e.actor_kind.as_str(), "user" | "link" | "presigned"))
                                .map(|a| format!("/users/{a}"));
                            let actor = e.actor.clone().unwrap_or_else(|| "anonymous".into());
                            let outcome_class = format!("badge {}", match e.outcome.as_str() {
                                "allowed" => "ok",
                                _ => "off",
                            });
                            view! {
                                <tr>
                                    <td>
                                        <Time at=e.at.div_euclid(1000) />
                                    </td>
                                    <td>
                                        <a href=actor_href>{actor}</a>
                                        <br />
                                        <small>
                                            <a href=via_href>{via}</a>
                                        </small>
                                    </td>
                                    <td>{e.action.clone()}</td>
                                    <td>
                                        <a href=on_href>{on}</a>
                                    </td>
                                    <td>
                                        <span class=outcome_class>{e.outcome.clone()}</span>
                                        {e.status.map(|s| format!(" {s}"))}
                                        {e.error_code.clone().map(|c| format!(" {c}"))}
                                    </td>
                                    <td class="nowrap">{human_size(e.bytes_sent)}</td>
                                    <td>
                                        {e.client_ip.clone().unwrap_or_default()}
                                        <br />
                                        <small>{e.user_agent.clone().unwrap_or_default()}</small>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
