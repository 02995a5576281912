//! Buckets: the list, creation and deletion; a bucket's page with its objects (folders,
//! breadcrumbs, pages, upload, delete, share), who may reach it, and its links.

#[cfg(feature = "ssr")]
mod folder;
#[cfg(feature = "ssr")]
mod panel;
#[cfg(feature = "ssr")]
pub mod ssr;
mod uploads;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Outlet;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use crate::auth::CsrfField;
use crate::components::{
    ConfirmField, Done, FieldError, FormError, LoadError, Time, encode, human_size, live_links,
};
use crate::error::AppError;
use crate::form::{FormAction, ServerForm};
use crate::fragment::Fragment;
use crate::links::LinkRow;
use crate::links::{LinkTable, ShareDialog};
use model::{Listing, ObjectInfo};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketRow {
    pub name: String,
    pub owner: Option<String>,
    /// How many objects and bytes it holds, when bucketshare counts them (not with an
    /// upstream store).
    pub objects: Option<i64>,
    pub bytes: Option<i64>,
    pub created_at: i64,
}

/// How the details panel shows an object, by its content type: only types a browser shows
/// without running anything of the object's (no HTML, no SVG).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preview {
    Image,
    Audio,
    Video,
    Pdf,
    /// Shown as escaped text, the first [`PREVIEW_TEXT_BYTES`] of it.
    Text,
}

/// How much of a text object its preview shows.
pub const PREVIEW_TEXT_BYTES: u64 = 64 * 1024;

impl Preview {
    pub fn of(content_type: Option<&str>) -> Option<Preview> {
        let full = content_type?.to_ascii_lowercase();
        let essence = full.split(';').next().unwrap_or_default().trim();
        Some(match essence.split_once('/')? {
            (
                "image",
                "png" | "jpeg" | "jpg" | "gif" | "webp" | "avif" | "bmp" | "x-icon"
                | "vnd.microsoft.icon",
            ) => Preview::Image,
            ("audio", _) => Preview::Audio,
            ("video", _) => Preview::Video,
            ("application", "pdf") => Preview::Pdf,
            ("text", _) | ("application", "json") => Preview::Text,
            _ => return None,
        })
    }
}

/// Who may reach a bucket, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRow {
    pub user: String,
    pub permission: String,
    pub prefix: String,
    pub expires_at: Option<i64>,
    pub live_links_killed: i64,
}

/// What one tab of a bucket's page shows; only that tab's part is filled in (see [`TABS`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketView {
    pub name: String,
    /// Settings: the bucket, with its counts (counting a large bucket's objects takes long,
    /// so only this tab asks for them).
    pub bucket: Option<BucketRow>,
    /// Objects: one page of the folder.
    pub listing: Listing,
    /// Access: the grants on it, and the users one may grant.
    pub access: Vec<AccessRow>,
    pub users: Vec<String>,
    /// Links: its share links.
    pub links: Vec<LinkRow>,
}

/// The tabs of a bucket's page.
pub const TABS: [&str; 4] = ["objects", "access", "links", "settings"];

#[server(endpoint = "buckets/list")]
pub async fn list_buckets() -> Result<Vec<BucketRow>, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    ssr::list(&crate::state::app_state()?.pool).await
}

#[server(endpoint = "buckets/create")]
pub async fn create_bucket(csrf: String, name: String, owner: String) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    let name = name.trim().to_owned();
    ssr::create(&admin, &name, owner.trim()).await?;
    leptos_axum::redirect(&format!("/buckets/{name}"));
    Ok(())
}

/// Deletes a bucket: empty only, unless `with_contents` (and `confirm`).
#[server(endpoint = "buckets/delete")]
pub async fn delete_bucket(
    csrf: String,
    name: String,
    with_contents: Option<String>,
    confirm: Option<String>,
) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    if confirm.is_none() {
        return Err(AppError::invalid(
            "confirm",
            "Tick the confirmation box to go on.",
        ));
    }
    ssr::delete(&admin, &name, with_contents.is_some()).await?;
    leptos_axum::redirect("/buckets");
    Ok(())
}

/// What the tab `tab` (one of [`TABS`]) of the bucket `name` shows; `prefix` and `after` choose
/// the Objects tab's folder and page.
#[server(endpoint = "buckets/view")]
pub async fn get_bucket(
    name: String,
    tab: String,
    prefix: String,
    after: String,
) -> Result<BucketView, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    ssr::view(&name, &tab, &prefix, &after).await
}

/// Makes the folder `name` under `prefix` (an empty object `PREFIX/NAME/`, as S3 consoles do,
/// so that it shows before anything is put in it).
/// Answers with the folder `prefix` as the object browser lists it, saying what was done.
#[server(endpoint = "buckets/create_folder")]
pub async fn create_folder(
    csrf: String,
    bucket: String,
    prefix: String,
    name: String,
) -> Result<String, AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    let done = ssr::create_folder(&admin, &bucket, &prefix, &name).await?;
    folder::folder(&bucket, &prefix, "", Some(done)).await
}

/// The folder `prefix` of `bucket` as the object browser lists it (HTML), the page of it
/// from `after`.
#[server(endpoint = "buckets/folder")]
pub async fn folder_html(
    bucket: String,
    prefix: String,
    after: String,
) -> Result<String, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    folder::folder(&bucket, &prefix, &after, None).await
}

/// An object's details panel: its details and, for text, the start of it (at most
/// [`PREVIEW_TEXT_BYTES`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectShown {
    pub info: ObjectInfo,
    pub text: Option<String>,
    /// Whether the text goes on past what is shown.
    pub truncated: bool,
}

#[server(endpoint = "buckets/object")]
pub async fn object_details(bucket: String, key: String) -> Result<ObjectShown, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    ssr::object_details(&bucket, &key).await
}

/// Objects picked in a folder, to delete or share together: those that exist (with their
/// live links), those that do not any more, and who may sign download links to all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Picked {
    pub objects: Vec<ObjectInfo>,
    pub missing: Vec<String>,
    pub signers: Vec<String>,
}

/// The most objects one selection holds (as S3's DeleteObjects).
pub const MAX_SELECTION: usize = 1000;

#[server(endpoint = "buckets/selection")]
pub async fn selection(bucket: String, keys: Vec<String>) -> Result<Picked, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    ssr::selection(&bucket, &keys).await
}

/// Which of `keys` exist in `bucket` (the upload queue asks before replacing anything).
#[server(endpoint = "buckets/existing")]
pub async fn existing(bucket: String, keys: Vec<String>) -> Result<Vec<String>, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    ssr::existing(&bucket, &keys).await
}

/// The side panel of the folder `prefix` of `bucket`, as HTML: the objects `keys` ticked
/// there, to delete or share (`action`), or the details of the object `details`; none without
/// either.
#[server(endpoint = "buckets/panel")]
pub async fn side_panel(
    bucket: String,
    prefix: String,
    action: Option<String>,
    details: Option<String>,
    #[server(default)] keys: Vec<String>,
) -> Result<Option<String>, AppError> {
    let _admin = crate::auth::ssr::require_admin().await?;
    let place = panel::Place { bucket, prefix };
    Ok(Some(match (action, details) {
        (Some(action), _) => panel::selected(
            &place,
            crate::auth::ssr::current_csrf_token().await?,
            ssr::selection(&place.bucket, &keys).await?,
            crate::links::share_limits().await?,
            action == "share",
        ),
        (None, Some(key)) => {
            panel::details(&place, ssr::object_details(&place.bucket, &key).await?)
        }
        (None, None) => return Ok(None),
    }))
}

/// Deletes the objects `keys` (a JSON array, as the side panel sends it), with `confirm`;
/// answers with the panel saying what that did.
#[server(endpoint = "buckets/delete_objects")]
pub async fn delete_objects(
    csrf: String,
    bucket: String,
    prefix: String,
    keys: String,
    confirm: Option<String>,
) -> Result<String, AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    if confirm.is_none() {
        return Err(AppError::invalid(
            "confirm",
            "Tick the confirmation box to go on.",
        ));
    }
    let done = ssr::delete_objects(&admin, &bucket, &ssr::keys_from_form(&keys)?).await?;
    Ok(panel::deleted(&panel::Place { bucket, prefix }, done))
}

/// One download link per object of `keys` (a JSON array), alike: signed as `user`, for
/// `expires`, labelled `label`; answers with the panel listing them.
#[server(endpoint = "buckets/share_objects")]
pub async fn share_objects(
    csrf: String,
    bucket: String,
    prefix: String,
    keys: String,
    user: String,
    expires: String,
    label: String,
) -> Result<String, AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    let mut made = Vec::new();
    for key in ssr::keys_from_form(&keys)? {
        made.push(
            crate::links::ssr::create(
                &admin,
                &bucket,
                &key,
                &user,
                &expires,
                "GET",
                &label,
                &Default::default(),
            )
            .await?,
        );
    }
    Ok(panel::shared(&panel::Place { bucket, prefix }, made))
}

/// Grants `permission` on the bucket (optionally under `prefix`, until `expires`) to `user`;
/// says what it did, replaced grant included.
#[server(endpoint = "buckets/grant")]
pub async fn add_grant(
    csrf: String,
    bucket: String,
    user: String,
    permission: String,
    prefix: String,
    expires: String,
) -> Result<String, AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    ssr::add_grant(&admin, &bucket, &user, &permission, &prefix, &expires).await
}

#[server(endpoint = "buckets/ungrant")]
pub async fn remove_grant(
    csrf: String,
    bucket: String,
    user: String,
    prefix: String,
    confirm: Option<String>,
) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    if confirm.is_none() {
        return Err(AppError::invalid(
            "confirm",
            "Tick the confirmation box to go on.",
        ));
    }
    ssr::remove_grant(&admin, &bucket, &user, &prefix).await
}

/// Where the console downloads an object from (`inline` for the details panel's preview).
pub fn download_href(bucket: &str, key: &str) -> String {
    format!("/buckets/{}/download?key={}", encode(bucket), encode(key))
}

/// A count the store may not give: `—` (with an upstream store) rather than a wrong 0.
fn count_or_dash(count: Option<i64>, show: impl Fn(i64) -> String) -> String {
    count.map_or_else(|| "—".to_owned(), show)
}

#[component]
pub fn BucketsPage() -> impl IntoView {
    let create = FormAction::<CreateBucket>::new();
    let error = create.error();
    let buckets = Resource::new(move || create.version().get(), |_| list_buckets());
    let table = move || {
        Suspend::new(async move {
            match buckets.await {
                Ok(list) if list.is_empty() => {
                    view! { <p class="empty">"No buckets yet."</p> }.into_any()
                }
                Ok(list) => view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"Bucket"</th>
                                    <th scope="col">"Owner"</th>
                                    <th scope="col">"Objects"</th>
                                    <th scope="col">"Size"</th>
                                    <th scope="col">"Created"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {list
                                    .into_iter()
                                    .map(|b| {
                                        view! {
                                            <tr>
                                                <td>
                                                    <a href=format!("/buckets/{}", b.name)>{b.name.clone()}</a>
                                                </td>
                                                <td>{b.owner.clone().unwrap_or_else(|| "-".into())}</td>
                                                <td>{count_or_dash(b.objects, |n| n.to_string())}</td>
                                                <td>{count_or_dash(b.bytes, human_size)}</td>
                                                <td>
                                                    <Time at=b.created_at />
                                                </td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            }
        })
    };
    view! {
        <Title text="Buckets" />
        <h1>"Buckets"</h1>
        <section class="card" aria-labelledby="new-bucket-title">
            <h2 id="new-bucket-title">"New bucket"</h2>
            <ServerForm action=create class="inline-form">
                <CsrfField />
                <div class="field">
                    <label for="new-bucket-name">"Bucket name"</label>
                    <input
                        id="new-bucket-name"
                        name="name"
                        required
                        minlength="3"
                        autocomplete="off"
                        spellcheck="false"
                    />
                </div>
                <div class="field">
                    <label for="new-bucket-owner">"Owner (optional IAM user)"</label>
                    <input id="new-bucket-owner" name="owner" autocomplete="off" />
                </div>
                <button type="submit" class="primary">"Create bucket"</button>
            </ServerForm>
            <FieldError error field="name" />
            <FieldError error field="owner" />
            <FormError error />
        </section>
        <Transition fallback=|| view! { <p>"Loading buckets…"</p> }>{table}</Transition>
    }
}

/// A bucket's page: its name, the tabs, and the tab shown (a route of its own, see
/// `ConsoleRoutes`: `/buckets/{name}` for objects, `…/access`, `…/links`, `…/settings`, and
/// `…/share?key=` for the share dialog). Each tab is a lazy route, so that the bucket page
/// fetches the code of the tab it shows only.
#[component]
pub fn BucketFrame() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let path = leptos_router::hooks::use_location().pathname;
    let tab_link = move |id: &'static str, label: &'static str| {
        let href = move || match id {
            "" => format!("/buckets/{}", encode(&name())),
            _ => format!("/buckets/{}/{id}", encode(&name())),
        };
        let current = move || (tab_of(&path.read()) == id).then_some("page");
        view! {
            <a href=href aria-current=current>
                {label}
            </a>
        }
    };
    view! {
        <Title text=move || format!("Bucket {}", name()) />
        <p class="crumbs">
            <a href="/buckets">"Buckets"</a>
            " / "
            {name}
        </p>
        <h1>{name}</h1>
        <nav class="tabs" aria-label="Bucket">
            {tab_link("", "Objects")}
            {tab_link("access", "Access")}
            {tab_link("links", "Links")}
            {tab_link("settings", "Settings")}
        </nav>
        <Outlet />
    }
}

/// The tab a bucket page's path shows: `access`, `links` or `settings`, and `""` for Objects
/// (`/buckets/{name}`, and its share page). Bucket names hold no `/`.
fn tab_of(path: &str) -> &str {
    let tab = path
        .strip_prefix("/buckets/")
        .and_then(|rest| rest.split_once('/'))
        .map_or("", |(_, tab)| tab);
    match tab {
        "access" | "links" | "settings" => tab,
        _ => "",
    }
}

/// The bucket named in the URL, for the folder and page in the query, fetched again whenever
/// `changed` moves (an action of the tab completed).
fn bucket_view(
    tab: &'static str,
    changed: impl Fn() -> usize + Send + Sync + 'static,
) -> Resource<Result<BucketView, AppError>> {
    let params = use_params_map();
    let query = use_query_map();
    Resource::new(
        move || {
            let q = query.read();
            (
                params.read().get("name").unwrap_or_default(),
                q.get("prefix").unwrap_or_default(),
                q.get("after").unwrap_or_default(),
                changed(),
            )
        },
        move |(name, prefix, after, _)| get_bucket(name, tab.to_owned(), prefix, after),
    )
}

/// A tab's body once its bucket is loaded.
fn loaded(
    data: Resource<Result<BucketView, AppError>>,
    show: impl Fn(BucketView) -> AnyView + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let body = move || {
        let show = show.clone();
        Suspend::new(async move {
            match data.await {
                Ok(data) => show(data),
                Err(error) => view! { <LoadError error /> }.into_any(),
            }
        })
    };
    view! { <Transition fallback=|| view! { <p>"Loading…"</p> }>{body}</Transition> }
}

/// The Objects tab: the folder, upload (files and folders dropped anywhere over it), and
/// per-object details, share and delete.
#[component]
pub fn BucketObjects() -> impl IntoView {
    let query = use_query_map();
    let params = use_params_map();
    // Bumped by what changes the folder from outside its listing: uploads, the side panel.
    let (changes, changed) = signal(0u32);
    // The queue lives here, above the listing it refreshes, so that it survives it.
    let queue = uploads::Queue::new(changed);
    let folder = Resource::new(
        move || {
            let q = query.read();
            (
                params.read().get("name").unwrap_or_default(),
                q.get("prefix").unwrap_or_default(),
                q.get("after").unwrap_or_default(),
                changes.get(),
            )
        },
        |(bucket, prefix, after, _)| folder_html(bucket, prefix, after),
    );
    let (dragging, set_dragging) = signal(false);
    let over = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        set_dragging.set(true);
    };
    let drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        set_dragging.set(false);
        #[cfg(feature = "hydrate")]
        if let Some(dropped) = uploads::dropped(&ev) {
            uploads::add(
                queue,
                params.read_untracked().get("name").unwrap_or_default(),
                query.read_untracked().get("prefix").unwrap_or_default(),
                dropped,
            );
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (params, queue);
    };
    let listing = move || {
        Suspend::new(async move {
            match folder.await {
                Ok(html) => view! { <Fragment html /> }.into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            }
        })
    };
    let upload = move || {
        let bucket = params.read().get("name").unwrap_or_default();
        let prefix = query.read().get("prefix").unwrap_or_default();
        view! { <Upload bucket prefix queue /> }
    };
    // The side panel: the ticked objects (`?do=delete|share&key=…`) or one object's details
    // (`?details=KEY`), rendered by the server.
    let panel_html = Resource::new(
        move || {
            let q = query.read();
            (
                params.read().get("name").unwrap_or_default(),
                q.get("prefix").unwrap_or_default(),
                q.get("do"),
                q.get("details"),
                q.get_all("key").unwrap_or_default(),
            )
        },
        |(bucket, prefix, action, details, keys)| async move {
            if action.is_none() && details.is_none() {
                return Ok(None);
            }
            side_panel(bucket, prefix, action, details, keys).await
        },
    );
    let panel = move || {
        Suspend::new(async move {
            match panel_html.await {
                Ok(html) => html.map(|html| view! { <Fragment html changed /> }.into_any()),
                Err(error) => {
                    let close = format!(
                        "/buckets/{}?prefix={}",
                        encode(&params.read_untracked().get("name").unwrap_or_default()),
                        encode(&query.read_untracked().get("prefix").unwrap_or_default()),
                    );
                    Some(
                        view! {
                            <aside class="card panel">
                                <LoadError error />
                                <a href=close class="button">"Close"</a>
                            </aside>
                        }
                        .into_any(),
                    )
                }
            }
        })
    };
    view! {
        <div
            class="browser"
            class:dragging=dragging
            on:dragover=over
            on:dragleave=move |_| set_dragging.set(false)
            on:drop=drop
        >
            <div class="listing">
                {upload}
                <uploads::Uploads queue />
                <Transition fallback=|| view! { <p>"Loading…"</p> }>{listing}</Transition>
            </div>
            <Transition fallback=|| ()>{panel}</Transition>
            <p class="drop-hint" aria-hidden="true">"Drop files or folders to upload them here"</p>
        </div>
    }
}

/// The Access tab: grant and remove.
#[component]
pub fn BucketAccess() -> impl IntoView {
    let grant = FormAction::<AddGrant>::new();
    let ungrant = FormAction::<RemoveGrant>::new();
    let data = bucket_view("access", move || {
        grant.version().get() + ungrant.version().get()
    });
    loaded(data, move |data| {
        view! { <AccessTab data grant ungrant /> }.into_any()
    })
}

/// The Links tab: this bucket's share links.
#[component]
pub fn BucketLinks() -> impl IntoView {
    let data = bucket_view("links", || 0);
    loaded(data, |data| {
        view! { <LinkTable links=data.links /> }.into_any()
    })
}

/// The Settings tab: deleting the bucket.
#[component]
pub fn BucketSettingsTab() -> impl IntoView {
    let delete_bucket = FormAction::<DeleteBucket>::new();
    let data = bucket_view("settings", || 0);
    loaded(data, move |data| {
        data.bucket
            .map(|bucket| view! { <BucketSettings bucket delete_bucket /> })
            .into_any()
    })
}

/// The share dialog of the object `?key=`, with the way back to its folder.
#[component]
pub fn BucketShare() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    // Built again if the URL names another object (back and forward between two of them).
    move || {
        let bucket = params.read().get("name").unwrap_or_default();
        let key = query.read().get("key").unwrap_or_default();
        let upload = query.read().get("kind").as_deref() == Some("upload");
        let folder = key.rfind('/').map_or("", |slash| &key[..=slash]).to_owned();
        let back = format!("/buckets/{}?prefix={}", encode(&bucket), encode(&folder));
        view! {
            <p>
                <a href=back>"Back to the folder"</a>
            </p>
            <ShareDialog bucket key upload />
        }
    }
}

/// Upload: a plain multipart form post (works without JavaScript); once hydrated, picked
/// files go to the upload queue at once (with progress, cancel and a choice for names that
/// exist), as do files and folders dropped anywhere over the folder.
#[component]
// `picked` is `Copy` on the server (it does nothing there), not in the browser.
#[cfg_attr(not(feature = "hydrate"), allow(clippy::clone_on_copy))]
fn Upload(bucket: String, prefix: String, queue: uploads::Queue) -> impl IntoView {
    let ready = crate::components::hydrated();
    let action = format!("/buckets/{}/upload", encode(&bucket));
    #[cfg(feature = "hydrate")]
    let enqueue = {
        let (bucket, prefix) = (bucket.clone(), prefix.clone());
        move |input: web_sys::HtmlInputElement| {
            let files = uploads::files_of(input.files());
            input.set_value("");
            if !files.is_empty() {
                let dropped = uploads::Dropped {
                    entries: Vec::new(),
                    files,
                };
                uploads::add(queue, bucket.clone(), prefix.clone(), dropped);
            }
        }
    };
    #[cfg(feature = "hydrate")]
    let (picked, submit) = {
        use wasm_bindgen::JsCast;
        let on_submit = enqueue.clone();
        let picked = move |ev: leptos::ev::Event| {
            if let Some(input) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            {
                enqueue(input);
            }
        };
        let submit = move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            if let Some(input) = document()
                .get_element_by_id("upload-files")
                .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
            {
                on_submit(input);
            }
        };
        (picked, submit)
    };
    #[cfg(not(feature = "hydrate"))]
    let (picked, submit) = {
        let _ = queue;
        (|_: leptos::ev::Event| {}, |_: leptos::ev::SubmitEvent| {})
    };
    view! {
        <section class="card upload" aria-labelledby="upload-title">
            <h2 id="upload-title">"Upload"</h2>
            <form
                method="post"
                action=action
                enctype="multipart/form-data"
                class="inline-form"
                on:submit=submit
            >
                <CsrfField />
                <input type="hidden" name="prefix" value=prefix.clone() />
                <div class="field dropzone">
                    <label for="upload-files">
                        "Files (to " {if prefix.is_empty() { "the bucket's top".to_owned() } else { prefix.clone() }} ")"
                    </label>
                    <input id="upload-files" type="file" name="file" multiple required on:change=picked.clone() />
                </div>
                <button type="submit" class="primary">"Upload"</button>
                // A whole folder, with its sub-folders (needs the page's script to keep them).
                <div class="field" hidden=move || !ready.get()>
                    <label for="upload-folder">"Or a folder"</label>
                    <input id="upload-folder" type="file" prop:webkitdirectory=true multiple on:change=picked />
                </div>
            </form>
            <p class="hint">"Or drop files and folders anywhere on this folder's page."</p>
        </section>
    }
}

#[component]
fn AccessTab(
    data: BucketView,
    grant: FormAction<AddGrant>,
    ungrant: FormAction<RemoveGrant>,
) -> impl IntoView {
    let bucket = data.name.clone();
    let (bucket_for_grant, bucket_title) = (bucket.clone(), bucket.clone());
    let grant_error = grant.error();
    let ungrant_error = ungrant.error();
    view! {
        <section class="card" aria-labelledby="grant-title">
            <h2 id="grant-title">"Grant access"</h2>
            <ServerForm action=grant class="inline-form">
                <CsrfField />
                <input type="hidden" name="bucket" value=bucket_for_grant />
                <div class="field">
                    <label for="grant-user">"User"</label>
                    <select id="grant-user" name="user" required>
                        {data
                            .users
                            .iter()
                            .map(|u| view! { <option value=u.clone()>{u.clone()}</option> })
                            .collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="grant-permission">"Permission"</label>
                    <select id="grant-permission" name="permission">
                        <option value="read">"read (list, download)"</option>
                        <option value="write">"write (upload, delete)"</option>
                        <option value="read-write">"read-write"</option>
                        <option value="owner">"owner"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="grant-prefix">"Only under prefix (optional)"</label>
                    <input id="grant-prefix" name="prefix" placeholder="reports/" />
                </div>
                <div class="field">
                    <label for="grant-expires">"Expires after (optional)"</label>
                    <input id="grant-expires" name="expires" placeholder="7d" />
                </div>
                <button type="submit" class="primary">"Grant"</button>
            </ServerForm>
            <FieldError error=grant_error field="user" />
            <FieldError error=grant_error field="prefix" />
            <FieldError error=grant_error field="expires" />
            <FormError error=grant_error />
            <Done action=grant />
        </section>
        <section class="card" aria-labelledby="who-title">
            <h2 id="who-title">"Who can reach " {bucket_title}</h2>
            <FormError error=ungrant_error />
            {if data.access.is_empty() {
                view! { <p class="empty">"Nobody but admins."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"User"</th>
                                    <th scope="col">"Permission"</th>
                                    <th scope="col">"Prefix"</th>
                                    <th scope="col">"Expires"</th>
                                    <th scope="col">"Actions"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {data
                                    .access
                                    .into_iter()
                                    .map(|a| {
                                        let bucket = bucket.clone();
                                        let stops = format!(
                                            "Stops {}.",
                                            live_links(a.live_links_killed),
                                        );
                                        view! {
                                            <tr>
                                                <td>
                                                    <a href=format!("/users/{}", a.user)>{a.user.clone()}</a>
                                                </td>
                                                <td>{a.permission.clone()}</td>
                                                <td>{if a.prefix.is_empty() { "(all)".to_owned() } else { a.prefix.clone() }}</td>
                                                <td>
                                                    {a
                                                        .expires_at
                                                        .map(|at| view! { <Time at /> }.into_any())
                                                        .unwrap_or_else(|| "never".into_any())}
                                                </td>
                                                <td>
                                                    <ServerForm action=ungrant>
                                                        <CsrfField />
                                                        <input type="hidden" name="bucket" value=bucket.clone() />
                                                        <input type="hidden" name="user" value=a.user.clone() />
                                                        <input type="hidden" name="prefix" value=a.prefix.clone() />
                                                        <ConfirmField
                                                            id=format!("confirm-ungrant-{}-{}", a.user, a.prefix)
                                                            text=stops
                                                        />
                                                        <button type="submit" class="danger">"Remove"</button>
                                                    </ServerForm>
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
            }}
        </section>
    }
}

#[component]
fn BucketSettings(bucket: BucketRow, delete_bucket: FormAction<DeleteBucket>) -> impl IntoView {
    let error = delete_bucket.error();
    view! {
        <section class="card" aria-labelledby="delete-bucket-title">
            <h2 id="delete-bucket-title">"Delete bucket"</h2>
            <p>
                {match (bucket.objects, bucket.bytes) {
                    (Some(objects), Some(bytes)) => {
                        format!(
                            "{} holds {objects} objects ({}). Its grants and share links go with it.",
                            bucket.name,
                            human_size(bytes),
                        )
                    }
                    _ => {
                        format!(
                            "{}'s objects are in the upstream store. Its grants and share links go with it.",
                            bucket.name,
                        )
                    }
                }}
            </p>
            <ServerForm action=delete_bucket>
                <CsrfField />
                <input type="hidden" name="name" value=bucket.name.clone() />
                <label class="check">
                    <input type="checkbox" name="with_contents" value="yes" />
                    " Delete its objects too"
                </label>
                <ConfirmField
                    id="confirm-delete-bucket".to_owned()
                    text=format!("Delete bucket {} for good.", bucket.name)
                />
                <button type="submit" class="danger">"Delete bucket"</button>
            </ServerForm>
            <FormError error />
            <FieldError error field="name" />
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::{human_size, tab_of};

    #[test]
    fn the_tab_shown_comes_from_the_path_after_the_bucket_name() {
        assert_eq!(tab_of("/buckets/team"), "");
        assert_eq!(tab_of("/buckets/team/access"), "access");
        assert_eq!(tab_of("/buckets/team/links"), "links");
        assert_eq!(tab_of("/buckets/team/settings"), "settings");
        assert_eq!(tab_of("/buckets/team/share"), "");
        // A bucket named like a tab is still on its Objects tab.
        assert_eq!(tab_of("/buckets/access"), "");
        assert_eq!(tab_of("/buckets/links/settings"), "settings");
    }

    #[test]
    fn sizes_read_in_binary_units_to_a_tenth() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(1587), "1.5 KiB");
        assert_eq!(human_size(1588), "1.6 KiB");
        assert_eq!(human_size(64 << 20), "64.0 MiB");
        assert_eq!(human_size((5 << 30) + (1 << 29)), "5.5 GiB");
        assert_eq!(human_size(3 << 40), "3.0 TiB");
        assert_eq!(human_size(5000 << 40), "5000.0 TiB");
        assert_eq!(human_size(i64::MAX), "8388608.0 TiB");
    }
}
