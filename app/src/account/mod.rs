//! The signed-in admin's own account: changing the password.

use leptos::prelude::*;

use crate::auth::CsrfField;
use crate::components::{FieldError, FormError, PasswordInput};
use crate::error::AppError;
use crate::form::{FormAction, ServerForm};

/// Changes the signed-in admin's password. Other sessions of this admin are signed out.
#[server(endpoint = "change_password")]
pub async fn change_password(
    csrf: String,
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require_admin_for_change(&csrf).await?;
    crate::auth::ssr::change_password(&admin, current_password, new_password, confirm_password)
        .await
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = FormAction::<ChangePassword>::new();
    let result = change.value();
    let error = change.error();
    let pending = change.pending();
    view! {
        <h1>"Your account"</h1>
        <section class="card" aria-labelledby="password-title">
            <h2 id="password-title">"Change password"</h2>
            <ServerForm action=change>
                <CsrfField />
                <PasswordInput
                    id="current_password"
                    name="current_password"
                    label="Current password"
                    autocomplete="current-password"
                />
                <FieldError error field="current_password" />
                <PasswordInput
                    id="new_password"
                    name="new_password"
                    label="New password"
                    autocomplete="new-password"
                />
                <FieldError error field="new_password" />
                <PasswordInput
                    id="confirm_password"
                    name="confirm_password"
                    label="Confirm new password"
                    autocomplete="new-password"
                />
                <FieldError error field="confirm_password" />
                <FormError error />
                {move || {
                    matches!(result.get(), Some(Ok(())))
                        .then(|| view! { <p class="success" role="status">"Password changed."</p> })
                }}
                <button type="submit" class="primary" disabled=pending>
                    "Change password"
                </button>
            </ServerForm>
        </section>
    }
}
