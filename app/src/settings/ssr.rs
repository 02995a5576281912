//! What the Settings page reads and changes: the settings in force (through
//! `domain::settings`, which audits the change) and the console's admin accounts.

use domain::settings::{Settings, human};
use zeroize::Zeroizing;

use super::{AdminRow, SettingsForm, SettingsView};
use crate::auth::ssr::{Admin, admin_origin, check_new_password, hash_password};
use crate::error::AppError;
use crate::error::ssr::{domain as domain_error, internal};
use crate::state::app_state;
use domain::admins::{self, AdminStatus};

/// A duration field of the form, in seconds.
fn seconds(field: &str, text: &str) -> Result<i64, AppError> {
    humantime::parse_duration(text.trim())
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .filter(|&secs| secs > 0)
        .ok_or_else(|| AppError::invalid(field, "Give a duration like 15m, 1h, 7d or 90d."))
}

/// An optional duration field: empty or `none` for none (0).
fn seconds_or_none(field: &str, text: &str) -> Result<i64, AppError> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(0);
    }
    seconds(field, text)
        .map_err(|_| AppError::invalid(field, "Give a duration like 30d or 1y, or none."))
}

/// An optional duration as the form shows it.
fn human_or_none(secs: i64) -> String {
    if secs == 0 {
        "none".to_owned()
    } else {
        human(secs)
    }
}

/// An optional size field: empty or `none` for none (0).
fn bytes_field(field: &str, text: &str) -> Result<i64, AppError> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(0);
    }
    domain::links::uploads::parse_size(text)
        .filter(|&n| n > 0)
        .ok_or_else(|| AppError::invalid(field, "Give a size like 100 MiB or 2 GiB, or none."))
}

/// An optional size as the form shows it.
fn bytes_or_none(bytes: i64) -> String {
    if bytes == 0 {
        "none".to_owned()
    } else {
        domain::links::uploads::human_bytes(bytes)
    }
}

pub async fn view(admin: &Admin) -> Result<SettingsView, AppError> {
    let state = app_state()?;
    let now = state.settings.get();
    let base = state.settings.base();
    let command_line = now
        .differing(base)
        .into_iter()
        .map(|name| {
            let shown = match name {
                "public_s3_url" => base.public_s3_url.clone(),
                "default_link_secs" => human(base.default_link_secs),
                "max_link_secs" => human(base.max_link_secs),
                "audit_retention_secs" => human(base.audit_retention_secs),
                "truncate_ips" => on_off(base.truncate_ips),
                "max_page_secs" => human_or_none(base.max_page_secs),
                "page_password_after_secs" => human_or_none(base.page_password_after_secs),
                "folder_password" => on_off(base.folder_password),
                "folder_pages" => on_off(base.folder_pages),
                "upload_pages" => on_off(base.upload_pages),
                "upload_password" => on_off(base.upload_password),
                "max_upload_file" => bytes_or_none(base.max_upload_file),
                "max_upload_total" => bytes_or_none(base.max_upload_total),
                _ => on_off(base.sigv2),
            };
            (name.to_owned(), shown)
        })
        .collect();
    let admins = admins::list(&state.pool)
        .await
        .map_err(|e| internal("cannot list the admins", e))?
        .into_iter()
        .map(|a| AdminRow {
            active: a.status == AdminStatus::Active,
            name: a.name,
            created_at: a.created_at,
        })
        .collect();
    Ok(SettingsView {
        form: SettingsForm {
            public_s3_url: now.public_s3_url,
            default_link: human(now.default_link_secs),
            max_link: human(now.max_link_secs),
            audit_retention: human(now.audit_retention_secs),
            truncate_ips: now.truncate_ips,
            sigv2: now.sigv2,
            max_page: human_or_none(now.max_page_secs),
            page_password_after: human_or_none(now.page_password_after_secs),
            folder_password: now.folder_password,
            folder_pages: now.folder_pages,
            upload_pages: now.upload_pages,
            upload_password: now.upload_password,
            max_upload_file: bytes_or_none(now.max_upload_file),
            max_upload_total: bytes_or_none(now.max_upload_total),
        },
        command_line,
        admins,
        me: admin.name.clone(),
        webhook: crate::links::webhook::ssr::panel(&state.pool, None, Default::default()).await?,
    })
}

fn on_off(on: bool) -> String {
    if on { "on" } else { "off" }.to_owned()
}

pub async fn save(admin: &Admin, form: SettingsForm) -> Result<(), AppError> {
    let state = app_state()?;
    let wanted = Settings {
        public_s3_url: form.public_s3_url.trim().trim_end_matches('/').to_owned(),
        default_link_secs: seconds("default_link_secs", &form.default_link)?,
        max_link_secs: seconds("max_link_secs", &form.max_link)?,
        audit_retention_secs: seconds("audit_retention_secs", &form.audit_retention)?,
        truncate_ips: form.truncate_ips,
        sigv2: form.sigv2,
        max_page_secs: seconds_or_none("max_page_secs", &form.max_page)?,
        page_password_after_secs: seconds_or_none(
            "page_password_after_secs",
            &form.page_password_after,
        )?,
        folder_password: form.folder_password,
        folder_pages: form.folder_pages,
        upload_pages: form.upload_pages,
        upload_password: form.upload_password,
        max_upload_file: bytes_field("max_upload_file", &form.max_upload_file)?,
        max_upload_total: bytes_field("max_upload_total", &form.max_upload_total)?,
    };
    let origin = admin_origin(&admin.name).await;
    state
        .settings
        .save(&state.pool, &wanted, &origin)
        .await
        .map_err(|e| match e {
            domain::Error::Invalid { field, message } => AppError::invalid(field, message),
            other => domain_error(other, "settings"),
        })
}

/// Every setting back to the command line's value.
pub async fn reset(admin: &Admin) -> Result<(), AppError> {
    let state = app_state()?;
    let origin = admin_origin(&admin.name).await;
    let base = state.settings.base().clone();
    state
        .settings
        .save(&state.pool, &base, &origin)
        .await
        .map_err(|e| domain_error(e, "settings"))
}

/// An admin name: 1 to 64 letters, digits, `.`, `_` or `-`.
fn check_admin_name(name: &str) -> Result<(), AppError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            "admin_name",
            "Use 1 to 64 letters, digits, dots, underscores or hyphens.",
        ))
    }
}

pub async fn create_admin(
    admin: &Admin,
    name: &str,
    password: String,
    confirm: String,
) -> Result<String, AppError> {
    let (password, confirm) = (Zeroizing::new(password), Zeroizing::new(confirm));
    let name = name.trim();
    check_admin_name(name)?;
    check_new_password(&password).map_err(|m| AppError::invalid("admin_password", m))?;
    if *password != *confirm {
        return Err(AppError::invalid(
            "admin_confirm",
            "The two passwords differ.",
        ));
    }
    let state = app_state()?;
    let hash = hash_password(password).await?;
    let origin = admin_origin(&admin.name).await;
    let created = admins::create(&state.pool, name, &hash, Some(&origin))
        .await
        .map_err(|e| internal("cannot create an admin", e))?;
    if !created {
        return Err(AppError::invalid(
            "admin_name",
            format!("An admin named {name} already exists."),
        ));
    }
    Ok(format!("Admin {name} created: they can sign in now."))
}

/// Disables or enables another admin. A disabled admin's sessions end at their next request
/// (every request checks the account is active); nobody can disable themselves, so one active
/// admin always remains.
pub async fn set_admin_status(admin: &Admin, name: &str, active: bool) -> Result<(), AppError> {
    if name == admin.name {
        return Err(AppError::invalid(
            "admins",
            "You cannot disable your own account; another admin can.",
        ));
    }
    let state = app_state()?;
    let origin = admin_origin(&admin.name).await;
    let status = if active {
        AdminStatus::Active
    } else {
        AdminStatus::Disabled
    };
    admins::set_status(&state.pool, name, status, &origin)
        .await
        .map_err(|e| match e {
            domain::Error::NotFound { .. } => AppError::NotFound {
                message: format!("Admin {name} does not exist."),
            },
            other => internal("cannot change an admin", other),
        })
}
