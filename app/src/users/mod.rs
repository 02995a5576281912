//! IAM users and their access keys: the list, creation (the secret shown once), a user's page
//! with keys, grants and links, and every change with the number of live links it stops.

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use crate::auth::CsrfField;
use crate::components::{
    ConfirmField, CopyButton, FieldError, FormError, LoadError, Time, live_links,
};
use crate::error::AppError;
use crate::form::{FormAction, ServerForm};

/// A user as the list shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub name: String,
    pub active: bool,
    pub can_create_buckets: bool,
    pub keys: i64,
    pub live_links: i64,
    /// Stopped links that enabling this (disabled) user brings back.
    pub revives: i64,
    pub created_at: i64,
}

/// An access key with what depends on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyView {
    pub id: String,
    /// `active`, `inactive` or `expired`.
    pub status: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    /// Live share links signed with this key: what disabling, rotating or deleting it stops.
    pub live_links: i64,
    /// Stopped links that enabling this (inactive) key brings back.
    pub revives: i64,
}

/// A grant of the user, with the live links its removal stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantView {
    pub bucket: String,
    pub permission: String,
    pub prefix: String,
    pub expires_at: Option<i64>,
    pub live_links_killed: i64,
}

/// Everything on a user's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetail {
    pub user: UserSummary,
    pub keys: Vec<KeyView>,
    pub grants: Vec<GrantView>,
    /// The newest of the links signed as the user ([`USER_PAGE_LINKS`] at most).
    pub links: Vec<crate::links::LinkRow>,
    /// Whether the user has more links than these: the page then points to the links page.
    pub more_links: bool,
}

/// How many of a user's links their page lists (the links page, filtered by the user, has
/// them all).
pub const USER_PAGE_LINKS: u32 = 50;

/// A secret shown once, right after it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    pub user: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Where the key is used: the S3 endpoint's public URL and its region (filled in when
    /// shown, from the settings in force).
    #[serde(default)]
    pub endpoint: String,
    #[serde(default)]
    pub region: String,
}

impl NewKey {
    /// Ready-to-paste configurations for the common S3 tools, as (id, title, file name or
    /// where it goes, text). The AWS profile and the rclone remote are named after the user.
    pub fn snippets(&self) -> Vec<(&'static str, &'static str, String)> {
        let (user, id, secret) = (&self.user, &self.access_key_id, &self.secret_access_key);
        let (endpoint, region) = (&self.endpoint, &self.region);
        vec![
            (
                "new-key-snippet",
                "~/.aws/credentials",
                format!("[{user}]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
            ),
            (
                "new-key-config",
                "~/.aws/config",
                format!(
                    "[profile {user}]\nregion = {region}\nendpoint_url = {endpoint}\ns3 =\n    addressing_style = path\n"
                ),
            ),
            (
                "new-key-command",
                "then, with the two files above",
                format!("aws --profile {user} s3 ls\n"),
            ),
            (
                "new-key-env",
                "or in a shell",
                format!(
                    "export AWS_ACCESS_KEY_ID={id}\nexport AWS_SECRET_ACCESS_KEY={secret}\nexport AWS_DEFAULT_REGION={region}\nexport AWS_ENDPOINT_URL={endpoint}\n"
                ),
            ),
            (
                "new-key-rclone",
                "rclone (~/.config/rclone/rclone.conf)",
                format!(
                    "[{user}]\ntype = s3\nprovider = Other\naccess_key_id = {id}\nsecret_access_key = {secret}\nendpoint = {endpoint}\nregion = {region}\nforce_path_style = true\n"
                ),
            ),
        ]
    }

    /// The key as the AWS console's `.csv` download has it, with the endpoint and region.
    pub fn csv(&self) -> String {
        format!(
            "User name,Access key ID,Secret access key,Endpoint,Region\n{},{},{},{},{}\n",
            self.user, self.access_key_id, self.secret_access_key, self.endpoint, self.region
        )
    }
}

#[server(endpoint = "users/list")]
pub async fn list_users(query: String) -> Result<Vec<UserSummary>, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    ssr::list(&crate::state::app_state()?.pool, &query).await
}

/// Creates a user with a first key, keeps the secret for the user's page to show once, and
/// goes there.
#[server(endpoint = "users/create")]
pub async fn create_user(
    csrf: String,
    name: String,
    can_create_buckets: Option<String>,
) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    let name = name.trim().to_owned();
    ssr::create(&admin, &name, can_create_buckets.is_some()).await?;
    leptos_axum::redirect(&format!("/users/{name}"));
    Ok(())
}

#[server(endpoint = "users/detail")]
pub async fn get_user(name: String) -> Result<UserDetail, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    ssr::detail(&crate::state::app_state()?.pool, &name).await
}

/// The secret made for `user` by the last create or rotate, once: reading it forgets it.
#[server(endpoint = "users/new_key")]
pub async fn take_new_key(user: String) -> Result<Option<NewKey>, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    ssr::take_new_key(&user).await
}

/// `enable`, `disable` or `delete` the user; the last two need `confirm`.
#[server(endpoint = "users/change")]
pub async fn change_user(
    csrf: String,
    name: String,
    change: String,
    confirm: Option<String>,
) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    ssr::change(&admin, &name, &change, confirm.is_some()).await?;
    if change == "delete" {
        // The list says whom it no longer has.
        leptos_axum::redirect(&format!(
            "/users?deleted={}",
            crate::components::encode(&name)
        ));
    }
    Ok(())
}

/// `create` a key for the user, or `enable`, `disable`, `rotate` or `delete` the key `key`
/// (the last three need `confirm`).
#[server(endpoint = "users/key")]
pub async fn change_key(
    csrf: String,
    user: String,
    change: String,
    key: Option<String>,
    confirm: Option<String>,
) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    ssr::change_key(&admin, &user, &change, key.as_deref(), confirm.is_some()).await
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let create = FormAction::<CreateUser>::new();
    let error = create.error();
    let query = use_query_map();
    let search = move || query.read().get("q").unwrap_or_default();
    let users = Resource::new(search, list_users);
    let table = move || {
        Suspend::new(async move {
            match users.await {
                Ok(users) if users.is_empty() && search().is_empty() => {
                    view! { <p class="empty">"No IAM users yet: create the first above."</p> }
                        .into_any()
                }
                Ok(users) if users.is_empty() => {
                    view! { <p class="empty">"No IAM users match."</p> }.into_any()
                }
                Ok(users) => view! { <UserTable users /> }.into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            }
        })
    };
    let deleted = move || {
        query.read().get("deleted").map(|name| {
            view! { <p class="success" role="status">"Deleted user " {name} " and their keys."</p> }
        })
    };
    view! {
        <Title text="IAM users" />
        <h1>"IAM users"</h1>
        {deleted}
        <section class="card" aria-labelledby="new-user-title">
            <h2 id="new-user-title">"New user"</h2>
            <p class="hint">
                "A user reaches the buckets you grant them with S3 access keys. "
                "The first key is made now; its secret is shown once."
            </p>
            <ServerForm action=create class="inline-form">
                <CsrfField />
                <div class="field">
                    <label for="new-user-name">"User name"</label>
                    <input
                        id="new-user-name"
                        name="name"
                        required
                        autocomplete="off"
                        spellcheck="false"
                        aria-describedby="name-error"
                    />
                </div>
                <label class="check">
                    <input type="checkbox" name="can_create_buckets" value="on" />
                    " May create buckets"
                </label>
                <button type="submit" class="primary">"Create user"</button>
            </ServerForm>
            <FieldError error field="name" />
            <FormError error />
        </section>
        <section aria-labelledby="users-title">
            <h2 id="users-title">"Users"</h2>
            <form method="get" action="/users" role="search" class="inline-form">
                <label for="user-search" class="visually-hidden">"Search users"</label>
                <input
                    id="user-search"
                    type="search"
                    name="q"
                    placeholder="Search by name"
                    value=search
                />
                <button type="submit">"Search"</button>
            </form>
            <Transition fallback=|| view! { <p>"Loading users…"</p> }>{table}</Transition>
        </section>
    }
}

#[component]
fn UserTable(users: Vec<UserSummary>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Keys"</th>
                        <th scope="col">"Live links"</th>
                        <th scope="col">"May create buckets"</th>
                        <th scope="col">"Created"</th>
                    </tr>
                </thead>
                <tbody>
                    {users
                        .into_iter()
                        .map(|u| {
                            view! {
                                <tr>
                                    <td>
                                        <a href=format!("/users/{}", u.name)>{u.name.clone()}</a>
                                    </td>
                                    <td>
                                        <StatusBadge active=u.active />
                                    </td>
                                    <td>{u.keys}</td>
                                    <td>{u.live_links}</td>
                                    <td>{if u.can_create_buckets { "yes" } else { "no" }}</td>
                                    <td>
                                        <Time at=u.created_at />
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn StatusBadge(active: bool) -> impl IntoView {
    if active {
        view! { <span class="badge ok">"active"</span> }
    } else {
        view! { <span class="badge off">"disabled"</span> }
    }
}

#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let change_user = FormAction::<ChangeUser>::new();
    let change_key = FormAction::<ChangeKey>::new();
    let user_error = change_user.error();
    let key_error = change_key.error();
    let detail = Resource::new(
        move || {
            (
                name(),
                change_user.version().get(),
                change_key.version().get(),
            )
        },
        |(name, _, _)| get_user(name),
    );
    let new_key = Resource::new(
        move || (name(), change_key.version().get()),
        |(name, _)| take_new_key(name),
    );
    let body = move || {
        Suspend::new(async move {
            let detail = match detail.await {
                Ok(detail) => detail,
                Err(error) => return view! { <LoadError error /> }.into_any(),
            };
            let fresh = new_key.await.ok().flatten();
            view! {
                <UserBody detail fresh change_user change_key user_error key_error />
            }
            .into_any()
        })
    };
    view! {
        <Title text=move || format!("User {}", name()) />
        <p class="crumbs">
            <a href="/users">"IAM users"</a>
            " / "
            {name}
        </p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>{body}</Transition>
    }
}

#[component]
fn UserBody(
    detail: UserDetail,
    fresh: Option<NewKey>,
    change_user: FormAction<ChangeUser>,
    change_key: FormAction<ChangeKey>,
    user_error: Signal<Option<AppError>>,
    key_error: Signal<Option<AppError>>,
) -> impl IntoView {
    let user = detail.user.clone();
    let name = user.name.clone();
    let (name_status, name_delete, name_keys, name_new_key, name_links) = (
        name.clone(),
        name.clone(),
        name.clone(),
        name.clone(),
        name.clone(),
    );
    let live = user.live_links;
    let revives = user.revives;
    let stops = move |n: i64| format!("This stops {}.", live_links(n));
    view! {
        <h1>{name.clone()} " " <StatusBadge active=user.active /></h1>
        {fresh.map(|key| view! { <NewKeyPanel key /> })}
        <section class="card" aria-labelledby="status-title">
            <h2 id="status-title">"Account"</h2>
            <div class="actions">
                {if user.active {
                    view! {
                        <ServerForm action=change_user>
                            <CsrfField />
                            <input type="hidden" name="name" value=name_status />
                            <input type="hidden" name="change" value="disable" />
                            {(live > 0)
                                .then(|| {
                                    view! {
                                        <ConfirmField id="confirm-disable".to_owned() text=stops(live) />
                                    }
                                })}
                            <button type="submit">"Disable user"</button>
                        </ServerForm>
                    }
                        .into_any()
                } else {
                    view! {
                        <ServerForm action=change_user>
                            <CsrfField />
                            <input type="hidden" name="name" value=name_status />
                            <input type="hidden" name="change" value="enable" />
                            {(revives > 0)
                                .then(|| {
                                    view! {
                                        <ConfirmField
                                            id="confirm-enable".to_owned()
                                            text=format!("This brings back {}.", live_links(revives))
                                        />
                                    }
                                })}
                            <button type="submit">"Enable user"</button>
                        </ServerForm>
                    }
                        .into_any()
                }}
                <ServerForm action=change_user>
                    <CsrfField />
                    <input type="hidden" name="name" value=name_delete.clone() />
                    <input type="hidden" name="change" value="delete" />
                    <ConfirmField
                        id="confirm-delete".to_owned()
                        text=format!("Delete {name_delete} and their keys. {}", stops(live))
                    />
                    <button type="submit" class="danger">"Delete user"</button>
                </ServerForm>
            </div>
            <FormError error=user_error />
        </section>
        <section class="card" aria-labelledby="keys-title">
            <h2 id="keys-title">"Access keys"</h2>
            <div class="table-wrap">
                <table>
                    <thead>
                        <tr>
                            <th scope="col">"Access key id"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Created"</th>
                            <th scope="col">"Last used"</th>
                            <th scope="col">"Live links"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {detail
                            .keys
                            .into_iter()
                            .map(|key| {
                                view! { <KeyRow user=name_keys.clone() key change_key /> }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <ServerForm action=change_key>
                <CsrfField />
                <input type="hidden" name="user" value=name_new_key />
                <input type="hidden" name="change" value="create" />
                <button type="submit">"Add access key"</button>
            </ServerForm>
            <FormError error=key_error />
        </section>
        <section class="card" aria-labelledby="grants-title">
            <h2 id="grants-title">"Grants"</h2>
            {if detail.grants.is_empty() {
                view! {
                    <p class="empty">
                        "No grants: this user reaches no bucket. Grant access from a bucket's "
                        <strong>"Access"</strong>
                        " tab."
                    </p>
                }
                    .into_any()
            } else {
                view! {
                    <ul class="plain">
                        {detail
                            .grants
                            .into_iter()
                            .map(|g| {
                                view! {
                                    <li>
                                        <a href=format!(
                                            "/buckets/{}/access",
                                            g.bucket,
                                        )>{g.bucket.clone()}</a>
                                        {(!g.prefix.is_empty())
                                            .then(|| format!(" (under {})", g.prefix))}
                                        ": "
                                        <strong>{g.permission.clone()}</strong>
                                        {g
                                            .expires_at
                                            .map(|at| {
                                                view! {
                                                    " until "
                                                    <Time at />
                                                }
                                            })}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
        </section>
        <section class="card" aria-labelledby="user-links-title">
            <h2 id="user-links-title">"Share links signed as " {name_links}</h2>
            <crate::links::LinkTable links=detail.links />
            {detail
                .more_links
                .then(|| {
                    let all = format!(
                        "/links?user={}&status=all",
                        crate::components::encode(&detail.user.name),
                    );
                    view! {
                        <p>
                            <a href=all>"All links signed as " {detail.user.name.clone()} " →"</a>
                        </p>
                    }
                })}
        </section>
    }
}

#[component]
fn KeyRow(user: String, key: KeyView, change_key: FormAction<ChangeKey>) -> impl IntoView {
    let stops = format!("Stops {}.", live_links(key.live_links));
    let brings_back = format!("Brings back {}.", live_links(key.revives));
    let live = key.live_links;
    let key_id = key.id.clone();
    // The box to tick says what the change does to links; a change that does nothing to them
    // needs no box, except deleting, which cannot be undone.
    let form = move |change: &'static str, label: &'static str, confirm: bool| {
        let id = format!("confirm-{change}-{key_id}");
        let stops = match change {
            "enable" => brings_back.clone(),
            "delete" if live > 0 => format!("Delete {key_id} for good. {stops}"),
            "delete" => format!("Delete {key_id} for good."),
            _ => stops.clone(),
        };
        let (user, key_id) = (user.clone(), key_id.clone());
        view! {
            <ServerForm action=change_key>
                <CsrfField />
                <input type="hidden" name="user" value=user />
                <input type="hidden" name="key" value=key_id />
                <input type="hidden" name="change" value=change />
                {confirm.then(|| view! { <ConfirmField id=id text=stops /> })}
                <button type="submit" class=if change == "delete" { "danger" } else { "" }>
                    {label}
                </button>
            </ServerForm>
        }
    };
    let active = key.status == "active";
    view! {
        <tr>
            <td>
                <code>{key.id.clone()}</code>
            </td>
            <td>{key.status.clone()}</td>
            <td>
                <Time at=key.created_at />
            </td>
            <td>
                {key
                    .last_used_at
                    .map(|at| view! { <Time at /> }.into_any())
                    .unwrap_or_else(|| "never".into_any())}
            </td>
            <td>{key.live_links}</td>
            <td class="row-actions">
                {if active {
                    form("disable", "Disable", key.live_links > 0).into_any()
                } else {
                    form("enable", "Enable", key.revives > 0).into_any()
                }}
                {form("rotate", "Rotate", key.live_links > 0)}
                {form("delete", "Delete", true)}
            </td>
        </tr>
    }
}

/// The secret of a key just made: shown once, with the endpoint, copy buttons, snippets for
/// the common tools and a `.csv` download.
#[component]
fn NewKeyPanel(key: NewKey) -> impl IntoView {
    let csv_href = format!(
        "data:text/csv;charset=utf-8,{}",
        crate::components::encode(&key.csv())
    );
    let csv_name = format!("{}-accessKeys.csv", key.user);
    let snippets = key.snippets();
    // What the action produced gets the focus (keyboard and screen reader users land on it).
    Effect::new(move |_| {
        use leptos::wasm_bindgen::JsCast;
        if let Some(panel) = document()
            .get_element_by_id("new-key")
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = panel.focus();
        }
    });
    view! {
        <section class="card notice" aria-labelledby="new-key-title" role="status" tabindex="-1" id="new-key">
            <h2 id="new-key-title">"New access key for " {key.user.clone()}</h2>
            <p>
                <strong>"The secret is shown only now."</strong>
                " Copy it to where it will be used; it cannot be shown again."
            </p>
            <dl class="secret">
                <dt>"Access key id"</dt>
                <dd>
                    <code id="new-key-id">{key.access_key_id.clone()}</code>
                    <CopyButton text=key.access_key_id.clone() label="Copy access key id" />
                </dd>
                <dt>"Secret access key"</dt>
                <dd>
                    <code id="new-key-secret">{key.secret_access_key.clone()}</code>
                    <CopyButton text=key.secret_access_key.clone() label="Copy secret access key" />
                </dd>
                <dt>"S3 endpoint"</dt>
                <dd>
                    <code id="new-key-endpoint">{key.endpoint.clone()}</code>
                    " region "
                    <code>{key.region.clone()}</code>
                </dd>
            </dl>
            <p>
                <a class="button" href=csv_href download=csv_name>"Download as .csv"</a>
            </p>
            {snippets
                .into_iter()
                .map(|(id, title, text)| {
                    let label = format!("Copy {title}");
                    view! {
                        <h3>{title}</h3>
                        <pre id=id>{text.clone()}</pre>
                        <CopyButton text label />
                    }
                })
                .collect_view()}
        </section>
    }
}
