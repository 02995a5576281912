//! The object browser's folder, rendered on the server as a [`Fragment`]: breadcrumbs, the
//! New folder form, a box per object for the selection form, the rows (a name downloads;
//! Details, Share and Delete… open their panel or page) and the way to the next page.
//!
//! [`Fragment`]: crate::fragment::Fragment

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::{CreateFolder, Listing, download_href};
use crate::components::encode;
use crate::components::{escape, human_size};
use crate::error::AppError;
use crate::fragment::{ErrorPlace, render};

/// The folder `prefix` of `bucket`, the page of it from `after`, with `done` (what the New
/// folder form did) above it.
pub async fn folder(
    bucket: &str,
    prefix: &str,
    after: &str,
    done: Option<String>,
) -> Result<String, AppError> {
    let csrf = crate::auth::ssr::current_csrf_token().await?;
    let listing = super::ssr::view(bucket, "objects", prefix, after)
        .await?
        .listing;
    let base = format!("/buckets/{}", encode(bucket));
    let href = |prefix: &str| format!("{base}?prefix={}", encode(prefix));
    // Breadcrumbs: the bucket, then each folder of the prefix.
    let mut crumbs = vec![(bucket.to_owned(), String::new())];
    let mut acc = String::new();
    for part in prefix.split('/').filter(|p| !p.is_empty()) {
        acc.push_str(part);
        acc.push('/');
        crumbs.push((part.to_owned(), acc.clone()));
    }
    let crumbs = crumbs
        .into_iter()
        .map(|(label, p)| view! { <a href=href(&p)>{label}</a> " / " })
        .collect_view();
    let error = crate::form::posted_error(CreateFolder::PATH);
    let opened = error.is_some();
    let empty = listing.folders.is_empty() && listing.objects.is_empty();
    let next = listing
        .next
        .clone()
        .map(|after| format!("{}&after={}", href(prefix), encode(&after)));
    let table = if empty {
        view! { <p class="empty">"Nothing here yet."</p> }.into_any()
    } else {
        let rows = rows(bucket, prefix, &listing);
        view! {
            // The rows' boxes belong to this form (`form="selection"`): it opens the side
            // panel for the objects ticked.
            <form id="selection" method="get" action=base.clone() class="selection-bar">
                <input type="hidden" name="prefix" value=prefix.to_owned() />
                <button type="submit" name="do" value="share">"Share ticked…"</button>
                <button type="submit" name="do" value="delete" class="danger">"Delete ticked…"</button>
            </form>
            <div class="table-wrap">
                <table>
                    <thead>
                        <tr>
                            <th scope="col" class="pick">
                                <span class="visually-hidden">"Selected"</span>
                            </th>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Size"</th>
                            <th scope="col">"Type"</th>
                            <th scope="col">"Modified"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody inner_html=rows></tbody>
                </table>
            </div>
        }
        .into_any()
    };
    Ok(render(view! {
        <nav class="crumbs" aria-label="Folder">{crumbs}</nav>
        <details class="new-folder" open=opened>
            <summary class="button">"New folder…"</summary>
            <form method="post" action=CreateFolder::PATH class="inline-form">
                <input type="hidden" name="csrf" value=csrf />
                <input type="hidden" name="bucket" value=bucket.to_owned() />
                <input type="hidden" name="prefix" value=prefix.to_owned() />
                <div class="field">
                    <label for="folder-name">"Folder name"</label>
                    <input id="folder-name" name="name" required autocomplete="off" />
                </div>
                <button type="submit">"Create folder"</button>
                <ErrorPlace error=error.clone() field="name" />
                <ErrorPlace error placed=&["name"] />
            </form>
        </details>
        {done.map(|done| view! { <p class="success" role="status">{done}</p> })}
        {table}
        {next.map(|href| view! { <nav class="pager" aria-label="Pages"><a href=href>"Next page"</a></nav> })}
    }))
}

/// The folder's rows as HTML, built as one string (a page holds up to a hundred): its
/// folders, then its objects.
fn rows(bucket: &str, prefix: &str, listing: &Listing) -> String {
    let base = format!("/buckets/{}", encode(bucket));
    let at = encode(prefix);
    let mut html = String::new();
    for folder in &listing.folders {
        let label = escape(&folder[prefix.len()..]);
        html.push_str(&format!(
            "<tr><td class=\"pick\"></td><td><a href=\"{base}?prefix={key}\">📁 {label}</a></td>\
             <td>-</td><td>folder</td><td>-</td><td class=\"row-actions\">\
             <a class=\"button\" href=\"{base}/share?key={key}\" aria-label=\"Share folder {label}\">\
             Share folder</a> <a class=\"button\" href=\"{base}/share?key={key}&amp;kind=upload\" \
             aria-label=\"Request files into {label}\">Request files</a></td></tr>",
            key = encode(folder)
        ));
    }
    for o in &listing.objects {
        let label = escape(&o.key[prefix.len()..]);
        let (key, value) = (encode(&o.key), escape(&o.key));
        let time = crate::components::utc(o.last_modified);
        let (date, clock) = time.split_once(' ').unwrap_or((time.as_str(), ""));
        html.push_str(&format!(
            "<tr><td class=\"pick\"><input type=\"checkbox\" name=\"key\" value=\"{value}\" \
             form=\"selection\" aria-label=\"Select {label}\"></td>\
             <td><a href=\"{download}\" download=\"\" rel=\"external\" title=\"Download {label}\">{label}</a></td>\
             <td>{size}</td><td>{kind}</td>\
             <td><time datetime=\"{date}T{clock}Z\"><span class=\"nowrap\">{date}</span> \
             <span class=\"nowrap\">{clock} UTC</span></time></td>\
             <td class=\"row-actions\">\
             <a class=\"button\" href=\"{base}?prefix={at}&amp;details={key}\" aria-label=\"Details of {label}\">Details</a>\
             <a class=\"button\" href=\"{base}/share?key={key}\" aria-label=\"Share {label}\">Share</a>\
             <a class=\"button danger\" href=\"{base}?prefix={at}&amp;do=delete&amp;key={key}\" \
             aria-label=\"Delete {label}…\">Delete…</a></td></tr>",
            download = escape(&download_href(bucket, &o.key)),
            size = human_size(o.size),
            kind = escape(o.content_type.as_deref().unwrap_or("-")),
        ));
    }
    html
}
