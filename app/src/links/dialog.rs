//! The share dialog of one object, rendered on the server as a [`Fragment`]: the form that
//! issues a link (kind, lifetime, who signs it, label) and, once made, the link with its copy
//! button and QR code.
//!
//! [`Fragment`]: crate::fragment::Fragment

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::{ExpiryField, LinkUrl, ShareLink, SharedLink};
use crate::components::Time;
use crate::error::AppError;
use crate::fragment::{ErrorPlace, render};

/// The dialog for `bucket`/`key`, with the link just `made` there, if any.
pub async fn dialog(bucket: &str, key: &str, made: Option<SharedLink>) -> Result<String, AppError> {
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
        view! {
            <div class="shared" role="status">
                <h3>"Link ready"</h3>
                <LinkUrl url=link.url method=link.method qr_svg=link.qr_svg focus=true />
                <p>
                    "Works until " <Time at=link.expires_at /> ". "
                    <a href=format!("/links/{}", link.id)>"See its accesses"</a>
                </p>
            </div>
        }
    });
    Ok(render(view! {
        <section class="card share" aria-labelledby="share-title">
            <h2 id="share-title">"Share " {key.to_owned()}</h2>
            <form method="post" action=ShareLink::PATH>
                <input type="hidden" name="csrf" value=csrf />
                <input type="hidden" name="bucket" value=bucket.to_owned() />
                <input type="hidden" name="key" value=key.to_owned() />
                <fieldset>
                    <legend>"Kind"</legend>
                    <label class="check">
                        <input type="radio" name="method" value="GET" checked=true />
                        " Download"
                    </label>
                    <label class="check">
                        <input type="radio" name="method" value="PUT" />
                        " Upload only (replaces the object)"
                    </label>
                </fieldset>
                <ExpiryField limits />
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
                <ErrorPlace error placed=&["expires", "user", "label"] />
                <button type="submit" class="primary">"Create link"</button>
            </form>
            {made}
        </section>
    }))
}
