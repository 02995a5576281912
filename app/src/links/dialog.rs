//! The share dialog of one object or folder, rendered on the server as a [`Fragment`]: the
//! form that issues a link (a share page, the default, or a pre-signed URL; lifetime, who signs
//! it, label; a page's download limit, password and note) and, once made, the link with its
//! copy button and QR code. A folder (a key ending with `/`) is shared as a page, or asked for
//! files: an upload page into it ("Request files", with its limits).
//!
//! [`Fragment`]: crate::fragment::Fragment

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::{ExpiryField, LinkUrl, ShareLink, SharedLink};
use crate::components::Time;
use crate::error::AppError;
use crate::fragment::{ErrorPlace, render};

/// The dialog for `bucket`/`key`, with the link just `made` there, if any.
pub async fn dialog(
    bucket: &str,
    key: &str,
    made: Option<SharedLink>,
    upload: bool,
) -> Result<String, AppError> {
    let state = crate::state::app_state()?;
    let csrf = crate::auth::ssr::current_csrf_token().await?;
    let limits = super::share_limits().await?;
    // Who may sign: readers sign downloads, writers uploads. One list, grouped, so that the
    // form needs no script to offer the right people.
    let readers = super::ssr::signers(&state.pool, bucket, key, "GET").await?;
    let writers = super::ssr::signers(&state.pool, bucket, key, "PUT").await?;
    let both: Vec<String> = readers
        .iter()
        .filter(|u| writers.contains(u))
        .cloned()
        .collect();
    let groups = [
        ("May download and upload", both.clone()),
        (
            "May download only",
            readers
                .iter()
                .filter(|u| !both.contains(u))
                .cloned()
                .collect(),
        ),
        (
            "May upload only",
            writers
                .iter()
                .filter(|u| !both.contains(u))
                .cloned()
                .collect(),
        ),
    ];
    let error = crate::form::posted_error(ShareLink::PATH);
    let nobody = groups.iter().all(|(_, users)| users.is_empty());
    let options = groups
        .into_iter()
        .filter(|(_, users)| !users.is_empty())
        .map(|(label, users)| {
            view! {
                <optgroup label=label>
                    {users
                        .into_iter()
                        .map(|u| view! { <option value=u.clone()>{u.clone()}</option> })
                        .collect_view()}
                </optgroup>
            }
        })
        .collect_view();
    let made = made.map(|link| {
        let until = if link.expires_at == domain::links::pages::NEVER {
            view! { "Works until it is revoked. " }.into_any()
        } else {
            view! { "Works until " <Time at=link.expires_at /> ". " }.into_any()
        };
        view! {
            <div class="shared" role="status">
                <h3>
                    {match link.method.as_str() {
                        "PAGE" => "Share page ready",
                        "UPLOAD" => "Upload page ready",
                        _ => "Link ready",
                    }}
                </h3>
                <LinkUrl url=link.url method=link.method qr_svg=link.qr_svg focus=true />
                <p>
                    {until}
                    <a href=format!("/links/{}", link.id)>"See it and its accesses"</a>
                </p>
            </div>
        }
    });
    let folder = domain::links::pages::is_folder(key);
    let settings = state.settings.get();
    let policy = policy_words(&settings, folder);
    let upload = upload && folder;
    let kinds = if folder {
        view! {
            <fieldset>
                <legend>"Kind"</legend>
                <label class="check">
                    <input type="radio" name="method" value="PAGE" checked=!upload />
                    " Share page: people open the folder and download its files"
                </label>
                <label class="check">
                    <input type="radio" name="method" value="UPLOAD" checked=upload />
                    " Request files: an upload page; people without an account send files into this folder, and see nothing in it"
                </label>
            </fieldset>
        }
        .into_any()
    } else {
        view! {
            <fieldset>
                <legend>"Kind"</legend>
                <label class="check">
                    <input type="radio" name="method" value="PAGE" checked=true />
                    " Share page: a page to open and download, for people"
                </label>
                <label class="check">
                    <input type="radio" name="method" value="GET" />
                    " Pre-signed S3 URL: download (for S3 tools and scripts; at most 7 days)"
                </label>
                <label class="check">
                    <input type="radio" name="method" value="PUT" />
                    " Pre-signed S3 URL: upload only (replaces the object)"
                </label>
            </fieldset>
        }
        .into_any()
    };
    let title = if folder {
        let name = key.trim_end_matches('/');
        format!(
            "{} {}",
            if upload {
                "Request files into"
            } else {
                "Share folder"
            },
            if name.is_empty() { bucket } else { name }
        )
    } else {
        format!("Share {key}")
    };
    Ok(render(view! {
        <section class="card share" aria-labelledby="share-title">
            <h2 id="share-title">{title}</h2>
            <form method="post" action=ShareLink::PATH>
                <input type="hidden" name="csrf" value=csrf />
                <input type="hidden" name="bucket" value=bucket.to_owned() />
                <input type="hidden" name="key" value=key.to_owned() />
                {kinds}
                <ExpiryField limits pages=true />
                <ErrorPlace error=error.clone() field="expires" />
                <label for="share-user">"Sign as"</label>
                <select id="share-user" name="user" required aria-describedby="share-user-hint">
                    {nobody.then(|| view! {
                        <option value="" disabled=true selected=true>
                            "Nobody may do this yet: grant a user first"
                        </option>
                    })}
                    {options}
                </select>
                <p class="hint" id="share-user-hint">
                    "Only users allowed show here: reading lets a user sign downloads, writing uploads."
                </p>
                <ErrorPlace error=error.clone() field="user" />
                <label for="share-label">"Label (optional)"</label>
                <input id="share-label" name="label" aria-describedby="share-label-hint" />
                <p class="hint" id="share-label-hint">"Up to 200 characters, to find the link again."</p>
                <ErrorPlace error=error.clone() field="label" />
                <fieldset class="page-options">
                    <legend>{if folder { "Page options" } else { "Share page options" }}</legend>
                    <p class="hint">{policy}</p>
                    <label for="share-max-downloads">"Download limit (optional)"</label>
                    <input
                        id="share-max-downloads"
                        name="max_downloads"
                        type="number"
                        min="1"
                        inputmode="numeric"
                        aria-describedby="share-max-downloads-hint"
                    />
                    <p class="hint" id="share-max-downloads-hint">
                        "Each download counts, a resumed one too; a folder's zip counts once. Empty: no limit."
                    </p>
                    <ErrorPlace error=error.clone() field="max_downloads" />
                    <label for="share-password">"Password (optional)"</label>
                    <input
                        id="share-password"
                        name="password"
                        type="password"
                        autocomplete="new-password"
                        aria-describedby="share-password-hint"
                    />
                    <p class="hint" id="share-password-hint">
                        "8 to 256 characters, asked before anything is shown. Send it another way than the link."
                    </p>
                    <ErrorPlace error=error.clone() field="password" />
                    <label for="share-note">"Note to the recipient (optional)"</label>
                    <textarea id="share-note" name="note" rows="2" maxlength="2000"></textarea>
                    <ErrorPlace error=error.clone() field="note" />
                </fieldset>
                {folder.then(|| upload_options(&settings, error.clone()))}
                <ErrorPlace
                    error
                    placed=&[
                        "expires",
                        "user",
                        "label",
                        "max_downloads",
                        "password",
                        "note",
                        "max_file_size",
                        "max_total",
                        "max_files",
                        "types",
                        "kind",
                    ]
                />
                <button type="submit" class="primary">"Create link"</button>
            </form>
            {made}
        </section>
    }))
}

/// An upload page's limits, for "Request files" (each may be left empty).
fn upload_options(settings: &domain::settings::Settings, error: Option<AppError>) -> impl IntoView {
    let bytes = domain::links::uploads::human_bytes;
    let mut policy = Vec::new();
    if !settings.upload_pages {
        policy.push("upload pages are turned off (Settings)".to_owned());
    }
    if settings.max_upload_file > 0 {
        policy.push(format!(
            "files of at most {}",
            bytes(settings.max_upload_file)
        ));
    }
    if settings.max_upload_total > 0 {
        policy.push(format!(
            "at most {} in all",
            bytes(settings.max_upload_total)
        ));
    }
    if settings.upload_password {
        policy.push("a password".to_owned());
    }
    let policy = if policy.is_empty() {
        "For upload pages only; the password, note and expiry above apply to them too.".to_owned()
    } else {
        format!(
            "For upload pages only. The sharing policy (Settings): {}.",
            policy.join(", ")
        )
    };
    view! {
        <fieldset class="page-options">
            <legend>"Upload page options"</legend>
            <p class="hint">{policy}</p>
            <label for="share-max-file-size">"Largest file (optional)"</label>
            <input id="share-max-file-size" name="max_file_size" placeholder="e.g. 100 MiB" />
            <ErrorPlace error=error.clone() field="max_file_size" />
            <label for="share-max-total">"All files together (optional)"</label>
            <input id="share-max-total" name="max_total" placeholder="e.g. 2 GiB" />
            <ErrorPlace error=error.clone() field="max_total" />
            <label for="share-max-files">"Number of files (optional)"</label>
            <input id="share-max-files" name="max_files" type="number" min="1" inputmode="numeric" />
            <ErrorPlace error=error.clone() field="max_files" />
            <label for="share-types">"Types taken (optional)"</label>
            <input
                id="share-types"
                name="allow_types"
                placeholder=".pdf, .docx, image/*"
                aria-describedby="share-types-hint"
            />
            <p class="hint" id="share-types-hint">
                "Extensions and media types, separated by commas. Empty: any file."
            </p>
            <ErrorPlace error=error.clone() field="types" />
            <label class="check">
                <input type="checkbox" name="ask_name" value="on" />
                " Ask each sender's name or e-mail address (recorded in the audit)"
            </label>
            <ErrorPlace error=error field="kind" />
        </fieldset>
    }
}

/// The sharing policy in force, in words, for the dialog's page options.
fn policy_words(settings: &domain::settings::Settings, folder: bool) -> String {
    let human = domain::settings::human;
    let mut rules = Vec::new();
    if settings.max_page_secs > 0 {
        rules.push(format!("live at most {}", human(settings.max_page_secs)));
    }
    if folder && settings.folder_password {
        rules.push("need a password (a folder)".to_owned());
    }
    if settings.page_password_after_secs > 0 {
        rules.push(format!(
            "need a password when they live longer than {}",
            human(settings.page_password_after_secs)
        ));
    }
    if rules.is_empty() {
        "Share pages may live any time (type never for no expiry); the options below apply to them only.".to_owned()
    } else {
        format!(
            "The sharing policy (Settings): pages {}. The options below apply to share pages only.",
            rules.join(", and ")
        )
    }
}
