//! What the links pages read and change, through `domain::links` (which audits every change).

use domain::db::Pool;
use domain::links::{self, ListFilter, Scope};

use super::{LinkDetail, LinkQuery, LinkRow, PageFacts, SharedLink};
use crate::auth::ssr::{Admin, admin_origin, session};
use crate::error::AppError;
use crate::error::ssr::domain as domain_error;
use crate::state::app_state;

/// A share link as the console's tables show it.
pub fn link_row(link: domain::links::Link) -> LinkRow {
    LinkRow {
        id: link.id,
        bucket: link.bucket,
        key: link.key,
        method: link.method,
        user: link.user,
        created_at: link.created_at,
        expires_at: link.expires_at,
        state: link.state,
        access_count: link.access_count,
        last_access_at: link.last_access_at,
        label: link.label,
    }
}

/// Rows a links table shows at most.
const SHOWN: u32 = super::PAGE_ROWS;

pub async fn list(pool: &Pool, query: &LinkQuery) -> Result<Vec<LinkRow>, AppError> {
    let text = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let search = query.search.trim().to_lowercase();
    let mut filter = ListFilter {
        all: query.status == "all",
        bucket: text(&query.bucket),
        user: text(&query.user),
        limit: Some(SHOWN),
        after: text(&query.after),
        ..ListFilter::default()
    };
    // Searching reads on, a page of links at a time, until it has a page of matches.
    let mut shown = Vec::new();
    loop {
        let page = links::list(pool, &filter)
            .await
            .map_err(|e| domain_error(e, "bucket"))?;
        let last = page.last().map(|l| l.id.clone());
        let full = page.len() == SHOWN as usize;
        shown.extend(page.into_iter().filter(|l| {
            search.is_empty()
                || l.key.to_lowercase().contains(&search)
                || l.id.contains(&search)
                || l.label
                    .as_deref()
                    .is_some_and(|label| label.to_lowercase().contains(&search))
        }));
        if shown.len() >= SHOWN as usize || !full || search.is_empty() {
            break;
        }
        filter.after = last;
    }
    shown.truncate(SHOWN as usize);
    Ok(shown.into_iter().map(link_row).collect())
}

/// What an upload page takes and what arrived through it (the newest 200), as HTML: each
/// file with its size, who sent it, when, and a link to it in the object browser.
async fn arrivals_html(pool: &Pool, link: &links::Link) -> Result<String, AppError> {
    use crate::components::{encode, escape, human_size, utc};
    let arrived = links::uploads::arrivals(pool, &link.id, 200)
        .await
        .map_err(|e| domain_error(e, "id"))?;
    let t = &link.upload;
    let limit = |n: Option<i64>, show: &dyn Fn(i64) -> String| n.map_or("none".to_owned(), show);
    let bytes = |n: i64| links::uploads::human_bytes(n);
    let mut html = format!(
        "<section class=\"card\" aria-labelledby=\"arrived-title\">\
         <h2 id=\"arrived-title\">What arrived</h2>\
         <p class=\"hint\">Files land in s3://{bucket}/{prefix}DATE/ under their own names; \
         nothing sent here replaces an object. Largest file: {file}; in all: {total} \
         ({taken} taken); files: {files} ({count} taken); types: {types}; \
         uploader's name: {ask}.</p>",
        bucket = escape(&link.bucket),
        prefix = escape(&link.key),
        file = limit(t.max_file, &bytes),
        total = limit(t.max_total, &bytes),
        taken = bytes(t.bytes),
        files = limit(t.max_files, &|n| n.to_string()),
        count = t.files,
        types = escape(t.types.as_deref().unwrap_or("any")),
        ask = if t.ask_name { "asked" } else { "optional" },
    );
    if arrived.is_empty() {
        html.push_str("<p>Nothing yet.</p></section>");
        return Ok(html);
    }
    html.push_str(
        "<div class=\"table-wrap\"><table><thead><tr><th>File</th><th>Size</th>\
         <th>From</th><th>Arrived (UTC)</th></tr></thead><tbody>",
    );
    for a in &arrived {
        let folder = a.key.rfind('/').map_or("", |slash| &a.key[..=slash]);
        html.push_str(&format!(
            "<tr><td><a href=\"/buckets/{bucket}?prefix={folder}&amp;details={key}\">{name}</a></td>\
             <td>{size}</td><td>{from}</td><td>{when}</td></tr>",
            bucket = encode(&a.bucket),
            folder = encode(folder),
            key = encode(&a.key),
            name = escape(&a.key[link.key.len().min(a.key.len())..]),
            size = human_size(a.size),
            from = escape(&format!(
                "{} ({})",
                a.uploader.as_deref().unwrap_or("no name given"),
                a.client_ip.as_deref().unwrap_or("-")
            )),
            when = utc(a.completed_at.unwrap_or(a.started_at)),
        ));
    }
    html.push_str("</tbody></table></div></section>");
    Ok(html)
}

pub async fn detail(pool: &Pool, id: &str) -> Result<LinkDetail, AppError> {
    let link = links::get(pool, id)
        .await
        .map_err(|e| domain_error(e, "id"))?;
    let filter = domain::audit::Filter {
        link: Some(id.to_owned()),
        ..domain::audit::Filter::default()
    };
    let events = domain::audit::query(pool, &filter, None, 200)
        .await
        .map_err(|e| domain_error(e, "id"))?;
    let state = app_state()?;
    let url = links::url_again(pool, &state.master, &state.settings.get(), id)
        .await
        .map_err(|e| domain_error(e, "id"))?;
    let (depends, stops_by) = dependencies(pool, &link).await?;
    let arrivals = if link.is_upload() {
        Some(arrivals_html(pool, &link).await?)
    } else {
        None
    };
    let page = (link.kind == links::LinkKind::Page).then(|| PageFacts {
        arrivals,
        folder: link.is_folder(),
        max_downloads: link.max_downloads,
        downloads: link.downloads,
        password: link.password,
        note: link.note.clone(),
    });
    Ok(LinkDetail {
        qr_svg: url
            .as_deref()
            .filter(|_| link.method == "GET")
            .map(qr_svg)
            .unwrap_or_default(),
        url,
        depends,
        stops_by,
        page,
        webhook: super::webhook::ssr::panel(pool, Some(id), Default::default()).await?,
        bytes_served: link.bytes_served,
        created_by: link.created_by.clone(),
        revoked_at: link.revoked_at,
        revoked_by: link.revoked_by.clone(),
        link: link_row(link),
        events: events
            .into_iter()
            .map(crate::audit::ssr::event_view)
            .collect(),
    })
}

/// What `link` needs to keep working, in words, and when it stops at the latest: its signer,
/// the grants that let it do what it does, a pre-signed URL's access key, its own expiry and
/// download limit.
async fn dependencies(
    pool: &Pool,
    link: &links::Link,
) -> Result<(Vec<(String, String)>, Option<i64>), AppError> {
    let fail = |e| domain_error(e, "id");
    let now = domain::now_unix();
    let when = |at: i64| crate::components::utc(at);
    let mut depends = Vec::new();
    let mut ends: Vec<i64> = Vec::new();
    let Some(user) = link.user.as_deref() else {
        depends.push((
            "Its user".to_owned(),
            "deleted: it no longer works".to_owned(),
        ));
        return Ok((depends, None));
    };
    let signer = domain::users::get(pool, user).await.map_err(fail)?;
    depends.push((
        format!("User {user}"),
        format!("{} (disabling or deleting them stops it)", signer.status),
    ));
    let need = if link.method == "PUT" {
        links::Method::Put.need()
    } else {
        links::Method::Get.need()
    };
    let covering: Vec<domain::grants::Grant> = domain::grants::of_user_on(pool, user, &link.bucket)
        .await
        .map_err(fail)?
        .into_iter()
        .filter(|g| g.permission.allows(need) && g.covers(&link.key, now))
        .collect();
    if covering.is_empty() {
        depends.push((
            "A grant".to_owned(),
            format!(
                "none lets {user} do this on s3://{}/{} now",
                link.bucket, link.key
            ),
        ));
    }
    for grant in &covering {
        let place = if grant.prefix.is_empty() {
            format!("all of {}", grant.bucket)
        } else {
            format!("{}/{}", grant.bucket, grant.prefix)
        };
        let until = grant.expires_at.map_or("no expiry".to_owned(), |at| {
            format!("until {} UTC", when(at))
        });
        depends.push((format!("{} grant on {place}", grant.permission), until));
    }
    // The link lives while any covering grant does.
    if !covering.is_empty() && covering.iter().all(|g| g.expires_at.is_some()) {
        ends.extend(covering.iter().filter_map(|g| g.expires_at).max());
    }
    if link.kind == links::LinkKind::Presigned {
        let key = links_key(pool, &link.access_key_id).await?;
        depends.push((format!("Access key {}", link.access_key_id), key.0));
        ends.extend(key.1);
    }
    if link.expires_at == links::pages::NEVER {
        depends.push(("Its own expiry".to_owned(), "never".to_owned()));
    } else {
        depends.push((
            "Its own expiry".to_owned(),
            format!("{} UTC", when(link.expires_at)),
        ));
        ends.push(link.expires_at);
    }
    if let Some(max) = link.max_downloads {
        depends.push((
            "Its download limit".to_owned(),
            format!("{} of {max} used", link.downloads),
        ));
    }
    Ok((depends, ends.into_iter().min()))
}

/// A pre-signed URL's access key, in words, and its expiry.
async fn links_key(pool: &Pool, id: &str) -> Result<(String, Option<i64>), AppError> {
    let Ok(id) = id.parse::<domain::secrets::AccessKeyId>() else {
        return Ok(("unknown".to_owned(), None));
    };
    match domain::users::keys::get(pool, &id).await {
        Ok(key) => {
            let until = key.expires_at.map_or(String::new(), |at| {
                format!(", until {} UTC", crate::components::utc(at))
            });
            Ok((format!("{}{until}", key.status), key.expires_at))
        }
        Err(domain::Error::NotFound { .. }) => Ok(("deleted: it no longer works".to_owned(), None)),
        Err(e) => Err(domain_error(e, "id")),
    }
}

/// A refused page as its forms show it: at the field the domain named (`otherwise` when it
/// names none of them).
fn page_error(e: domain::Error, otherwise: &'static str) -> AppError {
    let field = match &e {
        domain::Error::Invalid { field, .. } => match *field {
            "expiry" => "expires",
            "max downloads" => "max_downloads",
            "object" => "key",
            "label" => "label",
            "note" => "note",
            "password" => "password",
            "max file size" => "max_file_size",
            "max total" => "max_total",
            "max files" => "max_files",
            "types" => "types",
            "kind" => "kind",
            _ => otherwise,
        },
        _ => otherwise,
    };
    domain_error(e, field)
}

/// A page's download limit as its forms give it: empty for none, else a whole number from 1.
fn download_limit(text: &str) -> Result<Option<i64>, AppError> {
    match text.trim() {
        "" => Ok(None),
        text => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .map(Some)
            .ok_or_else(|| {
                AppError::invalid(
                    "max_downloads",
                    "A whole number from 1, or empty for no limit.",
                )
            }),
    }
}

/// Changes share page `id` from the link page's form.
pub async fn update_page(
    admin: &Admin,
    id: &str,
    expires: &str,
    max_downloads: &str,
    password: zeroize::Zeroizing<String>,
    remove_password: bool,
) -> Result<String, AppError> {
    let state = app_state()?;
    let origin = admin_origin(&admin.name).await;
    let link = links::get(&state.pool, id)
        .await
        .map_err(|e| domain_error(e, "id"))?;
    let lifetime = match expires.trim() {
        "" => None,
        text if text.eq_ignore_ascii_case("never") => Some(None),
        text => Some(Some(humantime::parse_duration(text).map_err(|_| {
            AppError::invalid("expires", "Give a duration like 1h, 7d or 30d, or never.")
        })?)),
    };
    let limit = download_limit(max_downloads)?;
    let change = links::pages::Update {
        lifetime,
        max_downloads: (limit != link.max_downloads).then_some(limit),
        password: if remove_password {
            Some(None)
        } else if password.is_empty() {
            None
        } else {
            Some(Some(password))
        },
    };
    if change.lifetime.is_none() && change.max_downloads.is_none() && change.password.is_none() {
        return Err(AppError::invalid(
            "expires",
            "Nothing to change: every field is as it was.",
        ));
    }
    links::pages::update(&state.pool, id, change, &state.settings.get(), &origin)
        .await
        .map_err(|e| page_error(e, "password"))?;
    Ok("Saved: the page works as shown above, at the same address.".to_owned())
}

pub async fn revoke(
    admin: &Admin,
    id: Option<&str>,
    scope: Option<&str>,
    confirmed: bool,
) -> Result<String, AppError> {
    let state = app_state()?;
    let origin = admin_origin(&admin.name).await;
    let scope = match (id, scope) {
        (Some(id), _) => Scope::Link(id.to_owned()),
        (None, Some(scope)) if !confirmed => {
            let _ = scope;
            return Err(AppError::invalid(
                "confirm",
                "Tick the confirmation box to go on.",
            ));
        }
        (None, Some(scope)) => match scope.split_once(':') {
            Some(("bucket", name)) => Scope::Bucket(name.to_owned()),
            Some(("user", name)) => Scope::User(name.to_owned()),
            _ => return Err(AppError::invalid("scope", "Unknown set of links.")),
        },
        (None, None) => return Err(AppError::invalid("id", "Say which link to revoke.")),
    };
    let revoked = links::revoke_many(&state.pool, &scope, &origin)
        .await
        .map_err(|e| domain_error(e, "scope"))?;
    Ok(match revoked.len() {
        0 => "No live link to revoke: nothing changed.".to_owned(),
        1 => format!("Revoked link {}.", revoked[0]),
        n => format!("Revoked {n} links."),
    })
}

#[allow(clippy::too_many_arguments)] // one per form field
pub async fn create(
    admin: &Admin,
    bucket: &str,
    key: &str,
    user: &str,
    expires: &str,
    method: &str,
    label: &str,
    page: &PageOptions,
) -> Result<SharedLink, AppError> {
    if method == "UPLOAD" || method == "PAGE" || links::pages::is_folder(key) {
        let upload = method == "UPLOAD";
        return create_page(admin, bucket, key, user, expires, label, page, upload).await;
    }
    let state = app_state()?;
    let origin = admin_origin(&admin.name).await;
    let lifetime = humantime::parse_duration(expires.trim())
        .map_err(|_| AppError::invalid("expires", "Give a duration like 15m, 1h, 1d or 7d."))?;
    let method = match method {
        "PUT" => links::Method::Put,
        _ => links::Method::Get,
    };
    if lifetime < MIN_CONSOLE_LIFETIME {
        return Err(AppError::invalid(
            "expires",
            "A link from the console lives at least 1 minute: long enough to send and open.",
        ));
    }
    if user.is_empty() {
        return Err(AppError::invalid(
            "user",
            "Choose who the link is signed as.",
        ));
    }
    // A download link to nothing would only ever answer NoSuchKey: said now, not by the
    // recipient. (An upload link names an object that does not exist yet.)
    if method == links::Method::Get {
        let found = state
            .store
            .object(bucket, key)
            .await
            .map_err(|e| crate::error::ssr::domain(e, "key"))?;
        if found.is_none() {
            return Err(AppError::NotFound {
                message: format!("s3://{bucket}/{key} does not exist: upload it first."),
            });
        }
    }
    let issued = links::issue(
        &state.pool,
        &state.master,
        &state.settings.get(),
        links::Request {
            bucket,
            key,
            method,
            user,
            lifetime,
            label: Some(label),
        },
        &origin,
    )
    .await
    .map_err(|e| match &e {
        domain::Error::Invalid {
            field: "expiry", ..
        } => domain_error(e, "expires"),
        domain::Error::Invalid { field: "label", .. } => domain_error(e, "label"),
        _ => domain_error(e, "user"),
    })?;
    let shared = SharedLink {
        qr_svg: if method == links::Method::Get {
            qr_svg(&issued.url)
        } else {
            String::new()
        },
        id: issued.link.id,
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        expires_at: issued.link.expires_at,
        method: method.as_str().to_owned(),
        url: issued.url,
    };
    keep_for_plain_post(shared).await
}

/// A link made by a plain form post waits in the session until its dialog shows it.
async fn keep_for_plain_post(shared: SharedLink) -> Result<SharedLink, AppError> {
    keep_once(SHARED_LINK, &shared).await?;
    Ok(shared)
}

/// Keeps `value` (sealed) in the session under `entry` when the current request is a plain
/// form post: the page the browser is sent back to shows it once ([`take_once`]). A hydrated
/// console gets it in the answer instead.
pub async fn keep_once<T: serde::Serialize>(entry: &str, value: &T) -> Result<(), AppError> {
    if plain_form_post() {
        let session = session().await?;
        session.remove::<String>(&shown_to(entry)).await?;
        crate::auth::ssr::insert_sealed(&session, entry, value).await?;
    }
    Ok(())
}

/// A share page's options as the dialog posts them (each may be left empty).
#[derive(Debug, Default)]
pub struct PageOptions {
    pub max_downloads: String,
    pub password: zeroize::Zeroizing<String>,
    pub note: String,
    /// An upload page's limits (sizes as text, `100 MiB`), types and whether it asks names.
    pub max_file_size: String,
    pub max_total: String,
    pub max_files: String,
    pub allow_types: String,
    pub ask_name: bool,
}

/// Makes a share page of `bucket`/`key` (a folder when the key ends with `/`), or with
/// `upload` an upload page into that folder, acting as `user`, for `expires` (a duration, or
/// `never`), under the sharing policy in force.
#[allow(clippy::too_many_arguments)] // one per form field
async fn create_page(
    admin: &Admin,
    bucket: &str,
    key: &str,
    user: &str,
    expires: &str,
    label: &str,
    options: &PageOptions,
    upload: bool,
) -> Result<SharedLink, AppError> {
    let state = app_state()?;
    let origin = admin_origin(&admin.name).await;
    let lifetime = match expires.trim() {
        text if text.eq_ignore_ascii_case("never") => None,
        text => {
            let lifetime = humantime::parse_duration(text).map_err(|_| {
                AppError::invalid("expires", "Give a duration like 1h, 7d or 30d, or never.")
            })?;
            if lifetime < MIN_CONSOLE_LIFETIME {
                return Err(AppError::invalid(
                    "expires",
                    "A link from the console lives at least 1 minute: long enough to send and open.",
                ));
            }
            Some(lifetime)
        }
    };
    if user.is_empty() {
        return Err(AppError::invalid("user", "Choose who the page acts as."));
    }
    let max_downloads = download_limit(&options.max_downloads)?;
    if !links::pages::is_folder(key)
        && state
            .store
            .object(bucket, key)
            .await
            .map_err(|e| crate::error::ssr::domain(e, "key"))?
            .is_none()
    {
        return Err(AppError::NotFound {
            message: format!("s3://{bucket}/{key} does not exist: upload it first."),
        });
    }
    let password = (!options.password.is_empty()).then(|| options.password.clone());
    let settings = state.settings.get();
    let size = |field: &'static str, text: &str| -> Result<Option<i64>, AppError> {
        match text.trim() {
            "" => Ok(None),
            text => links::uploads::parse_size(text)
                .filter(|&n| n > 0)
                .map(Some)
                .ok_or_else(|| {
                    AppError::invalid(
                        field,
                        "Give a size like 100 MiB or 2 GiB, or leave it empty.",
                    )
                }),
        }
    };
    let rules = if upload {
        Some(links::uploads::Rules {
            max_file: size("max_file_size", &options.max_file_size)?,
            max_total: size("max_total", &options.max_total)?,
            max_files: match options.max_files.trim() {
                "" => None,
                text => Some(text.parse::<i64>().ok().filter(|&n| n > 0).ok_or_else(|| {
                    AppError::invalid(
                        "max_files",
                        "Give a whole number of files, or leave it empty.",
                    )
                })?),
            },
            types: Some(options.allow_types.as_str()),
            ask_name: options.ask_name,
        })
    } else {
        None
    };
    let created = links::pages::create(
        &state.pool,
        links::pages::NewPage {
            bucket,
            key,
            user,
            lifetime,
            max_downloads,
            password,
            note: Some(options.note.as_str()),
            label: Some(label),
            upload: rules,
        },
        &settings,
        &origin,
    )
    .await
    .map_err(|e| page_error(e, "user"))?;
    let url = format!(
        "{}/s/{}",
        settings.public_s3_url.trim_end_matches('/'),
        created.token
    );
    let shared = SharedLink {
        qr_svg: qr_svg(&url),
        id: created.link.id,
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        expires_at: created.link.expires_at,
        method: if upload { "UPLOAD" } else { "PAGE" }.to_owned(),
        url,
    };
    keep_for_plain_post(shared).await
}

/// The shortest link the share dialog makes (the CLI, for scripts and tests, goes down to 1 s).
const MIN_CONSOLE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(60);

/// The session entry holding a link made by a plain form post until its dialog shows it.
const SHARED_LINK: &str = "shared_link";

/// The session entry naming the request that showed what `entry` kept.
fn shown_to(entry: &str) -> String {
    format!("{entry}_shown_to")
}

/// Whether the current request is a form posted without JavaScript (it accepts HTML, as a
/// navigation does; the hydrated console asks for data).
fn plain_form_post() -> bool {
    leptos::prelude::use_context::<http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    })
}

/// The link made by a plain form post for this dialog, once (see [`take_once`]).
pub async fn take_shared(bucket: &str, key: &str) -> Result<Option<SharedLink>, AppError> {
    take_once(SHARED_LINK, |link: &SharedLink| {
        link.bucket == bucket && link.key == key
    })
    .await
}

/// What [`keep_once`] kept under `entry`, if `wanted`, once: the first page render that asks
/// takes it (a render may ask more than once; it is the request id that may see it again).
pub async fn take_once<T: serde::de::DeserializeOwned>(
    entry: &str,
    wanted: impl Fn(&T) -> bool,
) -> Result<Option<T>, AppError> {
    let session = session().await?;
    let Some(value) = crate::auth::ssr::get_sealed::<T>(&session, entry).await? else {
        return Ok(None);
    };
    if !wanted(&value) {
        return Ok(None);
    }
    let request = request_id().unwrap_or_default();
    let shown_to = shown_to(entry);
    match session.get::<String>(&shown_to).await? {
        None => {
            session.insert(&shown_to, &request).await?;
            Ok(Some(value))
        }
        Some(seen) if seen == request && !request.is_empty() => Ok(Some(value)),
        Some(_) => {
            session.remove_value(entry).await?;
            session.remove::<String>(&shown_to).await?;
            Ok(None)
        }
    }
}

/// This request's id (`x-request-id`, set by the server for every request).
fn request_id() -> Option<String> {
    leptos::prelude::use_context::<http::request::Parts>().and_then(|parts| {
        parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    })
}

/// The URL as a QR code, an SVG drawing (empty if it is too long to encode).
fn qr_svg(url: &str) -> String {
    qrcode::QrCode::new(url.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
}

pub async fn signers(
    pool: &Pool,
    bucket: &str,
    key: &str,
    method: &str,
) -> Result<Vec<String>, AppError> {
    let need = if method == "PUT" {
        domain::grants::Need::Write
    } else {
        domain::grants::Need::Read
    };
    let mut allowed = Vec::new();
    for grant in domain::grants::list(pool, None, Some(bucket))
        .await
        .map_err(|e| domain_error(e, "bucket"))?
    {
        if allowed.contains(&grant.user) {
            continue;
        }
        let usable = domain::users::get(pool, &grant.user)
            .await
            .is_ok_and(|u| u.status == domain::users::UserStatus::Active);
        if usable
            && domain::grants::allows(pool, &grant.user, bucket, key, need)
                .await
                .map_err(|e| domain_error(e, "user"))?
        {
            allowed.push(grant.user);
        }
    }
    Ok(allowed)
}
