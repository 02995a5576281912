//! What the users pages read and change, through `domain` (which audits every change).

use domain::db::Pool;
use domain::links::{self, Change, Revival};
use domain::users::keys::{self, KeyStatus};
use domain::users::{self, UserStatus};

use super::{GrantView, KeyView, NewKey, UserDetail, UserSummary};
use crate::auth::ssr::{Admin, admin_origin, session};
use crate::error::AppError;
use crate::error::ssr::domain as domain_error;
use crate::links::ssr::link_row;
use crate::state::app_state;
use domain::now_unix;

/// Where a key's secret waits in the session until its page shows it.
const NEW_KEY: &str = "new_key";

pub async fn list(pool: &Pool, query: &str) -> Result<Vec<UserSummary>, AppError> {
    let query = query.trim().to_lowercase();
    let all = users::list(pool)
        .await
        .map_err(|e| domain_error(e, "query"))?;
    let live = live_links_by_user(pool).await?;
    Ok(all
        .into_iter()
        .filter(|u| query.is_empty() || u.name.to_lowercase().contains(&query))
        .map(|u| UserSummary {
            live_links: live
                .iter()
                .find(|(name, _)| *name == u.name)
                .map_or(0, |(_, n)| *n),
            name: u.name,
            active: u.status == UserStatus::Active,
            can_create_buckets: u.can_create_buckets,
            keys: u.keys,
            // Counted on the user's own page, where enabling is offered.
            revives: 0,
            created_at: u.created_at,
        })
        .collect())
}

async fn live_links_by_user(pool: &Pool) -> Result<Vec<(String, i64)>, AppError> {
    links::active_by_user(pool)
        .await
        .map_err(|e| domain_error(e, "links"))
}

pub async fn create(admin: &Admin, name: &str, can_create_buckets: bool) -> Result<(), AppError> {
    let state = app_state()?;
    let origin = admin_origin(&admin.name).await;
    let (user, new) = users::create(
        &state.pool,
        &state.master,
        name,
        can_create_buckets,
        &origin,
    )
    .await
    .map_err(|e| domain_error(e, "name"))?;
    remember_new_key(&user.name, &new).await
}

/// Keeps a new key's secret in the session until the user's page shows it once.
async fn remember_new_key(user: &str, new: &keys::NewKey) -> Result<(), AppError> {
    let key = NewKey {
        user: user.to_owned(),
        access_key_id: new.key.id.to_string(),
        secret_access_key: new.secret.expose().to_owned(),
        endpoint: String::new(),
        region: String::new(),
    };
    crate::auth::ssr::insert_sealed(&session().await?, NEW_KEY, &key).await
}

pub async fn take_new_key(user: &str) -> Result<Option<NewKey>, AppError> {
    let session = session().await?;
    let Some(key) = crate::auth::ssr::get_sealed::<NewKey>(&session, NEW_KEY).await? else {
        return Ok(None);
    };
    if key.user != user {
        return Ok(None);
    }
    session.remove_value(NEW_KEY).await?;
    // Where to use it, as the settings say now.
    Ok(Some(NewKey {
        endpoint: app_state()?.settings.get().public_s3_url,
        region: domain::links::REGION.to_owned(),
        ..key
    }))
}

pub async fn detail(pool: &Pool, name: &str) -> Result<UserDetail, AppError> {
    let user = users::get(pool, name)
        .await
        .map_err(|e| domain_error(e, "name"))?;
    let now = now_unix();
    let mut key_views = Vec::new();
    for key in keys::list(pool, Some(name))
        .await
        .map_err(|e| domain_error(e, "name"))?
    {
        let live_links = links::killed_by(pool, &Change::Key(key.id.as_str()))
            .await
            .map_err(|e| domain_error(e, "key"))?;
        let revives = match key.status {
            KeyStatus::Inactive => links::revived_by(pool, Revival::Key(key.id.as_str()))
                .await
                .map_err(|e| domain_error(e, "key"))?,
            KeyStatus::Active => 0,
        };
        key_views.push(KeyView {
            status: match key.status {
                KeyStatus::Active if key.is_expired(now) => "expired",
                KeyStatus::Active => "active",
                KeyStatus::Inactive => "inactive",
            }
            .to_owned(),
            id: key.id.to_string(),
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            expires_at: key.expires_at,
            live_links,
            revives,
        });
    }
    let mut grant_views = Vec::new();
    for grant in domain::grants::list(pool, Some(name), None)
        .await
        .map_err(|e| domain_error(e, "name"))?
    {
        let live_links_killed = links::killed_by(
            pool,
            &Change::Grant {
                user: name,
                bucket: &grant.bucket,
                prefix: &grant.prefix,
            },
        )
        .await
        .map_err(|e| domain_error(e, "grant"))?;
        grant_views.push(GrantView {
            bucket: grant.bucket,
            permission: grant.permission.to_string(),
            prefix: grant.prefix,
            expires_at: grant.expires_at,
            live_links_killed,
        });
    }
    let filter = links::ListFilter {
        all: true,
        user: Some(name.to_owned()),
        limit: Some(super::USER_PAGE_LINKS + 1),
        ..links::ListFilter::default()
    };
    let mut user_links = links::list(pool, &filter)
        .await
        .map_err(|e| domain_error(e, "links"))?;
    let more_links = user_links.len() > super::USER_PAGE_LINKS as usize;
    user_links.truncate(super::USER_PAGE_LINKS as usize);
    let live_links = links::killed_by(pool, &Change::User(name))
        .await
        .map_err(|e| domain_error(e, "links"))?;
    let revives = match user.status {
        UserStatus::Active => 0,
        _ => links::revived_by(pool, Revival::User(name))
            .await
            .map_err(|e| domain_error(e, "links"))?,
    };
    Ok(UserDetail {
        user: UserSummary {
            name: user.name,
            active: user.status == UserStatus::Active,
            can_create_buckets: user.can_create_buckets,
            keys: user.keys,
            live_links,
            revives,
            created_at: user.created_at,
        },
        keys: key_views,
        grants: grant_views,
        links: user_links.into_iter().map(link_row).collect(),
        more_links,
    })
}

fn needs_confirmation() -> AppError {
    AppError::invalid("confirm", "Tick the confirmation box to go on.")
}

/// Refuses a change that stops or revives share links unless the admin ticked the box that
/// said how many: counted again now, as links may have come or gone since the page showed.
fn confirm_links(count: i64, confirmed: bool, verb: &str) -> Result<(), AppError> {
    if count > 0 && !confirmed {
        return Err(AppError::invalid(
            "confirm",
            format!(
                "This {verb} {}: tick the confirmation box to go on.",
                crate::components::live_links(count)
            ),
        ));
    }
    Ok(())
}

pub async fn change(
    admin: &Admin,
    name: &str,
    change: &str,
    confirmed: bool,
) -> Result<(), AppError> {
    let state = app_state()?;
    let pool = &state.pool;
    let origin = admin_origin(&admin.name).await;
    let count = |e| domain_error(e, "name");
    let result = match change {
        "enable" => {
            let revives = links::revived_by(pool, Revival::User(name))
                .await
                .map_err(count)?;
            confirm_links(revives, confirmed, "brings back")?;
            users::set_status(pool, name, UserStatus::Active, &origin)
                .await
                .map(|_| ())
        }
        "disable" => {
            let stops = links::killed_by(pool, &Change::User(name))
                .await
                .map_err(count)?;
            confirm_links(stops, confirmed, "stops")?;
            users::set_status(pool, name, UserStatus::Disabled, &origin)
                .await
                .map(|_| ())
        }
        "delete" if confirmed => users::delete(pool, name, &origin).await,
        "delete" => return Err(needs_confirmation()),
        _ => return Err(AppError::invalid("change", "Unknown change.")),
    };
    result.map_err(|e| domain_error(e, "name"))
}

pub async fn change_key(
    admin: &Admin,
    user: &str,
    change: &str,
    key: Option<&str>,
    confirmed: bool,
) -> Result<(), AppError> {
    let state = app_state()?;
    let origin = admin_origin(&admin.name).await;
    if change == "create" {
        let new = keys::create(&state.pool, &state.master, user, None, &origin)
            .await
            .map_err(|e| domain_error(e, "key"))?;
        return remember_new_key(user, &new).await;
    }
    let id: domain::secrets::AccessKeyId = key
        .unwrap_or_default()
        .parse()
        .map_err(|_| AppError::invalid("key", "That is not an access key id."))?;
    // The key must be this user's: a form cannot reach another user's key through this page.
    let found = keys::get(&state.pool, &id)
        .await
        .map_err(|e| domain_error(e, "key"))?;
    if found.user != user {
        return Err(AppError::NotFound {
            message: format!("Access key {id} is not {user}'s."),
        });
    }
    let pool = &state.pool;
    let count = |e| domain_error(e, "key");
    let result = match change {
        "enable" => {
            let revives = links::revived_by(pool, Revival::Key(id.as_str()))
                .await
                .map_err(count)?;
            confirm_links(revives, confirmed, "brings back")?;
            keys::set_status(pool, &id, KeyStatus::Active, &origin)
                .await
                .map(|_| ())
        }
        "disable" | "rotate" => {
            let stops = links::killed_by(pool, &Change::Key(id.as_str()))
                .await
                .map_err(count)?;
            confirm_links(stops, confirmed, "stops")?;
            if change == "rotate" {
                let new = keys::rotate(pool, &state.master, &id, &origin)
                    .await
                    .map_err(count)?;
                return remember_new_key(user, &new).await;
            }
            keys::set_status(pool, &id, KeyStatus::Inactive, &origin)
                .await
                .map(|_| ())
        }
        "delete" if confirmed => keys::delete(pool, &id, &origin).await,
        "delete" => return Err(needs_confirmation()),
        _ => return Err(AppError::invalid("change", "Unknown change.")),
    };
    result.map_err(|e| domain_error(e, "key"))
}
