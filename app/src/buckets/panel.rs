//! The object browser's side panel, rendered on the server as a [`Fragment`]: one object's
//! details (`?details=KEY`), or the objects ticked in a folder (`?do=delete|share&key=…`) with
//! the form that deletes or shares them, and then what that did.
//!
//! [`Fragment`]: crate::fragment::Fragment

use leptos::prelude::*;

use super::{DeleteObjects, ObjectShown, Picked, Preview, ShareObjects, download_href, human_size};
use crate::components::{ConfirmField, CopyButton, Time, encode, live_links};
use crate::fragment::{ErrorPlace, render};
use crate::links::{ExpiryField, LinkLimits, SharedLink};
use leptos::server_fn::ServerFn;

/// The folder a panel belongs to: where its Close link goes back to.
#[derive(Debug, Clone)]
pub struct Place {
    pub bucket: String,
    pub prefix: String,
}

impl Place {
    fn base(&self) -> String {
        format!("/buckets/{}", encode(&self.bucket))
    }

    fn close(&self) -> String {
        format!("{}?prefix={}", self.base(), encode(&self.prefix))
    }
}

/// The panel's frame: title, Close, and `body`.
fn frame(place: &Place, title: String, body: impl IntoView + 'static) -> String {
    let close = place.close();
    render(view! {
        <aside class="card panel" aria-labelledby="panel-title">
            <div class="panel-head">
                <h2 id="panel-title">{title}</h2>
                <a href=close class="button">"Close"</a>
            </div>
            {body}
        </aside>
    })
}

/// One object's details: a preview for the types [`Preview`] allows, its size, type, ETag,
/// modification time, user metadata and live links; download, share, delete.
pub fn details(place: &Place, shown: ObjectShown) -> String {
    let base = place.base();
    let info = shown.info;
    let name = info.key.rsplit('/').next().unwrap_or_default().to_owned();
    let file = download_href(&place.bucket, &info.key);
    let inline = format!("{file}&inline=1");
    let what = format!("Preview of {name}");
    let preview = match Preview::of(info.content_type.as_deref()) {
        Some(Preview::Image) => view! { <img src=inline alt=what /> }.into_any(),
        Some(Preview::Audio) => {
            view! { <audio controls preload="metadata" src=inline aria-label=what></audio> }
                .into_any()
        }
        Some(Preview::Video) => {
            view! { <video controls preload="metadata" src=inline aria-label=what></video> }
                .into_any()
        }
        Some(Preview::Pdf) => view! { <iframe src=inline title=what></iframe> }.into_any(),
        Some(Preview::Text) => view! {
            <pre class="preview-text" aria-label=what>{shown.text.unwrap_or_default()}</pre>
            {shown
                .truncated
                .then(|| view! { <p class="hint">"The first 64 KiB; download it for the rest."</p> })}
        }
        .into_any(),
        None => view! { <p class="hint">"No preview for this type."</p> }.into_any(),
    };
    let share = format!("{base}/share?key={}", encode(&info.key));
    let delete = format!(
        "{base}?prefix={}&do=delete&key={}",
        encode(&place.prefix),
        encode(&info.key),
    );
    let body = view! {
        <div class="preview">{preview}</div>
        <dl class="facts">
            <dt>"Key"</dt>
            <dd>{info.key.clone()}</dd>
            <dt>"Size"</dt>
            <dd>{human_size(info.size)} " (" {info.size} " bytes)"</dd>
            <dt>"Type"</dt>
            <dd>{info.content_type.clone().unwrap_or_else(|| "-".into())}</dd>
            <dt>"ETag"</dt>
            <dd class="mono">{info.etag.clone()}</dd>
            <dt>"Modified"</dt>
            <dd>
                <Time at=info.last_modified />
            </dd>
            <dt>"Share links"</dt>
            <dd>{live_links(info.live_links)}</dd>
            {info
                .metadata
                .into_iter()
                .map(|(k, v)| view! { <dt>{format!("x-amz-meta-{k}")}</dt> <dd>{v}</dd> })
                .collect_view()}
        </dl>
        <p class="row-actions">
            <a class="button primary" href=file download="" rel="external">"Download"</a>
            <a class="button" href=share>"Share"</a>
            <a class="button danger" href=delete>"Delete…"</a>
        </p>
    };
    frame(place, name, body)
}

/// The objects ticked in a folder, to delete (saying how many live links that stops) or to
/// share (one download link each, alike), with the form that does it.
pub fn selected(
    place: &Place,
    csrf: String,
    picked: Picked,
    limits: LinkLimits,
    sharing: bool,
) -> String {
    let title = if sharing {
        "Share the ticked objects"
    } else {
        "Delete the ticked objects"
    };
    let keys: Vec<String> = picked.objects.iter().map(|o| o.key.clone()).collect();
    let keys_json = serde_json::to_string(&keys).unwrap_or_default();
    let count = keys.len();
    let stops: i64 = picked.objects.iter().map(|o| o.live_links).sum();
    let missing = (!picked.missing.is_empty()).then(|| {
        view! { <p class="hint">"Not there any more: " {picked.missing.join(", ")}</p> }
    });
    let objects = if count == 1 {
        "1 object".to_owned()
    } else {
        format!("{count} objects")
    };
    if count == 0 {
        let body = view! {
            {missing}
            <p class="empty">"None of them is there any more."</p>
        };
        return frame(place, title.to_owned(), body);
    }
    let table = view! {
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Object"</th>
                        <th scope="col">"Size"</th>
                        <th scope="col">"Live share links"</th>
                    </tr>
                </thead>
                <tbody>
                    {picked
                        .objects
                        .into_iter()
                        .map(|o| view! {
                            <tr>
                                <td>{o.key}</td>
                                <td>{human_size(o.size)}</td>
                                <td>{o.live_links}</td>
                            </tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    };
    // What every form of the panel sends besides its own fields.
    let hidden = view! {
        <input type="hidden" name="csrf" value=csrf />
        <input type="hidden" name="bucket" value=place.bucket.clone() />
        <input type="hidden" name="prefix" value=place.prefix.clone() />
        <input type="hidden" name="keys" value=keys_json />
    };
    let form = if sharing {
        let none = picked.signers.is_empty();
        let error = crate::form::posted_error(ShareObjects::PATH);
        view! {
            <form method="post" action=ShareObjects::PATH>
                {hidden}
                <input type="hidden" name="label" value="" />
                <ExpiryField limits />
                <ErrorPlace error=error.clone() field="expires" />
                <label for="share-user">"Sign as"</label>
                <select id="share-user" name="user" required>
                    {none.then(|| view! {
                        <option value="" disabled=true selected=true>
                            "Nobody may read all of them: grant a user first"
                        </option>
                    })}
                    {picked
                        .signers
                        .into_iter()
                        .map(|u| view! { <option value=u.clone()>{u.clone()}</option> })
                        .collect_view()}
                </select>
                <ErrorPlace error=error.clone() field="user" />
                <ErrorPlace error placed=&["expires", "user"] />
                <button type="submit" class="primary">{format!("Create {count} links")}</button>
            </form>
        }
        .into_any()
    } else {
        let text = if stops > 0 {
            format!(
                "Delete {objects} for good. This stops {}.",
                live_links(stops)
            )
        } else {
            format!("Delete {objects} for good")
        };
        view! {
            <form method="post" action=DeleteObjects::PATH data-changes="">
                {hidden}
                <ConfirmField id="confirm-delete-selected".to_owned() text />
                <button type="submit" class="danger">{format!("Delete {objects}")}</button>
                <ErrorPlace error=crate::form::posted_error(DeleteObjects::PATH) />
            </form>
        }
        .into_any()
    };
    frame(place, title.to_owned(), view! { {missing} {table} {form} })
}

/// What deleting the ticked objects did, in words.
pub fn deleted(place: &Place, done: String) -> String {
    let body = view! { <p class="success" role="status">{done}</p> };
    frame(place, "Delete the ticked objects".to_owned(), body)
}

/// The links made for the ticked objects, each with a copy button, and one for all.
pub fn shared(place: &Place, links: Vec<SharedLink>) -> String {
    let all = links
        .iter()
        .map(|l| l.url.clone())
        .collect::<Vec<_>>()
        .join("\n");
    let body = view! {
        <div class="shared" role="status">
            <h3>{format!("{} links ready", links.len())}</h3>
            <CopyButton text=all label="Copy all links" />
            <ul class="link-list">
                {links
                    .into_iter()
                    .map(|l| {
                        let field = format!("link-{}", l.id);
                        view! {
                            <li>
                                <label for=field.clone()>{l.key}</label>
                                <input id=field readonly value=l.url.clone() class="url" />
                                <CopyButton text=l.url label="Copy link" />
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </div>
    };
    frame(place, "Share the ticked objects".to_owned(), body)
}
