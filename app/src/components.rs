//! Small pieces of UI shared by several pages.

use leptos::prelude::*;

use crate::error::AppError;

/// How far the server counts the working links a change would stop (`domain::links::KILLED_CAP`):
/// a count above it means "more than".
pub const LINKS_COUNTED_UP_TO: i64 = 1_000;

/// `n` working share links, as a confirmation names them: "no live share link",
/// "1 live share link", "12 live share links", "more than 1,000 live share links".
pub fn live_links(n: i64) -> String {
    match n {
        0 => "no live share link".to_owned(),
        1 => "1 live share link".to_owned(),
        n if n > LINKS_COUNTED_UP_TO => "more than 1,000 live share links".to_owned(),
        n => format!("{n} live share links"),
    }
}

/// `1.5 MiB` for a byte count, to a tenth of the largest binary unit it reaches. Integer
/// arithmetic: formatting an `f64` would pull ~18 KB of float printing into the WASM bundle.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut unit = 0;
    while unit < UNITS.len() - 1 && bytes >= 1i64 << (10 * (unit + 1)) {
        unit += 1;
    }
    if unit == 0 {
        return format!("{bytes} B");
    }
    let scale = 1i128 << (10 * unit);
    let tenths = (i128::from(bytes) * 10 + scale / 2) / scale;
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

/// Text made safe inside HTML, in elements and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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

/// A required text field with its label, a hint tied to it for screen readers, and the error
/// about it (under `error_field`, the name the server reports it by).
#[component]
pub fn TextField(
    id: &'static str,
    label: &'static str,
    value: String,
    hint: String,
    error: Signal<Option<AppError>>,
    error_field: &'static str,
    #[prop(default = "text")] kind: &'static str,
) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    view! {
        <label for=id>{label}</label>
        <input id=id name=id type=kind required value=value aria-describedby=hint_id.clone() />
        <p class="hint" id=hint_id>
            {hint}
        </p>
        <FieldError error field=error_field />
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

/// Runs in the browser only, once the page is hydrated: whether interactive extras (copy
/// buttons, local times) can work.
pub fn hydrated() -> ReadSignal<bool> {
    let (ready, set_ready) = signal(false);
    Effect::new(move |_| set_ready.set(true));
    ready
}

/// A button that copies `text` to the clipboard. One handler serves every such button (see
/// [`copy_clicked`]), in the page or in server-rendered HTML; until the page is hydrated the
/// stylesheet hides them (without JavaScript the text stays selectable).
#[component]
pub fn CopyButton(text: String, #[prop(into)] label: String) -> impl IntoView {
    view! {
        <button type="button" class="copy" data-copy=text>
            {label}
        </button>
    }
}

/// Copies the `data-copy` text of the button a click landed on, if any, and says so on it:
/// the one click handler of every [`CopyButton`], set on the page's frame.
pub fn copy_clicked(ev: leptos::ev::MouseEvent) {
    use leptos::wasm_bindgen::JsCast;
    let Some(button) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|t| t.closest("button[data-copy]").ok().flatten())
    else {
        return;
    };
    if let (Some(window), Some(text)) = (web_sys::window(), button.get_attribute("data-copy")) {
        let _ = window.navigator().clipboard().write_text(&text);
        button.set_text_content(Some("Copied"));
    }
}

/// What the latest call of `action` did, in its own words, once it succeeded.
#[component]
pub fn Done<S>(action: crate::form::FormAction<S>) -> impl IntoView
where
    S: leptos::server_fn::ServerFn<Error = AppError, Output = String> + 'static,
{
    let value = action.value();
    move || {
        value.with(|v| match v {
            Some(Ok(text)) => Some(view! { <p class="success" role="status">{text.clone()}</p> }),
            _ => None,
        })
    }
}

/// A checkbox a destructive form needs ticked, saying what will happen.
#[component]
pub fn ConfirmField(id: String, text: String) -> impl IntoView {
    let label_for = id.clone();
    view! {
        <label class="check confirm" for=label_for>
            <input type="checkbox" id=id name="confirm" value="yes" required />
            " " {text}
        </label>
    }
}

/// A Unix time, in UTC with the zone said, the same on every page and for every admin (an
/// audit read by two people in two zones must match): the date and the time each kept on
/// one line.
#[component]
pub fn Time(at: i64) -> impl IntoView {
    let iso = utc(at);
    let (date, time) = iso.split_once(' ').unwrap_or((iso.as_str(), ""));
    let (date, time) = (date.to_owned(), format!("{time} UTC"));
    view! {
        <time datetime=format!("{}Z", iso.replace(' ', "T"))>
            <span class="nowrap">{date}</span>
            " "
            <span class="nowrap">{time}</span>
        </time>
    }
}

/// `2026-11-28 08:00:00` (UTC) for a Unix time.
pub fn utc(at: i64) -> String {
    let days = at.div_euclid(86_400);
    let secs = at.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Percent-encodes a query value (`/` kept, for readable prefixes).
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn link_counts_read_as_words_and_say_more_than_past_the_cap() {
        use super::{LINKS_COUNTED_UP_TO, live_links};
        assert_eq!(live_links(0), "no live share link");
        assert_eq!(live_links(1), "1 live share link");
        assert_eq!(live_links(1_000), "1000 live share links");
        assert_eq!(live_links(1_001), "more than 1,000 live share links");
        #[cfg(feature = "ssr")]
        assert_eq!(LINKS_COUNTED_UP_TO, domain::links::KILLED_CAP);
    }

    #[test]
    fn unix_times_read_as_utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00");
        assert_eq!(super::utc(1_795_853_400), "2026-11-28 08:10:00");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00");
    }
}
