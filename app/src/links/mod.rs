//! Share links: the list with filters, revocation one by one or in bulk, a link's page with its
//! access log, and the share dialog that issues them.

// Server functions take one argument per form field; the share form has eleven.
#![allow(clippy::too_many_arguments)]

#[cfg(feature = "ssr")]
mod dialog;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod webhook;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use model::LinkState;
use serde::{Deserialize, Serialize};

use crate::audit::{AuditEvent, EventTable};
use crate::auth::CsrfField;
use crate::components::{ConfirmField, CopyButton, Done, FieldError, FormError, LoadError, Time};
use crate::error::AppError;
use crate::form::{FormAction, ServerForm};
use crate::fragment::Fragment;

/// A short view of a share link, for tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRow {
    pub id: String,
    pub bucket: String,
    pub key: String,
    pub method: String,
    pub user: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub state: LinkState,
    pub access_count: i64,
    pub last_access_at: Option<i64>,
    pub label: Option<String>,
}

/// Rows a page of links shows (the next ones are a link away): rendering the rows is most of
/// the page's time.
pub const PAGE_ROWS: u32 = 100;

/// Filters of the links page, from its URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkQuery {
    pub bucket: String,
    pub user: String,
    /// `active` (default) or `all`.
    pub status: String,
    pub search: String,
    /// Links after this one (the next page).
    #[serde(default)]
    pub after: String,
}

#[server(endpoint = "links/list")]
pub async fn list_links(query: LinkQuery) -> Result<Vec<LinkRow>, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    ssr::list(&crate::state::app_state()?.pool, &query).await
}

/// One link with its access log (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkDetail {
    pub link: LinkRow,
    /// Its URL, made again, while it works (see `domain::links::url_again`).
    pub url: Option<String>,
    /// The URL as an SVG QR code (downloads only).
    pub qr_svg: String,
    pub bytes_served: i64,
    pub created_by: String,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
    pub events: Vec<AuditEvent>,
    /// What it needs to keep working, in words (each: what, and its state now).
    pub depends: Vec<(String, String)>,
    /// When it stops at the latest, if anything it depends on ends by itself (its expiry, a
    /// grant's or a key's); `None`: only a revocation or an admin's change ends it.
    pub stops_by: Option<i64>,
    /// A share page's own options.
    pub page: Option<PageFacts>,
    /// Its webhook's panel (HTML, see [`webhook`]).
    pub webhook: String,
}

/// What a share page is and asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageFacts {
    /// An upload page's terms and what arrived through it, rendered by the server (HTML).
    pub arrivals: Option<String>,
    pub folder: bool,
    pub max_downloads: Option<i64>,
    pub downloads: i64,
    pub password: bool,
    pub note: Option<String>,
}

/// Changes a live share page, keeping its URL: `expires` (from now, or `never`; empty: as it
/// is), `max_downloads` (empty: no limit), a new `password` (empty: as it is) or
/// `remove_password`.
#[server(endpoint = "links/update")]
pub async fn update_page(
    csrf: String,
    id: String,
    expires: String,
    max_downloads: String,
    password: Option<String>,
    remove_password: Option<String>,
) -> Result<String, AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    let password = zeroize::Zeroizing::new(password.unwrap_or_default());
    ssr::update_page(
        &admin,
        &id,
        &expires,
        &max_downloads,
        password,
        remove_password.is_some(),
    )
    .await
}

#[server(endpoint = "links/detail")]
pub async fn get_link(id: String) -> Result<LinkDetail, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    ssr::detail(&crate::state::app_state()?.pool, &id).await
}

/// Revokes one link (`id`), or every live link of a bucket or user (`scope` = `bucket:NAME` or
/// `user:NAME`, with `confirm`).
#[server(endpoint = "links/revoke")]
pub async fn revoke_links(
    csrf: String,
    id: Option<String>,
    scope: Option<String>,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    ssr::revoke(&admin, id.as_deref(), scope.as_deref(), confirm.is_some()).await
}

/// What the share dialog made: the URL, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedLink {
    pub id: String,
    pub bucket: String,
    pub key: String,
    pub url: String,
    pub expires_at: i64,
    /// `GET` (a download) or `PUT` (an upload-only link).
    #[serde(default)]
    pub method: String,
    /// The URL as an SVG QR code (downloads only: a phone cannot upload through one).
    pub qr_svg: String,
}

/// Issues a share link to `bucket`/`key`, signed as `user`, for `expires` (a duration: `15m`,
/// `36h`, `3d 12h`…, from 1 minute up to the longest the settings allow), `GET` or `PUT`; or
/// with `PAGE` (or a folder's key, ending with `/`) a share page, which may also live `never`
/// and take a download limit, a password and a note.
#[server(endpoint = "links/create")]
pub async fn create_link(
    csrf: String,
    bucket: String,
    key: String,
    user: String,
    expires: String,
    method: String,
    label: String,
    max_downloads: Option<String>,
    password: Option<String>,
    note: Option<String>,
) -> Result<SharedLink, AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    let page = page_options(max_downloads, password, note);
    ssr::create(
        &admin, &bucket, &key, &user, &expires, &method, &label, &page,
    )
    .await
}

/// A page's options from the form (fields left out are empty).
#[cfg(feature = "ssr")]
fn page_options(
    max_downloads: Option<String>,
    password: Option<String>,
    note: Option<String>,
) -> ssr::PageOptions {
    ssr::PageOptions {
        max_downloads: max_downloads.unwrap_or_default(),
        password: zeroize::Zeroizing::new(password.unwrap_or_default()),
        note: note.unwrap_or_default(),
        ..ssr::PageOptions::default()
    }
}

/// What the share dialog offers, from the settings in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkLimits {
    pub default_secs: i64,
    pub max_secs: i64,
    /// The longest lifetime, in words.
    pub longest: String,
}

impl Default for LinkLimits {
    fn default() -> Self {
        LinkLimits {
            default_secs: 3600,
            max_secs: 604_800,
            longest: "7 days".to_owned(),
        }
    }
}

#[server(endpoint = "links/limits")]
pub async fn share_limits() -> Result<LinkLimits, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    let settings = crate::state::app_state()?.settings.get();
    Ok(LinkLimits {
        default_secs: settings.default_link_secs,
        max_secs: settings.max_link_secs,
        longest: domain::settings::human(settings.max_link_secs),
    })
}

/// The share dialog of `bucket`/`key` (HTML; a folder's on "Request files" with `upload`),
/// with the link a plain form post made there
/// (without JavaScript the answer is a redirect back, so the link waits in the session to be
/// shown once).
#[server(endpoint = "links/dialog")]
pub async fn share_dialog(
    bucket: String,
    key: String,
    upload: Option<bool>,
) -> Result<String, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    let made = ssr::take_shared(&bucket, &key).await?;
    dialog::dialog(&bucket, &key, made, upload.unwrap_or(false)).await
}

/// Issues a link as `links/create` does, from the share dialog, and answers with the dialog
/// showing it.
#[server(endpoint = "links/share")]
pub async fn share_link(
    csrf: String,
    bucket: String,
    key: String,
    user: String,
    expires: String,
    method: String,
    label: String,
    max_downloads: Option<String>,
    password: Option<String>,
    note: Option<String>,
    max_file_size: Option<String>,
    max_total: Option<String>,
    max_files: Option<String>,
    allow_types: Option<String>,
    ask_name: Option<String>,
) -> Result<String, AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    let page = ssr::PageOptions {
        max_file_size: max_file_size.unwrap_or_default(),
        max_total: max_total.unwrap_or_default(),
        max_files: max_files.unwrap_or_default(),
        allow_types: allow_types.unwrap_or_default(),
        ask_name: ask_name.is_some(),
        ..page_options(max_downloads, password, note)
    };
    let link = ssr::create(
        &admin, &bucket, &key, &user, &expires, &method, &label, &page,
    )
    .await?;
    let upload = link.method == "UPLOAD";
    dialog::dialog(&bucket, &key, Some(link), upload).await
}

/// Users who may sign a link to `bucket`/`key` for `method` (read for GET, write for PUT).
#[server(endpoint = "links/signers")]
pub async fn signers(bucket: String, key: String, method: String) -> Result<Vec<String>, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    ssr::signers(&crate::state::app_state()?.pool, &bucket, &key, &method).await
}

fn query_from_url() -> Memo<LinkQuery> {
    let query = use_query_map();
    Memo::new(move |_| {
        let q = query.read();
        LinkQuery {
            bucket: q.get("bucket").unwrap_or_default(),
            user: q.get("user").unwrap_or_default(),
            status: q.get("status").unwrap_or_else(|| "active".to_owned()),
            search: q.get("search").unwrap_or_default(),
            after: q.get("after").unwrap_or_default(),
        }
    })
}

#[component]
pub fn LinksPage() -> impl IntoView {
    let query = query_from_url();
    let revoke = FormAction::<RevokeLinks>::new();
    let error = revoke.error();
    let links = Resource::new(
        move || (query.get(), revoke.version().get()),
        |(q, _)| list_links(q),
    );
    let table = move || {
        Suspend::new(async move {
            match links.await {
                Ok(links) => {
                    let q = query.get_untracked();
                    let scope = if !q.bucket.is_empty() {
                        Some(format!("bucket:{}", q.bucket))
                    } else if !q.user.is_empty() {
                        Some(format!("user:{}", q.user))
                    } else {
                        None
                    };
                    let live = links
                        .iter()
                        .filter(|l| l.state == LinkState::Active)
                        .count();
                    let older = (links.len() == PAGE_ROWS as usize)
                        .then(|| links.last().map(|l| l.id.clone()))
                        .flatten()
                        .map(|last| {
                            format!(
                                "/links?bucket={}&user={}&status={}&search={}&after={last}",
                                crate::components::encode(&q.bucket),
                                crate::components::encode(&q.user),
                                crate::components::encode(&q.status),
                                crate::components::encode(&q.search),
                            )
                        });
                    view! {
                        <LinkTable links revoke=revoke />
                        {older
                            .map(|href| {
                                view! {
                                    <nav class="pager" aria-label="Pages">
                                        <a href=href>"Older links"</a>
                                    </nav>
                                }
                            })}
                        {scope
                            .filter(|_| live > 0)
                            .map(|scope| {
                                view! {
                                    <ServerForm action=revoke>
                                        <CsrfField />
                                        <input type="hidden" name="scope" value=scope />
                                        <ConfirmField
                                            id="confirm-bulk".to_owned()
                                            text=format!(
                                                "Revoke all {live} live links of this filter.",
                                            )
                                        />
                                        <button type="submit" class="danger">
                                            "Revoke all"
                                        </button>
                                    </ServerForm>
                                }
                            })}
                    }
                    .into_any()
                }
                Err(error) => view! { <LoadError error /> }.into_any(),
            }
        })
    };
    let field = move |name: &'static str| {
        move || {
            let q = query.get();
            match name {
                "bucket" => q.bucket,
                "user" => q.user,
                _ => q.search,
            }
        }
    };
    view! {
        <Title text="Share links" />
        <h1>"Share links"</h1>
        <form method="get" action="/links" class="filters" role="search">
            <div class="field">
                <label for="f-bucket">"Bucket"</label>
                <input id="f-bucket" name="bucket" value=field("bucket") />
            </div>
            <div class="field">
                <label for="f-user">"Signed as"</label>
                <input id="f-user" name="user" value=field("user") />
            </div>
            <div class="field">
                <label for="f-status">"Status"</label>
                <select id="f-status" name="status">
                    <option value="active" selected=move || query.get().status != "all">
                        "Working"
                    </option>
                    <option value="all" selected=move || query.get().status == "all">
                        "All, with history"
                    </option>
                </select>
            </div>
            <div class="field">
                <label for="f-search">"Object or label"</label>
                <input id="f-search" type="search" name="search" value=field("search") />
            </div>
            <button type="submit">"Filter"</button>
        </form>
        <FormError error />
        <Done action=revoke />
        <Transition fallback=|| view! { <p>"Loading links…"</p> }>{table}</Transition>
    }
}

/// Links as a table; with `revoke`, each working link has a Revoke button.
#[component]
pub fn LinkTable(
    links: Vec<LinkRow>,
    #[prop(optional)] revoke: Option<FormAction<RevokeLinks>>,
) -> impl IntoView {
    if links.is_empty() {
        return view! { <p class="empty">"No share links."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Link"</th>
                        <th scope="col">"Object"</th>
                        <th scope="col">"Signed as"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Accesses"</th>
                        <th scope="col">"Last access"</th>
                        {revoke.map(|_| view! { <th scope="col" class="row-actions">"Actions"</th> })}
                    </tr>
                </thead>
                <tbody>
                    {links
                        .into_iter()
                        .map(|l| {
                            let active = l.state == LinkState::Active;
                            view! {
                                <tr>
                                    <td>
                                        <a
                                            href=format!("/links/{}", l.id)
                                            class="clamp"
                                            title=l.label.clone()
                                        >
                                            {l.label.clone().unwrap_or_else(|| l.id.clone())}
                                        </a>
                                        {(l.method == "PUT")
                                            .then(|| view! { " " <span class="badge">"upload"</span> })}
                                    </td>
                                    <td>
                                        <span class="clamp" title=format!("{}/{}", l.bucket, l.key)>
                                            <a href=format!(
                                                "/buckets/{}",
                                                l.bucket,
                                            )>{l.bucket.clone()}</a>
                                            "/"
                                            {l.key.clone()}
                                        </span>
                                    </td>
                                    <td>{l.user.clone().unwrap_or_else(|| "(deleted)".into())}</td>
                                    <td>
                                        <Time at=l.created_at />
                                    </td>
                                    <td>
                                        <Expiry at=l.expires_at />
                                        {(active && l.expires_at != model::NEVER)
                                            .then(|| view! { <Countdown until=l.expires_at /> })}
                                    </td>
                                    <td>
                                        <span class=if active {
                                            "badge ok"
                                        } else {
                                            "badge off"
                                        }>{l.state.as_str()}</span>
                                    </td>
                                    <td>{l.access_count}</td>
                                    <td>
                                        {l
                                            .last_access_at
                                            .map(|at| view! { <Time at /> }.into_any())
                                            .unwrap_or_else(|| "never".into_any())}
                                    </td>
                                    {revoke
                                        .map(|action| {
                                            view! {
                                                <td class="row-actions">
                                                    {active
                                                        .then(|| {
                                                            let name = l.label.clone().unwrap_or_else(|| l.id.clone());
                                                            view! {
                                                                // A second click confirms (no script needed).
                                                                <details class="row-confirm">
                                                                    <summary
                                                                        class="button danger"
                                                                        aria-label=format!("Revoke {name}…")
                                                                    >
                                                                        "Revoke…"
                                                                    </summary>
                                                                    <ServerForm action>
                                                                        <CsrfField />
                                                                        <input type="hidden" name="id" value=l.id.clone() />
                                                                        <button
                                                                            type="submit"
                                                                            class="danger"
                                                                            aria-label=format!("Revoke link {}", l.id)
                                                                        >
                                                                            "Revoke for good"
                                                                        </button>
                                                                    </ServerForm>
                                                                </details>
                                                            }
                                                        })}
                                                </td>
                                            }
                                        })}
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

/// Time left until `until`, ticking once hydrated.
#[component]
fn Countdown(until: i64) -> impl IntoView {
    let ready = crate::components::hydrated();
    let (now, set_now) = signal(0i64);
    Effect::new(move |_| {
        let tick = move || set_now.set((js_sys::Date::now() / 1000.0) as i64);
        tick();
        if let Ok(handle) = set_interval_with_handle(tick, std::time::Duration::from_secs(1)) {
            on_cleanup(move || handle.clear());
        }
    });
    move || {
        ready.get().then(|| {
            let left = until - now.get();
            let text = if left <= 0 {
                "expired".to_owned()
            } else if left >= 86_400 {
                format!("{}d {}h left", left / 86_400, left % 86_400 / 3600)
            } else {
                format!(
                    "{:02}:{:02}:{:02} left",
                    left / 3600,
                    left % 3600 / 60,
                    left % 60
                )
            };
            view! { <span class="countdown">" (" {text} ")"</span> }
        })
    }
}

#[component]
pub fn LinkPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let revoke = FormAction::<RevokeLinks>::new();
    let update = FormAction::<UpdatePage>::new();
    let error = revoke.error();
    let detail = Resource::new(
        move || (id(), revoke.version().get(), update.version().get()),
        |(id, _, _)| get_link(id),
    );
    let body = move || {
        Suspend::new(async move {
            let d = match detail.await {
                Ok(d) => d,
                Err(error) => return view! { <LoadError error /> }.into_any(),
            };
            let active = d.link.state == LinkState::Active;
            let l = d.link.clone();
            view! {
                <h1>
                    "Link " {l.label.clone().unwrap_or_else(|| l.id.clone())} " "
                    <span class=if active { "badge ok" } else { "badge off" }>
                        {l.state.as_str()}
                    </span>
                </h1>
                <dl class="facts">
                    <dt>"Object"</dt>
                    <dd>"s3://" {l.bucket.clone()} "/" {l.key.clone()}</dd>
                    <dt>"Kind"</dt>
                    <dd>
                        {match (&d.page, l.method.as_str()) {
                            (Some(p), _) if p.arrivals.is_some() => "upload page",
                            (Some(p), _) if p.folder => "folder share page",
                            (Some(_), _) => "share page",
                            (None, "PUT") => "pre-signed URL, upload only (PUT)",
                            (None, _) => "pre-signed URL, download (GET)",
                        }}
                    </dd>
                    <dt>"Signed as"</dt>
                    <dd>{l.user.clone().unwrap_or_else(|| "(deleted user)".into())}</dd>
                    <dt>"Created"</dt>
                    <dd>
                        <Time at=l.created_at />
                        " by "
                        {d.created_by.clone()}
                    </dd>
                    <dt>"Expires"</dt>
                    <dd>
                        <Expiry at=l.expires_at />
                    </dd>
                    {d
                        .revoked_at
                        .map(|at| {
                            view! {
                                <dt>"Revoked"</dt>
                                <dd>
                                    <Time at />
                                    " by "
                                    {d.revoked_by.clone().unwrap_or_default()}
                                </dd>
                            }
                        })}
                    <dt>"Accesses"</dt>
                    <dd>{l.access_count} " (" {d.bytes_served} " bytes served)"</dd>
                    {d
                        .page
                        .clone()
                        .map(|p| {
                            view! {
                                {p.arrivals.is_none().then(|| view! {
                                    <dt>"Downloads"</dt>
                                    <dd>
                                        {match p.max_downloads {
                                            Some(max) => format!("{} of {max}", p.downloads),
                                            None => format!("{} (no limit)", p.downloads),
                                        }}
                                    </dd>
                                })}
                                <dt>"Password"</dt>
                                <dd>{if p.password { "yes" } else { "none" }}</dd>
                                {p
                                    .note
                                    .map(|note| view! { <dt>"Note"</dt><dd class="note">{note}</dd> })}
                            }
                        })}
                </dl>
                {d.page.as_ref().and_then(|p| p.arrivals.clone()).map(|html| view! { <Fragment html /> })}
                <section class="card" aria-labelledby="depends-title">
                    <h2 id="depends-title">"What it depends on"</h2>
                    <ul class="depends">
                        {d
                            .depends
                            .iter()
                            .map(|(what, state)| {
                                view! {
                                    <li>
                                        <strong>{what.clone()}</strong>
                                        ": "
                                        {state.clone()}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                    <p>
                        {match d.stops_by {
                            Some(at) if active => {
                                view! { "It stops working by " <Time at /> " at the latest." }
                                    .into_any()
                            }
                            None if active => {
                                view! {
                                    "Nothing it depends on ends by itself: it works until it is revoked or an admin changes them."
                                }
                                    .into_any()
                            }
                            _ => ().into_any(),
                        }}
                    </p>
                </section>
                {match (d.url.clone(), active) {
                    (Some(url), _) => {
                        view! {
                            <section class="shared" aria-label="Its URL">
                                <LinkUrl url method=l.method.clone() qr_svg=d.qr_svg.clone() />
                            </section>
                        }
                            .into_any()
                    }
                    (None, true) if d.page.is_some() => {
                        view! {
                            <p class="hint">
                                "A share page's address is shown once, when it is made: only a hash of it is kept. It still works where it was sent."
                            </p>
                        }
                            .into_any()
                    }
                    (None, true) => {
                        view! {
                            <p class="hint">
                                "Its URL cannot be made again here: the public S3 URL changed since it was issued. It still works where it was sent."
                            </p>
                        }
                            .into_any()
                    }
                    (None, false) => ().into_any(),
                }}
                {d
                    .page
                    .clone()
                    .filter(|_| d.revoked_at.is_none())
                    .map(|p| view! { <EditPage id=l.id.clone() page=p update /> })}
                <Fragment html=d.webhook.clone() />
                {active
                    .then(|| {
                        view! {
                            <details class="row-confirm">
                                <summary class="button danger">"Revoke…"</summary>
                                <ServerForm action=revoke>
                                    <CsrfField />
                                    <input type="hidden" name="id" value=l.id.clone() />
                                    <p>"Whoever has the link loses it at once; this cannot be undone."</p>
                                    <button type="submit" class="danger">"Revoke this link"</button>
                                </ServerForm>
                            </details>
                        }
                    })}
                <section aria-labelledby="access-log-title">
                    <h2 id="access-log-title">"Access log"</h2>
                    <EventTable events=d.events />
                </section>
            }
            .into_any()
        })
    };
    view! {
        <Title text="Share link" />
        <p class="crumbs">
            <a href="/links">"Share links"</a>
            " / "
            {id}
        </p>
        <FormError error />
        <Done action=revoke />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>{body}</Transition>
    }
}

/// A link's URL with a copy button, and its QR code for a download or the `curl` line that
/// uploads through an upload-only link.
#[component]
pub fn LinkUrl(
    url: String,
    method: String,
    qr_svg: String,
    /// Whether the URL takes the focus (selected, so in view) when shown.
    #[prop(optional)]
    focus: bool,
) -> impl IntoView {
    let curl = format!("curl -T FILE '{url}'");
    view! {
        <label for="shared-url">"Share link"</label>
        <input id="shared-url" readonly value=url.clone() class="url" autofocus=focus />
        <CopyButton text=url label="Copy link" />
        {if method == "UPLOAD" {
            view! {
                <p>"Whoever has it opens it in a browser and sends files; they see nothing of the folder."</p>
            }
                .into_any()
        } else if method == "PUT" {
            view! {
                <p>"Whoever has it uploads the file with, for example:"</p>
                <pre id="shared-curl">{curl.clone()}</pre>
                <CopyButton text=curl label="Copy the curl line" />
            }
                .into_any()
        } else {
            view! {
                <div class="qr" role="img" aria-label="QR code of the link" inner_html=qr_svg />
            }
                .into_any()
        }}
    }
}

/// When a link expires: its time, or `never` (a share page without expiry).
#[component]
fn Expiry(at: i64) -> impl IntoView {
    if at == model::NEVER {
        view! { "never" }.into_any()
    } else {
        view! { <Time at /> }.into_any()
    }
}

/// The form that changes a live share page's expiry, download limit and password.
#[component]
fn EditPage(id: String, page: PageFacts, update: FormAction<UpdatePage>) -> impl IntoView {
    let error = update.error();
    let done = update.value();
    view! {
        <section class="card" aria-labelledby="edit-page-title">
            <h2 id="edit-page-title">"Change this page"</h2>
            <p class="hint">"Its address stays the same. A used-up page with a higher limit works again."</p>
            <ServerForm action=update>
                <CsrfField />
                <input type="hidden" name="id" value=id />
                <label for="page-expires">"New expiry, from now"</label>
                <input id="page-expires" name="expires" autocomplete="off" aria-describedby="page-expires-hint" />
                <p class="hint" id="page-expires-hint">"e.g. 30d, or never. Empty: as it is."</p>
                <FieldError error field="expires" />
                {if page.arrivals.is_some() {
                    // An upload page has no downloads to limit.
                    view! { <input type="hidden" name="max_downloads" value="" /> }.into_any()
                } else {
                    view! {
                        <label for="page-max-downloads">"Download limit"</label>
                        <input
                            id="page-max-downloads"
                            name="max_downloads"
                            type="number"
                            min="1"
                            inputmode="numeric"
                            value=page.max_downloads.map(|n| n.to_string()).unwrap_or_default()
                            aria-describedby="page-max-downloads-hint"
                        />
                        <p class="hint" id="page-max-downloads-hint">
                            {format!("{} counted so far. Empty: no limit.", page.downloads)}
                        </p>
                        <FieldError error field="max_downloads" />
                    }
                        .into_any()
                }}
                <label for="page-password">"New password"</label>
                <input id="page-password" name="password" type="password" autocomplete="new-password" />
                <p class="hint">"Empty: as it is. A new one closes the page in browsers the old one opened."</p>
                <FieldError error field="password" />
                {page
                    .password
                    .then(|| {
                        view! {
                            <label class="check">
                                <input type="checkbox" name="remove_password" value="on" />
                                " Remove the password"
                            </label>
                        }
                    })}
                <FormError error />
                {move || {
                    done.get()
                        .and_then(Result::ok)
                        .map(|said| view! { <p class="success" role="status">{said}</p> })
                }}
                <button type="submit">"Save changes"</button>
            </ServerForm>
        </section>
    }
}

/// The share dialog's lifetimes: form value, seconds, label.
const EXPIRY_PRESETS: [(&str, i64, &str); 4] = [
    ("15m", 900, "15 minutes"),
    ("1h", 3600, "1 hour"),
    ("1d", 86_400, "1 day"),
    ("7d", 604_800, "7 days"),
];

/// A link's lifetime, in one control: a preset from its list, or any duration typed in; the
/// default and the longest are the settings' (`limits`). With `pages`, the hint says that a
/// share page may live longer, or never expire.
#[component]
pub fn ExpiryField(limits: LinkLimits, #[prop(optional)] pages: bool) -> impl IntoView {
    view! {
        <label for="share-expires">"Expires after"</label>
        <input
            id="share-expires"
            name="expires"
            list="share-expiry-presets"
            value=duration_text(limits.default_secs)
            required
            autocomplete="off"
            aria-describedby="share-expires-hint"
        />
        <datalist id="share-expiry-presets">
            {EXPIRY_PRESETS
                .iter()
                .filter(|(_, secs, _)| *secs <= limits.max_secs)
                .map(|&(value, _, label)| view! { <option value=value>{label}</option> })
                .collect_view()}
            {pages
                .then(|| {
                    view! {
                        <option value="30d">"30 days (share page)"</option>
                        <option value="never">"never (share page)"</option>
                    }
                })}
        </datalist>
        <p class="hint" id="share-expires-hint">
            "Pick one, or type a duration such as 36h or 3d 12h: from 1 minute to "
            <strong>{limits.longest}</strong>
            {if pages {
                " for a pre-signed URL; a share page may live longer (30d, 1y), or never."
            } else {
                "."
            }}
        </p>
    }
}

/// `1h`, `7d`, `90m`: a lifetime as the expiry field takes it.
fn duration_text(secs: i64) -> String {
    match secs {
        s if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The share dialog for one object, rendered by the server (see `dialog.rs`).
#[component]
pub fn ShareDialog(
    bucket: String,
    key: String,
    /// A folder's dialog opens on "Request files" (an upload page).
    #[prop(optional)]
    upload: bool,
) -> impl IntoView {
    let html = Resource::new(
        move || (bucket.clone(), key.clone()),
        move |(b, k)| share_dialog(b, k, Some(upload)),
    );
    let body = move || {
        Suspend::new(async move {
            match html.await {
                Ok(html) => view! { <Fragment html /> }.into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            }
        })
    };
    view! { <Transition fallback=|| view! { <p>"Loading…"</p> }>{body}</Transition> }
}
