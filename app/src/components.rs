//! Small pieces of UI shared by several pages.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::error::AppError;

/// The error of a server action's latest run, if it failed.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let value = action.value();
    Signal::derive(move || value.get().and_then(Result::err))
}

/// An error that belongs to no single field, as an alert under the form.
#[component]
pub fn FormError(error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error
            .get()
            .filter(|e| e.field().is_none())
            .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    }
}

/// An error about the field `field`, shown next to it.
#[component]
pub fn FieldError(error: Signal<Option<AppError>>, field: &'static str) -> impl IntoView {
    move || {
        error.get().filter(|e| e.field() == Some(field)).map(|e| {
            view! {
                <p class="error" role="alert" id=format!("{field}-error")>
                    {e.to_string()}
                </p>
            }
        })
    }
}

/// A password field with a "Show" toggle (which needs the WASM bundle; without it the field
/// still works, hidden).
#[component]
pub fn PasswordInput(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    autocomplete: &'static str,
) -> impl IntoView {
    let shown = RwSignal::new(false);
    view! {
        <label for=id>{label}</label>
        <div class="password-field">
            <input
                id=id
                name=name
                type=move || if shown.get() { "text" } else { "password" }
                autocomplete=autocomplete
                required
            />
            <button
                type="button"
                class="toggle"
                aria-label=format!("Show {}", label.to_lowercase())
                aria-pressed=move || shown.get().to_string()
                aria-controls=id
                on:click=move |_| shown.update(|s| *s = !*s)
            >
                {move || if shown.get() { "Hide" } else { "Show" }}
            </button>
        </div>
    }
}

/// How a failed data load shows on a page. A lost session goes back to the sign-in page.
#[component]
pub fn LoadError(error: AppError) -> impl IntoView {
    if error == AppError::Unauthenticated {
        return view! { <leptos_router::components::Redirect path="/login" /> }.into_any();
    }
    view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any()
}
