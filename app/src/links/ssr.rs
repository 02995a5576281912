//! What the links pages read and change, through `domain::links` (which audits every change).

use domain::db::Pool;
use domain::links::{self, ListFilter, Scope};

use super::{LinkDetail, LinkQuery, LinkRow, SharedLink};
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
const SHOWN: u32 = 200;

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
    Ok(LinkDetail {
        qr_svg: url
            .as_deref()
            .filter(|_| link.method == "GET")
            .map(qr_svg)
            .unwrap_or_default(),
        url,
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

pub async fn create(
    admin: &Admin,
    bucket: &str,
    key: &str,
    user: &str,
    expires: &str,
    method: &str,
    label: &str,
) -> Result<SharedLink, AppError> {
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
    if plain_form_post() {
        let session = session().await?;
        session.remove::<String>(SHARED_LINK_SHOWN_TO).await?;
        crate::auth::ssr::insert_sealed(&session, SHARED_LINK, &shared).await?;
    }
    Ok(shared)
}

/// The shortest link the share dialog makes (the CLI, for scripts and tests, goes down to 1 s).
const MIN_CONSOLE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(60);

/// The session entry holding a link made by a plain form post until its dialog shows it, and
/// the request that showed it.
const SHARED_LINK: &str = "shared_link";
const SHARED_LINK_SHOWN_TO: &str = "shared_link_shown_to";

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

/// The link made by a plain form post for this dialog, once: the first page render that asks
/// takes it (a render may ask more than once; it is the request id that may see it again).
pub async fn take_shared(bucket: &str, key: &str) -> Result<Option<SharedLink>, AppError> {
    let session = session().await?;
    let Some(link) = crate::auth::ssr::get_sealed::<SharedLink>(&session, SHARED_LINK).await?
    else {
        return Ok(None);
    };
    if link.bucket != bucket || link.key != key {
        return Ok(None);
    }
    let request = request_id().unwrap_or_default();
    match session.get::<String>(SHARED_LINK_SHOWN_TO).await? {
        None => {
            session.insert(SHARED_LINK_SHOWN_TO, &request).await?;
            Ok(Some(link))
        }
        Some(shown_to) if shown_to == request && !request.is_empty() => Ok(Some(link)),
        Some(_) => {
            session.remove_value(SHARED_LINK).await?;
            session.remove::<String>(SHARED_LINK_SHOWN_TO).await?;
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
