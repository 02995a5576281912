//! Forms that call a server function. Without the WASM bundle the browser posts them and the
//! server answers with a redirect back (an error rides along in the URL). Once hydrated, a
//! submit is one `fetch` of the same form fields, and its result lands in the form's
//! [`FormAction`].
//!
//! This replaces Leptos' `ServerAction` + `ActionForm` pair on purpose: those decode the form
//! into the server function's argument struct and encode it again, generic code instantiated
//! once per server function, which made up a sixth of the WASM bundle. Here only the decoding
//! of the answer (`()` for nearly every form) is per function.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::server::ServerActionError;
use leptos::server_fn::ServerFn;
use leptos::server_fn::error::{FromServerFnError, ServerFnUrlError};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// The state of one form's server function: its latest result, how many calls have completed,
/// and whether one is under way.
pub struct FormAction<S: ServerFn> {
    value: RwSignal<Option<Result<S::Output, AppError>>>,
    version: RwSignal<usize>,
    pending: RwSignal<bool>,
}

impl<S: ServerFn> Clone for FormAction<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: ServerFn> Copy for FormAction<S> {}

impl<S> FormAction<S>
where
    S: ServerFn<Error = AppError>,
    S::Output: DeserializeOwned + Send + Sync + 'static,
{
    /// A form's action, holding the error of a plain (JavaScript-less) post of that form when
    /// the page is the redirect back from it.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self {
            value: RwSignal::new(posted_error(S::PATH).map(Err)),
            version: RwSignal::new(0),
            pending: RwSignal::new(false),
        }
    }

    /// The latest call's result (none before the first).
    pub fn value(self) -> ReadSignal<Option<Result<S::Output, AppError>>> {
        self.value.read_only()
    }

    /// How many calls have completed; moves after each, to refetch what they changed.
    pub fn version(self) -> ReadSignal<usize> {
        self.version.read_only()
    }

    /// Whether a call is under way.
    pub fn pending(self) -> ReadSignal<bool> {
        self.pending.read_only()
    }

    /// The latest call's error, if it failed: for the form to show next to the field it names.
    pub fn error(self) -> Signal<Option<AppError>> {
        let value = self.value;
        Signal::derive(move || value.with(|v| v.as_ref().and_then(|r| r.as_ref().err().cloned())))
    }

    fn finish(self, result: Result<S::Output, AppError>) {
        self.value.set(Some(result));
        self.version.update(|version| *version += 1);
        self.pending.set(false);
    }
}

/// The error a plain (JavaScript-less) post of the form for the server function at `path`
/// brought back in the page's address (this page being the redirect back from it), if any.
pub fn posted_error(path: &str) -> Option<AppError> {
    use_context::<ServerActionError>()
        .filter(|posted| posted.path() == path)
        .map(|posted| ServerFnUrlError::<AppError>::decode_err(posted.err()))
}

/// A `<form>` posting to the server function of `action` (with the CSS class `class`, if any).
///
/// Only the decoding of the answer is generic: the form and its submit handler are built by
/// [`form_view`], once for every server function.
#[component]
pub fn ServerForm<S>(
    action: FormAction<S>,
    #[prop(optional, into)] class: Option<&'static str>,
    children: Children,
) -> impl IntoView
where
    S: ServerFn<Error = AppError> + 'static,
    S::Output: DeserializeOwned + Send + Sync + 'static,
{
    let finish = move |answer: Result<Vec<u8>, AppError>| {
        action.finish(answer.and_then(|body| {
            serde_json::from_slice(&body).map_err(|e| AppError::Transport {
                message: format!("unreadable answer ({e})"),
            })
        }))
    };
    form_view(S::PATH, class, action.pending, Box::new(finish), children)
}

/// The form of every [`ServerForm`]: a plain post to `path` without the WASM bundle, one
/// `fetch` of the same fields with it, its answer handed to `finish`.
fn form_view(
    path: &'static str,
    class: Option<&'static str>,
    pending: RwSignal<bool>,
    finish: Box<dyn Fn(Result<Vec<u8>, AppError>)>,
    children: Children,
) -> impl IntoView {
    let finish = std::rc::Rc::new(finish);
    let on_submit = move |ev: SubmitEvent| {
        if ev.default_prevented() {
            return;
        }
        ev.prevent_default();
        pending.set(true);
        let finish = finish.clone();
        leptos::task::spawn_local(async move {
            let answer = client::submit(&ev, path).await;
            if answer.is_ok() {
                // A confirmation was for this one call: the next needs its own tick.
                client::untick(&ev);
            }
            finish(answer);
        });
    };
    // No `class` attribute at all without a class (an empty one would be sent).
    match class {
        Some(class) => view! {
            <form action=path method="post" class=class on:submit=on_submit>
                {children()}
            </form>
        }
        .into_any(),
        None => view! {
            <form action=path method="post" on:submit=on_submit>
                {children()}
            </form>
        }
        .into_any(),
    }
}

pub(crate) mod client {
    //! The one non-generic request behind every [`super::ServerForm`] submit.

    use js_sys::Uint8Array;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{
        FormData, Headers, HtmlButtonElement, HtmlFormElement, HtmlInputElement, RequestInit,
        Response, SubmitEvent, UrlSearchParams,
    };

    use super::{AppError, FromServerFnError};

    /// Posts the submitted form's fields (and the name/value of the button that submitted it)
    /// to `url` as the server function expects them; the answer's body on success. A redirect
    /// the server function asked for is followed through the router.
    pub async fn submit(ev: &SubmitEvent, url: &str) -> Result<Vec<u8>, AppError> {
        let (status, redirect, body) = post(ev, url).await.map_err(|e| AppError::Transport {
            message: e
                .as_string()
                .or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| e.message().into()))
                .unwrap_or_else(|| "the request failed".to_owned()),
        })?;
        if (400..=599).contains(&status) {
            return Err(AppError::de(body.into()));
        }
        if let Some(location) = redirect {
            leptos::server_fn::redirect::call_redirect_hook(&location);
        }
        Ok(body)
    }

    /// Clears the confirmation boxes of the submitted form.
    pub fn untick(ev: &SubmitEvent) {
        let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        if let Ok(boxes) = form.query_selector_all("input[name=confirm]") {
            for i in 0..boxes.length() {
                if let Some(input) = boxes
                    .get(i)
                    .and_then(|node| node.dyn_into::<HtmlInputElement>().ok())
                {
                    input.set_checked(false);
                }
            }
        }
    }

    async fn post(ev: &SubmitEvent, url: &str) -> Result<(u16, Option<String>, Vec<u8>), JsValue> {
        let form: HtmlFormElement = ev
            .target()
            .ok_or_else(|| JsValue::from_str("no form"))?
            .dyn_into()?;
        let data = FormData::new_with_form(&form)?;
        if let Some(submitter) = ev.submitter() {
            let named = if let Some(button) = submitter.dyn_ref::<HtmlButtonElement>() {
                Some((button.name(), button.value()))
            } else {
                submitter
                    .dyn_ref::<HtmlInputElement>()
                    .map(|input| (input.name(), input.value()))
            };
            if let Some((name, value)) = named.filter(|(name, _)| !name.is_empty()) {
                data.append_with_str(&name, &value)?;
            }
        }
        let body = UrlSearchParams::new_with_str_sequence_sequence(&data)?.to_string();
        let headers = Headers::new()?;
        headers.set("Content-Type", "application/x-www-form-urlencoded")?;
        headers.set("Accept", "application/json")?;
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&JsValue::from(body));
        let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
        let response: Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
            .await?
            .dyn_into()?;
        let redirect = if response.headers().has("serverfnredirect")? {
            response.headers().get("location")?
        } else {
            None
        };
        let bytes = JsFuture::from(response.array_buffer()?).await?;
        Ok((
            response.status(),
            redirect,
            Uint8Array::new(&bytes).to_vec(),
        ))
    }
}
