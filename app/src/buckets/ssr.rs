//! What the bucket pages read and change: metadata through `domain` (which audits every
//! change), objects through the server's store ([`domain::store::ObjectStore`]).

use domain::buckets;
use domain::db::Pool;
use domain::links::{self, Change};

use super::{
    AccessRow, BucketRow, BucketView, MAX_SELECTION, ObjectShown, PREVIEW_TEXT_BYTES, Picked,
    Preview, TABS,
};
use crate::auth::ssr::{Admin, admin_origin};
use crate::error::AppError;
use crate::error::ssr::{domain as domain_error, internal};
use crate::links::ssr::link_row;
use crate::state::app_state;

/// Entries (folders and objects) per page of the object browser.
const PAGE: usize = 100;

/// `counted`: whether the store's objects are counted in the database (see
/// [`domain::store::ObjectStore::counts_objects`]).
fn row(b: buckets::Bucket, counted: bool) -> BucketRow {
    BucketRow {
        name: b.name,
        owner: b.owner,
        objects: counted.then_some(b.objects),
        bytes: counted.then_some(b.bytes),
        created_at: b.created_at,
    }
}

pub async fn list(pool: &Pool) -> Result<Vec<BucketRow>, AppError> {
    let counted = app_state()?.store.counts_objects();
    Ok(buckets::list(pool)
        .await
        .map_err(|e| domain_error(e, "name"))?
        .into_iter()
        .map(|b| row(b, counted))
        .collect())
}

pub async fn create(admin: &Admin, name: &str, owner: &str) -> Result<(), AppError> {
    let state = app_state()?;
    let origin = admin_origin(&admin.name).await;
    let owner = (!owner.is_empty()).then_some(owner);
    state
        .store
        .create_bucket(&state.pool, name, owner, &origin)
        .await
        .map_err(|e| match e {
            domain::Error::NotFound { .. } => AppError::invalid("owner", e.to_string()),
            other => domain_error(other, "name"),
        })?;
    Ok(())
}

pub async fn delete(admin: &Admin, name: &str, with_contents: bool) -> Result<(), AppError> {
    let state = app_state()?;
    let origin = admin_origin(&admin.name).await;
    state
        .store
        .delete_bucket(&state.pool, name, with_contents, &origin)
        .await
        .map_err(|e| match e {
            domain::Error::BucketNotEmpty { .. } => AppError::invalid(
                "name",
                "This bucket holds objects: tick \"Delete its objects too\" to delete them with it.",
            ),
            other => domain_error(other, "name"),
        })?;
    Ok(())
}

/// What one tab of the bucket `name` shows (see [`super::get_bucket`]): each tab loads only its
/// own part; the objects are counted for Settings only.
pub async fn view(
    name: &str,
    tab: &str,
    prefix: &str,
    after: &str,
) -> Result<BucketView, AppError> {
    if !TABS.contains(&tab) {
        return Err(AppError::invalid(
            "tab",
            format!(
                "There is no tab \"{tab}\"; a bucket has {}.",
                TABS.join(", ")
            ),
        ));
    }
    let state = app_state()?;
    let pool = &state.pool;
    buckets::require(pool, name)
        .await
        .map_err(|e| domain_error(e, "name"))?;
    let mut view = BucketView {
        name: name.to_owned(),
        ..BucketView::default()
    };
    match tab {
        "objects" => {
            view.listing = state
                .store
                .list(name, prefix, after, PAGE)
                .await
                .map_err(|e| internal("cannot list objects", e))?;
            // A folder's own marker (the empty `PREFIX/` object) is the folder, not a file in it.
            view.listing.objects.retain(|o| o.key != prefix);
            let keys: Vec<String> = view.listing.objects.iter().map(|o| o.key.clone()).collect();
            let live = links::live_by_object(pool, name, &keys)
                .await
                .map_err(|e| domain_error(e, "name"))?;
            for object in &mut view.listing.objects {
                object.live_links = live.get(&object.key).copied().unwrap_or(0);
            }
        }
        "access" => {
            for g in domain::grants::list(pool, None, Some(name))
                .await
                .map_err(|e| domain_error(e, "name"))?
            {
                let live_links_killed = links::killed_by(
                    pool,
                    &Change::Grant {
                        user: &g.user,
                        bucket: name,
                        prefix: &g.prefix,
                    },
                )
                .await
                .map_err(|e| domain_error(e, "name"))?;
                view.access.push(AccessRow {
                    user: g.user,
                    permission: g.permission.to_string(),
                    prefix: g.prefix,
                    expires_at: g.expires_at,
                    live_links_killed,
                });
            }
            view.users = domain::users::list(pool)
                .await
                .map_err(|e| domain_error(e, "name"))?
                .into_iter()
                .map(|u| u.name)
                .collect();
        }
        "links" => {
            let filter = links::ListFilter {
                all: true,
                bucket: Some(name.to_owned()),
                limit: Some(200),
                ..links::ListFilter::default()
            };
            view.links = links::list(pool, &filter)
                .await
                .map_err(|e| domain_error(e, "name"))?
                .into_iter()
                .map(link_row)
                .collect();
        }
        _ => {
            // settings
            let bucket = buckets::get(pool, name)
                .await
                .map_err(|e| domain_error(e, "name"))?;
            view.bucket = Some(row(bucket, state.store.counts_objects()));
        }
    }
    Ok(view)
}

pub async fn create_folder(
    admin: &Admin,
    bucket: &str,
    prefix: &str,
    name: &str,
) -> Result<String, AppError> {
    let state = app_state()?;
    let origin = admin_origin(&admin.name).await;
    let name = name.trim().trim_end_matches('/');
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(AppError::invalid(
            "name",
            "Give the folder a name, without / (make folders inside it from it).",
        ));
    }
    if !prefix.is_empty() && !prefix.ends_with('/') {
        return Err(AppError::invalid("prefix", "That is not a folder."));
    }
    buckets::require(&state.pool, bucket)
        .await
        .map_err(|e| domain_error(e, "bucket"))?;
    let key = format!("{prefix}{name}/");
    if key.len() > 1024 {
        return Err(AppError::invalid(
            "name",
            "Too long: a key has at most 1,024 bytes.",
        ));
    }
    let empty: domain::store::UploadBody<'_> = Box::pin(futures_util::stream::empty());
    state
        .store
        .upload(bucket, &key, None, empty)
        .await
        .map_err(|e| domain_error(e, "name"))?;
    let mut tx = domain::db::write_tx(&state.pool).await?;
    domain::audit::record_action(
        &mut tx,
        &origin,
        domain::audit::Action::new("object.upload", &key)
            .on(bucket, Some(&key))
            .detail(serde_json::json!({ "size": 0, "folder": true })),
    )
    .await
    .map_err(|e| internal("cannot write the audit trail", e))?;
    tx.commit().await?;
    Ok(format!("Folder {name} created."))
}

pub async fn delete_object(admin: &Admin, bucket: &str, key: &str) -> Result<(), AppError> {
    let state = app_state()?;
    let origin = admin_origin(&admin.name).await;
    buckets::require(&state.pool, bucket)
        .await
        .map_err(|e| domain_error(e, "bucket"))?;
    state
        .store
        .delete_object(bucket, key)
        .await
        .map_err(|e| internal("cannot delete an object", e))?;
    let mut tx = domain::db::write_tx(&state.pool).await?;
    domain::audit::record_action(
        &mut tx,
        &origin,
        domain::audit::Action::new("object.delete", key).on(bucket, Some(key)),
    )
    .await
    .map_err(|e| internal("cannot write the audit trail", e))?;
    tx.commit().await?;
    Ok(())
}

pub async fn add_grant(
    admin: &Admin,
    bucket: &str,
    user: &str,
    permission: &str,
    prefix: &str,
    expires: &str,
) -> Result<String, AppError> {
    let state = app_state()?;
    let origin = admin_origin(&admin.name).await;
    let permission: domain::grants::Permission = permission
        .parse()
        .map_err(|_| AppError::invalid("permission", "Choose read, write, read-write or owner."))?;
    let expires_at = match expires.trim() {
        "" => None,
        text => {
            let d = humantime::parse_duration(text).map_err(|_| {
                AppError::invalid(
                    "expires",
                    "Give a duration like 12h, 7d or 30d, or nothing.",
                )
            })?;
            Some(domain::now_unix().saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
        }
    };
    let granted = domain::grants::add(
        &state.pool,
        user,
        bucket,
        permission,
        prefix.trim(),
        expires_at,
        &origin,
    )
    .await
    .map_err(|e| match e {
        domain::Error::Invalid {
            field: "prefix", ..
        } => domain_error(e, "prefix"),
        e => domain_error(e, "user"),
    })?;
    let grant = granted.grant;
    let place = if grant.prefix.is_empty() {
        format!("all of {}", grant.bucket)
    } else {
        format!("{} in {}", grant.prefix, grant.bucket)
    };
    Ok(match granted.replaced {
        None => format!("{} may now {} {place}.", grant.user, grant.permission),
        Some((before, _)) => format!(
            "{}'s {before} grant on {place} is now {}.",
            grant.user, grant.permission
        ),
    })
}

pub async fn remove_grant(
    admin: &Admin,
    bucket: &str,
    user: &str,
    prefix: &str,
) -> Result<(), AppError> {
    let state = app_state()?;
    let origin = admin_origin(&admin.name).await;
    domain::grants::remove(&state.pool, user, bucket, prefix, &origin)
        .await
        .map_err(|e| domain_error(e, "user"))
}

pub async fn object_details(bucket: &str, key: &str) -> Result<ObjectShown, AppError> {
    let state = app_state()?;
    let missing = || AppError::NotFound {
        message: format!("There is no object {key} in {bucket}."),
    };
    let mut info = state
        .store
        .object(bucket, key)
        .await
        .map_err(|e| internal("cannot read an object", e))?
        .ok_or_else(missing)?;
    info.live_links = links::live_by_object(&state.pool, bucket, &[key.to_owned()])
        .await
        .map_err(|e| domain_error(e, "key"))?
        .get(key)
        .copied()
        .unwrap_or(0);
    if Preview::of(info.content_type.as_deref()) != Some(Preview::Text) {
        return Ok(ObjectShown {
            info,
            text: None,
            truncated: false,
        });
    }
    let first = |size: u64| (size > PREVIEW_TEXT_BYTES).then_some(0..PREVIEW_TEXT_BYTES);
    let read = state
        .store
        .read(bucket, key, &first)
        .await
        .map_err(|e| internal("cannot read an object", e))?
        .ok_or_else(missing)?;
    let truncated = read.range.is_some();
    let mut bytes = Vec::new();
    let mut body = read.body;
    while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
        bytes.extend_from_slice(&chunk.map_err(|e| internal("cannot read an object", e))?);
    }
    Ok(ObjectShown {
        info,
        text: Some(String::from_utf8_lossy(&bytes).into_owned()),
        truncated,
    })
}

/// The keys a selection form sends: a JSON array of at most [`MAX_SELECTION`].
pub fn keys_from_form(keys: &str) -> Result<Vec<String>, AppError> {
    let mut keys: Vec<String> = serde_json::from_str(keys)
        .map_err(|_| AppError::invalid("keys", "Select the objects again."))?;
    // Each once, in the order given: a key sent twice is not deleted (or audited) twice.
    let mut seen = std::collections::HashSet::new();
    keys.retain(|key| seen.insert(key.clone()));
    check_selection(&keys)?;
    Ok(keys)
}

fn check_selection(keys: &[String]) -> Result<(), AppError> {
    if keys.is_empty() {
        return Err(AppError::invalid(
            "keys",
            "Select at least one object (tick its box).",
        ));
    }
    if keys.len() > MAX_SELECTION {
        return Err(AppError::invalid(
            "keys",
            format!("At most {MAX_SELECTION} objects at once."),
        ));
    }
    Ok(())
}

pub async fn selection(bucket: &str, keys: &[String]) -> Result<Picked, AppError> {
    check_selection(keys)?;
    let state = app_state()?;
    buckets::require(&state.pool, bucket)
        .await
        .map_err(|e| domain_error(e, "bucket"))?;
    let mut picked = Picked::default();
    let mut seen = std::collections::HashSet::new();
    for key in keys.iter().filter(|k| seen.insert(k.as_str())) {
        match state
            .store
            .object(bucket, key)
            .await
            .map_err(|e| internal("cannot read an object", e))?
        {
            Some(info) => picked.objects.push(info),
            None => picked.missing.push(key.clone()),
        }
    }
    let found: Vec<String> = picked.objects.iter().map(|o| o.key.clone()).collect();
    let live = links::live_by_object(&state.pool, bucket, &found)
        .await
        .map_err(|e| domain_error(e, "bucket"))?;
    for object in &mut picked.objects {
        object.live_links = live.get(&object.key).copied().unwrap_or(0);
    }
    // Who may sign for every one of them: those who may for the first, whose grants (read
    // once per user) cover the others too.
    let Some(first) = found.first() else {
        return Ok(picked);
    };
    let now = domain::now_unix();
    for user in crate::links::ssr::signers(&state.pool, bucket, first, "GET").await? {
        let grants = domain::grants::of_user_on(&state.pool, &user, bucket)
            .await
            .map_err(|e| domain_error(e, "bucket"))?;
        let covers = |key: &String| {
            grants
                .iter()
                .any(|g| g.permission.allows(domain::grants::Need::Read) && g.covers(key, now))
        };
        if found.iter().all(covers) {
            picked.signers.push(user);
        }
    }
    Ok(picked)
}

pub async fn existing(bucket: &str, keys: &[String]) -> Result<Vec<String>, AppError> {
    check_selection(keys)?;
    let state = app_state()?;
    let mut found = Vec::new();
    for key in keys {
        if state
            .store
            .object(bucket, key)
            .await
            .map_err(|e| internal("cannot read an object", e))?
            .is_some()
        {
            found.push(key.clone());
        }
    }
    Ok(found)
}

/// Deletes each of `keys` (as [`delete_object`] does, audited one by one); says how many went
/// and how many live links that stopped.
pub async fn delete_objects(
    admin: &Admin,
    bucket: &str,
    keys: &[String],
) -> Result<String, AppError> {
    let state = app_state()?;
    let stopped: i64 = links::live_by_object(&state.pool, bucket, keys)
        .await
        .map_err(|e| domain_error(e, "bucket"))?
        .values()
        .sum();
    for key in keys {
        delete_object(admin, bucket, key).await?;
    }
    let objects = match keys.len() {
        1 => "1 object".to_owned(),
        n => format!("{n} objects"),
    };
    Ok(if stopped > 0 {
        format!(
            "Deleted {objects}; {} stopped.",
            crate::components::live_links(stopped)
        )
    } else {
        format!("Deleted {objects}.")
    })
}
