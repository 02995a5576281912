//! The Settings page: what links are signed for and how long they may live, the sharing policy
//! for share pages, audit retention and IP truncation, SigV2; the default webhook; and the
//! console's admin accounts (create, disable, enable).

// Server functions take one argument per form field; the settings form has eleven.
#![allow(clippy::too_many_arguments)]

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::auth::CsrfField;
use crate::components::{
    ConfirmField, Done, FieldError, FormError, LoadError, PasswordInput, TextField, Time,
};
use crate::error::AppError;
use crate::form::{FormAction, ServerForm};
use crate::fragment::Fragment;

/// The settings as the form shows them (durations as text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsForm {
    pub public_s3_url: String,
    pub default_link: String,
    pub max_link: String,
    pub audit_retention: String,
    pub truncate_ips: bool,
    pub sigv2: bool,
    /// The sharing policy: the longest share-page lifetime (`none`), a password after that
    /// long (`none`), a password on folder pages, folder pages at all.
    pub max_page: String,
    pub page_password_after: String,
    pub folder_password: bool,
    pub folder_pages: bool,
    /// Upload pages at all, a password on them, and the largest file and total they may take
    /// (sizes as text, `none`).
    pub upload_pages: bool,
    pub upload_password: bool,
    pub max_upload_file: String,
    pub max_upload_total: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsView {
    pub form: SettingsForm,
    /// For each setting changed here: its field and the command line's value.
    pub command_line: Vec<(String, String)>,
    pub admins: Vec<AdminRow>,
    /// The signed-in admin.
    pub me: String,
    /// The default webhook's panel (HTML, see [`crate::links::webhook`]).
    pub webhook: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminRow {
    pub name: String,
    pub active: bool,
    pub created_at: i64,
}

#[server(endpoint = "settings/get")]
pub async fn get_settings() -> Result<SettingsView, AppError> {
    let admin = crate::auth::ssr::require_admin().await?;
    ssr::view(&admin).await
}

/// Saves the settings; they apply at once here and within seconds on other instances.
#[server(endpoint = "settings/save")]
pub async fn save_settings(
    csrf: String,
    public_s3_url: String,
    default_link: String,
    max_link: String,
    audit_retention: String,
    truncate_ips: Option<String>,
    sigv2: Option<String>,
    max_page: String,
    page_password_after: String,
    folder_password: Option<String>,
    folder_pages: Option<String>,
    upload_pages: Option<String>,
    upload_password: Option<String>,
    // Optional: a form from before upload pages still saves the rest (none: no limit).
    max_upload_file: Option<String>,
    max_upload_total: Option<String>,
) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    let form = SettingsForm {
        public_s3_url,
        default_link,
        max_link,
        audit_retention,
        truncate_ips: truncate_ips.is_some(),
        sigv2: sigv2.is_some(),
        max_page,
        page_password_after,
        folder_password: folder_password.is_some(),
        folder_pages: folder_pages.is_some(),
        upload_pages: upload_pages.is_some(),
        upload_password: upload_password.is_some(),
        max_upload_file: max_upload_file.unwrap_or_default(),
        max_upload_total: max_upload_total.unwrap_or_default(),
    };
    ssr::save(&admin, form).await
}

/// Puts every setting back to the command line's value (with `confirm`).
#[server(endpoint = "settings/reset")]
pub async fn reset_settings(csrf: String, confirm: Option<String>) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    if confirm.is_none() {
        return Err(AppError::invalid(
            "confirm",
            "Tick the confirmation box to go on.",
        ));
    }
    ssr::reset(&admin).await
}

/// Creates another console admin.
#[server(endpoint = "settings/create_admin")]
pub async fn create_admin(
    csrf: String,
    admin_name: String,
    admin_password: String,
    admin_confirm: String,
) -> Result<String, AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    ssr::create_admin(&admin, &admin_name, admin_password, admin_confirm).await
}

/// Disables (`status` = `disabled`) or enables another admin.
#[server(endpoint = "settings/admin_status")]
pub async fn set_admin_status(csrf: String, name: String, status: String) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    ssr::set_admin_status(&admin, &name, status == "active").await
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let save = FormAction::<SaveSettings>::new();
    let reset = FormAction::<ResetSettings>::new();
    let create = FormAction::<CreateAdmin>::new();
    let status = FormAction::<SetAdminStatus>::new();
    // Reloaded after changes that succeeded only: a refused form keeps what was typed.
    let done = RwSignal::new(0u32);
    Effect::new(move |_| {
        let ok = matches!(save.value().get(), Some(Ok(())))
            | matches!(create.value().get(), Some(Ok(_)));
        if ok {
            done.update(|n| *n += 1);
        }
    });
    let settings = Resource::new(
        move || (done.get(), reset.version().get(), status.version().get()),
        |_| get_settings(),
    );
    let body = move || {
        Suspend::new(async move {
            match settings.await {
                Ok(view) => view! { <SettingsForms view save reset create status /> }.into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            }
        })
    };
    view! {
        <Title text="Settings" />
        <h1>"Settings"</h1>
        <Transition fallback=|| view! { <p>"Loading settings…"</p> }>{body}</Transition>
    }
}

#[component]
fn SettingsForms(
    view: SettingsView,
    save: FormAction<SaveSettings>,
    reset: FormAction<ResetSettings>,
    create: FormAction<CreateAdmin>,
    status: FormAction<SetAdminStatus>,
) -> impl IntoView {
    let f = view.form;
    let save_error = save.error();
    let reset_error = reset.error();
    let create_error = create.error();
    let status_error = status.error();
    let saved = save.value();
    let cli = view.command_line.clone();
    let from_cli = move |field: &str| {
        cli.iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| format!("Set here; without it: {value}."))
            .unwrap_or_else(|| {
                "Not changed here (the command line's or the built-in value).".to_owned()
            })
    };
    let overridden = !view.command_line.is_empty();
    let me = view.me.clone();
    view! {
        <section class="card" aria-labelledby="links-settings-title">
            <h2 id="links-settings-title">"Share links and the S3 endpoint"</h2>
            <ServerForm action=save>
                <CsrfField />
                <TextField
                    id="public_s3_url"
                    label="Public S3 URL"
                    kind="url"
                    value=f.public_s3_url
                    hint=format!(
                        "The S3 address as link recipients reach it (a reverse proxy's, a real host name). New links are signed for it. {}",
                        from_cli("public_s3_url"),
                    )
                    error=save_error
                    error_field="public_s3_url"
                />
                <TextField
                    id="default_link"
                    label="Default link lifetime"
                    value=f.default_link
                    hint=format!(
                        "What the share dialog offers first, e.g. 1h. {}",
                        from_cli("default_link_secs"),
                    )
                    error=save_error
                    error_field="default_link_secs"
                />
                <TextField
                    id="max_link"
                    label="Longest link lifetime"
                    value=f.max_link
                    hint=format!(
                        "At most 7 days (S3's limit). Also the longest pre-signed URL the endpoint accepts. {}",
                        from_cli("max_link_secs"),
                    )
                    error=save_error
                    error_field="max_link_secs"
                />
                <label class="check">
                    <input type="checkbox" name="sigv2" value="on" checked=f.sigv2 />
                    " Accept SigV2 requests and links (aws cli v1's default for presign)"
                </label>
                <p class="hint">{from_cli("sigv2")}</p>
                <h3>"Sharing policy"</h3>
                <p class="hint">
                    "What share pages may be (links served by bucketshare, which can outlive 7 days). A page made or changed against it is refused, naming the rule."
                </p>
                <TextField
                    id="max_page"
                    label="Longest share-page lifetime"
                    value=f.max_page
                    hint=format!(
                        "e.g. 30d or 1y; none: any, and pages that never expire. {}",
                        from_cli("max_page_secs"),
                    )
                    error=save_error
                    error_field="max_page_secs"
                />
                <TextField
                    id="page_password_after"
                    label="Require a password on pages that live longer than"
                    value=f.page_password_after
                    hint=format!(
                        "e.g. 7d; none: no page needs one for its lifetime. {}",
                        from_cli("page_password_after_secs"),
                    )
                    error=save_error
                    error_field="page_password_after_secs"
                />
                <label class="check">
                    <input type="checkbox" name="folder_pages" value="on" checked=f.folder_pages />
                    " Allow folder pages (a folder as one link, with a zip of all of it)"
                </label>
                <p class="hint">{from_cli("folder_pages")}</p>
                <label class="check">
                    <input
                        type="checkbox"
                        name="folder_password"
                        value="on"
                        checked=f.folder_password
                    />
                    " Require a password on folder pages"
                </label>
                <p class="hint">{from_cli("folder_password")}</p>
                <label class="check">
                    <input type="checkbox" name="upload_pages" value="on" checked=f.upload_pages />
                    " Allow upload pages (people without an account drop files into a folder)"
                </label>
                <p class="hint">{from_cli("upload_pages")}</p>
                <label class="check">
                    <input
                        type="checkbox"
                        name="upload_password"
                        value="on"
                        checked=f.upload_password
                    />
                    " Require a password on upload pages"
                </label>
                <p class="hint">{from_cli("upload_password")}</p>
                <TextField
                    id="max_upload_file"
                    label="Largest file an upload page may take"
                    value=f.max_upload_file
                    hint=format!(
                        "e.g. 2 GiB; none: any size (up to S3's 5 TiB). {}",
                        from_cli("max_upload_file"),
                    )
                    error=save_error
                    error_field="max_upload_file"
                />
                <TextField
                    id="max_upload_total"
                    label="Most an upload page may take in all"
                    value=f.max_upload_total
                    hint=format!("e.g. 20 GiB; none: no limit. {}", from_cli("max_upload_total"))
                    error=save_error
                    error_field="max_upload_total"
                />
                <h3>"Audit"</h3>
                <TextField
                    id="audit_retention"
                    label="Keep audit events for"
                    value=f.audit_retention
                    hint=format!(
                        "Older events are deleted every hour; at least 1 day. {}",
                        from_cli("audit_retention_secs"),
                    )
                    error=save_error
                    error_field="audit_retention_secs"
                />
                <label class="check">
                    <input type="checkbox" name="truncate_ips" value="on" checked=f.truncate_ips />
                    " Store client addresses truncated (IPv4 to /24, IPv6 to /48)"
                </label>
                <p class="hint">{from_cli("truncate_ips")}</p>
                <FormError error=save_error />
                {move || {
                    matches!(saved.get(), Some(Ok(())))
                        .then(|| view! { <p class="success" role="status">"Settings saved."</p> })
                }}
                <button type="submit" class="primary">"Save settings"</button>
            </ServerForm>
            {overridden
                .then(|| {
                    view! {
                        <ServerForm action=reset>
                            <CsrfField />
                            <ConfirmField
                                id="confirm-reset-settings".to_owned()
                                text="Put every setting back to the command line's value".to_owned()
                            />
                            <FieldError error=reset_error field="confirm" />
                            <FormError error=reset_error />
                            <button type="submit">"Reset to the command line"</button>
                        </ServerForm>
                    }
                })}
        </section>
        <Fragment html=view.webhook.clone() />
        <section class="card" aria-labelledby="admins-title">
            <h2 id="admins-title">"Admin accounts"</h2>
            <p class="hint">
                "Admins sign in to this console. A disabled admin is signed out at their next request. "
                <a href="/account">"Change your own password"</a>
            </p>
            <FieldError error=status_error field="admins" />
            <FormError error=status_error />
            <div class="table-wrap">
                <table>
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Created"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {view
                            .admins
                            .into_iter()
                            .map(|a| {
                                let own = a.name == me;
                                let (next, label) = if a.active {
                                    ("disabled", format!("Disable {}", a.name))
                                } else {
                                    ("active", format!("Enable {}", a.name))
                                };
                                view! {
                                    <tr>
                                        <td>{a.name.clone()} {own.then_some(" (you)")}</td>
                                        <td>{if a.active { "active" } else { "disabled" }}</td>
                                        <td>
                                            <Time at=a.created_at />
                                        </td>
                                        <td class="row-actions">
                                            {own.then_some("—")}
                                            {(!own)
                                                .then(|| {
                                                    view! {
                                                        <ServerForm action=status>
                                                            <CsrfField />
                                                            <input type="hidden" name="name" value=a.name.clone() />
                                                            <input type="hidden" name="status" value=next />
                                                            <button
                                                                type="submit"
                                                                class=if a.active { "danger" } else { "" }
                                                            >
                                                                {label}
                                                            </button>
                                                        </ServerForm>
                                                    }
                                                })}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <h3>"New admin"</h3>
            <ServerForm action=create>
                <CsrfField />
                <label for="admin_name">"Admin name"</label>
                <input
                    id="admin_name"
                    name="admin_name"
                    required
                    autocomplete="off"
                    spellcheck="false"
                />
                <FieldError error=create_error field="admin_name" />
                <PasswordInput
                    id="admin_password"
                    name="admin_password"
                    label="Their password"
                    autocomplete="new-password"
                />
                <FieldError error=create_error field="admin_password" />
                <PasswordInput
                    id="admin_confirm"
                    name="admin_confirm"
                    label="Confirm their password"
                    autocomplete="new-password"
                />
                <FieldError error=create_error field="admin_confirm" />
                <FormError error=create_error />
                <Done action=create />
                <button type="submit" class="primary">"Create admin"</button>
            </ServerForm>
        </section>
    }
}
