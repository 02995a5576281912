//! Pieces of a page the server renders whole, as HTML: side panels and dialogs that show data
//! and forms but hold no state of their own in the browser.
//!
//! Their forms post to server functions that answer with the piece's next HTML (what was done,
//! or the links made), and one handler, the same for every piece, sends the form and swaps the
//! answer in. The browser thus runs no code per panel: a panel built from Leptos components
//! cost the WASM of a page more than the page itself. Without JavaScript the forms post as
//! any other (the server function redirects back).
//!
//! Inside a piece, a `data-changes` form says that its success changes what the page shows
//! around the piece; an element with `data-error` (or `data-error-for="FIELD"`) in a form shows
//! the form's error; after a swap, the element marked `autofocus` takes the focus (a text field
//! is selected too). Copy buttons are [`crate::components::CopyButton`]s.

use leptos::prelude::*;

/// HTML rendered by the server (escaped as Leptos escapes it), replaced by the answers of the
/// forms in it. `changed` is bumped after a form marked `data-changes` succeeds.
#[component]
pub fn Fragment(
    html: String,
    #[prop(optional)] changed: Option<WriteSignal<u32>>,
) -> impl IntoView {
    let (html, set_html) = signal(html);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        client::submit(ev, set_html, changed);
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, set_html, changed);
    };
    view! { <div class="fragment" inner_html=html on:submit=on_submit></div> }
}

/// Where a fragment's form shows an error: the one about `field`, or, without a field, any
/// other (about none of the fields `placed` elsewhere). Filled in on the server with `error`
/// (a plain post's, from [`crate::form::posted_error`]) when it belongs here, else hidden until
/// the browser puts one there.
#[cfg(feature = "ssr")]
#[component]
pub fn ErrorPlace(
    error: Option<crate::error::AppError>,
    #[prop(optional)] field: Option<&'static str>,
    #[prop(optional)] placed: &'static [&'static str],
) -> impl IntoView {
    let shown = error
        .filter(|e| match field {
            Some(field) => e.field() == Some(field),
            None => e.field().is_none_or(|f| !placed.contains(&f)),
        })
        .map(|e| e.to_string());
    let hidden = shown.is_none();
    view! {
        <p
            class="error"
            role="alert"
            data-error-for=field
            data-error=field.is_none().then_some("")
            hidden=hidden
        >
            {shown}
        </p>
    }
}

/// A view as the HTML of a [`Fragment`] (on the server).
#[cfg(feature = "ssr")]
pub fn render(view: impl IntoView + 'static) -> String {
    Owner::new().with(|| view.to_html())
}

#[cfg(feature = "hydrate")]
mod client {
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{HtmlElement, HtmlFormElement, SubmitEvent};

    use crate::error::AppError;

    /// Sends the submitted form of a fragment and shows what the server answered: the
    /// fragment's next HTML, or the error next to the field it names.
    pub fn submit(ev: SubmitEvent, html: WriteSignal<String>, changed: Option<WriteSignal<u32>>) {
        let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        // Attributes, not the form's properties: a field named `method` or `action` (the share
        // dialog has one) hides those.
        let posts = form
            .get_attribute("method")
            .is_some_and(|m| m.eq_ignore_ascii_case("post"));
        if ev.default_prevented() || !posts {
            return;
        }
        ev.prevent_default();
        // One call at a time: a double click must not share or delete twice.
        if form.has_attribute("aria-busy") {
            return;
        }
        let path = form.get_attribute("action").unwrap_or_default();
        show_error(&form, None);
        let _ = form.set_attribute("aria-busy", "true");
        leptos::task::spawn_local(async move {
            let answer = crate::form::client::submit(&ev, &path)
                .await
                .and_then(|body| {
                    serde_json::from_slice::<String>(&body).map_err(|e| AppError::Transport {
                        message: format!("unreadable answer ({e})"),
                    })
                });
            let _ = form.remove_attribute("aria-busy");
            match answer {
                Ok(next) => {
                    if let (Some(changed), true) = (changed, form.has_attribute("data-changes")) {
                        changed.update(|n| *n += 1);
                    }
                    html.set(next);
                    request_animation_frame(focus_marked);
                }
                Err(error) => show_error(&form, Some(&error)),
            }
        });
    }

    /// Shows `error` in `form` (where its field's error goes, else where the form's does),
    /// after clearing what was shown before.
    fn show_error(form: &HtmlFormElement, error: Option<&AppError>) {
        if let Ok(places) = form.query_selector_all("[data-error],[data-error-for]") {
            for place in (0..places.length()).filter_map(|i| places.get(i)) {
                if let Ok(place) = place.dyn_into::<HtmlElement>() {
                    place.set_text_content(None);
                    place.set_hidden(true);
                }
            }
        }
        let Some(error) = error else {
            return;
        };
        let place = error
            .field()
            .and_then(|field| {
                form.query_selector(&format!("[data-error-for=\"{field}\"]"))
                    .ok()
                    .flatten()
            })
            .or_else(|| form.query_selector("[data-error]").ok().flatten())
            .and_then(|place| place.dyn_into::<HtmlElement>().ok());
        if let Some(place) = place {
            place.set_text_content(Some(&error.to_string()));
            place.set_hidden(false);
        }
    }

    /// Focuses the element of a fragment marked `autofocus` (and selects a text field's text).
    fn focus_marked() {
        let Some(marked) = document()
            .query_selector(".fragment [autofocus]")
            .ok()
            .flatten()
        else {
            return;
        };
        if let Some(input) = marked.dyn_ref::<web_sys::HtmlInputElement>() {
            let _ = input.focus();
            input.select();
        } else if let Some(element) = marked.dyn_ref::<HtmlElement>() {
            let _ = element.focus();
        }
    }
}
